"""Verify an AfterShip tracking webhook delivery before reading it (pure function).

Signature (AfterShip docs, "Webhook Signature",
https://www.aftership.com/docs/tracking/webhook/webhook-signature): header
``aftership-hmac-sha256`` holds the base64-encoded HMAC-SHA256 of the raw request body,
keyed with the account's webhook secret (UTF-8). It is compared in constant time.

Freshness: the signed body's ``ts``, the "UTC unix timestamp that the event occurred"
(AfterShip "Webhook Specifications",
https://www.aftership.com/docs/tracking/2025-01/webhook/webhook-specifications), must lie
within ``max_age`` before ``now`` and no more than ``clock_skew`` after it. A delivery
AfterShip retries later than ``max_age`` is therefore refused too; polling the tracking
API fills that gap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from carriers.webhooks import (
    DEFAULT_CLOCK_SKEW,
    DEFAULT_MAX_AGE,
    RejectReason,
    WebhookRejected,
    check_fresh,
    check_signature,
    load_body,
    require_secret,
    sent_signature,
)

SIGNATURE_HEADER = "aftership-hmac-sha256"


def signature(raw_body: bytes, secret: str) -> str:
    """The ``aftership-hmac-sha256`` value AfterShip sends for ``raw_body``."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> None:
    """Return if the delivery is authentic and fresh; raise :class:`WebhookRejected` if not."""
    require_secret(secret)
    sent = sent_signature(headers, SIGNATURE_HEADER)
    check_signature(signature(raw_body, secret), sent)
    check_fresh(sent_at(raw_body), now=now, max_age=max_age, clock_skew=clock_skew)


def sent_at(raw_body: bytes) -> datetime:
    """The body's ``ts`` as an aware UTC time; ``malformed`` if it is missing or unreadable."""
    event = load_body(raw_body)
    ts = event.get("ts") if isinstance(event, dict) else None
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        raise WebhookRejected(RejectReason.MALFORMED, "body has no numeric ts")
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        raise WebhookRejected(RejectReason.MALFORMED, f"ts {ts!r} is not a time") from None
