"""UPS tracking code tables mapped onto our Status and Reason, and how an activity is read.

The data is ``ups_codes.csv`` in this package, loaded once. It holds one row for every code of
every table in UPS's tracking reference (``codes/ups_tracking_reference_codes.csv``: Package
Activity Types, Status/Description Codes, Movement Scans, Manifest Codes, Updates, Package
Exceptions, Delivery Codes, Mail Innovations, Freight Activity, Freight Exceptions; 1,539
distinct codes, the two rows the reference repeats kept once) with UPS's own description and
our ``status`` and ``reason``. Five more rows, tables ``Observed ...``, hold codes that real
UPS payloads send but the reference lacks (activity type ``P``; ``FS`` and ``KB`` on delivered
activities; ``6N`` and ``SR`` on exception activities); their descriptions say where they
were seen.

The ``basis`` column says how each row got its mapping. ``keyword:<rule>``: an ordered keyword
table over the UPS description proposed it and review kept it (rules, first match wins:
paid, scan, returned, returning, lost, damaged, weather, disaster, holiday, refused, payment,
documents, customs, address, closed, unavailable, missort, volume, transport, processing,
missed_pickup, cancelled, ofd, pickup, attempt, not_delivered, delivered, info, delay,
transit). ``judgement``: review overrode the proposal or no rule matched (536 rows). The
rules of that review: a returning or returned parcel is told as such whatever caused it; a
problem that is over (cleared, released, address corrected) is plain ``in_transit``; a
request or arrangement that is not yet carried out (hold for pickup requested, delivery
change) is ``in_transit``; a stated cause that fits no reason, and an exception or failed
attempt with no stated cause, get ``Reason.UNKNOWN``; claims, investigations and refunds are
``exception``/``unknown``; delivery-location codes (front door, dock, ...) are ``delivered``.

UPS reuses two-character codes across tables (``DP`` is a departure scan for activity type
``I`` and a commodity exception for type ``X``), so a code is looked up only in the tables of
its activity type, in the order of :data:`TYPE_TABLES` (Mail Innovations shipments try the
Mail Innovations table first). A code found in none of them is unknown: the activity gets
``Status.UNKNOWN`` and the parser records an ``unknown_code`` problem; nothing is guessed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

from carriers.models import ProblemKind
from carriers.taxonomy import Reason, Status

ACTIVITY_TYPES = "Package Activity Types"
OBSERVED_TYPES = "Observed Activity Types"
STATUS_CODES = "Status/Description Codes"
MOVEMENT = "Movement Scans"
MANIFEST = "Manifest Codes"
UPDATES = "Updates"
PACKAGE_EXCEPTIONS = "Package Exceptions"
DELIVERY_CODES = "Delivery Codes"
MAIL_INNOVATIONS = "Mail Innovations"
FREIGHT_ACTIVITY = "Freight Activity"
FREIGHT_EXCEPTIONS = "Freight Exceptions"
OBSERVED_DELIVERED = "Observed Delivered"
OBSERVED_EXCEPTIONS = "Observed Exceptions"

# The tables a status code (``status.code``) is looked up in, per activity type, in order.
TYPE_TABLES: dict[str, tuple[str, ...]] = {
    "D": (OBSERVED_DELIVERED, DELIVERY_CODES, PACKAGE_EXCEPTIONS),
    "I": (MOVEMENT, DELIVERY_CODES, PACKAGE_EXCEPTIONS),
    "P": (MOVEMENT, PACKAGE_EXCEPTIONS),
    "X": (PACKAGE_EXCEPTIONS, OBSERVED_EXCEPTIONS, DELIVERY_CODES, FREIGHT_EXCEPTIONS),
    "M": (MANIFEST,),
    "MV": (MANIFEST,),
    "U": (UPDATES,),
    "W": (FREIGHT_ACTIVITY, FREIGHT_EXCEPTIONS),
    "DO": (FREIGHT_ACTIVITY, FREIGHT_EXCEPTIONS),
    "DD": (FREIGHT_ACTIVITY, FREIGHT_EXCEPTIONS),
    "NA": (),
}

# Codes that say the parcel left the place of the activity (departure scans), as (table, code)
# with the code spelled as in ups_codes.csv: a code departs only in the table it is read from.
DEPARTURES: frozenset[tuple[str, str]] = frozenset(
    {
        (MOVEMENT, "DP"),  # Departure scan (the package has departed from a UPS building)
        (MOVEMENT, "UD"),  # Updated Departure
        (PACKAGE_EXCEPTIONS, "2O"),  # Departed from Facility
        (PACKAGE_EXCEPTIONS, "F3"),  # Departure Scan
        (DELIVERY_CODES, "F3"),  # Departure Scan
        (DELIVERY_CODES, "2J"),  # Package Departed From USPS Sort Facility
        (MAIL_INNOVATIONS, "DR"),  # Departed USPS Facility
        (MAIL_INNOVATIONS, "DY"),  # Departed USPS Facility
        (MAIL_INNOVATIONS, "MW"),  # Departure from Origin Mail Innovations Facility
        (MAIL_INNOVATIONS, "OF"),  # Departure Scan: Enroute to customer
        (MAIL_INNOVATIONS, "Q4"),  # Package departed international carrier facility
        (MAIL_INNOVATIONS, "ZU"),  # Departed UPS Facility
        (FREIGHT_ACTIVITY, "005"),  # Departure
        (FREIGHT_ACTIVITY, "028"),  # Departed Transit Leg
        (FREIGHT_ACTIVITY, "073"),  # Departed Delivery Location
        (FREIGHT_ACTIVITY, "080"),  # Confirmed Gateway Departure
    }
)

# Statuses whose cause may come from the activity's code when the status code names none.
_CAUSE_STATUSES = frozenset({Status.EXCEPTION, Status.ATTEMPT_FAIL})

# Error and warning codes that say something about the number itself; others are
# request errors (authentication, quota, server).
ERROR_KINDS: dict[str, ProblemKind] = {
    "TW0001": ProblemKind.NOT_FOUND,  # Track API v1 warning: tracking information not found
    "155002": ProblemKind.NOT_FOUND,  # legacy XML: Mail Innovations information not found
    "TV1002": ProblemKind.INVALID_NUMBER,  # Track API v1: invalid inquiry number
    "151018": ProblemKind.INVALID_NUMBER,  # SOAP Track v2.0 fault: invalid tracking number
    "150022": ProblemKind.INVALID_NUMBER,  # legacy XML: invalid tracking number
}


@dataclass(frozen=True, slots=True)
class CodeEntry:
    table: str
    code: str
    description: str
    status: Status
    reason: Reason | None


@dataclass(frozen=True, slots=True)
class EventMapping:
    """What one activity means; ``unknown`` names the part not in our tables, if any."""

    status: Status
    reason: Reason | None
    unknown: str | None = None
    departed: bool = False  # the activity's code is a departure scan (see DEPARTURES)


def normalize(code: str) -> str:
    """Lookup key of a code: upper case, numbers without leading zeros ("092" -> "92")."""
    key = code.strip().upper()
    return str(int(key)) if key.isdigit() else key


def _read_rows() -> list[dict[str, str]]:
    text = resources.files("carriers.ups").joinpath("ups_codes.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _load() -> dict[str, dict[str, CodeEntry]]:
    tables: dict[str, dict[str, CodeEntry]] = {}
    for row in _read_rows():
        entry = CodeEntry(
            table=row["table"],
            code=row["code"],
            description=row["description"],
            status=Status(row["status"]),
            reason=Reason(row["reason"]) if row["reason"] else None,
        )
        table = tables.setdefault(entry.table, {})
        key = normalize(entry.code)
        if key in table:
            raise ValueError(f"ups_codes.csv: {entry.table} code {entry.code} appears twice")
        table[key] = entry
    return tables


TABLES: dict[str, dict[str, CodeEntry]] = _load()


def activity_type(type_code: str) -> CodeEntry | None:
    key = normalize(type_code)
    return TABLES[ACTIVITY_TYPES].get(key) or TABLES[OBSERVED_TYPES].get(key)


def status_code(code: str) -> CodeEntry | None:
    return TABLES[STATUS_CODES].get(normalize(code))


def activity_code(type_code: str, code: str, *, mail_innovations: bool = False) -> CodeEntry | None:
    """The entry for ``code`` on an activity of ``type_code`` (see :data:`TYPE_TABLES`)."""
    tables = TYPE_TABLES.get(normalize(type_code), ())
    if mail_innovations:
        tables = (MAIL_INNOVATIONS, *tables)
    key = normalize(code)
    for table in tables:
        entry = TABLES[table].get(key)
        if entry is not None:
            return entry
    return None


def error_kind(code: str) -> ProblemKind:
    return ERROR_KINDS.get(code.strip().upper(), ProblemKind.REQUEST_ERROR)


def map_event(
    type_code: str, code: str, status: str, *, mail_innovations: bool = False
) -> EventMapping:
    """(Status, Reason) of one activity from its type, code and status code (any may be "").

    The status code, when sent, is UPS's own reading of the activity and gives the status;
    otherwise the code within its type's tables does; otherwise the type alone. The reason
    is the status code's, or, when that names no cause, the code's (if the code agrees on
    the status or the status code is a generic exception/delay). An activity without a
    type whose code is itself a type letter (seen in SOAP responses) is read as that type;
    a code equal to its type (legacy Mail Innovations) adds nothing. The activity is a
    departure when the entry its code resolves to is in :data:`DEPARTURES`.
    """
    type_code, code, status = type_code.strip(), code.strip(), status.strip()
    if not type_code and activity_type(code) is not None:
        type_code, code = code, ""
    if normalize(code) == normalize(type_code):
        code = ""
    type_entry = activity_type(type_code) if type_code else None
    code_entry = activity_code(type_code, code, mail_innovations=mail_innovations) if code else None
    status_entry = status_code(status) if status else None
    departed = code_entry is not None and (code_entry.table, code_entry.code) in DEPARTURES
    unknown = _unknown_part(type_code, type_entry, code, code_entry, status, status_entry)
    if unknown is not None:
        return EventMapping(Status.UNKNOWN, None, unknown, departed=departed)
    if status_entry is not None:
        reason = _combined_reason(status_entry, code_entry)
        return EventMapping(status_entry.status, reason, departed=departed)
    entry = code_entry or type_entry
    if entry is None:
        return EventMapping(Status.UNKNOWN, None, "an activity without type, code or status code")
    return EventMapping(entry.status, entry.reason, departed=departed)


def _unknown_part(
    type_code: str,
    type_entry: CodeEntry | None,
    code: str,
    code_entry: CodeEntry | None,
    status: str,
    status_entry: CodeEntry | None,
) -> str | None:
    if type_code and type_entry is None:
        return f"activity type {type_code!r}"
    if code and code_entry is None:
        where = f"activity type {type_code!r}" if type_code else "an activity without a type"
        return f"code {code!r} on {where}"
    if status and status_entry is None:
        return f"status code {status!r}"
    return None


def _combined_reason(status_entry: CodeEntry, code_entry: CodeEntry | None) -> Reason | None:
    reason = status_entry.reason
    if reason not in (None, Reason.UNKNOWN) or code_entry is None or code_entry.reason is None:
        return reason
    generic = reason is Reason.UNKNOWN and status_entry.status in _CAUSE_STATUSES
    if generic or code_entry.status is status_entry.status:
        return code_entry.reason
    return reason
