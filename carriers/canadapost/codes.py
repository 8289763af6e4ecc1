"""Canada Post code tables: tracking event identifiers and ``messages`` error codes.

Source: ``CODES.md`` section "Canada Post" (observed in the VIS tracking samples; Canada
Post's full event list was not in the stored material). Every listed code is mapped; an
event identifier not here becomes ``Status.UNKNOWN`` and an ``unknown_code`` problem.

20 "Signature image recorded for Online viewing" is recorded only when a signed-for item
was delivered, so it maps to ``delivered`` like 1496.
"""

from __future__ import annotations

from carriers.models import ProblemKind
from carriers.taxonomy import Reason, Status

CodeMapping = tuple[Status, Reason | None]

# significant-events/occurrence/event-identifier -> (status, reason)
EVENT_CODES: dict[str, CodeMapping] = {
    "0100": (Status.IN_TRANSIT, None),  # Item processed at postal facility
    "0173": (Status.EXCEPTION, Reason.ADDRESS_ISSUE),  # Customer addressing error found ...
    "0174": (Status.OUT_FOR_DELIVERY, None),  # Item out for delivery
    "1496": (Status.DELIVERED, None),  # Item successfully delivered
    "20": (Status.DELIVERED, None),  # Signature image recorded for Online viewing
}

# messages/message/code -> problem kind
MESSAGE_CODES: dict[str, ProblemKind] = {
    "004": ProblemKind.NOT_FOUND,  # No Pin History
    "E002": ProblemKind.REQUEST_ERROR,  # AAA Authentication Failure
}

# event-time-zone abbreviations Canada Post sends -> UTC offset in minutes.
TIME_ZONE_OFFSETS: dict[str, int] = {
    "NST": -210, "NDT": -150,
    "AST": -240, "ADT": -180,
    "EST": -300, "EDT": -240,
    "CST": -360, "CDT": -300,
    "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420,
    "GMT": 0, "UTC": 0,
}  # fmt: skip

# First letter of a Canadian postal code -> province (for the destination's zone).
POSTAL_PROVINCES: dict[str, str] = {
    "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC",
    "K": "ON", "L": "ON", "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK",
    "T": "AB", "V": "BC", "Y": "YT",  # X is NT or NU: two zones, left out
}  # fmt: skip


def event_mapping(code: str) -> CodeMapping | None:
    return EVENT_CODES.get(code.strip())


def message_kind(code: str) -> ProblemKind:
    """The problem a ``messages`` code stands for; unlisted codes are request errors."""
    return MESSAGE_CODES.get(code.strip(), ProblemKind.REQUEST_ERROR)
