"""Loopback HTTP servers speaking SendGrid v3 mail send and Twilio's Messages REST API.

Real HTTP servers on 127.0.0.1 (port 0) that check what the real APIs check (auth, required
fields), answer in the real wire format (202 + ``X-Message-Id``; 201 + message JSON; the
real error bodies and codes), and record every request. A test injects faults per request
(429 with ``X-RateLimit-Reset``, 400/401/500, Twilio error codes, slow answers, timeouts,
connections dropped after the request was read) and can act right after an answer went out
(``after_response``: e.g. SIGKILL the sender between the provider's 2xx and its ledger
commit). ``landed`` marks requests after which the provider would hold the message, which
is what "a key reached the provider at most once" counts.
"""

from __future__ import annotations

import abc
import base64
import json
import random
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit


@dataclass
class Recorded:
    at: float  # time.time() when the request had been read
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    key: str | None = None  # our send key, from custom_args / the status callback URL
    status: int | None = None  # what was answered (None: no answer)
    landed: bool = False  # the provider would now hold this message
    fault: str | None = None
    message_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Fault:
    status: int = 0  # 0: answer normally
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0  # seconds before answering (longer than the client timeout = timeout)
    drop: bool = False  # close the connection without answering
    landed: bool = False  # whether the message counts as taken by the provider
    name: str = "fault"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    stub: StubServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-connection is part of the tests, not an error to print."""
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every kept-alive answer, which real APIs do not.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length)
        stub = self.server.stub
        rec = Recorded(time.time(), "POST", self.path, dict(self.headers.items()), body)
        stub.handle(self, rec)


class StubServer(abc.ABC):
    """Base: threading server, recorder, latency, faults, after-response hook."""

    def __init__(self, latency: tuple[float, float] = (0.0, 0.0), seed: int = 0) -> None:
        self.latency = latency
        self.random = random.Random(seed)
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.faults: Callable[[Recorded], Fault | None] | None = None
        self.after_response: Callable[[Recorded], None] | None = None
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StubServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- recording ------------------------------------------------------------------------
    def landed_per_key(self) -> Counter[str]:
        with self.lock:
            return Counter(r.key for r in self.requests if r.landed and r.key)

    def requests_per_key(self) -> Counter[str]:
        with self.lock:
            return Counter(r.key for r in self.requests if r.key)

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    # -- answering ------------------------------------------------------------------------
    def handle(self, h: _Handler, rec: Recorded) -> None:
        status, headers, doc, landed = self.answer(h, rec)
        fault = self.faults(rec) if self.faults and status < 300 else None
        if fault is not None:
            rec.fault = fault.name
            landed = fault.landed
            if fault.status:
                status, headers, doc = fault.status, fault.headers, fault.body
        rec.landed = landed
        with self.lock:
            self.requests.append(rec)
        low, high = self.latency
        delay = (fault.delay if fault else 0.0) + (self.random.uniform(low, high) if high else 0)
        if delay:
            time.sleep(delay)
        if fault is not None and fault.drop:
            h.close_connection = True
            return
        payload = b"" if doc is None else json.dumps(doc).encode()
        try:
            h.send_response(status)
            for name, value in headers.items():
                h.send_header(name, value)
            if payload:
                h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        rec.status = status
        if self.after_response is not None:
            self.after_response(rec)

    @abc.abstractmethod
    def answer(self, h: _Handler, rec: Recorded) -> tuple[int, dict[str, str], Any, bool]:
        """Status, headers, JSON body, and whether the message landed (the provider took it)."""


class SendGridStub(StubServer):
    """``POST /v3/mail/send`` as SendGrid answers it."""

    def __init__(self, api_key: str = "SG.test-key", **kw: Any) -> None:
        super().__init__(**kw)
        self.api_key = api_key

    def answer(self, h: _Handler, rec: Recorded) -> tuple[int, dict[str, str], Any, bool]:
        if rec.path != "/v3/mail/send":
            return 404, {}, {"errors": [{"message": "not found"}]}, False
        if h.headers.get("Authorization") != f"Bearer {self.api_key}":
            msg = "The provided authorization grant is invalid, expired, or revoked"
            return 401, {}, {"errors": [{"message": msg, "field": None, "help": None}]}, False
        try:
            doc = rec.json()
        except ValueError:
            return 400, {}, {"errors": [{"message": "Bad Request", "field": None}]}, False
        rec.key = (doc.get("custom_args") or {}).get("send_key")
        problems = _sendgrid_problems(doc)
        if problems:
            return 400, {}, {"errors": [{"message": p, "field": None} for p in problems]}, False
        if ((doc.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable"):
            return 200, {}, None, False
        rec.message_id = secrets.token_urlsafe(16)
        return 202, {"X-Message-Id": rec.message_id}, None, True

    def events_for(self, rec: Recorded, *names: str, at: int | None = None) -> list[dict[str, Any]]:
        """SendGrid Event Webhook events for a recorded send (custom args echoed)."""
        doc = rec.json()
        email = doc["personalizations"][0]["to"][0]["email"]
        stamp = at or int(time.time())
        return [
            {
                "email": email,
                "timestamp": stamp,
                "event": name,
                "sg_event_id": secrets.token_urlsafe(16),
                "sg_message_id": f"{rec.message_id or 'unknown'}.filterdrecv-1.0",
                "smtp-id": f"<{rec.message_id}@ismtpd0001p1>",
                "category": doc.get("categories", []),
                **(doc.get("custom_args") or {}),
            }
            for name in names
        ]


def _sendgrid_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    people = doc.get("personalizations") or []
    if not people or not all(p.get("to") for p in people):
        problems.append("The personalizations field is required and must have at least one to.")
    if not (doc.get("from") or {}).get("email"):
        problems.append("The from object must be provided for every email send.")
    if not doc.get("subject") and not all(p.get("subject") for p in people):
        problems.append("The subject is required.")
    if not doc.get("content") and not doc.get("template_id"):
        problems.append("Unless a valid template_id is provided, the content is required.")
    for p in people:
        for to in p.get("to", []):
            if "@" not in str(to.get("email", "")):
                problems.append("Does not contain a valid address.")
    return problems


class TwilioStub(StubServer):
    """``POST /2010-04-01/Accounts/{Sid}/Messages.json`` as Twilio answers it."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "tw-test-token",
                 **kw: Any) -> None:  # fmt: skip
        super().__init__(**kw)
        self.account_sid = account_sid
        self.auth_token = auth_token

    def answer(self, h: _Handler, rec: Recorded) -> tuple[int, dict[str, str], Any, bool]:
        expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if rec.path != expected:
            return 404, {}, twilio_error(20404, 404), False
        basic = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if h.headers.get("Authorization") != f"Basic {basic}":
            return 401, {}, twilio_error(20003, 401), False
        form = rec.form()
        callback = form.get("StatusCallback")
        if callback:
            rec.key = (parse_qs(urlsplit(callback).query).get("send_key") or [None])[0]
        if not form.get("To"):
            return 400, {}, twilio_error(21604, 400), False
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, {}, twilio_error(21603, 400), False
        if not form.get("Body"):
            return 400, {}, twilio_error(21602, 400), False
        rec.message_id = "SM" + secrets.token_hex(16)
        return 201, {}, {
            "sid": rec.message_id, "account_sid": self.account_sid, "to": form["To"],
            "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form["Body"], "status": "queued", "num_segments": "1", "direction":
            "outbound-api", "api_version": "2010-04-01", "error_code": None,
            "error_message": None, "uri": f"{expected[:-5]}/{rec.message_id}.json",
        }, True  # fmt: skip


def twilio_error(code: int, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": f"Twilio error {code}",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class SendGridSigner:
    """An ECDSA P-256 key pair signing Event Webhook bodies the way SendGrid does."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()  # what SendGrid's settings show

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = self.private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }
