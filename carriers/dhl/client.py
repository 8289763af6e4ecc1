"""DHL Shipment Tracking – Unified API client: I/O only, one tracking number per request.

``GET /track/shipments?trackingNumber=<n>&language=en`` with the API key in the
``DHL-API-Key`` header (default base URL https://api-eu.dhl.com). The API takes a single
tracking number per request, so ``track`` sends one request per distinct number and returns
every body as received: 200 tracking bodies and 404 problem+json "not found" bodies alike
(the parser reads both). Authentication failures and exhausted retries raise from
:class:`carriers.http.CarrierSession`.
"""

from __future__ import annotations

from collections.abc import Sequence

from carriers.http import ApiKeyHeader, CarrierSession
from carriers.registry import ClientSettings

DEFAULT_BASE_URL = "https://api-eu.dhl.com"
TRACK_PATH = "/track/shipments"
API_KEY_HEADER = "DHL-API-Key"
LANGUAGE = "en"


class DhlClient:
    """Fetches raw Unified API tracking bodies through one shared :class:`CarrierSession`."""

    def __init__(self, session: CarrierSession) -> None:
        self.session = session

    def track(self, tracking_numbers: Sequence[str]) -> list[bytes]:
        numbers = list(dict.fromkeys(n.strip() for n in tracking_numbers))
        if "" in numbers:
            raise ValueError("DHL: an empty tracking number cannot be requested")
        bodies = []
        for number in numbers:
            response = self.session.request(
                "GET",
                TRACK_PATH,
                params={"trackingNumber": number, "language": LANGUAGE},
                headers={"Accept": "application/json"},
            )
            bodies.append(response.content)
        return bodies


def make_client(settings: ClientSettings) -> DhlClient:
    return DhlClient(CarrierSession("dhl", settings, auth=ApiKeyHeader(API_KEY_HEADER)))
