"""AfterShip: samples read by hand, code tables, API shapes, sandbox, client, webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from carriers.aftership import CARRIER
from carriers.aftership.client import BATCH_SIZE, PAGE_LIMIT, AfterShipClient
from carriers.aftership.codes import REVERSE, STATUS_FALLBACK, SUBTAGS, TAGS, encode, lookup
from carriers.aftership.countries import alpha2, alpha3
from carriers.aftership.parse import carrier_name, parse, sniff
from carriers.aftership.sandbox import SANDBOX
from carriers.aftership.webhook import signature, verify
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

OWN = ("aftership_address_issue.json", "aftership_webhook_delivered.json")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def only(results: list[TrackingResult]) -> TrackingResult:
    assert len(results) == 1
    return results[0]


def kinds(result: TrackingResult) -> list[tuple[ProblemKind, str]]:
    return [(p.kind, p.code) for p in result.problems]


# -- samples, checked by hand -------------------------------------------------------------


def test_v4_tracking_with_address_exceptions_then_delivered() -> None:
    r = only(parse(sample("aftership_address_issue.json")))
    assert (r.carrier, r.tracking_number) == ("ups", "1ZA2207X6794165804")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.service == "EXPEDITED"
    assert r.estimated_delivery is None  # expected_delivery: null
    # "DELIVERED", KANSAS CITY MO, local 10:00 without offset -> America/Chicago (CDT)
    assert r.delivered_at is not None
    assert r.delivered_at.isoformat() == "2014-05-23T10:00:00-05:00"
    # 41 checkpoints; the two "MY CHOICE" ones say only USA (no state, several zones) and the
    # shipment's destination is only USA too: left out with time_without_zone problems
    assert len(r.events) == 39
    assert kinds(r) == [(ProblemKind.TIME_WITHOUT_ZONE, "InTransit")] * 2
    assert "MY CHOICE" in r.problems[0].message
    first, second, last = r.events[0], r.events[1], r.events[-1]
    assert (first.code, first.status, first.description) == (
        "Delivered",
        Status.DELIVERED,
        "DELIVERED",
    )
    assert first.location == Location("KANSAS CITY", "MO", "64120", "US")
    # same minute as "OUT FOR DELIVERY"; listed after it, so taken as the newer
    assert second.description == "DESTINATION SCAN"
    assert second.occurred_at.isoformat() == "2014-05-23T06:08:00-05:00"
    # country_iso3 "IND" -> IN -> Asia/Kolkata
    assert last.occurred_at.isoformat() == "2014-05-01T10:33:38+05:30"
    assert (last.code, last.status) == ("InfoReceived", Status.INFO_RECEIVED)
    assert last.location.country == "IN"
    exceptions = [e for e in r.events if e.status is Status.EXCEPTION]
    assert len(exceptions) == 5  # tag-only "Exception": the cause is in the message only
    assert {(e.code, e.reason) for e in exceptions} == {("Exception", Reason.UNKNOWN)}
    cologne = [e for e in r.events if e.location.city == "KOELN (COLOGNE)"]
    assert [e.occurred_at.isoformat() for e in cologne] == [
        "2014-05-05T01:31:00+02:00",  # country_name "DE" read as the country
        "2014-05-04T19:58:00+02:00",
    ]


def test_webhook_delivered_without_checkpoints() -> None:
    r = only(parse(sample("aftership_webhook_delivered.json")))
    assert (r.carrier, r.tracking_number) == ("tnt", "123456789")
    assert (r.status, r.reason) == (Status.DELIVERED, None)
    assert r.estimated_delivery is None
    assert r.delivered_at is None  # no checkpoint, shipment_delivery_date null
    assert r.events == ()
    assert r.problems == ()


# -- API shapes ----------------------------------------------------------------------------


def checkpoint(tag: str, subtag: str | None, when: str, **where: str) -> dict[str, Any]:
    return {"tag": tag, "subtag": subtag, "checkpoint_time": when, "message": "scan", **where}


def test_dated_api_tracking_without_wrapper() -> None:
    tracking = {
        "tracking_number": "9400111",
        "slug": "usps",
        "tag": "Exception",
        "subtag": "Exception_017",
        "destination_country_region": "USA",
        "destination_state": "CO",
        "courier_estimated_delivery_date": {
            "estimated_delivery_date": None,
            "estimated_delivery_date_min": "2024-07-05T09:00:00",
            "estimated_delivery_date_max": "2024-07-05T17:00:00",
        },
        "checkpoints": [
            checkpoint(
                "InTransit",
                "InTransit_007",
                "2024-07-01T08:00:00+02:00",
                country_region="DEU",
                city="LEIPZIG",
            ),
            checkpoint("Exception", "Exception_017", "2024-07-02T06:30:00", country_region="USA"),
        ],
    }
    r = only(parse(json.dumps({"meta": {"code": 200}, "data": tracking}).encode()))
    assert (r.carrier, r.status, r.reason) == ("usps", Status.EXCEPTION, Reason.WEATHER)
    denver = ZoneInfo("America/Denver")
    assert r.estimated_delivery == EstimatedDelivery(
        datetime(2024, 7, 5, 9, tzinfo=denver), datetime(2024, 7, 5, 17, tzinfo=denver)
    )
    assert [e.occurred_at.isoformat() for e in r.events] == [
        "2024-07-02T06:30:00-06:00",  # USA without state: the destination (CO) gives the zone
        "2024-07-01T08:00:00+02:00",  # an offset is kept as given
    ]
    assert r.events[1].location == Location("LEIPZIG", None, None, "DE")


def test_list_shape_and_duplicates_merge() -> None:
    older = {
        "tracking_number": "X1",
        "slug": "dhl",
        "tag": "InTransit",
        "checkpoints": [checkpoint("InTransit", "InTransit_003", "2024-01-02T10:00:00+01:00")],
    }
    newer = {
        "tracking_number": "X1",
        "slug": "dhl-germany",
        "tag": "Delivered",
        "checkpoints": [
            checkpoint("InTransit", "InTransit_003", "2024-01-02T10:00:00+01:00"),
            checkpoint("Delivered", "Delivered_001", "2024-01-03T12:00:00+01:00"),
        ],
    }
    other = {"tracking_number": "Y2", "slug": "fedex-uk", "tag": "Pending", "checkpoints": []}
    body = {
        "meta": {"code": 200},
        "data": {"page": 1, "limit": 200, "count": 3, "trackings": [older, newer, other]},
    }
    results = {r.tracking_number: r for r in parse(json.dumps(body).encode())}
    assert sorted(results) == ["X1", "Y2"]
    x1 = results["X1"]
    assert (x1.carrier, x1.status) == ("dhl", Status.DELIVERED)
    assert [e.code for e in x1.events] == ["Delivered/Delivered_001", "InTransit/InTransit_003"]
    assert x1.delivered_at == datetime(2024, 1, 3, 11, tzinfo=UTC)
    assert (results["Y2"].carrier, results["Y2"].status) == ("fedex", Status.PENDING)


@pytest.mark.parametrize(
    ("meta", "data", "expected"),
    [
        (
            {"code": 4004, "message": "Tracking does not exist.", "type": "NotFound"},
            {},
            ("", ProblemKind.NOT_FOUND, "4004"),
        ),
        (
            {
                "code": 4005,
                "message": "The value of `tracking_number` is invalid.",
                "type": "BadRequest",
            },
            {},
            ("", ProblemKind.INVALID_NUMBER, "4005"),
        ),
        (
            {"code": 401, "message": "Invalid API key.", "type": "Unauthorized"},
            {},
            ("", ProblemKind.REQUEST_ERROR, "401"),
        ),
        (
            {"code": 4003, "message": "Tracking already exists.", "type": "BadRequest"},
            {"tracking": {"slug": "ups", "tracking_number": "1Z9"}},
            ("1Z9", ProblemKind.REQUEST_ERROR, "4003"),
        ),
    ],
    ids=["not-found", "invalid", "auth", "names-number"],
)
def test_error_envelopes(
    meta: dict[str, Any], data: dict[str, Any], expected: tuple[str, ProblemKind, str]
) -> None:
    body = json.dumps({"meta": meta, "data": data}).encode()
    assert sniff(body)
    r = only(parse(body))
    assert (r.tracking_number, r.status, r.events) == (expected[0], Status.UNKNOWN, ())
    assert kinds(r) == [expected[1:]]


@pytest.mark.parametrize(
    "payload",
    [
        sample("aftership_address_issue.json")[:700],
        b"<!DOCTYPE html><html><body>Service Unavailable</body></html>",
        b"",
        b'"just a string"',
        b'{"status": "ok"}',
        b'{"meta": {"code": 200}, "data": {"count": 0}}',
        b'{"event": "tracking_update", "msg": "nope", "ts": 1}',
    ],
    ids=["truncated", "html", "empty", "string", "other", "no-trackings", "bad-msg"],
)
def test_unreadable_payloads_raise(payload: bytes) -> None:
    with pytest.raises(PayloadError, match="expected AfterShip JSON"):
        parse(payload)


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_sniff_claims_only_aftership_samples(path: Path) -> None:
    assert sniff(path.read_bytes()) is (path.name in OWN)


# -- estimated delivery --------------------------------------------------------------------


def eta_of(**fields: Any) -> EstimatedDelivery | None:
    tracking = {"tracking_number": "T1", "slug": "ups", "tag": "InTransit", **fields}
    return only(
        parse(json.dumps({"meta": {"code": 200}, "data": {"tracking": tracking}}).encode())
    ).estimated_delivery


def test_eta_forms() -> None:
    day = date(2024, 5, 10)
    assert eta_of(expected_delivery="2024-05-10") == EstimatedDelivery(day, day)
    when = datetime(2024, 5, 10, 18, tzinfo=ZoneInfo("America/New_York"))
    assert eta_of(expected_delivery="2024-05-10T18:00:00-04:00") == EstimatedDelivery(when, when)
    # a time without offset and no known destination zone: the day is all we can keep
    assert eta_of(expected_delivery="2024-05-10T18:00:00") == EstimatedDelivery(day, day)
    predicted = {
        "estimated_delivery_date": "2024-05-11",
        "confidence_code": 4,
        "estimated_delivery_date_min": "2024-05-10",
        "estimated_delivery_date_max": "2024-05-12",
    }
    assert eta_of(aftership_estimated_delivery_date=predicted) == EstimatedDelivery(
        date(2024, 5, 10), date(2024, 5, 12)
    )
    # the carrier's own date wins over AfterShip's prediction
    assert eta_of(expected_delivery="2024-05-09", aftership_estimated_delivery_date=predicted) == (
        EstimatedDelivery(date(2024, 5, 9), date(2024, 5, 9))
    )
    assert eta_of(expected_delivery=None) is None


# -- code tables ---------------------------------------------------------------------------

DOCUMENTED_TAGS = [
    "Pending",
    "InfoReceived",
    "InTransit",
    "OutForDelivery",
    "AttemptFail",
    "Delivered",
    "AvailableForPickup",
    "Exception",
    "Expired",
]
DOCUMENTED_SUBTAGS = (
    [f"Delivered_00{i}" for i in range(1, 6)]
    + ["AvailableForPickup_001"]
    + [f"Exception_{i:03d}" for i in [*range(1, 14), 16, 17, 18]]
    + [f"AttemptFail_00{i}" for i in range(1, 4)]
    + [f"InTransit_00{i}" for i in range(1, 10)]
    + ["InfoReceived_001", "OutForDelivery_001", "OutForDelivery_003", "OutForDelivery_004"]
    + [f"Pending_00{i}" for i in range(1, 7)]
    + ["Expired_001"]
)


def test_every_documented_code_is_mapped() -> None:
    assert sorted(TAGS) == sorted(DOCUMENTED_TAGS)
    assert sorted(SUBTAGS) == sorted(DOCUMENTED_SUBTAGS)
    for subtag in DOCUMENTED_SUBTAGS:
        tag = subtag.split("_")[0]
        mapped = lookup(tag, subtag)
        assert mapped.known
        assert mapped.status is TAGS[tag][0], subtag  # a subtag never leaves its tag


def test_reasons() -> None:
    assert lookup("Exception", "Exception_011")[:2] == (Status.EXCEPTION, Reason.RETURNED_TO_SENDER)
    assert lookup("AttemptFail", "AttemptFail_003")[:2] == (
        Status.ATTEMPT_FAIL,
        Reason.BUSINESS_CLOSED,
    )
    assert lookup("Exception", "Exception_004")[:2] == (Status.EXCEPTION, Reason.CUSTOMS)
    assert lookup("InTransit", None) == (Status.IN_TRANSIT, None, True)
    assert lookup("Delivered", "Delivered_003") == (Status.DELIVERED, None, True)


def test_unknown_codes_are_unknown_never_in_transit() -> None:
    assert lookup("Teleported", None) == (Status.UNKNOWN, None, False)
    tracking = {
        "tracking_number": "Z",
        "slug": "ups",
        "tag": "Teleported",
        "checkpoints": [checkpoint("Teleported", None, "2024-01-01T10:00:00+00:00")],
    }
    r = only(parse(json.dumps({"meta": {"code": 200}, "data": {"tracking": tracking}}).encode()))
    assert r.status is Status.UNKNOWN and r.events[0].status is Status.UNKNOWN
    assert r.unknown_codes == ["Teleported"]
    # once for the checkpoint, once for the tracking's own tag
    assert kinds(r) == [(ProblemKind.UNKNOWN_CODE, "Teleported")] * 2


def test_unlisted_subtag_keeps_its_tag_and_is_reported() -> None:
    # Exception_014/015 exist but no stored copy of the docs shows what they mean
    assert lookup("Exception", "Exception_014") == (Status.EXCEPTION, Reason.UNKNOWN, False)
    assert lookup("InTransit", "InTransit_099") == (Status.IN_TRANSIT, None, False)


def test_reverse_table_parses_back() -> None:
    for (status, reason), (tag, subtag) in REVERSE.items():
        assert lookup(tag, subtag)[:2] == (status, reason)
    for status, (tag, subtag) in STATUS_FALLBACK.items():
        expected = Status.PENDING if status is Status.UNKNOWN else status  # documented
        assert lookup(tag, subtag or None).status is expected


@pytest.mark.parametrize(
    ("slug", "ours"),
    [
        ("ups", "ups"),
        ("ups-mi", "ups"),
        ("fedex-uk", "fedex"),
        ("usps", "usps"),
        ("dhl-global-mail", "dhl"),
        ("canada-post", "canadapost"),
        ("tnt", "tnt"),
        ("upsilon-express", "upsilon-express"),
        (None, "unknown"),
    ],
)
def test_carrier_names(slug: str | None, ours: str) -> None:
    assert carrier_name(slug) == ours


def test_country_codes() -> None:
    codes = ("USA", "IND", "DEU", "DDR", "de", "ABC", "ZZZ", "XXX", "India")
    assert [alpha2(c) for c in codes] == ["US", "IN", "DE", "DE", "DE", None, None, None, None]
    assert [alpha3(c) for c in ("US", "DE", "FR", "MM", None)] == ["USA", "DEU", "FRA", "MMR", None]


# -- sandbox round trip --------------------------------------------------------------------

TOKYO = ZoneInfo("Asia/Tokyo")


def world() -> list[TrackingResult]:
    """One result per (status, reason) AfterShip can express (every status but unknown)."""
    results = []
    for i, (status, reason) in enumerate(sorted(REVERSE, key=str)):
        start = datetime(2024, 3, 1, 9, 15, tzinfo=TOKYO) + timedelta(days=i)
        events = (
            TrackingEvent(
                start + timedelta(hours=40),
                status,
                reason,
                "x",
                "latest",
                Location("CHICAGO", "IL", "60601", "US"),
            ),
            TrackingEvent(
                start,
                Status.IN_TRANSIT,
                None,
                "x",
                "departed",
                Location("NARITA", None, None, "JP"),
            ),
        )
        eta = [
            EstimatedDelivery(date(2024, 4, 1), date(2024, 4, 1)),
            EstimatedDelivery(date(2024, 4, 1), date(2024, 4, 3)),
            EstimatedDelivery(start + timedelta(days=4), start + timedelta(days=4)),
            None,
        ][i % 4]
        delivered = events[0].occurred_at if status is Status.DELIVERED else None
        results.append(
            TrackingResult(
                "ups", f"AS{i:04d}", status, reason, eta, delivered, events, service="EXPEDITED"
            )
        )
    return results


def test_sandbox_round_trip_covers_every_expressible_status_and_reason() -> None:
    found = world()
    assert {r.status for r in found} == set(Status) - {Status.UNKNOWN}
    status, body = SANDBOX.respond(found, ["NOPE1"])
    assert status == 200
    assert sniff(body)
    parsed = {r.tracking_number: r for r in parse(body)}
    assert sorted(parsed) == sorted(r.tracking_number for r in found)  # missing: absent
    for want in found:
        got = parsed[want.tracking_number]
        assert (got.status, got.reason) == (want.status, want.reason), want.tracking_number
        assert (got.carrier, got.service) == ("ups", "EXPEDITED")
        assert got.estimated_delivery == want.estimated_delivery
        assert got.delivered_at == want.delivered_at
        assert [e.occurred_at for e in got.events] == [e.occurred_at for e in want.events]
        assert [e.occurred_at.utcoffset() for e in got.events] == [
            e.occurred_at.utcoffset() for e in want.events
        ]
        assert [(e.status, e.reason, e.location) for e in got.events] == [
            (e.status, e.reason, e.location) for e in want.events
        ]
        assert got.problems == ()


def test_sandbox_unknown_status_is_written_as_pending() -> None:
    result = TrackingResult("ups", "U1", Status.UNKNOWN)
    assert only(parse(SANDBOX.respond([result], [])[1])).status is Status.PENDING
    assert encode(Status.UNKNOWN, None) == ("Pending", "Pending_001")


def test_sandbox_match_recognises_only_our_requests() -> None:
    query = {"tracking_numbers": ["A1,B2"], "limit": ["200"], "page": ["1"]}
    assert SANDBOX.match("GET", "/v4/trackings", query, b"") == ["A1", "B2"]
    assert SANDBOX.match("GET", "/v4/trackings", {**query, "page": ["2"]}, b"") == []
    assert SANDBOX.match("POST", "/v4/trackings", query, b"") is None
    assert SANDBOX.match("GET", "/v4/couriers", query, b"") is None
    assert SANDBOX.match("GET", "/v4/trackings", {"limit": ["200"]}, b"") is None
    assert SANDBOX.token_path is None


# -- client against a loopback server ------------------------------------------------------


Server = tuple[str, "Recorder"]


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]], str | None]] = []
        self.count_bonus = 0  # pretend this many more trackings match than fit a page


@pytest.fixture
def server() -> Iterator[Server]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            recorder.requests.append((url.path, query, self.headers.get("aftership-api-key")))
            numbers = SANDBOX.match("GET", url.path, query, b"")
            if numbers is None:
                self._send(404, {"meta": {"code": 404, "type": "NotFound"}, "data": {}})
                return
            doc = json.loads(SANDBOX.respond(found_for(numbers), [])[1])
            doc["data"]["count"] += recorder.count_bonus
            self._send(200, doc)

        def _send(self, status: int, doc: dict[str, Any]) -> None:
            body = json.dumps(doc).encode()
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
        TrackingResult("fedex", n, Status.IN_TRANSIT, events=(event,))
        for n in numbers
        if not n.startswith("UNKNOWN")
    ]


def settings(base_url: str) -> ClientSettings:
    return ClientSettings(
        base_url=base_url,
        api_key="as-key-123",
        requests_per_second=0,
        max_retries=0,
        timeout_seconds=5,
    )


def test_client_batches_numbers_with_api_key_header(server: Server) -> None:
    base_url, recorder = server
    numbers = [f"7946{i:04d}" for i in range(BATCH_SIZE + 3)] + ["UNKNOWN1", "79460000"]
    make_client = CARRIER.make_client
    assert make_client is not None
    bodies = make_client(settings(base_url)).track(numbers)
    assert len(bodies) == 2
    for path, query, key in recorder.requests:
        assert path == "/v4/trackings"
        assert key == "as-key-123"
        assert (query["limit"], query["page"]) == ([str(PAGE_LIMIT)], ["1"])
    sizes = [len(query["tracking_numbers"][0].split(",")) for _, query, _ in recorder.requests]
    assert sizes == [BATCH_SIZE, 4]  # duplicates sent once
    results = [r for body in bodies for r in parse(body)]
    assert len(results) == BATCH_SIZE + 3  # UNKNOWN1 is simply not in the list


def test_client_fetches_next_page_when_count_says_so(server: Server) -> None:
    base_url, recorder = server
    recorder.count_bonus = PAGE_LIMIT
    bodies = AfterShipClient(settings(base_url)).track(["A1", "B2"])
    assert [query["page"] for _, query, _ in recorder.requests] == [["1"], ["2"]]
    assert len(bodies) == 2
    assert [r.tracking_number for r in parse(bodies[1])] == []  # the sandbox's empty page


# -- webhook signatures --------------------------------------------------------------------

SECRET = "whsec-aftership-test"
BODY = sample("aftership_webhook_delivered.json")
SENT = datetime.fromtimestamp(1629801608, UTC)  # the body's ts
AGE = timedelta(seconds=300)


def signed(body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {"aftership-hmac-sha256": signature(body, secret)}


def test_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    assert signature(BODY, SECRET) == base64.b64encode(digest).decode()


def test_webhook_valid_signature_accepted() -> None:
    verify(BODY, signed(), SECRET, now=SENT + timedelta(seconds=2), max_age=AGE)
    upper = {"Aftership-Hmac-Sha256": signature(BODY, SECRET)}
    verify(BODY, upper, SECRET, now=SENT + timedelta(seconds=2), max_age=AGE)


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (BODY.replace(b"Delivered_001", b"Exception_010"), signed(), RejectReason.BAD_SIGNATURE),
        (BODY, signed(secret="not-the-secret"), RejectReason.BAD_SIGNATURE),
        (BODY, {}, RejectReason.MISSING_SIGNATURE),
        (BODY, {"X-Hmac-Signature": signature(BODY, SECRET)}, RejectReason.MISSING_SIGNATURE),
        (
            b'{"event": "tracking_update"}',
            signed(b'{"event": "tracking_update"}'),
            RejectReason.MALFORMED,
        ),
        (b'{"ts": "1629801608"}', signed(b'{"ts": "1629801608"}'), RejectReason.MALFORMED),
        (b"[]", signed(b"[]"), RejectReason.MALFORMED),
    ],
    ids=["tampered", "wrong-secret", "missing", "wrong-header", "no-ts", "ts-string", "array"],
)
def test_webhook_rejections(body: bytes, headers: dict[str, str], reason: RejectReason) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify(body, headers, SECRET, now=SENT + timedelta(seconds=2), max_age=AGE)
    assert caught.value.reason == reason


def test_webhook_freshness_window() -> None:
    verify(BODY, signed(), SECRET, now=SENT + AGE, max_age=AGE)
    with pytest.raises(WebhookRejected) as stale:
        verify(BODY, signed(), SECRET, now=SENT + AGE + timedelta(seconds=1), max_age=AGE)
    assert stale.value.reason == RejectReason.STALE
    shorter = timedelta(seconds=60)
    with pytest.raises(WebhookRejected) as configured:
        verify(BODY, signed(), SECRET, now=SENT + timedelta(seconds=61), max_age=shorter)
    assert configured.value.reason == RejectReason.STALE
    with pytest.raises(WebhookRejected) as future:
        verify(BODY, signed(), SECRET, now=SENT - timedelta(minutes=5), max_age=AGE)
    assert future.value.reason == RejectReason.STALE
    verify(BODY, signed(), SECRET, now=SENT - timedelta(seconds=30), max_age=AGE)


def test_webhook_needs_aware_now_and_a_secret() -> None:
    with pytest.raises(ValueError, match="aware"):
        verify(BODY, signed(), SECRET, now=SENT.replace(tzinfo=None), max_age=AGE)
    with pytest.raises(ValueError, match="no webhook secret"):
        verify(BODY, signed(secret=""), "", now=SENT, max_age=AGE)


# -- the generic carrier sandbox server speaking AfterShip --------------------------------

SCANS = """carrier,tracking_number,service,occurred_at,status,reason,description,city,region,postal_code,country
dhl,JD014600001,Express,2024-06-03T08:00:00+02:00,in_transit,,Processed,LEIPZIG,,04435,DE
dhl,JD014600001,Express,2024-06-04T11:00:00-04:00,attempt_fail,recipient_unavailable,No one home,NEWARK,NJ,07101,US
usps,9400SB0002,Priority,2024-06-01T09:00:00-05:00,in_transit,,Accepted,DALLAS,TX,75201,US
usps,9400SB0002,Priority,2024-06-02T15:20:00-05:00,delivered,,Delivered,DALLAS,TX,75201,US
"""
ETAS = """carrier,tracking_number,stated_at,earliest,latest
dhl,JD014600001,2024-06-03T08:00:00+02:00,2024-06-05,2024-06-06
"""


def test_sandbox_server_round_trip(tmp_path: Path) -> None:
    from carriers.sandbox.server import SandboxServer

    (tmp_path / "scans.csv").write_text(SCANS)
    (tmp_path / "etas.csv").write_text(ETAS)
    with SandboxServer(tmp_path) as sandbox:
        bodies = AfterShipClient(settings(sandbox.base_url)).track(
            ["JD014600001", "9400SB0002", "NOPE"]
        )
        world = sandbox.world
    results = {r.tracking_number: r for b in bodies for r in parse(b)}
    assert sorted(results) == ["9400SB0002", "JD014600001"]
    for number, got in results.items():
        want = world.tracking(None, number)
        assert want is not None
        assert (got.carrier, got.status, got.reason) == (want.carrier, want.status, want.reason)
        assert got.estimated_delivery == want.estimated_delivery
        assert got.delivered_at == want.delivered_at
        assert [e.occurred_at.isoformat() for e in got.events] == [
            e.occurred_at.isoformat() for e in want.events
        ]
    assert results["JD014600001"].reason is Reason.RECIPIENT_UNAVAILABLE
