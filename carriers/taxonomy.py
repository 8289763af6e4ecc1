"""The status and reason vocabulary every carrier is mapped onto."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a parcel is, after the aggregators' common tags."""

    PENDING = "pending"
    INFO_RECEIVED = "info_received"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPT_FAIL = "attempt_fail"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # a code we cannot map: counted, never guessed


class Reason(StrEnum):
    """The cause a customer is told."""

    WEATHER = "weather"
    NATURAL_DISASTER = "natural_disaster"
    CUSTOMS = "customs"
    ADDRESS_ISSUE = "address_issue"
    RECIPIENT_UNAVAILABLE = "recipient_unavailable"
    BUSINESS_CLOSED = "business_closed"
    REFUSED = "refused"
    DAMAGED = "damaged"
    LOST = "lost"
    RETURNING_TO_SENDER = "returning_to_sender"
    RETURNED_TO_SENDER = "returned_to_sender"
    HELD_FOR_PAYMENT = "held_for_payment"
    CARRIER_VOLUME = "carrier_volume"
    TRANSPORT_DELAY = "transport_delay"
    MISSORT = "missort"
    PROCESSING_DELAY = "processing_delay"
    HOLIDAY = "holiday"
    INCORRECT_DOCUMENTS = "incorrect_documents"
    MISSED_PICKUP = "missed_pickup"
    CANCELLED = "cancelled"
    NO_SCAN = "no_scan"
    UNKNOWN = "unknown"


# Statuses after which nothing more is expected to happen to the parcel.
TERMINAL_STATUSES = frozenset({Status.DELIVERED, Status.EXPIRED})

# Forward order of statuses, for "state only moves forward" checks. Exception and
# attempt_fail sit beside the path, not on it, so they share a rank with in_transit.
STATUS_RANK: dict[Status, int] = {
    Status.UNKNOWN: 0,
    Status.PENDING: 1,
    Status.INFO_RECEIVED: 2,
    Status.IN_TRANSIT: 3,
    Status.EXCEPTION: 3,
    Status.ATTEMPT_FAIL: 4,
    Status.OUT_FOR_DELIVERY: 4,
    Status.AVAILABLE_FOR_PICKUP: 5,
    Status.DELIVERED: 6,
    Status.EXPIRED: 6,
}
