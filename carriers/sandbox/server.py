"""The carrier sandbox HTTP server: a world served in every carrier's wire format.

Listens on 127.0.0.1 only (port 0 picks a free one) with a thread per connection and
HTTP/1.1 keep-alive, and hands every request to :class:`carriers.sandbox.routing.Router`.
Use it as a context manager; :meth:`SandboxServer.url_for` gives a base URL that makes a
client see the world as of a given moment.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from carriers.registry import CarrierSpec
from carriers.sandbox.routing import AS_OF_SEGMENT, Router
from carriers.sandbox.world import SandboxWorld

HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stall
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: request lines may carry tracking numbers; counts are kept instead."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.router.handle(self.command, self.path, body)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, port: int, router: Router) -> None:
        self.router = router
        super().__init__((HOST, port), _Handler)


class SandboxServer:
    """Serve a :class:`SandboxWorld` over HTTP on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        world: SandboxWorld | str | Path,
        *,
        port: int = 0,
        as_of: datetime | None = None,
        carriers: Sequence[CarrierSpec] | None = None,
    ) -> None:
        loaded = world if isinstance(world, SandboxWorld) else SandboxWorld.load(world)
        self.router = Router(loaded, as_of=as_of, carriers=carriers)
        self._port = port
        self._http: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def world(self) -> SandboxWorld:
        return self.router.world

    def start(self) -> SandboxServer:
        if self._http is None:
            self._http = _HTTPServer(self._port, self.router)
            self._thread = threading.Thread(
                target=self._http.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="carrier-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            if self._thread is not None:
                self._thread.join()
            self._http = None
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the sandbox server is not running; call start() first")
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url_for(self, as_of: datetime) -> str:
        """Base URL under which the world is seen as of ``as_of`` (aware)."""
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        return f"{self.base_url}/{AS_OF_SEGMENT}/{quote(as_of.isoformat(), safe=':')}"

    @property
    def request_counts(self) -> dict[str, int]:
        """Tracking requests answered so far, per carrier."""
        return self.router.request_counts

    @property
    def token_counts(self) -> dict[str, int]:
        """Token requests answered so far, per token path."""
        return self.router.token_counts
