"""Runs: one row per pipeline run, keyed by the Airflow run id, with its world time.

``as_of`` is the time the run sees the world at: events after it are ignored, so a run can
be replayed deterministically. ``mode`` is ``send`` (deliver), ``dry_run`` (render and gate,
send nothing) or ``replay`` (recompute and record decisions only).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from notify.store import schema
from notify.store.ops import upsert

MODES = ("send", "dry_run", "replay")


@dataclass(frozen=True)
class Run:
    run_id: str
    as_of: datetime
    mode: str
    params: dict[str, Any]

    @property
    def sends(self) -> bool:
        return self.mode == "send"


def run_folder(runs_dir: Path, run_id: str) -> Path:
    return runs_dir / re.sub(r"[^A-Za-z0-9._-]+", "_", run_id)


def begin_run(
    engine: Engine, *, run_id: str, as_of: datetime, mode: str, params: dict[str, Any]
) -> Run:
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no UTC offset; give e.g. ...+00:00")
    with engine.begin() as conn:
        upsert(
            conn,
            schema.runs,
            [
                {
                    "run_id": run_id,
                    "as_of": as_of,
                    "started_at": datetime.now(UTC),
                    "finished_at": None,
                    "mode": mode,
                    "status": "running",
                    "params": json.dumps(params, default=str),
                    "summary": "{}",
                }
            ],
            ["run_id"],
        )
    return Run(run_id, as_of.astimezone(UTC), mode, params)


def get_run(engine: Engine, run_id: str) -> Run:
    with engine.connect() as conn:
        row = conn.execute(select(schema.runs).where(schema.runs.c.run_id == run_id)).first()
    if row is None:
        raise LookupError(f"no run {run_id!r} in the store")
    return Run(row.run_id, row.as_of, row.mode, json.loads(row.params))


def add_summary(engine: Engine, run_id: str, stage: str, result: dict[str, Any]) -> None:
    t = schema.runs
    with engine.begin() as conn:
        current = conn.execute(select(t.c.summary).where(t.c.run_id == run_id)).scalar_one()
        summary = json.loads(current)
        summary[stage] = result
        conn.execute(
            update(t).where(t.c.run_id == run_id).values(summary=json.dumps(summary, default=str))
        )


def finish_run(engine: Engine, run_id: str, status: str) -> dict[str, Any]:
    t = schema.runs
    with engine.begin() as conn:
        conn.execute(
            update(t)
            .where(t.c.run_id == run_id)
            .values(status=status, finished_at=datetime.now(UTC))
        )
        summary = conn.execute(select(t.c.summary).where(t.c.run_id == run_id)).scalar_one()
    result: dict[str, Any] = json.loads(summary)
    return result
