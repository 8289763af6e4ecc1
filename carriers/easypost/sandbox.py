"""EasyPost's wire format for the carrier sandbox: tracker lists as ``GET /v2/trackers``.

``match`` recognises exactly what client.py sends: ``GET /v2/trackers`` with
``tracking_codes[]`` (plus ``page_size``, and ``before_id`` on a follow-up page, which this
sandbox answers with an empty last page because it returns everything on the first).
``respond`` writes ``{"trackers": [...], "has_more": false}``. EasyPost's list endpoint
simply leaves out codes it has no tracker for, so numbers the world does not know are
absent from the list: that is the real "not found" of this endpoint.

Encoding (our model back to EasyPost's): status and reason through codes.encode (a
departure scan in transit as ``departed_facility``); event times as EasyPost writes them,
i.e. UTC with ``Z`` for scans with a place, and for scans without one the wall-clock time in
the zone parse.py will resolve them with, still labelled ``Z`` (so the newest placed scan's
location is written as the destination); an estimated day as ``est_delivery_date_local``
plus midnight-UTC ``est_delivery_date``; an estimated time as its UTC instant. EasyPost has
no window and no failed-attempt status: a window is written as its latest end,
``attempt_fail`` as an in-transit delivery exception.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from carriers.easypost.codes import encode
from carriers.easypost.parse import is_placed, resolve_time, zone_candidates
from carriers.models import EstimatedDelivery, Location, TrackingEvent, TrackingResult
from carriers.taxonomy import Status
from carriers.timezones import zone_for

TRACKERS_PATH = "/v2/trackers"
CODES_PARAM = "tracking_codes[]"

# Our carrier names -> the names EasyPost uses in Tracker.carrier.
_EASYPOST_CARRIERS = {
    "fedex": "FedEx",
    "ups": "UPS",
    "usps": "USPS",
    "dhl": "DHLExpress",
    "canadapost": "CanadaPost",
    "amazon": "AmazonShipping",
}


class EasyPostSandbox:
    """SandboxCodec for EasyPost (see the module doc)."""

    token_path: str | None = None
    # An aggregator: the sandbox looks numbers up across every carrier of the world.
    aggregator = True

    def match(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> list[str] | None:
        if method.upper() != "GET" or path.rstrip("/") != TRACKERS_PATH:
            return None
        codes = query.get(CODES_PARAM)
        if not codes:
            return None
        if query.get("before_id"):
            return []  # a follow-up page: everything was on the first one
        return [code for code in codes if code]

    def respond(self, found: Sequence[TrackingResult], missing: Sequence[str]) -> tuple[int, bytes]:
        body = {"trackers": [tracker(result) for result in found], "has_more": False}
        return 200, json.dumps(body).encode()


SANDBOX = EasyPostSandbox()


def tracker(result: TrackingResult) -> dict[str, Any]:
    """An EasyPost Tracker object for one result."""
    status, detail = encode(result.status, result.reason)
    destination = _destination(result.events)
    created = result.events[-1].occurred_at if result.events else _EPOCH
    updated = result.events[0].occurred_at if result.events else _EPOCH
    ident = hashlib.sha256(result.tracking_number.encode()).hexdigest()[:32]
    eta_utc, eta_local = _eta(result.estimated_delivery)
    return {
        "id": f"trk_{ident}",
        "object": "Tracker",
        "mode": "production",
        "tracking_code": result.tracking_number,
        "status": status,
        "status_detail": detail,
        "created_at": _zulu(created),
        "updated_at": _zulu(updated),
        "signed_by": None,
        "weight": None,
        "est_delivery_date": eta_utc,
        "shipment_id": None,
        "carrier": _EASYPOST_CARRIERS.get(result.carrier, result.carrier),
        "tracking_details": [
            _detail(event, destination) for event in reversed(result.events)
        ],  # EasyPost lists the oldest scan first
        "carrier_detail": {
            "object": "CarrierDetail",
            "service": result.service,
            "container_type": None,
            "est_delivery_date_local": eta_local,
            "est_delivery_time_local": None,
            "origin_location": None,
            "origin_tracking_location": None,
            "destination_location": None,
            "destination_tracking_location": _location(destination) if destination else None,
            "guaranteed_delivery_date": None,
            "alternate_identifier": None,
            "initial_delivery_attempt": None,
        },
        "finalized": result.status in (Status.DELIVERED, Status.EXPIRED),
        "is_return": False,
        "public_url": f"https://track.easypost.com/{ident}",
        "fees": [],
    }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _destination(events: Sequence[TrackingEvent]) -> Location | None:
    """The newest placed scan's location, written as the shipment's destination."""
    for event in events:
        if is_placed(event.location) and zone_for(event.location) is not None:
            return event.location
    return None


def _detail(event: TrackingEvent, destination: Location | None) -> dict[str, Any]:
    status, detail = encode(event.status, event.reason, departed=event.departed)
    return {
        "object": "TrackingDetail",
        "message": event.description,
        "description": event.description,
        "status": status,
        "status_detail": detail,
        "datetime": _event_time(event, destination),
        "source": None,
        "carrier_code": "",
        "tracking_location": _location(event.location),
    }


def _event_time(event: TrackingEvent, destination: Location | None) -> str:
    """EasyPost's ``datetime``: UTC for placed scans, else wall-clock labelled UTC."""
    if is_placed(event.location):
        return _zulu(event.occurred_at)
    for candidate in zone_candidates(event.location, (destination,)):
        zone = zone_for(candidate)
        if zone is not None:
            wall = event.occurred_at.astimezone(zone).replace(tzinfo=UTC)
            if resolve_time(wall, event.location, (destination,)) == event.occurred_at:
                return _zulu(wall)
    # No zone EasyPost's reader could resolve: the time goes out as UTC, as EasyPost does.
    return _zulu(event.occurred_at)


def _eta(eta: EstimatedDelivery | None) -> tuple[str | None, str | None]:
    """(est_delivery_date, carrier_detail.est_delivery_date_local)."""
    if eta is None:
        return None, None
    latest = eta.latest
    if isinstance(latest, datetime):
        return _zulu(latest), None
    return f"{latest.isoformat()}T00:00:00Z", latest.isoformat()


def _location(location: Location) -> dict[str, Any]:
    return {
        "object": "TrackingLocation",
        "city": location.city,
        "state": location.region,
        "country": location.country,
        "zip": location.postal_code,
    }


def _zulu(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
