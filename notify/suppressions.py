"""Suppressions: who must not get a channel any more, and why (opt-outs, bounces, ...).

One row per (channel, recipient hash, kind); the address itself is never stored here.
Kinds: ``opt_out`` (an SMS STOP; START lifts it), ``unsubscribe`` (one-click or SendGrid
unsubscribe; a SendGrid group resubscribe lifts it), ``bounce``, ``spam_report``,
``invalid_number``, ``unreachable``. Changes apply in the order the provider says they
happened: an older event never overrides a newer one, so out-of-order and replayed webhooks
leave the latest truth in place. The send stage checks :func:`active` right before each
provider call, so a STOP that arrives mid-batch is honoured.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from notify.ledger import recipient_hash
from notify.store import schema
from notify.store.ops import insert_new

KINDS = ("opt_out", "unsubscribe", "bounce", "spam_report", "invalid_number", "unreachable")


def record(
    conn: Connection,
    *,
    channel: str,
    recipient_hash: str,
    kind: str,
    active: bool,
    source: str,
    reason: str,
    changed_at: datetime,
) -> bool:
    """Set a suppression on or off as of ``changed_at``; False when a newer change stands."""
    if kind not in KINDS:
        raise ValueError(f"unknown suppression kind {kind!r}")
    t = schema.suppressions
    now = datetime.now(UTC)
    row = {
        "channel": channel,
        "recipient_hash": recipient_hash,
        "kind": kind,
        "active": active,
        "source": source,
        "reason": reason,
        "changed_at": changed_at,
        "recorded_at": now,
    }
    if insert_new(conn, t, [row], ["channel", "recipient_hash", "kind"]):
        return True
    changed = conn.execute(
        update(t)
        .where(
            t.c.channel == channel,
            t.c.recipient_hash == recipient_hash,
            t.c.kind == kind,
            t.c.changed_at <= changed_at,
        )
        .values(active=active, source=source, reason=reason, changed_at=changed_at, recorded_at=now)
    ).rowcount
    return bool(changed)


def active_for_hash(conn: Connection, channel: str, hashed: str) -> str | None:
    """Why this recipient must not get ``channel`` now, or None."""
    t = schema.suppressions
    row = conn.execute(
        select(t.c.kind, t.c.source, t.c.changed_at)
        .where(t.c.channel == channel, t.c.recipient_hash == hashed, t.c.active.is_(True))
        .order_by(t.c.changed_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return f"{row.kind} ({row.source}, {row.changed_at.isoformat()})"


def active(engine: Engine, channel: str, recipient: str) -> str | None:
    """Why ``recipient`` must not get ``channel`` now, or None (checked at send time)."""
    with engine.connect() as conn:
        return active_for_hash(conn, channel, recipient_hash(recipient))
