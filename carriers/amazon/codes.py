"""Amazon Shipping code tables: tracking event codes and summary statuses onto our taxonomy.

CODES.md has no Amazon table. The codes come from Amazon's published Shipping API models:
the v1 ``Event.eventCode`` ("such as Departed, Received, and ReadyForReceive"), the v2
``EventCode`` enum (which v1 answers use as well), the 2025 addition
``PackageReceivedByCarrier``, and the v2 ``Status`` enum for ``summary.status``.
A code not listed here makes its event ``unknown``; it is never guessed. No code maps to
two reasons.
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
    "ReadyForReceive": Meaning(
        "Package has been created and is ready for pickup", S.INFO_RECEIVED, None
    ),
    "PickupDone": Meaning("Package has been picked up", S.IN_TRANSIT, None),
    "PackageReceivedByCarrier": Meaning(
        "Package has been received at a carrier location", S.IN_TRANSIT, None
    ),
    "Received": Meaning("Package received at a carrier facility", S.IN_TRANSIT, None),
    "ArrivedAtCarrierFacility": Meaning(
        "Package has arrived at a carrier facility", S.IN_TRANSIT, None
    ),
    "Departed": Meaning("Package has departed from a carrier facility", S.IN_TRANSIT, None),
    # The recipient moved the delivery date: the plan changed, the parcel is under way.
    "RecipientRequestedAlternateDeliveryTiming": Meaning(
        "Recipient has requested an update to their delivery date", S.IN_TRANSIT, None
    ),
    "OutForDelivery": Meaning("Package is out for delivery", S.OUT_FOR_DELIVERY, None),
    # v1 does not say why the attempt failed.
    "DeliveryAttempted": Meaning("Delivery was attempted", S.ATTEMPT_FAIL, None),
    "AvailableForPickup": Meaning(
        "Package is available for pickup by the recipient", S.AVAILABLE_FOR_PICKUP, None
    ),
    "Delivered": Meaning("Package has been delivered", S.DELIVERED, None),
    "Lost": Meaning("Package is lost", S.EXCEPTION, R.LOST),
    # The recipient turned the parcel down.
    "Rejected": Meaning("Package was rejected by the recipient", S.EXCEPTION, R.REFUSED),
    # Undeliverable without a stated cause (v1 has no detail codes).
    "Undeliverable": Meaning("Package is undeliverable", S.EXCEPTION, None),
    # The shipper's pickup was called off: the shipment as booked is cancelled.
    "PickupCancelled": Meaning("Pickup has been cancelled", S.EXCEPTION, R.CANCELLED),
    "ReturnInitiated": Meaning(
        "Package is being returned to the shipper", S.EXCEPTION, R.RETURNING_TO_SENDER
    ),
}

# Event codes that say the parcel left the place of the event (departure scans).
DEPARTURE_CODES = frozenset(
    {
        "Departed",  # Package has departed from a carrier facility
    }
)

# summary.status: Amazon's status derived from the events.
SUMMARY_STATUSES: dict[str, Meaning] = {
    "PreTransit": Meaning("Pre-transit", S.INFO_RECEIVED, None),
    "InTransit": Meaning("In transit", S.IN_TRANSIT, None),
    "OutForDelivery": Meaning("Out for delivery", S.OUT_FOR_DELIVERY, None),
    "DeliveryAttempted": Meaning("Delivery attempted", S.ATTEMPT_FAIL, None),
    "AwaitingCustomerPickup": Meaning("Awaiting customer pickup", S.AVAILABLE_FOR_PICKUP, None),
    "Delivered": Meaning("Delivered", S.DELIVERED, None),
    "Lost": Meaning("Lost", S.EXCEPTION, R.LOST),
    "Rejected": Meaning("Rejected", S.EXCEPTION, R.REFUSED),
    "Undeliverable": Meaning("Undeliverable", S.EXCEPTION, None),
    "PickupCancelled": Meaning("Pickup cancelled", S.EXCEPTION, R.CANCELLED),
}

# Selling Partner API error codes that say something about the tracking number itself;
# every other error code is a request error.
NOT_FOUND_ERRORS = frozenset({"NotFound"})


def departs(code: str) -> bool:
    """Whether an event code is a departure scan (case-insensitive, like :func:`lookup`)."""
    return code.casefold() in {known.casefold() for known in DEPARTURE_CODES}


def lookup(table: dict[str, Meaning], code: str) -> Meaning | None:
    """Exact match first, then case-insensitive (Amazon codes are CamelCase)."""
    found = table.get(code)
    if found is not None:
        return found
    folded = code.casefold()
    return next((m for k, m in table.items() if k.casefold() == folded), None)
