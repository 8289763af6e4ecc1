"""EasyPost: samples read by hand, code tables, time rules, sandbox round trip, client, webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from carriers import registry
from carriers.easypost import CARRIER
from carriers.easypost.client import BATCH_SIZE, PAGE_SIZE, EasyPostClient
from carriers.easypost.codes import REVERSE, STATUS_DETAILS, STATUSES, encode, lookup
from carriers.easypost.parse import carrier_name, parse, sniff
from carriers.easypost.sandbox import SANDBOX
from carriers.easypost.webhook import signature, verify
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
from carriers.webhooks import RejectReason, WebhookRejected
from tests.golden import SAMPLES, sample_files

OWN = (
    "easypost_tracker_pre_transit.json",
    "easypost_webhook_delivered.json",
    "easypost_webhook_in_transit.json",
)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def only(results: list[TrackingResult]) -> TrackingResult:
    assert len(results) == 1
    return results[0]


def kinds(result: TrackingResult) -> list[tuple[ProblemKind, str]]:
    return [(p.kind, p.code) for p in result.problems]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- samples, checked by hand -------------------------------------------------------------


def test_tracker_pre_transit() -> None:
    r = only(parse(sample("easypost_tracker_pre_transit.json")))
    assert (r.carrier, r.tracking_number) == ("usps", "EZ1000000001")
    assert (r.status, r.reason) == (Status.INFO_RECEIVED, None)
    assert r.service == "First-Class Package Service"
    # est_delivery_date "2025-05-09T20:40:17Z" is a time, not midnight: a one-instant window
    eta = at("2025-05-09T20:40:17+00:00")
    assert r.estimated_delivery == EstimatedDelivery(eta, eta)
    assert r.delivered_at is None
    assert len(r.events) == 2
    newest, oldest = r.events
    # placed (HOUSTON TX 77063): EasyPost's Z is a real UTC instant
    assert newest.occurred_at.isoformat() == "2025-04-10T09:17:17+00:00"
    assert (newest.code, newest.description) == (
        "pre_transit/status_update",
        "Shipping Label Created",
    )
    # no location: wall-clock time, resolved at the shipment's origin (HOUSTON TX, CDT)
    assert oldest.occurred_at.isoformat() == "2025-04-09T20:40:17-05:00"
    assert oldest.description == "Pre-Shipment Info Sent to USPS"
    assert oldest.code == "pre_transit/status_update"
    assert r.problems == ()


def test_webhook_delivered_test_tracker() -> None:
    r = only(parse(sample("easypost_webhook_delivered.json")))
    assert (r.carrier, r.tracking_number) == ("ups", "EZ4000000004")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.estimated_delivery == EstimatedDelivery(date(2014, 11, 27), date(2014, 11, 27))
    assert r.delivered_at is not None
    assert r.delivered_at.isoformat() == "2014-11-19T10:51:54+00:00"
    # six details; "BILLING INFORMATION RECEIVED" has no location and there is no
    # carrier_detail to place it, so it is left out with a time_without_zone problem
    assert len(r.events) == 5
    assert r.events[0].occurred_at.isoformat() == "2014-11-24T08:10:00+00:00"
    assert (r.events[0].code, r.events[0].status) == ("out_for_delivery", Status.OUT_FOR_DELIVERY)
    # EasyPost's test tracker dates its delivery before the other scans: newest-first order
    # puts it last
    assert r.events[-1].occurred_at.isoformat() == "2014-11-19T10:51:54+00:00"
    assert (r.events[-1].code, r.events[-1].status) == ("delivered", Status.DELIVERED)
    assert kinds(r) == [(ProblemKind.TIME_WITHOUT_ZONE, "pre_transit")]
    assert "BILLING INFORMATION RECEIVED" in r.problems[0].message


def test_webhook_in_transit_fedex() -> None:
    r = only(parse(sample("easypost_webhook_in_transit.json")))
    assert (r.carrier, r.tracking_number) == ("fedex", "1")
    assert (r.status, r.reason) == (Status.IN_TRANSIT, None)
    assert r.service == "FEDEX_GROUND"
    # carrier_detail.est_delivery_date_local "2024-08-05" wins over the midnight-UTC field
    assert r.estimated_delivery == EstimatedDelivery(date(2024, 8, 5), date(2024, 8, 5))
    assert r.delivered_at is None
    assert len(r.events) == 7
    first, last = r.events[0], r.events[-1]
    assert first.occurred_at.isoformat() == "2024-08-02T18:50:00+00:00"
    assert first.code == "in_transit/arrived_at_facility"
    assert first.location == Location("EDISON", "NJ", "08817", "US")
    # ZIP 32837 + US: placed, so EasyPost's UTC is kept
    assert last.occurred_at.isoformat() == "2024-07-31T15:00:00+00:00"
    assert (last.code, last.status) == ("pre_transit/label_created", Status.INFO_RECEIVED)
    assert [e.code for e in r.events].count("in_transit/unknown") == 2
    assert r.problems == ()


# -- payload errors and sniffing ----------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        sample("easypost_webhook_in_transit.json")[:500],  # truncated
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b"",
        b"[1, 2]",
        b'{"hello": "world"}',
        b'{"object": "Event", "description": "batch.updated", "result": {"object": "Batch"}}',
        b'{"trackers": [1, 2], "has_more": false}',
    ],
    ids=["truncated", "html", "empty", "array", "other-object", "batch-event", "bad-list"],
)
def test_unreadable_payloads_raise(payload: bytes) -> None:
    with pytest.raises(PayloadError, match="expected EasyPost JSON"):
        parse(payload)


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_sniff_claims_only_easypost_samples(path: Path) -> None:
    assert sniff(path.read_bytes()) is (path.name in OWN)


def test_registry_detects_easypost() -> None:
    assert registry.detect(sample("easypost_webhook_in_transit.json")).name == "easypost"
    assert registry.get("easypost") is CARRIER


def test_error_envelopes() -> None:
    not_found = (
        b'{"error": {"code": "NOT_FOUND", "message": "The requested resource could '
        b'not be found.", "errors": []}}'
    )
    r = only(parse(not_found))
    assert (r.tracking_number, r.status, r.events) == ("", Status.UNKNOWN, ())
    assert kinds(r) == [(ProblemKind.NOT_FOUND, "NOT_FOUND")]
    auth = b'{"error": {"code": "APIKEY.REQUIRED", "message": "No API key found.", "errors": []}}'
    assert kinds(only(parse(auth))) == [(ProblemKind.REQUEST_ERROR, "APIKEY.REQUIRED")]


def test_empty_list_is_no_results() -> None:
    assert parse(b'{"trackers": [], "has_more": false}') == []


# -- code tables --------------------------------------------------------------------------

# As listed in EasyPost's API reference and EasyPost/easypost-csharp Models/API/Tracker.cs.
DOCUMENTED_STATUSES = [
    "unknown",
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "available_for_pickup",
    "return_to_sender",
    "failure",
    "cancelled",
    "error",
]
DOCUMENTED_DETAILS = [
    "address_correction",
    "arrived_at_destination",
    "arrived_at_facility",
    "arrived_at_pickup_location",
    "awaiting_information",
    "cancelled",
    "damaged",
    "delayed",
    "delivery_exception",
    "departed_facility",
    "departed_origin_facility",
    "expired",
    "failure",
    "held",
    "in_transit",
    "label_created",
    "lost",
    "missorted",
    "out_for_delivery",
    "received_at_destination_facility",
    "received_at_origin_facility",
    "refused",
    "return",
    "status_update",
    "transferred_to_destination_carrier",
    "transit_exception",
    "unknown",
    "weather_delay",
]


def test_every_documented_code_is_mapped() -> None:
    assert sorted(STATUSES) == sorted(DOCUMENTED_STATUSES)
    assert sorted(STATUS_DETAILS) == sorted(DOCUMENTED_DETAILS)
    for status in DOCUMENTED_STATUSES:
        for detail in [*DOCUMENTED_DETAILS, None]:
            assert lookup(status, detail).known


def test_a_detail_gives_one_reason_whatever_the_status() -> None:
    for detail in DOCUMENTED_DETAILS:
        reasons = {
            lookup(status, detail).reason
            for status in DOCUMENTED_STATUSES
            if lookup(status, detail).status not in (Status.DELIVERED, Status.EXPIRED)
            and STATUS_DETAILS[detail][1] is not None
        }
        assert len(reasons) <= 1, detail


def test_reasons_from_details_and_statuses() -> None:
    assert lookup("in_transit", "weather_delay") == (Status.IN_TRANSIT, Reason.WEATHER, True)
    assert lookup("failure", "address_correction")[:2] == (Status.EXCEPTION, Reason.ADDRESS_ISSUE)
    assert lookup("return_to_sender", "refused")[:2] == (Status.EXCEPTION, Reason.REFUSED)
    assert lookup("return_to_sender", "in_transit")[:2] == (
        Status.EXCEPTION,
        Reason.RETURNING_TO_SENDER,
    )
    assert lookup("unknown", "expired")[:2] == (Status.EXPIRED, None)
    assert lookup("delivered", "weather_delay")[:2] == (Status.DELIVERED, None)


def test_unknown_codes_are_unknown_never_in_transit() -> None:
    assert lookup("teleported", "in_transit") == (Status.UNKNOWN, None, False)
    body = tracker_json(status="teleported", details=[detail("teleported", None, "NJ")])
    r = only(parse(body))
    assert r.status is Status.UNKNOWN and r.events[0].status is Status.UNKNOWN
    assert (ProblemKind.UNKNOWN_CODE, "teleported") in kinds(r)
    assert r.unknown_codes == ["teleported"]


def test_unknown_detail_keeps_the_status_and_is_reported() -> None:
    body = tracker_json(status="failure", detail="address_not_found")
    r = only(parse(body))
    assert (r.status, r.reason) == (Status.EXCEPTION, Reason.UNKNOWN)
    assert kinds(r) == [(ProblemKind.UNKNOWN_CODE, "failure/address_not_found")]


def test_error_status_is_a_request_error() -> None:
    r = only(parse(tracker_json(status="error", detail="unknown")))
    assert r.status is Status.UNKNOWN
    assert (ProblemKind.REQUEST_ERROR, "error") in kinds(r)


def test_reverse_table_parses_back() -> None:
    for (status, reason), (code, detail) in REVERSE.items():
        assert lookup(code, detail)[:2] == (status, reason)
    for status in Status:
        parsed = lookup(*encode(status, None)).status
        # EasyPost has no failed-attempt status (documented fallback)
        assert parsed is (Status.IN_TRANSIT if status is Status.ATTEMPT_FAIL else status)


@pytest.mark.parametrize(
    ("raw", "ours"),
    [
        ("FedEx", "fedex"),
        ("FedExSmartPost", "fedex"),
        ("UPS", "ups"),
        ("UPSMailInnovations", "ups"),
        ("USPS", "usps"),
        ("DHLExpress", "dhl"),
        ("DHLeCommerce", "dhl"),
        ("CanadaPost", "canadapost"),
        ("AmazonShipping", "amazon"),
        ("OnTrac", "ontrac"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_carrier_names(raw: str | None, ours: str) -> None:
    assert carrier_name(raw) == ours


# -- time rules ---------------------------------------------------------------------------


def detail(
    status: str,
    status_detail: str | None,
    state: str | None = None,
    *,
    when: str = "2024-03-10T15:00:00Z",
    country: str | None = "US",
    city: str | None = None,
    zip_code: str | None = None,
    message: str = "scan",
) -> dict[str, Any]:
    return {
        "object": "TrackingDetail",
        "message": message,
        "status": status,
        "status_detail": status_detail,
        "datetime": when,
        "tracking_location": {
            "object": "TrackingLocation",
            "city": city,
            "state": state,
            "country": country,
            "zip": zip_code,
        },
    }


def tracker_json(
    *,
    code: str = "9400TEST",
    status: str = "in_transit",
    detail: str | None = None,
    details: Sequence[dict[str, Any]] = (),
    carrier_detail: dict[str, Any] | None = None,
    est: str | None = None,
    carrier: str = "USPS",
) -> bytes:
    tracker = {
        "id": "trk_x",
        "object": "Tracker",
        "tracking_code": code,
        "status": status,
        "status_detail": detail,
        "carrier": carrier,
        "est_delivery_date": est,
        "tracking_details": list(details),
        "carrier_detail": carrier_detail,
    }
    return json.dumps(tracker).encode()


def test_unplaced_scan_uses_destination_zone_and_offsets_are_kept() -> None:
    details = [
        detail("in_transit", "in_transit", None, country=None, when="2024-07-01T08:00:00Z"),
        detail("in_transit", "in_transit", None, country="DE", when="2024-07-02T08:00:00Z"),
        detail("in_transit", "in_transit", None, when="2024-07-03T08:00:00-07:00"),
    ]
    dest = {
        "object": "TrackingLocation",
        "city": "DENVER",
        "state": "CO",
        "country": "US",
        "zip": "80202",
    }
    r = only(
        parse(tracker_json(details=details, carrier_detail={"destination_tracking_location": dest}))
    )
    times = sorted(e.occurred_at.isoformat() for e in r.events)
    assert times == [
        "2024-07-01T08:00:00-06:00",  # no place: wall clock at the destination (MDT)
        "2024-07-02T08:00:00+00:00",  # Germany is one zone: EasyPost placed it, UTC kept
        "2024-07-03T08:00:00-07:00",  # an explicit offset is kept as given
    ]


def test_shipment_zone_is_not_used_for_a_scan_in_another_country() -> None:
    details = [detail("in_transit", "in_transit", None, country="CA")]
    dest = {"object": "TrackingLocation", "city": None, "state": "CO", "country": "US", "zip": None}
    r = only(
        parse(tracker_json(details=details, carrier_detail={"destination_tracking_location": dest}))
    )
    assert r.events == ()
    assert kinds(r) == [(ProblemKind.TIME_WITHOUT_ZONE, "in_transit/in_transit")]


def test_local_estimated_time_at_destination() -> None:
    cd = {
        "est_delivery_date_local": "2024-11-05",
        "est_delivery_time_local": "18:00:00",
        "destination_tracking_location": {
            "city": "AUSTIN",
            "state": "TX",
            "country": "US",
            "zip": "78701",
        },
    }
    r = only(parse(tracker_json(carrier_detail=cd, est="2024-11-05T00:00:00Z")))
    when = datetime(2024, 11, 5, 18, tzinfo=ZoneInfo("America/Chicago"))
    assert r.estimated_delivery == EstimatedDelivery(when, when)
    latest = r.estimated_delivery.latest if r.estimated_delivery else None
    assert isinstance(latest, datetime) and latest.utcoffset() == timedelta(hours=-6)


def test_duplicate_trackers_merge_and_events_deduplicate() -> None:
    older = json.loads(
        tracker_json(
            details=[detail("in_transit", "arrived_at_facility", "NJ", when="2024-03-10T15:00:00Z")]
        )
    )
    newer = json.loads(
        tracker_json(
            status="delivered",
            details=[
                detail("in_transit", "arrived_at_facility", "NJ", when="2024-03-10T15:00:00Z"),
                detail("delivered", None, "NJ", when="2024-03-11T15:00:00Z"),
            ],
        )
    )
    r = only(parse(json.dumps({"trackers": [older, newer], "has_more": False}).encode()))
    assert r.status is Status.DELIVERED
    assert [e.code for e in r.events] == ["delivered", "in_transit/arrived_at_facility"]
    assert r.delivered_at == at("2024-03-11T15:00:00+00:00")


# -- sandbox round trip -------------------------------------------------------------------

NY = ZoneInfo("America/New_York")


def world() -> list[TrackingResult]:
    """One result per (status, reason) EasyPost can express, with varied ETAs and scans."""
    results = []
    for i, (status, reason) in enumerate(sorted(REVERSE, key=str)):
        start = datetime(2024, 3, 1, 9, 15, tzinfo=NY) + timedelta(days=i)
        events = (
            TrackingEvent(
                start + timedelta(hours=30),
                status,
                reason,
                "x",
                "latest",
                Location("NEWARK", "NJ", "07101", "US"),
            ),
            # country-only US scan: EasyPost cannot place it, so it travels as wall clock
            TrackingEvent(
                start + timedelta(hours=20),
                Status.IN_TRANSIT,
                None,
                "x",
                "moving",
                Location(country="US"),
            ),
            TrackingEvent(
                start,
                Status.INFO_RECEIVED,
                None,
                "x",
                "label",
                Location("KOELN", None, "50667", "DE"),
            ),
        )
        eta = (
            EstimatedDelivery(date(2024, 4, 1), date(2024, 4, 1))
            if i % 2
            else EstimatedDelivery(start + timedelta(days=3), start + timedelta(days=3))
        )
        delivered = events[0].occurred_at if status is Status.DELIVERED else None
        results.append(
            TrackingResult(
                "fedex",
                f"EP{i:04d}",
                status,
                reason,
                eta,
                delivered,
                events,
                service="FEDEX_GROUND",
            )
        )
    return results


def test_sandbox_round_trip_covers_every_expressible_status_and_reason() -> None:
    found = world()
    assert {r.status for r in found} == set(Status) - {Status.ATTEMPT_FAIL}
    status, body = SANDBOX.respond(found, ["NOPE1"])
    assert status == 200
    parsed = {r.tracking_number: r for r in parse(body)}
    assert sorted(parsed) == sorted(r.tracking_number for r in found)  # missing: absent
    for want in found:
        got = parsed[want.tracking_number]
        assert (got.status, got.reason) == (want.status, want.reason), want.tracking_number
        assert got.carrier == "fedex" and got.service == "FEDEX_GROUND"
        assert got.estimated_delivery == want.estimated_delivery
        assert got.delivered_at == want.delivered_at
        assert [e.occurred_at for e in got.events] == [e.occurred_at for e in want.events]
        assert [(e.status, e.reason) for e in got.events] == [
            (e.status, e.reason) for e in want.events
        ]
        if want.status is Status.UNKNOWN:  # written as EasyPost's "error" status
            assert [(p.kind, p.code) for p in got.problems] == [
                (ProblemKind.REQUEST_ERROR, "error")
            ]
        else:
            assert got.problems == ()


def test_sandbox_match_recognises_only_our_requests() -> None:
    query = {"tracking_codes[]": ["A1", "B2"], "page_size": ["100"]}
    assert SANDBOX.match("GET", "/v2/trackers", query, b"") == ["A1", "B2"]
    assert SANDBOX.match("GET", "/v2/trackers", {**query, "before_id": ["trk_1"]}, b"") == []
    assert SANDBOX.match("POST", "/v2/trackers", query, b"") is None
    assert SANDBOX.match("GET", "/v2/shipments", query, b"") is None
    assert SANDBOX.match("GET", "/v2/trackers", {"page_size": ["100"]}, b"") is None
    assert SANDBOX.token_path is None


# -- client against a loopback server -----------------------------------------------------


Server = tuple[str, "Recorder"]


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, list[str]], str | None]] = []
        self.paginate_first = False


@pytest.fixture
def server() -> Iterator[Server]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            recorder.requests.append(("GET", url.path, query, self.headers.get("Authorization")))
            numbers = SANDBOX.match("GET", url.path, query, b"")
            if numbers is None:
                self._send(404, b'{"error": {"code": "NOT_FOUND", "message": "no"}}')
                return
            if recorder.paginate_first and "before_id" not in query:
                page = [json.loads(SANDBOX.respond(found_for(numbers[:1]), [])[1])["trackers"][0]]
                self._send(200, json.dumps({"trackers": page, "has_more": True}).encode())
                return
            if "before_id" in query:  # the second page holds what the first left out
                numbers = query["tracking_codes[]"][1:]
            self._send(*SANDBOX.respond(found_for(numbers), []))

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder
    finally:
        httpd.shutdown()
        httpd.server_close()


def found_for(numbers: list[str]) -> list[TrackingResult]:
    event = TrackingEvent(
        datetime(2024, 5, 1, 12, tzinfo=UTC),
        Status.IN_TRANSIT,
        None,
        "x",
        "scan",
        Location("AUSTIN", "TX", "78701", "US"),
    )
    return [
        TrackingResult("usps", n, Status.IN_TRANSIT, events=(event,))
        for n in numbers
        if not n.startswith("UNKNOWN")
    ]


def settings(base_url: str) -> ClientSettings:
    return ClientSettings(
        base_url=base_url,
        api_key="EZTK-key",
        requests_per_second=0,
        max_retries=0,
        timeout_seconds=5,
    )


def test_client_batches_codes_with_basic_auth(server: Server) -> None:
    base_url, recorder = server
    numbers = [f"9400{i:04d}" for i in range(BATCH_SIZE * 2 + 7)] + ["UNKNOWN1", "94000000"]
    make_client = CARRIER.make_client
    assert make_client is not None
    bodies = make_client(settings(base_url)).track(numbers)
    assert len(bodies) == 3
    sizes = [len(q["tracking_codes[]"]) for _, _, q, _ in recorder.requests]
    assert sizes == [BATCH_SIZE, BATCH_SIZE, 8]  # duplicates sent once
    for method, path, query, auth in recorder.requests:
        assert (method, path) == ("GET", "/v2/trackers")
        assert query["page_size"] == [str(PAGE_SIZE)]
        assert auth == "Basic RVpUSy1rZXk6"  # base64("EZTK-key:")
    results = [r for body in bodies for r in parse(body)]
    assert len(results) == BATCH_SIZE * 2 + 7  # UNKNOWN1 is simply not in the list
    assert all(r.status is Status.IN_TRANSIT for r in results)


def test_client_follows_has_more_with_before_id(server: Server) -> None:
    base_url, recorder = server
    recorder.paginate_first = True
    bodies = EasyPostClient(settings(base_url)).track(["A1", "B2", "C3"])
    assert len(bodies) == 2
    assert "before_id" not in recorder.requests[0][2]
    first_id = json.loads(bodies[0])["trackers"][-1]["id"]
    assert recorder.requests[1][2]["before_id"] == [first_id]
    numbers = sorted(r.tracking_number for body in bodies for r in parse(body))
    assert numbers == ["A1", "B2", "C3"]


# -- webhook signatures -------------------------------------------------------------------

SECRET = "sécret-ﬁle"  # the ligature normalises (NFKD) to "fi"
BODY = sample("easypost_webhook_in_transit.json")
SENT = datetime(2024, 8, 2, 19, 26, 52, tzinfo=UTC)  # the Event's created_at/updated_at
AGE = timedelta(seconds=300)


def signed(body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hmac-Signature": signature(body, secret)}


def test_webhook_valid_signature_accepted() -> None:
    verify(BODY, signed(), SECRET, now=SENT + timedelta(seconds=5), max_age=AGE)
    lower = {k.lower(): v for k, v in signed().items()}  # header names are case-insensitive
    verify(BODY, lower, SECRET, now=SENT + timedelta(seconds=5), max_age=AGE)


def test_webhook_signature_uses_nfkd_secret() -> None:
    assert signature(BODY, SECRET) == signature(BODY, "sécret-file")
    assert signature(BODY, SECRET).startswith("hmac-sha256-hex=")


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (BODY.replace(b'"in_transit"', b'"delivered"', 1), signed(), RejectReason.BAD_SIGNATURE),
        (BODY, signed(secret="another-secret"), RejectReason.BAD_SIGNATURE),
        (BODY, {}, RejectReason.MISSING_SIGNATURE),
        (BODY, {"X-Hmac-Signature": "  "}, RejectReason.MISSING_SIGNATURE),
        (BODY, {"X-Hmac-Signature": "garbage"}, RejectReason.BAD_SIGNATURE),
        (b"not json", signed(b"not json"), RejectReason.MALFORMED),
        (b'{"object": "Event"}', signed(b'{"object": "Event"}'), RejectReason.MALFORMED),
    ],
    ids=["tampered", "wrong-secret", "missing", "blank", "garbage", "not-json", "no-time"],
)
def test_webhook_rejections(body: bytes, headers: dict[str, str], reason: RejectReason) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify(body, headers, SECRET, now=SENT + timedelta(seconds=5), max_age=AGE)
    assert caught.value.reason == reason


def test_webhook_freshness_window() -> None:
    verify(BODY, signed(), SECRET, now=SENT + AGE, max_age=AGE)  # exactly max_age: still fresh
    with pytest.raises(WebhookRejected) as stale:
        verify(BODY, signed(), SECRET, now=SENT + AGE + timedelta(seconds=1), max_age=AGE)
    assert stale.value.reason == RejectReason.STALE
    verify(BODY, signed(), SECRET, now=SENT - timedelta(seconds=30), max_age=AGE)  # small skew
    with pytest.raises(WebhookRejected) as future:
        verify(BODY, signed(), SECRET, now=SENT - timedelta(minutes=10), max_age=AGE)
    assert future.value.reason == RejectReason.STALE


def test_webhook_freshness_uses_the_later_of_created_and_updated() -> None:
    event = {
        "object": "Event",
        "created_at": "2024-08-02T19:00:00Z",
        "updated_at": "2024-08-02T19:20:00Z",
    }
    body = json.dumps(event).encode()
    verify(body, signed(body), SECRET, now=datetime(2024, 8, 2, 19, 24, tzinfo=UTC), max_age=AGE)


def test_webhook_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="no webhook secret"):
        verify(BODY, signed(secret=""), "", now=SENT, max_age=AGE)


# -- the generic carrier sandbox server speaking EasyPost ---------------------------------

SCANS = """carrier,tracking_number,service,occurred_at,status,reason,description,city,region,postal_code,country
ups,1ZSBX0001,Ground,2024-06-03T08:00:00-04:00,info_received,,Label created,ATLANTA,GA,30301,US
ups,1ZSBX0001,Ground,2024-06-04T21:10:00-05:00,in_transit,,Departed,MEMPHIS,TN,38118,US
ups,1ZSBX0001,Ground,2024-06-05T07:30:00-06:00,exception,weather,Weather delay,DENVER,CO,80202,US
fedex,FDXSB0002,FEDEX_GROUND,2024-06-01T09:00:00-07:00,in_transit,,Picked up,FRESNO,CA,93650,US
fedex,FDXSB0002,FEDEX_GROUND,2024-06-02T14:45:00-07:00,delivered,,Delivered,FRESNO,CA,93650,US
"""
ETAS = """carrier,tracking_number,stated_at,earliest,latest
ups,1ZSBX0001,2024-06-03T08:00:00-04:00,2024-06-07,2024-06-07
"""


def test_sandbox_server_round_trip(tmp_path: Path) -> None:
    from carriers.sandbox.server import SandboxServer

    (tmp_path / "scans.csv").write_text(SCANS)
    (tmp_path / "etas.csv").write_text(ETAS)
    with SandboxServer(tmp_path) as sandbox:
        now = EasyPostClient(settings(sandbox.base_url))
        bodies = now.track(["1ZSBX0001", "FDXSB0002", "NOPE"])
        then = EasyPostClient(settings(sandbox.url_for(at("2024-06-04T12:00:00+00:00"))))
        earlier = [r for body in then.track(["1ZSBX0001"]) for r in parse(body)]
        world = sandbox.world
    results = {r.tracking_number: r for body in bodies for r in parse(body)}
    assert sorted(results) == ["1ZSBX0001", "FDXSB0002"]
    for number, got in results.items():
        want = world.tracking(None, number)
        assert want is not None
        assert (got.carrier, got.status, got.reason) == (want.carrier, want.status, want.reason)
        assert got.estimated_delivery == want.estimated_delivery
        assert got.delivered_at == want.delivered_at
        assert [e.occurred_at for e in got.events] == [e.occurred_at for e in want.events]
    assert results["1ZSBX0001"].reason is Reason.WEATHER
    assert [(r.status, len(r.events)) for r in earlier] == [(Status.INFO_RECEIVED, 1)]
