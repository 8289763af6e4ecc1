"""Webhook receiver for the aggregator feeds (EasyPost, AfterShip): a small Starlette app.

The same app receives delivery feedback from SendGrid and Twilio and one-click
unsubscribes; those endpoints are described in :mod:`notify.provider_webhooks`.

Endpoints:

* ``POST /webhooks/easypost`` and ``POST /webhooks/aftership``: one carrier webhook delivery;
* ``GET /healthz``: 200 when the store answers, 503 when it does not.

Each delivery goes through the same steps:

1. The raw body is read (at most ``max_body_bytes``; a larger one is refused with 413 and
   not stored, so an unauthenticated sender cannot fill the store).
2. The signature and freshness are checked by the aggregator's pure verifier
   (``carriers/<name>/webhook.py``). Verification has no side effects, so its verdict is
   known before anything is written and the raw row is written once with the right status.
3. The raw body is stored before anything is parsed from it, accepted or not:

   * rejected: a ``raw_payloads`` row with ``parse_status="rejected"`` and ``parse_error``
     = ``"<reason>: <detail>"`` (insert-if-absent on the body's SHA-256), and the answer
     401 (missing or bad signature, stale timestamp) or 400 (signature good but the body is
     not JSON or has no readable timestamp: ``malformed``). Nothing is parsed or applied.
   * accepted: :func:`notify.stages.ingest.ingest_payload` keeps the raw body, parses it and
     upserts its events (idempotent on the body's SHA-256 and on each event's natural key),
     and the answer is 200 ``{"accepted": true, "results": n, "new_events": m,
     "parse_error": false}``. A replay of the same body is 200 with ``new_events`` 0. An
     authentic body our parser cannot read is kept with its parse error and still answered
     200 with ``"parse_error": true``: the sender retrying it would not help, and the stored
     body can be parsed again later. If the same body was rejected before (say its
     signature header was lost on the way), that rejected row is dropped first so the body
     is stored once, with its real parse status.

A feed whose secret is not configured answers 503 naming the setting to set. Bad input
never causes a 5xx. Log lines name the feed, the reason and the payload id, never the body
or anything from it.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import uvicorn
from sqlalchemy import delete, text
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carriers.aftership import webhook as aftership_webhook
from carriers.easypost import webhook as easypost_webhook
from carriers.webhooks import DEFAULT_MAX_AGE, RejectReason, WebhookRejected
from notify.provider_webhooks import ProviderReceiver, ProviderWebhookConfig
from notify.stages.ingest import _store_raw, ingest_payload
from notify.store import open_store, schema

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

STATUS_FOR_REASON = {
    RejectReason.MISSING_SIGNATURE: 401,
    RejectReason.BAD_SIGNATURE: 401,
    RejectReason.STALE: 401,
    RejectReason.MALFORMED: 400,
}


class Verifier(Protocol):
    def __call__(
        self,
        raw_body: bytes,
        headers: Mapping[str, str],
        secret: str,
        *,
        now: datetime,
        max_age: timedelta = ...,
    ) -> None: ...


@dataclass(frozen=True)
class Feed:
    """One aggregator's webhook: its carrier name, secret setting and verifier."""

    name: str
    setting: str
    verify: Verifier


FEEDS = (
    Feed("easypost", "OASIS_EASYPOST_WEBHOOK_SECRET", easypost_webhook.verify),
    Feed("aftership", "OASIS_AFTERSHIP_WEBHOOK_SECRET", aftership_webhook.verify),
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Receiver:
    feed: Feed
    engine: Engine
    secret: str | None
    max_age: timedelta
    max_body_bytes: int
    clock: Callable[[], datetime]

    async def endpoint(self, request: Request) -> Response:
        if not self.secret:
            message = f"{self.feed.name} webhooks are not configured: set {self.feed.setting}"
            return JSONResponse({"accepted": False, "error": message}, status_code=503)
        body = await _read_body(request, self.max_body_bytes)
        if body is None:
            error = f"body larger than {self.max_body_bytes} bytes"
            return JSONResponse({"accepted": False, "error": error}, status_code=413)
        return await run_in_threadpool(self.handle, body, request.headers, self.secret)

    def handle(self, body: bytes, headers: Mapping[str, str], secret: str) -> Response:
        now = self.clock()
        try:
            self.feed.verify(body, headers, secret, now=now, max_age=self.max_age)
        except WebhookRejected as exc:
            return self.reject(body, exc, now)
        self.forget_rejection(body)
        result = ingest_payload(
            self.engine,
            body,
            origin="webhook",
            origin_ref=self.feed.name,
            run_id=None,
            stated_at=now,
            carrier=self.feed.name,
        )
        log.info(
            "%s webhook accepted: %d results, %d new events",
            self.feed.name,
            result.results,
            result.new_events,
        )
        return JSONResponse(
            {
                "accepted": True,
                "results": result.results,
                "new_events": result.new_events,
                "parse_error": result.parse_errors > 0,
            }
        )

    def forget_rejection(self, body: bytes) -> None:
        """Drop an earlier rejected copy of this body, so the accepted one is stored fresh.

        A rejected row has nothing parsed from it and nothing refers to it. Without this,
        ``ingest_payload`` would find the body already stored and leave it marked rejected.
        """
        raw = schema.raw_payloads
        digest = hashlib.sha256(body).hexdigest()
        with self.engine.begin() as conn:
            conn.execute(
                delete(raw).where(raw.c.sha256 == digest, raw.c.parse_status == "rejected")
            )

    def reject(self, body: bytes, exc: WebhookRejected, now: datetime) -> Response:
        with self.engine.begin() as conn:
            payload_id, _ = _store_raw(
                conn,
                body,
                source=self.feed.name,
                origin="webhook",
                origin_ref=self.feed.name,
                received_at=now,
                run_id=None,
                parse_status="rejected",
                parse_error=str(exc),
            )
        log.warning(
            "%s webhook rejected (%s), kept as payload %d",
            self.feed.name,
            exc.reason.value,
            payload_id,
        )
        return JSONResponse(
            {"accepted": False, "reason": exc.reason.value, "detail": exc.detail},
            status_code=STATUS_FOR_REASON[exc.reason],
        )


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _healthz(engine: Engine) -> Callable[[Request], Awaitable[Response]]:
    def probe() -> bool:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any store failure means "not healthy"
            log.warning("health check: store unreachable (%s)", type(exc).__name__)
            return False
        return True

    async def healthz(_request: Request) -> Response:
        ok = await run_in_threadpool(probe)
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    return healthz


def create_app(
    *,
    database_url: str,
    secrets: Mapping[str, str | None],
    max_age: timedelta = DEFAULT_MAX_AGE,
    clock: Callable[[], datetime] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    providers: ProviderWebhookConfig | None = None,
    production: bool = False,
) -> Starlette:
    """The webhook app on the store at ``database_url`` (migrated on open).

    ``secrets`` maps a feed name ("easypost", "aftership") to its webhook secret; a missing
    or empty one makes that feed answer 503. ``clock`` returns aware "now" (default: UTC).
    ``providers`` configures the SendGrid / Twilio / unsubscribe endpoints
    (:mod:`notify.provider_webhooks`); unconfigured ones answer 503.
    """
    engine = open_store(database_url)
    routes = [
        Route(
            f"/webhooks/{feed.name}",
            _Receiver(
                feed=feed,
                engine=engine,
                secret=secrets.get(feed.name),
                max_age=max_age,
                max_body_bytes=max_body_bytes,
                clock=clock or _utc_now,
            ).endpoint,
            methods=["POST"],
        )
        for feed in FEEDS
    ]
    routes.extend(
        ProviderReceiver(
            engine=engine,
            config=providers or ProviderWebhookConfig(),
            clock=clock or _utc_now,
            max_body_bytes=max_body_bytes,
            production=production,
        ).routes()
    )
    routes.append(Route("/healthz", _healthz(engine), methods=["GET"]))
    return Starlette(routes=routes)


def provider_webhook_config(settings: Any) -> ProviderWebhookConfig:
    """SendGrid / Twilio / unsubscribe endpoint settings from the configuration."""
    from notify.config import load_delivery_settings

    delivery = load_delivery_settings(settings)
    return ProviderWebhookConfig(
        sendgrid_public_key=delivery.sendgrid.webhook_public_key,
        twilio_auth_token=delivery.twilio.auth_token,
        public_base_url=delivery.public_base_url,
        max_age=timedelta(seconds=delivery.webhook_max_age_seconds),
        unsubscribe_secret=delivery.unsubscribe_secret,
        help_text=f"{settings.brand_name} delivery updates. Help: {settings.support_contact}. "
        "Reply STOP to opt out.",
        twilio_retry_delay=timedelta(seconds=delivery.twilio.retry_delay_seconds),
    )


def build_server(argv: Sequence[str] | None = None) -> uvicorn.Server:
    """The uvicorn server ``oasis serve`` runs: store and secrets from the configuration."""
    parser = argparse.ArgumentParser(
        prog="oasis serve",
        description="receive tracking webhooks (EasyPost, AfterShip) and delivery feedback "
        "(SendGrid events, Twilio status and replies, one-click unsubscribes)",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    args = parser.parse_args(argv)

    from notify.config import load_settings, webhook_secrets

    secrets = webhook_secrets()
    settings = load_settings()
    app = create_app(
        database_url=settings.database_url,
        secrets=secrets,
        providers=provider_webhook_config(settings),
        production=settings.environment == "production",
    )
    missing = [feed.setting for feed in FEEDS if not secrets.get(feed.name)]
    if missing:
        log.warning("webhooks answer 503 until these are set: %s", ", ".join(missing))
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info")
    return uvicorn.Server(config)


def serve(argv: Sequence[str] | None = None) -> int:
    """Run the webhook receiver until interrupted; 0 on a clean stop."""
    server = build_server(argv)
    server.run()
    return 0 if server.started else 1
