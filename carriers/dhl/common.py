"""Pieces every DHL format parser shares: scans, time placement, results, XML reading.

A parser turns each carrier event into a :class:`Scan` (time as the carrier gave it,
already mapped through the code tables) and hands the scans, oldest first, to
:func:`build_result`, which places local times in their zone, drops events whose zone cannot
be found (with a ``time_without_zone`` problem), deduplicates, orders them newest first and
works out the result's status and delivery time.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from carriers.dhl.codes import Mapping, unknown_code_problem
from carriers.dhl.places import is_placed
from carriers.models import (
    EstimatedDelivery,
    Location,
    PayloadError,
    Problem,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)
from carriers.taxonomy import Status
from carriers.timezones import localize

CARRIER = "dhl"


@dataclass(frozen=True)
class Scan:
    """One carrier event before its time is placed: ``when`` is aware or local wall time."""

    when: datetime
    mapping: Mapping
    code: str
    description: str
    location: Location = field(default_factory=Location)
    departed: bool = False  # the code is a departure scan in its format's table


@dataclass
class Draft:
    """What a parser read about one tracking number, before :func:`build_result`."""

    number: str
    service: str | None = None
    scans: list[Scan] = field(default_factory=list)  # oldest first, as the carrier ordered
    current: Mapping | None = None  # the carrier's current-status field, when it maps
    fallbacks: tuple[Location, ...] = ()  # destination / origin, for events without a place
    estimated: EstimatedDelivery | None = None
    delivered_at: datetime | None = None  # the carrier's own delivery time, when it gives one
    problems: list[Problem] = field(default_factory=list)


def code_mapping(mapping: Mapping | None, table: str, code: str, draft: Draft) -> Mapping:
    """``mapping``, or ``unknown`` plus an ``unknown_code`` problem when the code is unmapped."""
    if mapping is not None:
        return mapping
    draft.problems.append(unknown_code_problem(table, code))
    return (Status.UNKNOWN, None)


def resolve_time(
    when: datetime, location: Location | None, fallbacks: Sequence[Location]
) -> datetime | None:
    """Aware time for ``when``: kept if aware, else localized at the scan's place.

    The event's own location decides when it names a country or region; only an event with
    no place at all falls back to the shipment's destination, then origin.
    """
    if when.tzinfo is not None:
        return when
    if is_placed(location):
        return localize(when, location)
    for place in fallbacks:
        if is_placed(place):
            return localize(when, place)
    return None


def zone_problem(code: str, when: datetime, location: Location | None) -> Problem:
    where = ", ".join(p for p in (location.city, location.country) if p) if location else ""
    return Problem(
        kind=ProblemKind.TIME_WITHOUT_ZONE,
        code=code,
        message=(
            f"DHL event {code} at local time {when.isoformat()} ({where or 'no location'}) "
            "has no offset and no time zone could be found for its place; the event is left "
            "out. Add the country's zone to carriers/timezones.py to keep such events"
        ),
    )


def _place(draft: Draft) -> list[TrackingEvent]:
    placed: list[tuple[datetime, int, TrackingEvent]] = []
    for index, scan in enumerate(draft.scans):
        when = resolve_time(scan.when, scan.location, draft.fallbacks)
        if when is None:
            draft.problems.append(zone_problem(scan.code, scan.when, scan.location))
            continue
        status, reason = scan.mapping
        event = TrackingEvent(
            when, status, reason, scan.code, scan.description, scan.location, scan.departed
        )
        placed.append((when, index, event))
    placed.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [event for _, _, event in placed]


def unique_events(events: Iterable[TrackingEvent]) -> tuple[TrackingEvent, ...]:
    """Events without repeats, newest first (already-sorted input keeps its tie order)."""
    seen: set[tuple[object, ...]] = set()
    kept: list[TrackingEvent] = []
    for event in events:
        key = (event.occurred_at, event.code, event.description, event.location)
        if key not in seen:
            seen.add(key)
            kept.append(event)
    return tuple(kept)


def unique_problems(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(dict.fromkeys(problems))


def delivered_time(events: Sequence[TrackingEvent], status: Status) -> datetime | None:
    """When a delivered parcel was delivered: the first of the newest run of delivered events.

    Later "delivered" events (cash-on-delivery paid, proof-of-delivery paperwork) do not
    move the delivery time.
    """
    if status is not Status.DELIVERED:
        return None
    delivered: datetime | None = None
    for event in events:
        if event.status is not Status.DELIVERED:
            break
        delivered = event.occurred_at
    return delivered


def _current(draft: Draft, events: Sequence[TrackingEvent]) -> Mapping:
    if draft.current is not None:
        return draft.current
    if events:
        return (events[0].status, events[0].reason)
    if draft.scans:  # no event could be placed in time: the carrier's own latest one
        return draft.scans[-1].mapping
    return (Status.PENDING, None)  # the carrier knows the number but reports no event yet


def build_result(draft: Draft) -> TrackingResult:
    events = unique_events(_place(draft))
    status, reason = _current(draft, events)
    delivered = draft.delivered_at if status is Status.DELIVERED else None
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=draft.number,
        status=status,
        reason=reason,
        estimated_delivery=draft.estimated,
        delivered_at=delivered or delivered_time(events, status),
        events=events,
        problems=unique_problems(draft.problems),
        service=draft.service,
    )


def problem_result(number: str, problem: Problem) -> TrackingResult:
    """A number the carrier could not report on: status unknown, no events, one problem."""
    return TrackingResult(
        carrier=CARRIER, tracking_number=number, status=Status.UNKNOWN, problems=(problem,)
    )


def _newest(result: TrackingResult) -> tuple[bool, datetime | None]:
    return (bool(result.events), result.events[0].occurred_at if result.events else None)


def merge_results(results: Iterable[TrackingResult]) -> list[TrackingResult]:
    """One result per tracking number, in first-seen order.

    Duplicates are merged: events and problems are united (events deduplicated, newest
    first); status, reason, estimate and delivery time come from the part whose newest event
    is the latest (the first part when none has events).
    """
    groups: dict[str, list[TrackingResult]] = {}
    for result in results:
        groups.setdefault(result.tracking_number, []).append(result)
    merged: list[TrackingResult] = []
    for parts in groups.values():
        if len(parts) == 1:
            merged.append(parts[0])
            continue
        lead = parts[0]
        for part in parts[1:]:
            if part.events and (not lead.events or _newest(part) > _newest(lead)):
                lead = part
        everything = sorted(
            (event for part in parts for event in part.events),
            key=lambda event: event.occurred_at,
            reverse=True,
        )
        problems = unique_problems(problem for part in parts for problem in part.problems)
        merged.append(replace(lead, events=unique_events(everything), problems=problems))
    return merged


def looks_like_html(payload: bytes) -> bool:
    head = payload.lstrip()[:512].lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]


def read_xml(payload: bytes, expected: str) -> ET.Element:
    """The root element of an XML payload; PayloadError for HTML, DTDs or broken XML."""
    if looks_like_html(payload):
        raise PayloadError(
            f"got an HTML page instead of {expected}; the request probably reached a login "
            "or error page: check the DHL base URL and credentials"
        )
    lowered = payload.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise PayloadError(
            f"refusing XML with a DOCTYPE or ENTITY declaration; expected {expected}, which "
            "has none: check where the payload came from"
        )
    try:
        return ET.fromstring(payload)  # noqa: S314 - no DTD or entity can be present here
    except ET.ParseError as exc:
        raise PayloadError(
            f"malformed or truncated XML ({exc}); expected {expected}: fetch the tracking "
            "response again and keep the whole body"
        ) from exc


def local_name(tag: str) -> str:
    """An element's tag without its namespace."""
    return tag.rpartition("}")[2]


def child(element: ET.Element, name: str) -> ET.Element | None:
    """The first direct child whose local name is ``name`` (namespaces ignored)."""
    for item in element:
        if local_name(item.tag) == name:
            return item
    return None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [item for item in element if local_name(item.tag) == name]


def text_at(element: ET.Element | None, *path: str) -> str:
    """Whitespace-normalised text of the element at ``path`` below ``element``, or ""."""
    node = element
    for name in path:
        if node is None:
            return ""
        node = child(node, name)
    if node is None or node.text is None:
        return ""
    return " ".join(node.text.split())
