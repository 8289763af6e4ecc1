"""The interface every delivery channel implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
    state: str  # sent | failed_permanent | unknown
    provider_message_id: str | None = None
    detail: str | None = None
    path: str | None = None  # where a copy of the message was written, if anywhere


class PermanentSendError(Exception):
    """The provider refused this one message for good (bad address, opted out)."""


class ProviderUnavailable(Exception):
    """The provider cannot be used now (auth failure, outage): stop the run."""


class Channel(Protocol):
    provider: str

    def send(self, message: OutboundMessage) -> SendOutcome: ...
