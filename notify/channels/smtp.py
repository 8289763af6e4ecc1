"""SMTP with the standard library (``smtplib``): self-hosted mail and local development.

Security is ``starttls`` (upgrade a plain connection, the submission port 587), ``ssl``
(implicit TLS, port 465) or ``none`` (a relay on a trusted network). Certificates are
verified with the system store or ``OASIS_SMTP_CA_FILE``. One connection is reused for a
run's messages and reopened when the server drops it.

The SMTP dialogue is driven step by step so a failure is classified by when it happened:
before ``DATA`` the server has not taken the message (not accepted, or refused for good on
a 5xx recipient reply); while the message data is being sent or its reply awaited, it
may have been taken (unknown).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from notify.channels.base import (
    NotAccepted,
    OutboundMessage,
    PermanentSendError,
    ProviderAuthError,
    ProviderUnavailable,
    SendOutcome,
    scrub,
)
from notify.config import SmtpSettings

# CRLF line ends; long ids and unsubscribe links stay on one header line (RFC 5322: <= 998).
WIRE = policy.SMTP.clone(max_line_length=998)


def _text(reply: bytes | str) -> str:
    raw = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return scrub(raw, 200)


class SmtpChannel:
    provider = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        sender: str,
        brand: str,
        unsubscribe_url: str,
        unsubscribe_secret: str,
    ) -> None:
        if settings.security not in ("none", "starttls", "ssl"):
            raise ProviderUnavailable(
                f"OASIS_SMTP_SECURITY={settings.security!r}: use none, starttls or ssl"
            )
        self.settings = settings
        self.sender = sender
        self.brand = brand
        self.unsubscribe_url = unsubscribe_url
        self.unsubscribe_secret = unsubscribe_secret
        self._conn: smtplib.SMTP | None = None

    def email(self, message: OutboundMessage) -> EmailMessage:
        from notify import unsubscribe

        mail = EmailMessage()
        mail["From"] = f"{self.brand} <{self.sender}>"
        mail["To"] = message.recipient
        mail["Subject"] = message.subject or ""
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.split("@")[-1])
        mail["X-Oasis-Notice-Id"] = message.notice_id
        mail["X-Oasis-Send-Key"] = message.send_key
        link = unsubscribe.url(self.unsubscribe_url, message.send_key, self.unsubscribe_secret)
        mail["List-Unsubscribe"] = f"<{link}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            conn: smtplib.SMTP
            if s.security == "ssl":
                conn = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=self._context()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            conn.ehlo()
            if s.security == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderAuthError(
                f"smtp login refused ({exc.smtp_code}): check "
                "OASIS_SMTP_USERNAME / OASIS_SMTP_PASSWORD"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise ProviderUnavailable(
                f"smtp server {s.host}:{s.port}: {exc}; check OASIS_SMTP_SECURITY"
            ) from exc
        except ssl.SSLError as exc:
            raise ProviderUnavailable(
                f"smtp TLS with {s.host}:{s.port} failed ({exc.reason}); "
                "check OASIS_SMTP_SECURITY / OASIS_SMTP_CA_FILE"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise NotAccepted(
                f"smtp: cannot connect to {s.host}:{s.port} ({type(exc).__name__})"
            ) from exc
        return conn

    def _envelope(self, conn: smtplib.SMTP, recipient: str) -> None:
        """MAIL FROM and RCPT TO: nothing is delivered yet, whatever happens here."""
        code, reply = conn.mail(self.sender)
        if code != 250:
            conn.rset()
            if code >= 500:
                raise ProviderUnavailable(
                    f"smtp refused the sender ({code} {_text(reply)}): check OASIS_SENDER_EMAIL"
                )
            raise NotAccepted(f"smtp sender deferred ({code})")
        code, reply = conn.rcpt(recipient)
        if code not in (250, 251):
            conn.rset()
            if code >= 500:
                raise PermanentSendError(
                    f"smtp refused the recipient ({code} {_text(reply)})", code=str(code)
                )
            raise NotAccepted(f"smtp recipient deferred ({code})")

    def send(self, message: OutboundMessage) -> SendOutcome:
        mail = self.email(message)
        conn = self._conn
        if conn is not None:
            try:
                if conn.noop()[0] != 250:
                    conn = None
            except (OSError, smtplib.SMTPException):
                conn = None
        conn = conn or self._connect()
        self._conn = conn
        try:
            self._envelope(conn, message.recipient)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._conn = None
            raise NotAccepted(f"smtp connection lost before DATA ({type(exc).__name__})") from exc
        try:
            _code, reply = conn.data(mail.as_bytes(policy=WIRE))
        except smtplib.SMTPDataError as exc:
            return self._data_refused(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            self._conn = None
            return SendOutcome(
                "unknown",
                detail=f"smtp: {type(exc).__name__} while the message was being handed over",
            )
        queued = _text(reply)
        return SendOutcome("sent", provider_message_id=queued or str(mail["Message-ID"]))

    def _data_refused(self, code: int, reply: bytes | str) -> SendOutcome:
        """DATA, or the message after it, got a refusal: the server did not take it."""
        if code >= 500:
            raise PermanentSendError(
                f"smtp refused the message ({code} {_text(reply)})", code=str(code)
            )
        raise NotAccepted(f"smtp deferred the message ({code})")

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._conn.quit()
            self._conn = None
