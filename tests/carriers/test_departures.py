"""Departure scans: every parser reads ``departed`` from the carrier's code, never its text,
and every sandbox codec writes a departure code for a departed event (and only for one)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from carriers import aftership, amazon, dhl, easypost, fedex, ups, usps
from carriers.aftership import codes as aftership_codes
from carriers.aftership import sandbox as aftership_sandbox
from carriers.dhl import sandbox as dhl_sandbox
from carriers.dhl.codes import SERVICE_DEPARTURES, SERVICE_TABLES, service_departs
from carriers.easypost import codes as easypost_codes
from carriers.easypost import sandbox as easypost_sandbox
from carriers.fedex import sandbox as fedex_sandbox
from carriers.fedex.codes import departs as fedex_departs
from carriers.models import Location, TrackingEvent, TrackingResult
from carriers.taxonomy import Reason, Status
from carriers.ups import sandbox as ups_sandbox
from carriers.ups.codes import DEPARTURES as UPS_DEPARTURES
from carriers.ups.codes import TABLES as UPS_TABLES
from carriers.ups.codes import map_event, normalize
from carriers.usps import sandbox as usps_sandbox
from carriers.usps.codes import departs as usps_departs


def one(results: list[TrackingResult]) -> TrackingResult:
    assert len(results) == 1
    return results[0]


def departed(result: TrackingResult) -> list[tuple[str, bool]]:
    """(code, departed) of every event, newest first."""
    return [(e.code, e.departed) for e in result.events]


# -- UPS: keyed on (activity type, code) ---------------------------------------------------


def ups_payload(type_code: str, code: str, status_code: str = "", service: str = "") -> bytes:
    status = {"type": type_code, "code": code, "description": "Scan"}
    if status_code:
        status["statusCode"] = status_code
    activity = {
        "location": {"address": {"city": "Chicago", "stateProvince": "IL", "country": "US"}},
        "status": status,
        "date": "20240310",
        "time": "120000",
    }
    package: dict[str, Any] = {"trackingNumber": "1Z0000000000000001", "activity": [activity]}
    if service:
        package["service"] = {"description": service}
    shipment = {"inquiryNumber": "1Z0000000000000001", "package": [package]}
    return json.dumps({"trackResponse": {"shipment": [shipment]}}).encode()


@pytest.mark.parametrize(
    ("type_code", "code", "status_code", "service", "want"),
    [
        ("I", "DP", "005", "", True),  # movement scan: Departure scan
        ("I", "UD", "", "", True),  # movement scan: Updated Departure
        ("I", "2O", "", "", True),  # package exception table: Departed from Facility
        ("I", "AR", "005", "", False),  # movement scan: Arrival scan
        ("I", "CD", "", "", False),  # movement scan: Cancelled Departure
        ("X", "DP", "", "", False),  # exception table: a commodity that cannot be shipped
        ("M", "DP", "", "", False),  # manifest: shipment ready for UPS
        ("I", "OF", "", "UPS Mail Innovations", True),  # Departure Scan: Enroute to customer
        ("I", "OF", "", "", False),  # movement scan: Out for delivery
    ],
)
def test_ups_departure_is_read_in_the_table_of_the_activity_type(
    type_code: str, code: str, status_code: str, service: str, want: bool
) -> None:
    result = one(ups.parse(ups_payload(type_code, code, status_code, service)))
    assert result.problems == ()
    assert [e.departed for e in result.events] == [want]


def test_ups_departures_name_rows_of_the_code_tables() -> None:
    for table, code in UPS_DEPARTURES:
        entry = UPS_TABLES[table][normalize(code)]
        assert entry.code == code and "depart" in entry.description.lower(), (table, code)


# -- FedEx ---------------------------------------------------------------------------------


def fedex_payload(*event_types: str) -> bytes:
    events = [
        {
            "date": f"2024-05-01T{10 + index:02d}:00:00-04:00",
            "eventType": event_type,
            "eventDescription": "Departed FedEx location",  # the same text for every code
        }
        for index, event_type in enumerate(event_types)
    ]
    track = {"trackingNumberInfo": {"trackingNumber": "1"}, "scanEvents": events}
    body = {"output": {"completeTrackResults": [{"trackingNumber": "1", "trackResults": [track]}]}}
    return json.dumps(body).encode()


def test_fedex_departure_event_types() -> None:
    result = one(fedex.parse(fedex_payload("DP", "LO", "AR", "IT")))
    assert departed(result) == [("IT", False), ("AR", False), ("LO", True), ("DP", True)]


# -- USPS ------------------------------------------------------------------------------------


def usps_payload(*codes: str) -> bytes:
    events = [
        {
            "eventType": "Departed or Arrived at USPS Facility",  # the same text for every code
            "eventTimestamp": f"2024-11-20T{10 + index:02d}:00:00",
            "GMTOffset": "-05:00",
            "eventState": "NY",
            "eventCode": code,
        }
        for index, code in enumerate(codes)
    ]
    return json.dumps(
        {"trackingNumber": "9400100000000000000000", "trackingEvents": events}
    ).encode()


def test_usps_departure_codes_and_not_the_ambiguous_10() -> None:
    result = one(usps.parse(usps_payload("EF", "SF", "T1", "82", "10", "A1", "81")))
    assert departed(result) == [
        ("81", False),
        ("A1", False),
        ("10", False),
        ("82", True),
        ("T1", True),
        ("SF", True),
        ("EF", True),
    ]


# -- DHL: each format by its own table -----------------------------------------------------


def dhl_express(*codes: str) -> bytes:
    events = "".join(
        f"<ShipmentEvent><Date>2024-07-01</Date><Time>{10 + index:02d}:00:00</Time>"
        f"<ServiceEvent><EventCode>{code}</EventCode><Description>Departed</Description>"
        "</ServiceEvent><ServiceArea><Description>Leipzig - Germany</Description></ServiceArea>"
        "</ShipmentEvent>"
        for index, code in enumerate(codes)
    )
    return (
        '<req:TrackingResponse xmlns:req="http://www.dhl.com"><AWBInfo><AWBNumber>1234567890'
        "</AWBNumber><Status><ActionStatus>success</ActionStatus></Status><ShipmentInfo>"
        f"{events}</ShipmentInfo></AWBInfo></req:TrackingResponse>"
    ).encode()


def dhl_parcel_de(*codes: str) -> bytes:
    events = "".join(
        f'<data name="piece-event" event-timestamp="01.07.2024 {10 + index:02d}:00" '
        f'standard-event-code="{code}" ice="X" ric="Y" event-country="Germany" '
        'event-text="Departed"/>'
        for index, code in enumerate(codes)
    )
    return (
        '<data name="piece-shipment-list" code="0"><data name="piece-shipment" error-status="0" '
        'piece-code="00340000000000000001" dest-country="DE"><data name="piece-event-list">'
        f"{events}</data></data></data>"
    ).encode()


def dhl_ecommerce(*codes: str) -> bytes:
    events = "".join(
        f"<event><code>{code}</code><date>7/1/2024</date><time>{10 - index}:00 AM ET</time>"
        "<description>DEPARTURE</description></event>"
        for index, code in enumerate(codes)  # the feed lists the newest first
    )
    return (
        f"<track><shipment><trackingnumber>GM001</trackingnumber>{events}</shipment></track>"
    ).encode()


def dhl_unified(service: str, *statuses: str) -> bytes:
    events = [
        {
            "timestamp": f"2024-07-01T{10 - index:02d}:00:00+02:00",
            "statusCode": "transit",
            "status": status,
            "description": "Departed",
        }
        for index, status in enumerate(statuses)  # DHL lists the newest first
    ]
    return json.dumps({"shipments": [{"id": "JD1", "service": service, "events": events}]}).encode()


def test_dhl_express_departure_codes() -> None:
    result = one(dhl.parse(dhl_express("PO", "DF", "AF", "PL")))
    assert departed(result) == [("PL", False), ("AF", False), ("DF", True), ("PO", True)]


def test_dhl_parcel_de_departure_code() -> None:
    # PO is "In delivery process" in Parcel DE (it is "Departing origin" in Express XML).
    result = one(dhl.parse(dhl_parcel_de("AA", "EE", "PO")))
    assert departed(result) == [("PO/X/Y", False), ("EE/X/Y", False), ("AA/X/Y", True)]


def test_dhl_ecommerce_legacy_departure_codes() -> None:
    # 300 is the legacy "DEPARTURE DHL DISTRIBUTION CENTER" (the current list: "DN SEND").
    result = one(dhl.parse(dhl_ecommerce("350", "300", "120", "200")))
    assert departed(result) == [("350", False), ("300", True), ("120", True), ("200", False)]


@pytest.mark.parametrize(
    ("service", "statuses", "want"),
    [
        ("express", ("DF", "AF", "Departed"), [True, False, False]),  # free text is not a code
        ("parcel-nl", ("DEPARTURE", "PASSED_GATEWAY", "DEPART_FACILITY"), [True, True, False]),
        ("parcel-nl", ("FACILITY_CHECK_OUT", "DEPART_ORIGIN_GATEWAY"), [False, True]),
        ("ecommerce", ("300", "399", "805"), [False, True, True]),  # 805: departed, return leg
        ("ecommerce-europe", ("20", "29", "365"), [True, True, False]),
        ("dgf", ("DEPARTED", "READY_FOR_DEPARTURE"), [True, False]),
        ("svb", ("DEPARTURE_FROM_INWARD_OE", "PASSED_LETTER_CENTER"), [True, False]),
    ],
)
def test_dhl_unified_departure_codes_per_service(
    service: str, statuses: tuple[str, ...], want: list[bool]
) -> None:
    result = one(dhl.parse(dhl_unified(service, *statuses)))
    assert [e.departed for e in result.events] == want


def test_dhl_departure_codes_are_codes_of_their_service() -> None:
    for service, codes in SERVICE_DEPARTURES.items():
        assert codes <= SERVICE_TABLES[service].keys(), service


# -- aggregators and Amazon ----------------------------------------------------------------


def test_easypost_departure_details() -> None:
    details = [
        {
            "message": "Departed",
            "status": "in_transit",
            "status_detail": detail,
            "datetime": f"2024-03-10T{10 + index:02d}:00:00Z",
            "tracking_location": {"city": "ORLANDO", "state": "FL", "country": "US"},
        }
        for index, detail in enumerate(
            ["departed_origin_facility", "departed_facility", "arrived_at_facility", None]
        )
    ]
    tracker = {
        "id": "trk_x",
        "object": "Tracker",
        "tracking_code": "9400TEST",
        "status": "in_transit",
        "carrier": "USPS",
        "tracking_details": details,
    }
    result = one(easypost.parse(json.dumps(tracker).encode()))
    assert departed(result) == [
        ("in_transit", False),  # no detail: "Departed" is only text
        ("in_transit/arrived_at_facility", False),
        ("in_transit/departed_facility", True),
        ("in_transit/departed_origin_facility", True),
    ]


def test_aftership_departure_subtag() -> None:
    checkpoints = [
        {
            "tag": "InTransit",
            "subtag": subtag,
            "checkpoint_time": f"2024-07-01T{10 + index:02d}:00:00Z",
            "message": "Departure scan",
            "country_region": "USA",
            "city": "CHICAGO",
            "state": "IL",
        }
        for index, subtag in enumerate(["InTransit_007", "InTransit_003", None])
    ]
    tracking = {
        "tracking_number": "1Z1",
        "slug": "ups",
        "tag": "InTransit",
        "checkpoints": checkpoints,
    }
    body = json.dumps({"meta": {"code": 200}, "data": {"tracking": tracking}}).encode()
    result = one(aftership.parse(body))
    assert departed(result) == [
        ("InTransit", False),  # no subtag: "Departure scan" is only text
        ("InTransit/InTransit_003", False),
        ("InTransit/InTransit_007", True),
    ]


def test_amazon_departed_event_code() -> None:
    history = [
        {"eventTime": f"2019-03-19T{10 + index:02d}:00:00Z", "eventCode": code, "location": None}
        for index, code in enumerate(["Departed", "departed", "ArrivedAtCarrierFacility"])
    ]
    result = one(amazon.parse(json.dumps({"payload": {"eventHistory": history}}).encode()))
    assert departed(result) == [
        ("ArrivedAtCarrierFacility", False),
        ("departed", True),  # Amazon codes are matched without regard to case
        ("Departed", True),
    ]


# -- sandbox codecs: a departed event comes back departed, an arrival does not ---------------

CHICAGO = Location("CHICAGO", "IL", "60601", "US")
CST = timezone(timedelta(hours=-6))


def world_result(carrier: str, number: str, service: str | None = None) -> TrackingResult:
    """Three in-transit scans, the middle one a departure, as the world hands them over."""
    start = datetime(2024, 3, 4, 8, 0, tzinfo=CST)
    events = tuple(
        TrackingEvent(
            start + timedelta(hours=hour), Status.IN_TRANSIT, None, "", text, CHICAGO, is_departure
        )
        for hour, text, is_departure in (
            (9, "Arrived at hub", False),
            (5, "Departed hub", True),
            (0, "Arrived at origin", False),
        )
    )
    return TrackingResult(carrier, number, Status.IN_TRANSIT, None, events=events, service=service)


Codec = Callable[[TrackingResult], TrackingResult]


def through(sandbox: Any, parse: Callable[[bytes], list[TrackingResult]]) -> Codec:
    def round_trip(result: TrackingResult) -> TrackingResult:
        status, body = sandbox.respond([result], [])
        assert status == 200
        return one(parse(body))

    return round_trip


@pytest.mark.parametrize(
    ("carrier", "round_trip", "departure_code"),
    [
        ("ups", through(ups_sandbox.CODEC, ups.parse), "I/DP/005"),
        ("fedex", through(fedex_sandbox.SANDBOX, fedex.parse), "DP"),
        ("usps", through(usps_sandbox.SANDBOX, usps.parse), "T1"),
        ("dhl", through(dhl_sandbox.SANDBOX, dhl.parse), "transit/DF"),
        (
            "easypost",
            through(easypost_sandbox.SANDBOX, easypost.parse),
            "in_transit/departed_facility",
        ),
        (
            "aftership",
            through(aftership_sandbox.SANDBOX, aftership.parse),
            "InTransit/InTransit_007",
        ),
    ],
)
def test_sandbox_writes_a_departure_code_for_a_departed_event(
    carrier: str, round_trip: Codec, departure_code: str
) -> None:
    sent = world_result(carrier, "7700000000001")
    back = round_trip(sent)
    assert back.problems == ()
    assert [(e.status, e.reason) for e in back.events] == [
        (e.status, e.reason) for e in sent.events
    ]
    assert [e.departed for e in back.events] == [False, True, False]
    assert back.events[1].code == departure_code
    assert back.events[0].code != departure_code


@pytest.mark.parametrize("service", sorted(s for s, code in dhl_sandbox.DEPARTURES.items() if code))
def test_dhl_sandbox_writes_each_services_departure_code(service: str) -> None:
    back = through(dhl_sandbox.SANDBOX, dhl.parse)(world_result("dhl", "JD0001", service))
    assert [e.departed for e in back.events] == [False, True, False]
    assert back.events[1].code == f"transit/{dhl_sandbox.DEPARTURES[service]}"


def test_a_departed_event_that_is_not_plainly_in_transit_is_written_as_before() -> None:
    when = datetime(2024, 3, 4, 8, tzinfo=CST)
    delayed = TrackingEvent(when, Status.EXCEPTION, Reason.WEATHER, "", "Delay", CHICAGO, True)
    result = TrackingResult("ups", "1Z2", Status.EXCEPTION, Reason.WEATHER, events=(delayed,))
    back = through(ups_sandbox.CODEC, ups.parse)(result)
    assert [(e.code, e.status, e.reason, e.departed) for e in back.events] == [
        ("X/DJ/052", Status.EXCEPTION, Reason.WEATHER, False)
    ]


def test_no_codec_writes_a_departure_code_for_an_event_that_did_not_depart() -> None:
    assert not any(map_event(*parts).departed for parts in ups_sandbox.REPRESENTATIVE.values())
    assert not any(fedex_departs(e.event_type) for e in fedex_sandbox.REVERSE.values())
    usps_codes = {
        *usps_sandbox.REPRESENTATIVE_CODES.values(),
        *usps_sandbox.STATUS_DEFAULT_CODES.values(),
    }
    assert not any(usps_departs(code) for code in usps_codes)
    for service, codes in dhl_sandbox.REVERSE.items():
        assert not any(service_departs(service, code) for code in codes.values()), service
    for module in (easypost_codes, aftership_codes):
        written = [*module.REVERSE.values(), *module.STATUS_FALLBACK.values()]
        assert not any(module.departs(detail) for _, detail in written), module.__name__
