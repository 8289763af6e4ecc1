"""Turn what the UPS formats say about one package into a TrackingResult.

The format readers (``trackapi`` for JSON, ``xmlapi`` for SOAP and legacy XML) fill a
:class:`PackageRecord` with the values as sent; everything else happens here: codes mapped
through :mod:`carriers.ups.codes`, times made aware (rules in :mod:`carriers.ups.parse`),
events sorted newest first and deduplicated, records of the same number merged, the current
status, cause, estimated delivery and delivery time chosen, and problems recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone

from carriers.models import (
    EstimatedDelivery,
    Location,
    Problem,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)
from carriers.taxonomy import Reason, Status
from carriers.timezones import localize, zone_for
from carriers.ups.codes import EventMapping, error_kind, map_event

CARRIER = "ups"
_CAUSE_STATUSES = frozenset({Status.EXCEPTION, Status.ATTEMPT_FAIL})
# Activities before UPS has the parcel happen at the shipper: resolve them at the origin.
_ORIGIN_FIRST = frozenset({Status.INFO_RECEIVED, Status.PENDING})
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


@dataclass(frozen=True, slots=True)
class Activity:
    """One UPS activity (scan) with its fields as sent ("" when absent)."""

    type: str
    code: str
    status_code: str
    description: str
    date: str
    time: str
    location: Location = field(default_factory=Location)
    gmt_date: str = ""
    gmt_time: str = ""
    gmt_offset: str = ""

    @property
    def joined_code(self) -> str:
        return joined_code(self.type, self.code, self.status_code)


@dataclass(frozen=True, slots=True)
class CurrentStatus:
    type: str
    code: str
    status_code: str


@dataclass(frozen=True, slots=True)
class DayAndTimes:
    """A day (YYYYMMDD) with optional local start and end times (HHMMSS), as sent."""

    date: str
    start: str = ""
    end: str = ""


@dataclass
class PackageRecord:
    tracking_number: str
    activities: list[Activity] = field(default_factory=list)
    current: CurrentStatus | None = None
    estimate: DayAndTimes | None = None  # the scheduled or rescheduled delivery UPS states
    delivered: DayAndTimes | None = None  # delivery day/time stated apart from activities
    destination: Location | None = None
    origin: Location | None = None
    mail_innovations: bool = False
    service: str | None = None
    problems: list[Problem] = field(default_factory=list)


def joined_code(type_code: str, code: str, status_code: str) -> str:
    """Our event code: ``type/code``, plus ``/statusCode`` when UPS sent one."""
    joined = f"{type_code}/{code}"
    return f"{joined}/{status_code}" if status_code else joined


def error_result(tracking_number: str, errors: list[tuple[str, str]]) -> TrackingResult:
    """A number (or "" for the whole request) UPS answered with errors or warnings only."""
    problems = [Problem(error_kind(code), code, message) for code, message in errors]
    if not problems:
        problems = [Problem(ProblemKind.REQUEST_ERROR, "", "UPS answered without any data")]
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=tracking_number,
        status=Status.UNKNOWN,
        problems=tuple(_unique(problems)),
    )


def build_results(records: list[PackageRecord]) -> list[TrackingResult]:
    """One result per tracking number, records of the same number merged, in first-seen order."""
    merged: dict[str, PackageRecord] = {}
    for record in records:
        if record.tracking_number in merged:
            _merge_into(merged[record.tracking_number], record)
        else:
            merged[record.tracking_number] = record
    return [build_result(record) for record in merged.values()]


def _merge_into(target: PackageRecord, other: PackageRecord) -> None:
    target.activities.extend(other.activities)
    target.problems.extend(other.problems)
    target.current = target.current or other.current
    target.estimate = target.estimate or other.estimate
    target.delivered = target.delivered or other.delivered
    target.destination = target.destination or other.destination
    target.origin = target.origin or other.origin
    target.mail_innovations = target.mail_innovations or other.mail_innovations
    target.service = target.service or other.service


def build_result(record: PackageRecord) -> TrackingResult:
    problems = list(record.problems)
    events = _events(record, problems)
    status, reason = _current_state(record, events, problems)
    delivered_at = _delivered_at(record, events, problems) if status is Status.DELIVERED else None
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=record.tracking_number,
        status=status,
        reason=reason,
        estimated_delivery=_estimate(record, problems),
        delivered_at=delivered_at,
        events=tuple(events),
        problems=tuple(_unique(problems)),
        service=record.service,
    )


# -- events ----------------------------------------------------------------------------


def _events(record: PackageRecord, problems: list[Problem]) -> list[TrackingEvent]:
    events: list[TrackingEvent] = []
    seen: set[tuple[object, ...]] = set()
    for activity in record.activities:
        event = _event(activity, record, problems)
        if event is None:
            continue
        key = (event.occurred_at, event.code, event.description, event.location)
        if key not in seen:
            seen.add(key)
            events.append(event)
    # Stable: activities UPS lists at the same instant keep UPS's (newest first) order.
    events.sort(key=lambda e: e.occurred_at, reverse=True)
    return events


def _event(
    activity: Activity, record: PackageRecord, problems: list[Problem]
) -> TrackingEvent | None:
    mapping = map_event(
        activity.type,
        activity.code,
        activity.status_code,
        mail_innovations=record.mail_innovations,
    )
    if mapping.unknown is not None:
        problems.append(_unknown_code(activity.joined_code, mapping))
    occurred_at = _occurred_at(activity, record, mapping.status, problems)
    if occurred_at is None:
        return None
    return TrackingEvent(
        occurred_at=occurred_at,
        status=mapping.status,
        reason=mapping.reason,
        code=activity.joined_code,
        description=activity.description,
        location=activity.location,
        departed=mapping.departed,
    )


def _unknown_code(code: str, mapping: EventMapping) -> Problem:
    return Problem(
        ProblemKind.UNKNOWN_CODE,
        code,
        f"UPS code {code} is not in our UPS code tables ({mapping.unknown}); "
        "the event's status is unknown",
    )


def _occurred_at(
    activity: Activity, record: PackageRecord, status: Status, problems: list[Problem]
) -> datetime | None:
    day, clock = parse_day(activity.date), parse_clock(activity.time)
    offset = parse_offset(activity.gmt_offset)
    if offset is not None:
        gmt_day, gmt_clock = parse_day(activity.gmt_date), parse_clock(activity.gmt_time)
        if gmt_day is not None and gmt_clock is not None:
            return datetime.combine(gmt_day, gmt_clock, tzinfo=UTC).astimezone(offset)
        if day is not None and clock is not None:
            return datetime.combine(day, clock, tzinfo=offset)
    if day is None or clock is None:
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                activity.joined_code,
                f"UPS activity {activity.joined_code} has no readable date and time "
                f"(date {activity.date!r}, time {activity.time!r}); event left out",
            )
        )
        return None
    places = [activity.location, record.destination, record.origin]
    if status in _ORIGIN_FIRST:
        places = [activity.location, record.origin, record.destination]
    for place in places:
        if zone_for(place) is not None:
            return localize(datetime.combine(day, clock), place)
    problems.append(
        Problem(
            ProblemKind.TIME_WITHOUT_ZONE,
            activity.joined_code,
            f"UPS activity {activity.joined_code} at {day.isoformat()} {clock.isoformat()} "
            "is local time and neither its location nor the shipment's addresses give a "
            "time zone; event left out",
        )
    )
    return None


# -- current state -----------------------------------------------------------------------


def _current_state(
    record: PackageRecord, events: list[TrackingEvent], problems: list[Problem]
) -> tuple[Status, Reason | None]:
    current = record.current
    if current is not None:
        mapping = map_event(
            current.type,
            current.code,
            current.status_code,
            mail_innovations=record.mail_innovations,
        )
        if mapping.unknown is None:
            return mapping.status, _cause(mapping, events)
        code = joined_code(current.type, current.code, current.status_code)
        problems.append(_unknown_code(code, mapping))
    if events:
        return events[0].status, events[0].reason
    return Status.UNKNOWN, None


def _cause(mapping: EventMapping, events: list[TrackingEvent]) -> Reason | None:
    """The current status's reason, or the newest same-status event's if it names none."""
    if mapping.reason not in (None, Reason.UNKNOWN) or mapping.status not in _CAUSE_STATUSES:
        return mapping.reason
    for event in events:
        if event.status is mapping.status:
            return event.reason if event.reason is not None else mapping.reason
    return mapping.reason


def _delivered_at(
    record: PackageRecord, events: list[TrackingEvent], problems: list[Problem]
) -> datetime | None:
    for event in events:
        if event.status is Status.DELIVERED:
            return event.occurred_at
    stated = record.delivered
    if stated is None:
        return None
    day, clock = parse_day(stated.date), parse_clock(stated.end or stated.start)
    if day is None or clock is None:
        return None
    delivered = localize(datetime.combine(day, clock), record.destination)
    if delivered is None:
        problems.append(
            Problem(
                ProblemKind.TIME_WITHOUT_ZONE,
                "DEL",
                "UPS gives the delivery time as local time and the destination has no known "
                "time zone; delivery time left out",
            )
        )
    return delivered


# -- estimated delivery -----------------------------------------------------------------


def _estimate(record: PackageRecord, problems: list[Problem]) -> EstimatedDelivery | None:
    stated = record.estimate
    if stated is None:
        return None
    day = parse_day(stated.date)
    if day is None:
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                "ETA",
                f"UPS estimated delivery date {stated.date!r} is not YYYYMMDD; left out",
            )
        )
        return None
    end = parse_clock(stated.end) if stated.end else None
    if end is None:
        return EstimatedDelivery(day, day)
    start = parse_clock(stated.start) if stated.start else time(0, 0)
    zone = zone_for(record.destination)
    if zone is None or start is None:
        problems.append(
            Problem(
                ProblemKind.TIME_WITHOUT_ZONE,
                "ETA",
                "UPS gives the estimated delivery window in local time and the destination "
                "has no known time zone; kept as a day",
            )
        )
        return EstimatedDelivery(day, day)
    earliest = datetime.combine(day, start, tzinfo=zone)
    latest = datetime.combine(day, end, tzinfo=zone)
    return EstimatedDelivery(earliest, latest)


# -- value parsing ----------------------------------------------------------------------


def parse_day(text: str) -> date | None:
    """YYYYMMDD as a date, or None."""
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def parse_clock(text: str) -> time | None:
    """HHMMSS, HHMM, HH:MM:SS or HH:MM as a time of day, or None."""
    digits = text.strip().replace(":", "")
    if len(digits) not in (4, 6) or not digits.isdigit():
        return None
    seconds = int(digits[4:6]) if len(digits) == 6 else 0
    try:
        return time(int(digits[:2]), int(digits[2:4]), seconds)
    except ValueError:
        return None


def parse_offset(text: str) -> timezone | None:
    """A UTC offset such as +08:00 or -0500, or None."""
    match = _OFFSET.match(text.strip())
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta >= timedelta(hours=24):
        return None
    return timezone(-delta if sign == "-" else delta)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
