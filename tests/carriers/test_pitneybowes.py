"""Pitney Bowes: the sample parsed to hand-checked values, code tables, payload errors."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from carriers.models import EstimatedDelivery, Location, PayloadError, ProblemKind
from carriers.pitneybowes import CARRIER, parse, sniff
from carriers.pitneybowes.codes import EVENT_CODES, INFORMATIONAL_CODES, PACKAGE_STATUSES
from carriers.taxonomy import Reason, Status

SAMPLES = Path(__file__).parent.parent / "fixtures" / "carrier_samples"
SAMPLE = SAMPLES / "pitneybowes_label_created.json"

# Pitney Bowes' published "Standardized Event Codes" list and packageStatus values.
DOCUMENTED_EVENT_CODES = [
    "AWP", "CUC", "DAT", "DLD", "DYU", "INF", "MSC", "OFD", "PSR", "RTS", "SPH", "TRD", "UDL",
]  # fmt: skip
DOCUMENTED_PACKAGE_STATUSES = ["InTransit", "Delivered", "Manifest"]


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SAMPLE.read_bytes())
    return doc


def _scan(code: str, day: str, clock: str, offset: str, **extra: str) -> dict[str, Any]:
    scan = dict(_doc()["scanDetailsList"][0])
    scan.update(
        standardizedEventCode=code,
        l1Code=code,
        scanType=extra.pop("scanType", code),
        eventDate=day,
        eventTime=clock,
        eventTimeOffset=offset,
        scanDescription=extra.pop("scanDescription", code),
    )
    scan.update(extra)
    return scan


def _parse(doc: dict[str, Any]) -> Any:
    (result,) = parse(json.dumps(doc).encode())
    return result


def test_label_created_sample() -> None:
    (r,) = parse(SAMPLE.read_bytes())
    assert (r.carrier, r.tracking_number) == ("pitneybowes", "92023903406069000000000285")
    assert (r.status, r.reason) == (Status.INFO_RECEIVED, None)
    assert (r.estimated_delivery, r.delivered_at) == (None, None)
    assert len(r.events) == 1
    event = r.events[0]
    assert (event.code, event.status, event.description) == (
        "LC",
        Status.INFO_RECEIVED,
        "Label created",
    )
    assert event.occurred_at.isoformat() == "2024-07-24T12:20:26-07:00"
    assert event.location == Location("Olympia", "WA", "98501-6202", "US")
    assert r.service == "Parcel Return Service"
    assert r.problems == ()


def test_delivered_history() -> None:
    doc = _doc()
    doc["scanDetailsList"] = [
        _scan("DLD", "2024-07-29", "14:05:00", "-04:00", scanType="01", packageStatus="Delivered"),
        _scan("OFD", "2024-07-29", "07:10:00", "-04:00", packageStatus="InTransit"),
        _scan("INF", "2024-07-26", "22:00:00", "-05:00", packageStatus="InTransit"),
        *doc["scanDetailsList"],
    ]
    doc["currentStatus"] = doc["scanDetailsList"][0]
    doc.update(
        status="Delivered",
        estimatedDeliveryDate="2024-07-30",
        deliveryDate="2024-07-29",
        deliveryTime="14:05:00",
        deliveryTimeOffset="-04:00",
    )
    r = _parse(doc)
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2024, 7, 29, 14, 5, tzinfo=timezone(timedelta(hours=-4)))
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 7, 30), date(2024, 7, 30))
    assert [e.code for e in r.events] == ["DLD/01", "OFD", "INF", "LC"]
    assert [e.status for e in r.events] == [
        Status.DELIVERED,
        Status.OUT_FOR_DELIVERY,
        Status.IN_TRANSIT,  # informational event: its own packageStatus
        Status.INFO_RECEIVED,
    ]
    assert r.events[-1].occurred_at.isoformat() == "2024-07-24T12:20:26-07:00"
    assert r.problems == ()


def test_estimate_with_time_and_return_reason() -> None:
    doc = _doc()
    doc["scanDetailsList"].insert(0, _scan("RTS", "2024-07-25", "09:00:00", "-07:00"))
    doc["currentStatus"] = doc["scanDetailsList"][0]
    doc.update(
        estimatedDeliveryDate="2024-07-31",
        estimatedDeliveryTime="17:00:00",
        estimatedDeliveryTimeOffset="-07:00",
    )
    r = _parse(doc)
    assert (r.status, r.reason) == (Status.EXCEPTION, Reason.RETURNING_TO_SENDER)
    expected = datetime(2024, 7, 31, 17, tzinfo=timezone(timedelta(hours=-7)))
    assert r.estimated_delivery == EstimatedDelivery(expected, expected)


def test_every_documented_code_maps() -> None:
    assert set(EVENT_CODES) | set(INFORMATIONAL_CODES) == set(DOCUMENTED_EVENT_CODES) | {"LC"}
    assert not set(EVENT_CODES) & set(INFORMATIONAL_CODES)
    assert set(PACKAGE_STATUSES) == set(DOCUMENTED_PACKAGE_STATUSES)
    for table in (EVENT_CODES, PACKAGE_STATUSES):
        assert all(m.status is not Status.UNKNOWN for m in table.values())
    assert EVENT_CODES["DLD"].status is PACKAGE_STATUSES["Delivered"].status


def test_unknown_codes_are_unknown_and_fall_back() -> None:
    doc = _doc()
    doc["scanDetailsList"].insert(0, _scan("XYZ", "2024-07-25", "09:00:00", "-07:00"))
    doc["scanDetailsList"].insert(
        0, _scan("MSC", "2024-07-26", "09:00:00", "-07:00", packageStatus="Teleported")
    )
    doc["currentStatus"] = {"standardizedEventCode": "QQQ"}
    doc["status"] = "InTransit"
    r = _parse(doc)
    assert [(e.code, e.status) for e in r.events[:2]] == [
        ("MSC", Status.UNKNOWN),
        ("XYZ", Status.UNKNOWN),
    ]
    assert (r.status, r.reason) == (Status.IN_TRANSIT, None)  # currentStatus unknown -> status
    assert {(p.kind, p.code) for p in r.problems} == {
        (ProblemKind.UNKNOWN_CODE, "XYZ"),
        (ProblemKind.UNKNOWN_CODE, "MSC/packageStatus=Teleported"),
        (ProblemKind.UNKNOWN_CODE, "currentStatus QQQ"),
    }


def test_times_without_offset() -> None:
    doc = _doc()
    doc["scanDetailsList"] = [
        _scan("TRD", "2024-07-25", "09:00:00", "", eventStateOrProvince="TX"),
        _scan("TRD", "2024-07-26", "10:00:00", "", eventStateOrProvince="", country="ZZ"),
    ]
    doc["currentStatus"] = {}
    r = _parse(doc)
    assert [e.occurred_at.isoformat() for e in r.events] == ["2024-07-25T09:00:00-05:00"]
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.TIME_WITHOUT_ZONE, "TRD")]
    doc["destinationAddress"]["stateOrProvince"] = "NY"  # the destination's zone is used
    r = _parse(doc)
    assert r.events[0].occurred_at.isoformat() == "2024-07-26T10:00:00-04:00"


def test_carrier_names() -> None:
    doc = _doc()
    doc["carrier"] = "USPS"
    assert _parse(doc).carrier == "usps"
    doc["carrier"] = None
    assert _parse(doc).carrier == "unknown"


@pytest.mark.parametrize(
    "body",
    [
        {"errors": [{"errorCode": "PB-TRKPKG-ERR-1001", "errorDescription": "Not available"}]},
        [{"errorCode": "1021141", "message": "Not available"}],
        {"status": "ERROR", "errors": [{"errorCode": "40000072", "errorDescription": "Bad"}]},
    ],
)
def test_error_bodies(body: Any) -> None:
    payload = json.dumps(body).encode()
    assert sniff(payload)
    (r,) = parse(payload)
    assert (r.tracking_number, r.status, r.events) == ("", Status.UNKNOWN, ())
    assert [p.kind for p in r.problems] == [ProblemKind.REQUEST_ERROR]
    assert r.problems[0].code


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        SAMPLE.read_bytes()[:400],
        b"<html><body>Gateway Timeout</body></html>",
        b'{"trackingNumber": "1"}',
        b"[1, 2]",
    ],
)
def test_unreadable_payloads_raise(payload: bytes) -> None:
    with pytest.raises(PayloadError, match="Pitney Bowes"):
        parse(payload)


@pytest.mark.parametrize(
    "sample", sorted(p for p in SAMPLES.iterdir() if p.suffix in (".json", ".xml")), ids=str
)
def test_sniff_claims_only_pitneybowes_samples(sample: Path) -> None:
    assert sniff(sample.read_bytes()) == sample.name.startswith("pitneybowes_")


def test_file_drop_only_spec() -> None:
    assert (CARRIER.name, CARRIER.title) == ("pitneybowes", "Pitney Bowes")
    assert (CARRIER.make_client, CARRIER.sandbox) == (None, None)
    assert CARRIER.parse is parse and CARRIER.sniff is sniff
