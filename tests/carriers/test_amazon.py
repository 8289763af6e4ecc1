"""Amazon Shipping: the sample parsed to hand-checked values, code tables, payload errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from carriers.amazon import CARRIER, parse, sniff
from carriers.amazon.codes import EVENT_CODES, SUMMARY_STATUSES
from carriers.models import EstimatedDelivery, Location, PayloadError, ProblemKind
from carriers.taxonomy import Reason, Status

SAMPLES = Path(__file__).parent.parent / "fixtures" / "carrier_samples"
SAMPLE = SAMPLES / "amazon_delivered.json"

# Amazon's published vocabularies: the Shipping API v2 EventCode enum (used by v1 answers),
# PackageReceivedByCarrier (added 2025), v1's "Received", and the v2 Status enum.
DOCUMENTED_EVENT_CODES = [
    "ReadyForReceive",
    "PickupDone",
    "Delivered",
    "Departed",
    "DeliveryAttempted",
    "Lost",
    "OutForDelivery",
    "ArrivedAtCarrierFacility",
    "Rejected",
    "Undeliverable",
    "PickupCancelled",
    "ReturnInitiated",
    "AvailableForPickup",
    "RecipientRequestedAlternateDeliveryTiming",
    "PackageReceivedByCarrier",
    "Received",
]
DOCUMENTED_STATUSES = [
    "PreTransit",
    "InTransit",
    "Delivered",
    "Lost",
    "OutForDelivery",
    "Rejected",
    "Undeliverable",
    "DeliveryAttempted",
    "PickupCancelled",
    "AwaitingCustomerPickup",
]


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SAMPLE.read_bytes())
    return doc


def _parse(doc: dict[str, Any]) -> Any:
    (result,) = parse(json.dumps(doc).encode())
    return result


def test_delivered_sample() -> None:
    (r,) = parse(SAMPLE.read_bytes())
    assert (r.carrier, r.tracking_number) == ("amazon", "23AA47DE2B3B6")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2019, 3, 21, 14, 29, 51, tzinfo=UTC)
    assert r.delivered_at is not None and r.delivered_at.utcoffset() == timedelta(0)
    promised = datetime(2019, 3, 22, 3, 0, tzinfo=UTC)
    assert r.estimated_delivery == EstimatedDelivery(promised, promised)
    assert len(r.events) == 12
    newest, oldest = r.events[0], r.events[-1]
    assert (newest.code, newest.status, newest.location) == (
        "Delivered",
        Status.DELIVERED,
        Location(),
    )
    assert newest.occurred_at.isoformat() == "2019-03-21T14:29:51+00:00"
    assert (oldest.code, oldest.status) == ("ReadyForReceive", Status.INFO_RECEIVED)
    assert oldest.occurred_at.isoformat() == "2019-03-19T12:36:03+00:00"
    assert [e.code for e in r.events].count("Received") == 5
    teterboro = next(e for e in r.events if e.location.city == "Teterboro")
    assert teterboro.location == Location("Teterboro", "New Jersey", "07608", "US")
    assert r.problems == ()


def test_every_documented_code_maps_and_agrees() -> None:
    assert set(EVENT_CODES) == set(DOCUMENTED_EVENT_CODES)
    assert set(SUMMARY_STATUSES) == set(DOCUMENTED_STATUSES)
    for table in (EVENT_CODES, SUMMARY_STATUSES):
        assert all(m.status is not Status.UNKNOWN for m in table.values())
    # A name in both tables means the same thing in both: one code, one reason.
    for code in set(EVENT_CODES) & set(SUMMARY_STATUSES):
        assert EVENT_CODES[code][1:] == SUMMARY_STATUSES[code][1:], code
    assert EVENT_CODES["Lost"].reason is Reason.LOST
    assert EVENT_CODES["Rejected"].reason is Reason.REFUSED


def test_unknown_codes_are_unknown_and_reported() -> None:
    doc = _doc()
    doc["payload"]["eventHistory"][-1]["eventCode"] = "Teleported"
    doc["payload"]["summary"]["status"] = "Vanished"
    r = _parse(doc)
    assert r.events[0].status is Status.UNKNOWN and r.events[0].code == "Teleported"
    # summary.status unknown -> the newest event, itself unknown; never in transit.
    assert (r.status, r.reason, r.delivered_at) == (Status.UNKNOWN, None, None)
    assert {(p.kind, p.code) for p in r.problems} == {
        (ProblemKind.UNKNOWN_CODE, "Teleported"),
        (ProblemKind.UNKNOWN_CODE, "summary.status=Vanished"),
    }


def test_status_falls_back_to_newest_event_and_reason_is_kept() -> None:
    doc = _doc()
    doc["payload"]["eventHistory"][-1]["eventCode"] = "Lost"
    del doc["payload"]["summary"]
    r = _parse(doc)
    assert (r.status, r.reason, r.delivered_at) == (Status.EXCEPTION, Reason.LOST, None)


def test_local_times_use_the_event_location_or_are_left_out() -> None:
    doc = _doc()
    history = doc["payload"]["eventHistory"]
    history[-2]["eventTime"] = "2019-03-21T08:59:47"  # OutForDelivery, Richmond VA
    history[-1]["eventTime"] = "2019-03-21T10:29:51"  # Delivered, no location
    r = _parse(doc)
    assert r.events[0].code == "OutForDelivery"
    assert r.events[0].occurred_at.isoformat() == "2019-03-21T08:59:47-04:00"
    assert len(r.events) == 11
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.TIME_WITHOUT_ZONE, "Delivered")]


def test_duplicate_events_are_dropped() -> None:
    doc = _doc()
    doc["payload"]["eventHistory"].append(dict(doc["payload"]["eventHistory"][-1]))
    assert len(_parse(doc).events) == 12


def test_error_list() -> None:
    body = {"errors": [{"code": "NotFound", "message": "No tracking found", "details": "x"}]}
    assert sniff(json.dumps(body).encode())
    (r,) = parse(json.dumps(body).encode())
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.NOT_FOUND, "NotFound")]
    (r,) = parse(b'{"errors": [{"code": "Unauthorized", "message": "Access denied"}]}')
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.REQUEST_ERROR, "Unauthorized")]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        SAMPLE.read_bytes()[:300],
        b"<!DOCTYPE html><html><body>Service Unavailable</body></html>",
        b'{"payload": {"trackingId": "1"}}',
        b'{"something": "else"}',
        b"[]",
    ],
)
def test_unreadable_payloads_raise(payload: bytes) -> None:
    with pytest.raises(PayloadError, match="Amazon"):
        parse(payload)


@pytest.mark.parametrize(
    "sample", sorted(p for p in SAMPLES.iterdir() if p.suffix in (".json", ".xml")), ids=str
)
def test_sniff_claims_only_amazon_samples(sample: Path) -> None:
    assert sniff(sample.read_bytes()) == sample.name.startswith("amazon_")


def test_file_drop_only_spec() -> None:
    assert (CARRIER.name, CARRIER.title) == ("amazon", "Amazon Shipping")
    assert (CARRIER.make_client, CARRIER.sandbox) == (None, None)
    assert CARRIER.parse is parse and CARRIER.sniff is sniff
