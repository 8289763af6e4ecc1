"""Gate: Great Expectations decides, per row and per batch, what may be sent.

Rows that fail are quarantined with the failing expectations as reasons; a batch that
fails halts the send (every staged row is blocked, the run is marked halted) until ops
approve it. The gate report is written next to the run report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from notify import decisions
from notify.config import Settings
from notify.runs import Run, run_folder
from notify.sql import query
from notify.store import schema


@dataclass
class GateResult:
    rows: int = 0
    published: int = 0
    quarantined: int = 0
    blocked: int = 0
    halted: bool = False
    batch_failures: list[str] = field(default_factory=list)
    report_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _aware(value: Any) -> datetime:
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _owned_orders(conn: Connection, facts: dict[str, Any]) -> bool:
    ids = [o["order_id"] for o in facts["orders"]]
    o = schema.orders
    owners = conn.execute(select(o.c.customer_id).where(o.c.order_id.in_(ids))).scalars().all()
    return len(owners) == len(ids) and set(owners) == {facts["customer_id"]}


def _evidence(conn: Connection, plan: dict[str, Any], as_of: datetime) -> tuple[float, bool]:
    ep, ev = schema.delay_episodes, schema.tracking_events
    ids = sorted({p[2] for p in plan["core"]["parcels"]})
    episodes = conn.execute(select(ep).where(ep.c.episode_id.in_(ids))).all()
    still_open = len(episodes) == len(ids) and all(e.closed_at is None for e in episodes)
    newest = None
    for e in episodes:
        at = conn.execute(
            select(func.max(ev.c.occurred_at)).where(
                ev.c.carrier == e.carrier,
                ev.c.tracking_number == e.tracking_number,
                ev.c.occurred_at <= as_of,
            )
        ).scalar()
        if at is not None and (newest is None or _aware(at) > newest):
            newest = _aware(at)
    age = (as_of - newest).total_seconds() / 3600 if newest else float("inf")
    return age, still_open


def staged_frame(engine: Engine, run: Run, settings: Settings) -> pd.DataFrame:
    """One row per staged (notice, channel), with everything the gate checks."""
    ob, n = schema.outbox, schema.notices
    with engine.connect() as conn:
        staged = conn.execute(
            select(ob, n.c.facts, n.c.plan)
            .join(n, n.c.notice_id == ob.c.notice_id)
            .where(ob.c.run_id == run.run_id, ob.c.state == "staged")
        ).all()
        contacts = {
            r.notice_id: r for r in conn.execute(query("notice_evidence"), {"run_id": run.run_id})
        }
        rows = [_gate_row(conn, r, contacts[r.notice_id], run, settings) for r in staged]
    return pd.DataFrame(rows)


def _gate_row(
    conn: Connection, r: Any, contact: Any, run: Run, settings: Settings
) -> dict[str, Any]:
    facts, plan = json.loads(r.facts), json.loads(r.plan)
    eta = facts["eta"] or {}
    own = contact.email if r.channel == "email" else contact.phone
    consent = contact.email_opt_in if r.channel == "email" else contact.sms_opt_in
    age, still_open = _evidence(conn, plan, run.as_of)
    return {
        "row_id": f"{r.notice_id}:{r.channel}",
        "notice_id": r.notice_id,
        "customer_id": r.customer_id,
        "channel": r.channel,
        "recipient": r.recipient,
        "subject": r.subject,
        "body_text": r.body_text,
        "body_html": r.body_html,
        "sms_segments": r.sms_segments,
        "eta_earliest": eta.get("earliest"),
        "eta_latest": eta.get("latest"),
        "next_update_by": facts["next_update_by"],
        "cause": facts["cause"],
        "order_ids": ",".join(o["order_id"] for o in facts["orders"]),
        "item_titles": " | ".join(i["title"] for o in facts["orders"] for i in o["items"]),
        "promised_by": min(o["promised_by"] for o in facts["orders"]),
        "as_of_date": run.as_of.astimezone(UTC).date().isoformat(),
        "max_window_days": settings.max_eta_window_days,
        "recipient_is_customer": bool(own) and r.recipient == own and _owned_orders(conn, facts),
        "consent": bool(consent),
        "evidence_age_hours": age,
        "freshness_limit_hours": settings.freshness_hours,
        "episode_open": still_open,
    }


def _feed_ages(engine: Engine, as_of: datetime) -> dict[str, float]:
    ev = schema.tracking_events
    with engine.connect() as conn:
        rows = conn.execute(
            select(ev.c.carrier, func.max(ev.c.first_seen_at))
            .where(ev.c.first_seen_at <= as_of)
            .group_by(ev.c.carrier)
        ).all()
    return {c: (as_of - _aware(at)).total_seconds() / 3600 for c, at in rows}


def _history(engine: Engine, run: Run) -> list[int]:
    t = schema.runs
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.summary).where(t.c.run_id != run.run_id).order_by(t.c.as_of.desc()).limit(24)
        ).scalars()
        counts = [json.loads(s).get("gate", {}).get("rows") for s in rows]
    return [int(c) for c in counts if c is not None]


def gate(engine: Engine, *, run: Run, settings: Settings, open_shipments: int) -> GateResult:
    from notify.gate import check_batch, check_rows

    out = GateResult()
    frame = staged_frame(engine, run, settings)
    out.rows = len(frame)
    if frame.empty:
        return out
    rows_report = check_rows(frame)
    batch_report = check_batch(
        frame,
        open_shipments=open_shipments,
        history_same_hour=_history(engine, run),
        max_notices=int(run.params.get("max_notices") or settings.max_notices),
        feed_age_hours=_feed_ages(engine, run.as_of),
        freshness_limit_hours=settings.freshness_hours,
    )
    out.halted = batch_report.halted
    out.batch_failures = list(batch_report.batch_failures)
    folder = run_folder(settings.runs_dir, run.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    report = Path(folder / "gate_report.html")
    report.write_text(rows_report.to_html() + batch_report.to_html(), "utf-8")
    out.report_path = str(report)
    _apply(engine, run, frame, rows_report.row_failures, out)
    return out


def _apply(
    engine: Engine, run: Run, frame: pd.DataFrame, failures: dict[str, list[str]], out: GateResult
) -> None:
    ob, n = schema.outbox, schema.notices
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        facts_by_notice = {
            r.notice_id: json.loads(r.facts)
            for r in conn.execute(
                select(n.c.notice_id, n.c.facts).where(n.c.notice_id.in_(list(frame["notice_id"])))
            )
        }
        for r in frame.itertuples():
            failed = failures.get(r.row_id)
            if failed:
                state, reason = "quarantined", "; ".join(failed)
                out.quarantined += 1
            elif out.halted:
                state, reason = "blocked", "; ".join(out.batch_failures)
                out.blocked += 1
            else:
                out.published += 1
                state, reason = "published", ""
            conn.execute(
                update(ob)
                .where(
                    ob.c.run_id == run.run_id,
                    ob.c.notice_id == r.notice_id,
                    ob.c.channel == r.channel,
                )
                .values(state=state, reasons=json.dumps(failed or []))
            )
            if state != "published":
                facts = facts_by_notice[r.notice_id]
                rows.append(decisions.for_notice(run.run_id, facts, r.channel, state, reason))
        decisions.record(conn, rows)
