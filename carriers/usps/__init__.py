"""USPS: Tracking API v3 (OAuth2) client, v3 JSON and Web Tools XML parser, sandbox codec."""

from carriers.registry import CarrierSpec
from carriers.usps.client import DEFAULT_BASE_URL, make_client
from carriers.usps.parse import parse, sniff
from carriers.usps.sandbox import SANDBOX

CARRIER = CarrierSpec(
    name="usps",
    title="USPS",
    parse=parse,
    sniff=sniff,
    make_client=make_client,
    sandbox=SANDBOX,
    default_base_url=DEFAULT_BASE_URL,
)
