"""How the carrier sandbox speaks UPS: Track API v1 JSON, as ``carriers/ups/client.py`` asks.

:meth:`UPSSandboxCodec.match` accepts exactly our client's request (``GET
.../api/track/v1/details/{number}`` with ``locale=en_US``, ``returnSignature=false``,
``returnMilestones=false`` and no body). :meth:`UPSSandboxCodec.respond` writes
``trackResponse.shipment[]`` like the live API: one shipment per found number with its
activities (local date/time plus gmtDate/gmtTime/gmtOffset, so times survive exactly),
``currentStatus`` (the documented Status object: type, code, statusCode), ``deliveryDate``/
``deliveryTime`` and the destination in ``packageAddress``; a number the world does not know
gets UPS's not-found shape (HTTP 200, ``warnings`` TW0001). An ``expired`` result is answered
the same way, as UPS does once a number's history is purged.

Each (status, reason) is written as one representative UPS activity, chosen by hand in
:data:`REPRESENTATIVE` from the tables in :mod:`carriers.ups.codes`; every choice parses back
to its own key (a test checks). A pair UPS cannot express falls back to the same status
without the reason (``out_for_delivery`` + a reason), and ``unknown`` is written as an
undocumented exception code (X/KB, "UPS INTERNAL ACTIVITY CODE"). A departure scan in
transit is written as UPS's movement scan ``DP`` (:data:`DEPARTURE`). UPS states one delivery
day: an estimate spanning several days is written as its last day, and a time window needs a
destination with a known zone (taken from the newest event's location), else only the day.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote

from carriers.models import EstimatedDelivery, Location, TrackingEvent, TrackingResult
from carriers.taxonomy import Reason, Status
from carriers.timezones import zone_for
from carriers.ups.client import TOKEN_PATH, TRACK_PARAMS
from carriers.ups.codes import activity_code, status_code

_TRACK_PATH = re.compile(r"(?:^|/)api/track/v1/details/([^/]+)$")

# (status, reason) -> (activity type, code, status code) written for it.
REPRESENTATIVE: dict[tuple[Status, Reason | None], tuple[str, str, str]] = {
    (Status.PENDING, None): ("NA", "", "000"),
    (Status.INFO_RECEIVED, None): ("M", "MP", "003"),
    (Status.IN_TRANSIT, None): ("I", "AR", "005"),
    (Status.OUT_FOR_DELIVERY, None): ("I", "OT", "021"),
    (Status.AVAILABLE_FOR_PICKUP, None): ("X", "ZP", "040"),
    (Status.DELIVERED, None): ("D", "FS", "011"),
    (Status.DELIVERED, Reason.DAMAGED): ("X", "HD", ""),
    (Status.ATTEMPT_FAIL, Reason.UNKNOWN): ("X", "GB", "060"),
    (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE): ("X", "48", "022"),
    (Status.ATTEMPT_FAIL, Reason.BUSINESS_CLOSED): ("X", "55", "022"),
    (Status.ATTEMPT_FAIL, Reason.HELD_FOR_PAYMENT): ("X", "51", "062"),
    (Status.ATTEMPT_FAIL, Reason.ADDRESS_ISSUE): ("X", "BO", "060"),
    (Status.EXCEPTION, Reason.WEATHER): ("X", "DJ", "052"),
    (Status.EXCEPTION, Reason.NATURAL_DISASTER): ("X", "DF", "086"),
    (Status.EXCEPTION, Reason.CUSTOMS): ("X", "RZ", "012"),
    (Status.EXCEPTION, Reason.ADDRESS_ISSUE): ("X", "AE", "050"),
    (Status.EXCEPTION, Reason.RECIPIENT_UNAVAILABLE): ("X", "AX", "086"),
    (Status.EXCEPTION, Reason.BUSINESS_CLOSED): ("X", "VL", "086"),
    (Status.EXCEPTION, Reason.REFUSED): ("X", "KT", "064"),
    (Status.EXCEPTION, Reason.DAMAGED): ("X", "45", "059"),
    (Status.EXCEPTION, Reason.LOST): ("X", "S9", "068"),
    (Status.EXCEPTION, Reason.RETURNING_TO_SENDER): ("X", "KP", "035"),
    (Status.EXCEPTION, Reason.RETURNED_TO_SENDER): ("X", "UA", "034"),
    (Status.EXCEPTION, Reason.HELD_FOR_PAYMENT): ("X", "1C", "085"),
    (Status.EXCEPTION, Reason.CARRIER_VOLUME): ("X", "1G", "086"),
    (Status.EXCEPTION, Reason.TRANSPORT_DELAY): ("X", "18", "086"),
    (Status.EXCEPTION, Reason.MISSORT): ("X", "34", "086"),
    (Status.EXCEPTION, Reason.PROCESSING_DELAY): ("X", "4", "086"),
    (Status.EXCEPTION, Reason.HOLIDAY): ("X", "AZ", "086"),
    (Status.EXCEPTION, Reason.INCORRECT_DOCUMENTS): ("X", "B9", "141"),
    (Status.EXCEPTION, Reason.MISSED_PICKUP): ("X", "K1", "065"),
    (Status.EXCEPTION, Reason.CANCELLED): ("MV", "VP", "007"),
    (Status.EXCEPTION, Reason.NO_SCAN): ("X", "6E", "086"),
    (Status.EXCEPTION, Reason.UNKNOWN): ("X", "1X", "086"),
    (Status.UNKNOWN, None): ("X", "KB", ""),
}
# Written instead of the in-transit activity for a departure scan: Departure scan, On the Way.
DEPARTURE: tuple[str, str, str] = ("I", "DP", "005")
_UNKNOWN_DESCRIPTION = "UPS INTERNAL ACTIVITY CODE"


def representative(status: Status, reason: Reason | None) -> tuple[str, str, str]:
    """The UPS (type, code, status code) written for a status and reason (see module doc)."""
    for key in ((status, reason), (status, None), (status, Reason.UNKNOWN)):
        if key in REPRESENTATIVE:
            return REPRESENTATIVE[key]
    return REPRESENTATIVE[(Status.UNKNOWN, None)]


class UPSSandboxCodec:
    token_path: str | None = TOKEN_PATH
    aggregator = False  # UPS moves its own parcels: look numbers up under "ups" only

    def match(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> list[str] | None:
        if method.upper() != "GET" or body.strip():
            return None
        found = _TRACK_PATH.search(path)
        if found is None:
            return None
        if set(query) != set(TRACK_PARAMS):
            return None
        if any(list(query[key]) != [value] for key, value in TRACK_PARAMS.items()):
            return None
        number = unquote(found.group(1)).strip()
        return [number] if number else None

    def respond(self, found: Sequence[TrackingResult], missing: Sequence[str]) -> tuple[int, bytes]:
        shipments: list[dict[str, Any]] = []
        unknown = list(missing)
        for result in found:
            if result.status is Status.EXPIRED:
                unknown.append(result.tracking_number)
            else:
                shipments.append(_shipment(result))
        shipments.extend(_not_found(number) for number in unknown)
        body = {"trackResponse": {"shipment": shipments}}
        return 200, json.dumps(body, ensure_ascii=False).encode("utf-8")


CODEC = UPSSandboxCodec()


def _not_found(number: str) -> dict[str, Any]:
    return {
        "inquiryNumber": number,
        "warnings": [{"code": "TW0001", "message": "Tracking Information Not Found"}],
    }


def _shipment(result: TrackingResult) -> dict[str, Any]:
    destination = _destination(result.events)
    package: dict[str, Any] = {
        "trackingNumber": result.tracking_number,
        "activity": [_activity(event) for event in result.events],
        "currentStatus": _status(result.status, result.reason, ""),
        "packageCount": 1,
    }
    if destination is not None:
        package["packageAddress"] = [{"type": "DESTINATION", "address": _address(destination)}]
    if result.service:
        package["service"] = {"description": result.service}
    package.update(_delivery(result, destination))
    return {"inquiryNumber": result.tracking_number, "package": [package]}


def _status(
    status: Status, reason: Reason | None, description: str, *, departed: bool = False
) -> dict[str, str]:
    in_transit = (status, reason) == (Status.IN_TRANSIT, None)
    parts = DEPARTURE if departed and in_transit else representative(status, reason)
    type_code, code, status_number = parts
    if not description:
        description = _description(type_code, code, status_number)
    shown: dict[str, str] = {"type": type_code, "code": code, "description": description}
    if status_number:
        shown["statusCode"] = status_number
        entry = status_code(status_number)
        shown["simplifiedTextDescription"] = entry.description if entry else description
    return shown


def _description(type_code: str, code: str, status_number: str) -> str:
    entry = activity_code(type_code, code) if code else None
    if entry is None and status_number:
        entry = status_code(status_number)
    return entry.description if entry is not None else _UNKNOWN_DESCRIPTION


def _activity(event: TrackingEvent) -> dict[str, Any]:
    when = event.occurred_at
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    gmt = when.astimezone(UTC)
    return {
        "location": {"address": _address(event.location)},
        "status": _status(event.status, event.reason, event.description, departed=event.departed),
        "date": when.strftime("%Y%m%d"),
        "time": when.strftime("%H%M%S"),
        "gmtDate": gmt.strftime("%Y%m%d"),
        "gmtTime": gmt.strftime("%H:%M:%S"),
        "gmtOffset": f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}",
    }


def _address(location: Location) -> dict[str, str]:
    return {
        "city": location.city or "",
        "stateProvince": location.region or "",
        "postalCode": location.postal_code or "",
        "country": location.country or "",
        "countryCode": location.country or "",
    }


def _destination(events: Sequence[TrackingEvent]) -> Location | None:
    """Where the parcel is delivered: the delivered event's place, else the newest event's."""
    delivered = [e for e in events if e.status is Status.DELIVERED]
    for event in (*delivered, *events):
        if zone_for(event.location) is not None:
            return event.location
    return None


def _delivery(result: TrackingResult, destination: Location | None) -> dict[str, Any]:
    if result.delivered_at is not None:
        at = result.delivered_at
        return {
            "deliveryDate": [{"type": "DEL", "date": at.strftime("%Y%m%d")}],
            "deliveryTime": {"type": "DEL", "startTime": "", "endTime": at.strftime("%H%M%S")},
        }
    if result.estimated_delivery is None:
        return {"deliveryDate": []}
    return _estimate(result.estimated_delivery, destination)


def _estimate(estimate: EstimatedDelivery, destination: Location | None) -> dict[str, Any]:
    earliest, latest = estimate.earliest, estimate.latest
    zone = zone_for(destination)
    if isinstance(earliest, datetime) and isinstance(latest, datetime) and zone is not None:
        start, end = earliest.astimezone(zone), latest.astimezone(zone)
        if start.date() == end.date():
            return {
                "deliveryDate": [{"type": "SDD", "date": start.strftime("%Y%m%d")}],
                "deliveryTime": {
                    "type": "EDW",
                    "startTime": start.strftime("%H%M%S"),
                    "endTime": end.strftime("%H%M%S"),
                },
            }
    day = latest.date() if isinstance(latest, datetime) else latest
    return {"deliveryDate": [{"type": "SDD", "date": _yyyymmdd(day)}]}


def _yyyymmdd(day: date) -> str:
    return day.strftime("%Y%m%d")
