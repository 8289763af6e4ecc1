"""AfterShip's wire format for the carrier sandbox: API v4 ``GET /v4/trackings`` lists.

``match`` recognises exactly what client.py sends: ``GET /v4/trackings`` with a
comma-separated ``tracking_numbers`` (plus ``limit`` and ``page``; a page after the first
gets an empty list, since this sandbox returns everything on page 1). ``respond`` writes
``{"meta": {"code": 200}, "data": {"page", "limit", "count", ..., "trackings": [...]}}``.
The list endpoint leaves out numbers AfterShip has no tracking for, so numbers the world
does not know are absent: that is this endpoint's real "not found" (a single-tracking GET
would answer 404 with meta code 4004, which parse.py also reads).

Encoding: status and reason through codes.encode (a departure scan in transit as
``InTransit_007``); checkpoint times with their own offset (AfterShip's
``YYYY-MM-DDTHH:mm:ss+HH:MM`` form); countries as alpha-3. v4 has one
carrier-stated ETA field: a single day or time goes into ``expected_delivery``; a window of
days goes into ``aftership_estimated_delivery_date`` (min/max); a window of times cannot be
expressed and is written as its latest end. Our ``unknown`` status has no AfterShip tag and
is written as ``Pending``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from carriers.aftership.codes import encode
from carriers.aftership.countries import alpha3
from carriers.models import EstimatedDelivery, TrackingEvent, TrackingResult
from carriers.taxonomy import TERMINAL_STATUSES, Reason

TRACKINGS_PATH = "/v4/trackings"
PAGE_LIMIT = 200

# Our carrier names -> AfterShip courier slugs.
_SLUGS = {"canadapost": "canada-post", "pitneybowes": "pitney-bowes"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# AfterShip's "subtag message" for the subtags whose message the stored docs show; others
# are written with their tag's name.
SUBTAG_MESSAGES = {
    "Delivered_001": "Delivered",
    "Delivered_002": "Picked up by the customer",
    "Delivered_003": "Sign by customer",
    "Delivered_004": "Delivered and received cash on delivery",
    "Delivered_005": "Delivered to neighbor",
    "AvailableForPickup_001": "Available for pickup",
    "Exception_001": "Exception",
    "Exception_002": "Customer moved",
    "Exception_003": "Customer refused delivery",
    "Exception_004": "Delayed (Customs clearance)",
    "Exception_005": "Delayed (External factors)",
    "Exception_006": "Held for payment",
    "Exception_007": "Incorrect Address",
    "Exception_008": "Pick up missed",
    "Exception_009": "Rejected by carrier",
    "Exception_010": "Returning to sender",
    "Exception_011": "Returned to sender",
    "Exception_012": "Shipment damage",
    "Exception_013": "Shipment lost",
    "Exception_016": "Delayed (Processing issue)",
    "Exception_017": "Delayed (Extreme weather)",
    "Exception_018": "Incorrect / missing documents",
    "InTransit_007": "Departure Scan",
    "InfoReceived_001": "Info Received",
    "OutForDelivery_001": "Out for Delivery",
    "Pending_001": "Pending",
    "Expired_001": "Expired",
}


class AfterShipSandbox:
    """SandboxCodec for AfterShip (see the module doc)."""

    token_path: str | None = None
    # An aggregator: the sandbox looks numbers up across every carrier of the world.
    aggregator = True

    def match(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> list[str] | None:
        if method.upper() != "GET" or path.rstrip("/") != TRACKINGS_PATH:
            return None
        values = query.get("tracking_numbers")
        if not values:
            return None
        page = (query.get("page") or ["1"])[0]
        if page not in ("", "1"):
            return []
        return [n.strip() for value in values for n in value.split(",") if n.strip()]

    def respond(self, found: Sequence[TrackingResult], missing: Sequence[str]) -> tuple[int, bytes]:
        body = {
            "meta": {"code": 200},
            "data": {
                "page": 1,
                "limit": PAGE_LIMIT,
                "count": len(found),
                "keyword": "",
                "slug": "",
                "origin": [],
                "destination": [],
                "tag": "",
                "fields": "",
                "trackings": [tracking(result) for result in found],
            },
        }
        return 200, json.dumps(body).encode()


SANDBOX = AfterShipSandbox()


def tracking(result: TrackingResult) -> dict[str, Any]:
    """An AfterShip v4 tracking object for one result."""
    tag, subtag = encode(result.status, result.reason)
    slug = _SLUGS.get(result.carrier, result.carrier)
    created = result.events[-1].occurred_at if result.events else _EPOCH
    updated = result.events[0].occurred_at if result.events else _EPOCH
    expected, predicted = _eta(result.estimated_delivery)
    return {
        "id": hashlib.sha256(result.tracking_number.encode()).hexdigest()[:24],
        "created_at": _utc(created),
        "updated_at": _utc(updated),
        "last_updated_at": _utc(updated),
        "tracking_number": result.tracking_number,
        "slug": slug,
        "active": result.status not in TERMINAL_STATUSES,
        "custom_fields": None,
        "customer_name": None,
        "destination_country_iso3": None,
        "origin_country_iso3": None,
        "emails": [],
        "smses": [],
        "expected_delivery": expected,
        "aftership_estimated_delivery_date": predicted,
        "order_id": None,
        "shipment_type": result.service,
        "shipment_delivery_date": result.delivered_at.isoformat() if result.delivered_at else None,
        "signed_by": None,
        "source": "api",
        "tag": tag,
        "subtag": subtag,
        "subtag_message": SUBTAG_MESSAGES.get(subtag, tag),
        "title": result.tracking_number,
        "tracked_count": len(result.events),
        "return_to_sender": result.reason
        in (Reason.RETURNING_TO_SENDER, Reason.RETURNED_TO_SENDER),
        "checkpoints": [_checkpoint(event, slug) for event in reversed(result.events)],
    }


def _checkpoint(event: TrackingEvent, slug: str) -> dict[str, Any]:
    tag, subtag = encode(event.status, event.reason, departed=event.departed)
    return {
        "slug": slug,
        "city": event.location.city,
        "state": event.location.region,
        "zip": event.location.postal_code,
        "country_iso3": alpha3(event.location.country),
        "country_name": event.location.country,
        "location": None,
        "message": event.description,
        "tag": tag,
        "subtag": subtag,
        "subtag_message": SUBTAG_MESSAGES.get(subtag, tag),
        "checkpoint_time": event.occurred_at.isoformat(),
        "created_at": _utc(event.occurred_at),
        "coordinates": [],
    }


def _eta(eta: EstimatedDelivery | None) -> tuple[str | None, dict[str, Any] | None]:
    """(expected_delivery, aftership_estimated_delivery_date)."""
    if eta is None:
        return None, None
    if eta.earliest == eta.latest or isinstance(eta.latest, datetime):
        return eta.latest.isoformat(), None
    return None, {
        "estimated_delivery_date": eta.latest.isoformat(),
        "confidence_code": None,
        "estimated_delivery_date_min": eta.earliest.isoformat(),
        "estimated_delivery_date_max": eta.latest.isoformat(),
    }


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
