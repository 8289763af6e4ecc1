"""Parse Amazon Shipping tracking: the Shipping API v1 ``getTracking`` JSON response.

Amazon Shipping is a file-drop feed only for now (no client, no sandbox codec): responses
saved as files come in through ``oasis run --tracking DIR``.

Pure functions: bytes in, one :class:`TrackingResult` (carrier ``amazon``: Amazon Shipping
moves the parcel) out. ``payload.trackingId`` is the number; ``payload.eventHistory`` the
events (oldest first as sent, returned newest first, each ``eventCode`` read by
:mod:`carriers.amazon.codes`, the code kept as sent); ``payload.summary.status`` the current
status when it maps, else the newest event; ``payload.promisedDeliveryDate`` the delivery
Amazon states (a time, so ``earliest == latest``; Amazon gives no other estimate). Delivered
at: the newest ``Delivered`` event, for a delivered parcel. A Selling Partner API ``errors``
list (no ``payload``) is one result with tracking number "" and the error as a problem
(``NotFound``: not found; anything else: request error).

Time rules: Amazon times are ISO 8601 with an offset, in practice UTC (``Z``); the offset is
kept as sent. A time without an offset is resolved with :func:`carriers.timezones.localize`
from the event's location; without a zone the event is left out with a
``time_without_zone`` problem.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carriers.amazon.codes import (
    EVENT_CODES,
    NOT_FOUND_ERRORS,
    SUMMARY_STATUSES,
    departs,
    lookup,
)
from carriers.models import (
    EstimatedDelivery,
    Location,
    PayloadError,
    Problem,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)
from carriers.parsing import read_json, sniff_json, unknown_code_problems
from carriers.taxonomy import Reason, Status
from carriers.timezones import localize

CARRIER = "amazon"
_EXPECTED = "an Amazon Shipping getTracking JSON response (payload.eventHistory)"


def sniff(payload: bytes) -> bool:
    """True for a getTracking response and for a Selling Partner API error list."""
    doc = sniff_json(payload, (b"{",))
    if not isinstance(doc, dict):
        return False
    body = doc.get("payload")
    if isinstance(body, dict):
        return isinstance(body.get("eventHistory"), list) and "trackingId" in body
    errors = doc.get("errors")
    return (
        set(doc) == {"errors"}
        and isinstance(errors, list)
        and bool(errors)
        and all(isinstance(e, dict) and {"code", "message"} <= set(e) for e in errors)
        and all(set(e) <= {"code", "message", "details"} for e in errors)
    )


def parse(payload: bytes) -> list[TrackingResult]:
    doc = read_json(payload, "Amazon", _EXPECTED)
    body = doc.get("payload") if isinstance(doc, dict) else None
    if isinstance(body, dict) and isinstance(body.get("eventHistory"), list):
        return [_result(body)]
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list) and errors:
        return [_error_result(errors)]
    raise PayloadError(
        f"JSON is not an Amazon Shipping tracking response: expected {_EXPECTED} or an "
        "errors list; check the file or pass the right --carrier"
    )


def _result(body: dict[str, Any]) -> TrackingResult:
    problems: list[Problem] = []
    unknown: dict[str, int] = {}
    events: list[TrackingEvent] = []
    seen: set[tuple[object, ...]] = set()
    for raw in body["eventHistory"]:
        event = _event(raw if isinstance(raw, dict) else {}, unknown, problems)
        if event is None:
            continue
        key = (event.occurred_at, event.code, event.location)
        if key not in seen:
            seen.add(key)
            events.append(event)
    events.sort(key=lambda e: e.occurred_at, reverse=True)
    status, reason = _current(body, events, unknown)
    problems.extend(unknown_code_problems(unknown, "Amazon", "carriers/amazon/codes.py"))
    delivered_at = None
    if status is Status.DELIVERED:
        delivered_at = next((e.occurred_at for e in events if e.status is Status.DELIVERED), None)
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=_str(body.get("trackingId")),
        status=status,
        reason=reason,
        estimated_delivery=_promise(_str(body.get("promisedDeliveryDate")), problems),
        delivered_at=delivered_at,
        events=tuple(events),
        problems=tuple(problems),
    )


def _event(
    raw: dict[str, Any], unknown: dict[str, int], problems: list[Problem]
) -> TrackingEvent | None:
    code = _str(raw.get("eventCode"))
    place = _location(raw.get("location"))
    text = _str(raw.get("eventTime"))
    when = _time(text)
    if when is not None and when.tzinfo is None:
        when = localize(when, place)
        if when is None:
            problems.append(
                Problem(
                    ProblemKind.TIME_WITHOUT_ZONE,
                    code,
                    f"Amazon event {code} at {text} has no offset and its location gives no "
                    "time zone; event left out",
                )
            )
            return None
    if when is None:
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                code,
                f"Amazon event {code} has an unreadable time {text!r}; event left out",
            )
        )
        return None
    meaning = lookup(EVENT_CODES, code)
    if meaning is None:
        unknown[code] = unknown.get(code, 0) + 1
    return TrackingEvent(
        occurred_at=when,
        status=meaning.status if meaning else Status.UNKNOWN,
        reason=meaning.reason if meaning else None,
        code=code,
        description=meaning.description if meaning else code,
        location=place,
        departed=departs(code),
    )


def _current(
    body: dict[str, Any], events: list[TrackingEvent], unknown: dict[str, int]
) -> tuple[Status, Reason | None]:
    summary = body.get("summary")
    code = _str(summary.get("status")) if isinstance(summary, dict) else ""
    if code:
        meaning = lookup(SUMMARY_STATUSES, code)
        if meaning is not None:
            return meaning.status, meaning.reason
        label = f"summary.status={code}"
        unknown[label] = unknown.get(label, 0) + 1
    if events:
        return events[0].status, events[0].reason
    return Status.UNKNOWN, None


def _promise(text: str, problems: list[Problem]) -> EstimatedDelivery | None:
    if not text:
        return None
    when = _time(text)
    if when is None or when.tzinfo is None:
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR if when is None else ProblemKind.TIME_WITHOUT_ZONE,
                "promisedDeliveryDate",
                f"Amazon promised delivery {text!r} is unreadable or has no offset; "
                "estimate left out",
            )
        )
        return None
    return EstimatedDelivery(when, when)


def _error_result(errors: list[Any]) -> TrackingResult:
    problems = []
    for error in errors:
        error = error if isinstance(error, dict) else {}
        code = _str(error.get("code"))
        message = _str(error.get("message")) or "Amazon reported an error without a message"
        details = _str(error.get("details"))
        kind = ProblemKind.NOT_FOUND if code in NOT_FOUND_ERRORS else ProblemKind.REQUEST_ERROR
        problems.append(Problem(kind, code, f"{message} ({details})" if details else message))
    return TrackingResult(CARRIER, "", Status.UNKNOWN, problems=tuple(problems))


def _location(value: Any) -> Location:
    if not isinstance(value, dict):
        return Location()
    return Location(
        city=_str(value.get("city")) or None,
        region=_str(value.get("stateOrRegion")) or None,
        postal_code=_str(value.get("postalCode")) or None,
        country=_str(value.get("countryCode")) or None,
    )


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
