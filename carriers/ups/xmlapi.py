"""Read the two UPS XML tracking formats: Track Web Service SOAP and legacy Tracking XML.

* SOAP (XOLTWS Track v2.0): ``Envelope/Body/TrackResponse/Shipment/Package/Activity`` with
  ``Status/Type``, ``Status/Code``, ``Status/Description``; failures are a SOAP ``Fault``
  whose ``detail/Errors/ErrorDetail/PrimaryErrorCode`` holds the UPS error (151018 invalid
  number).
* Legacy Tracking XML (XPCI 1.0): ``TrackResponse`` with ``Response/ResponseStatusCode``
  (1 success, 0 failure with ``Response/Error/ErrorCode``: 150022 invalid number, 155002
  Mail Innovations number not found) and ``Shipment/Package/Activity`` with
  ``Status/StatusType/Code``, ``Status/StatusCode/Code``. Mail Innovations shipments
  (``InquiryNumber/Code`` or ``ShipmentType/Code`` 03) repeat the type as status code and
  give HHMM times. ``Package/RescheduledDeliveryDate`` or ``Shipment/ScheduledDeliveryDate``
  is the estimated delivery day; ``Shipment/DeliveryDateUnavailable`` withdraws it.

Elements are matched by local name, so namespace prefixes do not matter. Addresses:
``ShipTo/Address`` is the destination, ``Shipper/Address`` the origin.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from carriers.models import Location, PayloadError, Problem, ProblemKind, TrackingResult
from carriers.ups.assemble import (
    Activity,
    DayAndTimes,
    PackageRecord,
    build_results,
    error_result,
)

UPS_SOAP_NAMESPACE = "http://www.ups.com/XMLSchema/XOLTWS/"
_MAIL_INNOVATIONS = "03"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child(parent: Element | None, *path: str) -> Element | None:
    """The first element down ``path`` (local names), or None."""
    node = parent
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if local(c.tag) == name), None)
    return node


def children(parent: Element | None, name: str) -> list[Element]:
    return [] if parent is None else [c for c in parent if local(c.tag) == name]


def text(parent: Element | None, *path: str) -> str:
    node = child(parent, *path)
    return (node.text or "").strip() if node is not None else ""


def is_ups_xml(root: Element) -> bool:
    """True for a UPS SOAP Track response or fault, or a legacy TrackResponse."""
    name = local(root.tag)
    if name == "TrackResponse":
        return child(root, "Response", "ResponseStatusCode") is not None
    if name != "Envelope":
        return False
    body = child(root, "Body")
    response = child(body, "TrackResponse")
    if response is not None:
        return response.tag.startswith("{" + UPS_SOAP_NAMESPACE)
    errors = child(body, "Fault", "detail", "Errors")
    return errors is not None and errors.tag.startswith("{" + UPS_SOAP_NAMESPACE)


def parse_xml(root: Element) -> list[TrackingResult]:
    if not is_ups_xml(root):
        raise PayloadError(
            f"XML root <{local(root.tag)}> is not a UPS tracking response: expected a SOAP "
            "Envelope with a XOLTWS TrackResponse or Fault, or a legacy <TrackResponse>; "
            "check the carrier of this payload"
        )
    if local(root.tag) == "TrackResponse":
        return _legacy(root)
    body = child(root, "Body")
    response = child(body, "TrackResponse")
    if response is None:
        return [error_result("", _fault_errors(child(body, "Fault")))]
    return _shipments(children(response, "Shipment"))


def _fault_errors(fault: Element | None) -> list[tuple[str, str]]:
    details = children(child(fault, "detail", "Errors"), "ErrorDetail")
    errors = [
        (text(d, "PrimaryErrorCode", "Code"), text(d, "PrimaryErrorCode", "Description"))
        for d in details
    ]
    return errors or [("", text(fault, "faultstring"))]


def _legacy(root: Element) -> list[TrackingResult]:
    response = child(root, "Response")
    shipments = children(root, "Shipment")
    if text(response, "ResponseStatusCode") == "1" or shipments:
        return _shipments(shipments)
    errors = [
        (text(error, "ErrorCode"), text(error, "ErrorDescription"))
        for error in children(response, "Error")
    ]
    return [error_result("", errors or [("", text(response, "ResponseStatusDescription"))])]


def _shipments(shipments: list[Element]) -> list[TrackingResult]:
    if not shipments:
        return [error_result("", [("", "UPS answered with no shipment")])]
    records: list[PackageRecord] = []
    for shipment in shipments:
        packages = children(shipment, "Package")
        if not packages:
            note = Problem(ProblemKind.REQUEST_ERROR, "", "UPS listed a shipment without a package")
            records.append(PackageRecord(_shipment_number(shipment), problems=[note]))
            continue
        records.extend(_package(p, shipment) for p in packages)
    return build_results(records)


def _shipment_number(shipment: Element) -> str:
    return text(shipment, "InquiryNumber", "Value") or text(
        shipment, "ShipmentIdentificationNumber"
    )


def _package(package: Element, shipment: Element) -> PackageRecord:
    mail_innovations = _MAIL_INNOVATIONS in (
        text(shipment, "InquiryNumber", "Code"),
        text(shipment, "ShipmentType", "Code"),
    )
    return PackageRecord(
        tracking_number=text(package, "TrackingNumber") or _shipment_number(shipment),
        activities=[_activity(a) for a in children(package, "Activity")],
        estimate=_estimate(package, shipment),
        delivered=_delivered(shipment),
        destination=_address(child(shipment, "ShipTo", "Address")),
        origin=_address(child(shipment, "Shipper", "Address")),
        mail_innovations=mail_innovations,
        service=text(shipment, "Service", "Description") or None,
    )


def _activity(activity: Element) -> Activity:
    status = child(activity, "Status")
    return Activity(
        type=text(status, "Type") or text(status, "StatusType", "Code"),
        code=text(status, "Code") or text(status, "StatusCode", "Code"),
        status_code="",
        description=text(status, "Description") or text(status, "StatusType", "Description"),
        date=text(activity, "Date"),
        time=text(activity, "Time"),
        location=_address(child(activity, "ActivityLocation", "Address")) or Location(),
    )


def _estimate(package: Element, shipment: Element) -> DayAndTimes | None:
    rescheduled = text(package, "RescheduledDeliveryDate")
    if rescheduled:
        return DayAndTimes(rescheduled)
    if child(shipment, "DeliveryDateUnavailable") is not None:
        return None
    scheduled = text(shipment, "ScheduledDeliveryDate")
    return DayAndTimes(scheduled) if scheduled else None


def _delivered(shipment: Element) -> DayAndTimes | None:
    stated = child(shipment, "DeliveryDateTime")
    if stated is None or text(stated, "Type", "Code") != "01":
        return None
    return DayAndTimes(text(stated, "Date"), "", text(stated, "Time"))


def _address(address: Element | None) -> Location | None:
    if address is None:
        return None
    return Location(
        city=text(address, "City") or None,
        region=text(address, "StateProvinceCode") or None,
        postal_code=text(address, "PostalCode") or None,
        country=text(address, "CountryCode") or None,
    )
