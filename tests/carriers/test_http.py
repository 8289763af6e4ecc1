"""carriers.http against a real loopback server that plays a scripted list of responses."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from carriers.http import (
    TOKEN_CACHE,
    ApiKeyHeader,
    BasicApiKey,
    CarrierAuthError,
    CarrierHTTPError,
    CarrierSession,
    CarrierUnavailable,
    OAuth2ClientCredentials,
    TokenBucket,
)
from carriers.registry import ClientSettings

SECRET = "s3cr3t-value"


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False  # announce the full length, send half, close


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Script:
    """Scripted replies per path (the last one repeats); every request is recorded."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.base_url = ""
        self.lock = threading.Lock()

    def on(self, path: str, *replies: Reply) -> None:
        self.replies[path] = list(replies)

    def next_reply(self, path: str) -> Reply:
        with self.lock:
            queue = self.replies.get(path.split("?")[0])
            if not queue:
                return Reply(404, {"error": "no such path"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path.split("?")[0] == path]


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(
        self, request: object, client_address: object
    ) -> None:  # client gave up (timeouts)
        pass


def make_handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with script.lock:
                script.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            reply = script.next_reply(self.path)
            if reply.delay:
                time.sleep(reply.delay)
            payload = (
                reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            )
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.truncate:
                self.wfile.write(payload[: len(payload) // 2])
                self.close_connection = True
                return
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    return Handler


@pytest.fixture
def script() -> Iterator[Script]:
    script = Script()
    server = QuietServer(("127.0.0.1", 0), make_handler(script))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    script.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    TOKEN_CACHE.clear()
    yield
    TOKEN_CACHE.clear()


class Recorder:
    """Injected sleep (records waits, advances a fake clock) and clocks."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def settings(base_url: str, **overrides: object) -> ClientSettings:
    values: dict = {
        "base_url": base_url,
        "client_id": "client-1",
        "client_secret": SECRET,
        "requests_per_second": 0,
        "timeout_seconds": 2.0,
        "max_retries": 3,
    }
    values.update(overrides)
    return ClientSettings(**values)


OAUTH = OAuth2ClientCredentials(token_path="/oauth/token")


def token(value: str, expires_in: int | str = 3600) -> Reply:
    return Reply(200, {"access_token": value, "token_type": "bearer", "expires_in": expires_in})


def session(script: Script, recorder: Recorder | None = None, **kwargs: object) -> CarrierSession:
    recorder = recorder or Recorder()
    auth = kwargs.pop("auth", OAUTH)
    base_url = kwargs.pop("base_url", script.base_url)
    return CarrierSession(
        "fedex",
        settings(str(base_url), **kwargs),
        auth=auth,  # type: ignore[arg-type]
        sleep=recorder.sleep,
        clock=recorder.clock,
        rng=random.Random(7),
    )


def test_token_fetched_once_and_reused(script: Script) -> None:
    script.on("/oauth/token", token("tok-1"))
    script.on("/track", Reply(200, {"ok": True}))
    with session(script) as first:
        for _ in range(3):
            assert first.request("POST", "/track", json={"n": 1}).json() == {"ok": True}
    with session(script) as second:  # another session of the same client: cache is shared
        second.request("GET", "/track")
    assert len(script.calls("/oauth/token")) == 1
    api = script.calls("/track")
    assert len(api) == 4
    assert {c.headers["Authorization"] for c in api} == {"Bearer tok-1"}
    form = script.calls("/oauth/token")[0].body.decode()
    assert "grant_type=client_credentials" in form
    assert "client_id=client-1" in form


def test_token_expires_60_seconds_early(script: Script) -> None:
    script.on("/oauth/token", token("tok-1", "120"), token("tok-2"))
    script.on("/track", Reply(200, {}))
    recorder = Recorder()
    with session(script, recorder) as s:
        s.request("GET", "/track")
        recorder.now += 59
        s.request("GET", "/track")
        recorder.now += 2  # 61 s after the fetch: within the 60 s margin of expiry
        s.request("GET", "/track")
    assert [c.headers["Authorization"] for c in script.calls("/track")] == [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
    ]


def test_token_refreshed_once_on_401(script: Script) -> None:
    script.on("/oauth/token", token("tok-1"), token("tok-2"))
    script.on("/track", Reply(401, {"error": "expired"}), Reply(200, {"ok": 1}))
    with session(script) as s:
        assert s.request("GET", "/track").status_code == 200
    assert [c.headers["Authorization"] for c in script.calls("/track")] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert len(script.calls("/oauth/token")) == 2


def test_401_twice_raises_auth_error_after_two_calls(script: Script) -> None:
    script.on("/oauth/token", token("tok-1"), token("tok-2"))
    script.on("/track", Reply(401, {"error": "nope"}))
    with session(script) as s, pytest.raises(CarrierAuthError) as raised:
        s.request("GET", "/track")
    assert len(script.calls("/track")) == 2
    assert raised.value.status == 401
    assert raised.value.carrier == "fedex"


def test_403_is_not_refreshed(script: Script) -> None:
    script.on("/oauth/token", token("tok-1"))
    script.on("/track", Reply(403, {"error": "forbidden"}))
    with session(script) as s, pytest.raises(CarrierAuthError):
        s.request("GET", "/track")
    assert len(script.calls("/track")) == 1


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(401, {"error": "invalid_client", "echo": SECRET}), "refused"),
        (Reply(200, {"token_type": "bearer"}), "without an access_token"),
        (Reply(200, b"<html>login</html>"), "without an access_token"),
    ],
)
def test_bad_token_endpoint_raises_auth_error(script: Script, reply: Reply, message: str) -> None:
    script.on("/oauth/token", reply)
    script.on("/track", Reply(200, {}))
    with session(script) as s, pytest.raises(CarrierAuthError) as raised:
        s.request("GET", "/track")
    assert message in str(raised.value)
    assert SECRET not in str(raised.value)
    assert script.calls("/track") == []


def test_token_request_shapes(script: Script) -> None:
    script.on("/oauth/token", token("tok-1"))
    script.on("/track", Reply(200, {}))
    auth = OAuth2ClientCredentials(
        "/oauth/token", extra_form={"scope": "track"}, basic_auth=True, json_body=True
    )
    with session(script, auth=auth) as s:
        s.request("GET", "/track")
    call = script.calls("/oauth/token")[0]
    assert json.loads(call.body) == {"grant_type": "client_credentials", "scope": "track"}
    assert call.headers["Authorization"] == "Basic Y2xpZW50LTE6czNjcjN0LXZhbHVl"


def test_missing_credentials_raise_auth_error(script: Script) -> None:
    with session(script, client_secret=None) as s, pytest.raises(CarrierAuthError) as raised:
        s.request("GET", "/track")
    assert "client_secret" in str(raised.value)
    assert script.seen == []


def test_429_waits_at_least_retry_after(script: Script) -> None:
    script.on("/track", Reply(429, {}, {"Retry-After": "2"}), Reply(200, {"ok": 1}))
    recorder = Recorder()
    with session(script, recorder, auth=None) as s:
        assert s.request("GET", "/track").status_code == 200
    assert len(script.calls("/track")) == 2
    assert len(recorder.waits) == 1
    assert recorder.waits[0] >= 2.0


def test_retry_after_http_date_and_rate_limit_reset(script: Script) -> None:
    now = time.time()
    date = email.utils.formatdate(now + 5, usegmt=True)
    script.on(
        "/track",
        Reply(503, {}, {"Retry-After": date}),
        Reply(429, {}, {"X-RateLimit-Reset": str(int(now) + 8)}),
        Reply(200, {}),
    )
    recorder = Recorder()
    s = CarrierSession(
        "ups",
        settings(script.base_url),
        sleep=recorder.sleep,
        wall_clock=lambda: now,
        rng=random.Random(1),
    )
    assert s.request("GET", "/track").status_code == 200
    assert recorder.waits[0] >= 4.0  # HTTP dates have whole-second precision
    assert recorder.waits[1] >= 7.0


def test_server_asking_for_a_very_long_wait_is_unavailable(script: Script) -> None:
    script.on("/track", Reply(429, {}, {"Retry-After": "7200"}))
    recorder = Recorder()
    with session(script, recorder, auth=None) as s, pytest.raises(CarrierUnavailable) as raised:
        s.request("GET", "/track")
    assert "7200" in str(raised.value)
    assert recorder.waits == []


def test_500_then_200_succeeds_after_two_calls(script: Script) -> None:
    script.on("/track", Reply(500, {"err": 1}), Reply(200, {"ok": 1}))
    recorder = Recorder()
    with session(script, recorder, auth=None) as s:
        assert s.request("GET", "/track").json() == {"ok": 1}
    assert len(script.calls("/track")) == 2
    assert 0.0 <= recorder.waits[0] <= 0.5  # full jitter below the first backoff step


def test_retries_exhausted_name_carrier_status_and_attempts(script: Script) -> None:
    script.on("/track", Reply(503, {}))
    recorder = Recorder()
    s = session(script, recorder, auth=None, max_retries=4)
    with s, pytest.raises(CarrierUnavailable) as raised:
        s.request("GET", "/track")
    assert len(script.calls("/track")) == 5
    assert raised.value.status == 503
    assert "fedex" in str(raised.value)
    assert "5 attempts" in str(raised.value)
    caps = [0.5, 1.0, 2.0, 4.0]
    assert len(recorder.waits) == 4
    assert all(0 <= w <= cap for w, cap in zip(recorder.waits, caps, strict=True))


def test_timeout_is_retried_then_unavailable(script: Script) -> None:
    script.on("/track", Reply(200, {}, delay=0.6))
    recorder = Recorder()
    s = session(script, recorder, auth=None, timeout_seconds=0.2, max_retries=1)
    started = time.monotonic()
    with s, pytest.raises(CarrierUnavailable) as raised:
        s.request("GET", "/track")
    assert time.monotonic() - started < 2.0
    assert len(script.calls("/track")) == 2
    assert raised.value.status is None
    assert "timeout" in str(raised.value)
    assert len(recorder.waits) == 1


def test_connection_error_is_retried_then_unavailable() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    recorder = Recorder()
    s = CarrierSession(
        "dhl", settings(f"http://127.0.0.1:{port}", max_retries=2), sleep=recorder.sleep
    )
    with pytest.raises(CarrierUnavailable) as raised:
        s.request("GET", "/track")
    assert "connection error" in str(raised.value)
    assert "3 attempts" in str(raised.value)
    assert len(recorder.waits) == 2


def test_connection_dropped_mid_body_is_retried(script: Script) -> None:
    script.on("/track", Reply(200, {"partial": "x" * 100}, truncate=True), Reply(200, {"ok": 1}))
    with session(script, auth=None) as s:
        assert s.request("GET", "/track").json() == {"ok": 1}
    assert len(script.calls("/track")) == 2


def test_404_body_is_returned(script: Script) -> None:
    script.on("/track", Reply(404, {"errors": [{"code": "TRACKING.NOTFOUND"}]}))
    with session(script, auth=None) as s:
        response = s.request("GET", "/track")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "TRACKING.NOTFOUND"
    assert len(script.calls("/track")) == 1


def test_other_server_errors_raise_http_error(script: Script) -> None:
    script.on("/track", Reply(501, {"error": "not implemented"}))
    with session(script, auth=None) as s, pytest.raises(CarrierHTTPError) as raised:
        s.request("GET", "/track")
    assert not isinstance(raised.value, CarrierUnavailable)
    assert raised.value.status == 501
    assert len(script.calls("/track")) == 1


def test_rate_limit_spaces_requests(script: Script) -> None:
    script.on("/track", Reply(200, {}))
    recorder = Recorder()
    with session(script, recorder, auth=None, requests_per_second=4) as s:
        for _ in range(4):
            s.request("GET", "/track")
    assert recorder.waits == pytest.approx([0.25, 0.25, 0.25])


def test_token_bucket_refills_with_time() -> None:
    recorder = Recorder()
    bucket = TokenBucket(2.0, clock=recorder.clock, sleep=recorder.sleep)
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(0.5)
    recorder.now += 10  # idle: refills only up to the capacity of one request
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(0.5)


def test_token_bucket_is_thread_safe() -> None:
    lock = threading.Lock()
    recorder = Recorder()

    def sleep(seconds: float) -> None:
        with lock:
            recorder.waits.append(seconds)

    bucket = TokenBucket(10.0, clock=lambda: 0.0, sleep=sleep)
    threads = [threading.Thread(target=bucket.acquire) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # each reserved a distinct slot: 0, 0.1, ..., 1.9 s from now
    assert sorted(recorder.waits) == pytest.approx([0.1 * i for i in range(1, 20)])


def test_api_key_header_and_basic_api_key(script: Script) -> None:
    script.on("/track", Reply(200, {}))
    with session(script, auth=ApiKeyHeader("X-API-Key"), api_key="key-123") as s:
        s.request("GET", "/track", headers={"Accept": "application/json"})
    with session(script, auth=BasicApiKey(), api_key="key-123") as s:
        s.request("GET", "/track")
    first, second = script.calls("/track")
    assert first.headers["X-API-Key"] == "key-123"
    assert first.headers["Accept"] == "application/json"
    assert "Authorization" not in first.headers
    assert second.headers["Authorization"] == "Basic a2V5LTEyMzo="  # "key-123:"


def test_base_url_path_prefix_is_kept(script: Script) -> None:
    prefix = "/asof/2026-11-20T10:00:00%2B00:00"
    base = script.base_url + prefix + "/"
    script.on(prefix + "/track/v1/shipments", Reply(200, {}))
    with session(script, auth=None, base_url=base) as s:
        s.request("GET", "/track/v1/shipments", params={"number": "123"})
    [call] = script.calls(prefix + "/track/v1/shipments")
    assert call.path == prefix + "/track/v1/shipments?number=123"


def test_logs_carry_no_credentials_or_query(
    script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    script.on("/oauth/token", token("tok-secret-token"))
    script.on("/track", Reply(500, {}), Reply(200, {}))
    with caplog.at_level(logging.DEBUG, logger="carriers.http"), session(script) as s:
        s.request("GET", "/track", params={"email": "jane@example.com"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /track -> 500 attempt=1" in text
    assert "GET /track -> 200 attempt=2" in text
    assert "POST /oauth/token -> 200" in text
    for secret in (SECRET, "tok-secret-token", "jane", "client-1"):
        assert secret not in text
