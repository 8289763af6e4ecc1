"""Provider webhooks of ``oasis serve``: SendGrid events, Twilio callbacks, one-click unsubscribe.

Endpoints:

* ``POST /webhooks/sendgrid``: the SendGrid Event Webhook. The ECDSA P-256 signature is
  checked with the SDK helper ``sendgrid.helpers.eventwebhook.EventWebhook`` over
  timestamp + raw body (headers ``X-Twilio-Email-Event-Webhook-Signature`` and
  ``-Timestamp``), and the timestamp must be within the freshness window (default 300 s,
  either way) because the helper does not check its age.
* ``POST /webhooks/twilio/status``: message status callbacks; ``POST
  /webhooks/twilio/inbound``: replies (STOP / START / HELP ...). Both are checked with the
  SDK's ``RequestValidator`` over the public URL Twilio called (``OASIS_PUBLIC_BASE_URL`` +
  path + query, since a proxy may change what the app sees) and the form parameters.
  Inbound HELP is answered with TwiML; STOP and START get an empty answer (Twilio's own
  opt-out handling replies to those).
* ``GET /unsubscribe/{token}`` shows a confirmation form (a link scanner's GET changes
  nothing); ``POST /unsubscribe/{token}`` is the RFC 8058 one-click unsubscribe.

Every body is stored raw first (``provider_webhooks``) with its verdict; a refused body gets
a 4xx and changes nothing else; an accepted one is applied by :mod:`notify.feedback`
(deduplicated, statuses forward only). An endpoint whose secret is not configured answers
503 naming the setting. Logs name the endpoint and counts, never addresses or bodies.
"""

from __future__ import annotations

import binascii
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from notify import feedback, unsubscribe

log = logging.getLogger(__name__)

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE = "X-Twilio-Signature"


@dataclass(frozen=True)
class ProviderWebhookConfig:
    sendgrid_public_key: str | None = None
    twilio_auth_token: str | None = None
    public_base_url: str | None = None
    max_age: timedelta = timedelta(seconds=300)
    unsubscribe_secret: str | None = None
    help_text: str = "Delivery updates. Reply STOP to opt out."
    twilio_retry_delay: timedelta = timedelta(minutes=30)


class Rejected(Exception):
    def __init__(self, reason: str, detail: str, status: int = 401) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.status = status


class Params(dict[str, str]):
    """Form parameters: the first value per name, and ``getlist`` for all of them."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self.all: dict[str, list[str]] = {}
        for name, value in pairs:
            self.all.setdefault(name, []).append(value)
            self.setdefault(name, value)

    def getlist(self, name: str) -> list[str]:
        return self.all.get(name, [])


def _form(body: bytes) -> Params:
    try:
        return Params(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise Rejected("malformed", "form body is not UTF-8", 400) from exc


def _reject_json(exc: Rejected) -> Response:
    return JSONResponse(
        {"accepted": False, "reason": exc.reason, "detail": exc.detail}, status_code=exc.status
    )


class SendGridVerifier:
    """ECDSA signature (SDK helper) plus a freshness window on the signed timestamp."""

    def __init__(self, public_key: str, max_age: timedelta) -> None:
        from sendgrid.helpers.eventwebhook import EventWebhook

        try:
            self.helper = EventWebhook(public_key)
        except ValueError as exc:
            raise ValueError(
                "OASIS_SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 EC public key "
                "(copy the verification key from SendGrid's Mail Settings)"
            ) from exc
        self.max_age = max_age

    def verify(self, body: bytes, headers: Any, now: datetime) -> None:
        signature = headers.get(SENDGRID_SIGNATURE)
        stamp = headers.get(SENDGRID_TIMESTAMP)
        if not signature or not stamp:
            raise Rejected("missing_signature", f"{SENDGRID_SIGNATURE} and -Timestamp needed")
        if not stamp.strip().isdigit():
            raise Rejected("bad_signature", "timestamp is not epoch seconds")
        age = now.timestamp() - int(stamp)
        if abs(age) > self.max_age.total_seconds():
            raise Rejected(
                "stale",
                f"signed {int(age)} s from now; window is {int(self.max_age.total_seconds())} s",
            )
        try:
            ok = self.helper.verify_signature(body.decode("utf-8"), signature, stamp)
        except (UnicodeDecodeError, binascii.Error, ValueError) as exc:
            raise Rejected("bad_signature", type(exc).__name__) from exc
        if not ok:
            raise Rejected("bad_signature", "ECDSA signature does not match")


@dataclass
class ProviderReceiver:
    engine: Engine
    config: ProviderWebhookConfig
    clock: Callable[[], datetime]
    max_body_bytes: int
    production: bool = False

    def __post_init__(self) -> None:
        key = self.config.sendgrid_public_key
        self.sendgrid = SendGridVerifier(key, self.config.max_age) if key else None

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/sendgrid", self.sendgrid_endpoint, methods=["POST"]),
            Route("/webhooks/twilio/status", self.twilio_status_endpoint, methods=["POST"]),
            Route("/webhooks/twilio/inbound", self.twilio_inbound_endpoint, methods=["POST"]),
            Route("/unsubscribe/{token}", self.unsubscribe_page, methods=["GET"]),
            Route("/unsubscribe/{token}", self.unsubscribe_endpoint, methods=["POST"]),
        ]

    async def _body(self, request: Request) -> bytes | None:
        from notify.web import _read_body

        return await _read_body(request, self.max_body_bytes)

    def _store(self, provider: str, endpoint: str, body: bytes, error: Rejected | None) -> int:
        return feedback.store_webhook(
            self.engine,
            provider=provider,
            endpoint=endpoint,
            body=body,
            status="rejected" if error else "accepted",
            reason=str(error) if error else None,
            now=self.clock(),
        )

    # -- SendGrid ---------------------------------------------------------------------
    async def sendgrid_endpoint(self, request: Request) -> Response:
        if self.sendgrid is None:
            return _unconfigured("sendgrid events", "OASIS_SENDGRID_WEBHOOK_PUBLIC_KEY")
        body = await self._body(request)
        if body is None:
            return _too_large(self.max_body_bytes)
        return await run_in_threadpool(self.sendgrid_handle, body, request.headers)

    def sendgrid_handle(self, body: bytes, headers: Any) -> Response:
        assert self.sendgrid is not None
        now = self.clock()
        try:
            self.sendgrid.verify(body, headers, now)
            events = json.loads(body)
            if not isinstance(events, list):
                raise Rejected("malformed", "body is not a JSON array of events", 400)
        except ValueError as exc:
            error = exc if isinstance(exc, Rejected) else Rejected("malformed", "not JSON", 400)
            return self._refuse("sendgrid", "events", body, error)
        except Rejected as exc:
            return self._refuse("sendgrid", "events", body, exc)
        problem = feedback.sendgrid_problem(events)
        if problem:
            return self._refuse("sendgrid", "events", body, Rejected("malformed", problem, 400))
        webhook_id = self._store("sendgrid", "events", body, None)
        applied = feedback.sendgrid_events(self.engine, body, webhook_id=webhook_id, now=now)
        log.info(
            "sendgrid events: %d received, %d new, %d duplicates",
            applied.events,
            applied.new,
            applied.duplicates,
        )
        return JSONResponse({"accepted": True, **applied.to_dict()})

    def _refuse(self, provider: str, endpoint: str, body: bytes, exc: Rejected) -> Response:
        webhook_id = self._store(provider, endpoint, body, exc)
        log.warning(
            "%s %s webhook refused (%s), kept as %d", provider, endpoint, exc.reason, webhook_id
        )
        return _reject_json(exc)

    # -- Twilio -----------------------------------------------------------------------
    def _twilio_url(self, request: Request) -> str:
        if not self.config.public_base_url:
            return str(request.url)
        query = f"?{request.url.query}" if request.url.query else ""
        return f"{self.config.public_base_url.rstrip('/')}{request.url.path}{query}"

    def _twilio_verify(self, url: str, body: bytes, signature: str | None) -> Params:
        from twilio.request_validator import RequestValidator

        if not signature:
            raise Rejected("missing_signature", f"{TWILIO_SIGNATURE} header missing")
        params = _form(body)
        assert self.config.twilio_auth_token is not None
        if not RequestValidator(self.config.twilio_auth_token).validate(url, params, signature):
            raise Rejected("bad_signature", "X-Twilio-Signature does not match")
        return params

    async def _twilio(self, request: Request, endpoint: str) -> Response:
        if not self.config.twilio_auth_token:
            return _unconfigured(f"twilio {endpoint}", "OASIS_TWILIO_AUTH_TOKEN")
        body = await self._body(request)
        if body is None:
            return _too_large(self.max_body_bytes)
        url = self._twilio_url(request)
        signature = request.headers.get(TWILIO_SIGNATURE)
        key = request.query_params.get("send_key")
        return await run_in_threadpool(self.twilio_handle, endpoint, url, body, signature, key)

    async def twilio_status_endpoint(self, request: Request) -> Response:
        return await self._twilio(request, "status")

    async def twilio_inbound_endpoint(self, request: Request) -> Response:
        return await self._twilio(request, "inbound")

    def twilio_handle(
        self, endpoint: str, url: str, body: bytes, signature: str | None, send_key: str | None
    ) -> Response:
        now = self.clock()
        try:
            params = self._twilio_verify(url, body, signature)
        except Rejected as exc:
            return self._refuse("twilio", endpoint, body, exc)
        webhook_id = self._store("twilio", endpoint, body, None)
        try:
            if endpoint == "status":
                applied = feedback.twilio_status(
                    self.engine,
                    params,
                    send_key=send_key,
                    webhook_id=webhook_id,
                    now=now,
                    retry_delay=self.config.twilio_retry_delay,
                )
                log.info("twilio status: %d new, %d duplicates", applied.new, applied.duplicates)
                return Response(status_code=204)
            word, applied = feedback.twilio_inbound(
                self.engine, params, webhook_id=webhook_id, now=now
            )
        except ValueError as exc:
            return _reject_json(Rejected("malformed", str(exc)[:200], 400))
        log.info("twilio inbound: keyword %s, %d new", word or "none", applied.new)
        return _twiml(self.config.help_text if word == "help" else None)

    # -- one-click unsubscribe ----------------------------------------------------------
    def _secret(self) -> str:
        return unsubscribe.secret_for(self.config.unsubscribe_secret, self.production)

    async def unsubscribe_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        if unsubscribe.verify(token, self._secret()) is None:
            return HTMLResponse("<p>This unsubscribe link is not valid.</p>", status_code=404)
        return HTMLResponse(
            '<form method="post"><p>Stop delivery updates on this channel?</p>'
            '<button name="List-Unsubscribe" value="One-Click">Unsubscribe</button></form>'
        )

    async def unsubscribe_endpoint(self, request: Request) -> Response:
        body = await self._body(request)
        if body is None:
            return _too_large(self.max_body_bytes)
        token = request.path_params["token"]
        return await run_in_threadpool(self.unsubscribe_handle, token, body)

    def unsubscribe_handle(self, token: str, body: bytes) -> Response:
        send_key = unsubscribe.verify(token, self._secret())
        if send_key is None:
            return self._refuse(
                "oasis",
                "unsubscribe",
                body,
                Rejected("bad_signature", "unsubscribe token not valid", 404),
            )
        webhook_id = self._store("oasis", "unsubscribe", token.encode() + b"\n" + body, None)
        try:
            feedback.one_click_unsubscribe(
                self.engine, send_key, webhook_id=webhook_id, now=self.clock()
            )
        except LookupError:
            return HTMLResponse("<p>This unsubscribe link is not valid.</p>", status_code=404)
        return HTMLResponse("<p>You will not get delivery updates on this channel any more.</p>")


def _twiml(message: str | None) -> Response:
    from twilio.twiml.messaging_response import MessagingResponse

    answer = MessagingResponse()
    if message:
        answer.message(message)
    return Response(str(answer), media_type="application/xml")


def _unconfigured(what: str, setting: str) -> Response:
    return JSONResponse(
        {"accepted": False, "error": f"{what} are not configured: set {setting}"}, status_code=503
    )


def _too_large(limit: int) -> Response:
    return JSONResponse(
        {"accepted": False, "error": f"body larger than {limit} bytes"}, status_code=413
    )
