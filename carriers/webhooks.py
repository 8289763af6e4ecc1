"""What every aggregator webhook check shares: the rejection error and the freshness window.

Each aggregator verifies its own signature scheme in ``carriers/<name>/webhook.py`` (pure
functions, no I/O). They all reject a delivery by raising :class:`WebhookRejected` with
one of four reasons, which the HTTP endpoint turns into a 4xx answer without touching any
state:

* ``missing_signature``: the signature header is absent or empty;
* ``bad_signature``: the signature does not match the raw body and the secret;
* ``stale``: the signed timestamp lies outside the freshness window (older than
  ``max_age``, or further in the future than ``clock_skew``), so a captured delivery cannot
  be replayed later;
* ``malformed``: the signature matched but the body has no readable timestamp.

The signature is always checked first, so an unsigned or forged body is never parsed.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_MAX_AGE = timedelta(seconds=300)
# How far a sender's clock may run ahead of ours before a timestamp counts as forged.
DEFAULT_CLOCK_SKEW = timedelta(seconds=60)


class RejectReason(StrEnum):
    MISSING_SIGNATURE = "missing_signature"
    BAD_SIGNATURE = "bad_signature"
    STALE = "stale"
    MALFORMED = "malformed"


class WebhookRejected(Exception):
    """A webhook delivery that must not be processed; ``reason`` says why."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        self.reason = RejectReason(reason)
        self.detail = detail
        super().__init__(f"{self.reason.value}: {detail}" if detail else self.reason.value)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def require_secret(secret: str) -> None:
    """Refuse to verify with an empty secret: anyone can sign with an empty key."""
    if not secret:
        raise ValueError("no webhook secret configured; refusing to verify webhooks without one")


def sent_signature(headers: Mapping[str, str], name: str) -> str:
    """The stripped signature in header ``name``; ``missing_signature`` if absent or empty."""
    sent = (header(headers, name) or "").strip()
    if not sent:
        raise WebhookRejected(RejectReason.MISSING_SIGNATURE, f"no {name} header")
    return sent


def check_signature(expected: str, sent: str) -> None:
    """Raise ``bad_signature`` unless ``sent`` equals ``expected`` (constant-time compare)."""
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        raise WebhookRejected(
            RejectReason.BAD_SIGNATURE, "signature does not match the body and the secret"
        )


def load_body(raw_body: bytes) -> object:
    """The decoded JSON of a verified body; ``malformed`` if it is not JSON."""
    try:
        return json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected(RejectReason.MALFORMED, "body is not JSON") from None


def check_fresh(
    sent_at: datetime,
    *,
    now: datetime,
    max_age: timedelta,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> None:
    """Raise ``stale`` unless ``now - max_age <= sent_at <= now + clock_skew``."""
    if now.tzinfo is None or sent_at.tzinfo is None:
        raise ValueError("webhook freshness needs timezone-aware datetimes")
    age = now - sent_at
    if age > max_age:
        raise WebhookRejected(
            RejectReason.STALE,
            f"sent {age.total_seconds():.0f} s ago, more than the {max_age.total_seconds():.0f} s"
            " allowed",
        )
    if -age > clock_skew:
        raise WebhookRejected(
            RejectReason.STALE,
            f"timestamp {(-age).total_seconds():.0f} s in the future, more than the "
            f"{clock_skew.total_seconds():.0f} s clock skew allowed",
        )
