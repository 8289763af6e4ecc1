"""FedEx Track API v1 client: HTTP only, through the shared carrier session.

OAuth2 client credentials at ``POST /oauth/token`` (form ``grant_type=client_credentials``,
``client_id``, ``client_secret``; the token is cached by :mod:`carriers.http`), tracking at
``POST /track/v1/trackingnumbers`` with at most 30 numbers per request. Bodies are returned
unparsed, one per HTTP response, including FedEx's 4xx answers (not found, empty number),
which the parser reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from carriers.http import CarrierSession, OAuth2ClientCredentials
from carriers.registry import ClientSettings

TOKEN_PATH = "/oauth/token"  # noqa: S105 (an endpoint path, not a secret)
TRACK_PATH = "/track/v1/trackingnumbers"
MAX_NUMBERS_PER_REQUEST = 30


def track_request_body(numbers: Sequence[str]) -> dict[str, Any]:
    """The JSON body of one tracking request (detailed scans for every number)."""
    return {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers],
    }


class FedExClient:
    """Fetches raw FedEx tracking responses for tracking numbers."""

    def __init__(self, settings: ClientSettings, session: CarrierSession | None = None) -> None:
        self._session = session or CarrierSession(
            "fedex", settings, auth=OAuth2ClientCredentials(token_path=TOKEN_PATH)
        )

    def track(self, tracking_numbers: Sequence[str]) -> list[bytes]:
        """One response body per batch of up to 30 distinct, non-blank numbers."""
        numbers = list(dict.fromkeys(n.strip() for n in tracking_numbers if n.strip()))
        bodies: list[bytes] = []
        for start in range(0, len(numbers), MAX_NUMBERS_PER_REQUEST):
            batch = numbers[start : start + MAX_NUMBERS_PER_REQUEST]
            response = self._session.request(
                "POST",
                TRACK_PATH,
                json=track_request_body(batch),
                headers={"Content-Type": "application/json", "X-locale": "en_US"},
            )
            bodies.append(response.content)
        return bodies

    def close(self) -> None:
        self._session.close()


def make_client(settings: ClientSettings) -> FedExClient:
    return FedExClient(settings)
