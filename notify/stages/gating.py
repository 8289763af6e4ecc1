"""Gate: Great Expectations decides, per row and per batch, what may be sent.

Rows that fail are quarantined with the failing expectations as reasons; a batch that
fails halts the send (every row that passed is blocked with the batch's reasons, and the
record stage marks the run halted) until ops approve it. Every run writes the gate report,
``gate_report.html`` (for people) and ``gate_report.json``, next to the run report in
``<runs_dir>/<run>/``, also when there was nothing to check.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine

from notify import decisions
from notify.config import Settings
from notify.contacts import email_address, region_of, sms_number
from notify.gate import ROW_COLUMNS, GateReport, check_batch, check_rows, merge_reports
from notify.runs import Run, run_folder
from notify.sql import query
from notify.store import schema
from notify.store.types import as_utc


@dataclass
class GateResult:
    rows: int = 0
    notices: int = 0
    published: int = 0
    quarantined: int = 0
    refused_at_render: int = 0
    blocked: int = 0
    already_sent: int = 0  # published copies of messages an earlier run sent (not resent)
    halted: bool = False
    batch_failures: list[str] = field(default_factory=list)
    failures_by_rule: dict[str, int] = field(default_factory=dict)
    report_path: str | None = None
    report_json_path: str | None = None

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
        # What an earlier run sent: staged again while the notice is current, it is not sent
        # twice (the ledger), so it is no second message to the customer.
        ids = [r.notice_id for r in staged]
        sent = decisions.sent_channels(conn, "notice_id", ids, except_run=run.run_id)
    rows = [_gate_row(r, evidence[r.notice_id], run, settings) for r in staged]
    for row in rows:
        row["already_sent"] = row["channel"] in sent.get(row["notice_id"], ())
    return pd.DataFrame(rows)


def _local_day(at: datetime, zone: Any) -> str:
    """The run's day where the customer is: a window the message states from "today" starts
    on that day, which in the Americas' evening is already tomorrow in UTC."""
    try:
        tz = ZoneInfo(str(zone)) if zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC  # render refuses an unknown zone before; UTC keeps this row checkable
    return at.astimezone(tz).date().isoformat()


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
        "item_titles": " | ".join(
            i["title"] for o in facts["orders"] if "problem" not in o for i in o["items"]
        ),
        "promised_by": min(o["promised_by"] for o in facts["orders"]),
        "as_of_date": _local_day(run.as_of, facts.get("timezone")),
        "max_window_days": settings.max_eta_window_days,
        "recipient_is_customer": bool(own) and r.recipient == own and bool(evidence.owned),
        "consent": bool(consent),
        "evidence_age_hours": age,
        "freshness_limit_hours": settings.freshness_hours,
        "episode_open": bool(evidence.episodes_open),
        "episodes_closed": not evidence.any_episode_open,
        "kind": facts.get("kind"),  # missing: content_complete fails, nothing crashes
        "locale": facts["locale"],
        "timezone": facts["timezone"],
        "next_steps": "|".join(facts["next_steps"]),
        "cause_evidence": json.dumps(facts["cause_evidence"]) if facts["cause_evidence"] else None,
        "customer_name": facts["customer"]["first_name"],
        "causes": cause_groups(facts),
        "item_count": item_count(facts),
        "dates": date_windows(facts),
    }


def date_windows(facts: dict[str, Any]) -> str | None:
    """The gate's ``dates`` column: each order's window when they differ ([first, last], or
    null for an order without a date; JSON), else None."""
    groups = facts.get("dates") or []
    if not groups:
        return None
    return json.dumps([[g["eta"]["earliest"], g["eta"]["latest"]] if g["eta"] else None
                       for g in groups])  # fmt: skip


def item_count(facts: dict[str, Any]) -> int:
    """How many delayed items (an SMS with no room for their titles states this number)."""
    return sum(i["quantity"] for o in facts["orders"] if "problem" not in o for i in o["items"])


def cause_groups(facts: dict[str, Any]) -> str | None:
    """The gate's ``causes`` column: each order's cause and evidence when they differ (JSON),
    else None (facts composed before ADR 0014 have none)."""
    groups = facts.get("causes") or []
    if not groups:
        return None
    return json.dumps([{"cause": g["cause"], "evidence": g["evidence"]} for g in groups])


def _feed_ages(engine: Engine, as_of: datetime) -> dict[str, float]:
    ev = schema.tracking_events
    with engine.connect() as conn:
        rows = conn.execute(
            select(ev.c.carrier, func.max(ev.c.first_seen_at))
            .where(ev.c.first_seen_at <= as_of)
            .group_by(ev.c.carrier)
        ).all()
    return {c: (as_of - as_utc(at)).total_seconds() / 3600 for c, at in rows}


def same_hour_history(engine: Engine, run: Run, settings: Settings) -> list[int]:
    """Notices gated by earlier runs at the same UTC hour of day, over the trailing days.

    Halted runs are left out (their volume is what the breaker exists to question), and so
    are runs without a gate summary. Compared in the same hour because delay volume follows
    the carriers' daily scan rhythm.
    """
    t = schema.runs
    since = run.as_of - timedelta(days=settings.volume_history_days)
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.as_of, t.c.summary).where(
                t.c.run_id != run.run_id,
                t.c.status != "halted",
                t.c.as_of < run.as_of,
                t.c.as_of >= since,
            )
        ).all()
    counts = []
    for row in rows:
        if as_utc(row.as_of).hour != run.as_of.astimezone(UTC).hour:
            continue
        notices = json.loads(row.summary).get("gate", {}).get("notices")
        if isinstance(notices, int):
            counts.append(notices)
    return counts


def _refused_at_render(engine: Engine, run_id: str) -> dict[str, int]:
    """Rows the renderer could not make (quarantined before the gate), by reason."""
    ob = schema.outbox
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(ob.c.reasons).where(ob.c.run_id == run_id, ob.c.state == "quarantined")
        ).scalars()
        for reasons in rows:
            for reason in json.loads(reasons):
                if reason.startswith("render_error"):
                    counts[reason[:160]] = counts.get(reason[:160], 0) + 1
    return counts


def gate(engine: Engine, *, run: Run, settings: Settings, open_shipments: int) -> GateResult:
    out = GateResult()
    frame = staged_frame(engine, run, settings)
    refused = _refused_at_render(engine, run.run_id)
    out.rows = len(frame)
    out.notices = int(frame["notice_id"].nunique()) if len(frame) else 0
    out.refused_at_render = sum(refused.values())
    if frame.empty:
        frame = pd.DataFrame(columns=list(ROW_COLUMNS))
    sent = _sent_rows(frame)
    out.already_sent = len(sent)
    rows_report = _unjudged(check_rows(frame), sent)
    batch_report = check_batch(
        frame,
        open_shipments=open_shipments,
        history_same_hour=same_hour_history(engine, run, settings),
        max_notices=int(run.params.get("max_notices") or settings.max_notices),
        max_quarantine_share=settings.max_quarantine_share,
        feed_age_hours=_feed_ages(engine, run.as_of),
        freshness_limit_hours=settings.freshness_hours,
        max_open_share=settings.max_open_share,
        history_factor=settings.volume_history_factor,
        history_slack=settings.volume_history_slack,
        max_customers_per_recipient=settings.max_customers_per_recipient,
        refused_before_gate=out.refused_at_render,
        row_report=rows_report,
    )
    report = merge_reports(rows_report, batch_report)
    report.summary.update(run_id=run.run_id, as_of=run.as_of.isoformat(), refused_at_render=refused)
    out.halted = report.halted
    out.batch_failures = list(report.batch_failures)
    out.failures_by_rule = report.failures_by_rule()
    out.report_path, out.report_json_path = write_report(settings, run.run_id, report)
    if len(frame):
        _apply(engine, run, frame, report.row_failures, out, sent)
    return out


def _sent_rows(frame: pd.DataFrame) -> set[str]:
    """Rows an earlier run sent (``already_sent``): staged again while their notice is
    current, they are not sent again (the ledger), so the gate neither judges nor blocks
    them. A window stated on the day it was planned has "started in the past" a day later;
    quarantining the copy of a message the customer already has would only tell the support
    agent a false story."""
    if "already_sent" not in frame or frame.empty:
        return set()
    return set(frame.loc[frame["already_sent"].fillna(False).astype(bool), "row_id"])


def _unjudged(report: GateReport, sent: set[str]) -> GateReport:
    failures = {k: v for k, v in report.row_failures.items() if k not in sent}
    return dataclasses.replace(report, row_failures=failures, passed=not failures)


def write_report(settings: Settings, run_id: str, report: GateReport) -> tuple[str, str]:
    """``gate_report.html`` and ``gate_report.json`` in the run's folder; their paths."""
    folder = run_folder(settings.runs_dir, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    page, data = folder / "gate_report.html", folder / "gate_report.json"
    page.write_text(report.to_html(), "utf-8")
    data.write_text(json.dumps(report.to_dict(), indent=2, default=str), "utf-8")
    return str(page), str(data)


def _apply(
    engine: Engine,
    run: Run,
    frame: pd.DataFrame,
    failures: dict[str, list[str]],
    out: GateResult,
    sent: set[str],
) -> None:
    """Publish, quarantine (the rules a row broke) or block (the batch's reasons) each row;
    a row an earlier run sent is published as it is (the send stage will not resend it)."""
    ob, n = schema.outbox, schema.notices
    states: list[dict[str, Any]] = []
    refused: list[tuple[str, str, str, str]] = []  # notice, channel, decision, reason
    for r in frame.itertuples():
        failed = failures.get(r.row_id)
        if r.row_id in sent:
            state, reasons = "published", []
            out.published += 1
        elif failed:
            state, reasons = "quarantined", list(failed)
            out.quarantined += 1
        elif out.halted:
            state, reasons = "blocked", list(out.batch_failures)
            out.blocked += 1
        else:
            state, reasons = "published", []
            out.published += 1
        states.append(
            {"nid": r.notice_id, "ch": r.channel, "state": state, "reasons": json.dumps(reasons)}
        )
        if state != "published":
            refused.append((r.notice_id, r.channel, state, "; ".join(reasons)))
    with engine.begin() as conn:
        conn.execute(
            update(ob)
            .where(
                ob.c.run_id == run.run_id,
                ob.c.notice_id == bindparam("nid"),
                ob.c.channel == bindparam("ch"),
            )
            .values(state=bindparam("state"), reasons=bindparam("reasons")),
            states,
        )
        wanted = sorted({notice_id for notice_id, *_ in refused})
        facts_by_notice: dict[str, Any] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for row in conn.execute(
                select(n.c.notice_id, n.c.facts).where(n.c.notice_id.in_(chunk))
            ):
                facts_by_notice[row.notice_id] = json.loads(row.facts)
        decisions.record(
            conn,
            [
                decisions.for_notice(run.run_id, facts_by_notice[nid], channel, state, reason)
                for nid, channel, state, reason in refused
            ],
        )
