"""Parse EasyPost tracking JSON into normalized results (pure functions).

Accepted bodies: a ``Tracker`` (``GET /v2/trackers/:id``), a tracker list
(``GET /v2/trackers`` -> ``{"trackers": [...], "has_more": ...}``), a webhook ``Event``
whose ``result`` is a Tracker (``tracker.created`` / ``tracker.updated``), and EasyPost's
error envelope ``{"error": {"code", "message", "errors"}}``.

Codes: an event's code is ``status/status_detail`` (``status`` alone when the detail is
missing); see codes.py for the mapping. The result's status and reason come from the
Tracker's own ``status``/``status_detail``; only when those do not map (or say ``error``)
does the newest event decide.

Carrier: ``Tracker.carrier`` is the carrier that moves the parcel; it is lower-cased and
reduced to our carrier names (``FedEx``/``FedExSmartPost`` -> ``fedex``, ``UPS`` ->
``ups``, ``USPS`` -> ``usps``, ``DHLExpress``/``DHLeCommerce`` -> ``dhl``, ...); other
names keep their letters and digits, lower-cased.

Times. EasyPost writes every ``TrackingDetail.datetime`` with a ``Z``. Its API reference
(https://docs.easypost.com/docs/trackers) says: "When enough location information is
present, EasyPost assigns the appropriate local time zone to the event's datetime. When
location information is incomplete, timestamps default to UTC." We read that as: for a
scan EasyPost could place, the value is a true UTC instant (the live FedEx sample agrees:
its last scan at "EDISON, NJ" 18:50Z precedes the tracker's own ``updated_at`` 19:26:51Z,
which would be impossible were 18:50 a New Jersey wall-clock time); for a scan it could not
place, the carrier's wall-clock time was passed through and merely labelled UTC. So:

* a detail whose location has a city, state or ZIP, or only a country with a single time
  zone, is *placed*: its ``Z`` time is kept as the UTC instant it is (offset +00:00);
* any other detail's time is a wall-clock time in an unknown zone: we resolve it with
  :func:`carriers.timezones.localize` from the detail's location, else from the shipment's
  origin (for pre-transit events) or destination (``carrier_detail``'s
  ``origin_tracking_location`` / ``destination_tracking_location``), using a shipment
  location only when the detail names no other country; if no zone is found the event is
  left out and a ``time_without_zone`` problem names it;
* an explicit non-zero offset, should EasyPost ever send one, is kept as given.

Estimated delivery: ``carrier_detail.est_delivery_date_local`` (a day), with
``est_delivery_time_local`` when given and the destination's zone is known (a time, as a
one-instant window); else ``est_delivery_date``, which EasyPost writes as midnight UTC when
the carrier gave only a day (read as that day) and as an instant otherwise.
``delivered_at`` is the newest delivered event's time, only while the tracker is delivered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from carriers.easypost.codes import departs, event_code, lookup
from carriers.models import (
    EstimatedDelivery,
    Location,
    PayloadError,
    Problem,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)
from carriers.parsing import (
    clean_text,
    load_json_object,
    merge_results,
    newest_first,
    try_json,
    zone_candidates,
)
from carriers.taxonomy import Status
from carriers.timezones import localize, zone_for

_EXPECTED = (
    'expected EasyPost JSON: a Tracker, a tracker list {"trackers": [...]} or a '
    "tracker.* webhook Event"
)
_FIX = "pass the raw response or webhook body exactly as EasyPost sent it"

# Prefixes of EasyPost carrier names (letters and digits, lower-cased) -> our names.
_CARRIER_FAMILIES: tuple[tuple[str, str], ...] = (
    ("fedex", "fedex"),
    ("usps", "usps"),
    ("ups", "ups"),
    ("dhl", "dhl"),
    ("canadapost", "canadapost"),
    ("amazon", "amazon"),
    ("pitneybowes", "pitneybowes"),
)
_PRE_CARRIER = frozenset({Status.PENDING, Status.INFO_RECEIVED})
_NOT_FOUND_CODES = frozenset({"NOT_FOUND", "TRACKER.NOT_FOUND"})


# -- entry points ---------------------------------------------------------------------------


def sniff(payload: bytes) -> bool:
    """True for EasyPost Tracker, tracker-list and tracker Event bodies."""
    doc = try_json(payload)
    if not isinstance(doc, dict):
        return False
    if doc.get("object") == "Tracker":
        return "tracking_code" in doc
    if doc.get("object") == "Event":
        result = doc.get("result")
        return isinstance(result, dict) and result.get("object") == "Tracker"
    trackers = doc.get("trackers")
    if isinstance(trackers, list) and "has_more" in doc:
        return all(isinstance(t, dict) and t.get("object") == "Tracker" for t in trackers)
    return False


def parse(payload: bytes) -> list[TrackingResult]:
    """One result per tracking code in an EasyPost body; PayloadError if unreadable."""
    doc = load_json_object(payload, _EXPECTED, _FIX)
    error = doc.get("error")
    if isinstance(error, dict) and "object" not in doc:
        return [_error_result(error)]
    results = [_parse_tracker(t) for t in _trackers(doc)]
    return merge_results(results)


def carrier_name(raw: object) -> str:
    """Our lower-case name for an EasyPost carrier name ("unknown" if none given)."""
    if not isinstance(raw, str):
        return "unknown"
    key = re.sub(r"[^a-z0-9]", "", raw.lower())
    for prefix, name in _CARRIER_FAMILIES:
        if key.startswith(prefix):
            return name
    return key or "unknown"


# -- document level -------------------------------------------------------------------------


def _trackers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    kind = doc.get("object")
    if kind == "Tracker":
        return [doc]
    if kind == "Event":
        result = doc.get("result")
        if isinstance(result, dict) and result.get("object") == "Tracker":
            return [result]
        raise PayloadError(
            f"{_EXPECTED}; this Event ({doc.get('description')!r}) carries no Tracker, so it "
            "holds no tracking; subscribe the webhook to tracker events only"
        )
    trackers = doc.get("trackers")
    if isinstance(trackers, list):
        if not all(isinstance(t, dict) for t in trackers):
            raise PayloadError(f"{_EXPECTED}; the trackers list holds non-objects; {_FIX}")
        return trackers
    raise PayloadError(f"{_EXPECTED}; got a JSON object with keys {sorted(doc)[:8]}; {_FIX}")


def _error_result(error: dict[str, Any]) -> TrackingResult:
    code = str(error.get("code") or "ERROR")
    message = str(error.get("message") or "EasyPost returned an error")
    kind = ProblemKind.NOT_FOUND if code.upper() in _NOT_FOUND_CODES else ProblemKind.REQUEST_ERROR
    return TrackingResult(
        carrier="unknown",
        tracking_number="",
        status=Status.UNKNOWN,
        problems=(Problem(kind, code, message),),
    )


# -- one tracker ----------------------------------------------------------------------------


def _parse_tracker(tracker: dict[str, Any]) -> TrackingResult:
    number = clean_text(tracker.get("tracking_code")) or ""
    problems: list[Problem] = []
    if not number:
        problems.append(
            Problem(ProblemKind.PARSE_ERROR, "tracking_code", "Tracker has no tracking_code")
        )
    events = _events(tracker, problems)
    status_code = clean_text(tracker.get("status"))
    detail_code = clean_text(tracker.get("status_detail"))
    mapped = lookup(status_code, detail_code)
    if not mapped.known:
        _unknown(problems, event_code(status_code, detail_code), "tracker", mapped.status)
    if status_code == "error":
        problems.append(
            Problem(
                ProblemKind.REQUEST_ERROR,
                "error",
                "EasyPost could not retrieve tracking from the carrier (tracker status error)",
            )
        )
    status, reason = mapped.status, mapped.reason
    if status is Status.UNKNOWN and events:
        status, reason = events[0].status, events[0].reason
    delivered = [e for e in events if e.status is Status.DELIVERED]
    return TrackingResult(
        carrier=carrier_name(tracker.get("carrier")),
        tracking_number=number,
        status=status,
        reason=reason,
        estimated_delivery=_eta(tracker),
        delivered_at=delivered[0].occurred_at if status is Status.DELIVERED and delivered else None,
        events=tuple(events),
        problems=_unique(problems),
        service=clean_text((tracker.get("carrier_detail") or {}).get("service")),
    )


def _events(tracker: dict[str, Any], problems: list[Problem]) -> list[TrackingEvent]:
    details = tracker.get("tracking_details") or []
    if not isinstance(details, list):
        details = []
    carrier_detail = tracker.get("carrier_detail") or {}
    origin = location_of(carrier_detail.get("origin_tracking_location"))
    destination = location_of(carrier_detail.get("destination_tracking_location"))
    events: list[TrackingEvent] = []
    for detail in details:
        if isinstance(detail, dict):
            event = _event(detail, origin, destination, problems)
            if event is not None:
                events.append(event)
    return newest_first(events)


def _event(
    detail: dict[str, Any],
    origin: Location | None,
    destination: Location | None,
    problems: list[Problem],
) -> TrackingEvent | None:
    status_code = clean_text(detail.get("status"))
    detail_code = clean_text(detail.get("status_detail"))
    code = event_code(status_code, detail_code)
    mapped = lookup(status_code, detail_code)
    if not mapped.known:
        _unknown(problems, code, "event", mapped.status)
    location = location_of(detail.get("tracking_location")) or Location()
    message = clean_text(detail.get("message")) or clean_text(detail.get("description")) or ""
    stamp = _parse_datetime(detail.get("datetime"))
    if stamp is None:
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                code,
                f"event {message!r} has no readable datetime ({detail.get('datetime')!r}); "
                "left out",
            )
        )
        return None
    fallbacks = (origin, destination) if mapped.status in _PRE_CARRIER else (destination, origin)
    occurred_at = resolve_time(stamp, location, fallbacks)
    if occurred_at is None:
        problems.append(
            Problem(
                ProblemKind.TIME_WITHOUT_ZONE,
                code,
                f"event {message!r} at {stamp.replace(tzinfo=None).isoformat()} has no place "
                "whose time zone is known; EasyPost's time for it is carrier local time; "
                "left out",
            )
        )
        return None
    return TrackingEvent(
        occurred_at, mapped.status, mapped.reason, code, message, location, departs(detail_code)
    )


# -- times ----------------------------------------------------------------------------------


def is_placed(location: Location) -> bool:
    """True when EasyPost had enough of a location to put the scan's time into UTC."""
    if location.city or location.region or location.postal_code:
        return True
    return bool(location.country) and zone_for(Location(country=location.country)) is not None


def resolve_time(
    stamp: datetime, location: Location, fallbacks: Iterable[Location | None]
) -> datetime | None:
    """The aware time of a scan (see the module doc), or None when no zone is known."""
    offset = stamp.utcoffset()
    if offset is not None and offset != timedelta(0):
        return stamp
    if offset is not None and is_placed(location):
        return stamp
    wall = stamp.replace(tzinfo=None)
    for candidate in zone_candidates(location, fallbacks):
        resolved = localize(wall, candidate)
        if resolved is not None:
            return resolved
    return None


def _parse_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _eta(tracker: dict[str, Any]) -> EstimatedDelivery | None:
    carrier_detail = tracker.get("carrier_detail") or {}
    local_day = _parse_date(carrier_detail.get("est_delivery_date_local"))
    if local_day is not None:
        clock = _parse_time(carrier_detail.get("est_delivery_time_local"))
        destination = location_of(carrier_detail.get("destination_tracking_location"))
        when = _at(local_day, clock, destination) if clock is not None else None
        if when is not None:
            return EstimatedDelivery(when, when)
        return EstimatedDelivery(local_day, local_day)
    stamp = _parse_datetime(tracker.get("est_delivery_date"))
    if stamp is None:
        return None
    if stamp.tzinfo is None or (stamp.utcoffset() == timedelta(0) and stamp.time() == time(0)):
        return EstimatedDelivery(stamp.date(), stamp.date())
    return EstimatedDelivery(stamp, stamp)


def _at(day: date, clock: time, destination: Location | None) -> datetime | None:
    combined = datetime.combine(day, clock)
    if combined.tzinfo is not None:
        return combined
    return localize(combined, destination)


def _parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _parse_time(value: object) -> time | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        return None


# -- small helpers --------------------------------------------------------------------------


def location_of(raw: object) -> Location | None:
    """A Location from an EasyPost TrackingLocation, None when it names nothing."""
    if not isinstance(raw, dict):
        return None
    location = Location(
        city=clean_text(raw.get("city")),
        region=clean_text(raw.get("state")),
        postal_code=clean_text(raw.get("zip")),
        country=clean_text(raw.get("country")),
    )
    return location if location != Location() else None


def _unknown(problems: list[Problem], code: str, where: str, status: Status) -> None:
    outcome = (
        "status unknown"
        if status is Status.UNKNOWN
        else f"kept EasyPost's status ({status.value}), its detail not understood"
    )
    problems.append(
        Problem(
            ProblemKind.UNKNOWN_CODE,
            code,
            f"EasyPost {where} code {code!r} is not in our code tables: {outcome}",
        )
    )


def _unique(problems: Sequence[Problem]) -> tuple[Problem, ...]:
    return tuple(dict.fromkeys(problems))
