"""SendGrid v3 mail send through the official SDK (``sendgrid.SendGridAPIClient``).

One message per request (one personalization), so one send key is one request. Our
notice id and send key travel in ``custom_args`` (opaque ids only; SendGrid echoes them in
every event, which is how ``unknown`` keys are reconciled); categories and the unsubscribe
group (``asm``) come from configuration; every message carries RFC 8058 one-click
``List-Unsubscribe`` headers. The client has no default timeout, so one is always set.

How answers map (see :mod:`notify.channels.base`): 2xx sent (200 in sandbox mode: checked,
not delivered); 400/413 that message fails; 401/403 stop and alert; 404/405 bad host;
429 wait for ``X-RateLimit-Reset``; 5xx, a timeout or a dropped connection after the
request was written: unknown; a refused connection: not accepted.
"""

from __future__ import annotations

import http.client
import logging
import socket
import urllib.error
from datetime import UTC, datetime, timedelta
from typing import Any

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
from notify.config import SendGridSettings

log = logging.getLogger(__name__)

MAIL_SEND_PATH = "/v3/mail/send"


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    return str(value) if value is not None else None


def _reset_time(headers: Any) -> datetime | None:
    """When SendGrid's rate-limit window resets (``X-RateLimit-Reset``, epoch seconds)."""
    reset = _header(headers, "X-RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return datetime.fromtimestamp(int(reset.strip()), UTC)
    retry_after = _header(headers, "Retry-After")
    if retry_after and retry_after.strip().isdigit():
        return datetime.now(UTC) + timedelta(seconds=int(retry_after.strip()))
    return None


def _error_text(body: Any) -> str:
    """SendGrid's error messages (``{"errors": [{"message": ...}]}``), never the request."""
    import json

    try:
        doc = json.loads(body.decode("utf-8") if isinstance(body, bytes) else str(body))
        messages = [str(e.get("message", "")) for e in doc.get("errors", [])]
        return scrub("; ".join(m for m in messages if m)) or "no error message"
    except (ValueError, AttributeError):
        return "unreadable error body"


class SendGridChannel:
    provider = "sendgrid"

    def __init__(
        self,
        settings: SendGridSettings,
        *,
        unsubscribe_url: str,
        unsubscribe_secret: str,
    ) -> None:
        from sendgrid import SendGridAPIClient

        if not settings.api_key:
            raise ProviderUnavailable(
                "SendGrid has no API key: set OASIS_SENDGRID_API_KEY or the password of the "
                "Airflow Connection oasis_sendgrid"
            )
        # The HTTP layer logs request bodies (addresses) at DEBUG: keep it above that.
        logging.getLogger("python_http_client").setLevel(logging.WARNING)
        self.settings = settings
        self.unsubscribe_url = unsubscribe_url
        self.unsubscribe_secret = unsubscribe_secret
        self.client = SendGridAPIClient(api_key=settings.api_key, host=settings.host)
        self.client.client.timeout = settings.timeout_seconds

    def mail(self, message: OutboundMessage) -> dict[str, Any]:
        """The v3 mail send request body for one message."""
        from sendgrid.helpers.mail import (
            Asm,
            Category,
            CustomArg,
            From,
            GroupId,
            GroupsToDisplay,
            Header,
            Mail,
            MailSettings,
            SandBoxMode,
            To,
        )

        from notify import unsubscribe

        mail = Mail(
            from_email=From(self.settings.from_email, self.settings.from_name),
            to_emails=To(message.recipient),
            subject=message.subject or "",
            plain_text_content=message.text,
            html_content=message.html or None,
        )
        mail.custom_arg = [
            CustomArg("notice_id", message.notice_id),
            CustomArg("send_key", message.send_key),
        ]
        if self.settings.categories:
            mail.category = [Category(c) for c in self.settings.categories[:10]]
        if self.settings.asm_group_id is not None:
            shown = list(self.settings.asm_groups_to_display) or None
            mail.asm = Asm(
                GroupId(self.settings.asm_group_id), GroupsToDisplay(shown) if shown else None
            )
        link = unsubscribe.url(self.unsubscribe_url, message.send_key, self.unsubscribe_secret)
        mail.header = [
            Header("List-Unsubscribe", f"<{link}>"),
            Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]
        if self.settings.sandbox_mode:
            settings = MailSettings()
            settings.sandbox_mode = SandBoxMode(True)
            mail.mail_settings = settings
        body: dict[str, Any] = mail.get()
        return body

    def send(self, message: OutboundMessage) -> SendOutcome:
        from python_http_client.exceptions import HTTPError

        body = self.mail(message)
        try:
            response = self.client.client.mail.send.post(request_body=body)
        except HTTPError as exc:
            return self._refused(int(exc.status_code), exc.headers, exc.body)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
                raise NotAccepted(f"sendgrid: connection failed ({exc.reason})") from exc
            return SendOutcome(
                "unknown",
                detail=f"sendgrid: {type(exc.reason).__name__} "
                "after the request may have been written",
            )
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            return SendOutcome(
                "unknown", detail=f"sendgrid: {type(exc).__name__} after the request was written"
            )
        if response.status_code == 200 and self.settings.sandbox_mode:
            return SendOutcome(
                "sent",
                provider_message_id=None,
                detail="sandbox_mode: validated by SendGrid, not delivered",
            )
        message_id = _header(response.headers, "X-Message-Id")
        return SendOutcome("sent", provider_message_id=message_id)

    def _refused(self, status: int, headers: Any, body: Any) -> SendOutcome:
        if status == 429:
            raise RateLimited("sendgrid: 429 too many requests", retry_at=_reset_time(headers))
        if status in (401, 403):
            raise ProviderAuthError(
                f"sendgrid answered {status}: the API key is refused or lacks the mail.send "
                "scope; check OASIS_SENDGRID_API_KEY (or Connection oasis_sendgrid)"
            )
        if status in (404, 405):
            raise ProviderUnavailable(
                f"sendgrid answered {status} for {MAIL_SEND_PATH}: check OASIS_SENDGRID_HOST "
                f"({self.settings.host})"
            )
        if status >= 500:
            return SendOutcome(
                "unknown", detail=f"sendgrid answered {status}; the message may have been queued"
            )
        raise PermanentSendError(
            f"sendgrid answered {status}: {_error_text(body)}", code=str(status)
        )
