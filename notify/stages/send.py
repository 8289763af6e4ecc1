"""Send: published outbox rows go out through the ledger, at most once per send key.

Outside ``send`` mode nothing leaves: every published row is recorded as deferred with the
mode as its reason. In ``send`` mode each row passes, in this order:

1. the ledger: a key already ``sent`` / ``failed_permanent`` / ``unknown`` / ``sending`` is
   not sent again (a key this same run sent is reported as sent, so a cleared run tells
   the same story); a ``pending`` key with a retry time in the future waits;
2. freshness: a notice whose facts waited longer than the policy allows since its run
   began, or whose delay episode has closed since, expires instead of going out late;
3. suppressions, re-checked right before the call (a STOP mid-batch is honoured);
4. non-production safety: outside production only allow-listed recipients, or a provider
   in sandbox mode, can be reached (the file channel is local and always allowed);
5. the provider's health: a circuit breaker stops calling a provider after consecutive
   failures; the rest stays pending (backlog kept) and the run stops with a clear error;
6. claim, rate limit, call, settle (see :mod:`notify.ledger` and
   :mod:`notify.channels.base` for how each provider answer maps).

Rows can be split over shards (by send key hash, :func:`shard_of`) and filtered by
channel, so sends fan out over mapped tasks; every shard keeps the same guarantees because
the ledger, not the task, is the duplicate guard. Each row ends with exactly one send
decision per run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from notify import decisions, ledger, suppressions
from notify.channels.base import (
    Channel,
    NotAccepted,
    OutboundMessage,
    PermanentSendError,
    ProviderAuthError,
    ProviderUnavailable,
    RateLimited,
    SendOutcome,
)
from notify.config import DeliverySettings
from notify.runs import Run
from notify.store import schema

log = logging.getLogger(__name__)

SEND_DECISIONS = ("sent", "deferred", "suppressed", "blocked")
EXTERNAL_PROVIDERS = frozenset({"sendgrid", "twilio", "smtp"})
PAGE = 500
MAX_RATE_TRIES = 6


@dataclass(frozen=True)
class SendPolicy:
    """What a send run may do; :meth:`from_settings` builds it from the configuration."""

    production: bool = False
    allowed_recipients: tuple[str, ...] = ()
    sandboxed: frozenset[str] = frozenset()  # providers whose requests reach nobody
    max_wait: timedelta = timedelta(hours=2)
    lease: timedelta = timedelta(minutes=5)
    circuit_failures: int = 5
    rates: Mapping[str, float] = field(default_factory=dict)  # messages/s over all shards
    max_rate_wait: timedelta = timedelta(minutes=2)
    release_unconfirmed_after: timedelta | None = None

    @classmethod
    def from_settings(cls, delivery: DeliverySettings) -> SendPolicy:
        release = delivery.reconcile_release_hours
        return cls(
            production=delivery.production,
            allowed_recipients=delivery.allowed_recipients,
            sandboxed=frozenset({"sendgrid"}) if delivery.sendgrid.sandbox_mode else frozenset(),
            max_wait=timedelta(minutes=delivery.send_max_wait_minutes),
            lease=timedelta(seconds=delivery.send_lease_seconds),
            circuit_failures=delivery.circuit_failures,
            rates={
                "sendgrid": delivery.sendgrid.rate_per_second,
                "twilio": delivery.twilio.rate_per_second,
                "smtp": delivery.smtp.rate_per_second,
            },
            max_rate_wait=timedelta(seconds=delivery.sendgrid.max_rate_wait_seconds),
            release_unconfirmed_after=timedelta(hours=release) if release > 0 else None,
        )

    def refuses(self, provider: str, recipient: str) -> str | None:
        """Why this recipient may not be reached through ``provider`` here, or None."""
        if self.production or provider not in EXTERNAL_PROVIDERS or provider in self.sandboxed:
            return None
        wanted = recipient.strip().lower()
        for entry in self.allowed_recipients:
            allowed = entry.strip().lower()
            if wanted == allowed or (allowed.startswith("@") and wanted.endswith(allowed)):
                return None
        return f"non-production: {provider} may only reach OASIS_ALLOWED_RECIPIENTS" + (
            " or SendGrid sandbox mode" if provider == "sendgrid" else ""
        )


@dataclass
class SendResult:
    sent: int = 0
    already_sent: int = 0
    resumed: int = 0  # sent earlier by this same run (a cleared or retried task)
    deferred: int = 0
    failed: int = 0
    unknown: int = 0
    suppressed: int = 0
    expired: int = 0
    swept: int = 0  # keys of dead workers moved from sending to unknown
    released: int = 0  # unknown keys released for one more try (when configured)
    stopped: str | None = None  # why the run stopped early or left work pending
    alert: bool = False
    paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["paths"] = len(self.paths)
        return out


class RateLimiter:
    """At most ``per_second`` calls per second (0: unlimited), spaced evenly."""

    def __init__(self, per_second: float, sleep: Callable[[float], None]) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = 0.0
        self.sleep = sleep

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


class _Deferred(Exception):
    def __init__(self, reason: str, until: datetime | None) -> None:
        super().__init__(reason)
        self.until = until


def _published(
    engine: Engine, run_id: str, shard: int, shards: int, channel: str | None
) -> Iterator[list[Any]]:
    """Published rows of the run (this shard, this channel), a page at a time."""
    ob, n = schema.outbox, schema.notices
    last = 0
    while True:
        stmt = (
            select(ob, n.c.facts)
            .join(n, n.c.notice_id == ob.c.notice_id)
            .where(ob.c.run_id == run_id, ob.c.state == "published", ob.c.outbox_id > last)
            .order_by(ob.c.outbox_id)
            .limit(PAGE)
        )
        if channel:
            stmt = stmt.where(ob.c.channel == channel)
        with engine.connect() as conn:
            page = list(conn.execute(stmt).all())
        if not page:
            return
        last = page[-1].outbox_id
        mine = [r for r in page if shard_of(_key(r), shards) == shard]
        if mine:
            yield mine


def _key(r: Any) -> str:
    return ledger.send_key(r.customer_id, r.notice_id, r.channel, r.template_version)


def shard_of(send_key: str, shards: int) -> int:
    """The shard a send key belongs to: even spread, the same for every run."""
    return int(send_key[:8], 16) % shards


def _closed_since(engine: Engine, notice_ids: list[str], as_of: datetime) -> set[str]:
    """Notices one of whose delay episodes closed after the facts were taken."""
    np, ep = schema.notice_parcels, schema.delay_episodes
    with engine.connect() as conn:
        rows = conn.execute(
            select(np.c.notice_id)
            .join(ep, ep.c.episode_id == np.c.episode_id)
            .where(np.c.notice_id.in_(notice_ids), ep.c.closed_at > as_of)
        ).all()
    return {r.notice_id for r in rows}


def _run_started(engine: Engine, run_id: str) -> datetime:
    t = schema.runs
    with engine.connect() as conn:
        started: datetime = conn.execute(
            select(t.c.started_at).where(t.c.run_id == run_id)
        ).scalar_one()
    return started


class _Sender:
    def __init__(
        self,
        engine: Engine,
        run: Run,
        channels: Mapping[str, Channel],
        policy: SendPolicy,
        shards: int,
        sleep: Callable[[float], None],
    ) -> None:
        self.engine = engine
        self.run = run
        self.channels = channels
        self.policy = policy
        self.sleep = sleep
        self.shards = shards
        self.out = SendResult()
        self.worker = ledger.worker_token()
        self.started = _run_started(engine, run.run_id)
        self.failures: dict[str, int] = {}
        self.held: dict[str, str] = {}  # provider -> why it is not called again in this run
        self.limiters: dict[str, RateLimiter] = {}
        self.closed: set[str] = set()
        self.halted = False

    # -- one page -------------------------------------------------------------------
    def page(self, rows: list[Any]) -> list[dict[str, Any]]:
        keys = {r.outbox_id: _key(r) for r in rows}
        known = ledger.entries(self.engine, keys.values())
        self.closed = _closed_since(self.engine, [r.notice_id for r in rows], self.run.as_of)
        made = []
        for r in rows:
            if self.halted:
                break
            facts = json.loads(r.facts)
            made.append(self.row(r, facts, keys[r.outbox_id], known.get(keys[r.outbox_id])))
        return made

    def decide(
        self, r: Any, facts: dict[str, Any], decision: str, reason: str, path: str | None = None
    ) -> dict[str, Any]:
        return decisions.for_notice(self.run.run_id, facts, r.channel, decision, reason, path)

    def row(
        self, r: Any, facts: dict[str, Any], key: str, entry: ledger.Entry | None
    ) -> dict[str, Any]:
        if not self.run.sends:
            self.out.deferred += 1
            return self.decide(r, facts, "deferred", f"mode={self.run.mode}: nothing is sent")
        if entry is not None and (known := self.known(r, facts, entry)) is not None:
            return known
        channel = self.channels[r.channel]
        why = self.stale(r) or self.suppressed(r, channel.provider)
        if why:
            return self.decide(r, facts, "suppressed", why)
        if channel.provider in self.held:
            self.out.deferred += 1
            return self.decide(r, facts, "deferred", self.held[channel.provider])
        return self.attempt(r, facts, key, channel)

    def known(self, r: Any, facts: dict[str, Any], entry: ledger.Entry) -> dict[str, Any] | None:
        if entry.claimed_by == self.run.run_id and entry.state != "pending":
            return self.mine(r, facts, entry)
        if entry.state == "pending":
            now = datetime.now(UTC)
            if entry.not_before is not None and entry.not_before > now:
                self.out.deferred += 1
                when = entry.not_before.isoformat()
                return self.decide(r, facts, "deferred", f"ledger: retry not before {when}")
            return None
        self.out.already_sent += 1
        return self.decide(r, facts, "suppressed", f"ledger: already {entry.state}; not sent again")

    def mine(self, r: Any, facts: dict[str, Any], entry: ledger.Entry) -> dict[str, Any]:
        """A key this same run already settled: tell the same story again, send nothing."""
        self.out.resumed += 1
        if entry.state == "sent":
            return self.decide(r, facts, "sent", "sent", entry.message_path)
        if entry.state == "failed_permanent":
            return self.decide(r, facts, "blocked", f"provider refused: {entry.last_error}")
        return self.decide(
            r,
            facts,
            "deferred",
            f"provider outcome {entry.state}: "
            f"{entry.last_error}; awaiting reconciliation, not resent",
        )

    def stale(self, r: Any) -> str | None:
        waited = datetime.now(UTC) - self.started
        if waited > self.policy.max_wait:
            self.out.expired += 1
            minutes = int(waited.total_seconds() // 60)
            return (
                f"expired: the facts waited {minutes} min since the run began "
                f"(limit {int(self.policy.max_wait.total_seconds() // 60)} min)"
            )
        if r.notice_id in self.closed:
            self.out.expired += 1
            return "expired: a delay episode of this notice closed after the facts were taken"
        return None

    def suppressed(self, r: Any, provider: str) -> str | None:
        why = suppressions.active(self.engine, r.channel, r.recipient)
        if why:
            self.out.suppressed += 1
            return f"recipient suppressed for {r.channel}: {why}"
        refused = self.policy.refuses(provider, r.recipient)
        if refused:
            self.out.suppressed += 1
        return refused

    # -- the provider call ------------------------------------------------------------
    def attempt(self, r: Any, facts: dict[str, Any], key: str, channel: Channel) -> dict[str, Any]:
        provider = channel.provider
        claim = ledger.claim(
            self.engine,
            key=key,
            notice_id=r.notice_id,
            channel=r.channel,
            recipient=r.recipient,
            provider=provider,
            run_id=self.run.run_id,
            worker=self.worker,
        )
        if not claim.won:
            self.out.already_sent += 1
            held = "being sent by another worker" if claim.state == "locked" else claim.state
            return self.decide(r, facts, "suppressed", f"ledger: already {held}; not sent again")
        message = OutboundMessage(
            key,
            r.notice_id,
            self.run.run_id,
            r.channel,
            r.recipient,
            r.subject,
            r.body_html,
            r.body_text,
        )
        try:
            outcome = self.call(provider, channel, message)
        except PermanentSendError as exc:
            return self.failed(r, facts, key, provider, exc)
        except (NotAccepted, _Deferred) as exc:
            until = exc.until if isinstance(exc, _Deferred) else None
            ledger.release(
                self.engine, key=key, error=str(exc), worker=self.worker, not_before=until
            )
            if isinstance(exc, NotAccepted):
                self.health(provider, ok=False, detail=str(exc))
            self.out.deferred += 1
            return self.decide(r, facts, "deferred", f"not accepted, left pending: {exc}")
        except ProviderUnavailable as exc:
            ledger.release(self.engine, key=key, error=str(exc), worker=self.worker)
            self.stop(exc)
            self.out.deferred += 1
            return self.decide(r, facts, "deferred", f"provider unavailable: {exc}")
        except Exception as exc:  # a fault we did not foresee: it may have landed
            detail = f"unexpected {type(exc).__name__} during the {provider} call"
            ledger.settle(self.engine, key=key, state="unknown", error=detail, worker=self.worker)
            log.error("send run %s: %s", self.run.run_id, detail)
            self.stop(ProviderUnavailable(detail))
            self.out.unknown += 1
            return self.decide(r, facts, "deferred", f"provider outcome unknown: {detail}")
        return self.settled(r, facts, key, provider, outcome)

    def call(self, provider: str, channel: Channel, message: OutboundMessage) -> SendOutcome:
        limiter = self.limiters.get(provider)
        if limiter is None:
            rate = self.policy.rates.get(provider, 0.0) / self.shards
            limiter = self.limiters[provider] = RateLimiter(rate, self.sleep)
        for attempt in range(1, MAX_RATE_TRIES + 1):
            limiter.wait()
            try:
                return channel.send(message)
            except RateLimited as exc:
                now = datetime.now(UTC)
                resume = exc.retry_at or now + timedelta(seconds=min(2 ** (attempt - 1), 60))
                wait = (resume - now).total_seconds()
                if wait > self.policy.max_rate_wait.total_seconds() or attempt == MAX_RATE_TRIES:
                    reason = f"{provider} rate limited until {resume.isoformat()}"
                    self.held[provider] = f"{reason}; left pending"
                    raise _Deferred(reason, resume) from exc
                log.warning("%s rate limited: waiting %.1f s (attempt %d)", provider, wait, attempt)
                self.sleep(max(0.0, wait) + 0.05)
        raise AssertionError("unreachable")  # pragma: no cover

    def failed(
        self, r: Any, facts: dict[str, Any], key: str, provider: str, exc: PermanentSendError
    ) -> dict[str, Any]:
        ledger.settle(
            self.engine, key=key, state="failed_permanent", error=str(exc), worker=self.worker
        )
        if exc.suppress:
            with self.engine.begin() as conn:
                suppressions.record(
                    conn,
                    channel=r.channel,
                    recipient_hash=ledger.recipient_hash(r.recipient),
                    kind=exc.suppress,
                    active=True,
                    source=f"{provider}_api",
                    reason=str(exc),
                    changed_at=datetime.now(UTC),
                )
        self.health(provider, ok=True)
        self.out.failed += 1
        return self.decide(r, facts, "blocked", f"provider refused: {exc}")

    def settled(
        self, r: Any, facts: dict[str, Any], key: str, provider: str, outcome: SendOutcome
    ) -> dict[str, Any]:
        ledger.settle(
            self.engine,
            key=key,
            state=outcome.state,
            provider_message_id=outcome.provider_message_id,
            error=outcome.detail,
            message_path=outcome.path,
            worker=self.worker,
        )
        if outcome.state != "sent":
            self.health(provider, ok=False, detail=outcome.detail or outcome.state)
            self.out.unknown += 1
            return self.decide(
                r,
                facts,
                "deferred",
                f"provider outcome {outcome.state}: "
                f"{outcome.detail}; awaiting reconciliation, not resent",
            )
        self.health(provider, ok=True)
        self.out.sent += 1
        if outcome.path:
            self.out.paths.append(outcome.path)
        return self.decide(r, facts, "sent", "sent", outcome.path)

    def health(self, provider: str, *, ok: bool, detail: str | None = None) -> None:
        """The circuit breaker: consecutive failures open it for the rest of this run."""
        if ok:
            self.failures[provider] = 0
            return
        self.failures[provider] = self.failures.get(provider, 0) + 1
        if self.failures[provider] >= self.policy.circuit_failures:
            self.held[provider] = (
                f"{provider} circuit open after {self.failures[provider]} "
                f"consecutive failures (last: {detail}); left pending"
            )
            self.out.alert = True

    def stop(self, exc: ProviderUnavailable) -> None:
        kind = "ALERT credentials refused" if isinstance(exc, ProviderAuthError) else "stopped"
        self.out.stopped = f"{kind}: {exc}"
        self.out.alert = True
        self.halted = True
        log.error("send run %s %s", self.run.run_id, self.out.stopped)


def _record(engine: Engine, run_id: str, rows: list[dict[str, Any]]) -> None:
    """Replace this run's earlier send decisions for these rows, then record the new ones."""
    d = schema.decisions
    by_channel: dict[str, list[str]] = {}
    for row in rows:
        by_channel.setdefault(row["channel"], []).append(row["notice_id"])
    with engine.begin() as conn:
        for channel, notice_ids in by_channel.items():
            conn.execute(
                delete(d).where(
                    d.c.run_id == run_id,
                    d.c.channel == channel,
                    d.c.notice_id.in_(notice_ids),
                    d.c.decision.in_(SEND_DECISIONS),
                )
            )
        decisions.record(conn, rows)


def send(
    engine: Engine,
    *,
    run: Run,
    channels: Mapping[str, Channel],
    policy: SendPolicy | None = None,
    shard: int = 0,
    shards: int = 1,
    channel: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Send this shard's published rows of ``run``; see the module docstring for the rules."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    policy = policy or SendPolicy()
    sender = _Sender(engine, run, channels, policy, shards, sleep)
    if run.sends:
        sender.out.swept = ledger.sweep(engine, lease=policy.lease)
        if policy.release_unconfirmed_after is not None:
            sender.out.released = ledger.release_unconfirmed(
                engine, older_than=policy.release_unconfirmed_after
            )
    try:
        for rows in _published(engine, run.run_id, shard, shards, channel):
            _record(engine, run.run_id, sender.page(rows))
            if sender.halted:
                break
    finally:
        for used in {id(c): c for c in channels.values()}.values():
            close = getattr(used, "close", None)
            if callable(close):
                close()
    out = sender.out
    if sender.held and not out.stopped:
        out.stopped = "; ".join(sorted(set(sender.held.values())))
    return out


def add_send_summary(engine: Engine, run_id: str, label: str, result: dict[str, Any]) -> None:
    """Store one send task's numbers under ``label`` and keep ``send`` as the total.

    Shards of a run finish concurrently: the run row is locked first (``FOR UPDATE`` on
    PostgreSQL; a write on SQLite takes its one write lock) so no shard's numbers are lost.
    """
    t = schema.runs
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(update(t).where(t.c.run_id == run_id).values(summary=t.c.summary))
        current = conn.execute(
            select(t.c.summary).where(t.c.run_id == run_id).with_for_update()
        ).scalar_one()
        summary = json.loads(current)
        parts = summary.setdefault("send_tasks", {})
        parts[label] = result
        total: dict[str, Any] = {}
        for part in parts.values():
            for name, value in part.items():
                if isinstance(value, bool) or not isinstance(value, int):
                    continue
                total[name] = total.get(name, 0) + value
        total["stopped"] = [p["stopped"] for p in parts.values() if p.get("stopped")] or None
        summary["send"] = total
        conn.execute(update(t).where(t.c.run_id == run_id).values(summary=json.dumps(summary)))
