"""FedEx: Track API v1 (OAuth2, JSON) and the legacy Web Services SOAP TrackReply."""

from __future__ import annotations

from carriers.fedex.client import make_client
from carriers.fedex.parse import parse, sniff
from carriers.fedex.sandbox import SANDBOX
from carriers.registry import CarrierSpec

CARRIER = CarrierSpec(
    name="fedex",
    title="FedEx",
    parse=parse,
    sniff=sniff,
    make_client=make_client,
    sandbox=SANDBOX,
    default_base_url="https://apis.fedex.com",
)
