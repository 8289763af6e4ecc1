"""What a run did, in numbers a person can read at the end of ``oasis demo`` / ``run``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from notify.config import Settings
from notify.runs import run_folder
from notify.store import schema


def resolve_run(engine: Engine, run_id: str | None, as_of: str | None) -> str:
    """A run id from an explicit id, an as-of time (its latest run), or the latest run."""
    t = schema.runs
    stmt = select(t.c.run_id).order_by(t.c.started_at.desc()).limit(1)
    if run_id:
        stmt = select(t.c.run_id).where(t.c.run_id == run_id)
    elif as_of:
        from notify.pipeline import parse_as_of

        stmt = stmt.where(t.c.as_of == parse_as_of(as_of, None))
    with engine.connect() as conn:
        found = conn.execute(stmt).scalar()
    if found is None:
        wanted = run_id or as_of or "any"
        raise SystemExit(f"no run found for {wanted}: list runs with `oasis notices` after a run")
    return str(found)


def run_summary(engine: Engine, run_id: str, settings: Settings) -> dict[str, Any]:
    d = schema.decisions
    with engine.connect() as conn:
        stages = json.loads(
            conn.execute(
                select(schema.runs.c.summary).where(schema.runs.c.run_id == run_id)
            ).scalar_one()
        )
        counted = conn.execute(
            select(d.c.decision, func.count()).where(d.c.run_id == run_id).group_by(d.c.decision)
        ).all()
        by_decision: dict[str, int] = {str(k): int(v) for k, v in counted}
        notified = conn.execute(
            select(func.count(func.distinct(d.c.customer_id))).where(
                d.c.run_id == run_id, d.c.decision == "sent"
            )
        ).scalar_one()
        shipments = conn.execute(select(func.count()).select_from(schema.shipments)).scalar_one()
    already = stages.get("send", {}).get("already_sent", 0)
    rows = [
        ("shipments in the store", shipments),
        ("parcels in a delay episode", stages.get("detect", {}).get("open_episodes", 0)),
        ("notices composed", stages.get("target", {}).get("notices", 0)),
        ("customers notified", notified),
        ("messages written", by_decision.get("sent", 0)),
        ("already sent before (ledger)", already),
        ("suppressed (order-level)", by_decision.get("suppressed", 0) - already),
        ("no channel", by_decision.get("no_channel", 0)),
        ("quarantined by the gate", by_decision.get("quarantined", 0)),
        ("blocked (batch halted)", by_decision.get("blocked", 0)),
        ("escalated to a person", by_decision.get("escalated", 0)),
        ("deferred (quiet hours, or not a sending run)", by_decision.get("deferred", 0)),
    ]
    folder = run_folder(settings.runs_dir, run_id)
    notes = [
        f"Messages: {settings.outbox_dir / folder.name}",
        f"Run report: {folder / 'report.html'} (data: report.json, decisions: notices.csv)",
    ]
    if by_decision.get("sent", 0) == 0 and already:
        notes.append(f"Nothing new was sent: {already} messages were already sent (ledger).")
    gate = stages.get("gate", {})
    if gate.get("report_path"):
        notes.append(f"Gate report: {gate['report_path']}")
    if gate.get("halted"):
        notes.append("The batch was HALTED, nothing was sent: " + "; ".join(gate["batch_failures"]))
    return {"rows": rows, "notes": notes, "decisions": by_decision}
