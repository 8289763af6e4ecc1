"""One-click unsubscribe links (RFC 8058) that carry no personal data.

The link's token is the send key (an opaque hash) and an HMAC of it, so ``oasis serve`` can
tell which message's recipient asked to leave without the address ever being in the URL.
"""

from __future__ import annotations

import hashlib
import hmac

DEVELOPMENT_SECRET = "oasis-development-unsubscribe-secret"  # noqa: S105 - not for production


def token(send_key: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), send_key.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{send_key}.{mac}"


def verify(value: str, secret: str) -> str | None:
    """The send key a token was made for, or None when it was not made with ``secret``."""
    send_key, _, _mac = value.partition(".")
    if not send_key or not hmac.compare_digest(token(send_key, secret), value):
        return None
    return send_key


def url(template: str, send_key: str, secret: str) -> str:
    if "{token}" not in template:
        raise ValueError(f"unsubscribe URL {template!r} has no {{token}} placeholder")
    return template.replace("{token}", token(send_key, secret))


def secret_for(configured: str | None, production: bool) -> str:
    if configured:
        return configured
    if production:
        raise ValueError(
            "OASIS_UNSUBSCRIBE_SECRET is not set: production unsubscribe links must be signed "
            "with a secret of your own"
        )
    return DEVELOPMENT_SECRET
