"""FedEx shipments as read from either wire format, turned into one TrackingResult per number.

The JSON and SOAP readers fill :class:`RawShipment` objects (strings as sent); this module
classifies the codes, resolves times, merges several shipments of one tracking number
(FedEx answers a reused or redirected number with several results) and picks the current
status, the estimate and the delivery time. Time rules are in ``carriers/fedex/parse.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from carriers.fedex.codes import Classified, Delay, classify, departs
from carriers.models import (
    EstimatedDelivery,
    Location,
    Problem,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)
from carriers.taxonomy import Reason, Status
from carriers.timezones import localize

CARRIER = "fedex"


@dataclass(frozen=True)
class RawEvent:
    timestamp: str
    event_type: str
    exception_code: str
    description: str
    location: Location
    delay: Delay | None = None
    derived_code: str = ""

    @property
    def code(self) -> str:
        """eventType, then exceptionCode when there is one, joined with "/"."""
        main = self.event_type.strip() or self.derived_code.strip()
        extra = self.exception_code.strip()
        return f"{main}/{extra}" if extra else main


@dataclass(frozen=True)
class RawStatus:
    """The carrier's current-status field (latestStatusDetail / StatusDetail)."""

    code: str
    ancillary_code: str = ""
    delay: Delay | None = None
    derived_code: str = ""

    def classify(self) -> Classified:
        return classify(self.code, self.ancillary_code, self.delay, self.derived_code)

    @property
    def label(self) -> str:
        main = self.code.strip() or self.derived_code.strip()
        extra = self.ancillary_code.strip()
        return f"{main}/{extra}" if extra else main


@dataclass
class RawShipment:
    """One trackResult (JSON) or TrackDetails (SOAP), strings as sent."""

    tracking_number: str
    events: list[RawEvent] = field(default_factory=list)
    status: RawStatus | None = None
    eta_begins: str = ""
    eta_ends: str = ""
    eta_single: str = ""
    eta_withdrawn: bool = False
    delivered: str = ""
    places: list[Location] = field(default_factory=list)  # destination first, then origin
    service: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return bool(self.events) or (self.status is not None and bool(self.status.label))


def location(
    city: object = None, region: object = None, postal_code: object = None, country: object = None
) -> Location:
    """A Location with blank values as None."""
    return Location(_clean(city), _clean(region), _clean(postal_code), _clean(country))


def _clean(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def read_time(text: str) -> datetime | None:
    """An ISO 8601 timestamp as sent (naive when it has no offset); None if unreadable."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def resolve_time(text: str, places: list[Location]) -> datetime | None:
    """Aware time: the offset as sent, else local time in the first place with a zone."""
    moment = read_time(text)
    if moment is None or moment.tzinfo is not None:
        return moment
    for place in places:
        aware = localize(moment, place)
        if aware is not None:
            return aware
    return None


def _is_midnight(moment: datetime) -> bool:
    return moment.timetz().replace(tzinfo=None) == time(0, 0)


def build_result(number: str, shipments: list[RawShipment]) -> TrackingResult:
    """One result for ``number`` from every shipment FedEx returned for it."""
    problems: list[Problem] = [p for s in shipments for p in s.problems]
    with_data = [s for s in shipments if s.has_data]
    if not with_data:
        return TrackingResult(CARRIER, number, Status.UNKNOWN, problems=tuple(problems))
    unknown: dict[str, int] = {}
    per_shipment = [_events(s, unknown, problems) for s in with_data]
    events = _merge(per_shipment)
    primary = _primary(with_data, per_shipment)
    status, reason = _current(primary, events, unknown)
    estimate = _estimate(primary, problems)
    delivered_at = _delivered_at(primary, status, events, problems)
    for code, count in unknown.items():
        problems.append(
            Problem(
                ProblemKind.UNKNOWN_CODE,
                code,
                f"FedEx code {code!r} is not in carriers/fedex/codes.py (seen {count} time(s)): "
                "its events are set to unknown, never guessed; add the code to the tables once "
                "its meaning is known",
            )
        )
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=number,
        status=status,
        reason=reason,
        estimated_delivery=estimate,
        delivered_at=delivered_at,
        events=tuple(events),
        problems=tuple(problems),
        service=primary.service,
    )


def _events(
    shipment: RawShipment, unknown: dict[str, int], problems: list[Problem]
) -> list[TrackingEvent]:
    events: list[TrackingEvent] = []
    for raw in shipment.events:
        occurred_at = resolve_time(raw.timestamp, [raw.location, *shipment.places])
        if occurred_at is None:
            problems.append(_time_problem(raw))
            continue
        meaning = classify(raw.event_type, raw.exception_code, raw.delay, raw.derived_code)
        if meaning.unknown:
            unknown[raw.code] = unknown.get(raw.code, 0) + 1
        events.append(
            TrackingEvent(
                occurred_at=occurred_at,
                status=meaning.status,
                reason=meaning.reason,
                code=raw.code,
                description=raw.description,
                location=raw.location,
                departed=departs(raw.event_type),
            )
        )
    return events


def _time_problem(raw: RawEvent) -> Problem:
    if read_time(raw.timestamp) is None:
        return Problem(
            ProblemKind.PARSE_ERROR,
            raw.code,
            f"FedEx event {raw.code} has an unreadable time {raw.timestamp!r}; event left out",
        )
    return Problem(
        ProblemKind.TIME_WITHOUT_ZONE,
        raw.code,
        f"FedEx event {raw.code} at {raw.timestamp} is local time without an offset and "
        "neither its location nor the shipment's destination or origin gives a time zone; "
        "event left out",
    )


def _merge(per_shipment: list[list[TrackingEvent]]) -> list[TrackingEvent]:
    """All events once, newest first (carrier order kept for equal times)."""
    seen: set[tuple[object, ...]] = set()
    merged: list[TrackingEvent] = []
    for events in per_shipment:
        for event in events:
            key = (event.occurred_at, event.code, event.description, event.location)
            if key not in seen:
                seen.add(key)
                merged.append(event)
    return sorted(merged, key=lambda e: e.occurred_at, reverse=True)


def _primary(shipments: list[RawShipment], per_shipment: list[list[TrackingEvent]]) -> RawShipment:
    """The shipment with the newest event (the first one when none has events)."""
    best = 0
    for index, events in enumerate(per_shipment):
        newest = max((e.occurred_at for e in events), default=None)
        current = max((e.occurred_at for e in per_shipment[best]), default=None)
        if newest is not None and (current is None or newest > current):
            best = index
    return shipments[best]


def _current(
    primary: RawShipment, events: list[TrackingEvent], unknown: dict[str, int]
) -> tuple[Status, Reason | None]:
    """Status and reason: the current-status field if it maps, else the newest event."""
    if primary.status is not None and primary.status.label:
        meaning = primary.status.classify()
        if not meaning.unknown:
            return meaning.status, meaning.reason
        label = primary.status.label
        unknown[label] = unknown.get(label, 0) + 1
    if events:
        return events[0].status, events[0].reason
    return Status.UNKNOWN, None


def _estimate(primary: RawShipment, problems: list[Problem]) -> EstimatedDelivery | None:
    """The estimate as FedEx states it: window, else single estimate; None if withdrawn."""
    if primary.eta_withdrawn:
        return None
    if primary.eta_begins or primary.eta_ends:
        begins = _eta_point(primary.eta_begins or primary.eta_ends, primary, problems)
        ends = _eta_point(primary.eta_ends or primary.eta_begins, primary, problems)
    elif primary.eta_single:
        begins = ends = _eta_point(primary.eta_single, primary, problems)
    else:
        return None
    if begins is None or ends is None:
        return None
    if isinstance(begins, datetime) and isinstance(ends, datetime):
        return EstimatedDelivery(begins, ends)
    # A day at either end makes the window whole days (never narrower than stated).
    return EstimatedDelivery(_day(begins), _day(ends))


def _day(point: datetime | date) -> date:
    return point.date() if isinstance(point, datetime) else point


def _eta_point(text: str, shipment: RawShipment, problems: list[Problem]) -> datetime | date | None:
    """A day when FedEx gives local midnight (its way of writing a date), else a time."""
    moment = read_time(text)
    if moment is None:
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                "ESTIMATED_DELIVERY",
                f"unreadable FedEx delivery estimate {text!r}; estimate left out",
            )
        )
        return None
    if _is_midnight(moment):
        return moment.date()
    aware = resolve_time(text, shipment.places)
    if aware is None:
        problems.append(
            Problem(
                ProblemKind.TIME_WITHOUT_ZONE,
                "ESTIMATED_DELIVERY",
                f"FedEx delivery estimate {text} has no offset and the shipment's destination "
                "and origin give no time zone; estimate left out",
            )
        )
    return aware


def _delivered_at(
    primary: RawShipment, status: Status, events: list[TrackingEvent], problems: list[Problem]
) -> datetime | None:
    """ACTUAL_DELIVERY, else the newest delivered event; only for a delivered parcel."""
    if status is not Status.DELIVERED:
        return None
    if primary.delivered:
        aware = resolve_time(primary.delivered, primary.places)
        if aware is not None:
            return aware
        problems.append(
            Problem(
                ProblemKind.TIME_WITHOUT_ZONE,
                "ACTUAL_DELIVERY",
                f"FedEx delivery time {primary.delivered} has no offset and the destination "
                "gives no time zone; delivery time taken from the delivered event instead",
            )
        )
    return next((e.occurred_at for e in events if e.status is Status.DELIVERED), None)
