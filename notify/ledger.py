"""The send ledger: each send key reaches a provider at most once, whatever retries happen.

A key is claimed before the provider call (insert if absent, then a conditional update from
``pending`` to ``sending`` that only one worker can win — atomic on SQLite and PostgreSQL
alike), and settled after it: ``sent``, ``failed_permanent`` or ``unknown``. A key found in
``sending`` or ``unknown`` was possibly delivered already and is never resent blindly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from notify.store import schema
from notify.store.ops import insert_new


def send_key(customer_id: str, notice_id: str, channel: str, template_version: str) -> str:
    raw = f"{customer_id}|{notice_id}|{channel}|{template_version}"
    return hashlib.sha256(raw.encode()).hexdigest()


def recipient_hash(recipient: str) -> str:
    return hashlib.sha256(recipient.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    won: bool
    state: str  # the key's state after the attempt


def claim(
    engine: Engine,
    *,
    key: str,
    notice_id: str,
    channel: str,
    recipient: str,
    provider: str,
    run_id: str,
) -> Claim:
    t = schema.send_ledger
    now = datetime.now(UTC)
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
                }
            ],
            ["send_key"],
        )
        won = conn.execute(
            update(t)
            .where(t.c.send_key == key, t.c.state == "pending")
            .values(state="sending", claimed_by=run_id, attempts=t.c.attempts + 1, updated_at=now)
        ).rowcount
        state = conn.execute(select(t.c.state).where(t.c.send_key == key)).scalar_one()
    return Claim(won=bool(won), state=state)


def settle(
    engine: Engine,
    *,
    key: str,
    state: str,
    provider_message_id: str | None = None,
    error: str | None = None,
    message_path: str | None = None,
) -> None:
    if state not in ("sent", "failed_permanent", "unknown", "pending"):
        raise ValueError(f"not a settled ledger state: {state!r}")
    t = schema.send_ledger
    with engine.begin() as conn:
        conn.execute(
            update(t)
            .where(t.c.send_key == key, t.c.state == "sending")
            .values(
                state=state,
                provider_message_id=provider_message_id,
                last_error=error,
                message_path=message_path,
                updated_at=datetime.now(UTC),
            )
        )
