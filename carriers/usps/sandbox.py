"""USPS sandbox codec: answers our client's v3 requests in USPS's own JSON.

``match`` recognises ``GET .../tracking/v3/tracking/{number}?expand=DETAIL`` (one number per
request, as the real API). ``respond`` writes a v3 tracking body for a known number, and
for a number the world does not know, or one without any scan yet, the HTTP 400 envelope
USPS really sends (150001 "A status update is not yet available").

Encoding our model back into USPS terms:

* Event codes: the event's own code when it is a USPS code with the same (status, reason)
  and says departed exactly when the event does; else :data:`DEPARTURE_CODE` for a
  departure scan in transit; else the representative code chosen in
  :data:`REPRESENTATIVE_CODES`; else the default code of the status in
  :data:`STATUS_DEFAULT_CODES` (USPS has no code for, e.g., a weather
  delay: it becomes 71 "Rescheduled to next delivery day", reason unknown). An event of
  status unknown keeps its own code when that code is not in our tables, else gets
  :data:`UNMAPPED_CODE`, standing for the Pub 199 codes our tables do not know. Pending
  and expired events are not written: USPS has no such scans, it shows the others. A
  result with no other scan gets the 400 "not yet available" envelope.
* Times: ``eventTimestamp`` is the local wall time in the event's own offset, ``GMTOffset``
  that offset, and ``GMTTimestamp`` reproduces USPS's quirk of stamping the UTC time of
  day with the local calendar date (see ``carriers.usps.parse``).
* Estimated delivery: a day -> ``expectedDeliveryTimeStamp`` at midnight (a range of days
  -> its last day: USPS states one day); a time -> ``expectedDeliveryTimeStamp`` at that
  local time; a window within one day -> ``predictedDeliveryDate`` with window start/end
  times. Times need a destination state whose zone has the ETA's offset: the newest event
  state that fits, else a representative state per US zone; if none fits, the ETA is
  written as its last day.
* Status: ``statusCategory`` from the result status ("Alert" for exceptions, none for
  pending/expired/unknown, where the newest event decides).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from carriers.models import EstimatedDelivery, TrackingEvent, TrackingResult
from carriers.taxonomy import Reason, Status
from carriers.timezones import US_STATE_ZONES
from carriers.usps.client import TOKEN_PATH
from carriers.usps.codes import EVENT_CODES, CodeMapping, departs

_PATH = re.compile(r"/tracking/v3/tracking/([^/]+)$")

# One deliberate USPS code for every (status, reason) our code table can express.
REPRESENTATIVE_CODES: dict[CodeMapping, str] = {
    (Status.INFO_RECEIVED, None): "GX",
    (Status.IN_TRANSIT, None): "10",
    (Status.OUT_FOR_DELIVERY, None): "OF",
    (Status.AVAILABLE_FOR_PICKUP, None): "16",
    (Status.DELIVERED, None): "01",
    (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE): "02",
    (Status.ATTEMPT_FAIL, Reason.ADDRESS_ISSUE): "30",
    (Status.ATTEMPT_FAIL, Reason.BUSINESS_CLOSED): "51",
    (Status.EXCEPTION, Reason.RETURNING_TO_SENDER): "09",
    (Status.EXCEPTION, Reason.REFUSED): "04",
    (Status.EXCEPTION, Reason.ADDRESS_ISSUE): "05",
    (Status.EXCEPTION, Reason.MISSORT): "08",
    (Status.EXCEPTION, Reason.LOST): "11",
    (Status.EXCEPTION, Reason.CANCELLED): "44",
    (Status.EXCEPTION, Reason.UNKNOWN): "71",
    (Status.EXCEPTION, Reason.NO_SCAN): "DX",
}

# Written instead of the in-transit code for a departure scan: Departed USPS Regional Facility.
DEPARTURE_CODE = "T1"

# When USPS has no code for the reason: the status's most common code.
STATUS_DEFAULT_CODES: dict[Status, str] = {
    Status.INFO_RECEIVED: "GX",
    Status.IN_TRANSIT: "10",
    Status.OUT_FOR_DELIVERY: "OF",
    Status.AVAILABLE_FOR_PICKUP: "16",
    Status.DELIVERED: "01",
    Status.ATTEMPT_FAIL: "02",
    Status.EXCEPTION: "71",
}

STATUS_CATEGORY_NAMES: dict[Status, str] = {
    Status.INFO_RECEIVED: "Pre-Shipment",
    Status.IN_TRANSIT: "Moving Through Network",
    Status.OUT_FOR_DELIVERY: "Out for Delivery",
    Status.AVAILABLE_FOR_PICKUP: "Available for Pickup",
    Status.ATTEMPT_FAIL: "Delivery Attempt",
    Status.DELIVERED: "Delivered",
    Status.EXCEPTION: "Alert",
}

# Written for an event of status unknown that has no code of its own.
UNMAPPED_CODE = "Z9"
# Scans USPS never sends.
_NO_SCAN_STATUSES = frozenset({Status.PENDING, Status.EXPIRED})

# A state per US zone, for writing ETA times when no event state has the ETA's offset.
_ZONE_STATES = ("NY", "IL", "CO", "AZ", "CA", "AK", "HI", "PR", "GU")

NOT_YET_AVAILABLE = (
    "12: A status update is not yet available on your package. It will be available when "
    "the shipper provides an update or the package is given to USPS. Check back soon. Sign "
    "up for Informed Delivery<SUP>reg;</SUP> to receive notifications for packages "
    "addressed to you. - "
)


def event_code(event: TrackingEvent) -> str:
    """The USPS code written for an event (see the module doc)."""
    pair = (event.status, event.reason)
    if EVENT_CODES.get(event.code) == pair and departs(event.code) is event.departed:
        return event.code
    if event.status is Status.UNKNOWN:
        return event.code if event.code and event.code not in EVENT_CODES else UNMAPPED_CODE
    if event.departed and pair == (Status.IN_TRANSIT, None):
        return DEPARTURE_CODE
    code = REPRESENTATIVE_CODES.get(pair) or STATUS_DEFAULT_CODES.get(event.status)
    if code is None:
        raise ValueError(
            f"USPS sandbox: no USPS scan expresses status {event.status.value!r}"
            f" (event {event.description!r}); USPS only reports "
            + ", ".join(s.value for s in STATUS_DEFAULT_CODES)
        )
    return code


class UspsSandbox:
    """The :class:`carriers.registry.SandboxCodec` for USPS."""

    token_path: str | None = TOKEN_PATH

    def match(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> list[str] | None:
        found = _PATH.search(path)
        if method.upper() != "GET" or found is None or list(query.get("expand", [])) != ["DETAIL"]:
            return None
        return [unquote(found.group(1))]

    def respond(self, found: Sequence[TrackingResult], missing: Sequence[str]) -> tuple[int, bytes]:
        if len(found) + len(missing) != 1:
            raise ValueError("USPS sandbox: the v3 API answers exactly one number per request")
        if missing or not _scans(found[0]):
            return 400, _dump(not_found_body())
        return 200, _dump(tracking_body(found[0]))


def _scans(result: TrackingResult) -> list[TrackingEvent]:
    """The events USPS would show: every one but pending/expired ones."""
    return [e for e in result.events if e.status not in _NO_SCAN_STATUSES]


def not_found_body() -> dict[str, Any]:
    return {
        "apiVersion": "/tracking/v3",
        "error": {
            "code": "400",
            "message": NOT_YET_AVAILABLE,
            "errors": [{"title": NOT_YET_AVAILABLE, "detail": "", "code": "150001"}],
        },
    }


def tracking_body(result: TrackingResult) -> dict[str, Any]:
    scans = _scans(result)
    body: dict[str, Any] = {"trackingNumber": result.tracking_number}
    body.update(_eta_fields(result.estimated_delivery, scans))
    if result.service:
        body["mailClass"] = result.service
    if scans:
        body["status"] = scans[0].description
    category = STATUS_CATEGORY_NAMES.get(result.status)
    if category:
        body["statusCategory"] = category
    body["trackingEvents"] = [_event(e) for e in scans]
    return body


def _event(event: TrackingEvent) -> dict[str, Any]:
    local = event.occurred_at.replace(tzinfo=None)
    utc = event.occurred_at.astimezone(UTC)
    return {
        "eventType": event.description,
        "eventTimestamp": local.isoformat(),
        "GMTTimestamp": f"{local.date().isoformat()}T{utc.strftime('%H:%M:%S')}Z",
        "GMTOffset": _offset_text(event.occurred_at),
        "eventCountry": event.location.country,
        "eventCity": event.location.city,
        "eventState": event.location.region,
        "eventZIP": event.location.postal_code,
        "firm": None,
        "name": None,
        "authorizedAgent": "false",
        "eventCode": event_code(event),
    }


def _offset_text(moment: datetime) -> str:
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _eta_fields(eta: EstimatedDelivery | None, events: Sequence[TrackingEvent]) -> dict[str, str]:
    if eta is None:
        return {}
    last_day = _day_of(eta.latest)
    day_only = {"expectedDeliveryTimeStamp": f"{last_day.isoformat()}T00:00:00"}
    if not (isinstance(eta.earliest, datetime) and isinstance(eta.latest, datetime)):
        return day_only
    state = _state_for(eta.earliest, events)
    if state is None:
        return day_only
    zone = ZoneInfo(US_STATE_ZONES[state])
    first, last = eta.earliest.astimezone(zone), eta.latest.astimezone(zone)
    if first.date() != last.date():
        return day_only
    if first == last and first.time() != time(0, 0):  # midnight would read as a day
        return {"destinationState": state, "expectedDeliveryTimeStamp": _naive(first)}
    return {
        "destinationState": state,
        "predictedDeliveryDate": first.date().isoformat(),
        "predictedDeliveryWindowStartTime": first.strftime("%H:%M:%S"),
        "predictedDeliveryWindowEndTime": last.strftime("%H:%M:%S"),
    }


def _day_of(moment: date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def _naive(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat()


def _state_for(moment: datetime, events: Sequence[TrackingEvent]) -> str | None:
    """A state whose zone shows ``moment`` with the offset it carries."""
    states = [e.location.region for e in events if e.location.region] + list(_ZONE_STATES)
    for state in states:
        name = US_STATE_ZONES.get(state.upper())
        if name and moment.astimezone(ZoneInfo(name)).utcoffset() == moment.utcoffset():
            return state.upper()
    return None


def _dump(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")


SANDBOX = UspsSandbox()
