"""Canada Post: samples, code tables, time rules, payload errors and sniffing."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from carriers import registry
from carriers.canadapost import CARRIER
from carriers.canadapost.codes import EVENT_CODES, MESSAGE_CODES
from carriers.canadapost.parse import parse, sniff
from carriers.models import EstimatedDelivery, Location, PayloadError, ProblemKind
from carriers.taxonomy import Reason, Status

SAMPLES = Path(__file__).parent.parent / "fixtures" / "carrier_samples"


def iso(moment):
    return moment.isoformat() if moment is not None else None


def detail(occurrences: str, extra: str = "") -> bytes:
    return (
        f'<tracking-detail xmlns="http://www.canadapost.ca/ws/track"><pin>1234</pin>{extra}'
        f"<significant-events>{occurrences}</significant-events></tracking-detail>"
    ).encode()


def occurrence(code="0100", day="2024-03-10", clock="12:00:00", zone="EST", province="QC"):
    return (
        f"<occurrence><event-identifier>{code}</event-identifier><event-date>{day}</event-date>"
        f"<event-time>{clock}</event-time><event-time-zone>{zone}</event-time-zone>"
        f"<event-description>Item processed</event-description><event-site>SITE</event-site>"
        f"<event-province>{province}</event-province></occurrence>"
    )


# -- samples, checked by hand against the payloads -----------------------------------------


def test_address_issue_then_delivered():
    (r,) = parse((SAMPLES / "canadapost_address_issue.xml").read_bytes())
    assert (r.carrier, r.tracking_number) == ("canadapost", "7023210039414604")
    # The newest event is 20 "Signature image recorded" (recorded only for a delivered item).
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert iso(r.delivered_at) == "2011-02-03T11:59:59-05:00"
    assert r.estimated_delivery == EstimatedDelivery(date(2011, 4, 5), date(2011, 4, 5))
    assert r.service == "Expedited Parcels"
    assert len(r.events) == 6
    assert [e.code for e in r.events] == ["20", "0174", "0100", "0173", "1496", "20"]
    assert (iso(r.events[0].occurred_at), r.events[0].code) == ("2011-02-03T11:59:59-05:00", "20")
    assert (iso(r.events[-1].occurred_at), r.events[-1].code) == ("2011-02-01T07:59:52-05:00", "20")
    address = r.events[3]
    assert (address.status, address.reason) == (Status.EXCEPTION, Reason.ADDRESS_ISSUE)
    assert iso(address.occurred_at) == "2011-02-02T06:19:57-05:00"
    assert address.location == Location("QUEBEC", "QC", None, "CA")
    assert r.events[1].status is Status.OUT_FOR_DELIVERY
    assert r.problems == ()


def test_not_found_messages():
    (r,) = parse((SAMPLES / "canadapost_not_found.xml").read_bytes())
    assert (r.tracking_number, r.status, r.events) == ("", Status.UNKNOWN, ())
    assert [(p.kind, p.code, p.message) for p in r.problems] == [
        (ProblemKind.NOT_FOUND, "004", "No Pin History")
    ]


# -- code tables ---------------------------------------------------------------------------


def documented() -> tuple[set[str], set[str]]:
    text = (SAMPLES / "CODES.md").read_text("utf-8")
    section = text.split("\n## Canada Post", 1)[1].split("\n## ", 1)[0]
    events, messages = set(), set()
    for line in section.splitlines():
        match = re.match(r"\|\s*([0-9A-Z]+)\s*(\(message code\))?\s*\|", line)
        if match:
            (messages if match.group(2) else events).add(match.group(1))
    return events, messages


def test_every_documented_code_is_mapped():
    events, messages = documented()
    assert events == {"20", "0174", "0100", "0173", "1496"}
    assert messages == {"004", "E002"}
    assert events <= set(EVENT_CODES)
    assert messages <= set(MESSAGE_CODES)


def test_each_code_has_one_status_and_at_most_one_reason():
    for code, (status, reason) in EVENT_CODES.items():
        assert status is not Status.UNKNOWN, code
        assert reason is None or isinstance(reason, Reason), code


def test_unknown_code_is_unknown_with_a_problem():
    (r,) = parse(detail(occurrence(code="9999") + occurrence(code="0100", clock="08:00:00")))
    assert (r.status, r.events[0].status) == (Status.UNKNOWN, Status.UNKNOWN)
    assert r.status is not Status.IN_TRANSIT
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.UNKNOWN_CODE, "9999")]


def test_authentication_message_is_a_request_error():
    xml = (
        b'<messages xmlns="http://www.canadapost.ca/ws/track"><message><code>E002</code>'
        b"<description>AAA Authentication Failure</description></message></messages>"
    )
    (r,) = parse(xml)
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.REQUEST_ERROR, "E002")]


# -- time rules ----------------------------------------------------------------------------


def test_time_zone_abbreviation_gives_the_offset():
    (r,) = parse(detail(occurrence(zone="PDT", province="BC")))
    assert iso(r.events[0].occurred_at) == "2024-03-10T12:00:00-07:00"


def test_without_abbreviation_the_province_zone_is_used():
    (r,) = parse(detail(occurrence(zone="", day="2024-07-01", province="MB")))
    assert iso(r.events[0].occurred_at) == "2024-07-01T12:00:00-05:00"


def test_without_province_the_destination_postal_code_decides():
    extra = "<destination-postal-id>V6B1A1</destination-postal-id>"
    (r,) = parse(detail(occurrence(zone="", day="2024-01-15", province=""), extra))
    assert iso(r.events[0].occurred_at) == "2024-01-15T12:00:00-08:00"
    assert r.events[0].location.country is None


def test_no_zone_leaves_the_event_out_with_a_problem():
    (r,) = parse(detail(occurrence(code="0100", zone="", province="")))
    assert (r.events, r.status) == ((), Status.UNKNOWN)
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.TIME_WITHOUT_ZONE, "0100")]


def test_empty_time_is_midnight_and_bad_dates_are_problems():
    (r,) = parse(detail(occurrence(clock="") + occurrence(code="0174", day="03/10/2024")))
    assert [iso(e.occurred_at) for e in r.events] == ["2024-03-10T00:00:00-05:00"]
    assert [(p.kind, p.code) for p in r.problems] == [(ProblemKind.PARSE_ERROR, "0174")]


def test_changed_expected_date_wins():
    extra = (
        "<expected-delivery-date>2024-03-12</expected-delivery-date>"
        "<changed-expected-date>2024-03-14</changed-expected-date>"
    )
    (r,) = parse(detail(occurrence(), extra))
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 3, 14), date(2024, 3, 14))


# -- unreadable payloads and sniffing ------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        (SAMPLES / "canadapost_address_issue.xml").read_bytes()[:900],
        b"<!DOCTYPE html><html><body>Service Unavailable</body></html>",
        b'{"pin": "1234"}',
        b"<tracking-summary/>",
        b'<!DOCTYPE x [<!ENTITY a "b">]><tracking-detail/>',
    ],
)
def test_unreadable_payload_raises(payload):
    with pytest.raises(PayloadError, match="Canada Post"):
        parse(payload)


def all_samples() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in (".json", ".xml"))


@pytest.mark.parametrize("path", all_samples(), ids=lambda p: p.name)
def test_sniff_claims_only_canadapost_samples(path):
    assert sniff(path.read_bytes()) is path.name.startswith("canadapost_")


def test_registry_knows_canadapost_as_a_file_drop_feed():
    spec = registry.get("canadapost")
    assert spec is CARRIER
    assert (spec.make_client, spec.sandbox, spec.default_base_url) == (None, None, None)
