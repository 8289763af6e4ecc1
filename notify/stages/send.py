"""Send: published outbox rows go out through the ledger, at most once per send key.

Outside ``send`` mode nothing leaves: every published row is recorded as deferred with the
mode as its reason. A key the ledger already holds is not sent again; the decision says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from notify import decisions, ledger
from notify.channels.base import (
    Channel,
    OutboundMessage,
    PermanentSendError,
    ProviderUnavailable,
)
from notify.runs import Run
from notify.store import schema


@dataclass
class SendResult:
    sent: int = 0
    already_sent: int = 0
    deferred: int = 0
    failed: int = 0
    unknown: int = 0
    paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["paths"] = len(self.paths)
        return out


def _published(engine: Engine, run_id: str) -> list[Any]:
    ob, n = schema.outbox, schema.notices
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(ob, n.c.facts)
                .join(n, n.c.notice_id == ob.c.notice_id)
                .where(ob.c.run_id == run_id, ob.c.state == "published")
                .order_by(ob.c.notice_id, ob.c.channel)
            ).all()
        )


def send(engine: Engine, *, run: Run, channels: dict[str, Channel]) -> SendResult:
    out = SendResult()
    rows: list[dict[str, Any]] = []
    try:
        for r in _published(engine, run.run_id):
            facts = json.loads(r.facts)
            if not run.sends:
                out.deferred += 1
                reason = f"mode={run.mode}: nothing is sent"
                rows.append(decisions.for_notice(run.run_id, facts, r.channel, "deferred", reason))
                continue
            rows.append(_send_one(engine, run, r, facts, channels[r.channel], out))
    finally:
        with engine.begin() as conn:
            decisions.record(conn, rows)
    return out


def _send_one(
    engine: Engine, run: Run, r: Any, facts: dict[str, Any], channel: Channel, out: SendResult
) -> dict[str, Any]:
    key = ledger.send_key(r.customer_id, r.notice_id, r.channel, r.template_version)
    claim = ledger.claim(
        engine,
        key=key,
        notice_id=r.notice_id,
        channel=r.channel,
        recipient=r.recipient,
        provider=channel.provider,
        run_id=run.run_id,
    )
    if not claim.won:
        out.already_sent += 1
        reason = f"ledger: already {claim.state}; not sent again"
        return decisions.for_notice(run.run_id, facts, r.channel, "suppressed", reason)
    message = OutboundMessage(
        send_key=key,
        notice_id=r.notice_id,
        run_id=run.run_id,
        channel=r.channel,
        recipient=r.recipient,
        subject=r.subject,
        html=r.body_html,
        text=r.body_text,
    )
    try:
        outcome = channel.send(message)
    except PermanentSendError as exc:
        ledger.settle(engine, key=key, state="failed_permanent", error=str(exc))
        out.failed += 1
        return decisions.for_notice(run.run_id, facts, r.channel, "blocked", f"provider: {exc}")
    except ProviderUnavailable:
        ledger.settle(engine, key=key, state="pending", error="provider unavailable")
        raise
    ledger.settle(
        engine,
        key=key,
        state=outcome.state,
        provider_message_id=outcome.provider_message_id,
        error=outcome.detail,
        message_path=outcome.path,
    )
    if outcome.state != "sent":
        out.unknown += 1
        return decisions.for_notice(
            run.run_id, facts, r.channel, "deferred", f"provider outcome {outcome.state}"
        )
    out.sent += 1
    if outcome.path:
        out.paths.append(outcome.path)
    return decisions.for_notice(run.run_id, facts, r.channel, "sent", "sent", outcome.path)
