"""AfterShip delivery statuses (``tag``) and sub-statuses (``subtag``) on our taxonomy.

A tracking and each checkpoint carry a ``tag`` (one of nine delivery statuses) and, since
the 2019 sub-status scheme, a ``subtag`` such as ``Exception_011`` whose prefix is its tag.
The subtag gives the reason; the tag alone gives the status and a generic reason for the
two states that always have a cause (``Exception``, ``AttemptFail``: reason unknown).

Sources:
* tags: AfterShip "Delivery Statuses"
  (https://www.aftership.com/docs/tracking/enum/delivery-statuses), as in CODES.md;
* subtags: AfterShip "Delivery Sub-statuses"
  (https://www.aftership.com/docs/tracking/2026-07/enum/delivery-sub-statuses) and the
  help-centre copy (https://help.aftership.com/hc/en-us/articles/360007823253) for the
  rows CODES.md lacks (Exception_006 to Exception_013 with their descriptions;
  AttemptFail_001-003, InTransit_001-009, InfoReceived_001, OutForDelivery_001/003/004,
  Pending_001, Expired_001 as the docs list them); Exception_016-018 from AfterShip's
  support article on the sub-statuses added 2026-03-27; Pending_002 to Pending_006 from
  the sub-status enum of the 2023-10 and later API versions (their descriptions were not
  in the stored copies, so they map by their parent tag, Pending, with no reason).
* Not mapped because no stored copy shows them: Exception_014 and Exception_015 (between
  013 and the 2026 additions). They and any other unlisted subtag keep their tag's status
  and reason and are reported as unknown codes.
"""

from __future__ import annotations

from typing import NamedTuple

from carriers.taxonomy import Reason, Status


class Mapped(NamedTuple):
    status: Status
    reason: Reason | None
    known: bool  # False when the tag or the subtag was not in the tables


TAGS: dict[str, tuple[Status, Reason | None]] = {
    "Pending": (Status.PENDING, None),
    "InfoReceived": (Status.INFO_RECEIVED, None),
    "InTransit": (Status.IN_TRANSIT, None),
    "OutForDelivery": (Status.OUT_FOR_DELIVERY, None),
    "AttemptFail": (Status.ATTEMPT_FAIL, Reason.UNKNOWN),
    "AvailableForPickup": (Status.AVAILABLE_FOR_PICKUP, None),
    "Delivered": (Status.DELIVERED, None),
    "Exception": (Status.EXCEPTION, Reason.UNKNOWN),
    "Expired": (Status.EXPIRED, None),
}

SUBTAGS: dict[str, tuple[Status, Reason | None]] = {
    "Delivered_001": (Status.DELIVERED, None),  # delivered
    "Delivered_002": (Status.DELIVERED, None),  # picked up by the customer
    "Delivered_003": (Status.DELIVERED, None),  # signed for by the customer
    "Delivered_004": (Status.DELIVERED, None),  # delivered, cash on delivery collected
    "Delivered_005": (Status.DELIVERED, None),  # delivered to a neighbour
    "AvailableForPickup_001": (Status.AVAILABLE_FOR_PICKUP, None),
    "Exception_001": (Status.EXCEPTION, Reason.UNKNOWN),  # generic shipping exception
    "Exception_002": (Status.EXCEPTION, Reason.ADDRESS_ISSUE),  # customer moved
    "Exception_003": (Status.EXCEPTION, Reason.REFUSED),  # customer refused delivery
    "Exception_004": (Status.EXCEPTION, Reason.CUSTOMS),  # delayed: customs clearance
    "Exception_005": (Status.EXCEPTION, Reason.UNKNOWN),  # delayed: "external factors"
    "Exception_006": (Status.EXCEPTION, Reason.HELD_FOR_PAYMENT),  # held for payment
    "Exception_007": (Status.EXCEPTION, Reason.ADDRESS_ISSUE),  # incorrect address
    "Exception_008": (Status.EXCEPTION, Reason.MISSED_PICKUP),  # pickup missed
    # rejected by the carrier for not meeting its guidelines: no customer cause of ours fits
    "Exception_009": (Status.EXCEPTION, Reason.UNKNOWN),
    "Exception_010": (Status.EXCEPTION, Reason.RETURNING_TO_SENDER),
    "Exception_011": (Status.EXCEPTION, Reason.RETURNED_TO_SENDER),
    "Exception_012": (Status.EXCEPTION, Reason.DAMAGED),
    "Exception_013": (Status.EXCEPTION, Reason.LOST),
    # processing issue in the network: vehicle issue, sorting error, misroute
    "Exception_016": (Status.EXCEPTION, Reason.PROCESSING_DELAY),
    "Exception_017": (Status.EXCEPTION, Reason.WEATHER),  # delayed: extreme weather
    "Exception_018": (Status.EXCEPTION, Reason.INCORRECT_DOCUMENTS),
    "AttemptFail_001": (Status.ATTEMPT_FAIL, Reason.UNKNOWN),  # failed, notice left
    "AttemptFail_002": (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE),
    "AttemptFail_003": (Status.ATTEMPT_FAIL, Reason.BUSINESS_CLOSED),
    "InTransit_001": (Status.IN_TRANSIT, None),  # on the way
    "InTransit_002": (Status.IN_TRANSIT, None),  # accepted by the carrier
    "InTransit_003": (Status.IN_TRANSIT, None),  # arrived at a hub or sorting centre
    "InTransit_004": (Status.IN_TRANSIT, None),  # arrived in the destination country
    "InTransit_005": (Status.IN_TRANSIT, None),  # customs clearance completed
    "InTransit_006": (Status.IN_TRANSIT, None),  # handed to customs for clearance
    "InTransit_007": (Status.IN_TRANSIT, None),  # departure scan
    "InTransit_008": (Status.IN_TRANSIT, None),  # problem resolved
    "InTransit_009": (Status.IN_TRANSIT, None),  # forwarded to a different address
    "InfoReceived_001": (Status.INFO_RECEIVED, None),
    "OutForDelivery_001": (Status.OUT_FOR_DELIVERY, None),
    "OutForDelivery_003": (Status.OUT_FOR_DELIVERY, None),  # customer contacted
    "OutForDelivery_004": (Status.OUT_FOR_DELIVERY, None),  # appointment scheduled
    "Pending_001": (Status.PENDING, None),
    "Pending_002": (Status.PENDING, None),
    "Pending_003": (Status.PENDING, None),
    "Pending_004": (Status.PENDING, None),
    "Pending_005": (Status.PENDING, None),
    "Pending_006": (Status.PENDING, None),
    "Expired_001": (Status.EXPIRED, None),
}


# Subtags that say the parcel left the place of the checkpoint (departure scans).
DEPARTURE_SUBTAGS = frozenset(
    {
        "InTransit_007",  # departure scan
    }
)


def departs(subtag: str | None) -> bool:
    """Whether a subtag is a departure scan."""
    return subtag in DEPARTURE_SUBTAGS


def event_code(tag: str | None, subtag: str | None) -> str:
    """Our event code: ``tag/subtag``, or whichever of the two is present."""
    return "/".join(part for part in (tag or "", subtag or "") if part)


def lookup(tag: str | None, subtag: str | None) -> Mapped:
    """Our (status, reason) for a tag and subtag.

    A known subtag decides both. An unknown subtag under a known tag keeps the tag's status
    and reason (AfterShip said where the parcel is) and is reported as not known. An
    unknown tag with no known subtag gives :attr:`Status.UNKNOWN`.
    """
    if subtag and subtag in SUBTAGS:
        status, reason = SUBTAGS[subtag]
        return Mapped(status, reason, not tag or tag in TAGS)
    base = TAGS.get(tag or "")
    if base is None:
        return Mapped(Status.UNKNOWN, None, False)
    return Mapped(base[0], base[1], not subtag)


# Representative (tag, subtag) for our (status, reason), for the sandbox; every pair parses
# back to itself. The first subtag listed for a pair represents it, except where a more
# typical one is preferred. Reasons AfterShip has no subtag for fall back to the tag alone.
_PREFERRED: dict[tuple[Status, Reason | None], str] = {
    (Status.EXCEPTION, Reason.ADDRESS_ISSUE): "Exception_007"
}


def _reverse() -> dict[tuple[Status, Reason | None], tuple[str, str]]:
    reverse: dict[tuple[Status, Reason | None], tuple[str, str]] = {}
    for subtag, pair in SUBTAGS.items():
        chosen = _PREFERRED.get(pair, subtag)
        reverse.setdefault(pair, (chosen.split("_")[0], chosen))
    return reverse


REVERSE = _reverse()

STATUS_FALLBACK: dict[Status, tuple[str, str]] = {
    status: REVERSE.get((status, reason)) or (tag, "") for tag, (status, reason) in TAGS.items()
}
# AfterShip has no "unknown" status; Pending ("no tracking information yet") is closest.
STATUS_FALLBACK[Status.UNKNOWN] = ("Pending", "Pending_001")


# Written instead of the in-transit pair for a departure scan.
DEPARTURE: tuple[str, str] = ("InTransit", "InTransit_007")


def encode(status: Status, reason: Reason | None, *, departed: bool = False) -> tuple[str, str]:
    """AfterShip (tag, subtag) for our status and reason (lossy where noted)."""
    if departed and (status, reason) == (Status.IN_TRANSIT, None):
        return DEPARTURE
    return REVERSE.get((status, reason)) or STATUS_FALLBACK[status]
