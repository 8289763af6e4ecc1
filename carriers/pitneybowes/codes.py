"""Pitney Bowes code tables: PB standardized event codes and package statuses.

CODES.md has no Pitney Bowes table. The codes come from Pitney Bowes' published material:
the "Pitney Bowes Standardized Event Codes" list (``standardizedEventCode`` / ``l1Code``:
AWP ... UDL), the ``packageStatus`` values of the tracking response (Manifest, InTransit,
Delivered; ``status``, ``currentStatus.packageStatus`` and each scan's ``packageStatus``),
and ``LC`` (Label created), seen in ``pitneybowes_label_created.json`` though not in the list.
INF and MSC are informational events without a status of their own: such an event takes the
status of its own ``packageStatus``. A code not listed here makes its event ``unknown``; it
is never guessed. No code maps to two reasons.
"""

from __future__ import annotations

from typing import NamedTuple

from carriers.taxonomy import Reason, Status


class Meaning(NamedTuple):
    description: str
    status: Status
    reason: Reason | None


S = Status
R = Reason

EVENT_CODES: dict[str, Meaning] = {
    # Awaiting the carrier's pickup from the shipper (PB tracks the shipper's labels).
    "AWP": Meaning("Awaiting Pickup", S.INFO_RECEIVED, None),
    "CUC": Meaning("Customs Cleared", S.IN_TRANSIT, None),
    # PB does not say why the attempt failed.
    "DAT": Meaning("Delivery Attempt", S.ATTEMPT_FAIL, None),
    "DLD": Meaning("Delivered", S.DELIVERED, None),
    "DYU": Meaning("Delay - Undeliverable", S.EXCEPTION, None),
    "OFD": Meaning("Out for Delivery", S.OUT_FOR_DELIVERY, None),
    "PSR": Meaning("Tracking details uploaded", S.INFO_RECEIVED, None),
    # For an outbound parcel a shipment back to the retailer is a return to the sender,
    # which is what the customer must be told.
    "RTS": Meaning("Return - Shipped to Retailer", S.EXCEPTION, R.RETURNING_TO_SENDER),
    "SPH": Meaning("Shipped from Shipping Center to International Destination", S.IN_TRANSIT, None),
    "TRD": Meaning("In Transit", S.IN_TRANSIT, None),
    "UDL": Meaning("Unable to deliver", S.EXCEPTION, None),
    "LC": Meaning("Label created", S.INFO_RECEIVED, None),
}

# Informational PB codes: the event's status is its packageStatus.
INFORMATIONAL_CODES: dict[str, str] = {
    "INF": "Information Event",
    "MSC": "Miscellaneous Event",
}

PACKAGE_STATUSES: dict[str, Meaning] = {
    "Manifest": Meaning("Manifest", S.INFO_RECEIVED, None),
    "InTransit": Meaning("In transit", S.IN_TRANSIT, None),
    "Delivered": Meaning("Delivered", S.DELIVERED, None),
}

# The ``carrier`` field of a tracking response -> the lower-case carrier moving the parcel.
CARRIERS: dict[str, str] = {
    "PBCS": "pitneybowes",  # PB Delivery / PB Returns
    "NEWGISTICS": "pitneybowes",
    "FDR": "pitneybowes",  # PB Standard
    "PBI": "pitneybowes",  # PB Cross-Border
    "USPS": "usps",
    "IMB": "usps",
    "FEDEX": "fedex",
    "UPS": "ups",
}


def lookup(table: dict[str, Meaning], code: str) -> Meaning | None:
    """Exact match first, then case-insensitive."""
    found = table.get(code)
    if found is not None:
        return found
    folded = code.casefold()
    return next((m for k, m in table.items() if k.casefold() == folded), None)
