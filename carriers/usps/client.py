"""USPS Tracking API v3 client: I/O only, one tracking number per request.

OAuth2 client credentials at ``POST /oauth2/v3/token`` (JSON body ``grant_type``,
``client_id``, ``client_secret``); tracking at
``GET /tracking/v3/tracking/{trackingNumber}?expand=DETAIL``. The API takes one number per
request, so ``track`` sends one request per distinct number and returns every body as
received (400 "not yet available" bodies included; the parser reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from carriers.http import CarrierSession, OAuth2ClientCredentials
from carriers.registry import ClientSettings

DEFAULT_BASE_URL = "https://apis.usps.com"
TOKEN_PATH = "/oauth2/v3/token"  # noqa: S105 - a URL path, not a secret
TRACKING_PATH = "/tracking/v3/tracking/"


def tracking_path(number: str) -> str:
    return TRACKING_PATH + quote(number, safe="")


class UspsClient:
    """Fetches raw USPS v3 tracking bodies through one shared :class:`CarrierSession`."""

    def __init__(self, session: CarrierSession) -> None:
        self.session = session

    def track(self, tracking_numbers: Sequence[str]) -> list[bytes]:
        numbers = list(dict.fromkeys(n.strip() for n in tracking_numbers))
        if "" in numbers:
            raise ValueError("USPS: an empty tracking number cannot be requested")
        bodies = []
        for number in numbers:
            response = self.session.request(
                "GET",
                tracking_path(number),
                params={"expand": "DETAIL"},
                headers={"Accept": "application/json"},
            )
            bodies.append(response.content)
        return bodies


def make_client(settings: ClientSettings) -> UspsClient:
    auth = OAuth2ClientCredentials(token_path=TOKEN_PATH, json_body=True)
    return UspsClient(CarrierSession("usps", settings, auth=auth))
