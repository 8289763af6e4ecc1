"""FedEx: samples parsed to hand-checked values, code tables, payload errors, sandbox, client."""

from __future__ import annotations

import csv
import json
import re
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from carriers.fedex import CARRIER, parse, sniff
from carriers.fedex.client import MAX_NUMBERS_PER_REQUEST, make_client, track_request_body
from carriers.fedex.codes import (
    DELAY_STATUSES,
    DELAY_SUBTYPES,
    DELAY_TYPES,
    DERIVED_CODES,
    ERROR_KINDS,
    EVENT_TYPES,
    EXCEPTION_CODES,
    POSSESSION_CODES,
    Delay,
    classify,
)
from carriers.fedex.sandbox import REVERSE, SANDBOX, Encoding, encoding_for
from carriers.http import TOKEN_CACHE
from carriers.models import (
    EstimatedDelivery,
    Location,
    PayloadError,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)
from carriers.registry import ClientSettings
from carriers.taxonomy import Reason, Status

SAMPLES = Path(__file__).parent.parent / "fixtures" / "carrier_samples"
CODES_MD = SAMPLES / "CODES.md"


def tz(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


def load(name: str) -> list[TrackingResult]:
    return parse((SAMPLES / name).read_bytes())


def only(name: str) -> TrackingResult:
    results = load(name)
    assert len(results) == 1
    return results[0]


def kinds(result: TrackingResult) -> list[tuple[ProblemKind, str]]:
    return [(p.kind, p.code) for p in result.problems]


# -- samples ------------------------------------------------------------------------------


def test_delivered_ground() -> None:
    r = only("fedex_delivered.json")
    assert (r.carrier, r.tracking_number) == ("fedex", "738488882438")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2024, 8, 20, 12, 41, 57, tzinfo=tz(-4))
    assert r.delivered_at.utcoffset() == timedelta(hours=-4)
    assert r.estimated_delivery is None  # empty window, no ESTIMATED_DELIVERY
    assert len(r.events) == 17
    assert r.events[0].code == "DL"
    assert r.events[0].occurred_at.isoformat() == "2024-08-20T12:41:57-04:00"
    assert r.events[0].location == Location("Blue Point", "NY", "11715", "US")
    # The pickup scan has no offset: local midnight in Mankato, MN (America/Chicago, CDT).
    assert r.events[-1].code == "PU"
    assert r.events[-1].occurred_at.isoformat() == "2024-08-15T00:00:00-05:00"
    assert r.events[-2].code == "OC"
    assert r.problems == ()
    assert r.service == "FedEx Ground"


def test_delivery_attempt_failed() -> None:
    r = only("fedex_delivery_attempt_failed.json")
    assert r.tracking_number == "377101283611590"
    assert (r.status, r.reason) == (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    # ESTIMATED_DELIVERY 2023-12-31T00:00:00-06:00 is a day, not midnight.
    assert r.estimated_delivery == EstimatedDelivery(date(2023, 12, 31), date(2023, 12, 31))
    assert r.delivered_at is None
    assert len(r.events) == 10
    newest, oldest = r.events[0], r.events[-1]
    assert (newest.code, newest.status) == ("DE/007", Status.ATTEMPT_FAIL)
    assert newest.occurred_at.isoformat() == "2013-12-18T11:22:15-08:00"
    assert newest.description == "Delivery exception: Customer not available or business closed"
    assert (oldest.code, oldest.occurred_at.isoformat()) == ("OC", "2013-12-11T08:14:00-05:00")
    assert oldest.status is Status.INFO_RECEIVED
    assert r.problems == ()


def test_held_for_pickup() -> None:
    r = only("fedex_held_for_pickup.json")
    assert r.tracking_number == "843119172384577"
    assert (r.status, r.reason) == (Status.AVAILABLE_FOR_PICKUP, None)
    assert r.estimated_delivery is None and r.delivered_at is None
    assert len(r.events) == 18
    assert r.events[0].code == "HP/015A"
    assert r.events[0].occurred_at.isoformat() == "2014-01-08T15:23:00-08:00"
    assert r.events[0].status is Status.AVAILABLE_FOR_PICKUP
    assert r.events[-1].code == "PU"
    assert r.events[-1].occurred_at.isoformat() == "2013-12-26T20:59:00-06:00"
    attempts = [e for e in r.events if e.status is Status.ATTEMPT_FAIL]
    assert [e.code for e in attempts] == ["DE/007"] * 3
    by_code = {e.code: e for e in r.events}
    assert by_code["DE/A13"].status is Status.IN_TRANSIT  # redirect the customer asked for
    assert by_code["RR/A12"].status is Status.IN_TRANSIT
    assert by_code["AF/A3"].status is Status.IN_TRANSIT
    assert r.problems == ()


def test_label_created_json() -> None:
    r = only("fedex_label_created.json")
    assert r.tracking_number == "449044304137821"
    assert (r.status, r.reason) == (Status.INFO_RECEIVED, None)
    assert r.estimated_delivery is None  # standard transit window is not an estimate
    assert len(r.events) == 1
    assert r.events[0].code == "OC"
    assert r.events[0].occurred_at.isoformat() == "2013-12-30T13:24:00-05:00"
    assert r.problems == ()


def test_returned() -> None:
    r = only("fedex_returned.json")
    assert r.tracking_number == "076288115212522"
    assert (r.status, r.reason) == (Status.EXCEPTION, Reason.RETURNING_TO_SENDER)
    assert r.estimated_delivery is None  # ESTIMATED_DELIVERY_DATE_UNAVAILABLE
    assert r.delivered_at is None  # the RS event's derived code DL is not a delivery
    assert len(r.events) == 14
    assert r.events[0].code == "RS/060G"
    assert (r.events[0].status, r.events[0].reason) == (
        Status.EXCEPTION,
        Reason.RETURNING_TO_SENDER,
    )
    assert r.events[0].occurred_at.isoformat() == "2014-01-15T08:32:31-06:00"
    assert r.events[-1].occurred_at.isoformat() == "2014-01-10T15:25:00-05:00"
    assert r.problems == ()


def test_exception_weather_two_numbers() -> None:
    first, second = load("fedex_exception_weather.json")
    assert first.tracking_number == "123456789012"  # the number asked for
    assert (first.status, first.reason) == (Status.EXCEPTION, Reason.WEATHER)
    assert first.estimated_delivery is None  # withdrawn, although a window is present
    assert first.delivered_at is None  # ACTUAL_DELIVERY on a parcel that is not delivered
    assert len(first.events) == 1
    event = first.events[0]
    assert (event.code, event.status, event.reason) == ("PU/A25", Status.EXCEPTION, Reason.WEATHER)
    assert event.occurred_at.isoformat() == "2018-02-02T12:01:00-07:00"
    # The documentation example also carries an EMPTY error on that result: kept.
    assert kinds(first) == [(ProblemKind.REQUEST_ERROR, "TRACKING.TRACKINGNUMBER.EMPTY")]
    assert second.tracking_number == "39936862321"
    assert (second.status, second.events) == (Status.UNKNOWN, ())
    assert kinds(second) == [(ProblemKind.NOT_FOUND, "TRACKING.TRACKINGNUMBER.NOTFOUND")]


def test_duplicate_results_for_one_number_are_merged() -> None:
    r = only("fedex_delayed_multi_result.json")
    assert r.tracking_number == "776094337676"
    # The second trackResult has the newest event (delivered), so it gives the status.
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2024, 4, 26, 9, 26, tzinfo=tz(-7))
    assert r.estimated_delivery is None
    assert len(r.events) == 10 + 8
    assert len({(e.occurred_at, e.code) for e in r.events}) == 18
    assert r.events[0].code == "DL"
    assert r.events[-1].code == "OC"
    assert r.events[-1].occurred_at.isoformat() == "2024-04-24T15:30:57-05:00"
    times = [e.occurred_at for e in r.events]
    assert times == sorted(times, reverse=True)
    by_code = {e.code: e for e in r.events}
    assert (by_code["DY/A52"].status, by_code["DY/A52"].reason) == (Status.EXCEPTION, None)
    assert by_code["DE/08"].reason is Reason.RECIPIENT_UNAVAILABLE
    assert r.problems == ()


def test_duplicate_events_are_deduplicated() -> None:
    doc = json.loads((SAMPLES / "fedex_delivery_attempt_failed.json").read_bytes())
    complete = doc["output"]["completeTrackResults"][0]
    complete["trackResults"].append(json.loads(json.dumps(complete["trackResults"][0])))
    (r,) = parse(json.dumps(doc).encode())
    assert len(r.events) == 10


def test_not_found_json() -> None:
    r = only("fedex_not_found.json")
    assert (r.tracking_number, r.status, r.events) == ("02399989320920003663", Status.UNKNOWN, ())
    assert kinds(r) == [(ProblemKind.NOT_FOUND, "TRACKING.TRACKINGNUMBER.NOTFOUND")]


def test_error_envelope() -> None:
    r = only("fedex_error_empty_tracking_number.json")
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    assert kinds(r) == [(ProblemKind.REQUEST_ERROR, "TRACKING.TRACKINGNUMBER.EMPTY")]
    assert r.problems[0].message == "Please provide tracking number."


def test_error_envelope_naming_numbers() -> None:
    body = {
        "transactionId": "t",
        "errors": [
            {
                "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
                "message": "not found",
                "parameterList": [{"key": "trackingNumber", "value": "123"}],
            }
        ],
    }
    (r,) = parse(json.dumps(body).encode())
    assert r.tracking_number == "123"
    assert kinds(r) == [(ProblemKind.NOT_FOUND, "TRACKING.TRACKINGNUMBER.NOTFOUND")]


def test_soap_label_created() -> None:
    r = only("fedex_label_created.xml")
    assert r.tracking_number == "794887075005"
    # StatusDetail OC (+ IN001) is the current status, though the composite events go on.
    assert (r.status, r.reason) == (Status.INFO_RECEIVED, None)
    assert r.estimated_delivery is None and r.delivered_at is None
    assert [e.code for e in r.events] == ["AE", "PU", "OC"]
    assert r.events[0].occurred_at.isoformat() == "2022-12-02T14:24:00-07:00"
    assert r.events[0].location == Location("LETHBRIDGE", "AB", "T1H5K9", "CA")
    assert r.events[-1].occurred_at.isoformat() == "2022-12-02T09:56:11-06:00"
    assert r.service == "FedEx Priority Overnight"
    assert r.problems == ()


def test_soap_not_found() -> None:
    r = only("fedex_not_found.xml")
    assert (r.tracking_number, r.status, r.events) == ("1Z12345E1305277940", Status.UNKNOWN, ())
    assert kinds(r) == [(ProblemKind.INVALID_NUMBER, "6035")]


def test_soap_fault_and_failed_reply_are_request_errors() -> None:
    fault = (
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode>"
        b"<faultstring>Bad request</faultstring></soapenv:Fault></soapenv:Body>"
        b"</soapenv:Envelope>"
    )
    (r,) = parse(fault)
    assert (r.tracking_number, kinds(r)) == ("", [(ProblemKind.REQUEST_ERROR, "soapenv:Client")])
    auth = (
        b'<TrackReply xmlns="http://fedex.com/ws/track/v14"><HighestSeverity>FAILURE'
        b"</HighestSeverity><Notifications><Severity>FAILURE</Severity><Code>1000</Code>"
        b"<Message>Authentication Failed</Message></Notifications></TrackReply>"
    )
    (r,) = parse(auth)
    assert (r.tracking_number, kinds(r)) == ("", [(ProblemKind.REQUEST_ERROR, "1000")])
    assert r.problems[0].message == "Authentication Failed"


# -- time rules ---------------------------------------------------------------------------


def _one_event_payload(event: dict, result_extra: dict | None = None) -> bytes:
    track = {"trackingNumberInfo": {"trackingNumber": "1"}, "scanEvents": [event]}
    track.update(result_extra or {})
    body = {"output": {"completeTrackResults": [{"trackingNumber": "1", "trackResults": [track]}]}}
    return json.dumps(body).encode()


def test_local_time_without_zone_is_left_out_with_a_problem() -> None:
    event = {"date": "2024-05-01T10:00:00", "eventType": "AR", "scanLocation": {"city": "X"}}
    (r,) = parse(_one_event_payload(event))
    assert r.events == ()
    assert kinds(r) == [(ProblemKind.TIME_WITHOUT_ZONE, "AR")]


def test_local_time_falls_back_to_destination_zone() -> None:
    event = {"date": "2024-05-01T10:00:00", "eventType": "AR", "scanLocation": {}}
    extra = {
        "recipientInformation": {"address": {"stateOrProvinceCode": "TX", "countryCode": "US"}}
    }
    (r,) = parse(_one_event_payload(event, extra))
    assert r.events[0].occurred_at.isoformat() == "2024-05-01T10:00:00-05:00"


def test_unreadable_event_time_is_a_parse_problem() -> None:
    (r,) = parse(_one_event_payload({"date": "yesterday", "eventType": "AR"}))
    assert r.events == () and kinds(r) == [(ProblemKind.PARSE_ERROR, "AR")]


def test_estimate_window_with_times() -> None:
    event = {"date": "2024-05-01T10:00:00-04:00", "eventType": "OD"}
    window = {"begins": "2024-05-01T12:00:00-04:00", "ends": "2024-05-01T16:00:00-04:00"}
    (r,) = parse(_one_event_payload(event, {"estimatedDeliveryTimeWindow": {"window": window}}))
    assert r.estimated_delivery == EstimatedDelivery(
        datetime(2024, 5, 1, 12, tzinfo=tz(-4)), datetime(2024, 5, 1, 16, tzinfo=tz(-4))
    )
    earliest = r.estimated_delivery.earliest
    assert isinstance(earliest, datetime) and earliest.utcoffset() == timedelta(hours=-4)


# -- code tables --------------------------------------------------------------------------


def _fedex_section(title: str) -> list[list[str]]:
    """Rows of the markdown table under a '### <title>' heading in CODES.md."""
    text = CODES_MD.read_text("utf-8")
    start = text.index(f"### {title}")
    end = text.find("\n#", start + 4)
    rows = []
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and not set(line) <= set("|- "):
            rows.append(cells)
    return rows[1:]  # without the header


def test_every_status_code_of_the_csv_maps() -> None:
    with (SAMPLES / "codes" / "fedex_tracking_status_codes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 62
    for row in rows:
        code = row["code"].upper()
        if row["group"] == "Possession":
            assert code in POSSESSION_CODES, code
        else:
            assert code in EVENT_TYPES, code
    event_codes = {r["code"].upper() for r in rows if r["group"] != "Possession"}
    assert len(event_codes) == 53
    assert set(EVENT_TYPES) == event_codes | {"AE"}  # AE: seen in the samples only


def test_every_observed_exception_and_derived_code_maps() -> None:
    observed = [row[0] for row in _fedex_section("FedEx exception / ancillary reason codes")]
    assert len(observed) == 12
    assert set(observed) == set(EXCEPTION_CODES)
    derived = [row[0] for row in _fedex_section("FedEx derived status codes")]
    assert set(derived) == set(DERIVED_CODES)
    errors = [row[0] for row in _fedex_section("FedEx error codes seen in the samples")]
    informational = {"TRACKING.DATA.NOTFOUND", "VIRTUAL.RESPONSE"}  # output.alerts only
    assert set(errors) - informational == set(ERROR_KINDS)


def test_every_delay_enum_maps() -> None:
    enums = {row[0]: row[1] for row in _fedex_section("FedEx delay / commitment enums")}
    assert {v.strip() for v in enums["delayDetail.type"].split(",")} == set(DELAY_TYPES)
    assert {v.strip() for v in enums["delayDetail.status"].split(",")} == set(DELAY_STATUSES)
    subtypes = re.findall(r"[A-Z]+", enums["delayDetail.subType"])
    assert set(subtypes) == set(DELAY_SUBTYPES)


def test_same_code_means_the_same_in_every_table() -> None:
    for code in set(EVENT_TYPES) & set(DERIVED_CODES):
        assert EVENT_TYPES[code][1:] == DERIVED_CODES[code][1:], code
    # The three "Customer not available or business closed" codes share one reason.
    assert {EXCEPTION_CODES[c].reason for c in ("007", "08", "15")} == {
        Reason.RECIPIENT_UNAVAILABLE
    }


def test_nothing_documented_maps_to_unknown() -> None:
    for table in (EVENT_TYPES, EXCEPTION_CODES, DERIVED_CODES):
        assert all(m.status is not Status.UNKNOWN for m in table.values())


@pytest.mark.parametrize(
    ("event_type", "exception_code", "delay", "unknown"),
    [
        ("ZZ", "", None, ("ZZ",)),
        ("OD", "999", None, ("999",)),
        ("IT", "", Delay("ALIENS", "", "DELAYED"), ("delayDetail.type=ALIENS",)),
        ("IT", "", Delay("", "", "LATE"), ("delayDetail.status=LATE",)),
        ("", "", None, ("(no code)",)),
    ],
)
def test_unknown_codes_are_unknown_never_in_transit(
    event_type: str, exception_code: str, delay: Delay | None, unknown: tuple[str, ...]
) -> None:
    meaning = classify(event_type, exception_code, delay)
    assert (meaning.status, meaning.reason, meaning.unknown) == (Status.UNKNOWN, None, unknown)


def test_unknown_code_in_a_payload_becomes_problem_and_falls_back() -> None:
    doc = json.loads((SAMPLES / "fedex_delivery_attempt_failed.json").read_bytes())
    track = doc["output"]["completeTrackResults"][0]["trackResults"][0]
    track["scanEvents"][0]["exceptionCode"] = "999"
    track["latestStatusDetail"]["code"] = "QQ"
    (r,) = parse(json.dumps(doc).encode())
    assert r.events[0].status is Status.UNKNOWN and r.events[0].code == "DE/999"
    assert r.status is Status.UNKNOWN  # status field unknown -> newest event, also unknown
    assert {(p.kind, p.code) for p in r.problems} == {
        (ProblemKind.UNKNOWN_CODE, "DE/999"),
        (ProblemKind.UNKNOWN_CODE, "QQ/007"),
    }
    assert r.unknown_codes == ["DE/999"]


def pair(*args: object, **kwargs: object) -> tuple[Status, Reason | None]:
    meaning = classify(*args, **kwargs)  # type: ignore[arg-type]
    return meaning.status, meaning.reason


def test_classification_rules() -> None:
    assert pair("DE", "007") == (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    assert pair("DE", "060G") == (Status.EXCEPTION, Reason.RETURNING_TO_SENDER)
    assert pair("PU", "A25") == (Status.IN_TRANSIT, Reason.CUSTOMS)  # type keeps status
    weather = Delay("WEATHER", "SNOW", "DELAYED")
    assert pair("IT", "", weather) == (Status.EXCEPTION, Reason.WEATHER)
    assert pair("OD", "", weather) == (Status.OUT_FOR_DELIVERY, Reason.WEATHER)
    assert pair("IT", "", Delay("WEATHER", "EARTHQUAKE", "DELAYED")) == (
        Status.EXCEPTION,
        Reason.NATURAL_DISASTER,
    )
    assert pair("IT", "", Delay("WEATHER", "", "ON_TIME")) == (Status.IN_TRANSIT, None)
    assert pair("DL", "", weather) == (Status.DELIVERED, None)
    assert pair("", derived_code="RL") == (Status.EXCEPTION, None)


# -- payload errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"   ",
        (SAMPLES / "fedex_delivered.json").read_bytes()[:500],
        (SAMPLES / "fedex_label_created.xml").read_bytes()[:700],
        b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
        b"<html><head><title>Login</title></head></html>",
        b'{"foo": 1}',
        b"[1, 2]",
        b'{"output": {"alerts": []}}',
        b"<root><child/></root>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><TrackReply/>',
        b"tracking: 123",
    ],
)
def test_unreadable_payloads_raise_payload_error(payload: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        parse(payload)
    assert "FedEx" in str(info.value) or "fedex" in str(info.value).lower()


def test_payload_error_messages_say_what_was_expected() -> None:
    with pytest.raises(PayloadError, match="truncated"):
        parse((SAMPLES / "fedex_delivered.json").read_bytes()[:500])
    with pytest.raises(PayloadError, match="HTML"):
        parse(b"<!DOCTYPE html><html></html>")


# -- sniff --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample", sorted(p for p in SAMPLES.iterdir() if p.suffix in (".json", ".xml")), ids=str
)
def test_sniff_claims_only_fedex_samples(sample: Path) -> None:
    assert sniff(sample.read_bytes()) == sample.name.startswith("fedex_")


# -- sandbox ------------------------------------------------------------------------------

NY = Location("NEW YORK", "NY", "10001", "US")


def _event(when: datetime, status: Status, reason: Reason | None, code: str = "") -> TrackingEvent:
    return TrackingEvent(when, status, reason, code or status.value, status.value, NY)


def _round_trip(
    results: list[TrackingResult], missing: tuple[str, ...] = ()
) -> list[TrackingResult]:
    status, body = SANDBOX.respond(results, list(missing))
    assert status == 200
    assert sniff(body)
    return parse(body)


def _world() -> list[TrackingResult]:
    """One result per (status, reason) FedEx can say, plus an unknown-code result."""
    start = datetime(2024, 3, 9, 22, 15, tzinfo=tz(-5))
    results = []
    for index, (status, reason) in enumerate(sorted(REVERSE, key=str)):
        picked_up = start + timedelta(hours=index)
        latest = picked_up + timedelta(hours=30, minutes=7)
        events = (
            _event(latest, status, reason),
            _event(picked_up.astimezone(tz(-8)), Status.IN_TRANSIT, None),
        )
        eta: EstimatedDelivery | None
        if index % 3 == 0:
            eta = EstimatedDelivery(date(2024, 3, 12), date(2024, 3, 12))
        elif index % 3 == 1:
            eta = EstimatedDelivery(date(2024, 3, 12), date(2024, 3, 14))
        else:
            eta = EstimatedDelivery(
                datetime(2024, 3, 12, 9, tzinfo=tz(-4)), datetime(2024, 3, 12, 13, tzinfo=tz(-4))
            )
        delivered = status is Status.DELIVERED
        results.append(
            TrackingResult(
                "fedex",
                f"7700000000{index:02d}",
                status,
                reason,
                estimated_delivery=None if delivered else eta,
                delivered_at=latest if delivered else None,
                events=events,
                service="FedEx Ground",
            )
        )
    unknown = _event(start, Status.UNKNOWN, None, code="ZZ/9")
    results.append(TrackingResult("fedex", "770000000099", Status.UNKNOWN, events=(unknown,)))
    return results


def test_sandbox_round_trip_keeps_status_reason_times_eta_and_delivery() -> None:
    world = _world()
    parsed = {r.tracking_number: r for r in _round_trip(world)}
    assert len(parsed) == len(world)
    for sent in world:
        got = parsed[sent.tracking_number]
        assert (got.status, got.reason) == (sent.status, sent.reason), sent.tracking_number
        assert [(e.status, e.reason) for e in got.events] == [
            (e.status, e.reason) for e in sent.events
        ]
        assert [e.occurred_at for e in got.events] == [e.occurred_at for e in sent.events]
        assert [e.occurred_at.utcoffset() for e in got.events] == [
            e.occurred_at.utcoffset() for e in sent.events
        ]
        assert got.estimated_delivery == sent.estimated_delivery
        assert got.delivered_at == sent.delivered_at
        assert got.service == sent.service
    statuses = {r.status for r in world}
    assert statuses == set(Status) - {Status.PENDING}
    reasons = {r.reason for r in world} - {None}
    assert reasons == {
        Reason.WEATHER,
        Reason.NATURAL_DISASTER,
        Reason.CUSTOMS,
        Reason.RECIPIENT_UNAVAILABLE,
        Reason.RETURNING_TO_SENDER,
        Reason.CANCELLED,
        Reason.MISSED_PICKUP,
        Reason.TRANSPORT_DELAY,
    }


def _encoding(status: Status, reason: Reason | None) -> Encoding:
    encoding = encoding_for(status, reason)
    assert encoding is not None
    return encoding


def test_sandbox_representatives_are_deliberate() -> None:
    assert _encoding(Status.IN_TRANSIT, None).event_type == "IT"
    assert _encoding(Status.INFO_RECEIVED, None).event_type == "OC"
    assert _encoding(Status.EXCEPTION, None).event_type == "DY"
    failed = _encoding(Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    assert (failed.event_type, failed.exception_code) == ("DE", "007")
    weather = _encoding(Status.EXCEPTION, Reason.WEATHER)
    assert (weather.event_type, weather.delay) == ("DY", Delay("WEATHER", "", "DELAYED"))
    # A cause FedEx can only state as a delay: written as a delay.
    late = _encoding(Status.IN_TRANSIT, Reason.WEATHER)
    assert late.classify() == (Status.EXCEPTION, Reason.WEATHER)
    assert encoding_for(Status.PENDING, None) is None


@pytest.mark.parametrize("reason", list(Reason))
@pytest.mark.parametrize("status", [s for s in Status if s not in (Status.PENDING, Status.UNKNOWN)])
def test_sandbox_never_replaces_a_cause_with_another(status: Status, reason: Reason) -> None:
    written = _encoding(status, reason).classify()
    assert written[1] in (reason, None)
    if (status, reason) in REVERSE:
        assert written == (status, reason)


def test_sandbox_missing_pending_and_empty() -> None:
    pending = TrackingResult("fedex", "111", Status.PENDING)
    got = {r.tracking_number: r for r in _round_trip([pending], ("222",))}
    for number in ("111", "222"):
        assert got[number].status is Status.UNKNOWN
        assert kinds(got[number]) == [(ProblemKind.NOT_FOUND, "TRACKING.TRACKINGNUMBER.NOTFOUND")]
    status, body = SANDBOX.respond([], [])
    assert status == 400
    (r,) = parse(body)
    assert kinds(r) == [(ProblemKind.REQUEST_ERROR, "TRACKING.TRACKINGNUMBER.EMPTY")]


def test_sandbox_matches_exactly_our_requests() -> None:
    body = json.dumps(track_request_body(["1", "2"])).encode()
    path = "/track/v1/trackingnumbers"
    assert SANDBOX.match("POST", path, {}, body) == ["1", "2"]
    assert SANDBOX.match("POST", "/fedex" + path, {}, body) == ["1", "2"]
    assert SANDBOX.match("GET", path, {}, body) is None
    assert SANDBOX.match("POST", "/track/v1/associatedshipments", {}, body) is None
    assert SANDBOX.match("POST", path, {"x": ["1"]}, body) is None
    assert SANDBOX.match("POST", path, {}, b"not json") is None
    assert SANDBOX.match("POST", path, {}, b'{"trackingInfo": [{"x": 1}]}') is None
    assert SANDBOX.token_path == "/oauth/token"


# -- client -------------------------------------------------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.token_calls: list[dict[str, list[str]]] = []
        self.track_calls: list[tuple[dict[str, str], dict]] = []
        self.forced: tuple[int, bytes] | None = None  # answer every tracking call with this
        self.lock = threading.Lock()


def _handler(recorder: _Recorder, world: dict[str, TrackingResult]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urlsplit(self.path)
            if url.path == SANDBOX.token_path:
                with recorder.lock:
                    recorder.token_calls.append(parse_qs(body.decode()))
                self._send(200, json.dumps({"access_token": "tok-1", "expires_in": 3600}).encode())
                return
            numbers = SANDBOX.match("POST", url.path, parse_qs(url.query), body)
            if numbers is None:
                self._send(404, b"{}")
                return
            with recorder.lock:
                recorder.track_calls.append((dict(self.headers), json.loads(body)))
            if recorder.forced is not None:
                self._send(*recorder.forced)
                return
            found = [world[n] for n in numbers if n in world]
            status, payload = SANDBOX.respond(found, [n for n in numbers if n not in world])
            self._send(status, payload)

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


Served = tuple[str, _Recorder, dict[str, TrackingResult]]


@pytest.fixture
def server() -> Iterator[Served]:
    TOKEN_CACHE.clear()
    recorder = _Recorder()
    world: dict[str, TrackingResult] = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder, world))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder, world
    finally:
        httpd.shutdown()
        httpd.server_close()
        TOKEN_CACHE.clear()


def test_client_batches_reuses_token_and_reads_back(server: Served) -> None:
    base_url, recorder, world = server
    when = datetime(2024, 6, 3, 8, 0, tzinfo=tz(-4))
    for i in range(40):
        number = f"7900{i:04d}"
        world[number] = TrackingResult(
            "fedex", number, Status.IN_TRANSIT, events=(_event(when, Status.IN_TRANSIT, None),)
        )
    numbers = [f"7900{i:04d}" for i in range(65)] + ["79000001", " ", ""]
    settings = ClientSettings(base_url=base_url, client_id="id-1", client_secret="secret-1")
    client = make_client(settings)
    bodies = client.track(numbers)
    assert len(bodies) == 3
    assert [len(c[1]["trackingInfo"]) for c in recorder.track_calls] == [30, 30, 5]
    assert len(recorder.token_calls) == 1
    assert recorder.token_calls[0] == {
        "grant_type": ["client_credentials"],
        "client_id": ["id-1"],
        "client_secret": ["secret-1"],
    }
    for headers, body in recorder.track_calls:
        assert headers["Authorization"] == "Bearer tok-1"
        assert headers["Content-Type"] == "application/json"
        assert headers["X-locale"] == "en_US"
        assert body["includeDetailedScans"] is True
    results = [r for b in bodies for r in parse(b)]
    assert len(results) == 65
    found = [r for r in results if r.status is Status.IN_TRANSIT]
    assert len(found) == 40
    assert found[0].events[0].occurred_at == when
    assert (
        sum(
            1
            for r in results
            if kinds(r) == [(ProblemKind.NOT_FOUND, "TRACKING.TRACKINGNUMBER.NOTFOUND")]
        )
        == 25
    )
    assert client.track([]) == []
    assert MAX_NUMBERS_PER_REQUEST == 30


def test_client_returns_fedex_4xx_bodies_for_the_parser(server: Served) -> None:
    base_url, recorder, _ = server
    envelope = (SAMPLES / "fedex_error_empty_tracking_number.json").read_bytes()
    recorder.forced = (400, envelope)
    client = make_client(ClientSettings(base_url=base_url, client_id="a", client_secret="b"))
    (body,) = client.track(["1"])
    assert body == envelope
    (r,) = parse(body)
    assert kinds(r) == [(ProblemKind.REQUEST_ERROR, "TRACKING.TRACKINGNUMBER.EMPTY")]


def test_carrier_spec() -> None:
    assert (CARRIER.name, CARRIER.title) == ("fedex", "FedEx")
    assert CARRIER.default_base_url == "https://apis.fedex.com"
    assert CARRIER.make_client is make_client and CARRIER.sandbox is SANDBOX
    assert CARRIER.parse is parse and CARRIER.sniff is sniff
