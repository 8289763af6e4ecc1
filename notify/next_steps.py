"""What the customer can do (or need not do) for each cause: keys into the wording files."""

from __future__ import annotations

from carriers.taxonomy import Reason

WAIT = ("nothing_to_do", "we_will_update")
NEXT_STEPS: dict[str, tuple[str, ...]] = {
    Reason.WEATHER: WAIT,
    Reason.NATURAL_DISASTER: WAIT,
    Reason.CARRIER_VOLUME: WAIT,
    Reason.TRANSPORT_DELAY: WAIT,
    Reason.MISSORT: WAIT,
    Reason.PROCESSING_DELAY: WAIT,
    Reason.HOLIDAY: WAIT,
    Reason.NO_SCAN: ("nothing_to_do", "we_will_update"),
    Reason.MISSED_PICKUP: ("nothing_to_do", "we_will_update"),
    Reason.UNKNOWN: WAIT,
    Reason.ADDRESS_ISSUE: ("confirm_address",),
    Reason.RECIPIENT_UNAVAILABLE: ("redelivery_scheduled",),
    Reason.BUSINESS_CLOSED: ("redelivery_scheduled",),
    Reason.CUSTOMS: ("customs_documents", "we_will_update"),
    Reason.INCORRECT_DOCUMENTS: ("customs_documents",),
    Reason.HELD_FOR_PAYMENT: ("customs_documents",),
    Reason.DAMAGED: ("replacement_or_refund", "person_will_contact"),
    Reason.LOST: ("replacement_or_refund", "person_will_contact"),
    Reason.REFUSED: ("person_will_contact",),
    Reason.RETURNING_TO_SENDER: ("replacement_or_refund", "person_will_contact"),
    Reason.RETURNED_TO_SENDER: ("replacement_or_refund", "person_will_contact"),
    Reason.CANCELLED: ("person_will_contact",),
}


def next_steps(cause: str) -> list[str]:
    return list(NEXT_STEPS.get(cause, WAIT))
