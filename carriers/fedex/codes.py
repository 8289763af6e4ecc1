"""FedEx code tables: every documented FedEx tracking code onto our (Status, Reason).

Sources: ``CODES.md`` "## FedEx" (the FedEx developer portal's Tracking Status Codes table,
the observed derived codes, the Track API v1 delay enums, the observed exception/ancillary
reason codes and the error codes) and ``codes/fedex_tracking_status_codes.csv``.

How an event is read (:func:`classify`):

* ``eventType`` (SOAP ``EventType``; ``latestStatusDetail.code``) gives the status and a
  reason where the code itself names one. Without an event type the derived code
  (``derivedStatusCode`` / ``derivedCode``) is used instead.
* ``exceptionCode`` (SOAP ``StatusExceptionCode``; ``ancillaryDetails[].reason``) is more
  specific. It always decides the reason when it names one. It decides the status only for
  the generic event types in :data:`GENERIC_EVENT_TYPES` ("Delivery exception",
  "Shipment exception", "Delay", ...), whose meaning lives in the exception code; for other
  types (e.g. ``PU`` with ``A25``, ``HP`` with ``015A``) the event type keeps the status.
* ``delayDetail`` applies when its status is ``DELAYED`` (or it has a type and no status):
  the delay's type/subtype decides the reason when it names one, and a plain ``in_transit``
  becomes ``exception`` (FedEx says the parcel is late). A delivered or expired parcel stays
  as it is.
* Any part that is not in these tables makes the event ``unknown``; it is never guessed.

A code never maps to two reasons. The Possession group of the FedEx table (who holds the
parcel) is not an event type; its codes are listed in :data:`POSSESSION_CODES` and carry no
status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from carriers.models import ProblemKind
from carriers.taxonomy import Reason, Status


class Meaning(NamedTuple):
    description: str
    status: Status
    reason: Reason | None


S = Status
R = Reason

# Movement and Regulatory groups of the FedEx Tracking Status Codes table, plus AE (seen in
# the samples, not in the table). Keys are upper case: the source spells "Ow" as "Ow".
EVENT_TYPES: dict[str, Meaning] = {
    "AA": Meaning("At Airport", S.IN_TRANSIT, None),
    "AC": Meaning("At Canada Post facility", S.IN_TRANSIT, None),
    # The courier is at the delivery address: the delivery run is under way.
    "AD": Meaning("At Delivery", S.OUT_FOR_DELIVERY, None),
    "AE": Meaning("Shipment arriving early", S.IN_TRANSIT, None),
    "AF": Meaning("At local FedEx Facility", S.IN_TRANSIT, None),
    "AO": Meaning("Shipment arriving On-time", S.IN_TRANSIT, None),
    # The courier is at the shipper's to collect: the parcel is not moving yet.
    "AP": Meaning("At Pickup", S.INFO_RECEIVED, None),
    "AR": Meaning("Arrived at FedEx location", S.IN_TRANSIT, None),
    "AX": Meaning("At USPS facility", S.IN_TRANSIT, None),
    "CA": Meaning("Shipment Cancelled", S.EXCEPTION, R.CANCELLED),
    "CH": Meaning("Location Changed", S.IN_TRANSIT, None),
    "DD": Meaning("Delivery Delay", S.EXCEPTION, None),
    "DE": Meaning("Delivery Exception", S.EXCEPTION, None),
    "DL": Meaning("Delivered", S.DELIVERED, None),
    "DP": Meaning("Departed", S.IN_TRANSIT, None),
    # A vehicle came to collect and nothing was handed over.
    "DR": Meaning("Vehicle furnished but not used", S.EXCEPTION, R.MISSED_PICKUP),
    "DS": Meaning("Vehicle Dispatched", S.INFO_RECEIVED, None),
    "DY": Meaning("Delay", S.EXCEPTION, None),
    # "Enroute to Airport" (Movement) and "Export Approved" (Regulatory): both in transit.
    "EA": Meaning("Enroute to Airport / Export Approved", S.IN_TRANSIT, None),
    # Not "out for delivery": only OD says the parcel is on the delivery vehicle today.
    "ED": Meaning("Enroute to Delivery", S.IN_TRANSIT, None),
    "EO": Meaning("Enroute to Origin Airport", S.IN_TRANSIT, None),
    "EP": Meaning("Enroute to Pickup", S.INFO_RECEIVED, None),
    "FD": Meaning("At FedEx Destination", S.IN_TRANSIT, None),
    "HL": Meaning("Hold at Location", S.AVAILABLE_FOR_PICKUP, None),
    "HP": Meaning("Ready for Recipient Pickup", S.AVAILABLE_FOR_PICKUP, None),
    "IT": Meaning("In Transit", S.IN_TRANSIT, None),
    "IX": Meaning("In transit (see Details)", S.IN_TRANSIT, None),
    "LO": Meaning("Left Origin", S.IN_TRANSIT, None),
    "OC": Meaning("Order Created", S.INFO_RECEIVED, None),
    "OD": Meaning("Out for Delivery", S.OUT_FOR_DELIVERY, None),
    "OF": Meaning("At FedEx origin facility", S.IN_TRANSIT, None),
    "OW": Meaning("On the way", S.IN_TRANSIT, None),
    "OX": Meaning("Shipment information sent to USPS", S.IN_TRANSIT, None),
    "PD": Meaning("Pickup Delay", S.EXCEPTION, R.MISSED_PICKUP),
    "PF": Meaning("Plane in Flight", S.IN_TRANSIT, None),
    "PL": Meaning("Plane Landed", S.IN_TRANSIT, None),
    "PM": Meaning("In Progress", S.IN_TRANSIT, None),
    "PU": Meaning("Picked Up", S.IN_TRANSIT, None),
    "PX": Meaning("Picked up (see Details)", S.IN_TRANSIT, None),
    # Custom delivery option (CDO) requests change the plan, not the parcel's progress.
    "RR": Meaning("CDO requested", S.IN_TRANSIT, None),
    "RM": Meaning("CDO Modified", S.IN_TRANSIT, None),
    "RC": Meaning("CDO Cancelled", S.IN_TRANSIT, None),
    "RS": Meaning("Return to Shipper", S.EXCEPTION, R.RETURNING_TO_SENDER),
    # Return-label links: a label exists, nothing has been handed over yet.
    "RP": Meaning("Return label link emailed to return sender", S.INFO_RECEIVED, None),
    "LP": Meaning("Return label link cancelled by shipment originator", S.EXCEPTION, R.CANCELLED),
    "RG": Meaning("Return label link expiring soon", S.INFO_RECEIVED, None),
    "RD": Meaning("Return label link expired", S.EXPIRED, None),
    "SE": Meaning("Shipment Exception", S.EXCEPTION, None),
    "SF": Meaning("At Sort Facility", S.IN_TRANSIT, None),
    # Pieces of a multi-piece shipment are in different states: the shipment is under way.
    "SP": Meaning("Split Status", S.IN_TRANSIT, None),
    "TR": Meaning("Transfer", S.IN_TRANSIT, None),
    "CC": Meaning("Cleared Customs", S.IN_TRANSIT, None),
    "CD": Meaning("Clearance Delay", S.EXCEPTION, R.CUSTOMS),
    # A normal step of an international shipment, not a fault: in transit, at customs.
    "CP": Meaning("Clearance in Progress", S.IN_TRANSIT, R.CUSTOMS),
}

# Event types that say the parcel left the place of the scan (departure scans).
DEPARTURE_TYPES = frozenset(
    {
        "DP",  # Departed
        "LO",  # Left Origin
    }
)

# Event types whose status is told by the exception code that comes with them.
GENERIC_EVENT_TYPES = frozenset({"DE", "SE", "DY", "DD", "PD", "CD"})

# Exception codes (scanEvents[].exceptionCode, SOAP StatusExceptionCode) and ancillary reason
# codes (latestStatusDetail.ancillaryDetails[].reason): one vocabulary, observed codes only.
EXCEPTION_CODES: dict[str, Meaning] = {
    # 007, 08 and 15 all read "Customer not available or business closed". One reason per
    # code: recipient_unavailable. It is true in both cases (a closed business is a
    # recipient that was not available), while "business closed" would be false for the
    # far more common residential recipient, and the code does not tell the two apart.
    "007": Meaning(
        "Customer not available or business closed", S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE
    ),
    "08": Meaning(
        "Customer not available or business closed", S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE
    ),
    "15": Meaning(
        "Customer not available or business closed", S.ATTEMPT_FAIL, R.RECIPIENT_UNAVAILABLE
    ),
    "060G": Meaning(
        "Shipper requested shipment to be returned - Unable to deliver shipment - "
        "Returning to shipper",
        S.EXCEPTION,
        R.RETURNING_TO_SENDER,
    ),
    "015A": Meaning("Package available for pickup at FedEx Office", S.AVAILABLE_FOR_PICKUP, None),
    "A3": Meaning("Tendered at FedEx Facility", S.IN_TRANSIT, None),
    # Hold and redirect requests: the parcel is being moved to where it will be collected.
    "A12": Meaning(
        "Hold at FedEx Office request received - Check back later for shipment status",
        S.IN_TRANSIT,
        None,
    ),
    "A13": Meaning("Redirecting to FedEx Office", S.IN_TRANSIT, None),
    "A47": Meaning("FedEx redirected your package to a nearby FedEx location", S.IN_TRANSIT, None),
    "A25": Meaning("Package available for clearance", S.IN_TRANSIT, R.CUSTOMS),
    "A52": Meaning("Package delayed", S.EXCEPTION, None),
    "IN001": Meaning(
        "Please check back later for shipment status or subscribe for e-mail notifications",
        S.INFO_RECEIVED,
        None,
    ),
}

# Derived codes (derivedStatusCode / latestStatusDetail.derivedCode), used only when an
# event has no eventType. (FedEx derives DL even for the RS "Returning package to shipper"
# event, which is why the event type comes first.)
DERIVED_CODES: dict[str, Meaning] = {
    "IN": Meaning("Initiated / Label created", S.INFO_RECEIVED, None),
    "PU": Meaning("Picked up", S.IN_TRANSIT, None),
    "IT": Meaning("In transit", S.IN_TRANSIT, None),
    "DY": Meaning("Delay", S.EXCEPTION, None),
    "RL": Meaning("Running Late", S.EXCEPTION, None),
    "DE": Meaning("Delivery exception", S.EXCEPTION, None),
    "HL": Meaning("Ready for pickup", S.AVAILABLE_FOR_PICKUP, None),
    "DL": Meaning("Delivered", S.DELIVERED, None),
}

# delayDetail.type -> the cause it names (None: the type names no cause we can tell).
DELAY_TYPES: dict[str, Reason | None] = {
    "WEATHER": R.WEATHER,
    "CLEARANCE": R.CUSTOMS,
    # FedEx's own operations (late linehaul, aircraft, equipment): a transport delay.
    "OPERATIONAL": R.TRANSPORT_DELAY,
    "LOCAL": None,
    "GENERAL": None,
}

# delayDetail.subType, more specific than the type. The published enum is open
# ("SNOW, TORNADO, EARTHQUAKE etc"): an unlisted subtype falls back to the type.
DELAY_SUBTYPES: dict[str, Reason] = {
    "SNOW": R.WEATHER,
    "TORNADO": R.WEATHER,
    "EARTHQUAKE": R.NATURAL_DISASTER,
}

# delayDetail.status -> whether the parcel is late.
DELAY_STATUSES: dict[str, bool] = {"DELAYED": True, "ON_TIME": False, "EARLY": False}

# serviceCommitMessage.type values that withdraw the estimated delivery date.
ETA_WITHDRAWN_TYPES = frozenset({"ESTIMATED_DELIVERY_DATE_UNAVAILABLE"})

# Possession group: who holds the parcel. Not an event type; no status.
POSSESSION_CODES: dict[str, str] = {
    "CA": "Carrier",
    "RC": "Recipient",
    "SH": "Shipper",
    "CU": "Customs",
    "BR": "Broker",
    "TP": "Transfer Partner",
    "SP": "Split status",
}

# Error codes -> problem kind. Any other error code is a request error.
ERROR_KINDS: dict[str, ProblemKind] = {
    "TRACKING.TRACKINGNUMBER.NOTFOUND": ProblemKind.NOT_FOUND,
    "TRACKING.TRACKINGNUMBER.EMPTY": ProblemKind.REQUEST_ERROR,
    "6035": ProblemKind.INVALID_NUMBER,  # SOAP: Invalid tracking numbers
    "1000": ProblemKind.REQUEST_ERROR,  # SOAP: Authentication Failed
}


def error_kind(code: str) -> ProblemKind:
    return ERROR_KINDS.get(code.strip().upper(), ProblemKind.REQUEST_ERROR)


@dataclass(frozen=True)
class Delay:
    """A ``delayDetail`` object as sent (empty strings for absent fields)."""

    type: str = ""
    sub_type: str = ""
    status: str = ""


@dataclass(frozen=True)
class Classified:
    status: Status
    reason: Reason | None
    unknown: tuple[str, ...] = ()  # the parts that are not in our tables


# A delivered or expired parcel is not late any more: a delayDetail does not change it.
_FINISHED = frozenset({Status.DELIVERED, Status.EXPIRED})


def classify(
    event_type: str,
    exception_code: str = "",
    delay: Delay | None = None,
    derived_code: str = "",
) -> Classified:
    """Our (status, reason) for one FedEx event or current status; see the module doc."""
    key = (event_type or derived_code).strip().upper()
    base = EVENT_TYPES.get(key) if event_type.strip() else DERIVED_CODES.get(key)
    unknown: list[str] = [] if base is not None else [key or "(no code)"]
    exception = None
    if exception_code.strip():
        exception = EXCEPTION_CODES.get(exception_code.strip().upper())
        if exception is None:
            unknown.append(exception_code.strip())
    delay_reason, delayed, delay_unknown = _read_delay(delay)
    unknown.extend(delay_unknown)
    if unknown or base is None:
        return Classified(Status.UNKNOWN, None, tuple(unknown))
    status, reason = base.status, base.reason
    if exception is not None:
        if key in GENERIC_EVENT_TYPES:
            status = exception.status
        reason = exception.reason or reason
    if delayed and status not in _FINISHED:
        reason = delay_reason or reason
        if status is Status.IN_TRANSIT:
            status = Status.EXCEPTION
    return Classified(status, reason, ())


def departs(event_type: str) -> bool:
    """Whether an event type is a departure scan; derived codes never are."""
    return event_type.strip().upper() in DEPARTURE_TYPES


def _read_delay(delay: Delay | None) -> tuple[Reason | None, bool, list[str]]:
    """(cause named, whether the parcel is late, unknown parts) of a delayDetail."""
    if delay is None:
        return None, False, []
    unknown: list[str] = []
    status = delay.status.strip().upper()
    kind = delay.type.strip().upper()
    if status and status not in DELAY_STATUSES:
        unknown.append(f"delayDetail.status={delay.status.strip()}")
    if kind and kind not in DELAY_TYPES:
        unknown.append(f"delayDetail.type={delay.type.strip()}")
    delayed = DELAY_STATUSES.get(status, False) if status else bool(kind)
    if not delayed:
        return None, False, unknown
    reason = DELAY_SUBTYPES.get(delay.sub_type.strip().upper()) or DELAY_TYPES.get(kind)
    return reason, True, unknown
