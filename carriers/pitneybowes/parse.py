"""Parse Pitney Bowes tracking: the Shipping API ``GET /v1/tracking/{id}`` JSON response.

Pitney Bowes is a file-drop feed only for now (no client, no sandbox codec): responses
saved as files come in through ``oasis run --tracking DIR``.

Pure functions: bytes in, one :class:`TrackingResult` out. The tracking number is the one
asked for (``requestedIdentifier``; the full ``trackingNumber`` carries the 420+ZIP routing
prefix), else ``trackingNumber``. The carrier is the one named in ``carrier`` (``PBCS``,
PB's own network, is ``pitneybowes``; ``USPS`` is ``usps`` ...). Events are
``scanDetailsList`` (returned newest first); each is read by its PB standardized code
(``standardizedEventCode``, else ``l1Code``) through :mod:`carriers.pitneybowes.codes`; an
event's ``code`` is that code plus ``/scanType`` (the underlying carrier's code) when the two
differ. Current status: ``currentStatus`` read the same way when it maps, else ``status``
(a package status), else the newest event. Estimated delivery: ``estimatedDeliveryDate``
(a day) with ``estimatedDeliveryTime`` (a time, earliest == latest) when given. Delivered
at: ``deliveryDate``/``deliveryTime``, else the newest delivered event, for a delivered
parcel. PB error bodies (``errors[]`` or a list of objects with ``errorCode``) are one
result with tracking number "" and a request-error problem per error.

Time rules: PB sends a local date, a local time and the UTC offset separately
(``eventDate`` ``2024-07-24``, ``eventTime`` ``12:20:26``, ``eventTimeOffset`` ``-07:00``);
they are joined and the offset kept. Without an offset the time is local at the event's
location (else the destination, else the sender) and resolved with
:func:`carriers.timezones.localize`; without a zone the event is left out with a
``time_without_zone`` problem.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

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
from carriers.pitneybowes.codes import (
    CARRIERS,
    EVENT_CODES,
    INFORMATIONAL_CODES,
    PACKAGE_STATUSES,
    lookup,
)
from carriers.taxonomy import Reason, Status
from carriers.timezones import localize

_EXPECTED = "a Pitney Bowes tracking JSON response (trackingNumber, scanDetailsList)"


def sniff(payload: bytes) -> bool:
    """True for a PB tracking response and for PB error bodies (errorCode)."""
    doc = sniff_json(payload, (b"{", b"["))
    if isinstance(doc, dict) and isinstance(doc.get("scanDetailsList"), list):
        return "trackingNumber" in doc
    return bool(_pb_errors(doc))


def _pb_errors(doc: Any) -> list[dict[str, Any]]:
    """The error objects of a PB error body (standard or legacy format), else []."""
    errors = doc.get("errors") if isinstance(doc, dict) else doc
    if not isinstance(errors, list) or not errors:
        return []
    if not all(isinstance(e, dict) and "errorCode" in e for e in errors):
        return []
    return errors


def parse(payload: bytes) -> list[TrackingResult]:
    doc = read_json(payload, "Pitney Bowes", _EXPECTED)
    if isinstance(doc, dict) and isinstance(doc.get("scanDetailsList"), list):
        return [_result(doc)]
    errors = _pb_errors(doc)
    if errors:
        return [_error_result(errors)]
    raise PayloadError(
        f"JSON is not a Pitney Bowes tracking response: expected {_EXPECTED} or a PB error "
        "body; check the file or pass the right --carrier"
    )


def _result(doc: dict[str, Any]) -> TrackingResult:
    problems: list[Problem] = []
    unknown: dict[str, int] = {}
    places = [_address(doc.get("destinationAddress")), _address(doc.get("senderAddress"))]
    events: list[TrackingEvent] = []
    for scan in doc["scanDetailsList"]:
        event = _event(scan if isinstance(scan, dict) else {}, places, unknown, problems)
        if event is not None and event not in events:
            events.append(event)
    events.sort(key=lambda e: e.occurred_at, reverse=True)
    status, reason = _current(doc, events, unknown)
    problems.extend(unknown_code_problems(unknown, "Pitney Bowes", "carriers/pitneybowes/codes.py"))
    carrier = _str(doc.get("carrier"))
    return TrackingResult(
        carrier=CARRIERS.get(carrier.upper(), carrier.lower() or "unknown"),
        tracking_number=_str(doc.get("requestedIdentifier")) or _str(doc.get("trackingNumber")),
        status=status,
        reason=reason,
        estimated_delivery=_estimate(doc, places, problems),
        delivered_at=_delivered_at(doc, status, events, places, problems),
        events=tuple(events),
        problems=tuple(problems),
        service=_str(doc.get("serviceName")) or None,
    )


def _classify(scan: dict[str, Any]) -> tuple[Status, Reason | None, str | None]:
    """(status, reason, unknown code or None) of a scan or of currentStatus."""
    code = _str(scan.get("standardizedEventCode")) or _str(scan.get("l1Code"))
    package = _str(scan.get("packageStatus"))
    if not code or code.upper() in INFORMATIONAL_CODES:
        meaning = lookup(PACKAGE_STATUSES, package)
        if meaning is None:
            return Status.UNKNOWN, None, f"{code or '(no code)'}/packageStatus={package}"
        return meaning.status, meaning.reason, None
    meaning = lookup(EVENT_CODES, code)
    if meaning is None:
        return Status.UNKNOWN, None, code
    return meaning.status, meaning.reason, None


def _event(
    scan: dict[str, Any], places: list[Location], unknown: dict[str, int], problems: list[Problem]
) -> TrackingEvent | None:
    code = _str(scan.get("standardizedEventCode")) or _str(scan.get("l1Code"))
    carrier_code = _str(scan.get("scanType"))
    if carrier_code and carrier_code != code:
        code = f"{code}/{carrier_code}" if code else carrier_code
    place = Location(
        city=_str(scan.get("eventCity")) or None,
        region=_str(scan.get("eventStateOrProvince")) or None,
        postal_code=_str(scan.get("postalCode")) or None,
        country=_str(scan.get("country")) or None,
    )
    day, clock = _str(scan.get("eventDate")), _str(scan.get("eventTime"))
    offset = _str(scan.get("eventTimeOffset"))
    when = _moment(day, clock, offset, [place, *places], code, f"event {code}", problems)
    if when is None:
        return None
    status, reason, unknown_code = _classify(scan)
    if unknown_code is not None:
        unknown[unknown_code] = unknown.get(unknown_code, 0) + 1
    description = _str(scan.get("scanDescription")) or _str(
        scan.get("standardizedEventDescription")
    )
    return TrackingEvent(when, status, reason, code, description, place)


def _current(
    doc: dict[str, Any], events: list[TrackingEvent], unknown: dict[str, int]
) -> tuple[Status, Reason | None]:
    current = doc.get("currentStatus")
    if isinstance(current, dict) and current:
        status, reason, unknown_code = _classify(current)
        if unknown_code is None:
            return status, reason
        label = f"currentStatus {unknown_code}"
        unknown[label] = unknown.get(label, 0) + 1
    meaning = lookup(PACKAGE_STATUSES, _str(doc.get("status")))
    if meaning is not None:
        return meaning.status, meaning.reason
    if events:
        return events[0].status, events[0].reason
    return Status.UNKNOWN, None


def _moment(
    day: str,
    clock: str,
    offset: str,
    places: list[Location],
    code: str,
    what: str,
    problems: list[Problem],
) -> datetime | None:
    """Date + time + offset as an aware datetime (see the time rules); None if impossible."""
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{offset}")
    except ValueError:
        problems.append(
            Problem(
                ProblemKind.PARSE_ERROR,
                code,
                f"Pitney Bowes {what} has an unreadable time {day!r} {clock!r} {offset!r}; "
                "left out",
            )
        )
        return None
    if moment.tzinfo is not None:
        return moment
    for place in places:
        aware = localize(moment, place)
        if aware is not None:
            return aware
    problems.append(
        Problem(
            ProblemKind.TIME_WITHOUT_ZONE,
            code,
            f"Pitney Bowes {what} at {day} {clock} has no offset and no location with a time "
            "zone; left out",
        )
    )
    return None


def _estimate(
    doc: dict[str, Any], places: list[Location], problems: list[Problem]
) -> EstimatedDelivery | None:
    day = _str(doc.get("estimatedDeliveryDate"))
    if not day:
        return None
    clock = _str(doc.get("estimatedDeliveryTime"))
    if not clock:
        try:
            whole_day = date.fromisoformat(day)
        except ValueError:
            problems.append(
                Problem(
                    ProblemKind.PARSE_ERROR,
                    "estimatedDeliveryDate",
                    f"unreadable Pitney Bowes estimated delivery date {day!r}; left out",
                )
            )
            return None
        return EstimatedDelivery(whole_day, whole_day)
    offset = _str(doc.get("estimatedDeliveryTimeOffset"))
    when = _moment(
        day, clock, offset, places, "estimatedDeliveryDate", "estimated delivery", problems
    )
    return EstimatedDelivery(when, when) if when is not None else None


def _delivered_at(
    doc: dict[str, Any],
    status: Status,
    events: list[TrackingEvent],
    places: list[Location],
    problems: list[Problem],
) -> datetime | None:
    if status is not Status.DELIVERED:
        return None
    day, clock = _str(doc.get("deliveryDate")), _str(doc.get("deliveryTime"))
    if day and clock:
        offset = _str(doc.get("deliveryTimeOffset"))
        when = _moment(day, clock, offset, places, "deliveryDate", "delivery time", problems)
        if when is not None:
            return when
    return next((e.occurred_at for e in events if e.status is Status.DELIVERED), None)


def _error_result(errors: list[dict[str, Any]]) -> TrackingResult:
    problems = []
    for error in errors:
        message = (
            _str(error.get("errorDescription"))
            or _str(error.get("message"))
            or "Pitney Bowes reported an error without a message"
        )
        extra = _str(error.get("additionalInfo")) or _str(error.get("userMessage"))
        text = f"{message} ({extra})" if extra else message
        problems.append(Problem(ProblemKind.REQUEST_ERROR, _str(error.get("errorCode")), text))
    return TrackingResult("pitneybowes", "", Status.UNKNOWN, problems=tuple(problems))


def _address(value: Any) -> Location:
    if not isinstance(value, dict):
        return Location()
    return Location(
        city=_str(value.get("city")) or None,
        region=_str(value.get("stateOrProvince")) or None,
        postal_code=_str(value.get("postalCode")) or None,
        country=_str(value.get("country")) or None,
    )


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""
