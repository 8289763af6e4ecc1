"""USPS: samples, code tables, time rules, payload errors, sniffing, sandbox and client."""

from __future__ import annotations

import csv
import json
import re
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from carriers import registry
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
from carriers.usps import CARRIER
from carriers.usps.codes import EVENT_CODES, LEGACY_EVENT_TEXTS, STATUS_CATEGORIES
from carriers.usps.parse import parse, sniff
from carriers.usps.sandbox import (
    REPRESENTATIVE_CODES,
    SANDBOX,
    STATUS_CATEGORY_NAMES,
    STATUS_DEFAULT_CODES,
    UNMAPPED_CODE,
    event_code,
)

SAMPLES = Path(__file__).parent.parent / "fixtures" / "carrier_samples"


def sample(name: str) -> TrackingResult:
    results = parse((SAMPLES / name).read_bytes())
    assert len(results) == 1
    return results[0]


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# -- samples, checked by hand against the payloads -----------------------------------------


def test_v3_delivered_parcel_locker():
    r = sample("usps_delivered.json")
    assert (r.carrier, r.tracking_number) == ("usps", "9400109104250532908587")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.estimated_delivery is None
    assert iso(r.delivered_at) == "2024-11-22T13:58:00-05:00"
    assert len(r.events) == 12
    assert (iso(r.events[0].occurred_at), r.events[0].code) == ("2024-11-22T13:58:00-05:00", "01")
    assert r.events[0].location == Location("HERNANDO", "FL", "34442", None)
    assert (iso(r.events[-1].occurred_at), r.events[-1].code) == ("2024-11-15T11:32:00-05:00", "GX")
    assert r.events[-1].status is Status.INFO_RECEIVED
    assert r.service == "USPS Ground Advantage™"
    assert r.problems == ()


def test_v3_delivered_after_shipping_partner_leg():
    r = sample("usps_delivered_shipping_partner.json")
    assert r.tracking_number == "9261290289104185136058"
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert iso(r.delivered_at) == "2024-11-23T13:10:00-06:00"
    assert r.estimated_delivery is None
    assert len(r.events) == 15
    assert [e.code for e in r.events[10:13]] == ["82", "81", "80"]
    # GX and 80 carry no GMT fields and no location: placed in the destination's zone (WI).
    assert (iso(r.events[-1].occurred_at), r.events[-1].code) == ("2024-11-19T09:27:00-06:00", "GX")
    assert iso(r.events[12].occurred_at) == "2024-11-21T17:01:00-06:00"
    # NIAGARA FALLS NY keeps its own -05:00.
    assert iso(r.events[13].occurred_at) == "2024-11-19T16:24:00-05:00"
    assert r.problems == ()


def test_v3_gmt_timestamp_with_the_local_date_is_not_trusted():
    # 81 at GLENDALE HEIGHTS: local 2024-11-21T23:28, GMTOffset -06:00, but GMTTimestamp
    # 2024-11-21T05:28:33Z (the local date). The instant is local + offset.
    r = sample("usps_delivered_shipping_partner.json")
    event = r.events[11]
    assert (event.code, event.location.city) == ("81", "GLENDALE HEIGHTS")
    assert iso(event.occurred_at) == "2024-11-21T23:28:00-06:00"
    assert event.occurred_at.astimezone(UTC) == datetime(2024, 11, 22, 5, 28, tzinfo=UTC)


def test_v3_in_transit_with_expected_day():
    r = sample("usps_in_transit.json")
    assert r.tracking_number == "9202290317456200135409"
    assert (r.status, r.reason) == (Status.IN_TRANSIT, None)
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 11, 29), date(2024, 11, 29))
    assert type(r.estimated_delivery.earliest) is date
    assert r.delivered_at is None
    assert len(r.events) == 4
    assert (iso(r.events[0].occurred_at), r.events[0].code) == ("2024-11-26T01:44:00-06:00", "10")
    # SF: local 18:31 with GMT 2024-11-25T00:31Z (a day early); we keep local + offset.
    assert iso(r.events[1].occurred_at) == "2024-11-25T18:31:00-06:00"
    assert r.events[1].occurred_at.astimezone(UTC).day == 26
    assert (iso(r.events[-1].occurred_at), r.events[-1].code) == ("2024-11-23T00:00:00-06:00", "MA")
    assert r.problems == ()


def test_v3_not_found_envelope():
    r = sample("usps_not_found.json")
    assert (r.tracking_number, r.status, r.events) == ("", Status.UNKNOWN, ())
    assert len(r.problems) == 1
    problem = r.problems[0]
    assert (problem.kind, problem.code) == (ProblemKind.NOT_FOUND, "150001")
    assert problem.message.startswith("12: A status update is not yet available")
    assert not problem.message.endswith("-")


def test_webtools_delivered_with_predicted_day():
    r = sample("usps_delivered.xml")
    assert r.tracking_number == "9402116901279224348471"
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.estimated_delivery == EstimatedDelivery(date(2017, 1, 17), date(2017, 1, 17))
    assert iso(r.delivered_at) == "2017-01-17T12:15:00-08:00"
    assert len(r.events) == 11
    assert (iso(r.events[0].occurred_at), r.events[0].code) == ("2017-01-17T12:15:00-08:00", "01")
    # Oak Creek / Milwaukee WI scans are in Central time.
    assert iso(r.events[-2].occurred_at) == "2017-01-12T23:08:00-06:00"
    # "In Transit to Destination" has no location: destination (CA) zone.
    assert (r.events[6].code, iso(r.events[6].occurred_at)) == ("EX", "2017-01-14T00:23:00-08:00")
    # MA has an empty EventTime and no location: 00:00 at the destination.
    assert (iso(r.events[-1].occurred_at), r.events[-1].code) == ("2017-01-11T00:00:00-08:00", "MA")
    assert r.service == "First-Class Package Service"
    assert r.problems == ()


def test_webtools_in_transit():
    r = sample("usps_in_transit.xml")
    assert r.tracking_number == "XXXXXXXXXX1"
    assert (r.status, r.reason) == (Status.IN_TRANSIT, None)
    assert (r.estimated_delivery, r.delivered_at) == (None, None)
    assert len(r.events) == 2
    assert (iso(r.events[0].occurred_at), r.events[0].code) == ("2016-01-06T22:45:00-05:00", "10")
    assert (iso(r.events[-1].occurred_at), r.events[-1].code) == ("2016-01-06T09:10:00-06:00", "03")
    assert r.problems == ()


def test_webtools_not_found():
    r = sample("usps_not_found.xml")
    assert (r.tracking_number, r.status, r.events) == ("1234567890", Status.UNKNOWN, ())
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.NOT_FOUND, "-2147219302")]


def test_webtools_old_field_set_maps_event_text():
    r = sample("usps_delivery_attempt_failed.xml")
    assert r.tracking_number == "EJ958083578US"
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.estimated_delivery is None
    assert iso(r.delivered_at) == "2001-06-01T08:10:00-04:00"
    assert [e.description for e in r.events] == [
        "DELIVERED",
        "NOTICE LEFT",
        "ARRIVAL AT UNIT",
        "ACCEPTANCE",
    ]
    assert [e.code for e in r.events] == ["", "", "", ""]
    notice = r.events[1]
    assert (notice.status, notice.reason) == (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    assert iso(notice.occurred_at) == "2001-05-30T11:07:00-04:00"
    assert iso(r.events[-1].occurred_at) == "2001-05-29T21:55:00-04:00"
    assert r.problems == ()


# -- code tables ---------------------------------------------------------------------------


def documented_codes() -> set[str]:
    with (SAMPLES / "codes" / "usps_event_codes.csv").open(encoding="utf-8") as handle:
        codes = {row["code"] for row in csv.DictReader(handle)}
    text = (SAMPLES / "CODES.md").read_text("utf-8")
    section = text.split("\n## USPS", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        for token in cells[0].split("/") if line.startswith("|") else []:
            if re.fullmatch(r"[0-9A-Z]{2}", token.strip()):
                codes.add(token.strip())
    return codes


def test_every_documented_code_is_mapped():
    codes = documented_codes()
    assert len(codes) == 56  # 49 in the CSV + A1 AD EX GX OA T1 TL observed
    assert sorted(codes - set(EVENT_CODES)) == []


def test_every_mapping_is_one_status_and_at_most_one_reason():
    for code, (status, reason) in EVENT_CODES.items():
        assert isinstance(status, Status) and status is not Status.UNKNOWN, code
        assert reason is None or isinstance(reason, Reason), code


def test_key_codes():
    assert EVENT_CODES["02"] == (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    assert EVENT_CODES["52"] == (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    assert EVENT_CODES["16"] == (Status.AVAILABLE_FOR_PICKUP, None)
    assert EVENT_CODES["09"] == (Status.EXCEPTION, Reason.RETURNING_TO_SENDER)
    assert EVENT_CODES["06"] == (Status.IN_TRANSIT, None)
    assert EVENT_CODES["51"] == (Status.ATTEMPT_FAIL, Reason.BUSINESS_CLOSED)
    assert EVENT_CODES["01"] == (Status.DELIVERED, None)


def test_legacy_texts_point_at_mapped_codes():
    for text, code in LEGACY_EVENT_TEXTS.items():
        assert code in EVENT_CODES, text


def v3_body(events, **fields):
    return json.dumps(
        {"trackingNumber": "9400100000000000000000", **fields, "trackingEvents": events}
    ).encode()


def v3_event(code, timestamp="2024-11-20T10:00:00", offset="-05:00", state="NY", text="Scan"):
    event = {"eventType": text, "eventTimestamp": timestamp, "eventState": state, "eventCode": code}
    if offset is not None:
        event["GMTOffset"] = offset
    return event


def test_unknown_code_is_unknown_with_a_problem_not_in_transit():
    (r,) = parse(v3_body([v3_event("Q9"), v3_event("10", "2024-11-19T10:00:00")]))
    assert r.events[0].status is Status.UNKNOWN
    assert r.status is Status.UNKNOWN
    assert r.unknown_codes == ["Q9"]
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.UNKNOWN_CODE, "Q9")]


def test_unknown_legacy_text_is_unknown_with_a_problem():
    xml = (
        b"<TrackResponse><TrackInfo ID='X1'><TrackSummary><EventTime>8:10 am</EventTime>"
        b"<EventDate>June 1, 2001</EventDate><Event>ENROUTE</Event><EventState>DE</EventState>"
        b"</TrackSummary></TrackInfo></TrackResponse>"
    )
    (r,) = parse(xml)
    assert (r.status, r.events[0].status, r.events[0].code) == (Status.UNKNOWN, Status.UNKNOWN, "")
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.UNKNOWN_CODE, "ENROUTE")]


def test_status_category_decides_but_alert_leaves_it_to_the_event():
    events = [v3_event("02"), v3_event("10", "2024-11-19T10:00:00")]
    (alert,) = parse(v3_body(events, statusCategory="Alert"))
    assert (alert.status, alert.reason) == (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    (moving,) = parse(v3_body([v3_event("10")], statusCategory="Moving Through Network"))
    assert moving.status is Status.IN_TRANSIT
    assert set(STATUS_CATEGORIES.values()) <= set(Status)


# -- time rules ----------------------------------------------------------------------------


def test_offset_kept_even_when_it_differs_from_the_state_zone():
    (r,) = parse(v3_body([v3_event("10", "2024-07-01T10:00:00", offset="-7:00", state="NY")]))
    assert iso(r.events[0].occurred_at) == "2024-07-01T10:00:00-07:00"


def test_no_offset_uses_event_state_then_facility_name_then_destination():
    events = [
        v3_event("10", "2024-07-03T10:00:00", offset=None, state="CA"),
        {
            **v3_event("10", "2024-07-02T10:00:00", offset=None, state=None),
            "eventCity": "OAK CREEK WI DISTRIBUTION CENTER",
        },
        v3_event("10", "2024-07-01T10:00:00", offset=None, state=None),
    ]
    (r,) = parse(v3_body(events, destinationState="NY"))
    assert [iso(e.occurred_at) for e in r.events] == [
        "2024-07-03T10:00:00-07:00",
        "2024-07-02T10:00:00-05:00",
        "2024-07-01T10:00:00-04:00",
    ]
    assert r.events[1].location.region is None  # the location stays as USPS sent it


def test_no_zone_anywhere_leaves_the_event_out_with_a_problem():
    events = [v3_event("10", offset=None, state=None), v3_event("03", "2024-11-19T09:00:00")]
    (r,) = parse(v3_body(events))
    assert [e.code for e in r.events] == ["03"]
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.TIME_WITHOUT_ZONE, "10")]
    assert "2024-11-20T10:00:00" in r.problems[0].message


def test_unreadable_event_time_is_a_parse_problem():
    (r,) = parse(v3_body([v3_event("10", "yesterday"), v3_event("03", "2024-11-19T09:00:00")]))
    assert [e.code for e in r.events] == ["03"]
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.PARSE_ERROR, "10")]


def test_events_sorted_newest_first_and_deduplicated():
    older, newer = v3_event("03", "2024-11-19T09:00:00"), v3_event("10", "2024-11-20T09:00:00")
    (r,) = parse(v3_body([older, newer, dict(newer)]))
    assert [e.code for e in r.events] == ["10", "03"]


# -- estimated delivery --------------------------------------------------------------------


def test_predicted_window_is_aware_at_the_destination():
    (r,) = parse(
        v3_body(
            [v3_event("OF")],
            destinationState="IL",
            expectedDeliveryTimeStamp="2024-11-22T00:00:00",
            predictedDeliveryDate="2024-11-20",
            predictedDeliveryWindowStartTime="9:45 am",
            predictedDeliveryWindowEndTime="13:45",
        )
    )
    assert iso(r.estimated_delivery.earliest) == "2024-11-20T09:45:00-06:00"
    assert iso(r.estimated_delivery.latest) == "2024-11-20T13:45:00-06:00"


def test_predicted_block_of_newer_responses_is_read():
    block = {"predictedDeliveryDate": "2024-11-21"}
    (r,) = parse(v3_body([v3_event("10")], deliveryDateExpectation=block))
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 11, 21), date(2024, 11, 21))


def test_unreadable_window_falls_back_to_the_predicted_day_with_a_problem():
    (r,) = parse(
        v3_body(
            [v3_event("10")],
            destinationState="IL",
            predictedDeliveryDate="2024-11-20",
            predictedDeliveryWindowStartTime="morning",
            predictedDeliveryWindowEndTime="noon",
        )
    )
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 11, 20), date(2024, 11, 20))
    assert [p.kind for p in r.problems] == [ProblemKind.PARSE_ERROR]


def test_expected_time_is_a_point_or_the_day_without_a_zone():
    stamp = {"expectedDeliveryTimeStamp": "2024-11-22T18:00:00"}
    (with_zone,) = parse(v3_body([v3_event("10")], destinationState="CA", **stamp))
    assert iso(with_zone.estimated_delivery.earliest) == "2024-11-22T18:00:00-08:00"
    assert with_zone.estimated_delivery.earliest == with_zone.estimated_delivery.latest
    (no_zone,) = parse(v3_body([v3_event("10")], **stamp))
    assert no_zone.estimated_delivery == EstimatedDelivery(date(2024, 11, 22), date(2024, 11, 22))


def test_expected_date_and_no_eta():
    (r,) = parse(v3_body([v3_event("10")], expectedDeliveryDate="2024-11-23"))
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 11, 23), date(2024, 11, 23))
    (none,) = parse(v3_body([v3_event("10")]))
    assert none.estimated_delivery is None


# -- error envelopes and merging -----------------------------------------------------------


def test_other_v3_error_is_a_request_error():
    body = {
        "apiVersion": "/tracking/v3",
        "error": {
            "code": "400",
            "message": "Bad request",
            "errors": [{"code": "100100", "detail": "x"}],
        },
    }
    (r,) = parse(json.dumps(body).encode())
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    assert [(p.kind, p.code, p.message) for p in r.problems] == [
        (ProblemKind.REQUEST_ERROR, "100100", "x")
    ]


def test_oauth_error_body_is_a_request_error():
    body = {"error": "invalid_client", "error_description": "Client authentication failed"}
    (r,) = parse(json.dumps(body).encode())
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.REQUEST_ERROR, "invalid_client")]


def test_webtools_root_error_is_a_request_error():
    xml = (
        b"<Error><Number>80040B1A</Number><Description>Authorization failure.</Description>"
        b"<Source>USPSCOM::DoAuth</Source></Error>"
    )
    assert sniff(xml)
    (r,) = parse(xml)
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.REQUEST_ERROR, "80040B1A")]


def test_duplicate_track_info_merges_into_one_result():
    info = (
        "<TrackInfo ID='EJ1'><TrackSummary><EventTime>{t}</EventTime><EventDate>June 1, 2001"
        "</EventDate><Event>{e}</Event><EventState>DE</EventState></TrackSummary></TrackInfo>"
    )
    first = info.format(t="8:10 am", e="DELIVERED")
    second = info.format(t="7:00 am", e="OUT FOR DELIVERY")
    xml = f"<TrackResponse>{first}{second}{first}<TrackInfo ID='EJ2'/></TrackResponse>".encode()
    results = parse(xml)
    assert [r.tracking_number for r in results] == ["EJ1", "EJ2"]
    assert [e.description for e in results[0].events] == ["DELIVERED", "OUT FOR DELIVERY"]
    assert results[0].status is Status.DELIVERED


# -- unreadable payloads -------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"   ",
        b'{"trackingNumber": "94001", "trackingEvents": [',  # truncated JSON
        (SAMPLES / "usps_delivered.json").read_bytes()[:500],
        (SAMPLES / "usps_delivered.xml").read_bytes()[:700],  # truncated XML
        b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
        b"<html><head><title>Access Denied</title></head></html>",
        b"Service Unavailable",
        b"[1, 2, 3]",
        b'{"hello": "world"}',
        b"<other/>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><TrackResponse/>',
        b"<TrackResponse><TrackInfo ID='1'><TrackSummary>Your item was delivered.</TrackSummary>"
        b"</TrackInfo></TrackResponse>",
    ],
)
def test_unreadable_payload_raises(payload):
    with pytest.raises(PayloadError, match="USPS"):
        parse(payload)


def test_payload_error_names_what_was_expected():
    with pytest.raises(PayloadError, match="Tracking API v3 JSON"):
        parse(b"<html>oops</html>")


# -- sniffing ------------------------------------------------------------------------------


def all_samples() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in (".json", ".xml"))


@pytest.mark.parametrize("path", all_samples(), ids=lambda p: p.name)
def test_sniff_claims_only_usps_samples(path):
    assert sniff(path.read_bytes()) is path.name.startswith("usps_")


def test_registry_knows_usps():
    spec = registry.get("usps")
    assert spec is CARRIER
    assert spec.default_base_url == "https://apis.usps.com"
    assert spec.make_client is not None and spec.sandbox is SANDBOX


# -- sandbox codec -------------------------------------------------------------------------


def test_reverse_table_parses_back_and_covers_every_mapping():
    for pair, code in REPRESENTATIVE_CODES.items():
        assert EVENT_CODES[code] == pair
    assert set(EVENT_CODES.values()) == set(REPRESENTATIVE_CODES)
    for status, code in STATUS_DEFAULT_CODES.items():
        assert EVENT_CODES[code][0] is status
    for status, name in STATUS_CATEGORY_NAMES.items():
        assert STATUS_CATEGORIES.get(name.lower()) in (status, None)


EST, CST, PST, HST = (timezone(timedelta(hours=h)) for h in (-5, -6, -8, -10))


def event(moment, status, reason=None, code="", text="Scan", place=None):
    return TrackingEvent(
        moment, status, reason, code, text, place or Location("X", "NY", None, None)
    )


def world_result(number, status, reason, eta, newest_at):
    history = (
        event(
            datetime(2024, 11, 18, 23, 30, tzinfo=CST), Status.IN_TRANSIT
        ),  # crosses UTC midnight
        event(datetime(2024, 11, 18, 9, 0, tzinfo=EST), Status.INFO_RECEIVED),
    )
    newest = event(newest_at, status, reason, place=Location("MIAMI", "FL", "33101", "US"))
    delivered_at = newest_at if status is Status.DELIVERED else None
    return TrackingResult("usps", number, status, reason, eta, delivered_at, (newest, *history))


ETAS = [
    None,
    EstimatedDelivery(date(2024, 11, 22), date(2024, 11, 22)),
    EstimatedDelivery(
        datetime(2024, 11, 22, 9, 45, tzinfo=EST), datetime(2024, 11, 22, 13, 45, tzinfo=EST)
    ),
    EstimatedDelivery(
        datetime(2024, 11, 22, 18, 0, tzinfo=PST), datetime(2024, 11, 22, 18, 0, tzinfo=PST)
    ),
    EstimatedDelivery(
        datetime(2024, 11, 22, 0, 0, tzinfo=HST), datetime(2024, 11, 22, 0, 0, tzinfo=HST)
    ),
]


def round_trip(result):
    numbers = SANDBOX.match(
        "GET", f"/tracking/v3/tracking/{result.tracking_number}", {"expand": ["DETAIL"]}, b""
    )
    assert numbers == [result.tracking_number]
    status, body = SANDBOX.respond([result], [])
    assert status == 200
    assert sniff(body)
    (back,) = parse(body)
    return back


@pytest.mark.parametrize("pair", list(REPRESENTATIVE_CODES), ids=lambda p: f"{p[0].value}-{p[1]}")
def test_sandbox_round_trip_every_expressible_status_and_reason(pair):
    status, reason = pair
    for index, eta in enumerate(ETAS):
        result = world_result(
            f"94001{index}", status, reason, eta, datetime(2024, 11, 20, 14, 5, 30, tzinfo=EST)
        )
        back = round_trip(result)
        assert (back.tracking_number, back.status, back.reason) == (
            result.tracking_number,
            status,
            reason,
        )
        assert [iso(e.occurred_at) for e in back.events] == [
            iso(e.occurred_at) for e in result.events
        ]
        assert [(e.status, e.reason) for e in back.events] == [
            (e.status, e.reason) for e in result.events
        ]
        assert back.estimated_delivery == eta
        assert iso(back.delivered_at) == iso(result.delivered_at)
        assert back.problems == ()


def test_sandbox_keeps_a_usps_code_that_says_the_same():
    result = world_result(
        "94002",
        Status.ATTEMPT_FAIL,
        Reason.RECIPIENT_UNAVAILABLE,
        None,
        datetime(2024, 11, 20, 14, 5, tzinfo=EST),
    )
    newest = TrackingEvent(
        result.events[0].occurred_at,
        Status.ATTEMPT_FAIL,
        Reason.RECIPIENT_UNAVAILABLE,
        "55",
        "No Secure Location Available",
        Location(),
    )
    _, body = SANDBOX.respond(
        [TrackingResult("usps", "94002", Status.ATTEMPT_FAIL, events=(newest,))], []
    )
    assert json.loads(body)["trackingEvents"][0]["eventCode"] == "55"


def test_sandbox_reproduces_the_gmt_date_quirk_and_parse_ignores_it():
    moment = datetime(2024, 11, 25, 18, 31, tzinfo=CST)
    result = TrackingResult(
        "usps", "94003", Status.IN_TRANSIT, events=(event(moment, Status.IN_TRANSIT),)
    )
    _, body = SANDBOX.respond([result], [])
    sent = json.loads(body)["trackingEvents"][0]
    assert (sent["eventTimestamp"], sent["GMTOffset"], sent["GMTTimestamp"]) == (
        "2024-11-25T18:31:00",
        "-06:00",
        "2024-11-25T00:31:00Z",
    )
    assert parse(body)[0].events[0].occurred_at == moment


def test_sandbox_degrades_a_cause_usps_cannot_state():
    result = world_result(
        "94004", Status.EXCEPTION, Reason.WEATHER, None, datetime(2024, 11, 20, 14, 5, tzinfo=EST)
    )
    back = round_trip(result)
    assert (back.status, back.reason, back.events[0].code) == (
        Status.EXCEPTION,
        Reason.UNKNOWN,
        "71",
    )


def test_sandbox_ranges_of_days_become_the_last_day():
    eta = EstimatedDelivery(date(2024, 11, 22), date(2024, 11, 24))
    back = round_trip(
        world_result(
            "94005", Status.IN_TRANSIT, None, eta, datetime(2024, 11, 20, 9, 0, tzinfo=EST)
        )
    )
    assert back.estimated_delivery == EstimatedDelivery(date(2024, 11, 24), date(2024, 11, 24))


def test_sandbox_leaves_out_scans_usps_never_sends():
    moment = datetime(2024, 11, 20, 9, 0, tzinfo=EST)
    pending = event(moment - timedelta(days=1), Status.PENDING)
    result = TrackingResult(
        "usps", "94006", Status.EXPIRED, events=(event(moment, Status.EXPIRED), pending)
    )
    assert SANDBOX.respond([result], [])[0] == 400
    moving = TrackingResult(
        "usps", "94006", Status.IN_TRANSIT, events=(event(moment, Status.IN_TRANSIT), pending)
    )
    (back,) = parse(SANDBOX.respond([moving], [])[1])
    assert [(e.status, e.occurred_at) for e in back.events] == [(Status.IN_TRANSIT, moment)]
    with pytest.raises(ValueError, match="pending"):
        event_code(pending)


def test_sandbox_unknown_scan_without_a_code_gets_an_unmapped_code():
    moment = datetime(2024, 11, 20, 9, 0, tzinfo=EST)
    result = TrackingResult(
        "usps", "94008", Status.UNKNOWN, events=(event(moment, Status.UNKNOWN),)
    )
    back = round_trip(result)
    assert (back.status, back.events[0].code) == (Status.UNKNOWN, UNMAPPED_CODE)
    assert UNMAPPED_CODE not in EVENT_CODES


def test_sandbox_missing_and_unscanned_numbers_get_the_real_400_envelope():
    for found, missing in (([], ["9400"]), ([TrackingResult("usps", "9400", Status.PENDING)], [])):
        status, body = SANDBOX.respond(found, missing)
        assert status == 400
        (back,) = parse(body)
        assert [(p.kind, p.code) for p in back.problems] == [(ProblemKind.NOT_FOUND, "150001")]


def test_sandbox_match_recognises_only_our_requests():
    detail = {"expand": ["DETAIL"]}
    assert SANDBOX.match("GET", "/tracking/v3/tracking/9400%2011", detail, b"") == ["9400 11"]
    assert SANDBOX.match("GET", "/prefix/tracking/v3/tracking/9400", detail, b"") == ["9400"]
    assert SANDBOX.match("POST", "/tracking/v3/tracking/9400", detail, b"") is None
    assert SANDBOX.match("GET", "/tracking/v3/tracking/9400", {}, b"") is None
    assert SANDBOX.match("GET", "/tracking/v3/tracking", detail, b"") is None
    assert SANDBOX.match("GET", "/track/v1/trackingnumbers", detail, b"") is None
    assert SANDBOX.token_path == "/oauth2/v3/token"


# -- client against a loopback server ------------------------------------------------------


class FakeUsps(BaseHTTPRequestHandler):
    known: ClassVar[dict[str, TrackingResult]] = {}
    requests: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.requests.append(("POST", self.path, dict(self.headers), body))
        if self.path == SANDBOX.token_path:
            self._answer(
                200, b'{"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}'
            )
        else:
            self._answer(404, b"{}")

    def do_GET(self):
        self.requests.append(("GET", self.path, dict(self.headers), b""))
        if self.headers.get("Authorization") != "Bearer tok-1":
            self._answer(401, b'{"error": "invalid_token"}')
            return
        split = urlsplit(self.path)
        numbers = SANDBOX.match("GET", split.path, parse_qs(split.query), b"")
        if numbers is None:
            self._answer(404, b"{}")
            return
        found = [self.known[n] for n in numbers if n in self.known]
        missing = [n for n in numbers if n not in self.known]
        self._answer(*SANDBOX.respond(found, missing))


@pytest.fixture
def usps_server():
    FakeUsps.requests = []
    FakeUsps.known = {
        "9400111": world_result(
            "9400111", Status.DELIVERED, None, None, datetime(2024, 11, 20, 14, 5, tzinfo=EST)
        ),
        "9400222": world_result(
            "9400222", Status.IN_TRANSIT, None, ETAS[1], datetime(2024, 11, 20, 9, 0, tzinfo=EST)
        ),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeUsps)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    TOKEN_CACHE.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    TOKEN_CACHE.clear()


def test_client_fetches_one_token_and_one_request_per_number(usps_server):
    settings = ClientSettings(
        base_url=usps_server, client_id="id-1", client_secret="secret-1", requests_per_second=0
    )
    client = CARRIER.make_client(settings)
    bodies = client.track(["9400111", "9400222", "9400111", "9400999"])
    assert len(bodies) == 3  # one response per distinct number
    results = [r for body in bodies for r in parse(body)]
    assert [(r.tracking_number, r.status) for r in results] == [
        ("9400111", Status.DELIVERED),
        ("9400222", Status.IN_TRANSIT),
        ("", Status.UNKNOWN),
    ]
    assert results[2].problems[0].kind is ProblemKind.NOT_FOUND
    bodies_again = client.track(["9400222"])
    assert parse(bodies_again[0])[0].tracking_number == "9400222"

    posts = [r for r in FakeUsps.requests if r[0] == "POST"]
    assert len(posts) == 1  # the token is fetched once and reused
    _, path, headers, body = posts[0]
    assert path == "/oauth2/v3/token"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "grant_type": "client_credentials",
        "client_id": "id-1",
        "client_secret": "secret-1",
    }
    gets = [r for r in FakeUsps.requests if r[0] == "GET"]
    assert [g[1] for g in gets] == [
        "/tracking/v3/tracking/9400111?expand=DETAIL",
        "/tracking/v3/tracking/9400222?expand=DETAIL",
        "/tracking/v3/tracking/9400999?expand=DETAIL",
        "/tracking/v3/tracking/9400222?expand=DETAIL",
    ]
    assert all(g[2]["Authorization"] == "Bearer tok-1" for g in gets)
    assert all(g[2]["Accept"] == "application/json" for g in gets)


def test_client_quotes_numbers_and_refuses_blank_ones(usps_server):
    settings = ClientSettings(
        base_url=usps_server + "/", client_id="id-1", client_secret="s", requests_per_second=0
    )
    client = CARRIER.make_client(settings)
    client.track(["EJ 95/8"])
    assert FakeUsps.requests[-1][1] == "/tracking/v3/tracking/EJ%2095%2F8?expand=DETAIL"
    with pytest.raises(ValueError, match="empty tracking number"):
        client.track(["9400111", "  "])


def test_sandbox_round_trip_of_an_unknown_code():
    moment = datetime(2024, 11, 20, 14, 5, tzinfo=EST)
    unknown = event(moment, Status.UNKNOWN, code="Q9", text="Something new")
    back = round_trip(TrackingResult("usps", "94007", Status.UNKNOWN, events=(unknown,)))
    assert (back.status, back.events[0].code, back.events[0].occurred_at) == (
        Status.UNKNOWN,
        "Q9",
        moment,
    )
    assert [(p.kind, p.code) for p in back.problems] == [(ProblemKind.UNKNOWN_CODE, "Q9")]
