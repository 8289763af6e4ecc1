"""A run's mode from its trigger form and how Airflow started it.

``send`` delivers, ``dry_run`` renders and gates but sends nothing, ``replay`` recomputes and
records decisions only. A backfill (``airflow backfill create``, ``POST /api/v2/backfills`` or
the UI's backfill dialog) is always a replay unless its conf sets ``backfill_may_send``: the
past is for looking at, not for mailing. Even then it never polls live carrier APIs (they only
know today; stored with a past as-of time their answers would rewrite history), and the
release step still expires every notice whose news went stale since
(:mod:`notify.release`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BACKFILL = "backfill"
SEND_OVERRIDE = "backfill_may_send"


@dataclass(frozen=True)
class ModeChoice:
    mode: str  # send | dry_run | replay
    params: dict[str, Any]  # the params as the run will use them
    notes: list[str] = field(default_factory=list)  # why the form was overridden, if it was


def choose(params: dict[str, Any], run_type: str | None) -> ModeChoice:
    """The mode for a run with these params, started by Airflow as ``run_type``."""
    params = dict(params)
    notes: list[str] = []
    mode = "replay" if params.get("replay_only") else "dry_run" if params.get("dry_run") else "send"
    if str(run_type or "").lower() == BACKFILL:
        params["run_type"] = BACKFILL
        if mode == "send" and not params.get(SEND_OVERRIDE):
            mode = "replay"
            params["replay_only"] = True
            notes.append(f"backfill: replay only (set {SEND_OVERRIDE} to let a backfill send)")
        if params.get("poll_carriers"):
            params["poll_carriers"] = False
            notes.append("backfill: live carrier APIs are not polled (they only know today)")
    return ModeChoice(mode, params, notes)
