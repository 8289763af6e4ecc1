"""Verify an EasyPost webhook delivery before reading it (pure function).

Signature (EasyPost docs, "Webhooks Guide" / "Webhook" at https://docs.easypost.com, and
the ``validate_webhook`` of EasyPost's client libraries): header ``X-Hmac-Signature`` holds
``hmac-sha256-hex=`` followed by the lower-case hex HMAC-SHA256 of the raw request body,
keyed with the webhook secret after Unicode NFKD normalisation, UTF-8 encoded. It is
compared in constant time.

Freshness: EasyPost's documentation names no signed timestamp header, so the time comes
from the signed body: the Event's ``created_at`` and ``updated_at`` (ISO 8601, UTC). The
later of the two counts (EasyPost updates the Event as it retries delivery), and it must
lie within ``max_age`` before ``now`` and no more than ``clock_skew`` after it.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta

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

SIGNATURE_HEADER = "X-Hmac-Signature"
SIGNATURE_PREFIX = "hmac-sha256-hex="


def signature(raw_body: bytes, secret: str) -> str:
    """The ``X-Hmac-Signature`` value EasyPost sends for ``raw_body``."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    digest = hmac.new(key, raw_body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


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
    check_signature(signature(raw_body, secret), sent.lower())
    check_fresh(sent_at(raw_body), now=now, max_age=max_age, clock_skew=clock_skew)


def sent_at(raw_body: bytes) -> datetime:
    """The later of the Event's created_at and updated_at; ``malformed`` if neither reads."""
    event = load_body(raw_body)
    if not isinstance(event, dict):
        raise WebhookRejected(RejectReason.MALFORMED, "body is not a JSON object")
    stamps = [_aware(event.get(field)) for field in ("created_at", "updated_at")]
    known = [stamp for stamp in stamps if stamp is not None]
    if not known:
        raise WebhookRejected(
            RejectReason.MALFORMED, "Event has no readable created_at or updated_at"
        )
    return max(known)


def _aware(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None
