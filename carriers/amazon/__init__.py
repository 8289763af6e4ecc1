"""Amazon Shipping: parser for Shipping API v1 ``getTracking`` responses.

A file-drop feed only for now: there is no HTTP client and no sandbox codec yet, so Amazon
tracking enters through ``oasis run --tracking DIR`` (response bodies saved as files).
"""

from __future__ import annotations

from carriers.amazon.parse import parse, sniff
from carriers.registry import CarrierSpec

CARRIER = CarrierSpec(
    name="amazon",
    title="Amazon Shipping",
    parse=parse,
    sniff=sniff,
    make_client=None,
    sandbox=None,
    default_base_url=None,
)
