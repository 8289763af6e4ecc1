"""Runs with published outbox rows, as the gate leaves them, for send-stage tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from notify import ledger
from notify.runs import Run, begin_run
from notify.store import schema
from notify.store.ops import insert_new, upsert


@dataclass(frozen=True)
class Seeded:
    notice_id: str
    customer_id: str
    channel: str
    recipient: str
    key: str


def email_of(i: int) -> str:
    return f"customer{i:05d}@example.com"


def phone_of(i: int) -> str:
    return f"+1312555{i:04d}"


def seed_run(
    engine: Engine,
    run_id: str,
    count: int,
    *,
    channels: tuple[str, ...] = ("email",),
    start: int = 0,
    mode: str = "send",
    as_of: datetime | None = None,
    template_version: str = "tv1",
) -> tuple[Run, list[Seeded]]:
    """A run with ``count`` notices (customers ``start..``), published in ``channels``."""
    run = begin_run(engine, run_id=run_id, as_of=as_of or datetime.now(UTC), mode=mode,
                    params={})  # fmt: skip
    now = datetime.now(UTC)
    notices, outbox, seeded = [], [], []
    for i in range(start, start + count):
        notice_id, customer_id = f"n_{i:05d}", f"C{i:05d}"
        facts = {"notice_id": notice_id, "customer_id": customer_id,
                 "orders": [{"order_id": f"O{i:05d}"}], "shipment_ids": [f"S{i:05d}"],
                 "eta": {"earliest": "2026-11-25", "latest": "2026-11-26", "confidence": 0.8},
                 "cause": "weather"}  # fmt: skip
        notices.append({"notice_id": notice_id, "customer_id": customer_id,
                        "first_run_id": run_id, "plan": "{}", "facts": json.dumps(facts),
                        "created_at": now})  # fmt: skip
        for channel in channels:
            recipient = email_of(i) if channel == "email" else phone_of(i)
            outbox.append({
                "run_id": run_id, "notice_id": notice_id, "customer_id": customer_id,
                "channel": channel, "recipient": recipient,
                "subject": f"Order O{i:05d} is late" if channel == "email" else None,
                "body_html": f"<p>Order O{i:05d} arrives 25-26 Nov.</p>" if channel == "email"
                else None,
                "body_text": f"Order O{i:05d} arrives 25-26 Nov.", "sms_segments": 1,
                "template_version": template_version, "state": "published", "reasons": "[]",
            })  # fmt: skip
            key = ledger.send_key(customer_id, notice_id, channel, template_version)
            seeded.append(Seeded(notice_id, customer_id, channel, recipient, key))
    with engine.begin() as conn:
        insert_new(conn, schema.notices, notices, ["notice_id"])
        upsert(conn, schema.outbox, outbox, ["run_id", "notice_id", "channel"])
    return run, seeded


def ledger_states(engine: Engine) -> dict[str, str]:
    from sqlalchemy import select

    t = schema.send_ledger
    with engine.connect() as conn:
        return dict(conn.execute(select(t.c.send_key, t.c.state)).all())  # type: ignore[arg-type]


def send_decisions(engine: Engine, run_id: str) -> list[tuple[str, str, str, str]]:
    """(notice_id, channel, decision, reason) of a run's send decisions."""
    from sqlalchemy import select

    d = schema.decisions
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.c.notice_id, d.c.channel, d.c.decision, d.c.reason)
            .where(d.c.run_id == run_id)
            .order_by(d.c.notice_id, d.c.channel)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]
