"""Twilio Programmable Messaging (SMS) over its REST API with ``requests``.

``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with ``To``, ``Body``,
``MessagingServiceSid`` (preferred) or ``From``, and ``StatusCallback``. The base URL is a
setting (a loopback stub in tests). The status callback URL carries our send key as a
query parameter (an opaque hash), so every delivery report, and an ``unknown`` send that
did land, can be tied back to its ledger row.

How answers map (see :mod:`notify.channels.base`): 201 sent; 20429 (or HTTP 429) rate
limited, back off; 21610 the recipient replied STOP: fails for good and stores an opt-out;
21211 / 21614 invalid or not SMS-capable number: fails for good and marks it invalid;
30006 landline / unreachable carrier: fails for good; other 4xx that message fails;
401/403 (20003) stop and alert; 404 bad account or base URL; 5xx, a read timeout or a
dropped connection: unknown; a refused connection or connect timeout: not accepted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

from notify.channels.base import (
    NotAccepted,
    OutboundMessage,
    PermanentSendError,
    ProviderAuthError,
    ProviderUnavailable,
    RateLimited,
    SendOutcome,
    scrub,
)
from notify.config import TwilioSettings

SUPPRESS_FOR_CODE = {
    21610: "opt_out",  # the recipient replied STOP: never retry
    21211: "invalid_number",  # not a valid phone number
    21614: "invalid_number",  # not a mobile number / cannot receive SMS
    30006: "unreachable",  # landline or unreachable carrier
}
AUTH_CODES = {20003, 20005}


def with_send_key(url: str, send_key: str) -> str:
    """``url`` with ``send_key=<key>`` added to its query string."""
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"send_key": send_key})))


class TwilioSmsChannel:
    provider = "twilio"

    def __init__(self, settings: TwilioSettings, *, status_callback_url: str | None) -> None:
        if not settings.account_sid or not settings.auth_token:
            raise ProviderUnavailable(
                "Twilio needs OASIS_TWILIO_ACCOUNT_SID and OASIS_TWILIO_AUTH_TOKEN (or the "
                "login and password of the Airflow Connection oasis_twilio)"
            )
        if not settings.messaging_service_sid and not settings.from_number:
            raise ProviderUnavailable(
                "Twilio needs a sender: set OASIS_TWILIO_MESSAGING_SERVICE_SID or OASIS_TWILIO_FROM"
            )
        self.settings = settings
        self.status_callback_url = status_callback_url
        self.url = (
            f"{settings.base_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{settings.account_sid}/Messages.json"
        )
        self.session = requests.Session()
        self.session.auth = (settings.account_sid, settings.auth_token)
        self.session.trust_env = False  # never route provider calls through env proxies

    def form(self, message: OutboundMessage) -> dict[str, str]:
        form = {"To": message.recipient, "Body": message.text}
        if self.settings.messaging_service_sid:
            form["MessagingServiceSid"] = self.settings.messaging_service_sid
        else:
            form["From"] = str(self.settings.from_number)
        if self.status_callback_url:
            form["StatusCallback"] = with_send_key(self.status_callback_url, message.send_key)
        return form

    def send(self, message: OutboundMessage) -> SendOutcome:
        timeout = self.settings.timeout_seconds
        try:
            # Bytes, not a dict: http.client then writes headers and body in one packet,
            # which avoids a Nagle / delayed-ACK stall on every kept-alive request.
            response = self.session.post(
                self.url,
                data=urlencode(self.form(message)).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=(min(timeout, 5.0), timeout),
            )
        except (requests.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
            raise NotAccepted(f"twilio: could not connect ({type(exc).__name__})") from exc
        except requests.ConnectionError as exc:
            if _refused(exc):
                raise NotAccepted("twilio: connection refused") from exc
            return SendOutcome(
                "unknown",
                detail=f"twilio: {type(exc).__name__} after the request may have been written",
            )
        except requests.Timeout:
            return SendOutcome("unknown", detail="twilio: read timeout after the request")
        if response.status_code in (200, 201):
            doc = _json(response)
            return SendOutcome("sent", provider_message_id=str(doc.get("sid") or "") or None)
        return self._refused(response)

    def _refused(self, response: requests.Response) -> SendOutcome:
        status = response.status_code
        doc = _json(response)
        code = int(doc["code"]) if str(doc.get("code", "")).isdigit() else None
        text = f"twilio answered {status}" + (f" (error {code})" if code else "")
        if status == 429 or code == 20429:
            raise RateLimited(text)
        if status in (401, 403) or code in AUTH_CODES:
            raise ProviderAuthError(
                f"{text}: credentials refused; check "
                "OASIS_TWILIO_ACCOUNT_SID / OASIS_TWILIO_AUTH_TOKEN"
            )
        if status == 404:
            raise ProviderUnavailable(f"{text}: check OASIS_TWILIO_BASE_URL and the account SID")
        if status >= 500:
            return SendOutcome("unknown", detail=f"{text}; the message may have been created")
        raise PermanentSendError(
            f"{text}: {scrub(str(doc.get('message', '')), 200)}",
            code=str(code or status),
            suppress=SUPPRESS_FOR_CODE.get(code or 0),
        )

    def close(self) -> None:
        self.session.close()


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        doc = response.json()
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _refused(exc: requests.ConnectionError) -> bool:
    """True when the TCP connection was never made (nothing was written)."""
    cause: BaseException | None = exc
    for _depth in range(10):
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return True
        if type(cause).__name__ in ("NewConnectionError", "NameResolutionError"):
            return True
        cause = (
            cause.__cause__
            or cause.__context__
            or (cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None)
        )
    return False
