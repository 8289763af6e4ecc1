"""EasyPost tracker codes mapped onto our taxonomy.

A Tracker and each of its TrackingDetails carry two codes: ``status`` (where the parcel
is) and ``status_detail`` (why, or what happened). ``status`` gives our :class:`Status`;
``status_detail`` gives the :class:`Reason` and, for ``expired`` only, overrides the status.
When the detail gives no reason the status's own reason applies (``return_to_sender``,
``cancelled``, ``failure``). A delivered parcel never carries a reason.

Sources: the value lists of ``Tracker.status`` and ``Tracker.status_detail`` in EasyPost's
API reference (https://docs.easypost.com/docs/trackers, the stored copy cut off after the
fourth detail value) and, complete, in EasyPost's own client library
(EasyPost/easypost-csharp, ``EasyPost/Models/API/Tracker.cs``): 10 statuses, 28 details.
CODES.md "## EasyPost" lists the values seen in the samples, all of which are below.
"""

from __future__ import annotations

from typing import NamedTuple

from carriers.taxonomy import Reason, Status


class Mapped(NamedTuple):
    status: Status
    reason: Reason | None
    known: bool  # False when a code was not in the tables (status or detail unknown)


# Tracker.status -> (our status, reason when the detail gives none)
STATUSES: dict[str, tuple[Status, Reason | None]] = {
    "unknown": (Status.PENDING, None),  # "the carrier has no tracking information" yet
    "pre_transit": (Status.INFO_RECEIVED, None),
    "in_transit": (Status.IN_TRANSIT, None),
    "out_for_delivery": (Status.OUT_FOR_DELIVERY, None),
    "delivered": (Status.DELIVERED, None),
    "available_for_pickup": (Status.AVAILABLE_FOR_PICKUP, None),
    "return_to_sender": (Status.EXCEPTION, Reason.RETURNING_TO_SENDER),
    "failure": (Status.EXCEPTION, Reason.UNKNOWN),
    "cancelled": (Status.EXCEPTION, Reason.CANCELLED),
    # EasyPost could not get tracking from the carrier: says nothing about the parcel.
    # The parser adds a request_error problem for it.
    "error": (Status.UNKNOWN, None),
}

# Tracker.status_detail -> (status override or None, reason or None)
STATUS_DETAILS: dict[str, tuple[Status | None, Reason | None]] = {
    "address_correction": (None, Reason.ADDRESS_ISSUE),
    "arrived_at_destination": (None, None),
    "arrived_at_facility": (None, None),
    "arrived_at_pickup_location": (None, None),
    "awaiting_information": (None, None),
    "cancelled": (None, Reason.CANCELLED),
    "damaged": (None, Reason.DAMAGED),
    "delayed": (None, Reason.UNKNOWN),  # a delay with no cause given
    "delivery_exception": (None, Reason.UNKNOWN),
    "departed_facility": (None, None),
    "departed_origin_facility": (None, None),
    "expired": (Status.EXPIRED, None),
    "failure": (None, Reason.UNKNOWN),
    "held": (None, Reason.UNKNOWN),  # held at a carrier facility, cause not given
    "in_transit": (None, None),
    "label_created": (None, None),
    "lost": (None, Reason.LOST),
    "missorted": (None, Reason.MISSORT),
    "out_for_delivery": (None, None),
    "received_at_destination_facility": (None, None),
    "received_at_origin_facility": (None, None),
    "refused": (None, Reason.REFUSED),
    "return": (None, Reason.RETURNING_TO_SENDER),
    "status_update": (None, None),
    "transferred_to_destination_carrier": (None, None),
    "transit_exception": (None, Reason.UNKNOWN),
    "unknown": (None, None),
    "weather_delay": (None, Reason.WEATHER),
}


# status_detail values that say the parcel left the place of the scan (departure scans).
DEPARTURE_DETAILS = frozenset(
    {
        "departed_facility",  # departed a carrier facility
        "departed_origin_facility",  # departed the origin facility
    }
)


def departs(status_detail: str | None) -> bool:
    """Whether a status_detail is a departure scan."""
    return status_detail in DEPARTURE_DETAILS


def event_code(status: str | None, status_detail: str | None) -> str:
    """Our event code: ``status/status_detail``, or ``status`` when there is no detail."""
    parts = [p for p in (status or "", status_detail or "") if p]
    return "/".join(parts)


def lookup(status: str | None, status_detail: str | None) -> Mapped:
    """Our (status, reason) for an EasyPost status and status_detail.

    An unknown ``status`` gives :attr:`Status.UNKNOWN`. An unknown ``status_detail`` with a
    known status keeps the status (EasyPost said where the parcel is) and the status's own
    reason, and is reported as not known so the parser records an unknown_code problem.
    """
    base = STATUSES.get(status or "")
    if base is None:
        return Mapped(Status.UNKNOWN, None, False)
    our_status, reason = base
    known = True
    if status_detail:
        detail = STATUS_DETAILS.get(status_detail)
        if detail is None:
            known = False
        else:
            override, detail_reason = detail
            our_status = override or our_status
            reason = detail_reason or reason
    if our_status in (Status.DELIVERED, Status.EXPIRED):
        reason = None
    return Mapped(our_status, reason, known)


# Representative EasyPost codes for our (status, reason), for the sandbox. Each pair parses
# back to the same (status, reason); pairs EasyPost cannot express fall back to the status
# alone (see sandbox.py).
REVERSE: dict[tuple[Status, Reason | None], tuple[str, str]] = {
    (Status.PENDING, None): ("unknown", "unknown"),
    (Status.INFO_RECEIVED, None): ("pre_transit", "label_created"),
    (Status.IN_TRANSIT, None): ("in_transit", "arrived_at_facility"),
    (Status.IN_TRANSIT, Reason.ADDRESS_ISSUE): ("in_transit", "address_correction"),
    (Status.IN_TRANSIT, Reason.WEATHER): ("in_transit", "weather_delay"),
    (Status.IN_TRANSIT, Reason.MISSORT): ("in_transit", "missorted"),
    (Status.IN_TRANSIT, Reason.UNKNOWN): ("in_transit", "delayed"),
    (Status.IN_TRANSIT, Reason.RETURNING_TO_SENDER): ("in_transit", "return"),
    (Status.OUT_FOR_DELIVERY, None): ("out_for_delivery", "out_for_delivery"),
    (Status.AVAILABLE_FOR_PICKUP, None): ("available_for_pickup", "arrived_at_pickup_location"),
    (Status.DELIVERED, None): ("delivered", "arrived_at_destination"),
    (Status.EXPIRED, None): ("unknown", "expired"),
    (Status.EXCEPTION, Reason.UNKNOWN): ("failure", "failure"),
    (Status.EXCEPTION, Reason.ADDRESS_ISSUE): ("failure", "address_correction"),
    (Status.EXCEPTION, Reason.WEATHER): ("failure", "weather_delay"),
    (Status.EXCEPTION, Reason.DAMAGED): ("failure", "damaged"),
    (Status.EXCEPTION, Reason.LOST): ("failure", "lost"),
    (Status.EXCEPTION, Reason.MISSORT): ("failure", "missorted"),
    (Status.EXCEPTION, Reason.REFUSED): ("return_to_sender", "refused"),
    (Status.EXCEPTION, Reason.RETURNING_TO_SENDER): ("return_to_sender", "return"),
    (Status.EXCEPTION, Reason.CANCELLED): ("cancelled", "cancelled"),
    (Status.UNKNOWN, None): ("error", "unknown"),
}

# Fallback per status when the reason cannot be expressed: the status with no reason, or
# the status's most generic reason.
STATUS_FALLBACK: dict[Status, tuple[str, str]] = {
    Status.PENDING: ("unknown", "unknown"),
    Status.INFO_RECEIVED: ("pre_transit", "label_created"),
    Status.IN_TRANSIT: ("in_transit", "arrived_at_facility"),
    Status.OUT_FOR_DELIVERY: ("out_for_delivery", "out_for_delivery"),
    # EasyPost has no failed-attempt status: its closest is an in-transit delivery exception.
    Status.ATTEMPT_FAIL: ("in_transit", "delivery_exception"),
    Status.AVAILABLE_FOR_PICKUP: ("available_for_pickup", "arrived_at_pickup_location"),
    Status.DELIVERED: ("delivered", "arrived_at_destination"),
    Status.EXCEPTION: ("failure", "failure"),
    Status.EXPIRED: ("unknown", "expired"),
    Status.UNKNOWN: ("error", "unknown"),
}


# Written instead of the in-transit pair for a departure scan.
DEPARTURE: tuple[str, str] = ("in_transit", "departed_facility")


def encode(status: Status, reason: Reason | None, *, departed: bool = False) -> tuple[str, str]:
    """EasyPost (status, status_detail) for our status and reason (lossy where noted)."""
    if departed and (status, reason) == (Status.IN_TRANSIT, None):
        return DEPARTURE
    return REVERSE.get((status, reason)) or STATUS_FALLBACK[status]
