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
from sqlalchemy.engine import Engine

from notify import decisions
from notify.config import Settings
from notify.contacts import email_address, region_of, sms_number
from notify.runs import Run, run_folder
from notify.sql import query
from notify.store import schema
from notify.store.types import as_utc


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


def _hours_since(value: Any, as_of: datetime) -> float:
    return (as_of - as_utc(value)).total_seconds() / 3600 if value else float("inf")


def staged_frame(engine: Engine, run: Run, settings: Settings) -> pd.DataFrame:
    """One row per staged (notice, channel), with everything the gate checks."""
    ob, n, c = schema.outbox, schema.notices, schema.customers
    with engine.connect() as conn:
        staged = conn.execute(
            select(
                ob, n.c.facts, c.c.email, c.c.phone, c.c.locale, c.c.email_opt_in, c.c.sms_opt_in
            )
            .join(n, n.c.notice_id == ob.c.notice_id)
            .join(c, c.c.customer_id == ob.c.customer_id)
            .where(ob.c.run_id == run.run_id, ob.c.state == "staged")
        ).all()
        params = {"run_id": run.run_id, "as_of": run.as_of}
        evidence = {r.notice_id: r for r in conn.execute(query("notice_evidence"), params)}
    return pd.DataFrame([_gate_row(r, evidence[r.notice_id], run, settings) for r in staged])


def _gate_row(r: Any, evidence: Any, run: Run, settings: Settings) -> dict[str, Any]:
    facts = json.loads(r.facts)
    eta = facts["eta"] or {}
    # The recipient must be the customer's own current contact, normalised the same way.
    own = (
        email_address(r.email) if r.channel == "email" else sms_number(r.phone, region_of(r.locale))
    )
    consent = r.email_opt_in if r.channel == "email" else r.sms_opt_in
    heard = [v for v in (evidence.last_polled, evidence.last_event) if v]
    age = min(_hours_since(v, run.as_of) for v in heard) if heard else float("inf")
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
        "recipient_is_customer": bool(own) and r.recipient == own and bool(evidence.owned),
        "consent": bool(consent),
        "evidence_age_hours": age,
        "freshness_limit_hours": settings.freshness_hours,
        "episode_open": bool(evidence.episodes_open),
    }


def _feed_ages(engine: Engine, as_of: datetime) -> dict[str, float]:
    ev = schema.tracking_events
    with engine.connect() as conn:
        rows = conn.execute(
            select(ev.c.carrier, func.max(ev.c.first_seen_at))
            .where(ev.c.first_seen_at <= as_of)
            .group_by(ev.c.carrier)
        ).all()
    return {c: (as_of - as_utc(at)).total_seconds() / 3600 for c, at in rows}


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
        row_report=rows_report,
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
