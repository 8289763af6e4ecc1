"""DHL Parcel DE (Post & Parcel Germany) tracking XML into results.

The body is ``<data name="piece-shipment-list" code=...>`` holding one
``<data name="piece-shipment">`` per parcel, each with a ``piece-event-list`` of
``piece-event`` elements. List code ``0`` is success; code ``100`` ("No data found") names
no parcel, so it becomes one ``not_found`` result with an empty number; any other list code
is a ``request_error``. A piece with a non-zero ``error-status`` is a ``request_error`` for
its number.

Tracking number: ``searched-piece-code`` (what was asked for), else ``piece-code``, else
``piece-identifier``. Codes are read by ``standard-event-code`` (DHL's ``parcel-de`` list);
an event's ``code`` is ``standard-event-code/ice/ric`` (DHL's ICE event and RIC reason codes
are kept, but the status comes from the standard code). The current status is the piece's
own ``standard-event-code`` (with ``status-timestamp``), else the newest event.

Times ("dd.mm.yyyy HH:MM") have no offset: they are the wall-clock time where the event
happened. Events name their country in English ("Germany"); an event without a country
(``event-country=""``) falls back to the piece's ``dest-country``, then ``origin-country``.
A time whose zone cannot be found leaves its event out with a ``time_without_zone`` problem.
The format carries no delivery estimate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from carriers.dhl.codes import PARCEL_DE_NOT_FOUND_CODES, parcel_de_code, service_departs
from carriers.dhl.common import (
    Draft,
    Scan,
    build_result,
    code_mapping,
    local_name,
    problem_result,
)
from carriers.dhl.places import country_code
from carriers.models import Location, Problem, ProblemKind, TrackingResult

TIME_FORMAT = "%d.%m.%Y %H:%M"


def is_parcel_de(root: ET.Element) -> bool:
    return local_name(root.tag) == "data" and root.get("name") == "piece-shipment-list"


def _named(element: ET.Element, name: str) -> list[ET.Element]:
    return [item for item in element if local_name(item.tag) == "data" and item.get("name") == name]


def _attr(element: ET.Element, name: str) -> str:
    return " ".join((element.get(name) or "").split())


def _code(element: ET.Element) -> str:
    parts = [_attr(element, name) for name in ("standard-event-code", "ice", "ric")]
    return "/".join(parts).rstrip("/")


def _scan(event: ET.Element, draft: Draft) -> Scan | None:
    code = _code(event)
    try:
        # Local wall-clock time; common.build_result attaches the zone of the place.
        when = datetime.strptime(_attr(event, "event-timestamp"), TIME_FORMAT)  # noqa: DTZ007
    except ValueError:
        message = f"DHL Parcel DE event {code} has an unreadable event-timestamp; left out"
        draft.problems.append(Problem(ProblemKind.PARSE_ERROR, code, message))
        return None
    standard = _attr(event, "standard-event-code")
    table = "Parcel DE standard-event-code"
    mapping = code_mapping(parcel_de_code(standard), table, standard, draft)
    description = _attr(event, "event-text") or _attr(event, "event-status")
    location = Location(
        city=_attr(event, "event-location") or None,
        country=country_code(_attr(event, "event-country")),
    )
    return Scan(when, mapping, code, description, location, service_departs("parcel-de", standard))


def _piece(piece: ET.Element) -> TrackingResult:
    number = next(
        (
            _attr(piece, name)
            for name in ("searched-piece-code", "piece-code", "piece-identifier")
            if _attr(piece, name)
        ),
        "",
    )
    error = _attr(piece, "error-status")
    if error not in ("", "0"):
        message = _attr(piece, "status") or f"DHL Parcel DE error-status {error}"
        return problem_result(number, Problem(ProblemKind.REQUEST_ERROR, error, message))
    draft = Draft(number=number, service="parcel-de")
    draft.fallbacks = tuple(
        Location(country=country_code(_attr(piece, name)))
        for name in ("dest-country", "origin-country")
    )
    for events in _named(piece, "piece-event-list"):
        scans = (_scan(event, draft) for event in _named(events, "piece-event"))
        draft.scans.extend(scan for scan in scans if scan is not None)
    current = _attr(piece, "standard-event-code")
    if current:
        draft.current = parcel_de_code(current)
        if draft.current is None:  # unmapped: record it, status from the newest event
            code_mapping(None, "Parcel DE standard-event-code", current, draft)
    return build_result(draft)


def parcel_de_results(root: ET.Element) -> list[TrackingResult]:
    code = _attr(root, "code")
    if code in PARCEL_DE_NOT_FOUND_CODES:
        message = _attr(root, "error") or "No data found"
        return [problem_result("", Problem(ProblemKind.NOT_FOUND, code, message))]
    if code not in ("", "0"):
        message = _attr(root, "error") or f"DHL Parcel DE list code {code}"
        return [problem_result("", Problem(ProblemKind.REQUEST_ERROR, code, message))]
    return [_piece(piece) for piece in _named(root, "piece-shipment")]
