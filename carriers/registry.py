"""The one place that knows which carriers exist.

Callers never ask "which vendor is this?": they look a carrier up here by name, or let
:func:`detect` recognise a payload, and use the spec's functions.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from carriers.models import PayloadError, TrackingResult

# Module names under ``carriers``; each exposes ``CARRIER: CarrierSpec``.
# Order matters for detection only in that more specific sniffers come first.
CARRIER_MODULES: tuple[str, ...] = (
    "fedex",
    "ups",
    "usps",
    "dhl",
    "easypost",
    "aftership",
    "canadapost",
    "amazon",
    "pitneybowes",
)


@dataclass(frozen=True)
class ClientSettings:
    """What a carrier client needs; filled from configuration or an Airflow Connection."""

    base_url: str
    client_id: str | None = None
    client_secret: str | None = None
    api_key: str | None = None
    requests_per_second: float = 10.0
    timeout_seconds: float = 10.0
    max_retries: int = 4
    extra: dict[str, str] = field(default_factory=dict)


class TrackingClient(Protocol):
    def track(self, tracking_numbers: Sequence[str]) -> list[bytes]:
        """Fetch tracking; one raw response body per HTTP response, unparsed."""
        ...


class SandboxCodec(Protocol):
    """How the carrier sandbox speaks one carrier's wire format.

    The sandbox server is generic: it asks each codec whether a request is a tracking
    request of its carrier, looks the numbers up in the simulated world, and lets the codec
    write the response exactly as the carrier's API would.
    """

    token_path: str | None  # OAuth token endpoint the carrier's client calls, if any

    def match(
        self, method: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> list[str] | None:
        """The tracking numbers asked for, or None when the request is not ours."""
        ...

    def respond(self, found: Sequence[TrackingResult], missing: Sequence[str]) -> tuple[int, bytes]:
        """HTTP status and body for these results (and numbers the world does not know)."""
        ...


@dataclass(frozen=True)
class CarrierSpec:
    name: str
    title: str
    parse: Callable[[bytes], list[TrackingResult]]
    sniff: Callable[[bytes], bool]
    make_client: Callable[[ClientSettings], TrackingClient] | None = None
    sandbox: SandboxCodec | None = None
    default_base_url: str | None = None


_loaded: dict[str, CarrierSpec] | None = None


def _load() -> dict[str, CarrierSpec]:
    global _loaded
    if _loaded is None:
        specs: dict[str, CarrierSpec] = {}
        for module_name in CARRIER_MODULES:
            try:
                module = importlib.import_module(f"carriers.{module_name}")
            except ModuleNotFoundError as exc:
                if exc.name == f"carriers.{module_name}":
                    continue  # not built (yet)
                raise
            if getattr(module, "__file__", None) is None:
                continue  # a bare folder (namespace package) is not a carrier package
            spec: CarrierSpec = module.CARRIER
            specs[spec.name] = spec
        _loaded = specs
    return _loaded


def all_carriers() -> list[CarrierSpec]:
    return list(_load().values())


def get(name: str) -> CarrierSpec:
    specs = _load()
    try:
        return specs[name.lower()]
    except KeyError:
        known = ", ".join(sorted(specs))
        raise KeyError(f"unknown carrier {name!r}; known carriers: {known}") from None


def detect(payload: bytes) -> CarrierSpec:
    """The carrier whose format this payload is in; PayloadError if none recognises it."""
    for spec in _load().values():
        if spec.sniff(payload):
            return spec
    raise PayloadError(
        "no carrier recognises this payload; pass the carrier by name "
        "(--carrier NAME) or check that the file is a carrier API response or webhook body"
    )
