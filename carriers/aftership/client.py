"""AfterShip tracking client (I/O only): ``GET /v4/trackings?tracking_numbers=...``.

Authentication is the ``aftership-api-key`` header (API v4). Numbers go out comma-separated
in batches of :data:`BATCH_SIZE` (the most ``tracking_numbers`` takes), asking for up to
:data:`PAGE_LIMIT` trackings a page (v4's maximum); when ``count`` says more trackings
match than the pages fetched so far hold (one number can be tracked with several
couriers), the next ``page`` is fetched. Every HTTP response body is returned unparsed.
The list only reports numbers already added to AfterShip: create trackings
(``POST /v4/trackings``) when shipments are registered, not here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from carriers.http import ApiKeyHeader, CarrierSession
from carriers.registry import ClientSettings, TrackingClient

TRACKINGS_PATH = "/v4/trackings"
API_KEY_HEADER = "aftership-api-key"
BATCH_SIZE = 50
PAGE_LIMIT = 200
MAX_PAGES = 20  # per batch; a guard against a count that never runs out


class AfterShipClient:
    """Fetches AfterShip trackings for tracking numbers."""

    def __init__(self, settings: ClientSettings, session: CarrierSession | None = None) -> None:
        self._session = session or CarrierSession(
            "aftership", settings, auth=ApiKeyHeader(API_KEY_HEADER)
        )

    def track(self, tracking_numbers: Sequence[str]) -> list[bytes]:
        numbers = list(dict.fromkeys(n.strip() for n in tracking_numbers if n and n.strip()))
        bodies: list[bytes] = []
        for start in range(0, len(numbers), BATCH_SIZE):
            bodies.extend(self._batch(numbers[start : start + BATCH_SIZE]))
        return bodies

    def _batch(self, numbers: list[str]) -> list[bytes]:
        bodies: list[bytes] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"tracking_numbers": ",".join(numbers), "limit": PAGE_LIMIT, "page": page}
            response = self._session.request("GET", TRACKINGS_PATH, params=params)
            bodies.append(response.content)
            if not has_next_page(response.content, page):
                break
        return bodies


def has_next_page(body: bytes, page: int) -> bool:
    """True when ``count`` says more trackings match than pages 1..``page`` held."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        return False
    count, limit = data.get("count"), data.get("limit")
    if not isinstance(count, int) or not isinstance(limit, int) or limit <= 0:
        return False
    return count > page * limit


def make_client(settings: ClientSettings) -> TrackingClient:
    return AfterShipClient(settings)
