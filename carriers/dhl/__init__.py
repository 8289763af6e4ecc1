"""DHL: Shipment Tracking – Unified API (JSON, API key), plus the Express XML-PI, Parcel DE
and eCommerce legacy tracking XML formats (parsed; the client speaks the Unified API)."""

from __future__ import annotations

from carriers.dhl.client import DEFAULT_BASE_URL, make_client
from carriers.dhl.parse import parse, sniff
from carriers.dhl.sandbox import SANDBOX
from carriers.registry import CarrierSpec

CARRIER = CarrierSpec(
    name="dhl",
    title="DHL",
    parse=parse,
    sniff=sniff,
    make_client=make_client,
    sandbox=SANDBOX,
    default_base_url=DEFAULT_BASE_URL,
)
