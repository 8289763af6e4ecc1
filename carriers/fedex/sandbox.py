"""FedEx Track API v1 wire format for the carrier sandbox (our model back into FedEx JSON).

Requests recognised: exactly what :mod:`carriers.fedex.client` sends, ``POST
/track/v1/trackingnumbers`` (any base-URL prefix, no query) with a JSON ``trackingInfo``
list; the token endpoint is ``/oauth/token``. Responses follow the samples: known numbers
as ``output.completeTrackResults`` with ``latestStatusDetail``, ``scanEvents``,
``dateAndTimes`` and ``estimatedDeliveryTimeWindow``; unknown numbers as FedEx's real
per-result ``TRACKING.TRACKINGNUMBER.NOTFOUND`` error (HTTP 200); a request without numbers
as the ``TRACKING.TRACKINGNUMBER.EMPTY`` envelope (HTTP 400).

Each (status, reason) is written as one representative FedEx code (:data:`REVERSE`, derived
from :mod:`carriers.fedex.codes` in a deliberate order: plain event types first, then
``DE``/``SE``/``DY`` with an exception code, then a ``delayDetail``) that parses back to the
same pair. FedEx's documented codes cannot say every reason. An ``in_transit`` parcel with
a cause is written the way FedEx says it, as a delay (``exception`` with that cause); any
other pair without a code is written as its status without the reason, else as ``DY``
(``exception``, no cause). A cause FedEx cannot state is dropped, never replaced by another.
``pending`` has no FedEx form: FedEx answers "not found" for a number it has not seen, and
so does the sandbox. ``unknown`` events keep their own code. A departure scan in transit is
written as ``DP`` (Departed). An estimate that is a datetime exactly at local midnight reads
back as that day (FedEx's way of writing a day).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from carriers.fedex.client import TOKEN_PATH, TRACK_PATH
from carriers.fedex.codes import (
    DELAY_SUBTYPES,
    DELAY_TYPES,
    DERIVED_CODES,
    EVENT_TYPES,
    EXCEPTION_CODES,
    Delay,
    classify,
)
from carriers.models import EstimatedDelivery, Location, TrackingEvent, TrackingResult
from carriers.taxonomy import Reason, Status

# Plain event types tried first, so the common statuses get the codes FedEx uses most
# (IT, not PU, for in transit; DY, a delay, for an exception without a cause).
PREFERRED_TYPES = ("OC", "IT", "OD", "DL", "HL", "DY", "DE", "RS", "CA", "PD", "CD", "CP", "RD")
# Generic event types without a reason of their own, tried with each exception code
# ("DE/007" for a failed attempt). CD and PD name a cause themselves and are left out.
EXCEPTION_CARRIERS = ("DE", "SE", "DY", "DD")
NOT_FOUND_MESSAGE = (
    "The tracking number you entered can't be found right now. Please check the number "
    "with the shipper or try again later."
)
_DERIVED_FOR_STATUS = {
    Status.INFO_RECEIVED: "IN",
    Status.IN_TRANSIT: "IT",
    Status.OUT_FOR_DELIVERY: "IT",
    Status.ATTEMPT_FAIL: "DE",
    Status.EXCEPTION: "DE",
    Status.AVAILABLE_FOR_PICKUP: "HL",
    Status.DELIVERED: "DL",
}


@dataclass(frozen=True)
class Encoding:
    """One FedEx way of saying a (status, reason)."""

    event_type: str
    exception_code: str = ""
    delay: Delay | None = None

    def classify(self) -> tuple[Status, Reason | None]:
        meaning = classify(self.event_type, self.exception_code, self.delay)
        return meaning.status, meaning.reason


def _candidates() -> Iterator[Encoding]:
    ordered = list(PREFERRED_TYPES) + [t for t in EVENT_TYPES if t not in PREFERRED_TYPES]
    plain = [Encoding(t) for t in ordered]
    with_exception = [Encoding(t, x) for t in EXCEPTION_CARRIERS for x in EXCEPTION_CODES]
    yield from plain
    yield from with_exception
    delays = [Delay(kind, "", "DELAYED") for kind, reason in DELAY_TYPES.items() if reason]
    delays += [Delay("WEATHER", sub, "DELAYED") for sub in DELAY_SUBTYPES]
    for base in [Encoding("DY"), *plain, *with_exception]:
        for delay in delays:
            yield Encoding(base.event_type, base.exception_code, delay)


def _reverse() -> dict[tuple[Status, Reason | None], Encoding]:
    table: dict[tuple[Status, Reason | None], Encoding] = {}
    for encoding in _candidates():
        key = encoding.classify()
        if key[0] is not Status.UNKNOWN:
            table.setdefault(key, encoding)
    return table


REVERSE: dict[tuple[Status, Reason | None], Encoding] = _reverse()
# Written instead of the in-transit code for a departure scan.
DEPARTURE = Encoding("DP")


def encoding_for(status: Status, reason: Reason | None) -> Encoding | None:
    """The FedEx code for a pair, with the fallbacks of the module doc; None for pending."""
    if status in (Status.PENDING, Status.UNKNOWN):
        return None
    keys = [(status, reason)]
    if status is Status.IN_TRANSIT:
        keys.append((Status.EXCEPTION, reason))  # FedEx: a late parcel in transit
    keys.append((status, None))
    for key in keys:
        if key in REVERSE:
            return REVERSE[key]
    return REVERSE[(Status.EXCEPTION, None)]


class FedExSandbox:
    """The FedEx codec of the carrier sandbox (see the module doc)."""

    token_path: str | None = TOKEN_PATH

    def match(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> list[str] | None:
        if method.upper() != "POST" or query or not path.rstrip("/").endswith(TRACK_PATH):
            return None
        try:
            doc = json.loads(body or b"null")
        except ValueError:
            return None
        infos = doc.get("trackingInfo") if isinstance(doc, dict) else None
        if not isinstance(infos, list):
            return None
        numbers: list[str] = []
        for info in infos:
            inner = info.get("trackingNumberInfo") if isinstance(info, dict) else None
            number = inner.get("trackingNumber") if isinstance(inner, dict) else None
            if not isinstance(number, str):
                return None
            numbers.append(number)
        return numbers

    def respond(self, found: Sequence[TrackingResult], missing: Sequence[str]) -> tuple[int, bytes]:
        numbers = [r.tracking_number for r in found] + list(missing)
        transaction = str(uuid.uuid5(uuid.NAMESPACE_URL, "fedex:" + ",".join(numbers)))
        if not numbers:
            body: dict[str, Any] = {
                "transactionId": transaction,
                "errors": [
                    {
                        "code": "TRACKING.TRACKINGNUMBER.EMPTY",
                        "message": "Please provide tracking number.",
                    }
                ],
            }
            return 400, json.dumps(body).encode()
        complete = [_found(r) for r in found] + [_not_found(n) for n in missing]
        body = {"transactionId": transaction, "output": {"completeTrackResults": complete}}
        return 200, json.dumps(body).encode()


def _not_found(number: str) -> dict[str, Any]:
    return {
        "trackingNumber": number,
        "trackResults": [
            {
                "trackingNumberInfo": {
                    "trackingNumber": number,
                    "trackingNumberUniqueId": "",
                    "carrierCode": "",
                },
                "error": {"code": "TRACKING.TRACKINGNUMBER.NOTFOUND", "message": NOT_FOUND_MESSAGE},
            }
        ],
    }


def _found(result: TrackingResult) -> dict[str, Any]:
    events = [e for e in result.events if e.status is not Status.PENDING]
    if not events and result.status in (Status.PENDING, Status.UNKNOWN):
        return _not_found(result.tracking_number)
    number = result.tracking_number
    track: dict[str, Any] = {
        "trackingNumberInfo": {
            "trackingNumber": number,
            "trackingNumberUniqueId": f"12029~{number}~FDEG",
            "carrierCode": "FDXG",
        },
        "dateAndTimes": _dates(result),
        "scanEvents": [_scan_event(e) for e in events],
        "estimatedDeliveryTimeWindow": {"window": _window(result.estimated_delivery)},
    }
    latest = _latest(result, events)
    if latest:
        track["latestStatusDetail"] = latest
    if result.service:
        track["serviceDetail"] = {"description": result.service}
    if result.estimated_delivery is None and result.status is not Status.DELIVERED:
        track["serviceCommitMessage"] = {
            "message": "No scheduled delivery date available at this time.",
            "type": "ESTIMATED_DELIVERY_DATE_UNAVAILABLE",
        }
    return {"trackingNumber": number, "trackResults": [track]}


def _encode_event(event: TrackingEvent) -> Encoding:
    if event.departed and (event.status, event.reason) == (Status.IN_TRANSIT, None):
        return DEPARTURE
    encoding = encoding_for(event.status, event.reason)
    if encoding is not None:
        return encoding
    main, _, extra = event.code.partition("/")  # unknown: the event's own code, as is
    return Encoding(main, extra)


def _scan_event(event: TrackingEvent) -> dict[str, Any]:
    encoding = _encode_event(event)
    scan: dict[str, Any] = {
        "date": event.occurred_at.isoformat(),
        "eventType": encoding.event_type,
        "eventDescription": _type_description(encoding.event_type),
        "exceptionCode": encoding.exception_code,
        "exceptionDescription": _exception_description(encoding.exception_code),
        "scanLocation": _scan_location(event.location),
        "derivedStatusCode": _derived(encoding, event.status),
    }
    if encoding.delay is not None:
        scan["delayDetail"] = _delay(encoding.delay)
    return scan


def _latest(result: TrackingResult, events: list[TrackingEvent]) -> dict[str, Any]:
    if result.status is Status.UNKNOWN:
        newest_unknown = next((e for e in events if e.status is Status.UNKNOWN), None)
        if newest_unknown is None:
            return {}
        encoding = _encode_event(newest_unknown)
    else:
        found = encoding_for(result.status, result.reason)
        if found is None:
            return {}
        encoding = found
    description = _type_description(encoding.event_type)
    latest: dict[str, Any] = {
        "code": encoding.event_type,
        "derivedCode": _derived(encoding, result.status),
        "statusByLocale": description,
        "description": description,
        "scanLocation": _scan_location(events[0].location if events else Location()),
    }
    if encoding.exception_code:
        latest["ancillaryDetails"] = [
            {
                "reason": encoding.exception_code,
                "reasonDescription": _exception_description(encoding.exception_code),
            }
        ]
    if encoding.delay is not None:
        latest["delayDetail"] = _delay(encoding.delay)
    return latest


def _dates(result: TrackingResult) -> list[dict[str, str]]:
    dates: list[dict[str, str]] = []
    if result.delivered_at is not None:
        dates.append({"type": "ACTUAL_DELIVERY", "dateTime": result.delivered_at.isoformat()})
    estimate = result.estimated_delivery
    if estimate is not None and _is_single_day(estimate):
        dates.append({"type": "ESTIMATED_DELIVERY", "dateTime": _day_time(estimate.earliest)})
    return dates


def _window(estimate: EstimatedDelivery | None) -> dict[str, str]:
    if estimate is None or _is_single_day(estimate):
        return {}
    if isinstance(estimate.earliest, datetime) and isinstance(estimate.latest, datetime):
        return {"begins": estimate.earliest.isoformat(), "ends": estimate.latest.isoformat()}
    return {"begins": _day_time(estimate.earliest), "ends": _day_time(estimate.latest)}


def _is_single_day(estimate: EstimatedDelivery) -> bool:
    return (
        not isinstance(estimate.earliest, datetime)
        and not isinstance(estimate.latest, datetime)
        and estimate.earliest == estimate.latest
    )


def _day_time(point: date) -> str:
    """A day the way FedEx writes it: local midnight (the offset does not matter)."""
    day = point.date() if isinstance(point, datetime) else point
    return f"{day.isoformat()}T00:00:00+00:00"


def _scan_location(place: Location) -> dict[str, Any]:
    fields = {
        "city": place.city,
        "stateOrProvinceCode": place.region,
        "postalCode": place.postal_code,
        "countryCode": place.country,
    }
    return {**{k: v for k, v in fields.items() if v}, "residential": False}


def _delay(delay: Delay) -> dict[str, str]:
    fields = {"type": delay.type, "subType": delay.sub_type, "status": delay.status}
    return {k: v for k, v in fields.items() if v}


def _derived(encoding: Encoding, status: Status) -> str:
    own = DERIVED_CODES.get(encoding.event_type)
    if own is not None and own.status is status:
        return encoding.event_type
    return _DERIVED_FOR_STATUS.get(status, "")


def _type_description(code: str) -> str:
    meaning = EVENT_TYPES.get(code.upper())
    return meaning.description if meaning else code


def _exception_description(code: str) -> str:
    meaning = EXCEPTION_CODES.get(code.upper()) if code else None
    return meaning.description if meaning else ""


SANDBOX = FedExSandbox()
