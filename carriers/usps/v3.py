"""Reading the USPS Tracking API v3 JSON body (``GET /tracking/v3/tracking/{n}``).

Two shapes: a tracking body (``trackingNumber``, ``statusCategory``, ``trackingEvents``)
and the error envelope ``{"apiVersion", "error": {"code", "message", "errors": [...]}}``
sent with HTTP 400/404. The time and ETA rules are described in ``carriers.usps.parse``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from carriers.models import EstimatedDelivery, Location, PayloadError, Problem, ProblemKind
from carriers.timezones import localize
from carriers.usps.build import (
    Draft,
    clean_markup,
    facility_place,
    parse_offset,
    text_or_none,
)
from carriers.usps.codes import NOT_FOUND_ERRORS

_WINDOW_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I:%M:%S %p")


def is_v3(data: object) -> bool:
    """True for a v3 tracking body or a v3 error envelope."""
    if not isinstance(data, dict):
        return False
    if "trackingNumber" in data and ("trackingEvents" in data or "statusCategory" in data):
        return True
    return str(data.get("apiVersion") or "").startswith("/tracking/v3") and "error" in data


def drafts(data: object) -> list[Draft]:
    """The drafts one v3 body describes (always exactly one)."""
    if not isinstance(data, dict):
        raise PayloadError(
            "USPS: expected a Tracking API v3 JSON object (trackingNumber/trackingEvents or "
            f"an error envelope), got a JSON {type(data).__name__}; check the endpoint "
            "(GET /tracking/v3/tracking/{number}?expand=DETAIL)"
        )
    if "error" in data:
        return [_error_draft(data)]
    if "trackingNumber" not in data:
        raise PayloadError(
            "USPS: JSON object has neither trackingNumber nor error; expected a Tracking API "
            "v3 body from GET /tracking/v3/tracking/{number}?expand=DETAIL"
        )
    return [_tracking_draft(data)]


def _error_draft(data: Mapping[str, Any]) -> Draft:
    """A whole-request error: USPS does not repeat the number, so it is "" unless given."""
    draft = Draft(tracking_number=text_or_none(data.get("trackingNumber")) or "")
    error = data["error"]
    if isinstance(error, dict):
        subs = [e for e in error.get("errors") or [] if isinstance(e, dict)]
        codes = [c for c in (text_or_none(e.get("code")) for e in subs) if c]
        code = codes[0] if codes else text_or_none(error.get("code")) or ""
        first = subs[0] if subs else {}
        message = (
            text_or_none(first.get("title"))
            or text_or_none(first.get("detail"))
            or text_or_none(error.get("message"))
            or "no message"
        )
        found = any(c in NOT_FOUND_ERRORS for c in codes)
    else:  # OAuth style: {"error": "invalid_client", "error_description": "..."}
        code = text_or_none(error) or ""
        message = text_or_none(data.get("error_description")) or "no message"
        found = False
    kind = ProblemKind.NOT_FOUND if found else ProblemKind.REQUEST_ERROR
    draft.problems.append(Problem(kind, code, message.rstrip(" -")))
    return draft


def _tracking_draft(data: Mapping[str, Any]) -> Draft:
    destination = Location(
        city=text_or_none(data.get("destinationCity")),
        region=text_or_none(data.get("destinationState")),
        postal_code=text_or_none(data.get("destinationZIP")),
        country=text_or_none(data.get("destinationCountryCode")),
    )
    draft = Draft(
        tracking_number=text_or_none(data.get("trackingNumber")) or "",
        category=text_or_none(data.get("statusCategory")),
        service=clean_markup(data.get("mailClass")),
    )
    events = data.get("trackingEvents") or []
    if not isinstance(events, list):
        raise PayloadError("USPS: trackingEvents is not a list; expected a v3 tracking body")
    for item in events:
        if isinstance(item, dict):
            _add_event(draft, item, destination)
        else:
            draft.unreadable("", "tracking event", item)
    draft.estimated_delivery = _estimated_delivery(draft, data, destination)
    return draft


def _add_event(draft: Draft, item: Mapping[str, Any], destination: Location) -> None:
    code = text_or_none(item.get("eventCode")) or ""
    text = text_or_none(item.get("eventType")) or ""
    place = Location(
        city=text_or_none(item.get("eventCity")),
        region=text_or_none(item.get("eventState")),
        postal_code=text_or_none(item.get("eventZIP")),
        country=text_or_none(item.get("eventCountry")),
    )
    raw = item.get("eventTimestamp")
    try:
        local = datetime.fromisoformat(str(raw))
    except ValueError:
        draft.unreadable(code, f"event {text!r} eventTimestamp", raw)
        return
    offset = parse_offset(item.get("GMTOffset"))
    if local.tzinfo is None and offset is not None:
        when: datetime | None = local.replace(tzinfo=offset)
    else:
        places = (place, facility_place(place.city), destination)
        when = draft.place_in_zone(local, code, text, places)
    draft.add_event(when, code, text, place)


def _estimated_delivery(
    draft: Draft, data: Mapping[str, Any], destination: Location
) -> EstimatedDelivery | None:
    """Predicted (window or day) first, then expectedDeliveryTimeStamp, then the day."""
    block = data.get("deliveryDateExpectation")
    fields = {**data, **block} if isinstance(block, dict) else dict(data)
    predicted = _day(draft, "predictedDeliveryDate", fields.get("predictedDeliveryDate"))
    if predicted is not None:
        start = fields.get("predictedDeliveryWindowStartTime")
        end = fields.get("predictedDeliveryWindowEndTime")
        window = _window(predicted, start, end, destination)
        if window is None and (start or end):
            draft.problems.append(
                Problem(
                    ProblemKind.PARSE_ERROR,
                    "",
                    f"USPS predicted delivery window {start!r}-{end!r} could not be read or "
                    "placed in the destination's time zone; the predicted day is used",
                )
            )
        return window or EstimatedDelivery(predicted, predicted)
    stamp = text_or_none(fields.get("expectedDeliveryTimeStamp"))
    if stamp is not None:
        return _stamp(draft, stamp, destination)
    expected = _day(draft, "expectedDeliveryDate", fields.get("expectedDeliveryDate"))
    return EstimatedDelivery(expected, expected) if expected is not None else None


def _day(draft: Draft, name: str, raw: object) -> date | None:
    text = text_or_none(raw)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        draft.unreadable("", name, raw)
        return None


def _stamp(draft: Draft, stamp: str, destination: Location) -> EstimatedDelivery | None:
    """Midnight means "that day"; another time is a point, made aware at the destination."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        draft.unreadable("", "expectedDeliveryTimeStamp", stamp)
        return None
    if moment.tzinfo is None and moment.time() == time(0, 0):
        return EstimatedDelivery(moment.date(), moment.date())
    aware = localize(moment, destination)
    if aware is None:  # no zone for the time: the day is still what USPS said
        return EstimatedDelivery(moment.date(), moment.date())
    return EstimatedDelivery(aware, aware)


def _window(
    day: date, start: object, end: object, destination: Location
) -> EstimatedDelivery | None:
    """The predicted window on ``day`` at the destination, or None if it cannot be read."""
    first, last = _clock(start), _clock(end)
    if first is None or last is None or last < first:
        return None
    earliest = localize(datetime.combine(day, first), destination)
    latest = localize(datetime.combine(day, last), destination)
    if earliest is None or latest is None:
        return None
    return EstimatedDelivery(earliest, latest)


def _clock(raw: object) -> time | None:
    """A wall-clock time in any of the forms USPS uses ("13:45", "1:45 pm", ISO)."""
    text = text_or_none(raw)
    if text is None:
        return None
    for pattern in _WINDOW_TIME_FORMATS:
        try:
            return datetime.strptime(text.upper(), pattern).time()  # noqa: DTZ007 - wall time
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text).time()
    except ValueError:
        return None
