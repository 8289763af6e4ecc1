"""EasyPost tracking client (I/O only): ``GET /v2/trackers?tracking_codes[]=...``.

Authentication is the API key as the HTTP Basic user name (EasyPost's documented scheme).
Codes go out in batches of :data:`BATCH_SIZE`, each asking for up to :data:`PAGE_SIZE`
trackers (EasyPost's maximum); when EasyPost says ``has_more`` the next page is fetched with
``before_id`` set to the last tracker's id. Every HTTP response body is returned unparsed.
The list endpoint only reports trackers that exist: create trackers (``POST /v2/trackers``)
when shipments are registered, not here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from carriers.http import BasicApiKey, CarrierSession
from carriers.registry import ClientSettings, TrackingClient

TRACKERS_PATH = "/v2/trackers"
BATCH_SIZE = 50
PAGE_SIZE = 100
MAX_PAGES = 20  # per batch; a guard against a server that never stops saying has_more


class EasyPostClient:
    """Fetches EasyPost trackers for tracking codes."""

    def __init__(self, settings: ClientSettings, session: CarrierSession | None = None) -> None:
        self._session = session or CarrierSession("easypost", settings, auth=BasicApiKey())

    def track(self, tracking_numbers: Sequence[str]) -> list[bytes]:
        codes = list(dict.fromkeys(n.strip() for n in tracking_numbers if n and n.strip()))
        bodies: list[bytes] = []
        for start in range(0, len(codes), BATCH_SIZE):
            bodies.extend(self._batch(codes[start : start + BATCH_SIZE]))
        return bodies

    def _batch(self, codes: list[str]) -> list[bytes]:
        bodies: list[bytes] = []
        before_id: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, object] = {"tracking_codes[]": codes, "page_size": PAGE_SIZE}
            if before_id:
                params["before_id"] = before_id
            response = self._session.request("GET", TRACKERS_PATH, params=params)
            bodies.append(response.content)
            before_id = next_page(response.content)
            if before_id is None:
                break
        return bodies


def next_page(body: bytes) -> str | None:
    """The ``before_id`` for the next page, or None when this was the last one."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("has_more") is not True:
        return None
    trackers = doc.get("trackers")
    if not isinstance(trackers, list) or not trackers or not isinstance(trackers[-1], dict):
        return None
    last = trackers[-1].get("id")
    return last if isinstance(last, str) and last else None


def make_client(settings: ClientSettings) -> TrackingClient:
    return EasyPostClient(settings)
