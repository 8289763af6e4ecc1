"""UPS Track API v1 client (I/O only): OAuth2 client credentials, one number per request.

``POST {base}/security/v1/oauth/token`` (client id and secret as HTTP Basic, form
``grant_type=client_credentials``) gives a bearer token that :class:`CarrierSession` caches
and refreshes; ``GET {base}/api/track/v1/details/{inquiryNumber}?locale=en_US&
returnSignature=false&returnMilestones=false`` with a fresh ``transId`` and
``transactionSrc`` tracks one number. The API takes one inquiry number per request, so a
batch is one request per distinct number. Bodies are returned unparsed, including UPS's
400/404 answers for invalid or unknown numbers, which the parser reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from urllib.parse import quote

from carriers.http import CarrierSession, OAuth2ClientCredentials
from carriers.registry import ClientSettings

DEFAULT_BASE_URL = "https://onlinetools.ups.com"
TOKEN_PATH = "/security/v1/oauth/token"  # noqa: S105 (a URL path, not a secret)
TRACK_PATH = "/api/track/v1/details/"
TRACK_PARAMS = {"locale": "en_US", "returnSignature": "false", "returnMilestones": "false"}
TRANSACTION_SOURCE = "oasis"


def track_path(number: str) -> str:
    return TRACK_PATH + quote(number, safe="")


class UPSClient:
    """Fetch UPS tracking for a batch of numbers, one request each."""

    def __init__(self, settings: ClientSettings, session: CarrierSession | None = None) -> None:
        self._session = session or CarrierSession(
            "ups", settings, auth=OAuth2ClientCredentials(token_path=TOKEN_PATH, basic_auth=True)
        )

    def track(self, tracking_numbers: Sequence[str]) -> list[bytes]:
        numbers = dict.fromkeys(n.strip() for n in tracking_numbers if n.strip())
        return [self._track_one(number) for number in numbers]

    def _track_one(self, number: str) -> bytes:
        headers = {
            "transId": uuid.uuid4().hex,
            "transactionSrc": TRANSACTION_SOURCE,
            "Accept": "application/json",
        }
        response = self._session.request(
            "GET", track_path(number), params=TRACK_PARAMS, headers=headers
        )
        return response.content

    def close(self) -> None:
        self._session.close()


def make_client(settings: ClientSettings) -> UPSClient:
    return UPSClient(settings)
