"""Assembling USPS tracking results: event classification, time zones, order, merging.

Both USPS formats (v3 JSON and Web Tools XML) read their fields into a :class:`Draft`
per tracking number; :func:`finish` turns drafts into :class:`TrackingResult` objects
with the same rules for both formats (see ``carriers.usps.parse`` for the rules).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

from carriers.models import (
    EstimatedDelivery,
    Location,
    Problem,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)
from carriers.taxonomy import Status
from carriers.timezones import US_STATE_ZONES, localize
from carriers.usps.codes import (
    CodeMapping,
    category_status,
    code_for_text,
    departs,
    event_mapping,
)

CARRIER = "usps"

_OFFSET = re.compile(r"^([+-])(\d{1,2}):?(\d{2})$")
# "OAK CREEK WI DISTRIBUTION CENTER", "CHICAGO IL NETWORK DISTRIBUTION CENTER", ...
_FACILITY_STATE = re.compile(
    r"\b([A-Z]{2})\s+(?:NETWORK\s+|INTERNATIONAL\s+|PROCESSING\s+(?:&|AND)\s+)?"
    r"DISTRIBUTION\s+CENTER\b"
)


@dataclass
class Draft:
    """What one payload says about one tracking number, before the result is built."""

    tracking_number: str
    category: str | None = None
    service: str | None = None
    estimated_delivery: EstimatedDelivery | None = None
    events: list[TrackingEvent] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add_event(self, when: datetime | None, code: str, text: str, place: Location) -> None:
        """Classify one event and add it; a ``when`` of None was already reported."""
        if when is None:
            return
        mapping = event_mapping(code) if code else _legacy_mapping(text)
        if mapping is None:
            self.problems.append(_unknown_code(code, text))
            status, reason = Status.UNKNOWN, None
        else:
            status, reason = mapping
        self.events.append(TrackingEvent(when, status, reason, code, text, place, departs(code)))

    def place_in_zone(
        self, naive: datetime, code: str, text: str, places: Sequence[Location | None]
    ) -> datetime | None:
        """A local time made aware in the first place whose zone is known, else a problem."""
        for place in places:
            aware = localize(naive, place)
            if aware is not None:
                return aware
        self.problems.append(
            Problem(
                ProblemKind.TIME_WITHOUT_ZONE,
                code,
                f"USPS event {text!r} at {naive.isoformat()} local time has no offset and "
                "neither its location nor the destination names a known time zone; "
                "the event is left out",
            )
        )
        return None

    def unreadable(self, code: str, what: str, raw: object) -> None:
        self.problems.append(
            Problem(ProblemKind.PARSE_ERROR, code, f"USPS {what}: cannot read {raw!r}; left out")
        )


def _legacy_mapping(text: str) -> CodeMapping | None:
    legacy = code_for_text(text)
    return event_mapping(legacy) if legacy else None


def _unknown_code(code: str, text: str) -> Problem:
    if code:
        message = (
            f"USPS event code {code!r} ({text!r}) is not in carriers/usps/codes.py; "
            "the event's status is unknown"
        )
        return Problem(ProblemKind.UNKNOWN_CODE, code, message)
    message = (
        f"USPS event {text!r} carries no event code and its text is not in the reviewed "
        "legacy text table (carriers/usps/codes.py); the event's status is unknown"
    )
    return Problem(ProblemKind.UNKNOWN_CODE, text, message)


def parse_offset(raw: object) -> tzinfo | None:
    """A fixed offset from USPS ``GMTOffset`` ("-06:00", "-7:00"), or None."""
    match = _OFFSET.match(str(raw).strip()) if raw else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14) or int(minutes) >= 60:
        return None
    return timezone(-delta if sign == "-" else delta)


def facility_place(city: str | None) -> Location | None:
    """The state a USPS facility name carries ("QUEENS NY DISTRIBUTION CENTER"), if any."""
    match = _FACILITY_STATE.search((city or "").upper())
    if match is None or match.group(1) not in US_STATE_ZONES:
        return None
    return Location(region=match.group(1), country="US")


def text_or_none(value: object) -> str | None:
    """A stripped string, None for null/blank values."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def clean_markup(value: object) -> str | None:
    """USPS service names carry escaped HTML (``<SUP>&#153;</SUP>``): plain text instead."""
    text = text_or_none(value)
    if text is None:
        return None
    text = html.unescape(html.unescape(text))
    return text_or_none(re.sub(r"<[^>]*>", "", text))


def merge(drafts: Iterable[Draft]) -> list[Draft]:
    """One draft per tracking number, in order of first appearance."""
    merged: dict[str, Draft] = {}
    for draft in drafts:
        seen = merged.get(draft.tracking_number)
        if seen is None:
            merged[draft.tracking_number] = draft
            continue
        seen.category = seen.category or draft.category
        seen.service = seen.service or draft.service
        seen.estimated_delivery = seen.estimated_delivery or draft.estimated_delivery
        seen.events.extend(draft.events)
        seen.problems.extend(draft.problems)
    return list(merged.values())


def finish(draft: Draft) -> TrackingResult:
    """The normalized result: events deduplicated and newest first, status and reason."""
    unique = list(dict.fromkeys(draft.events))
    events = sorted(unique, key=lambda e: e.occurred_at, reverse=True)  # stable for ties
    newest = events[0] if events else None
    status = category_status(draft.category) or (newest.status if newest else Status.UNKNOWN)
    reason = newest.reason if newest is not None and newest.status is status else None
    delivered_at = None
    if status is Status.DELIVERED:
        delivered_at = next((e.occurred_at for e in events if e.status is status), None)
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=draft.tracking_number,
        status=status,
        reason=reason,
        estimated_delivery=draft.estimated_delivery,
        delivered_at=delivered_at,
        events=tuple(events),
        problems=tuple(dict.fromkeys(draft.problems)),
        service=draft.service,
    )
