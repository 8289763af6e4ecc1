"""Record: the run's decisions as a file anyone can read, and the run's summary."""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from notify.config import Settings
from notify.runs import Run, finish_run, run_folder
from notify.store import schema

log = logging.getLogger(__name__)

NOTICE_COLUMNS = [
    "notice_id",
    "run_id",
    "customer_id",
    "order_ids",
    "shipment_ids",
    "channel",
    "decision",
    "reason",
    "eta_earliest",
    "eta_latest",
    "eta_confidence",
    "cause",
    "message_path",
]


def notice_rows(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    d = schema.decisions
    with engine.connect() as conn:
        rows = conn.execute(
            select(d).where(d.c.run_id == run_id).order_by(d.c.customer_id, d.c.decision_id)
        ).all()
    out = []
    for r in rows:
        row = {c: getattr(r, c) for c in NOTICE_COLUMNS}
        row["order_ids"] = json.loads(r.order_ids)
        row["shipment_ids"] = json.loads(r.shipment_ids)
        row["channel"] = r.channel or None
        out.append(row)
    return out


def format_rows(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt != "csv":
        raise ValueError(f"format {fmt!r} is not csv or jsonl")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=NOTICE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        flat = dict(r)
        flat["order_ids"] = " ".join(r["order_ids"])
        flat["shipment_ids"] = " ".join(r["shipment_ids"])
        writer.writerow(flat)
    return buffer.getvalue()


@dataclass
class RecordResult:
    report_path: str
    notices_path: str
    status: str
    report_html: str = ""


def final_status(summary: dict[str, Any], approval: Any) -> str:
    """success, or halted (waiting for a decision), or rejected by a person."""
    if not summary.get("gate", {}).get("halted"):
        return "success"
    if approval is None:
        return "halted"
    return "success" if approval.decision == "approve" else "rejected"


def record(engine: Engine, *, run: Run, settings: Settings) -> RecordResult:
    from notify import approvals, report

    rows = notice_rows(engine, run.run_id)
    folder = run_folder(settings.runs_dir, run.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    notices_path = folder / "notices.csv"
    notices_path.write_text(format_rows(rows, "csv"), "utf-8")
    with engine.connect() as conn:
        summary = json.loads(
            conn.execute(
                select(schema.runs.c.summary).where(schema.runs.c.run_id == run.run_id)
            ).scalar_one()
        )
    status = final_status(summary, approvals.get(engine, run.run_id))
    html_path = report.write(engine, run, settings, status, notices_csv=str(notices_path))
    log.info("run %s: run report %s", run.run_id, html_path.as_uri())
    finish_run(engine, run.run_id, status)
    report_path = folder / "report.json"
    return RecordResult(str(report_path), str(notices_path), status, str(html_path))
