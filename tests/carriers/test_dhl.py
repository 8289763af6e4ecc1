"""DHL: samples, code tables, status and time rules, payload errors, sniffing, sandbox, client."""

from __future__ import annotations

import csv
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from carriers import registry
from carriers.dhl import CARRIER
from carriers.dhl.client import make_client
from carriers.dhl.codes import (
    ECOMMERCE_LEGACY,
    EXPRESS_XML,
    REFINABLE,
    SERVICE_TABLES,
    UNIFIED_STATUS_CODES,
    ecommerce_legacy_code,
    express_xml_code,
    parcel_de_code,
    service_code,
    unified_status,
)
from carriers.dhl.parse import parse, sniff
from carriers.dhl.places import place_from_text
from carriers.dhl.sandbox import EXPRESS_CODES, REVERSE, SANDBOX, unified_service
from carriers.dhl.tables_ecommerce import ECOMMERCE, ECOMMERCE_LEGACY_OBSERVED
from carriers.dhl.tables_express import EXPRESS, EXPRESS_XML_OBSERVED
from carriers.http import CarrierAuthError
from carriers.models import (
    EstimatedDelivery,
    Location,
    PayloadError,
    ProblemKind,
    TrackingEvent,
    TrackingResult,
)
from carriers.registry import ClientSettings
from carriers.sandbox import SandboxServer, SandboxWorld
from carriers.taxonomy import Reason, Status
from carriers.timezones import zone_for

SAMPLES = Path(__file__).parent.parent / "fixtures" / "carrier_samples"
CODES_CSV = SAMPLES / "codes" / "dhl_unified_status_codes.csv"
CET, CEST = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))


def sample(name: str) -> list[TrackingResult]:
    return parse((SAMPLES / name).read_bytes())


def one(payload: dict | bytes) -> TrackingResult:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    results = parse(body)
    assert len(results) == 1
    return results[0]


def offset(moment: datetime | None) -> timedelta | None:
    assert moment is not None
    return moment.utcoffset()


def kinds(result: TrackingResult) -> list[ProblemKind]:
    return [p.kind for p in result.problems]


# -- samples, checked by hand against the payloads -----------------------------------------


def test_unified_doc_example_keys_on_status_code_not_the_delivered_text() -> None:
    (r,) = sample("dhl_customs.json")
    assert (r.carrier, r.tracking_number, r.service) == ("dhl", "7777777770", "express")
    # statusCode pre-transit wins over status "DELIVERED" (not an express code): not delivered
    assert (r.status, r.reason) == (Status.INFO_RECEIVED, None)
    assert r.delivered_at is None  # proofOfDelivery on a shipment that is not delivered
    assert r.estimated_delivery == EstimatedDelivery(
        datetime(2018, 8, 3, 0, 0, tzinfo=UTC), datetime(2018, 8, 3, 22, 0, tzinfo=UTC)
    )
    assert len(r.events) == 1  # 8 pieces, 11 piece ids: still one result, one event
    (event,) = r.events
    # "2018-03-02T07:53:47" has no offset: local time in Amsterdam (CET, +01:00)
    assert event.occurred_at == datetime(2018, 3, 2, 7, 53, 47, tzinfo=CET)
    assert offset(event.occurred_at) == timedelta(hours=1)
    assert (event.status, event.reason, event.code) == (Status.INFO_RECEIVED, None, "pre-transit")
    assert "pending completion of customs inspection" in event.description
    assert event.location == Location("Oderweg 2, AMSTERDAM", None, "1043 AG", "NL")
    assert r.problems == ()


def test_unified_not_found_problem_json() -> None:
    (r,) = sample("dhl_not_found.json")
    assert (r.tracking_number, r.status, r.events) == ("8264715546", Status.UNKNOWN, ())
    (problem,) = r.problems
    assert (problem.kind, problem.code) == (ProblemKind.NOT_FOUND, "404")
    assert "No result found" in problem.message


def test_express_multi_awb_delivered_and_two_picked_up() -> None:
    first, second, third = sample("dhl_express_delivered_multi_awb.xml")
    assert [r.tracking_number for r in (first, second, third)] == [
        "3180831640",
        "7740842550",
        "1815115363",
    ]
    assert (first.status, first.reason) == (Status.DELIVERED, None)
    assert first.delivered_at == datetime(2009, 8, 31, 10, 9, tzinfo=CEST)  # Milan, summer
    assert offset(first.delivered_at) == timedelta(hours=2)
    assert first.estimated_delivery is None
    assert len(first.events) == 16
    newest, oldest = first.events[0], first.events[-1]
    assert (newest.code, newest.status, newest.location.city, newest.location.country) == (
        "OK",
        Status.DELIVERED,
        "Milan",
        "IT",
    )
    assert (oldest.code, oldest.occurred_at) == ("PU", datetime(2009, 8, 28, 13, 26, tzinfo=CEST))
    assert oldest.location == Location(city="Barcelona", country="ES")
    assert first.events[1].code == "WC" and first.events[1].status is Status.OUT_FOR_DELIVERY
    # PO and RW share 19:27 at Barcelona; RW comes later in the feed, so it is listed first
    assert [e.code for e in first.events[-4:]] == ["PL", "RW", "PO", "PU"]
    assert first.problems == ()

    assert (second.status, len(second.events)) == (Status.IN_TRANSIT, 1)
    assert second.events[0].occurred_at == datetime(
        2009, 8, 26, 10, 0, tzinfo=timezone(timedelta(hours=8))
    )
    assert second.events[0].location.country == "SG"

    assert (third.status, [e.code for e in third.events]) == (Status.IN_TRANSIT, ["RW", "PU"])
    assert third.events[0].occurred_at.isoformat() == "2009-08-14T02:19:50+08:00"
    assert third.events[1].occurred_at.isoformat() == "2009-08-13T23:58:00+08:00"


def test_express_in_transit_with_offset_estimate() -> None:
    (r,) = sample("dhl_express_in_transit.xml")
    assert (r.tracking_number, r.status, r.reason) == ("9053283201", Status.IN_TRANSIT, None)
    eta = datetime(2021, 5, 7, 23, 59, tzinfo=timezone(timedelta(hours=-4)))
    assert r.estimated_delivery == EstimatedDelivery(eta, eta)
    assert eta.utcoffset() == timedelta(hours=-4)
    assert r.delivered_at is None
    # The one scan is at KIN, "KINGSTON-JAM": Jamaica. Its time is local with no offset.
    if zone_for(Location(country="JM")) is None:
        # carriers.timezones has no zone for Jamaica: the event is left out, not guessed,
        # and its PU code still gives the status.
        assert r.events == ()
        (problem,) = r.problems
        assert (problem.kind, problem.code) == (ProblemKind.TIME_WITHOUT_ZONE, "PU")
        assert "2021-05-05T09:42:00" in problem.message
    else:
        (event,) = r.events
        assert event.occurred_at.isoformat() == "2021-05-05T09:42:00-05:00"
        assert r.problems == ()


def test_express_not_found_condition_103() -> None:
    (r,) = sample("dhl_express_not_found.xml")
    assert (r.tracking_number, r.status, r.events) == ("123456789", Status.UNKNOWN, ())
    (problem,) = r.problems
    assert (problem.kind, problem.code) == (ProblemKind.NOT_FOUND, "103")
    assert problem.message == "No Shipments Found for AWBNumber 123456789"


def test_parcel_de_delivered() -> None:
    (r,) = sample("dhl_parcel_de_delivered.xml")
    assert (r.tracking_number, r.service) == ("00340434161094015902", "parcel-de")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2016, 3, 18, 10, 2, tzinfo=CET)
    assert offset(r.delivered_at) == timedelta(hours=1)
    assert r.estimated_delivery is None
    assert len(r.events) == 7
    assert (r.events[0].code, r.events[0].location) == (
        "ZU/DLVRD/OTHER",
        Location(city="Bonn", country="DE"),
    )
    out = r.events[1]  # event-country="": placed at the piece's dest-country DE
    assert (out.code, out.status, out.occurred_at) == (
        "PO/SRTED/NRQRD",
        Status.OUT_FOR_DELIVERY,
        datetime(2016, 3, 18, 9, 2, tzinfo=CET),
    )
    last = r.events[-1]
    assert (last.code, last.status) == ("ES/SHRCU/PCKST", Status.IN_TRANSIT)
    assert last.occurred_at == datetime(2016, 3, 17, 11, 44, tzinfo=CET)
    assert r.problems == ()


def test_parcel_de_not_found_names_no_number() -> None:
    (r,) = sample("dhl_parcel_de_not_found.xml")
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    (problem,) = r.problems
    assert (problem.kind, problem.code, problem.message) == (
        ProblemKind.NOT_FOUND,
        "100",
        "No data found",
    )


def test_ecommerce_legacy_delivered_with_zone_words() -> None:
    (r,) = sample("dhl_ecommerce_delivered.xml")
    assert (r.carrier, r.tracking_number) == ("dhl", "1071180100692707")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    est = timezone(timedelta(hours=-5))
    assert r.delivered_at == datetime(2017, 1, 17, 12, 26, tzinfo=est)  # "12:26 PM ET"
    assert offset(r.delivered_at) == timedelta(hours=-5)
    assert r.estimated_delivery is None
    assert len(r.events) == 13
    assert (r.events[0].code, r.events[0].status) == ("600", Status.DELIVERED)
    assert (r.events[1].code, r.events[1].status) == ("598", Status.OUT_FOR_DELIVERY)
    departure = next(e for e in r.events if e.code == "300")  # "4:49 AM CT"
    assert departure.occurred_at.isoformat() == "2017-01-11T04:49:00-06:00"
    last = r.events[-1]  # "7:34 PM EST", no location at all
    assert (last.code, last.status) == ("99", Status.INFO_RECEIVED)
    assert last.occurred_at.isoformat() == "2017-01-10T19:34:00-05:00"
    assert last.location == Location()
    assert r.problems == ()


def test_every_dhl_sample_parses_and_is_recognised() -> None:
    names = sorted(p.name for p in SAMPLES.glob("dhl_*") if p.suffix in (".json", ".xml"))
    assert len(names) == 8
    for name in names:
        payload = (SAMPLES / name).read_bytes()
        assert sniff(payload), name
        assert registry.detect(payload).name == "dhl"


# -- Unified API rules ---------------------------------------------------------------------


def shipment(
    events: list[dict], status: dict | None = None, service: str = "express", **extra: object
) -> dict:
    body: dict = {"id": "JD0001", "service": service, "events": events, **extra}
    if status is not None:
        body["status"] = status
    return {"shipments": [body]}


def event(stamp: str, status_code: str, status: str = "", **extra: object) -> dict:
    return {"timestamp": stamp, "statusCode": status_code, "status": status, **extra}


def test_unified_service_code_refines_status_code() -> None:
    r = one(shipment([event("2024-03-05T09:00:00+01:00", "transit", "WC")]))
    assert (r.status, r.events[0].code) == (Status.OUT_FOR_DELIVERY, "transit/WC")
    r = one(shipment([event("2024-03-05T09:00:00+01:00", "failure", "NH")]))
    assert (r.status, r.reason) == (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    r = one(shipment([event("2024-03-05T09:00:00+01:00", "transit", "Processed")]))
    assert (r.status, r.reason, r.events[0].code) == (Status.IN_TRANSIT, None, "transit")


def test_unified_service_code_never_makes_a_parcel_delivered() -> None:
    # parcel-nl does list DELIVERED; with statusCode pre-transit it is still not delivered
    r = one(
        shipment(
            [event("2024-03-05T09:00:00+01:00", "pre-transit", "DELIVERED")], service="parcel-nl"
        )
    )
    assert (r.status, r.events[0].code, r.delivered_at) == (
        Status.INFO_RECEIVED,
        "pre-transit",
        None,
    )
    for name, table in SERVICE_TABLES.items():
        for code, (status, _) in table.items():
            if status is Status.DELIVERED:
                for status_code in ("pre-transit", "transit", "failure", "unknown"):
                    mapped = unified_status(status_code, name, code)
                    assert mapped is not None and mapped[0] is not Status.DELIVERED


def test_unified_current_status_object_decides_and_proof_of_delivery_time() -> None:
    stamp = "2024-03-06T14:05:00+01:00"
    payload = shipment(
        [event(stamp, "transit", "WC")],
        status=event(stamp, "delivered", "OK"),
        details={"proofOfDelivery": {"timestamp": "2024-03-06T14:02:00+01:00"}},
    )
    r = one(payload)
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.delivered_at == datetime(2024, 3, 6, 14, 2, tzinfo=CET)
    assert r.events[0].status is Status.OUT_FOR_DELIVERY  # the event keeps its own status


def test_unified_local_times_from_locality_event_or_destination() -> None:
    payload = shipment(
        [
            event(
                "2024-07-01T08:00:00",
                "transit",
                location={"address": {"addressLocality": "LEIPZIG - GERMANY"}},
            ),
            event("2024-07-01T06:00:00", "transit"),
        ],
        destination={"address": {"countryCode": "GB", "addressLocality": "London"}},
    )
    r = one(payload)
    assert [e.occurred_at.isoformat() for e in r.events] == [
        "2024-07-01T08:00:00+02:00",  # Leipzig, CEST
        "2024-07-01T06:00:00+01:00",  # no location: destination London, BST
    ]
    assert r.events[0].location == Location(city="LEIPZIG", country="DE")


def test_unified_local_time_without_a_zone_is_left_out() -> None:
    payload = shipment(
        [
            event("2024-07-01T08:00:00", "transit", location={"address": {"countryCode": "RU"}}),
            event("2024-07-01T05:00:00Z", "pre-transit"),
        ]
    )
    r = one(payload)
    assert [e.code for e in r.events] == ["pre-transit"]
    assert r.status is Status.INFO_RECEIVED  # the newest placed event
    (problem,) = r.problems
    assert (problem.kind, problem.code) == (ProblemKind.TIME_WITHOUT_ZONE, "transit")


def test_unified_unknown_status_code_is_unknown_with_a_problem() -> None:
    r = one(
        shipment(
            [event("2024-03-05T09:00:00Z", "lost-in-space")],
            status=event("2024-03-05T09:00:00Z", "lost-in-space"),
        )
    )
    assert r.status is Status.UNKNOWN and r.status is not Status.IN_TRANSIT
    assert r.unknown_codes == ["lost-in-space"]
    assert kinds(r) == [ProblemKind.UNKNOWN_CODE]
    # DHL's own "unknown" is documented: unknown, and no unknown_code problem
    r = one(shipment([event("2024-03-05T09:00:00Z", "unknown", "OK")]))
    assert (r.status, r.problems) == (Status.UNKNOWN, ())


def test_unified_estimates_day_point_and_window() -> None:
    base = [event("2024-03-05T09:00:00+01:00", "transit")]
    r = one(shipment(base, estimatedTimeOfDelivery="2024-03-08"))
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 3, 8), date(2024, 3, 8))
    r = one(shipment(base, estimatedTimeOfDelivery="2024-03-08T18:00:00+01:00"))
    eta = datetime(2024, 3, 8, 18, 0, tzinfo=CET)
    assert r.estimated_delivery == EstimatedDelivery(eta, eta)
    r = one(
        shipment(
            base,
            estimatedTimeOfDelivery="2024-03-08T09:00:00",
            estimatedDeliveryTimeFrame={
                "estimatedFrom": "2024-03-08T09:00:00",
                "estimatedThrough": "2024-03-08T13:00:00",
            },
            destination={"address": {"countryCode": "DE"}},
        )
    )
    assert [t.isoformat() for t in vars_of(r.estimated_delivery)] == [
        "2024-03-08T09:00:00+01:00",
        "2024-03-08T13:00:00+01:00",
    ]
    r = one(shipment(base))
    assert r.estimated_delivery is None


def vars_of(estimate: EstimatedDelivery | None) -> list:
    assert estimate is not None
    return [estimate.earliest, estimate.latest]


def test_unified_same_shipment_twice_is_merged() -> None:
    first = {
        "id": "JD0001",
        "service": "express",
        "events": [event("2024-03-05T09:00:00Z", "transit", "PL")],
    }
    second = {
        "id": "JD0001",
        "service": "express",
        "events": [
            event("2024-03-06T09:00:00Z", "delivered", "OK"),
            event("2024-03-05T09:00:00Z", "transit", "PL"),
        ],
    }
    results = parse(json.dumps({"shipments": [first, second]}).encode())
    assert len(results) == 1
    (r,) = results
    assert [e.code for e in r.events] == ["delivered/OK", "transit/PL"]
    assert (r.status, r.delivered_at) == (Status.DELIVERED, datetime(2024, 3, 6, 9, tzinfo=UTC))


def test_unified_problem_json_numbers_and_kinds() -> None:
    r = one(
        {
            "title": "No result found",
            "status": 404,
            "detail": "Shipment JD014600006281230704 unknown.",
        }
    )
    assert (r.tracking_number, r.problems[0].kind) == (
        "JD014600006281230704",
        ProblemKind.NOT_FOUND,
    )
    r = one({"title": "No result found", "status": 404, "detail": "No shipment found."})
    assert r.tracking_number == ""
    r = one({"title": "Bad Request", "status": 400, "detail": "trackingNumber is required."})
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    assert (r.problems[0].kind, r.problems[0].code) == (ProblemKind.REQUEST_ERROR, "400")


# -- Express, Parcel DE and eCommerce rules --------------------------------------------------

EXPRESS_HEAD = '<req:TrackingResponse xmlns:req="http://www.dhl.com">'


def express_awb(events: str, number: str = "1234567890") -> bytes:
    return (
        f"{EXPRESS_HEAD}<AWBInfo><AWBNumber>{number}</AWBNumber><Status><ActionStatus>success"
        "</ActionStatus></Status><ShipmentInfo><DestinationServiceArea><ServiceAreaCode>LHR"
        "</ServiceAreaCode><Description>London - United Kingdom</Description>"
        f"</DestinationServiceArea>{events}</ShipmentInfo></AWBInfo></req:TrackingResponse>"
    ).encode()


def express_event(code: str, day: str, clock: str, area: str = "Leipzig - Germany") -> str:
    return (
        f"<ShipmentEvent><Date>{day}</Date><Time>{clock}</Time><ServiceEvent><EventCode>{code}"
        f"</EventCode><Description>x</Description></ServiceEvent><ServiceArea><Description>"
        f"{area}</Description></ServiceArea></ShipmentEvent>"
    )


def test_express_unknown_code_and_reason_codes() -> None:
    r = one(
        express_awb(
            express_event("PU", "2024-01-10", "10:00:00")
            + express_event("ZZ", "2024-01-10", "12:00:00")
        )
    )
    assert (r.status, r.unknown_codes) == (Status.UNKNOWN, ["ZZ"])
    assert kinds(r) == [ProblemKind.UNKNOWN_CODE]
    assert r.events[0].occurred_at.isoformat() == "2024-01-10T12:00:00+01:00"
    r = one(express_awb(express_event("NH", "2024-01-11", "15:00:00", "London - United Kingdom")))
    assert (r.status, r.reason) == (Status.ATTEMPT_FAIL, Reason.RECIPIENT_UNAVAILABLE)
    assert r.events[0].occurred_at.isoformat() == "2024-01-11T15:00:00+00:00"


def test_express_error_response_is_one_request_error() -> None:
    payload = (
        b'<res:ShipmentTrackingErrorResponse xmlns:res="http://www.dhl.com"><Response>'
        b"<Status><ActionStatus>Error</ActionStatus><Condition><ConditionCode>111</ConditionCode>"
        b"<ConditionData>Error in parsing request XML</ConditionData></Condition></Status>"
        b"</Response></res:ShipmentTrackingErrorResponse>"
    )
    r = one(payload)
    assert (r.tracking_number, r.status) == ("", Status.UNKNOWN)
    (problem,) = r.problems
    assert (problem.kind, problem.code) == (ProblemKind.REQUEST_ERROR, "111")


def test_express_awb_without_shipment_info_is_pending() -> None:
    payload = (
        f"{EXPRESS_HEAD}<AWBInfo><AWBNumber>5550001111</AWBNumber><Status><ActionStatus>"
        "success</ActionStatus></Status></AWBInfo></req:TrackingResponse>"
    ).encode()
    r = one(payload)
    assert (r.tracking_number, r.status, r.events, r.problems) == (
        "5550001111",
        Status.PENDING,
        (),
        (),
    )


def test_express_service_area_places() -> None:
    assert place_from_text("SPRINGFIELD GARDENS,NY-USA") == Location(
        city="SPRINGFIELD GARDENS", region="NY", country="US"
    )
    assert place_from_text("KINGSTON-JAM") == Location(city="KINGSTON", country="JM")
    assert place_from_text("Aix-en-Provence - France") == Location(
        "Aix-en-Provence", None, None, "FR"
    )
    assert place_from_text("Somewhere - Atlantis") == Location(city="Somewhere - Atlantis")


def parcel_de(events: str, current: str = "", list_code: str = "0") -> bytes:
    return (
        f'<data name="piece-shipment-list" code="{list_code}"><data name="piece-shipment" '
        f'error-status="0" piece-code="00340000000000000001" dest-country="DE" '
        f'standard-event-code="{current}"><data name="piece-event-list">{events}</data></data>'
        "</data>"
    ).encode()


def pde_event(code: str, stamp: str, country: str = "Germany") -> str:
    return (
        f'<data name="piece-event" event-timestamp="{stamp}" standard-event-code="{code}" '
        f'ice="X" ric="Y" event-country="{country}" event-text="t"/>'
    )


def test_parcel_de_unknown_code_and_current_code() -> None:
    r = one(parcel_de(pde_event("AA", "01.07.2024 08:00") + pde_event("QQ", "01.07.2024 09:00")))
    assert (r.status, r.unknown_codes) == (Status.UNKNOWN, ["QQ/X/Y"])
    assert [p.code for p in r.problems] == ["QQ"]
    assert r.events[0].occurred_at.isoformat() == "2024-07-01T09:00:00+02:00"
    r = one(parcel_de(pde_event("ZN", "01.07.2024 12:00"), current="ZN"))
    assert (r.status, r.reason) == (Status.ATTEMPT_FAIL, None)


def test_parcel_de_error_piece_and_other_list_code() -> None:
    payload = (
        b'<data name="piece-shipment-list" code="0"><data name="piece-shipment" error-status="1"'
        b' searched-piece-code="0034XYZ" status="Invalid piece code"/></data>'
    )
    r = one(payload)
    assert (r.tracking_number, r.problems[0].kind) == ("0034XYZ", ProblemKind.REQUEST_ERROR)
    r = one(b'<data name="piece-shipment-list" code="2" error="Not authorised"/>')
    assert (r.tracking_number, r.problems[0].code) == ("", "2")


def ecommerce(time: str, city: str = "", state: str = "") -> bytes:
    return (
        "<track><shipment><trackingnumber>GM001</trackingnumber><city>DENVER</city><state>CO"
        f"</state><event><code>598</code><date>7/1/2024</date><time>{time}</time><city>{city}"
        f"</city><state>{state}</state><description>OUT FOR DELIVERY</description></event>"
        "</shipment></track>"
    ).encode()


def test_ecommerce_zone_words_and_fallbacks() -> None:
    assert (
        one(ecommerce("8:00 AM PT")).events[0].occurred_at.isoformat()
        == "2024-07-01T08:00:00-07:00"
    )
    assert (
        one(ecommerce("8:00 AM CST")).events[0].occurred_at.isoformat()
        == "2024-07-01T08:00:00-06:00"
    )
    # no zone word: the event's state, else the shipment's address (Denver, MDT)
    assert (
        one(ecommerce("8:00 AM", "Miami", "FL")).events[0].occurred_at.isoformat()
        == "2024-07-01T08:00:00-04:00"
    )
    assert (
        one(ecommerce("8:00 AM")).events[0].occurred_at.isoformat() == "2024-07-01T08:00:00-06:00"
    )


def test_ecommerce_shipment_without_events_is_pending() -> None:
    r = one(b"<track><shipment><trackingnumber>GM002</trackingnumber></shipment></track>")
    assert (r.tracking_number, r.status, r.events, r.problems) == ("GM002", Status.PENDING, (), ())


# -- code tables -----------------------------------------------------------------------------


def csv_rows() -> list[dict[str, str]]:
    with CODES_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def test_every_documented_dhl_code_maps_for_every_service() -> None:
    rows = csv_rows()
    assert len(rows) == 1092
    per_service: Counter[str] = Counter()
    for row in rows:
        mapping = service_code(row["Service"], row["Status"])
        assert mapping is not None, row
        status, reason = mapping
        assert isinstance(status, Status) and (reason is None or isinstance(reason, Reason))
        assert status not in (Status.PENDING, Status.EXPIRED)
        per_service[row["Service"]] += 1
    distinct = {(row["Service"], row["Status"]) for row in rows}
    assert len(distinct) == 1090  # dgf lists two codes twice
    for name, table in SERVICE_TABLES.items():
        assert len(table) == len({c for s, c in distinct if s == name}), name
    assert per_service["express"] == 44 and per_service["parcel-de"] == 16


def test_observed_codes_from_codes_md_map() -> None:
    for code in ("PU", "PO", "RW", "PL", "AF", "DF", "AR", "WC", "OK"):
        assert express_xml_code(code) is not None, code
    for code in ("ES", "AA", "AE", "EE", "PO", "ZU"):
        assert parcel_de_code(code) is not None, code
    for code in ("99", "132", "200", "220", "300", "350", "400", "526", "540", "520", "539"):
        assert ecommerce_legacy_code(code) == (Status.IN_TRANSIT, None) or code == "99"
    assert ecommerce_legacy_code("598") == (Status.OUT_FOR_DELIVERY, None)
    assert ecommerce_legacy_code("600") == (Status.DELIVERED, None)
    assert set(UNIFIED_STATUS_CODES) == {
        "pre-transit",
        "transit",
        "delivered",
        "failure",
        "unknown",
    }


def test_no_code_has_two_meanings_across_merged_tables() -> None:
    for code, mapping in EXPRESS_XML_OBSERVED.items():
        assert code not in EXPRESS or EXPRESS[code] == mapping
    for code, mapping in ECOMMERCE_LEGACY_OBSERVED.items():
        assert code not in ECOMMERCE or ECOMMERCE[code] == mapping, code
    assert EXPRESS_XML == {**EXPRESS, **EXPRESS_XML_OBSERVED}
    assert ECOMMERCE_LEGACY == {**ECOMMERCE, **ECOMMERCE_LEGACY_OBSERVED}


def test_unmapped_codes_are_unknown_never_in_transit() -> None:
    assert service_code("express", "NOPE") is None
    assert service_code("no-such-service", "OK") is None
    assert express_xml_code("NOPE") is None and parcel_de_code("NOPE") is None
    assert ecommerce_legacy_code("1") is None
    r = one(ecommerce("8:00 AM ET").replace(b"<code>598</code>", b"<code>1</code>"))
    assert (r.status, r.events[0].status, kinds(r)) == (
        Status.UNKNOWN,
        Status.UNKNOWN,
        [ProblemKind.UNKNOWN_CODE],
    )


def test_refinable_sets_keep_statuses_consistent() -> None:
    assert REFINABLE["unknown"] == frozenset()
    assert all(Status.DELIVERED not in REFINABLE[c] for c in REFINABLE if c != "delivered")


# -- payload errors and sniffing ---------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"   ",
        b'{"shipments": [{"id": "1", "service": "express"',
        b"<req:TrackingResponse xmlns:req='http://www.dhl.com'><AWBInfo>",
        b"<!DOCTYPE html><html><body>Service unavailable</body></html>",
        b"<html><head><title>502</title></head></html>",
        b'{"unexpected": true}',
        b"[1, 2, 3]",
        b"<Other><x/></Other>",
        b"not a payload",
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><track><shipment/></track>',
    ],
)
def test_unreadable_payloads_raise(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        parse(payload)


def test_sniff_claims_no_other_carriers_sample() -> None:
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix in (".json", ".xml"):
            assert sniff(path.read_bytes()) is path.name.startswith("dhl_"), path.name


def test_registry_entry() -> None:
    spec = registry.get("dhl")
    assert spec is CARRIER
    assert spec.default_base_url == "https://api-eu.dhl.com"
    assert spec.sandbox is SANDBOX and SANDBOX.token_path is None


# -- sandbox round trip ------------------------------------------------------------------------

T0 = datetime(2024, 5, 6, 9, 30, tzinfo=timezone(timedelta(hours=2)))


def world_result(
    pairs: list[tuple[Status, Reason | None]],
    service: str | None,
    *,
    number: str = "JD0001",
    estimate: EstimatedDelivery | None = None,
) -> TrackingResult:
    events = tuple(
        TrackingEvent(
            T0 + timedelta(hours=index),
            status,
            reason,
            "w",
            f"scan {index}",
            Location("Bonn", None, "53113", "DE"),
        )
        for index, (status, reason) in enumerate(pairs)
    )[::-1]
    newest = events[0]
    delivered = newest.occurred_at if newest.status is Status.DELIVERED else None
    return TrackingResult(
        carrier="dhl",
        tracking_number=number,
        status=newest.status,
        reason=newest.reason,
        estimated_delivery=estimate,
        delivered_at=delivered,
        events=events,
        service=service,
    )


def round_trip(result: TrackingResult) -> TrackingResult:
    status, body = SANDBOX.respond([result], [])
    assert status == 200
    return one(body)


def assert_same(back: TrackingResult, sent: TrackingResult) -> None:
    assert back.tracking_number == sent.tracking_number
    assert (back.status, back.reason) == (sent.status, sent.reason)
    assert [(e.occurred_at, e.status, e.reason) for e in back.events] == [
        (e.occurred_at, e.status, e.reason) for e in sent.events
    ]
    assert [offset(e.occurred_at) for e in back.events] == [
        offset(e.occurred_at) for e in sent.events
    ]
    assert back.estimated_delivery == sent.estimated_delivery
    assert back.delivered_at == sent.delivered_at
    assert back.problems == ()


@pytest.mark.parametrize("service", sorted(SERVICE_TABLES))
def test_sandbox_round_trips_every_pair_the_service_can_state(service: str) -> None:
    for pair in REVERSE[service]:
        sent = world_result([(Status.INFO_RECEIVED, None), pair], service)
        assert_same(round_trip(sent), sent)


def test_sandbox_covers_every_status_and_reason_dhl_can_state() -> None:
    pairs = {pair for codes in REVERSE.values() for pair in codes} | {(Status.UNKNOWN, None)}
    statuses = {status for status, _ in pairs}
    assert statuses == set(Status) - {Status.PENDING, Status.EXPIRED}
    reasons = {reason for _, reason in pairs if reason is not None}
    # No DHL list has a natural-disaster cause (FORCE_MAJEURE does not say which).
    assert reasons == set(Reason) - {Reason.NATURAL_DISASTER}
    sent = world_result([(Status.IN_TRANSIT, None), (Status.UNKNOWN, None)], "express")
    assert_same(round_trip(sent), sent)


def test_sandbox_express_choices_parse_back() -> None:
    for pair, code in EXPRESS_CODES.items():
        assert EXPRESS[code] == pair
        assert REVERSE["express"][pair] == code


def test_sandbox_drops_a_cause_express_cannot_state_and_keeps_estimates() -> None:
    window = EstimatedDelivery(T0 + timedelta(days=2), T0 + timedelta(days=2, hours=4))
    sent = world_result(
        [(Status.IN_TRANSIT, None), (Status.EXCEPTION, Reason.WEATHER)],
        "DHL Express Worldwide",
        estimate=window,
    )
    back = round_trip(sent)
    assert (back.status, back.reason) == (Status.EXCEPTION, None)  # cause dropped, not swapped
    assert back.estimated_delivery == window
    day = EstimatedDelivery(date(2024, 5, 9), date(2024, 5, 9))
    sent = world_result([(Status.IN_TRANSIT, None)], None, estimate=day)
    assert round_trip(sent).estimated_delivery == day
    sent = world_result([(Status.IN_TRANSIT, None), (Status.DELIVERED, None)], "express")
    back = round_trip(sent)
    assert back.delivered_at == T0 + timedelta(hours=1) and offset(back.delivered_at) == timedelta(
        hours=2
    )


def test_sandbox_not_found_and_unwritable_results() -> None:
    status, body = SANDBOX.respond([], ["00340434161094015902"])
    assert status == 404
    r = one(body)
    assert (r.tracking_number, r.problems[0].kind) == (
        "00340434161094015902",
        ProblemKind.NOT_FOUND,
    )
    pending = world_result([(Status.PENDING, None)], "express", number="JD0009")
    status, body = SANDBOX.respond([pending], [])
    assert (status, one(body).tracking_number) == (404, "JD0009")
    status, body = SANDBOX.respond([], [])
    assert status == 400 and one(body).problems[0].kind is ProblemKind.REQUEST_ERROR


def test_sandbox_matches_only_our_requests() -> None:
    query = {"trackingNumber": ["JD0001"], "language": ["en"]}
    assert SANDBOX.match("GET", "/track/shipments", query, b"") == ["JD0001"]
    assert SANDBOX.match("GET", "/prefix/track/shipments", query, b"") == ["JD0001"]
    assert SANDBOX.match("POST", "/track/shipments", query, b"") is None
    assert SANDBOX.match("POST", "/track/v1/trackingnumbers", {}, b"{}") is None
    assert SANDBOX.match("GET", "/tracking/v3/tracking/9400", {}, b"") is None
    assert SANDBOX.match("GET", "/track/shipments", {}, b"") == []


def test_unified_service_names() -> None:
    assert unified_service("DHL Express Worldwide") == "express"
    assert unified_service("DHL eCommerce Europe") == "ecommerce-europe"
    assert unified_service("parcel-nl") == "parcel-nl"
    assert unified_service(None) == "express"


# -- client against a loopback server ----------------------------------------------------------


class FakeDhl(BaseHTTPRequestHandler):
    """Speaks the Unified API through the sandbox codec; records what it was sent."""

    requests: ClassVar[list[tuple[str, dict[str, list[str]], str | None]]] = []
    world: ClassVar[dict[str, TrackingResult]] = {}
    reject_key: ClassVar[bool] = False

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        type(self).requests.append((split.path, query, self.headers.get("DHL-API-Key")))
        if type(self).reject_key:
            status, body = 401, b'{"status": 401, "title": "Unauthorized"}'
        else:
            numbers = SANDBOX.match("GET", split.path, query, b"") or []
            found = [self.world[n] for n in numbers if n in self.world]
            missing = [n for n in numbers if n not in self.world]
            status, body = SANDBOX.respond(found, missing)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def dhl_server() -> Iterator[str]:
    FakeDhl.requests = []
    FakeDhl.reject_key = False
    FakeDhl.world = {
        "JD0001": world_result(
            [(Status.INFO_RECEIVED, None), (Status.OUT_FOR_DELIVERY, None)], "express"
        ),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDhl)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_client_sends_one_number_per_request_with_the_api_key(dhl_server: str) -> None:
    settings = ClientSettings(base_url=dhl_server + "/dhl", api_key="key-1", requests_per_second=0)
    client = make_client(settings)
    bodies = client.track(["JD0001", "JD0404", "JD0001"])
    assert len(bodies) == 2  # one request per distinct number: the API takes one
    assert [
        (path, q["trackingNumber"], q["language"], key) for path, q, key in FakeDhl.requests
    ] == [
        ("/dhl/track/shipments", ["JD0001"], ["en"], "key-1"),
        ("/dhl/track/shipments", ["JD0404"], ["en"], "key-1"),
    ]
    found, missing = (one(body) for body in bodies)
    assert (found.tracking_number, found.status) == ("JD0001", Status.OUT_FOR_DELIVERY)
    assert (missing.tracking_number, missing.problems[0].kind) == ("JD0404", ProblemKind.NOT_FOUND)


def test_client_stops_on_a_rejected_key_and_refuses_blank_numbers(dhl_server: str) -> None:
    FakeDhl.reject_key = True
    settings = ClientSettings(base_url=dhl_server, api_key="bad", requests_per_second=0)
    client = make_client(settings)
    with pytest.raises(CarrierAuthError):
        client.track(["JD0001", "JD0002"])
    assert len(FakeDhl.requests) == 1
    with pytest.raises(ValueError, match="empty tracking number"):
        client.track(["JD0001", " "])


# -- end to end: our client against the real sandbox server and a small world ----------------

WORLD_SCANS = [
    ["carrier", "tracking_number", "service", "occurred_at", "status", "reason", "description",
     "city", "region", "postal_code", "country"],
    ["dhl", "JD0100", "DHL Express Worldwide", "2026-11-18T09:00:00+01:00", "info_received", "",
     "Shipment information received", "Leipzig", "", "04435", "DE"],
    ["dhl", "JD0100", "DHL Express Worldwide", "2026-11-19T02:30:00+00:00", "in_transit", "",
     "Arrived at DHL Sort Facility", "London", "", "", "GB"],
    ["dhl", "JD0100", "DHL Express Worldwide", "2026-11-20T08:00:00-05:00", "exception",
     "customs", "Clearance delay - shipment on hold", "Cincinnati", "OH", "", "US"],
    ["dhl", "JD0100", "DHL Express Worldwide", "2026-11-21T15:10:00-05:00", "delivered", "",
     "Delivered", "Atlanta", "GA", "30301", "US"],
]  # fmt: skip
WORLD_ETAS = [
    ["carrier", "tracking_number", "stated_at", "earliest", "latest"],
    ["dhl", "JD0100", "2026-11-18T09:00:00+01:00", "2026-11-21T09:00:00-05:00",
     "2026-11-21T18:00:00-05:00"],
]  # fmt: skip


def test_client_through_the_sandbox_server_sees_the_world(tmp_path: Path) -> None:
    folder = tmp_path / "tracking"
    folder.mkdir()
    for name, rows in (("scans.csv", WORLD_SCANS), ("etas.csv", WORLD_ETAS)):
        with (folder / name).open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)
    world = SandboxWorld.load(tmp_path)
    before_delivery = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    with SandboxServer(world, carriers=[CARRIER]) as server:
        settings = ClientSettings(
            base_url=server.url_for(before_delivery), api_key="k", requests_per_second=0
        )
        bodies = make_client(settings).track(["JD0100", "JD0999"])
        assert server.request_counts == {"dhl": 2}
    found, missing = (one(body) for body in bodies)
    expected = world.tracking("dhl", "JD0100", before_delivery)
    assert expected is not None
    assert_same(found, expected)
    assert (found.status, found.reason) == (Status.EXCEPTION, Reason.CUSTOMS)
    assert [e.occurred_at.isoformat() for e in found.events] == [
        "2026-11-20T08:00:00-05:00",
        "2026-11-19T02:30:00+00:00",
        "2026-11-18T09:00:00+01:00",
    ]
    assert (missing.tracking_number, missing.problems[0].kind) == ("JD0999", ProblemKind.NOT_FOUND)
