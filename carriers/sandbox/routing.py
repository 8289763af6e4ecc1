"""Route one sandbox request to the carrier codec that speaks it (no sockets here).

A request may start with ``/asof/<ISO timestamp, URL-encoded>/``: that moment becomes the
world's "now" for the request and the prefix is removed before any codec sees the path, so
a client whose base URL ends in the prefix works unchanged. Then:

* POST to a codec's ``token_path`` gets an OAuth token answer;
* otherwise each codec, in registry order, is asked ``match(method, path, query, body)``
  with the path percent-decoded and the query parsed; the first that claims the request
  (returns a list, possibly empty) gets ``respond(found, missing)``, where ``missing`` are
  the numbers the world does not know for that carrier at that moment;
* anything else is a 404 JSON error.

Aggregators (EasyPost, AfterShip) never move parcels themselves, so their numbers are
looked up across every carrier. A codec says it is one with ``aggregator = True``; a codec
without that attribute is treated as one when its carrier moves no parcel in the world.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from carriers.models import TrackingResult
from carriers.registry import CarrierSpec, SandboxCodec, all_carriers
from carriers.sandbox.world import SandboxWorld

log = logging.getLogger("carriers.sandbox")

AS_OF_SEGMENT = "asof"
TOKEN_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str


def json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode(), "application/json")


def content_type(body: bytes) -> str:
    return "application/xml" if body.lstrip().startswith(b"<") else "application/json"


def split_as_of(raw_path: str) -> tuple[datetime | None, str]:
    """(as-of moment or None, the path without the prefix); ValueError if unreadable."""
    parts = raw_path.split("/", 3)
    if len(parts) < 3 or parts[0] or parts[1] != AS_OF_SEGMENT:
        return None, raw_path
    stamp = unquote(parts[2])
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        raise ValueError(f"as-of time {stamp!r} has no UTC offset")
    return moment, "/" + (parts[3] if len(parts) > 3 else "")


class Router:
    """Answers requests from the world in every registered carrier's wire format."""

    def __init__(
        self,
        world: SandboxWorld,
        *,
        as_of: datetime | None = None,
        carriers: Sequence[CarrierSpec] | None = None,
    ) -> None:
        self.world = world
        self.as_of = as_of
        specs = all_carriers() if carriers is None else list(carriers)
        self._codecs: list[tuple[CarrierSpec, SandboxCodec]] = [
            (spec, spec.sandbox) for spec in specs if spec.sandbox is not None
        ]
        self._token_paths = {
            codec.token_path for _, codec in self._codecs if codec.token_path is not None
        }
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._tokens: Counter[str] = Counter()

    @property
    def carriers(self) -> list[str]:
        """Carriers this router speaks for."""
        return [spec.name for spec, _ in self._codecs]

    @property
    def request_counts(self) -> dict[str, int]:
        """Tracking requests answered so far, per carrier."""
        with self._lock:
            return dict(self._requests)

    @property
    def token_counts(self) -> dict[str, int]:
        """Token requests answered so far, per token path."""
        with self._lock:
            return dict(self._tokens)

    def handle(self, method: str, target: str, body: bytes) -> Reply:
        split = urlsplit(target)
        try:
            url_as_of, raw_path = split_as_of(split.path)
        except ValueError as exc:
            return json_reply(400, {"error": f"bad as-of prefix: {exc}"})
        as_of = url_as_of or self.as_of
        path = unquote(raw_path)
        if method == "POST" and path in self._token_paths:
            return self._token(path)
        query = parse_qs(split.query, keep_blank_values=True)
        for spec, codec in self._codecs:
            try:
                numbers = codec.match(method, path, query, body)
            except Exception:  # a codec choking on another carrier's request: not its
                log.exception("%s sandbox codec failed to match %s %s", spec.name, method, path)
                continue
            if numbers is not None:
                return self._track(spec, codec, numbers, as_of)
        return json_reply(404, {"error": f"no carrier sandbox handles {method} {path}"})

    def _token(self, path: str) -> Reply:
        with self._lock:
            self._tokens[path] += 1
        return json_reply(
            200,
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
            },
        )

    def _track(
        self,
        spec: CarrierSpec,
        codec: SandboxCodec,
        numbers: Sequence[str],
        as_of: datetime | None,
    ) -> Reply:
        with self._lock:
            self._requests[spec.name] += 1
        carrier = None if self._is_aggregator(spec, codec) else spec.name
        found: list[TrackingResult] = []
        missing: list[str] = []
        for number in dict.fromkeys(numbers):
            result = self.world.tracking(carrier, number, as_of)
            if result is None:
                missing.append(number)
            else:
                found.append(result)
        try:
            status, body = codec.respond(found, missing)
        except Exception as exc:  # a codec bug must not kill the server thread
            log.exception("%s sandbox codec failed", spec.name)
            return json_reply(500, {"error": f"{spec.name} sandbox codec failed: {exc}"})
        return Reply(status, body, content_type(body))

    def _is_aggregator(self, spec: CarrierSpec, codec: SandboxCodec) -> bool:
        declared = getattr(codec, "aggregator", None)
        if isinstance(declared, bool):
            return declared
        return spec.name not in self.world.carriers
