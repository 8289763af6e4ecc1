"""A loopback HTTP server that speaks the part of the Zendesk Support API we use.

Tickets live in memory; every request is recorded; API-token basic auth is checked; a
queue of canned faults (status, headers) is served before normal answers.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

EMAIL = "agent@shop.test"
TOKEN = "zendesk-test-token"


@dataclass
class ZendeskState:
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    faults: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: ZendeskState) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            url = urlparse(self.path)
            with state.lock:
                state.requests.append((method, self.path, body))
                if state.faults:
                    status, headers = state.faults.pop(0)
                    return self._send(status, {"error": "injected"}, headers)
            if self.headers.get("Authorization") != expected:
                return self._send(401, {"error": "Couldn't authenticate you"})
            parts = url.path.strip("/").split("/")  # api v2 tickets[.json] [id.json]
            with state.lock:
                if method == "GET" and url.path == "/api/v2/tickets.json":
                    wanted = parse_qs(url.query).get("external_id", [None])[0]
                    found = [t for t in state.tickets.values() if t["external_id"] == wanted]
                    return self._send(200, {"tickets": found, "count": len(found)})
                if method == "POST" and url.path == "/api/v2/tickets.json":
                    ticket = dict(body["ticket"])
                    ticket["id"] = len(state.tickets) + 1001
                    ticket["status"] = "new"
                    ticket["comments"] = [ticket.pop("comment")]
                    state.tickets[ticket["id"]] = ticket
                    return self._send(201, {"ticket": ticket})
                if len(parts) == 4 and parts[3].endswith(".json"):
                    ticket = state.tickets.get(int(parts[3].removesuffix(".json")))
                    if ticket is None:
                        return self._send(404, {"error": "RecordNotFound"})
                    if method == "PUT":
                        ticket["comments"].append(body["ticket"]["comment"])
                    return self._send(200, {"ticket": ticket})
            return self._send(404, {"error": "InvalidEndpoint"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

    return Handler


@contextmanager
def zendesk_stub() -> Iterator[tuple[str, ZendeskState]]:
    state = ZendeskState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
