"""Canada Post tracking parser: VIS ``tracking-detail`` and ``messages`` XML to TrackingResult.

Formats
    * ``tracking-detail`` (GET vis/track/pin/{pin}/detail): ``pin``, ``service-name``,
      ``expected-delivery-date``, ``changed-expected-date``, ``destination-postal-id`` and
      ``significant-events/occurrence`` with ``event-identifier``, ``event-date``,
      ``event-time``, ``event-time-zone``, ``event-description``, ``event-site``,
      ``event-province``. With or without the ``http://www.canadapost.ca/ws/track``
      namespace.
    * ``messages/message`` (``code``, ``description``): a whole-request error that does not
      name the pin, so its result has tracking number "": 004 "No Pin History" is
      ``not_found``, anything else ``request_error``.

Event times
    1. ``event-time-zone`` is an abbreviation with a fixed offset (EST -05:00, EDT -04:00,
       ... see ``codes.TIME_ZONE_OFFSETS``): occurred_at = event-date + event-time with that
       offset, as Canada Post states it.
    2. Without a known abbreviation, the local time is placed with
       ``carriers.timezones.localize`` in the zone of ``event-province``, else of the
       destination province (first letter of ``destination-postal-id``); if neither gives a
       zone the event is left out with a ``time_without_zone`` problem.
    3. An empty ``event-time`` is 00:00 local time on ``event-date``.

Status is the newest event's (the detail has no current-status field), reason the newest
event's reason, delivered_at the newest delivered event's time. ``code`` is the
``event-identifier`` as sent (one part). Estimated delivery: ``changed-expected-date`` when
Canada Post revised it, else ``expected-delivery-date``, as a day. Location country is "CA"
when ``event-province`` is a Canadian province or territory code.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta, timezone
from xml.etree.ElementTree import Element

from carriers.canadapost.codes import (
    POSTAL_PROVINCES,
    TIME_ZONE_OFFSETS,
    event_mapping,
    message_kind,
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
from carriers.taxonomy import Status
from carriers.timezones import CA_PROVINCE_ZONES, localize

CARRIER = "canadapost"
_NAMESPACE = "http://www.canadapost.ca/ws/track"
_EXPECTED = "expected a Canada Post VIS tracking <tracking-detail> or <messages> XML document"


def sniff(payload: bytes) -> bool:
    """True only for Canada Post ``tracking-detail`` and ``messages`` documents."""
    try:
        root = _load(payload)
    except PayloadError:
        return False
    name = _local(root.tag)
    if name == "tracking-detail":
        return _child(root, "pin") is not None
    return name == "messages" and root.tag.startswith("{" + _NAMESPACE)


def parse(payload: bytes) -> list[TrackingResult]:
    """One result for the pin in the payload; PayloadError if it cannot be read."""
    root = _load(payload)
    name = _local(root.tag)
    if name == "messages":
        return [_messages_result(root)]
    if name == "tracking-detail":
        return [_detail_result(root)]
    raise PayloadError(f"Canada Post: XML root is <{name}>; {_EXPECTED}")


# -- reading XML ---------------------------------------------------------------------------


def _load(payload: bytes) -> Element:
    head = payload.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise PayloadError(
            "Canada Post: got an HTML page, not tracking data (often a proxy, login or error "
            f"page); {_EXPECTED}"
        )
    if not head.startswith(b"<"):
        raise PayloadError(f"Canada Post: payload is not XML; {_EXPECTED}")
    if b"<!doctype" in payload.lower() or b"<!entity" in payload.lower():
        raise PayloadError("Canada Post: XML with a DTD or entity declarations is not accepted")
    try:
        # Safe here: DTDs and entity declarations were rejected above, and expat does not
        # fetch external resources.
        return ET.fromstring(payload)  # noqa: S314
    except ET.ParseError as exc:
        raise PayloadError(f"Canada Post: malformed or truncated XML ({exc}); {_EXPECTED}") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: Element, name: str) -> str | None:
    child = _child(element, name)
    text = " ".join((child.text or "").split()) if child is not None else ""
    return text or None


# -- messages ------------------------------------------------------------------------------


def _messages_result(root: Element) -> TrackingResult:
    problems = []
    for message in (m for m in root if _local(m.tag) == "message"):
        code = _text(message, "code") or ""
        description = _text(message, "description") or "no description"
        problems.append(Problem(message_kind(code), code, description))
    if not problems:
        problems.append(Problem(ProblemKind.REQUEST_ERROR, "", "empty <messages> document"))
    return TrackingResult(CARRIER, "", Status.UNKNOWN, problems=tuple(problems))


# -- tracking detail -----------------------------------------------------------------------


def _detail_result(root: Element) -> TrackingResult:
    problems: list[Problem] = []
    destination = _destination(_text(root, "destination-postal-id"))
    events: list[TrackingEvent] = []
    history = _child(root, "significant-events")
    for occurrence in history if history is not None else ():
        if _local(occurrence.tag) == "occurrence":
            event = _event(occurrence, destination, problems)
            if event is not None:
                events.append(event)
    events = sorted(dict.fromkeys(events), key=lambda e: e.occurred_at, reverse=True)
    newest = events[0] if events else None
    status = newest.status if newest else Status.UNKNOWN
    delivered = next((e for e in events if e.status is Status.DELIVERED), None)
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=_text(root, "pin") or "",
        status=status,
        reason=newest.reason if newest else None,
        estimated_delivery=_estimated_delivery(root, problems),
        delivered_at=delivered.occurred_at if delivered and status is Status.DELIVERED else None,
        events=tuple(events),
        problems=tuple(dict.fromkeys(problems)),
        service=_text(root, "service-name"),
    )


def _destination(postal_code: str | None) -> Location:
    province = POSTAL_PROVINCES.get((postal_code or " ")[0].upper())
    return Location(region=province, postal_code=postal_code, country="CA")


def _event(
    occurrence: Element, destination: Location, problems: list[Problem]
) -> TrackingEvent | None:
    code = _text(occurrence, "event-identifier") or ""
    text = _text(occurrence, "event-description") or ""
    province = _text(occurrence, "event-province")
    place = Location(
        city=_text(occurrence, "event-site"),
        region=province,
        country="CA" if (province or "").upper() in CA_PROVINCE_ZONES else None,
    )
    local = _local_time(occurrence)
    if local is None:
        raw = f"{_text(occurrence, 'event-date')} {_text(occurrence, 'event-time')}"
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                code,
                f"Canada Post event {text!r}: cannot read date/time {raw!r}; left out",
            )
        )
        return None
    when = _aware(local, _text(occurrence, "event-time-zone"), (place, destination))
    if when is None:
        problems.append(_no_zone(code, text, local))
        return None
    mapping = event_mapping(code)
    if mapping is None:
        problems.append(_unknown_code(code, text))
        return TrackingEvent(when, Status.UNKNOWN, None, code, text, place)
    return TrackingEvent(when, mapping[0], mapping[1], code, text, place)


def _local_time(occurrence: Element) -> datetime | None:
    raw_time = _text(occurrence, "event-time")
    try:
        day = date.fromisoformat(_text(occurrence, "event-date") or "")
        clock = time.fromisoformat(raw_time) if raw_time else time(0, 0)
    except ValueError:
        return None
    return datetime.combine(day, clock)


def _aware(local: datetime, zone_name: str | None, places: tuple[Location, ...]) -> datetime | None:
    minutes = TIME_ZONE_OFFSETS.get((zone_name or "").upper())
    if minutes is not None:
        return local.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    for place in places:
        aware = localize(local, place)
        if aware is not None:
            return aware
    return None


def _no_zone(code: str, text: str, local: datetime) -> Problem:
    return Problem(
        ProblemKind.TIME_WITHOUT_ZONE,
        code,
        f"Canada Post event {text!r} at {local.isoformat()} local time has no known time "
        "zone abbreviation and neither its province nor the destination names a zone; "
        "the event is left out",
    )


def _unknown_code(code: str, text: str) -> Problem:
    return Problem(
        ProblemKind.UNKNOWN_CODE,
        code,
        f"Canada Post event identifier {code!r} ({text!r}) is not in "
        "carriers/canadapost/codes.py; the event's status is unknown",
    )


def _estimated_delivery(root: Element, problems: list[Problem]) -> EstimatedDelivery | None:
    for name in ("changed-expected-date", "expected-delivery-date"):
        raw = _text(root, name)
        if raw is None:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            problems.append(
                Problem(ProblemKind.PARSE_ERROR, "", f"Canada Post {name}: cannot read {raw!r}")
            )
            continue
        return EstimatedDelivery(day, day)
    return None
