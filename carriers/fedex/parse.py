"""Parse FedEx tracking: Track API v1 JSON and the legacy Web Services SOAP TrackReply.

Pure functions: bytes in, one :class:`TrackingResult` per tracking number out.

JSON (``output.completeTrackResults[].trackResults[]``):

* The tracking number is the one asked for (``completeTrackResults[].trackingNumber``),
  else ``trackingNumberInfo.trackingNumber``. Several trackResults for one number (a number
  FedEx reused or a redirected parcel) become one result with every event once; the status,
  estimate and delivery time come from the trackResult with the newest event.
* A per-result ``error`` (e.g. ``TRACKING.TRACKINGNUMBER.NOTFOUND``) is a problem on that
  number (status unknown when the result has no data). A top-level ``errors`` envelope
  (e.g. ``TRACKING.TRACKINGNUMBER.EMPTY``) is one result per number its parameters name,
  else one result with tracking number "" and a request-error problem. ``output.alerts``
  (``VIRTUAL.RESPONSE``, ``TRACKING.DATA.NOTFOUND``) are informational and ignored.
* Current status: ``latestStatusDetail`` (code, ancillary reason, delayDetail) when it maps,
  else the newest event. Event codes are read by :mod:`carriers.fedex.codes`; an event's
  ``code`` is ``eventType`` plus ``/exceptionCode`` when it has one (``DE/007``).
* Estimated delivery: ``estimatedDeliveryTimeWindow.window`` when it has an end, else the
  ``ESTIMATED_DELIVERY`` entry of ``dateAndTimes``; none when ``serviceCommitMessage.type``
  is ``ESTIMATED_DELIVERY_DATE_UNAVAILABLE`` (FedEx withdrew it).
  ``standardTransitTimeWindow`` is the service's standard transit, a promise made at
  shipping, not an estimate, and is not used. Delivered at: ``ACTUAL_DELIVERY``, only when
  the parcel's current status is delivered.

Time rules: FedEx JSON and SOAP times carry their UTC offset (``2024-04-26T07:50:00-07:00``);
it is kept as sent. A time without an offset (seen for pickups and estimates) is the wall
clock at the scan location: it is resolved with :func:`carriers.timezones.localize` from the
event's location, else the shipment's destination, else its origin; when none gives a zone
the event is left out with a ``time_without_zone`` problem. FedEx writes a day without a time
as local midnight (``2023-12-31T00:00:00-06:00``): an estimate at midnight is that day (a
``date``), never midnight itself.

SOAP ``TrackReply`` (v14 and alike) is read by :mod:`carriers.fedex.soap` with the same rules.
"""

from __future__ import annotations

import json
from typing import Any

from carriers.fedex import soap
from carriers.fedex.codes import ETA_WITHDRAWN_TYPES, Delay, error_kind
from carriers.fedex.normalize import (
    CARRIER,
    RawEvent,
    RawShipment,
    RawStatus,
    build_result,
    location,
)
from carriers.models import Location, PayloadError, Problem, ProblemKind, TrackingResult
from carriers.taxonomy import Status

_EXPECTED = "a FedEx Track API v1 JSON response or a Web Services SOAP TrackReply"


def sniff(payload: bytes) -> bool:
    """True for FedEx Track API JSON (results or error envelope) and SOAP TrackReply."""
    head = payload.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return soap.sniff(head)
    if not head.startswith(b"{"):
        return False
    try:
        doc = json.loads(head)
    except ValueError:
        return False
    if not isinstance(doc, dict):
        return False
    output = doc.get("output")
    if isinstance(output, dict) and isinstance(output.get("completeTrackResults"), list):
        return True
    return isinstance(doc.get("errors"), list) and "transactionId" in doc


def parse(payload: bytes) -> list[TrackingResult]:
    """One result per tracking number; PayloadError when the payload cannot be read."""
    head = payload.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise PayloadError(f"FedEx payload is empty: expected {_EXPECTED}")
    if head.startswith(b"<"):
        return soap.parse(head)
    if not head.startswith(b"{"):
        raise PayloadError(
            f"FedEx payload is neither JSON nor XML (starts with {head[:20]!r}): expected "
            f"{_EXPECTED}; check that the file holds the raw response body"
        )
    try:
        doc = json.loads(head)
    except ValueError as exc:
        raise PayloadError(
            f"FedEx JSON could not be read ({exc}): the body looks truncated or corrupted; "
            f"expected {_EXPECTED}, fetch it again"
        ) from None
    return parse_document(doc)


def parse_document(doc: Any) -> list[TrackingResult]:
    """Results from an already decoded Track API v1 JSON document."""
    if not isinstance(doc, dict):
        raise PayloadError(f"FedEx JSON is not an object: expected {_EXPECTED}")
    output = doc.get("output")
    if isinstance(output, dict) and isinstance(output.get("completeTrackResults"), list):
        return _track_results(output["completeTrackResults"])
    errors = doc.get("errors")
    if isinstance(errors, list) and errors:
        return _error_envelope(errors)
    raise PayloadError(
        "JSON is not a FedEx Track API response: expected output.completeTrackResults or an "
        "errors list; check that the file is a FedEx tracking response or pass the right "
        "--carrier"
    )


def _track_results(complete: list[Any]) -> list[TrackingResult]:
    grouped: dict[str, list[RawShipment]] = {}
    for item in complete:
        item = _obj(item)
        asked = _str(item.get("trackingNumber"))
        results = [r for r in _list(item.get("trackResults")) if isinstance(r, dict)]
        if not results:
            grouped.setdefault(asked, []).append(
                RawShipment(
                    asked,
                    problems=[
                        Problem(
                            ProblemKind.NOT_FOUND,
                            "",
                            "FedEx returned no track result for this number",
                        )
                    ],
                )
            )
        for result in results:
            shipment = _shipment(asked, result)
            grouped.setdefault(shipment.tracking_number, []).append(shipment)
    return [build_result(number, shipments) for number, shipments in grouped.items()]


def _shipment(asked: str, result: dict[str, Any]) -> RawShipment:
    info = _obj(result.get("trackingNumberInfo"))
    number = asked or _str(info.get("trackingNumber"))
    shipment = RawShipment(number)
    error = result.get("error")
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        shipment.problems.append(_problem(error))
    shipment.places = _places(result)
    shipment.events = [_event(e) for e in _list(result.get("scanEvents")) if isinstance(e, dict)]
    shipment.status = _status(_obj(result.get("latestStatusDetail")))
    _read_dates(shipment, result)
    service = _obj(result.get("serviceDetail"))
    shipment.service = _str(service.get("description")) or _str(service.get("type")) or None
    return shipment


def _event(event: dict[str, Any]) -> RawEvent:
    place = _obj(event.get("scanLocation"))
    description = _str(event.get("eventDescription"))
    exception = _str(event.get("exceptionDescription"))
    if exception and exception != description:
        description = f"{description}: {exception}" if description else exception
    return RawEvent(
        timestamp=_str(event.get("date")),
        event_type=_str(event.get("eventType")),
        exception_code=_str(event.get("exceptionCode")),
        description=description,
        location=_location(place),
        delay=_delay(event.get("delayDetail")),
        derived_code=_str(event.get("derivedStatusCode")),
    )


def _status(detail: dict[str, Any]) -> RawStatus | None:
    if not detail:
        return None
    ancillary = next(
        (
            _str(a.get("reason"))
            for a in _list(detail.get("ancillaryDetails"))
            if isinstance(a, dict) and _str(a.get("reason"))
        ),
        "",
    )
    return RawStatus(
        code=_str(detail.get("code")),
        ancillary_code=ancillary,
        delay=_delay(detail.get("delayDetail")),
        derived_code=_str(detail.get("derivedCode")),
    )


def _read_dates(shipment: RawShipment, result: dict[str, Any]) -> None:
    for entry in _list(result.get("dateAndTimes")):
        entry = _obj(entry)
        kind = _str(entry.get("type")).upper()
        if kind == "ESTIMATED_DELIVERY" and not shipment.eta_single:
            shipment.eta_single = _str(entry.get("dateTime"))
        elif kind == "ACTUAL_DELIVERY" and not shipment.delivered:
            shipment.delivered = _str(entry.get("dateTime"))
    window = _obj(_obj(result.get("estimatedDeliveryTimeWindow")).get("window"))
    shipment.eta_begins = _str(window.get("begins"))
    shipment.eta_ends = _str(window.get("ends"))
    commit = _obj(result.get("serviceCommitMessage"))
    shipment.eta_withdrawn = _str(commit.get("type")).upper() in ETA_WITHDRAWN_TYPES


def _places(result: dict[str, Any]) -> list[Location]:
    """Destination addresses first, then origin ones: the fallbacks for local times."""
    candidates = [
        _obj(_obj(result.get("destinationLocation")).get("locationContactAndAddress")).get(
            "address"
        ),
        _obj(result.get("recipientInformation")).get("address"),
        result.get("lastUpdatedDestinationAddress"),
        _obj(_obj(result.get("originLocation")).get("locationContactAndAddress")).get("address"),
        _obj(result.get("shipperInformation")).get("address"),
    ]
    return [_location(_obj(c)) for c in candidates if isinstance(c, dict)]


def _location(place: dict[str, Any]) -> Location:
    return location(
        place.get("city"),
        place.get("stateOrProvinceCode"),
        place.get("postalCode"),
        place.get("countryCode"),
    )


def _delay(value: Any) -> Delay | None:
    if not isinstance(value, dict) or not value:
        return None
    return Delay(_str(value.get("type")), _str(value.get("subType")), _str(value.get("status")))


def _problem(error: dict[str, Any]) -> Problem:
    code = _str(error.get("code"))
    message = _str(error.get("message")) or "FedEx reported an error without a message"
    return Problem(error_kind(code), code, message)


def _error_envelope(errors: list[Any]) -> list[TrackingResult]:
    """A whole-request error: one result per number named in it, else one for ""."""
    problems = [_problem(e) for e in errors if isinstance(e, dict)]
    if not problems:
        problems = [Problem(ProblemKind.REQUEST_ERROR, "", f"unreadable FedEx errors {errors!r}")]
    numbers: list[str] = []
    for error in errors:
        for param in _list(_obj(error).get("parameterList")):
            param = _obj(param)
            value = _str(param.get("value"))
            if "trackingnumber" in _str(param.get("key")).lower() and value not in numbers:
                numbers.append(value)
    return [
        TrackingResult(CARRIER, number, Status.UNKNOWN, problems=tuple(problems))
        for number in (numbers or [""])
    ]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
