"""Read the UPS Track API v1 JSON (``trackResponse``) and its ``response.errors`` envelope.

Fields used: ``trackResponse.shipment[]`` with ``inquiryNumber``, ``warnings[]`` and
``package[]``; per package ``trackingNumber``, ``activity[]`` (``status.type/code/statusCode/
description``, ``date``, ``time``, ``gmtDate``, ``gmtTime``, ``gmtOffset``,
``location.address``), ``currentStatus``, ``deliveryDate[]`` (types RDD rescheduled, SDD
scheduled, DEL delivered), ``deliveryTime`` (types EOD end of day, CMT commit time, EDW/CDW/IDW
estimated/confirmed/imminent window, DEL delivered), ``packageAddress[]`` (ORIGIN,
DESTINATION) and ``service.description``. A shipment without packages is a number UPS could
not track: its warnings (TW0001 "Tracking Information Not Found") become its problems.
"""

from __future__ import annotations

from typing import Any

from carriers.models import Location, PayloadError, TrackingResult
from carriers.ups.assemble import (
    Activity,
    CurrentStatus,
    DayAndTimes,
    PackageRecord,
    build_results,
    error_result,
)

_WINDOW_TYPES = frozenset({"EOD", "CMT", "EDW", "CDW", "IDW"})


def is_track_json(doc: object) -> bool:
    """True for a Track API v1 response or its error envelope."""
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("trackResponse"), dict):
        return True
    return _error_items(doc) is not None


def parse_track_json(doc: object) -> list[TrackingResult]:
    if not isinstance(doc, dict):
        raise PayloadError(_WRONG_SHAPE)
    track_response = doc.get("trackResponse")
    if isinstance(track_response, dict):
        return _track_response(track_response)
    errors = _error_items(doc)
    if errors is None:
        raise PayloadError(_WRONG_SHAPE)
    return [error_result("", [(_s(e.get("code")), _s(e.get("message"))) for e in errors])]


_WRONG_SHAPE = (
    "JSON is not a UPS Track API v1 response: expected an object with "
    "trackResponse.shipment[] or response.errors[]; check the carrier of this payload"
)


def _error_items(doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    response = doc.get("response")
    if not isinstance(response, dict):
        return None
    errors = response.get("errors")
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        return None
    return errors


def _track_response(track_response: dict[str, Any]) -> list[TrackingResult]:
    shipments = _dicts(track_response.get("shipment"), "trackResponse.shipment")
    if not shipments:
        return [error_result("", [("", "UPS answered with no shipment")])]
    records: list[PackageRecord] = []
    failed: list[TrackingResult] = []
    for shipment in shipments:
        packages = _dicts(shipment.get("package"), "shipment.package")
        if packages:
            records.extend(_package(p, shipment) for p in packages)
            continue
        warnings = _dicts(shipment.get("warnings"), "shipment.warnings")
        items = [(_s(w.get("code")), _s(w.get("message"))) for w in warnings]
        failed.append(error_result(_s(shipment.get("inquiryNumber")), items))
    return build_results(records) + failed


def _package(package: dict[str, Any], shipment: dict[str, Any]) -> PackageRecord:
    number = _s(package.get("trackingNumber")) or _s(shipment.get("inquiryNumber"))
    addresses = {
        _s(item.get("type")).upper(): _location(_dict(item.get("address"), "address"))
        for item in _dicts(package.get("packageAddress"), "package.packageAddress")
    }
    service = _s(_dict(package.get("service"), "package.service").get("description")) or None
    estimate, delivered = _delivery(package)
    return PackageRecord(
        tracking_number=number,
        activities=[_activity(a) for a in _dicts(package.get("activity"), "package.activity")],
        current=_current(_dict(package.get("currentStatus"), "package.currentStatus")),
        estimate=estimate,
        delivered=delivered,
        destination=addresses.get("DESTINATION"),
        origin=addresses.get("ORIGIN"),
        mail_innovations=service is not None and "mail innovations" in service.lower(),
        service=service,
    )


def _activity(activity: dict[str, Any]) -> Activity:
    status = _dict(activity.get("status"), "activity.status")
    place = _dict(activity.get("location"), "activity.location")
    return Activity(
        type=_s(status.get("type")),
        code=_s(status.get("code")),
        status_code=_s(status.get("statusCode")),
        description=_s(status.get("description")),
        date=_s(activity.get("date")),
        time=_s(activity.get("time")),
        location=_location(_dict(place.get("address"), "activity.location.address")),
        gmt_date=_s(activity.get("gmtDate")),
        gmt_time=_s(activity.get("gmtTime")),
        gmt_offset=_s(activity.get("gmtOffset")),
    )


def _current(current: dict[str, Any]) -> CurrentStatus | None:
    """``currentStatus`` comes as {code: "092", description} (code = status code) or, in the
    documentation's shape, like an activity status {type, code, statusCode}."""
    if not current:
        return None
    code = _s(current.get("code"))
    if "type" in current or "statusCode" in current:
        return CurrentStatus(_s(current.get("type")), code, _s(current.get("statusCode")))
    if code.isdigit():
        return CurrentStatus("", "", code)
    return CurrentStatus("", code, "") if code else None


def _delivery(package: dict[str, Any]) -> tuple[DayAndTimes | None, DayAndTimes | None]:
    """(estimated delivery, stated delivery) from deliveryDate[] and deliveryTime."""
    days = {
        _s(item.get("type")).upper(): _s(item.get("date"))
        for item in _dicts(package.get("deliveryDate"), "package.deliveryDate")
    }
    times = _dict(package.get("deliveryTime"), "package.deliveryTime")
    time_type = _s(times.get("type")).upper()
    start, end = _s(times.get("startTime")), _s(times.get("endTime"))
    estimate_day = days.get("RDD") or days.get("SDD")
    estimate = None
    if estimate_day:
        windowed = time_type in _WINDOW_TYPES
        estimate = DayAndTimes(estimate_day, start if windowed else "", end if windowed else "")
    delivered = None
    if days.get("DEL"):
        at_delivery = time_type == "DEL"
        delivered = DayAndTimes(days["DEL"], "", (end or start) if at_delivery else "")
    return estimate, delivered


def _location(address: dict[str, Any]) -> Location:
    return Location(
        city=_s(address.get("city")) or None,
        region=_s(address.get("stateProvince")) or None,
        postal_code=_s(address.get("postalCode")) or None,
        country=_s(address.get("countryCode")) or _s(address.get("country")) or None,
    )


def _dicts(value: object, where: str) -> list[dict[str, Any]]:
    """A JSON list of objects (a single object counts as a list of one); [] when absent."""
    if value is None:
        return []
    items: list[object] = value if isinstance(value, list) else [value]
    objects = [item for item in items if isinstance(item, dict)]
    if len(objects) != len(items):
        raise PayloadError(
            f"UPS Track API JSON: {where} should hold objects; the payload is not a UPS "
            "tracking response or is damaged"
        )
    return objects


def _dict(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(
            f"UPS Track API JSON: {where} should be an object; the payload is not a UPS "
            "tracking response or is damaged"
        )
    return value


def _s(value: object) -> str:
    """A JSON scalar as stripped text ("" for null, objects and lists)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""
