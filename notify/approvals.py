"""Approvals: a person decides what happens to a batch the gate halted.

When a batch check fails (volume, feed freshness, ...), the gate blocks every row of the run
that passed the row checks. Ops then look at the gate report and decide, once per run:

* :func:`approve`: the blocked rows become publishable; the release and send steps that
  follow send them (through the ledger, so still at most once). Quarantined rows stay out:
  an approval overrides a batch check, never a row check.
* :func:`reject`: the rows stay blocked; their decisions say who rejected them and why.

Each decision is a row in ``approvals`` (run, decision, who, why, when). Deciding again the
same way is a no-op (a retried task); deciding the other way is refused. In Airflow the
decision comes from the human-in-the-loop task of the ``delivery_notifications`` DAG
(:func:`from_hitl`); :func:`review_markdown` is what that task shows.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from notify.runs import add_summary, get_run
from notify.store import schema
from notify.store.types import as_utc

APPROVE = "approve"
REJECT = "reject"
HITL_APPROVE = "Approve"  # the options of the Airflow task
HITL_REJECT = "Reject"
HITL_REASON = "decision_reason"  # the approval task's form field


class ApprovalError(ValueError):
    """A decision that cannot be taken (run not halted, already decided otherwise, ...)."""


@dataclass(frozen=True)
class Approval:
    run_id: str
    decision: str
    decided_by: str
    reason: str
    decided_at: datetime
    blocked_rows: int

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["decided_at"] = self.decided_at.isoformat()
        return out


def get(engine: Engine, run_id: str) -> Approval | None:
    with engine.connect() as conn:
        return _get(conn, run_id)


def _get(conn: Connection, run_id: str) -> Approval | None:
    t = schema.approvals
    row = conn.execute(select(t).where(t.c.run_id == run_id)).first()
    if row is None:
        return None
    return Approval(
        row.run_id,
        row.decision,
        row.decided_by,
        row.reason,
        as_utc(row.decided_at),
        row.blocked_rows,
    )


def _gate_summary(conn: Connection, run_id: str) -> dict[str, Any]:
    t = schema.runs
    raw = conn.execute(select(t.c.summary).where(t.c.run_id == run_id)).scalar()
    if raw is None:
        raise ApprovalError(f"no run {run_id!r} in the store")
    gate: dict[str, Any] = json.loads(raw).get("gate") or {}
    return gate


def is_halted(engine: Engine, run_id: str) -> bool:
    """Whether the gate halted this run's batch."""
    with engine.connect() as conn:
        return bool(_gate_summary(conn, run_id).get("halted"))


def needs_decision(engine: Engine, run_id: str) -> bool:
    """Whether a person must decide: the batch halted and the run would send.

    A dry run or a replay (every backfill, by default) sends nothing whatever the decision,
    so its halt is recorded (blocked rows, the report) without waiting for anyone.
    """
    return is_halted(engine, run_id) and get_run(engine, run_id).sends


def approve(engine: Engine, run_id: str, *, decided_by: str, reason: str) -> Approval:
    """Release the halted run's blocked rows for sending."""
    return _decide(engine, run_id, APPROVE, decided_by, reason)


def reject(engine: Engine, run_id: str, *, decided_by: str, reason: str) -> Approval:
    """Keep the halted run's rows blocked, recording who refused them and why."""
    return _decide(engine, run_id, REJECT, decided_by, reason)


def _decide(engine: Engine, run_id: str, decision: str, decided_by: str, reason: str) -> Approval:
    decided_by, reason = decided_by.strip(), reason.strip()
    if not decided_by:
        raise ApprovalError(f"say who decides about run {run_id!r} (decided_by is empty)")
    if not reason:
        raise ApprovalError(f"give a reason to {decision} run {run_id!r} (reason is empty)")
    try:
        with engine.begin() as conn:
            done = _already(conn, run_id, decision)
            if done is not None:
                return done
            if not _gate_summary(conn, run_id).get("halted"):
                raise ApprovalError(
                    f"run {run_id!r} was not halted by the gate: there is nothing to {decision}"
                )
            rows = _apply(conn, run_id, decision, decided_by, reason)
            approval = Approval(run_id, decision, decided_by, reason, datetime.now(UTC), rows)
            conn.execute(schema.approvals.insert().values(**approval.__dict__))
    except IntegrityError:  # someone else decided in the meantime
        with engine.connect() as conn:
            done = _already(conn, run_id, decision)
        if done is None:  # pragma: no cover - _already raises on a conflicting decision
            raise
        return done
    add_summary(engine, run_id, "approval", approval.to_dict())
    return approval


def _already(conn: Connection, run_id: str, decision: str) -> Approval | None:
    existing = _get(conn, run_id)
    if existing is None:
        return None
    if existing.decision != decision:
        raise ApprovalError(
            f"run {run_id!r} was already {existing.decision}d by {existing.decided_by} at "
            f"{existing.decided_at.isoformat()} ({existing.reason}); a decision is final"
        )
    return existing


def _apply(conn: Connection, run_id: str, decision: str, decided_by: str, reason: str) -> int:
    ob, d = schema.outbox, schema.decisions
    blocked = conn.execute(
        select(ob.c.notice_id, ob.c.channel).where(ob.c.run_id == run_id, ob.c.state == "blocked")
    ).all()
    for notice_id, channel in blocked:
        same = and_(
            d.c.run_id == run_id,
            d.c.notice_id == notice_id,
            d.c.channel == channel,
            d.c.decision == "blocked",
        )
        if decision == APPROVE:
            # The batch verdict no longer holds for these rows: send decides their outcome.
            conn.execute(delete(d).where(same))
            conn.execute(
                update(ob)
                .where(ob.c.run_id == run_id, ob.c.notice_id == notice_id, ob.c.channel == channel)
                .values(state="published")
            )
        else:
            note = f"; rejected by {decided_by}: {reason}"
            conn.execute(update(d).where(same).values(reason=d.c.reason + note))
    return len(blocked)


def from_hitl(engine: Engine, run_id: str, response: dict[str, Any] | None) -> Approval | None:
    """Record the answer of the Airflow human-in-the-loop task (its XCom), if there is one.

    ``response`` has ``chosen_options`` (``Approve`` or ``Reject``), ``params_input``
    (``decision_reason``) and ``responded_by_user`` (``id``, ``name``; empty when the task
    timed out and took its default). ``None`` (no answer: a local ``dag.test`` run) records
    nothing and the rows stay blocked until someone runs ``oasis approve`` or ``oasis reject``.
    """
    if not response:
        return None
    chosen = list(response.get("chosen_options") or [])
    if chosen not in ([HITL_APPROVE], [HITL_REJECT]):
        raise ApprovalError(f"the approval task answered {chosen!r}; expected Approve or Reject")
    user = response.get("responded_by_user") or {}
    who = f"{user.get('name') or user.get('id')} (Airflow user {user.get('id')})" if user else ""
    reason = str((response.get("params_input") or {}).get(HITL_REASON) or "").strip()
    if not who:
        who, reason = "nobody (no answer before the timeout)", reason or "timed out"
    decide = approve if chosen == [HITL_APPROVE] else reject
    return decide(engine, run_id, decided_by=who, reason=reason or "(no reason given)")


def review_markdown(engine: Engine, run_id: str) -> str:
    """What the person deciding sees: why the batch halted and what approving would send.

    Counts only: no names, addresses or message bodies (this text is stored by Airflow).
    """
    ob, d = schema.outbox, schema.decisions
    with engine.connect() as conn:
        gate = _gate_summary(conn, run_id)
        blocked = conn.execute(
            select(ob.c.channel, ob.c.customer_id).where(
                ob.c.run_id == run_id, ob.c.state == "blocked"
            )
        ).all()
        quarantine = conn.execute(
            select(d.c.reason).where(d.c.run_id == run_id, d.c.decision == "quarantined")
        ).scalars()
        top = Counter(r for reasons in quarantine for r in reasons.split("; ") if r)
    channels = Counter(c for c, _ in blocked)
    customers = len({c for _, c in blocked})
    lines = [
        f"## The gate halted run `{run_id}`",
        "",
        "**Why:**",
        *[f"- {f}" for f in gate.get("batch_failures") or ["(no batch failure recorded)"]],
        "",
        f"**If you approve:** {len(blocked)} messages go out to {customers} customers "
        f"({', '.join(f'{n} {c}' for c, n in sorted(channels.items())) or 'none'}), "
        "through the send ledger (at most once each). Quarantined rows stay out.",
        "",
        f"**If you reject:** nothing is sent; the {len(blocked)} rows stay blocked "
        "with your name and reason.",
        "",
        f"Gate: {gate.get('rows', 0)} rows checked, {gate.get('quarantined', 0)} quarantined, "
        f"{gate.get('blocked', 0)} blocked.",
    ]
    if top:
        lines += ["", "**Quarantine reasons:**"]
        lines += [f"- {reason}: {n}" for reason, n in top.most_common(8)]
    paths = {k: v for k, v in sorted(gate.items()) if k.endswith("path") and v}
    if paths:
        lines += ["", "**Reports:**", *[f"- {k}: `{v}`" for k, v in paths.items()]]
    return "\n".join(lines)
