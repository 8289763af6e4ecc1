"""UPS: samples parsed to hand-checked values, code tables, payload errors, sandbox, client."""

from __future__ import annotations

import base64
import csv
import json
import re
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

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
from carriers.ups import CARRIER, parse, sniff
from carriers.ups.assemble import parse_clock, parse_offset
from carriers.ups.client import DEFAULT_BASE_URL, TOKEN_PATH, make_client, track_path
from carriers.ups.codes import (
    ACTIVITY_TYPES,
    ERROR_KINDS,
    MANIFEST,
    MOVEMENT,
    PACKAGE_EXCEPTIONS,
    STATUS_CODES,
    TABLES,
    UPDATES,
    map_event,
    normalize,
)
from carriers.ups.sandbox import CODEC, REPRESENTATIVE, representative

SAMPLES = Path(__file__).parent.parent / "fixtures" / "carrier_samples"
REFERENCE_CSV = SAMPLES / "codes" / "ups_tracking_reference_codes.csv"
PACKAGE_CSV = Path(__file__).parent.parent.parent / "carriers" / "ups" / "ups_codes.csv"
UPS_SAMPLES = sorted(p.name for p in SAMPLES.glob("ups_*") if p.suffix in (".json", ".xml"))
OTHER_SAMPLES = sorted(
    p.name
    for p in SAMPLES.iterdir()
    if p.suffix in (".json", ".xml") and not p.name.startswith("ups_")
)


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


def states(result: TrackingResult) -> list[tuple[str, Status, Reason | None]]:
    return [(e.code, e.status, e.reason) for e in result.events]


# -- samples ------------------------------------------------------------------------------


def test_track_api_delivered() -> None:
    r = only("ups_delivered.json")
    assert (r.carrier, r.tracking_number) == ("ups", "1ZR760R60332160282")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2021, 10, 21, 14, 33, 16, tzinfo=tz(-4))  # Adrian MI, EDT
    assert r.delivered_at.utcoffset() == timedelta(hours=-4)
    assert r.estimated_delivery is None  # only a DEL date: delivered, no estimate
    # 12 activities; the label activity (country US, no state, no package addresses) has no
    # resolvable zone and is left out with a problem.
    assert len(r.events) == 11
    first, last = r.events[0], r.events[-1]
    assert (first.code, first.occurred_at) == ("D/FS", r.delivered_at)
    assert first.location == Location("ADRIAN", "MI", None, "US")
    assert (last.code, last.occurred_at) == ("I/XD", datetime(2021, 10, 19, 12, 18, tzinfo=tz(-5)))
    assert r.events[1].status is Status.OUT_FOR_DELIVERY
    assert r.events[1].occurred_at == datetime(2021, 10, 21, 9, 22, 15, tzinfo=tz(-4))
    assert r.events[6].occurred_at == datetime(2021, 10, 20, 8, 20, tzinfo=tz(-5))  # Nashville
    assert kinds(r) == [(ProblemKind.TIME_WITHOUT_ZONE, "M/MP")]
    assert all(e.status is Status.IN_TRANSIT for e in r.events[2:])


def test_track_api_customs_uses_gmt_offsets_and_current_status() -> None:
    r = only("ups_customs.json")
    assert r.tracking_number == "1Z1202R66698804005"
    # currentStatus code 092 "Customs Clearance in Progress"
    assert (r.status, r.reason) == (Status.EXCEPTION, Reason.CUSTOMS)
    assert r.estimated_delivery is None and r.delivered_at is None
    assert r.service == "UPS Express®"
    assert len(r.events) == 17
    first, last = r.events[0], r.events[-1]
    assert first.code == "X//092"
    assert first.occurred_at == datetime(2024, 3, 20, 19, 8, 38, tzinfo=tz(8))
    assert first.occurred_at.utcoffset() == timedelta(hours=8)
    assert (first.status, first.reason) == (Status.EXCEPTION, Reason.CUSTOMS)
    assert (last.code, last.occurred_at) == (
        "M/MP/003",
        datetime(2024, 3, 18, 12, 49, 17, tzinfo=tz(1)),
    )
    assert last.status is Status.INFO_RECEIVED
    # gmtDate 20240319 23:07:00 +08:00 is local 20240320 07:07:00
    assert r.events[1].occurred_at == datetime(2024, 3, 20, 7, 7, tzinfo=tz(8))
    assert r.events[1].location == Location("Changi", None, None, "SG")
    by_code = {e.code: (e.status, e.reason) for e in r.events}
    assert by_code["X/RZ/012"] == (Status.EXCEPTION, Reason.CUSTOMS)  # pending release
    assert by_code["X/RZ/014"] == (Status.IN_TRANSIT, None)  # released: clearance completed
    assert by_code["X/BB/058"] == (Status.EXCEPTION, Reason.CUSTOMS)
    assert by_code["X/DA/014"] == (Status.IN_TRANSIT, None)
    assert by_code["P/PU/038"] == (Status.IN_TRANSIT, None)
    assert r.problems == ()
    # Two activities at the same second keep UPS's order.
    same = [
        e.code for e in r.events if e.occurred_at == datetime(2024, 3, 18, 21, 23, 34, tzinfo=tz(1))
    ]
    assert same == ["X/RZ/012", "X/BB/014"]


def test_track_api_documentation_example() -> None:
    r = only("ups_customs_released_example.json")
    assert r.tracking_number == "string"  # the documentation's placeholder, kept as sent
    # currentStatus X/SR/003: statusCode 003 "Shipment Ready for UPS" decides the status
    assert (r.status, r.reason) == (Status.INFO_RECEIVED, None)
    (event,) = r.events
    assert event.code == "X/SR/003"
    assert event.occurred_at == datetime(2021, 2, 10, 7, 13, 56, tzinfo=tz(-5))  # Wayne NJ
    assert event.location == Location("Wayne", "NJ", "07470", "US")
    assert r.estimated_delivery is None  # deliveryDate type "string": not a UPS type
    assert r.delivered_at is None
    assert r.problems == ()


def test_track_api_not_found_warning() -> None:
    r = only("ups_not_found.json")
    assert (r.tracking_number, r.status, r.events) == ("1Z9912350341235622", Status.UNKNOWN, ())
    assert kinds(r) == [(ProblemKind.NOT_FOUND, "TW0001")]
    assert r.problems[0].message == "Tracking Information Not Found"


def test_track_api_error_envelope() -> None:
    r = only("ups_invalid_tracking_number.json")
    assert (r.tracking_number, r.status, r.events) == ("", Status.UNKNOWN, ())
    assert kinds(r) == [(ProblemKind.INVALID_NUMBER, "TV1002")]


def test_soap_exception_weather_then_delivered() -> None:
    r = only("ups_exception_weather.xml")
    assert r.tracking_number == "1Z12345E6205277936"
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2010, 9, 12, 11, 57, tzinfo=tz(-4))  # GA, EDT
    assert r.estimated_delivery is None
    assert r.service == "NEXT DAY AIR SAVER"
    # UPS lists them out of order; newest first here.
    assert [e.occurred_at for e in r.events] == [
        datetime(2010, 9, 12, 11, 57, tzinfo=tz(-4)),
        datetime(2010, 9, 10, 18, 3, tzinfo=tz(-4)),
        datetime(2010, 8, 30, 13, 13, tzinfo=tz(2)),  # Bonn, CEST
        datetime(2010, 8, 30, 10, 39, tzinfo=tz(2)),
        datetime(2010, 8, 30, 10, 32, tzinfo=tz(2)),
        datetime(2010, 4, 4, 14, 40, tzinfo=tz(-4)),
    ]
    assert states(r) == [
        ("D/FS", Status.DELIVERED, None),
        ("/X", Status.EXCEPTION, Reason.UNKNOWN),  # the activity without a Type element
        ("X/KB", Status.UNKNOWN, None),  # "UPS INTERNAL ACTIVITY CODE": not in the tables
        ("X/KB", Status.UNKNOWN, None),
        ("X/DJ", Status.EXCEPTION, Reason.WEATHER),
        ("P/PU", Status.IN_TRANSIT, None),
    ]
    assert kinds(r) == [(ProblemKind.UNKNOWN_CODE, "X/KB")]
    assert r.unknown_codes == ["X/KB", "X/KB"]


def test_soap_fault_invalid_number() -> None:
    r = only("ups_invalid_tracking_number_soap.xml")
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    assert kinds(r) == [(ProblemKind.INVALID_NUMBER, "151018")]
    assert r.problems[0].message == "Invalid tracking number"


def test_legacy_rescheduled_surepost() -> None:
    r = only("ups_delayed_new_eta.xml")
    assert r.tracking_number == "1Z1161WAYW93644228"
    assert (r.status, r.reason) == (Status.IN_TRANSIT, None)  # newest: I/YH at the post office
    assert r.estimated_delivery == EstimatedDelivery(date(2018, 5, 31), date(2018, 5, 31))
    assert r.delivered_at is None  # D/LX is the hand-off to USPS, not a delivery
    assert len(r.events) == 13
    first, last = r.events[0], r.events[-1]
    # No address on the activity: resolved at the destination (ShipTo CA).
    assert (first.code, first.occurred_at) == ("I/YH", datetime(2018, 5, 30, 3, 42, tzinfo=tz(-7)))
    # Label activity at "US" only: resolved at the origin (Shipper WI).
    assert (last.code, last.occurred_at) == (
        "M/MP",
        datetime(2018, 5, 22, 11, 15, 27, tzinfo=tz(-5)),
    )
    assert states(r)[1] == ("D/LX", Status.IN_TRANSIT, None)
    assert r.events[1].occurred_at == datetime(2018, 5, 29, 12, 15, 24, tzinfo=tz(-7))
    assert states(r)[4] == ("X/6N", Status.IN_TRANSIT, None)
    assert r.problems == ()


def test_legacy_holiday_delay_then_delivered() -> None:
    r = only("ups_delivered_after_holiday_delay.xml")
    assert r.tracking_number == "1Z1161WA0394673667"
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2017, 1, 17, 10, 16, tzinfo=tz(-8))  # Santa Clara, PST
    assert r.estimated_delivery is None  # DeliveryDateUnavailable
    assert len(r.events) == 14
    assert states(r)[0] == ("D/KB", Status.DELIVERED, None)
    holiday = r.events[2]
    assert (holiday.code, holiday.status, holiday.reason) == (
        "X/AZ",
        Status.EXCEPTION,
        Reason.HOLIDAY,
    )
    assert holiday.occurred_at == datetime(2017, 1, 16, 10, 0, tzinfo=tz(-8))
    last = r.events[-1]
    assert (last.code, last.occurred_at) == (
        "M/MP",
        datetime(2017, 1, 10, 12, 34, 48, tzinfo=tz(-6)),
    )
    assert r.problems == ()


def test_legacy_invalid_number() -> None:
    r = only("ups_invalid_tracking_number.xml")
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    assert kinds(r) == [(ProblemKind.INVALID_NUMBER, "150022")]


def test_mail_innovations_delivered() -> None:
    r = only("ups_mail_innovations_delivered.xml")
    assert r.tracking_number == "801677101298096996"
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2017, 1, 16, 13, 14, tzinfo=tz(-5))  # HHMM time, Atlanta
    assert r.service == "UPS Mail Innovations Expedited"
    assert len(r.events) == 11
    assert states(r)[0] == ("D/D", Status.DELIVERED, None)
    assert all(s == ("I/I", Status.IN_TRANSIT, None) for s in states(r)[1:9])
    assert states(r)[9] == ("P/P", Status.IN_TRANSIT, None)
    assert r.events[9].occurred_at == datetime(2017, 1, 12, 23, 53, tzinfo=tz(-6))
    last = r.events[-1]
    assert (last.code, last.status) == ("M/M", Status.INFO_RECEIVED)
    assert last.occurred_at == datetime(2017, 1, 12, 15, 53, tzinfo=tz(-6))  # origin WI
    assert r.problems == ()


def test_mail_innovations_not_found() -> None:
    r = only("ups_mail_innovations_not_found.xml")
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    assert kinds(r) == [(ProblemKind.NOT_FOUND, "155002")]


# -- code tables --------------------------------------------------------------------------


def _reference_rows() -> list[dict[str, str]]:
    with REFERENCE_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_reference_code_is_mapped_with_its_description() -> None:
    rows = _reference_rows()
    assert len(rows) == 1541
    for row in rows:
        entry = TABLES[row["table"]].get(normalize(row["code"]))
        assert entry is not None, (row["table"], row["code"])
        assert entry.description == row["customer_facing_description"]
        assert entry.status is not Status.UNKNOWN
    keys = {(row["table"], normalize(row["code"])) for row in rows}
    assert len(keys) == 1539  # two rows are repeated verbatim in the reference
    observed = {t for t in TABLES if t.startswith("Observed")}
    assert sum(len(TABLES[t]) for t in TABLES if t not in observed) == len(keys)
    assert len(TABLES[PACKAGE_EXCEPTIONS]) == 687


def _codes_md_ups_tables() -> dict[str, list[str]]:
    """Codes of each UPS table in CODES.md, by table."""
    text = (SAMPLES / "CODES.md").read_text("utf-8")
    section = text.split("\n## UPS\n", 1)[1].split("\n## FedEx", 1)[0]
    section = section.split("### UPS error / warning codes", 1)[0]
    found: dict[str, list[str]] = {}
    heading = ""
    for line in section.splitlines():
        if line.startswith("### "):
            heading = line
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        )
        if len(cells) < 2 or cells[0] in ("type", "code", "table") or set(cells[0]) <= {"-"}:
            continue
        if heading.startswith("### UPS package activity types"):
            found.setdefault(ACTIVITY_TYPES, []).append(cells[0])
        elif heading.startswith("### UPS status/description"):
            found.setdefault(STATUS_CODES, []).append(cells[0])
        elif heading.startswith("### UPS movement scans"):
            found.setdefault(cells[0], []).append(cells[1])
        elif heading.startswith("### UPS package exception"):
            found.setdefault(PACKAGE_EXCEPTIONS, []).append(cells[0])
    return found


def test_every_codes_md_code_is_mapped() -> None:
    tables = _codes_md_ups_tables()
    sizes = {table: len(codes) for table, codes in tables.items()}
    assert sizes == {
        ACTIVITY_TYPES: 10,
        STATUS_CODES: 160,
        MOVEMENT: 38,
        MANIFEST: 4,
        UPDATES: 3,
        PACKAGE_EXCEPTIONS: 404,
    }
    for table, codes in tables.items():
        for code in codes:
            assert normalize(code) in TABLES[table], (table, code)


def test_package_csv_has_one_mapping_per_code_and_a_basis() -> None:
    with PACKAGE_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    keys = [(row["table"], normalize(row["code"])) for row in rows]
    assert len(keys) == len(set(keys)) == 1544
    bases = [row["basis"].split(":")[0] for row in rows]
    assert (bases.count("keyword"), bases.count("judgement"), bases.count("observed")) == (
        1003,
        536,
        5,
    )
    for row in rows:
        Status(row["status"])
        if row["reason"]:
            Reason(row["reason"])
        if row["status"] in ("exception", "attempt_fail"):
            assert row["reason"], row  # a cause, or "unknown" when UPS states none


def test_tables_express_every_reason_and_every_carrier_status() -> None:
    entries = [e for table in TABLES.values() for e in table.values()]
    assert {e.reason for e in entries} - {None} == set(Reason)
    assert {e.status for e in entries} == set(Status) - {Status.EXPIRED, Status.UNKNOWN}


def test_codes_are_keyed_on_activity_type() -> None:
    assert (map_event("I", "DP", "").status, map_event("I", "DP", "").reason) == (
        Status.IN_TRANSIT,
        None,
    )
    commodity = map_event("X", "DP", "")  # "contains a commodity that cannot be shipped"
    assert commodity.status is Status.EXCEPTION
    assert map_event("M", "DP", "").status is Status.INFO_RECEIVED  # manifest processed
    assert map_event("X", "50", "").status is Status.ATTEMPT_FAIL  # delivery code fallback
    assert map_event("D", "LX", "").status is Status.IN_TRANSIT  # hand-off to the post office
    assert map_event("D", "FS", "").status is Status.DELIVERED


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("X", "RZ", "012"), (Status.EXCEPTION, Reason.CUSTOMS)),
        (("X", "RZ", "014"), (Status.IN_TRANSIT, None)),  # status code wins, cause is over
        (("X", "", "092"), (Status.EXCEPTION, Reason.CUSTOMS)),
        (("X", "DJ", "013"), (Status.EXCEPTION, Reason.WEATHER)),  # generic exception + cause
        (("X", "48", "022"), (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)),
        (("X", "HD", "011"), (Status.DELIVERED, Reason.DAMAGED)),
        (("I", "AR", "5"), (Status.IN_TRANSIT, None)),  # zero padding does not matter
        (("", "X", ""), (Status.EXCEPTION, Reason.UNKNOWN)),  # SOAP activity without Type
        (("I", "I", ""), (Status.IN_TRANSIT, None)),  # legacy Mail Innovations
        (("MV", "VP", ""), (Status.EXCEPTION, Reason.CANCELLED)),
        (("NA", "", ""), (Status.PENDING, None)),
        (("X", "AZ", ""), (Status.EXCEPTION, Reason.HOLIDAY)),
        (("X", "S9", ""), (Status.EXCEPTION, Reason.LOST)),
        (("X", "KT", ""), (Status.EXCEPTION, Reason.REFUSED)),
        (("X", "KP", ""), (Status.EXCEPTION, Reason.RETURNING_TO_SENDER)),
        (("X", "UA", ""), (Status.EXCEPTION, Reason.RETURNED_TO_SENDER)),
        (("X", "1C", ""), (Status.EXCEPTION, Reason.HELD_FOR_PAYMENT)),
        (("X", "85", ""), (Status.IN_TRANSIT, None)),  # not an exception code: delivery code
        (("X", "AE", ""), (Status.EXCEPTION, Reason.ADDRESS_ISSUE)),
        (("X", "55", ""), (Status.ATTEMPT_FAIL, Reason.BUSINESS_CLOSED)),
        (("X", "34", ""), (Status.EXCEPTION, Reason.MISSORT)),
    ],
)
def test_map_event_combinations(
    parts: tuple[str, str, str], expected: tuple[Status, Reason | None]
) -> None:
    mapping = map_event(*parts)
    assert (mapping.status, mapping.reason, mapping.unknown) == (*expected, None)


def test_mail_innovations_table_first_for_mail_innovations_shipments() -> None:
    assert map_event("X", "DP", "", mail_innovations=True).status is Status.AVAILABLE_FOR_PICKUP
    assert map_event("X", "DP", "").status is Status.EXCEPTION


@pytest.mark.parametrize(
    ("parts", "unknown"),
    [
        (("I", "Q9Z", ""), "code 'Q9Z' on activity type 'I'"),
        (("X", "KB", ""), "code 'KB' on activity type 'X'"),
        (("ZZ", "AR", ""), "activity type 'ZZ'"),
        (("I", "AR", "999"), "status code '999'"),
        (("", "DJ", ""), "code 'DJ' on an activity without a type"),
        (("", "", ""), "an activity without type, code or status code"),
    ],
)
def test_unknown_codes_are_never_guessed(parts: tuple[str, str, str], unknown: str) -> None:
    mapping = map_event(*parts)
    assert (mapping.status, mapping.reason, mapping.unknown) == (Status.UNKNOWN, None, unknown)


def test_unknown_code_in_a_payload_is_an_unknown_event_and_a_problem() -> None:
    payload = _track_json(
        [
            _activity("I", "Q9Z", "", "20240105", "101500", "Atlanta", "GA"),
            _activity("I", "AR", "005", "20240104", "080000", "Atlanta", "GA"),
        ]
    )
    (r,) = parse(payload)
    assert r.status is Status.UNKNOWN  # newest event is unknown: not guessed as in transit
    assert states(r)[0] == ("I/Q9Z", Status.UNKNOWN, None)
    assert kinds(r) == [(ProblemKind.UNKNOWN_CODE, "I/Q9Z")]
    assert "Q9Z" in r.problems[0].message


def test_error_kinds() -> None:
    assert ERROR_KINDS == {
        "TW0001": ProblemKind.NOT_FOUND,
        "155002": ProblemKind.NOT_FOUND,
        "TV1002": ProblemKind.INVALID_NUMBER,
        "151018": ProblemKind.INVALID_NUMBER,
        "150022": ProblemKind.INVALID_NUMBER,
    }
    body = json.dumps({"response": {"errors": [{"code": "250003", "message": "Invalid Access"}]}})
    (r,) = parse(body.encode())
    assert kinds(r) == [(ProblemKind.REQUEST_ERROR, "250003")]


# -- Track API details: times, ETA, merging ------------------------------------------------


def _activity(
    type_code: str,
    code: str,
    status_code: str,
    day: str,
    clock: str,
    city: str = "",
    region: str = "",
    **extra: str,
) -> dict[str, object]:
    status = {"type": type_code, "code": code, "description": f"{type_code} {code}"}
    if status_code:
        status["statusCode"] = status_code
    address = {"city": city, "stateProvince": region, "country": "US"}
    return {"location": {"address": address}, "status": status, "date": day, "time": clock, **extra}


def _track_json(
    activities: list[dict[str, object]], number: str = "1Z0000000000000001", **package: object
) -> bytes:
    body = {"trackingNumber": number, "activity": activities, **package}
    doc = {"trackResponse": {"shipment": [{"inquiryNumber": number, "package": [body]}]}}
    return json.dumps(doc).encode()


DESTINATION = [
    {"type": "ORIGIN", "address": {"city": "Seattle", "stateProvince": "WA", "country": "US"}},
    {"type": "DESTINATION", "address": {"city": "Denver", "stateProvince": "CO", "country": "US"}},
]


def test_times_fall_back_to_destination_then_origin() -> None:
    payload = _track_json(
        [
            _activity("I", "AR", "", "20240310", "120000"),  # no place: destination (Denver)
            _activity("M", "MP", "", "20240308", "090000"),  # label: origin first (Seattle)
        ],
        packageAddress=DESTINATION,
    )
    (r,) = parse(payload)
    assert [e.occurred_at for e in r.events] == [
        datetime(2024, 3, 10, 12, 0, tzinfo=tz(-6)),  # MDT starts 2024-03-10 02:00; noon is MDT
        datetime(2024, 3, 8, 9, 0, tzinfo=tz(-8)),
    ]
    assert r.events[0].occurred_at.utcoffset() == timedelta(hours=-6)


def test_gmt_offset_without_gmt_date_is_attached_to_local_time() -> None:
    payload = _track_json([_activity("I", "AR", "", "20240601", "101500", gmtOffset="-04:00")])
    (r,) = parse(payload)
    assert r.events[0].occurred_at == datetime(2024, 6, 1, 10, 15, tzinfo=tz(-4))


def test_unreadable_activity_date_is_left_out_with_a_problem() -> None:
    payload = _track_json(
        [
            _activity("I", "AR", "", "2024-06-01", "101500", "Atlanta", "GA"),
            _activity("I", "DP", "", "20240531", "2500", "Atlanta", "GA"),
            _activity("I", "OR", "", "20240530", "0800", "Atlanta", "GA"),
        ]
    )
    (r,) = parse(payload)
    assert [e.code for e in r.events] == ["I/OR"]
    assert kinds(r) == [(ProblemKind.PARSE_ERROR, "I/AR"), (ProblemKind.PARSE_ERROR, "I/DP")]


def test_eta_rescheduled_before_scheduled_and_windows_at_destination() -> None:
    days = [{"type": "SDD", "date": "20240612"}, {"type": "RDD", "date": "20240614"}]
    window = {"type": "EDW", "startTime": "090000", "endTime": "130000"}
    arrival = _activity("I", "AR", "005", "20240611", "050000", "Denver", "CO")
    (r,) = parse(
        _track_json([arrival], deliveryDate=days, deliveryTime=window, packageAddress=DESTINATION)
    )
    assert r.estimated_delivery == EstimatedDelivery(
        datetime(2024, 6, 14, 9, 0, tzinfo=tz(-6)), datetime(2024, 6, 14, 13, 0, tzinfo=tz(-6))
    )
    commit = {"type": "CMT", "startTime": "", "endTime": "103000"}
    (r,) = parse(
        _track_json([arrival], deliveryDate=days, deliveryTime=commit, packageAddress=DESTINATION)
    )
    assert r.estimated_delivery == EstimatedDelivery(
        datetime(2024, 6, 14, 0, 0, tzinfo=ZoneInfo("America/Denver")),
        datetime(2024, 6, 14, 10, 30, tzinfo=ZoneInfo("America/Denver")),
    )
    (r,) = parse(_track_json([arrival], deliveryDate=days[:1]))
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 6, 12), date(2024, 6, 12))


def test_eta_window_without_destination_zone_is_kept_as_a_day() -> None:
    days = [{"type": "SDD", "date": "20240612"}]
    window = {"type": "EDW", "startTime": "090000", "endTime": "130000"}
    arrival = _activity("I", "AR", "005", "20240611", "050000", "Denver", "CO")
    (r,) = parse(_track_json([arrival], deliveryDate=days, deliveryTime=window))
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 6, 12), date(2024, 6, 12))
    assert kinds(r) == [(ProblemKind.TIME_WITHOUT_ZONE, "ETA")]


def test_current_status_takes_its_cause_from_the_newest_event_of_that_status() -> None:
    activities = [
        _activity("X", "AZ", "086", "20240105", "100000", "Atlanta", "GA"),
        _activity("X", "DJ", "052", "20240104", "100000", "Atlanta", "GA"),
    ]
    (r,) = parse(_track_json(activities, currentStatus={"code": "086", "description": "Delay"}))
    assert (r.status, r.reason) == (Status.EXCEPTION, Reason.HOLIDAY)
    unknown_current = {"code": "777", "description": "?"}
    (r,) = parse(_track_json(activities, currentStatus=unknown_current))
    assert (r.status, r.reason) == (Status.EXCEPTION, Reason.HOLIDAY)  # newest event instead
    assert kinds(r) == [(ProblemKind.UNKNOWN_CODE, "//777")]


def test_delivered_at_from_stated_delivery_when_no_delivered_activity() -> None:
    days = [{"type": "DEL", "date": "20240105"}]
    times = {"type": "DEL", "startTime": "", "endTime": "143000"}
    activity = _activity("I", "OT", "021", "20240105", "080000", "Atlanta", "GA")
    current = {"code": "011", "description": "Delivered"}
    (r,) = parse(
        _track_json(
            [activity],
            deliveryDate=days,
            deliveryTime=times,
            currentStatus=current,
            packageAddress=DESTINATION,
        )
    )
    assert r.status is Status.DELIVERED
    assert r.delivered_at == datetime(2024, 1, 5, 14, 30, tzinfo=tz(-7))  # Denver, MST


def test_same_number_twice_is_merged_and_events_deduplicated() -> None:
    a = _activity("I", "AR", "005", "20240104", "080000", "Atlanta", "GA")
    b = _activity("I", "DP", "005", "20240104", "120000", "Atlanta", "GA")
    package = {"trackingNumber": "1ZDUP", "activity": [b, a]}
    doc = {
        "trackResponse": {
            "shipment": [
                {"inquiryNumber": "1ZDUP", "package": [package]},
                {
                    "inquiryNumber": "1ZDUP",
                    "package": [{"trackingNumber": "1ZDUP", "activity": [a]}],
                },
                {
                    "inquiryNumber": "1ZNONE",
                    "warnings": [{"code": "TW0001", "message": "Not Found"}],
                },
            ]
        }
    }
    results = parse(json.dumps(doc).encode())
    assert [r.tracking_number for r in results] == ["1ZDUP", "1ZNONE"]
    assert [e.code for e in results[0].events] == ["I/DP/005", "I/AR/005"]
    assert kinds(results[1]) == [(ProblemKind.NOT_FOUND, "TW0001")]


def test_value_parsers() -> None:
    assert parse_clock("1314") is not None and parse_clock("13:14:05") is not None
    assert parse_clock("2561") is None and parse_clock("12345") is None
    assert parse_offset("+05:30") == timezone(timedelta(hours=5, minutes=30))
    assert parse_offset("-0500") == tz(-5)
    assert parse_offset("+25:00") is None and parse_offset("EST") is None


# -- payload errors and sniffing --------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b'{"trackResponse": {"shipment": "x"}}',
        b'{"trackResponse": {"shipment": [{"package": [{"activity": ["x"]}]}]}}',
        b'{"trackResponse": {"shipment": [{"package": [{"currentStatus": 5}]}]}}',
    ],
)
def test_damaged_track_api_json_raises(payload: bytes) -> None:
    assert sniff(payload) is True  # UPS's shape: detection routes it here, parsing refuses it
    with pytest.raises(PayloadError, match=r"should (hold objects|be an object)"):
        parse(payload)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"trackResponse": {"shipment": [', "not valid JSON"),
        (b'{"output": {"completeTrackResults": []}}', "not a UPS Track API v1 response"),
        (b"[1, 2]", "not a UPS Track API v1 response"),
        (b"<TrackResponse><Response><ResponseStatusCode>1", "not well-formed XML"),
        (b"<html><body>502 Bad Gateway</body></html>", "HTML page"),
        (b"<!DOCTYPE html><html></html>", "HTML page"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DOCTYPE"),
        (b"<TrackResponse><TrackInfo ID='1'/></TrackResponse>", "not a UPS tracking response"),
        (b"tracking: 1Z", "neither JSON nor XML"),
    ],
)
def test_unreadable_payloads_raise(payload: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse(payload)
    assert sniff(payload) is False


def test_truncated_samples_raise() -> None:
    for name in UPS_SAMPLES:
        data = (SAMPLES / name).read_bytes()
        with pytest.raises(PayloadError):
            parse(data[: len(data) // 2])


@pytest.mark.parametrize("name", UPS_SAMPLES)
def test_sniff_claims_ups_samples(name: str) -> None:
    assert sniff((SAMPLES / name).read_bytes()) is True
    assert registry.detect((SAMPLES / name).read_bytes()).name == "ups"


@pytest.mark.parametrize("name", OTHER_SAMPLES)
def test_sniff_leaves_other_carriers_alone(name: str) -> None:
    assert sniff((SAMPLES / name).read_bytes()) is False


def test_other_carriers_xml_is_refused_by_parse() -> None:
    with pytest.raises(PayloadError, match="not a UPS tracking response"):
        parse((SAMPLES / "usps_delivered.xml").read_bytes())
    with pytest.raises(PayloadError, match="not a UPS Track API v1 response"):
        parse((SAMPLES / "fedex_delivered.json").read_bytes())


# -- sandbox ------------------------------------------------------------------------------

CHICAGO = Location("CHICAGO", "IL", "60601", "US")
CHICAGO_ZONE = ZoneInfo("America/Chicago")


def _event(when: datetime, status: Status, reason: Reason | None) -> TrackingEvent:
    return TrackingEvent(when, status, reason, "", f"{status.value} event", CHICAGO)


def _world_result(number: str, status: Status, reason: Reason | None) -> TrackingResult:
    older = datetime(2026, 3, 2, 8, 30, tzinfo=CHICAGO_ZONE)
    newest = datetime(2026, 3, 3, 14, 5, 9, tzinfo=CHICAGO_ZONE)
    delivered = newest if status is Status.DELIVERED else None
    eta = None
    if status is Status.IN_TRANSIT:
        eta = EstimatedDelivery(date(2026, 3, 5), date(2026, 3, 5))
    elif status is Status.OUT_FOR_DELIVERY:
        eta = EstimatedDelivery(
            datetime(2026, 3, 3, 15, 0, tzinfo=CHICAGO_ZONE),
            datetime(2026, 3, 3, 19, 0, tzinfo=CHICAGO_ZONE),
        )
    events = (_event(newest, status, reason), _event(older, Status.IN_TRANSIT, None))
    return TrackingResult(
        "ups", number, status, reason, eta, delivered, events, service="UPS Ground"
    )


def test_sandbox_round_trip_every_expressible_status_and_reason() -> None:
    world = [
        _world_result(f"1ZRT{i:014d}", status, reason)
        for i, (status, reason) in enumerate(REPRESENTATIVE)
    ]
    code, body = CODEC.respond(world, ["1ZMISSING000000001"])
    assert code == 200 and sniff(body)
    parsed = {r.tracking_number: r for r in parse(body)}
    assert len(parsed) == len(world) + 1
    for sent in world:
        got = parsed[sent.tracking_number]
        assert (got.status, got.reason) == (sent.status, sent.reason), sent.status
        assert [e.occurred_at for e in got.events] == [e.occurred_at for e in sent.events]
        assert [e.occurred_at.utcoffset() for e in got.events] == [
            e.occurred_at.utcoffset() for e in sent.events
        ]
        assert [(e.status, e.reason) for e in got.events] == [
            (e.status, e.reason) for e in sent.events
        ]
        assert [e.description for e in got.events] == [e.description for e in sent.events]
        assert got.estimated_delivery == sent.estimated_delivery
        assert got.delivered_at == sent.delivered_at
        assert got.service == "UPS Ground"
        expected = [(ProblemKind.UNKNOWN_CODE, "X/KB")] if sent.status is Status.UNKNOWN else []
        assert kinds(got) == expected
    assert kinds(parsed["1ZMISSING000000001"]) == [(ProblemKind.NOT_FOUND, "TW0001")]
    covered = {key[0] for key in REPRESENTATIVE}, {key[1] for key in REPRESENTATIVE} - {None}
    assert covered == (set(Status) - {Status.EXPIRED}, set(Reason))


def test_sandbox_representatives_parse_back_to_their_key() -> None:
    for (status, reason), parts in REPRESENTATIVE.items():
        mapping = map_event(*parts)
        assert (mapping.status, mapping.reason) == (status, reason), parts
    assert REPRESENTATIVE[(Status.EXCEPTION, Reason.WEATHER)] == ("X", "DJ", "052")
    assert REPRESENTATIVE[(Status.DELIVERED, None)] == ("D", "FS", "011")


def test_sandbox_inexpressible_pairs_fall_back_to_the_status() -> None:
    assert representative(Status.OUT_FOR_DELIVERY, Reason.WEATHER) == ("I", "OT", "021")
    assert representative(Status.IN_TRANSIT, Reason.CUSTOMS) == ("I", "AR", "005")
    assert representative(Status.ATTEMPT_FAIL, Reason.HOLIDAY) == ("X", "GB", "060")


def test_sandbox_expired_is_answered_as_not_found() -> None:
    expired = TrackingResult("ups", "1ZOLD", Status.EXPIRED)
    _, body = CODEC.respond([expired], [])
    (r,) = parse(body)
    assert (r.tracking_number, r.status) == ("1ZOLD", Status.UNKNOWN)
    assert kinds(r) == [(ProblemKind.NOT_FOUND, "TW0001")]


def test_sandbox_multi_day_estimate_is_written_as_its_last_day() -> None:
    sent = TrackingResult(
        "ups",
        "1ZRANGE",
        Status.IN_TRANSIT,
        estimated_delivery=EstimatedDelivery(date(2026, 3, 5), date(2026, 3, 7)),
        events=(_event(datetime(2026, 3, 3, 9, 0, tzinfo=CHICAGO_ZONE), Status.IN_TRANSIT, None),),
    )
    _, body = CODEC.respond([sent], [])
    (r,) = parse(body)
    assert r.estimated_delivery == EstimatedDelivery(date(2026, 3, 7), date(2026, 3, 7))


def test_sandbox_matches_exactly_our_requests() -> None:
    query = {"locale": ["en_US"], "returnSignature": ["false"], "returnMilestones": ["false"]}
    path = "/api/track/v1/details/1Z999AA10123456784"
    assert CODEC.match("GET", path, query, b"") == ["1Z999AA10123456784"]
    assert CODEC.match("GET", "/ups" + path, query, b"") == ["1Z999AA10123456784"]
    assert CODEC.match("POST", path, query, b"") is None
    assert CODEC.match("GET", path, query, b"{}") is None
    assert CODEC.match("GET", path, {**query, "x": ["1"]}, b"") is None
    assert CODEC.match("GET", path, {**query, "locale": ["de_DE"]}, b"") is None
    assert CODEC.match("GET", "/api/track/v1/details/", query, b"") is None
    assert CODEC.match("GET", "/track/v1/trackingnumbers", query, b"") is None
    assert CODEC.token_path == TOKEN_PATH == "/security/v1/oauth/token"
    assert CODEC.aggregator is False


# -- client -------------------------------------------------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.token_calls: list[tuple[dict[str, str], dict[str, list[str]]]] = []
        self.track_calls: list[tuple[str, dict[str, str], dict[str, list[str]]]] = []
        self.forced: tuple[int, bytes] | None = None
        self.lock = threading.Lock()


def _handler(recorder: _Recorder, world: dict[str, TrackingResult]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlsplit(self.path).path != TOKEN_PATH:
                self._send(404, b"{}")
                return
            with recorder.lock:
                recorder.token_calls.append((dict(self.headers), parse_qs(body.decode())))
            self._send(200, json.dumps({"access_token": "tok-1", "expires_in": 3600}).encode())

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            numbers = CODEC.match("GET", unquote(url.path), query, b"")
            if numbers is None:
                self._send(404, b"{}")
                return
            with recorder.lock:
                recorder.track_calls.append((url.path, dict(self.headers), query))
            if recorder.forced is not None:
                self._send(*recorder.forced)
                return
            found = [world[n] for n in numbers if n in world]
            self._send(*CODEC.respond(found, [n for n in numbers if n not in world]))

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


def test_client_one_request_per_number_token_fetched_once(server: Served) -> None:
    base_url, recorder, world = server
    for number in ("1ZA0000000000000001", "1ZA0000000000000002"):
        world[number] = _world_result(number, Status.IN_TRANSIT, None)
    settings = ClientSettings(base_url=base_url, client_id="id-1", client_secret="secret-1")
    client = make_client(settings)
    numbers = ["1ZA0000000000000001", "1ZA0000000000000002", "1ZUNKNOWN", "1ZA0000000000000001"]
    bodies = client.track([*numbers, " ", ""])
    bodies += client.track(["1ZA0000000000000002"])
    assert len(bodies) == 4 and len(recorder.track_calls) == 4  # one per distinct number
    assert len(recorder.token_calls) == 1
    token_headers, token_form = recorder.token_calls[0]
    assert token_form == {"grant_type": ["client_credentials"]}
    expected_basic = "Basic " + base64.b64encode(b"id-1:secret-1").decode()
    assert token_headers["Authorization"] == expected_basic
    paths = [call[0] for call in recorder.track_calls]
    assert paths == [track_path(n) for n in (*numbers[:3], numbers[1])]
    trans_ids = set()
    for _, headers, query in recorder.track_calls:
        assert headers["Authorization"] == "Bearer tok-1"
        assert headers["transactionSrc"] == "oasis"
        assert re.fullmatch(r"[0-9a-f]{32}", headers["transId"])
        trans_ids.add(headers["transId"])
        assert query == {
            "locale": ["en_US"],
            "returnSignature": ["false"],
            "returnMilestones": ["false"],
        }
    assert len(trans_ids) == 4
    results = [r for body in bodies for r in parse(body)]
    assert [(r.tracking_number, r.status) for r in results] == [
        ("1ZA0000000000000001", Status.IN_TRANSIT),
        ("1ZA0000000000000002", Status.IN_TRANSIT),
        ("1ZUNKNOWN", Status.UNKNOWN),
        ("1ZA0000000000000002", Status.IN_TRANSIT),
    ]
    assert results[0].events[0].occurred_at == datetime(2026, 3, 3, 14, 5, 9, tzinfo=tz(-6))
    assert kinds(results[2]) == [(ProblemKind.NOT_FOUND, "TW0001")]
    assert client.track([]) == []


def test_client_returns_ups_4xx_bodies_for_the_parser(server: Served) -> None:
    base_url, recorder, _ = server
    envelope = (SAMPLES / "ups_invalid_tracking_number.json").read_bytes()
    recorder.forced = (400, envelope)
    client = make_client(ClientSettings(base_url=base_url, client_id="a", client_secret="b"))
    (body,) = client.track(["1Z!"])
    assert body == envelope
    assert recorder.track_calls[0][0] == "/api/track/v1/details/1Z%21"
    (r,) = parse(body)
    assert kinds(r) == [(ProblemKind.INVALID_NUMBER, "TV1002")]


def test_carrier_spec() -> None:
    assert (CARRIER.name, CARRIER.title) == ("ups", "UPS")
    assert CARRIER.default_base_url == DEFAULT_BASE_URL == "https://onlinetools.ups.com"
    assert CARRIER.make_client is make_client and CARRIER.sandbox is CODEC
    assert CARRIER.parse is parse and CARRIER.sniff is sniff
    assert registry.get("ups") is CARRIER
