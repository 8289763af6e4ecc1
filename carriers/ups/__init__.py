"""UPS (including UPS Mail Innovations): Track API v1 client, parsers, code tables, sandbox."""

from carriers.registry import CarrierSpec
from carriers.ups.client import DEFAULT_BASE_URL, make_client
from carriers.ups.parse import parse, sniff
from carriers.ups.sandbox import CODEC

CARRIER = CarrierSpec(
    name="ups",
    title="UPS",
    parse=parse,
    sniff=sniff,
    make_client=make_client,
    sandbox=CODEC,
    default_base_url=DEFAULT_BASE_URL,
)
