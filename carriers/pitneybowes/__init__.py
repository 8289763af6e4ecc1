"""Pitney Bowes: parser for Shipping API tracking responses (PB Delivery, PB Returns, ...).

A file-drop feed only for now: there is no HTTP client and no sandbox codec yet, so Pitney
Bowes tracking enters through ``oasis run --tracking DIR`` (response bodies saved as files).
"""

from __future__ import annotations

from carriers.pitneybowes.parse import parse, sniff
from carriers.registry import CarrierSpec

CARRIER = CarrierSpec(
    name="pitneybowes",
    title="Pitney Bowes",
    parse=parse,
    sniff=sniff,
    make_client=None,
    sandbox=None,
    default_base_url=None,
)
