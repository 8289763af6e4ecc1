"""DHL Express XML-PI ``TrackingResponse`` (TrackingResponse.xsd) into results.

One result per ``AWBInfo`` (a response may carry several air waybills). An AWB whose
``Status/ActionStatus`` is not ``success`` is a problem result: ``ConditionCode`` 103 ("No
Shipments Found for AWBNumber ...") is ``not_found`` for the AWB number (from
``AWBNumber``, else from the condition text), any other condition a ``request_error``.
``ShipmentTrackingErrorResponse``/``ErrorResponse`` (bad request, authentication) is one
``request_error`` result with an empty number.

Events are ``ShipmentInfo/ShipmentEvent`` (piece-level ``PieceInfo`` is not read), mapped by
``ServiceEvent/EventCode`` (the event's ``code``). Status is the newest event's; XML-PI has no
current-status field. ``Date``/``Time`` are wall-clock times at the event's ``ServiceArea``
with no offset: they are localized in the country named in the service area description
("Barcelona - Spain", "KINGSTON-JAM", "SPRINGFIELD GARDENS,NY-USA"); an event whose zone
cannot be found is left out with a ``time_without_zone`` problem (its code still counts as
the latest status when no event could be placed). ``EstDlvyDate`` ("2021-05-07 23:59:00
GMT-04:00") is kept with its offset as a point estimate; without an offset,
``EstDlvyDateUTC`` is used as UTC; a bare day is a ``date``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone

from carriers.dhl.codes import (
    EXPRESS_NOT_FOUND_CONDITIONS,
    express_xml_code,
    express_xml_departs,
)
from carriers.dhl.common import (
    CARRIER,
    Draft,
    Scan,
    build_result,
    child,
    children,
    code_mapping,
    local_name,
    problem_result,
    text_at,
)
from carriers.dhl.places import country_code, place_from_text
from carriers.models import EstimatedDelivery, Location, Problem, ProblemKind, TrackingResult
from carriers.taxonomy import Status

ERROR_ROOTS = frozenset({"ShipmentTrackingErrorResponse", "ErrorResponse"})
_AWB_IN_TEXT = re.compile(r"AWB\s*Number\s*:?\s*([A-Za-z0-9]+)", re.IGNORECASE)
_EST = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?\s*(?:GMT|UTC)?\s*"
    r"(?:([+-])(\d{2}):?(\d{2}))?$"
)


def _party(element: ET.Element | None) -> Location | None:
    """A Shipper/Consignee block as a location, when it names a country."""
    country = country_code(text_at(element, "CountryCode"))
    if element is None or country is None:
        return None
    return Location(
        city=text_at(element, "City") or None,
        region=text_at(element, "DivisionCode") or None,
        postal_code=text_at(element, "PostalCode") or None,
        country=country,
    )


def _side(info: ET.Element, party: str, area: str) -> Location:
    return _party(child(info, party)) or place_from_text(text_at(info, area, "Description"))


def _scan(event: ET.Element, draft: Draft) -> Scan | None:
    code = text_at(event, "ServiceEvent", "EventCode")
    try:
        when = datetime.fromisoformat(f"{text_at(event, 'Date')}T{text_at(event, 'Time')}")
    except ValueError:
        draft.problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                code,
                f"DHL Express event {code} has an unreadable Date/Time; it is left out",
            )
        )
        return None
    mapping = code_mapping(express_xml_code(code), "Express XML-PI EventCode", code, draft)
    description = text_at(event, "ServiceEvent", "Description")
    location = place_from_text(text_at(event, "ServiceArea", "Description"))
    return Scan(when, mapping, code, description, location, express_xml_departs(code))


def _estimate_value(text: str) -> date | datetime | None:
    match = _EST.match(text)
    if match is None:
        return None
    day, clock, sign, hours, minutes = match.groups()
    if clock is None:
        return date.fromisoformat(day)
    naive = datetime.fromisoformat(f"{day}T{clock}")
    if sign is None:
        return naive
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return naive.replace(tzinfo=timezone(-offset if sign == "-" else offset))


def _estimate(info: ET.Element) -> EstimatedDelivery | None:
    value = _estimate_value(text_at(info, "EstDlvyDate"))
    if isinstance(value, datetime) and value.tzinfo is None:
        utc = _estimate_value(text_at(info, "EstDlvyDateUTC"))
        value = utc.replace(tzinfo=UTC) if isinstance(utc, datetime) else None
    return EstimatedDelivery(value, value) if value is not None else None


def _shipment(number: str, info: ET.Element) -> TrackingResult:
    draft = Draft(number=number, service="express")
    draft.fallbacks = (
        _side(info, "Consignee", "DestinationServiceArea"),
        _side(info, "Shipper", "OriginServiceArea"),
    )
    scans = (_scan(event, draft) for event in children(info, "ShipmentEvent"))
    draft.scans = [scan for scan in scans if scan is not None]  # XML-PI lists oldest first
    draft.estimated = _estimate(info)
    return build_result(draft)


def _condition_problem(code: str, data: str, action: str) -> Problem:
    if code in EXPRESS_NOT_FOUND_CONDITIONS:
        return Problem(ProblemKind.NOT_FOUND, code, data or action or "No Shipments Found")
    return Problem(ProblemKind.REQUEST_ERROR, code or action, data or action or "DHL error")


def _awb(awb: ET.Element) -> TrackingResult:
    number = text_at(awb, "AWBNumber")
    status = child(awb, "Status")
    action = text_at(status, "ActionStatus")
    info = child(awb, "ShipmentInfo")
    if action.lower() == "success":  # without ShipmentInfo: known, no event yet (pending)
        return _shipment(number, info if info is not None else ET.Element("ShipmentInfo"))
    condition = child(status, "Condition") if status is not None else None
    code, data = text_at(condition, "ConditionCode"), text_at(condition, "ConditionData")
    if not number:
        found = _AWB_IN_TEXT.search(data)
        number = found.group(1) if found else ""
    return problem_result(number, _condition_problem(code, data, action))


def _error(root: ET.Element) -> list[TrackingResult]:
    response = child(root, "Response")
    status = child(response if response is not None else root, "Status")
    conditions = children(status, "Condition") if status is not None else []
    action = text_at(status, "ActionStatus") or "Error"
    problems = tuple(
        Problem(
            ProblemKind.REQUEST_ERROR,
            text_at(c, "ConditionCode") or action,
            text_at(c, "ConditionData") or action,
        )
        for c in conditions
    ) or (Problem(ProblemKind.REQUEST_ERROR, action, f"DHL Express answered {action}"),)
    return [TrackingResult(CARRIER, "", Status.UNKNOWN, problems=problems)]


def express_results(root: ET.Element) -> list[TrackingResult]:
    if local_name(root.tag) in ERROR_ROOTS:
        return _error(root)
    return [_awb(awb) for awb in children(root, "AWBInfo")]
