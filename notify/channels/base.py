"""The interface every delivery channel implements, and how a provider's answer is told.

A channel's ``send`` either returns a :class:`SendOutcome` or raises one of the errors
below. Which one matters, because it decides what the ledger may do with the send key:

* ``SendOutcome(state="sent")``: the provider accepted the message.
* ``SendOutcome(state="unknown")``: the request may have reached the provider (a timeout
  after it was written, a 5xx, a connection dropped before the answer). The key is never
  resent blindly; provider events reconcile it.
* :class:`PermanentSendError`: the provider refused this one message for good (invalid
  address, opted out). Only that message fails; ``suppress`` names a suppression to store.
* :class:`NotAccepted`: the provider certainly did not take the message (connection
  refused, a temporary refusal before the message was handed over). Safe to try later.
* :class:`RateLimited`: the provider refused because of its rate limit; ``retry_at`` says
  when it may be asked again (``None``: back off).
* :class:`ProviderAuthError` (401/403) and :class:`ProviderUnavailable`: the provider
  cannot be used with this configuration: the run stops and alerts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

_EMAIL = re.compile(r"[^\s<>\"'@]+@[^\s<>\"']+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")


def scrub(text: str, limit: int = 300) -> str:
    """A provider's error text without addresses or phone numbers, for reasons and logs."""
    return _PHONE.sub("<number>", _EMAIL.sub("<address>", text))[:limit]


@dataclass(frozen=True)
class OutboundMessage:
    send_key: str
    notice_id: str
    run_id: str
    channel: str  # email | sms
    recipient: str
    subject: str | None
    html: str | None
    text: str


@dataclass(frozen=True)
class SendOutcome:
    state: str  # sent | unknown
    provider_message_id: str | None = None
    detail: str | None = None
    path: str | None = None  # where a copy of the message was written, if anywhere


class PermanentSendError(Exception):
    """The provider refused this one message for good (bad address, opted out)."""

    def __init__(self, message: str, *, code: str | None = None, suppress: str | None = None):
        super().__init__(message)
        self.code = code
        self.suppress = suppress  # suppression kind to store for this recipient, if any


class NotAccepted(Exception):
    """The provider did not take the message; nothing was delivered, a later try is safe."""


class RateLimited(Exception):
    """The provider refused the request because of its rate limit."""

    def __init__(self, message: str, *, retry_at: datetime | None = None):
        super().__init__(message)
        self.retry_at = retry_at  # aware; None: back off exponentially


class ProviderUnavailable(Exception):
    """The provider cannot be used now (bad configuration, outage): stop the run."""


class ProviderAuthError(ProviderUnavailable):
    """The provider refused our credentials (401/403): stop the run and alert."""


class Channel(Protocol):
    provider: str

    def send(self, message: OutboundMessage) -> SendOutcome: ...
