"""The send ledger: each send key reaches a provider at most once, whatever retries happen.

A key is claimed right before the provider call: inserted if absent, then moved from
``pending`` to ``sending`` by the one worker that wins. On PostgreSQL the row is first
locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (a concurrent claimer skips it instead of
waiting); on SQLite, which has one writer at a time, the conditional update
``WHERE state = 'pending'`` is the same guarantee. The provider call happens outside any
transaction; its answer settles the key:

``pending -> sending -> sent | failed_permanent | unknown``

and, when the provider certainly did not take the message (connection refused, rate
limited, credentials refused), ``sending -> pending`` again (optionally not before a time).
A key in ``sending`` or ``unknown`` was possibly delivered and is never resent blindly:
``sending`` keys of a worker that died become ``unknown`` (:func:`sweep`), and ``unknown``
keys wait for provider events (``notify.feedback``) or, only when configured, for
:func:`release_unconfirmed`.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.engine import Connection, Engine

from notify.store import schema
from notify.store.ops import insert_new

STATES = ("pending", "sending", "sent", "failed_permanent", "unknown")
SETTLED = ("sent", "failed_permanent", "unknown")


def send_key(customer_id: str, notice_id: str, channel: str, template_version: str) -> str:
    """hash(customer, notice facts version, channel, template version).

    The notice id is itself a hash of the facts the customer is told (ADR 0002), so a key
    changes exactly when the news, the channel or the words change.
    """
    raw = f"{customer_id}|{notice_id}|{channel}|{template_version}"
    return hashlib.sha256(raw.encode()).hexdigest()


def recipient_hash(recipient: str) -> str:
    return hashlib.sha256(recipient.strip().lower().encode()).hexdigest()


@lru_cache(maxsize=1)
def worker_token() -> str:
    """``host:pid:start``: names this process, and lets a later one see that it died."""
    import psutil

    pid = os.getpid()
    started = psutil.Process(pid).create_time()
    return f"{socket.gethostname()}:{pid}:{started:.3f}"


def worker_alive(token: str | None) -> bool | None:
    """True/False for a worker on this host; None when it ran elsewhere (cannot tell)."""
    import psutil

    if not token or token.count(":") < 2:
        return None
    host, pid, started = token.rsplit(":", 2)
    if host != socket.gethostname():
        return None
    try:
        return f"{psutil.Process(int(pid)).create_time():.3f}" == started
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


@dataclass(frozen=True)
class Claim:
    won: bool
    state: str  # the key's state after the attempt ("locked": another worker holds it now)


@dataclass(frozen=True)
class Entry:
    send_key: str
    state: str
    claimed_by: str | None
    first_run_id: str
    not_before: datetime | None
    message_path: str | None
    provider_message_id: str | None
    last_error: str | None


def _lock_skip_locked(conn: Connection, key: str) -> bool:
    """PostgreSQL: lock the row unless another transaction holds it (then False)."""
    t = schema.send_ledger
    row = conn.execute(
        select(t.c.send_key).where(t.c.send_key == key).with_for_update(skip_locked=True)
    ).first()
    return row is not None


def claim(
    engine: Engine,
    *,
    key: str,
    notice_id: str,
    channel: str,
    recipient: str,
    provider: str,
    run_id: str,
    worker: str | None = None,
    now: datetime | None = None,
) -> Claim:
    t = schema.send_ledger
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        insert_new(
            conn,
            t,
            [
                {
                    "send_key": key,
                    "notice_id": notice_id,
                    "channel": channel,
                    "recipient_hash": recipient_hash(recipient),
                    "state": "pending",
                    "attempts": 0,
                    "provider": provider,
                    "first_run_id": run_id,
                    "created_at": now,
                    "updated_at": now,
                    "retries": 0,
                }
            ],
            ["send_key"],
        )
        if conn.dialect.name == "postgresql" and not _lock_skip_locked(conn, key):
            return Claim(won=False, state="locked")
        won = conn.execute(
            update(t)
            .where(
                t.c.send_key == key,
                t.c.state == "pending",
                or_(t.c.not_before.is_(None), t.c.not_before <= now),
            )
            .values(
                state="sending",
                claimed_by=run_id,
                worker=worker,
                provider=provider,
                attempts=t.c.attempts + 1,
                updated_at=now,
            )
        ).rowcount
        state = conn.execute(select(t.c.state).where(t.c.send_key == key)).scalar_one()
    return Claim(won=bool(won), state=state)


def _held(key: str, worker: str | None) -> Any:
    """The row is still ours: ``sending`` (or swept to ``unknown``) under our worker token."""
    t = schema.send_ledger
    if worker is None:
        return and_(t.c.send_key == key, t.c.state == "sending")
    return and_(t.c.send_key == key, t.c.state.in_(("sending", "unknown")), t.c.worker == worker)


def settle(
    engine: Engine,
    *,
    key: str,
    state: str,
    provider_message_id: str | None = None,
    error: str | None = None,
    message_path: str | None = None,
    worker: str | None = None,
) -> None:
    if state not in ("sent", "failed_permanent", "unknown", "pending"):
        raise ValueError(f"not a settled ledger state: {state!r}")
    t = schema.send_ledger
    with engine.begin() as conn:
        conn.execute(
            update(t)
            .where(_held(key, worker))
            .values(
                state=state,
                provider_message_id=provider_message_id,
                last_error=error,
                message_path=message_path,
                updated_at=datetime.now(UTC),
            )
        )


def release(
    engine: Engine,
    *,
    key: str,
    error: str,
    worker: str | None = None,
    not_before: datetime | None = None,
) -> None:
    """Back to ``pending``: the provider certainly did not take the message."""
    t = schema.send_ledger
    with engine.begin() as conn:
        conn.execute(
            update(t)
            .where(_held(key, worker))
            .values(
                state="pending",
                last_error=error,
                not_before=not_before,
                updated_at=datetime.now(UTC),
            )
        )


def entries(engine: Engine, keys: Iterable[str]) -> dict[str, Entry]:
    """The ledger rows for ``keys`` (absent keys are not in the result)."""
    t = schema.send_ledger
    wanted = list(keys)
    out: dict[str, Entry] = {}
    with engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            rows = conn.execute(
                select(
                    t.c.send_key,
                    t.c.state,
                    t.c.claimed_by,
                    t.c.first_run_id,
                    t.c.not_before,
                    t.c.message_path,
                    t.c.provider_message_id,
                    t.c.last_error,
                ).where(t.c.send_key.in_(wanted[i : i + 500]))
            ).all()
            for r in rows:
                out[r.send_key] = Entry(*r)
    return out


def sweep(engine: Engine, *, lease: timedelta, now: datetime | None = None) -> int:
    """``sending`` keys whose worker died (or whose lease ran out) become ``unknown``.

    Such a worker may have reached the provider before it died, so the key is not resent;
    provider events settle it. Returns how many keys were swept.
    """
    t = schema.send_ledger
    now = now or datetime.now(UTC)
    swept = 0
    with engine.begin() as conn:
        rows = conn.execute(
            select(t.c.send_key, t.c.worker, t.c.updated_at).where(t.c.state == "sending")
        ).all()
        for key, worker, updated_at in rows:
            alive = worker_alive(worker)
            expired = updated_at is not None and updated_at < now - lease
            if alive is False or (alive is None and expired):
                why = "worker died" if alive is False else f"lease of {lease} ran out"
                swept += conn.execute(
                    update(t)
                    .where(
                        t.c.send_key == key,
                        t.c.state == "sending",
                        t.c.worker.is_(None) if worker is None else t.c.worker == worker,
                    )
                    .values(
                        state="unknown",
                        updated_at=now,
                        last_error=f"{why} during the provider call; awaiting provider events",
                    )
                ).rowcount
    return swept


def release_unconfirmed(
    engine: Engine, *, older_than: timedelta, now: datetime | None = None
) -> int:
    """Release ``unknown`` keys the provider has demonstrably never heard of.

    A key qualifies when it has been ``unknown`` for longer than ``older_than``, no
    provider event names it, and the same provider has sent events for a key settled
    after it (its event stream is live, so silence about this key means the request never
    landed). Only then does it go back to ``pending`` for one more try.
    """
    t, ev = schema.send_ledger, schema.provider_events
    now = now or datetime.now(UTC)
    later = t.alias("later")
    heard = exists().where(ev.c.send_key == t.c.send_key)
    live = exists().where(
        ev.c.send_key == later.c.send_key,
        later.c.provider == t.c.provider,
        later.c.updated_at > t.c.updated_at,
    )
    with engine.begin() as conn:
        released = conn.execute(
            update(t)
            .where(t.c.state == "unknown", t.c.updated_at < now - older_than, ~heard, live)
            .values(
                state="pending",
                updated_at=now,
                not_before=None,
                last_error="released: no provider event for this key while later sends had events",
            )
        ).rowcount
    return int(released or 0)
