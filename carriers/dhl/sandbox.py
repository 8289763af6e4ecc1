"""DHL Unified API wire format for the carrier sandbox (our model back into DHL JSON).

Requests recognised: exactly what :mod:`carriers.dhl.client` sends, ``GET
.../track/shipments?trackingNumber=<n>`` (any base-URL prefix; one number per request, as
the real API); there is no token endpoint (API key header). Responses follow the samples:
a known number as ``{"shipments": [...]}`` with ``status``, ``events`` (newest first),
``estimatedTimeOfDelivery``/``estimatedDeliveryTimeFrame`` and
``details.proofOfDelivery``; an unknown number as DHL's HTTP 404 problem+json ("No result
found", ``instance`` ``/shipment/<number>``); a request without a number as a 400
problem+json.

Encoding (status, reason): ``statusCode`` from the status (:data:`STATUS_CODES`) and, in
``status``, one representative code of the shipment's service from DHL's per-service list
that parses back to the same pair (:data:`REVERSE`: for ``express`` the deliberate choice in
:data:`EXPRESS_CODES`, for the other services the first code DHL lists for the pair that is
not a departure code, so that only a departure scan reads back as one). The
service is the world's when it names a DHL service ("DHL Express Worldwide" -> ``express``),
else ``express``. A cause the service's list cannot state is dropped, never replaced by
another: the pair is written as its status without the reason; a status the list has no
code for is written as the bare statusCode with the event text (``out_for_delivery`` then
reads back as ``in_transit``). A departure scan in transit is written as the first
departure code the service's list has for ``in_transit`` (:data:`DEPARTURES`: ``DF`` for
``express``); a service without one writes it as any other ``in_transit`` event.
``unknown`` is ``statusCode: unknown``. ``pending`` and ``expired`` have no DHL form and are
not written (a shipment with nothing else is "not found"). Times are written with their
offsets, so they read back unchanged; a day estimate is written as a bare date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping as MappingType
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from carriers.dhl.client import TRACK_PATH
from carriers.dhl.codes import (
    REFINABLE,
    SERVICE_DEPARTURES,
    SERVICE_TABLES,
    Mapping,
    service_code,
)
from carriers.models import EstimatedDelivery, Location, TrackingEvent, TrackingResult
from carriers.taxonomy import Reason, Status

DEFAULT_SERVICE = "express"
STATUS_CODES: dict[Status, str] = {
    Status.INFO_RECEIVED: "pre-transit",
    Status.IN_TRANSIT: "transit",
    Status.OUT_FOR_DELIVERY: "transit",
    Status.AVAILABLE_FOR_PICKUP: "transit",
    Status.ATTEMPT_FAIL: "transit",
    Status.DELIVERED: "delivered",
    Status.EXCEPTION: "failure",
    Status.UNKNOWN: "unknown",
}

# The Express checkpoint DHL most often shows for each pair it can state.
EXPRESS_CODES: dict[Mapping, str] = {
    (Status.INFO_RECEIVED, None): "104",
    (Status.IN_TRANSIT, None): "PL",
    (Status.IN_TRANSIT, Reason.CUSTOMS): "IC",
    (Status.OUT_FOR_DELIVERY, None): "WC",
    (Status.AVAILABLE_FOR_PICKUP, None): "CC",
    (Status.ATTEMPT_FAIL, None): "ND",
    (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE): "NH",
    (Status.ATTEMPT_FAIL, Reason.BUSINESS_CLOSED): "CA",
    (Status.DELIVERED, None): "OK",
    (Status.DELIVERED, Reason.DAMAGED): "DD",
    (Status.EXCEPTION, None): "OH",
    (Status.EXCEPTION, Reason.ADDRESS_ISSUE): "BA",
    (Status.EXCEPTION, Reason.CUSTOMS): "CD",
    (Status.EXCEPTION, Reason.HELD_FOR_PAYMENT): "HP",
    (Status.EXCEPTION, Reason.MISSORT): "MS",
    (Status.EXCEPTION, Reason.TRANSPORT_DELAY): "MD",
    (Status.EXCEPTION, Reason.REFUSED): "RD",
    (Status.EXCEPTION, Reason.RETURNED_TO_SENDER): "RT",
}


def _reverse(service: str) -> dict[Mapping, str]:
    """One code per (status, reason) the service's list states and the parser accepts, never a
    departure code."""
    chosen: dict[Mapping, str] = {}
    departures = SERVICE_DEPARTURES.get(service, frozenset())
    for code, mapping in SERVICE_TABLES[service].items():
        status_code = STATUS_CODES.get(mapping[0])
        accepted = status_code is not None and mapping[0] in REFINABLE[status_code]
        if accepted and code not in departures:
            chosen.setdefault(mapping, code)
    if service == DEFAULT_SERVICE:
        chosen.update(EXPRESS_CODES)
    return chosen


REVERSE: dict[str, dict[Mapping, str]] = {name: _reverse(name) for name in SERVICE_TABLES}


def _departure(service: str) -> str | None:
    """The first departure code the service's list has for ``in_transit``, if any."""
    departures = SERVICE_DEPARTURES.get(service, frozenset())
    in_transit = (Status.IN_TRANSIT, None)
    table = SERVICE_TABLES[service].items()
    return next((c for c, mapping in table if c in departures and mapping == in_transit), None)


DEPARTURES: dict[str, str | None] = {name: _departure(name) for name in SERVICE_TABLES}


def unified_service(service: str | None) -> str:
    """The Unified API service a world service name stands for (``express`` by default)."""
    name = "-".join((service or "").lower().split())
    for candidate in sorted(SERVICE_TABLES, key=len, reverse=True):
        if candidate in name:
            return candidate
    return DEFAULT_SERVICE


def status_fields(
    status: Status, reason: Reason | None, service: str, text: str, *, departed: bool = False
) -> dict[str, str]:
    """``statusCode`` and ``status`` for a pair (see the module doc for what is dropped)."""
    status_code = STATUS_CODES[status]
    codes = REVERSE[service]
    code = codes.get((status, reason)) or codes.get((status, None))
    if departed and (status, reason) == (Status.IN_TRANSIT, None):
        code = DEPARTURES[service] or code
    if status is not Status.UNKNOWN and code is not None:
        return {"statusCode": status_code, "status": code}
    free_text = text if text and service_code(service, text) is None else status_code
    return {"statusCode": status_code, "status": free_text}


def _address(location: Location) -> dict[str, str]:
    fields = {
        "countryCode": location.country,
        "postalCode": location.postal_code,
        "addressLocality": location.city,
    }
    return {key: value for key, value in fields.items() if value}


def _event(event: TrackingEvent, service: str) -> dict[str, Any]:
    body: dict[str, Any] = {"timestamp": event.occurred_at.isoformat()}
    address = _address(event.location)
    if address:
        body["location"] = {"address": address}
    fields = status_fields(
        event.status, event.reason, service, event.description, departed=event.departed
    )
    body.update(fields)
    body["description"] = event.description
    return body


def _stamp(value: date | datetime) -> str:
    return value.isoformat()


def _estimate(estimate: EstimatedDelivery | None) -> dict[str, Any]:
    if estimate is None:
        return {}
    body: dict[str, Any] = {"estimatedTimeOfDelivery": _stamp(estimate.earliest)}
    if estimate.latest != estimate.earliest:
        body["estimatedDeliveryTimeFrame"] = {
            "estimatedFrom": _stamp(estimate.earliest),
            "estimatedThrough": _stamp(estimate.latest),
        }
    return body


def shipment_body(result: TrackingResult) -> dict[str, Any] | None:
    """A Unified ``shipments[]`` entry, or None when nothing in it has a DHL form."""
    service = unified_service(result.service)
    written = [e for e in result.events if e.status in STATUS_CODES]
    if not written:
        return None
    newest = written[0]
    if result.status in STATUS_CODES:
        current = status_fields(result.status, result.reason, service, newest.description)
    else:  # pending / expired: DHL shows its newest scan
        current = status_fields(newest.status, newest.reason, service, newest.description)
    body: dict[str, Any] = {
        "id": result.tracking_number,
        "service": service,
        "status": {"timestamp": newest.occurred_at.isoformat(), **current},
        **_estimate(result.estimated_delivery),
        "events": [_event(event, service) for event in written],
    }
    if result.delivered_at is not None and result.status is Status.DELIVERED:
        body["details"] = {"proofOfDelivery": {"timestamp": result.delivered_at.isoformat()}}
    return body


def not_found_body(number: str) -> bytes:
    problem = {
        "title": "No result found",
        "detail": "No shipment with given tracking number found.",
        "status": 404,
        "instance": "/shipment/" + quote(number, safe=""),
    }
    return json.dumps(problem).encode()


class DhlSandboxCodec:
    """Speaks DHL's Unified API tracking for the generic sandbox server."""

    token_path: str | None = None

    def match(
        self, method: str, path: str, query: MappingType[str, list[str]], body: bytes
    ) -> list[str] | None:
        if method != "GET" or not path.rstrip("/").endswith(TRACK_PATH):
            return None
        numbers = [value.strip() for value in query.get("trackingNumber", []) if value.strip()]
        return numbers[:1]

    def respond(self, found: Sequence[TrackingResult], missing: Sequence[str]) -> tuple[int, bytes]:
        shipments = [body for body in (shipment_body(r) for r in found) if body is not None]
        if shipments:
            return 200, json.dumps({"shipments": shipments}).encode()
        numbers = [*missing, *(r.tracking_number for r in found)]
        if not numbers:
            problem = {
                "title": "Bad Request",
                "status": 400,
                "detail": "The query parameter trackingNumber is required.",
            }
            return 400, json.dumps(problem).encode()
        return 404, not_found_body(numbers[0])


SANDBOX = DhlSandboxCodec()
