"""Parse AfterShip tracking JSON into normalized results (pure functions).

Accepted bodies:
* API v4 (``/v4/trackings/:slug/:number`` -> ``{"meta", "data": {"tracking": {...}}}``, and
  ``/v4/trackings`` -> ``{"meta", "data": {"trackings": [...], "page", ...}}``);
* the dated API versions (``/tracking/2024-04/...`` onwards), where a single tracking is
  ``data`` itself (no ``tracking`` wrapper) and lists keep ``data.trackings``; their field
  names differ (``country_region`` for ``country_iso3``, ``courier_estimated_delivery_date``
  for ``expected_delivery``, ...) and both spellings are read. Source: AfterShip's generated
  SDK (AfterShip/tracking-sdk-nodejs, ``src/model/Tracking.ts``, ``Checkpoint.ts`` and
  ``src/lib/request.ts``, which returns ``data`` unwrapped from 2024-04 on);
* tracking webhooks (``{"event": "tracking_update", "msg": {tracking}, "ts", ...}``);
* the error envelope ``{"meta": {"code": 4004, "type", "message"}, "data": {}}``
  (4004 tracking does not exist -> not_found, 4005/4017 invalid number -> invalid_number,
  any other code -> request_error; meta codes from the same SDK's ``meta_code.ts``).

Codes: an event's code is ``tag/subtag`` (``tag`` alone on old checkpoints without a
subtag); see codes.py. The result's status and reason come from the tracking's own
``tag``/``subtag``; only when those do not map does the newest checkpoint decide.

Carrier: ``slug`` is the carrier that moves the parcel; the slug families ``ups*``,
``fedex*``, ``usps*``, ``dhl*``, ``canada-post*``, ``amazon*`` and ``pitney-bowes*`` become
our names (``ups``, ``fedex``, ``usps``, ``dhl``, ``canadapost``, ``amazon``,
``pitneybowes``); any other slug is kept as it is (``tnt``).

Locations: ``country_iso3``/``country_region`` (ISO alpha-3) become alpha-2 with CLDR's
code mappings (via Babel, see countries.py); old checkpoints that carry only
``country_name`` are read when it is already a two-letter code (as in the v4 sample:
``"IN"``, ``"DE"``, ``"US"``).

Times. AfterShip documents ``checkpoint_time`` as "provided by the carrier. It uses the
timezone of the checkpoint", formatted ``YYYY-MM-DDTHH:mm:ss`` or with an offset. With an
offset we keep it as given. Without one it is the checkpoint's wall-clock time: we resolve
it with :func:`carriers.timezones.localize` from the checkpoint's location, else from the
tracking's origin (for pending/info-received checkpoints) or destination, using a shipment
location only when the checkpoint names no other country. If no zone is found the
checkpoint is left out and a ``time_without_zone`` problem names it.

Estimated delivery, first that is present: the carrier's (``courier_estimated_delivery_date``
with its min/max window, or v4 ``expected_delivery``), then AfterShip's own prediction
(``aftership_estimated_delivery_date``, a day or a window of days). These are in the
recipient's zone: a day stays a day; a time without offset is resolved at the destination
(and reduced to its day if the destination's zone is unknown). ``delivered_at`` is the
newest delivered checkpoint's time, else ``shipment_delivery_date`` when it has a time,
only while the tracking is delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from carriers.aftership.codes import departs, event_code, lookup
from carriers.aftership.countries import alpha2
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
from carriers.timezones import localize

_EXPECTED = (
    'expected AfterShip JSON: an API response {"meta", "data"} holding a tracking or a '
    'trackings list, or a tracking webhook {"event", "msg", "ts"}'
)
_FIX = "pass the raw response or webhook body exactly as AfterShip sent it"
_OK_META = frozenset({200, 201})
_NOT_FOUND_META = frozenset({4004})
_INVALID_META = frozenset({4005, 4017})
_SLUG_FAMILIES: tuple[tuple[str, str], ...] = (
    ("ups", "ups"),
    ("fedex", "fedex"),
    ("usps", "usps"),
    ("dhl", "dhl"),
    ("canada-post", "canadapost"),
    ("amazon", "amazon"),
    ("pitney-bowes", "pitneybowes"),
)
_PRE_CARRIER = frozenset({Status.PENDING, Status.INFO_RECEIVED})


# -- entry points ---------------------------------------------------------------------------


def sniff(payload: bytes) -> bool:
    """True for AfterShip API responses, error envelopes and tracking webhooks."""
    doc = try_json(payload)
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("event"), str) and "ts" in doc:
        msg = doc.get("msg")
        return isinstance(msg, dict) and "tracking_number" in msg
    meta, data = doc.get("meta"), doc.get("data")
    if not isinstance(meta, dict) or not isinstance(meta.get("code"), int):
        return False
    if not isinstance(data, dict):
        return False
    if meta["code"] not in _OK_META:
        return isinstance(meta.get("type"), str)
    return (
        isinstance(data.get("tracking"), dict)
        or isinstance(data.get("trackings"), list)
        or ("tracking_number" in data and "slug" in data)
    )


def parse(payload: bytes) -> list[TrackingResult]:
    """One result per tracking number in an AfterShip body; PayloadError if unreadable."""
    doc = load_json_object(payload, _EXPECTED, _FIX)
    if "msg" in doc and "event" in doc:
        msg = doc["msg"]
        if not isinstance(msg, dict):
            raise PayloadError(f"{_EXPECTED}; the webhook's msg is not an object; {_FIX}")
        return [_parse_tracking(msg)]
    meta, data = doc.get("meta"), doc.get("data")
    if not isinstance(meta, dict):
        raise PayloadError(f"{_EXPECTED}; got a JSON object with keys {sorted(doc)[:8]}; {_FIX}")
    if meta.get("code") not in _OK_META:
        return [_error_result(meta, data)]
    return merge_results([_parse_tracking(t) for t in _trackings(data)])


def carrier_name(slug: object) -> str:
    """Our carrier name for an AfterShip courier slug ("unknown" if none given)."""
    if not isinstance(slug, str) or not slug.strip():
        return "unknown"
    slug = slug.strip().lower()
    for prefix, name in _SLUG_FAMILIES:
        if slug == prefix or slug.startswith(prefix + "-"):
            return name
    return slug


# -- document level -------------------------------------------------------------------------


def _trackings(data: object) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        if isinstance(data.get("tracking"), dict):
            return [data["tracking"]]
        trackings = data.get("trackings")
        if isinstance(trackings, list):
            if not all(isinstance(t, dict) for t in trackings):
                raise PayloadError(f"{_EXPECTED}; data.trackings holds non-objects; {_FIX}")
            return trackings
        if "tracking_number" in data:
            return [data]
    raise PayloadError(f"{_EXPECTED}; data holds neither a tracking nor trackings; {_FIX}")


def _error_result(meta: dict[str, Any], data: object) -> TrackingResult:
    code = meta.get("code")
    message = str(meta.get("message") or meta.get("type") or "AfterShip returned an error")
    if code in _NOT_FOUND_META:
        kind = ProblemKind.NOT_FOUND
    elif code in _INVALID_META:
        kind = ProblemKind.INVALID_NUMBER
    else:
        kind = ProblemKind.REQUEST_ERROR
    named = data.get("tracking") if isinstance(data, dict) else None
    number = clean_text(named.get("tracking_number")) if isinstance(named, dict) else None
    slug = named.get("slug") if isinstance(named, dict) else None
    return TrackingResult(
        carrier=carrier_name(slug),
        tracking_number=number or "",
        status=Status.UNKNOWN,
        problems=(Problem(kind, str(code), message),),
    )


# -- one tracking ---------------------------------------------------------------------------


def _parse_tracking(tracking: dict[str, Any]) -> TrackingResult:
    number = clean_text(tracking.get("tracking_number")) or ""
    problems: list[Problem] = []
    if not number:
        problems.append(
            Problem(ProblemKind.PARSE_ERROR, "tracking_number", "tracking has no tracking_number")
        )
    origin, destination = shipment_locations(tracking)
    events = _events(tracking, origin, destination, problems)
    tag, subtag = clean_text(tracking.get("tag")), clean_text(tracking.get("subtag"))
    mapped = lookup(tag, subtag)
    if not mapped.known:
        _unknown(problems, event_code(tag, subtag), "tracking", mapped.status)
    status, reason = mapped.status, mapped.reason
    if status is Status.UNKNOWN and events:
        status, reason = events[0].status, events[0].reason
    return TrackingResult(
        carrier=carrier_name(tracking.get("slug")),
        tracking_number=number,
        status=status,
        reason=reason,
        estimated_delivery=_eta(tracking, destination),
        delivered_at=_delivered_at(tracking, status, events, destination),
        events=tuple(events),
        problems=tuple(dict.fromkeys(problems)),
        service=clean_text(tracking.get("shipment_type")),
    )


def shipment_locations(tracking: dict[str, Any]) -> tuple[Location | None, Location | None]:
    """(origin, destination) as the tracking states them (dated versions give more)."""
    locations = []
    for side in ("origin", "destination"):
        country = alpha2(
            tracking.get(f"{side}_country_region") or tracking.get(f"{side}_country_iso3")
        )
        if side == "destination" and country is None:
            country = alpha2(
                tracking.get("courier_destination_country_region")
                or tracking.get("courier_destination_country_iso3")
            )
        location = Location(
            city=clean_text(tracking.get(f"{side}_city")),
            region=clean_text(tracking.get(f"{side}_state")),
            postal_code=clean_text(tracking.get(f"{side}_postal_code")),
            country=country,
        )
        locations.append(location if location != Location() else None)
    return locations[0], locations[1]


def checkpoint_location(checkpoint: dict[str, Any]) -> Location:
    country = alpha2(checkpoint.get("country_region") or checkpoint.get("country_iso3"))
    if country is None:
        name = clean_text(checkpoint.get("country_region_name") or checkpoint.get("country_name"))
        country = alpha2(name) if name and len(name) == 2 else None
    return Location(
        city=clean_text(checkpoint.get("city")),
        region=clean_text(checkpoint.get("state")),
        postal_code=clean_text(checkpoint.get("zip")),
        country=country,
    )


def _events(
    tracking: dict[str, Any],
    origin: Location | None,
    destination: Location | None,
    problems: list[Problem],
) -> list[TrackingEvent]:
    checkpoints = tracking.get("checkpoints") or []
    if not isinstance(checkpoints, list):
        checkpoints = []
    events = []
    for checkpoint in checkpoints:
        if isinstance(checkpoint, dict):
            event = _event(checkpoint, origin, destination, problems)
            if event is not None:
                events.append(event)
    return newest_first(events)


def _event(
    checkpoint: dict[str, Any],
    origin: Location | None,
    destination: Location | None,
    problems: list[Problem],
) -> TrackingEvent | None:
    tag, subtag = clean_text(checkpoint.get("tag")), clean_text(checkpoint.get("subtag"))
    code = event_code(tag, subtag)
    mapped = lookup(tag, subtag)
    if not mapped.known:
        _unknown(problems, code, "checkpoint", mapped.status)
    location = checkpoint_location(checkpoint)
    message = (
        clean_text(checkpoint.get("message")) or clean_text(checkpoint.get("subtag_message")) or ""
    )
    raw_time = checkpoint.get("checkpoint_time")
    stamp = _parse_datetime(raw_time)
    if stamp is None:
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                code,
                f"checkpoint {message!r} has no readable checkpoint_time ({raw_time!r}); left out",
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
                f"checkpoint {message!r} at {stamp.isoformat()} is local time with no place "
                "whose time zone is known; left out",
            )
        )
        return None
    return TrackingEvent(
        occurred_at, mapped.status, mapped.reason, code, message, location, departs(subtag)
    )


# -- times ----------------------------------------------------------------------------------


def resolve_time(
    stamp: datetime, location: Location, fallbacks: Iterable[Location | None]
) -> datetime | None:
    """The aware time of a checkpoint (see the module doc), or None when no zone is known."""
    if stamp.tzinfo is not None:
        return stamp
    for candidate in zone_candidates(location, fallbacks):
        resolved = localize(stamp, candidate)
        if resolved is not None:
            return resolved
    return None


def _parse_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value.strip()) < 16:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _moment(value: object, destination: Location | None) -> date | datetime | None:
    """An AfterShip date-or-time in the recipient's zone: a day, or an aware time."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    stamp = _parse_datetime(text)
    if stamp is None:
        return None
    if stamp.tzinfo is not None:
        return stamp
    return localize(stamp, destination) or stamp.date()


def _window(
    single: object, low: object, high: object, destination: Location | None
) -> EstimatedDelivery | None:
    earliest, latest = _moment(low, destination), _moment(high, destination)
    if earliest is None or latest is None:
        point = _moment(single, destination) or earliest or latest
        return EstimatedDelivery(point, point) if point is not None else None
    if isinstance(earliest, datetime) != isinstance(latest, datetime):
        earliest, latest = _day(earliest), _day(latest)
    return EstimatedDelivery(earliest, latest)


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _eta(tracking: dict[str, Any], destination: Location | None) -> EstimatedDelivery | None:
    courier = _stated(tracking.get("courier_estimated_delivery_date"), destination)
    if courier is not None:
        return courier
    expected = _moment(tracking.get("expected_delivery"), destination)
    if expected is not None:
        return EstimatedDelivery(expected, expected)
    return _stated(tracking.get("aftership_estimated_delivery_date"), destination)


def _stated(stated: object, destination: Location | None) -> EstimatedDelivery | None:
    """An ``{estimated_delivery_date, _min, _max}`` object as a day, time or window."""
    if not isinstance(stated, dict):
        return None
    return _window(
        stated.get("estimated_delivery_date"),
        stated.get("estimated_delivery_date_min"),
        stated.get("estimated_delivery_date_max"),
        destination,
    )


def _delivered_at(
    tracking: dict[str, Any],
    status: Status,
    events: Sequence[TrackingEvent],
    destination: Location | None,
) -> datetime | None:
    if status is not Status.DELIVERED:
        return None
    for event in events:
        if event.status is Status.DELIVERED:
            return event.occurred_at
    stated = _moment(tracking.get("shipment_delivery_date"), destination)
    return stated if isinstance(stated, datetime) else None


# -- small helpers --------------------------------------------------------------------------


def _unknown(problems: list[Problem], code: str, where: str, status: Status) -> None:
    outcome = (
        "status unknown"
        if status is Status.UNKNOWN
        else f"kept AfterShip's tag ({status.value}), its subtag not understood"
    )
    problems.append(
        Problem(
            ProblemKind.UNKNOWN_CODE,
            code,
            f"AfterShip {where} code {code!r} is not in our code tables: {outcome}",
        )
    )
