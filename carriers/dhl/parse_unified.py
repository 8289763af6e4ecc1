"""DHL Shipment Tracking – Unified API JSON (``GET /track/shipments``) into results.

Status rule. DHL documents ``statusCode`` as the machine-readable state (``pre-transit``,
``transit``, ``delivered``, ``failure``, ``unknown``) and ``status``/``description``/
``remark``/``nextSteps`` as text. We key on ``statusCode``. ``status`` only refines it when
it is a code of the shipment's ``service`` in DHL's per-service status list and the refined
status fits the statusCode (see ``codes.REFINABLE``): a service code can add a reason or say
"out for delivery", but can never make a parcel delivered that statusCode does not call
delivered. DHL's own documentation example (``dhl_customs.json``) sends ``statusCode``
``pre-transit`` with ``status`` ``DELIVERED`` and a customs remark: "DELIVERED" is not an
``express`` code, so it is text and the shipment is ``info_received``; the customs remark is
kept in the event description but is free text, so no reason is read from it. An event's
``code`` is the statusCode, or ``statusCode/status`` when a service code decided it; only
such an event can be a departure (the service code is one of the service's departure codes).

Current status comes from the shipment's ``status`` object, else the newest event.

Times. Timestamps with an offset (or ``Z``) keep it. Timestamps without one are local to the
event's location (``countryCode``, or a country named in ``addressLocality`` such as
"LEIPZIG - GERMANY") and are localized there; an event without a location falls back to the
destination, then the origin; no zone means the event is left out with a
``time_without_zone`` problem.

Estimated delivery: ``estimatedDeliveryTimeFrame`` (from/through) as a window, else
``estimatedTimeOfDelivery`` as a point; a value without a time of day is a day (``date``).
``delivered_at`` is ``details.proofOfDelivery.timestamp`` when the shipment is delivered,
else the delivery event's time; a proof of delivery on a shipment that is not delivered is
ignored.

Multi-piece: one result per shipment ``id``; the pieces (``details.pieceIds``,
``totalNumberOfPieces``) belong to it and do not become results of their own. The same id
twice (e.g. found under two services) is merged into one result.

Errors: an RFC 7807 problem+json body. HTTP 404 is ``not_found``, anything else a
``request_error``, for the tracking number named in ``detail`` or in ``instance``
(``/shipment/<number>``), else for the empty number.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from carriers.dhl.codes import (
    UNIFIED_NOT_FOUND_STATUS,
    is_service_code,
    service_departs,
    unified_status,
)
from carriers.dhl.common import (
    Draft,
    Scan,
    build_result,
    code_mapping,
    problem_result,
    resolve_time,
    zone_problem,
)
from carriers.dhl.places import country_code, place_from_text
from carriers.models import (
    EstimatedDelivery,
    Location,
    Problem,
    ProblemKind,
    TrackingResult,
)

PROBLEM_KEYS = frozenset({"type", "title", "status", "detail", "instance"})
_NUMBER = re.compile(r"\b(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{6,40}\b")


def is_unified(doc: object) -> bool:
    """A Unified API tracking body: an object with a ``shipments`` list of shipments."""
    if not isinstance(doc, dict) or not isinstance(doc.get("shipments"), list):
        return False
    shipments = doc["shipments"]
    return all(isinstance(s, dict) and "id" in s for s in shipments) and (
        not shipments or any(k in shipments[0] for k in ("service", "status", "events"))
    )


def is_problem(doc: object) -> bool:
    """An RFC 7807 problem+json body as the Unified API sends it."""
    return (
        isinstance(doc, dict)
        and bool(doc)
        and set(doc) <= PROBLEM_KEYS
        and isinstance(doc.get("title"), str)
        and isinstance(doc.get("status"), int)
        and ("detail" in doc or "instance" in doc)
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def address_location(address: object) -> Location:
    data = _dict(address)
    locality = _text(data.get("addressLocality")) or None
    country = country_code(_text(data.get("countryCode")))
    if country is None and locality:
        parsed = place_from_text(locality)
        postal = _text(data.get("postalCode")) or None
        return Location(parsed.city, parsed.region, postal, parsed.country)
    return Location(city=locality, postal_code=_text(data.get("postalCode")) or None,
                    country=country)  # fmt: skip


def parse_time(value: object) -> date | datetime | None:
    """A Unified timestamp: aware or naive datetime, a ``date`` for a day, None if unreadable."""
    text = _text(value)
    if not text:
        return None
    try:
        if "T" not in text and len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _bad_time(draft: Draft, what: str, value: object) -> None:
    draft.problems.append(
        Problem(
            kind=ProblemKind.PARSE_ERROR,
            code=what,
            message=f"DHL {what} {_text(value)!r} is not an ISO 8601 time; it is left out",
        )
    )


def _table(draft: Draft) -> str:
    return f"Unified API ({draft.service or 'no service'}) statusCode"


def _event_scan(event: dict[str, Any], draft: Draft) -> Scan | None:
    status_code = _text(event.get("statusCode"))
    status_text = _text(event.get("status"))
    mapping = unified_status(status_code, draft.service, status_text)
    refined = is_service_code(status_code, draft.service, status_text)
    code = f"{status_code}/{status_text}" if refined else status_code
    mapping = code_mapping(mapping, _table(draft), status_code, draft)
    when = parse_time(event.get("timestamp"))
    if not isinstance(when, datetime):
        _bad_time(draft, "event timestamp", event.get("timestamp"))
        return None
    words = [_text(event.get("description")) or status_text, _text(event.get("remark"))]
    description = " - ".join(word for word in words if word)
    location = address_location(_dict(event.get("location")).get("address"))
    departed = refined and service_departs(draft.service, status_text)
    return Scan(when, mapping, code, description, location, departed)


def _resolve(value: date | datetime, draft: Draft, what: str) -> date | datetime | None:
    """A shipment-level time: kept if aware or a day, else local at the destination."""
    if not isinstance(value, datetime):
        return value
    destination = draft.fallbacks[0] if draft.fallbacks else Location()
    resolved = resolve_time(value, destination, ())
    if resolved is None:
        draft.problems.append(zone_problem(what, value, destination))
    return resolved


def _estimate(shipment: dict[str, Any], draft: Draft) -> EstimatedDelivery | None:
    frame = _dict(shipment.get("estimatedDeliveryTimeFrame"))
    raw = [frame.get("estimatedFrom"), frame.get("estimatedThrough")]
    if not all(raw):
        raw = [shipment.get("estimatedTimeOfDelivery")] * 2
    if not raw[0]:
        return None
    parsed = [parse_time(value) for value in raw]
    if parsed[0] is None or parsed[1] is None or type(parsed[0]) is not type(parsed[1]):
        _bad_time(draft, "estimated delivery", raw[0])
        return None
    earliest = _resolve(parsed[0], draft, "estimated delivery")
    latest = _resolve(parsed[1], draft, "estimated delivery")
    if earliest is None or latest is None:
        return None
    return EstimatedDelivery(earliest, latest)


def _delivered_at(shipment: dict[str, Any], draft: Draft) -> datetime | None:
    pod = _dict(_dict(shipment.get("details")).get("proofOfDelivery"))
    when = parse_time(pod.get("timestamp"))
    if not isinstance(when, datetime):
        return None
    resolved = _resolve(when, draft, "proof of delivery")
    return resolved if isinstance(resolved, datetime) else None


def _current(shipment: dict[str, Any], draft: Draft) -> None:
    status = _dict(shipment.get("status"))
    status_code = _text(status.get("statusCode"))
    if not status_code:
        return
    mapping = unified_status(status_code, draft.service, _text(status.get("status")))
    if mapping is None:  # not one of DHL's five values: record it, use the newest event
        code_mapping(None, _table(draft), status_code, draft)
        return
    draft.current = mapping


def shipment_result(shipment: dict[str, Any]) -> TrackingResult:
    service = _text(shipment.get("service")) or None
    draft = Draft(number=_text(shipment.get("id")), service=service)
    draft.fallbacks = tuple(
        address_location(_dict(shipment.get(side)).get("address"))
        for side in ("destination", "origin")
    )
    events = [e for e in shipment.get("events") or [] if isinstance(e, dict)]
    if not events and _dict(shipment.get("status")).get("timestamp"):
        events = [_dict(shipment.get("status"))]
    # DHL lists events newest first; scans go oldest first.
    draft.scans = [s for s in (_event_scan(e, draft) for e in reversed(events)) if s]
    _current(shipment, draft)
    draft.estimated = _estimate(shipment, draft)
    draft.delivered_at = _delivered_at(shipment, draft)
    return build_result(draft)


def _number_in(detail: str, instance: str) -> str:
    found = _NUMBER.search(detail)
    if found:
        return found.group(0)
    parts = urlsplit(instance)
    for value in parse_qs(parts.query).get("trackingNumber", []):
        return value.strip()
    segments = [s for s in parts.path.split("/") if s]
    if (
        len(segments) >= 2
        and segments[-2].startswith("shipment")
        and _NUMBER.fullmatch(segments[-1])
    ):
        return segments[-1]
    return ""


def problem_results(doc: dict[str, Any]) -> list[TrackingResult]:
    status = doc.get("status")
    title, detail = _text(doc.get("title")), _text(doc.get("detail"))
    number = _number_in(detail, _text(doc.get("instance")))
    not_found = status == UNIFIED_NOT_FOUND_STATUS
    problem = Problem(
        kind=ProblemKind.NOT_FOUND if not_found else ProblemKind.REQUEST_ERROR,
        code=str(status),
        message=": ".join(part for part in (title, detail) if part) or "DHL error",
    )
    return [problem_result(number, problem)]


def unified_results(doc: dict[str, Any]) -> list[TrackingResult]:
    return [shipment_result(shipment) for shipment in doc["shipments"]]
