"""Canada Post: parser and code tables for the VIS tracking XML.

A file-drop feed for now: payloads arrive as files (``oasis run --tracking DIR``), so there
is no HTTP client and no sandbox codec yet (``make_client`` and ``sandbox`` are None).
"""

from carriers.canadapost.parse import parse, sniff
from carriers.registry import CarrierSpec

CARRIER = CarrierSpec(
    name="canadapost",
    title="Canada Post",
    parse=parse,
    sniff=sniff,
    make_client=None,
    sandbox=None,
)
