"""Read the legacy FedEx Web Services SOAP ``TrackReply`` (v14 and alike).

``CompletedTrackDetails/TrackDetails`` per number: ``StatusDetail`` (Code, AncillaryDetails
Reason) is the current status, ``Events`` (EventType, StatusExceptionCode, Timestamp,
Address) the history, ``DatesOrTimes`` (ESTIMATED_DELIVERY, ACTUAL_DELIVERY) the estimate
and delivery. A ``Notification`` with severity ERROR or FAILURE on a TrackDetails is a
problem on that number (code 6035: invalid number). A reply whose top-level severity is
ERROR/FAILURE without track details, or a SOAP Fault, is a whole-request error. Element
names are matched without their namespace. Time rules: see :mod:`carriers.fedex.parse`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from carriers.fedex.codes import error_kind
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

_FAILED = frozenset({"ERROR", "FAILURE"})
_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_HTML = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?<(!doctype\s+html|html)", re.IGNORECASE)


def sniff(head: bytes) -> bool:
    """True for a SOAP/XML TrackReply of FedEx Web Services."""
    window = head[:4096]
    return b"fedex.com/ws/track" in window and b"TrackReply" in window


def load(head: bytes) -> ET.Element:
    """The XML root; PayloadError for HTML pages, DTDs and unreadable XML."""
    if _HTML.match(head):
        raise PayloadError(
            "FedEx payload is an HTML page, not an API response (often a proxy, login or "
            "maintenance page): expected a Track API JSON body or a SOAP TrackReply; check "
            "the base URL and credentials"
        )
    if _DECLARATIONS.search(head):
        raise PayloadError(
            "FedEx XML carries a DOCTYPE/ENTITY declaration, which FedEx never sends and we "
            "refuse to expand: expected a SOAP TrackReply"
        )
    try:
        # No DTDs reach the parser (refused above); expat limits entity expansion.
        return ET.fromstring(head)  # noqa: S314
    except ET.ParseError as exc:
        raise PayloadError(
            f"FedEx XML could not be read ({exc}): the body looks truncated or corrupted; "
            "expected a complete SOAP TrackReply, fetch it again"
        ) from None


def parse(head: bytes) -> list[TrackingResult]:
    root = load(head)
    fault = _find(root, "Fault")
    if fault is not None:
        code = _text(fault, "faultcode") or _text(fault, "Code")
        message = _text(fault, "faultstring") or _text(fault, "Reason") or "SOAP fault"
        return [_request_error(code, message)]
    reply = root if _local(root.tag) == "TrackReply" else _find(root, "TrackReply")
    if reply is None:
        raise PayloadError(
            f"XML is not a FedEx TrackReply (root element {_local(root.tag)!r}): expected a "
            "FedEx Web Services tracking response; pass the right --carrier or check the file"
        )
    details = [
        d for c in _children(reply, "CompletedTrackDetails") for d in _children(c, "TrackDetails")
    ]
    if not details:
        return [_reply_error(reply)]
    grouped: dict[str, list[RawShipment]] = {}
    for detail in details:
        shipment = _shipment(detail)
        grouped.setdefault(shipment.tracking_number, []).append(shipment)
    return [build_result(number, shipments) for number, shipments in grouped.items()]


def _shipment(detail: ET.Element) -> RawShipment:
    shipment = RawShipment(_text(detail, "TrackingNumber"))
    for note in _children(detail, "Notification"):
        if _text(note, "Severity").upper() in _FAILED:
            code = _text(note, "Code")
            message = _text(note, "Message") or "FedEx reported an error without a message"
            shipment.problems.append(Problem(error_kind(code), code, message))
    shipment.places = [
        _address(a)
        for name in ("DestinationAddress", "ActualDeliveryAddress", "ShipperAddress")
        for a in _children(detail, name)
    ]
    shipment.events = [_event(e) for e in _children(detail, "Events")]
    status = _child(detail, "StatusDetail")
    if status is not None and _text(status, "Code"):
        ancillary = next(
            (
                _text(a, "Reason")
                for a in _children(status, "AncillaryDetails")
                if _text(a, "Reason")
            ),
            "",
        )
        shipment.status = RawStatus(_text(status, "Code"), ancillary)
    for entry in _children(detail, "DatesOrTimes"):
        kind = _text(entry, "Type").upper()
        if kind == "ESTIMATED_DELIVERY" and not shipment.eta_single:
            shipment.eta_single = _text(entry, "DateOrTimestamp")
        elif kind == "ACTUAL_DELIVERY" and not shipment.delivered:
            shipment.delivered = _text(entry, "DateOrTimestamp")
    service = _child(detail, "Service")
    if service is not None:
        shipment.service = _text(service, "Description") or _text(service, "Type") or None
    return shipment


def _event(event: ET.Element) -> RawEvent:
    description = _text(event, "EventDescription")
    exception = _text(event, "StatusExceptionDescription")
    if exception and exception != description:
        description = f"{description}: {exception}" if description else exception
    address = _child(event, "Address")
    return RawEvent(
        timestamp=_text(event, "Timestamp"),
        event_type=_text(event, "EventType"),
        exception_code=_text(event, "StatusExceptionCode"),
        description=description,
        location=_address(address) if address is not None else Location(),
    )


def _address(element: ET.Element) -> Location:
    return location(
        _text(element, "City"),
        _text(element, "StateOrProvinceCode"),
        _text(element, "PostalCode"),
        _text(element, "CountryCode"),
    )


def _reply_error(reply: ET.Element) -> TrackingResult:
    """A reply without track details: its failed notification, as a request error."""
    for note in _children(reply, "Notifications"):
        if _text(note, "Severity").upper() in _FAILED:
            return _request_error(_text(note, "Code"), _text(note, "Message"))
    severity = _text(reply, "HighestSeverity") or "no severity"
    return _request_error("", f"FedEx TrackReply without track details ({severity})")


def _request_error(code: str, message: str) -> TrackingResult:
    # No number is named: the request as a whole failed, whatever the code.
    message = message or "FedEx reported an error without a message"
    problem = Problem(ProblemKind.REQUEST_ERROR, code, message)
    return TrackingResult(CARRIER, "", Status.UNKNOWN, problems=(problem,))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _find(element: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in element.iter() if _local(e.tag) == name), None)


def _text(element: ET.Element, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None and child.text else ""
