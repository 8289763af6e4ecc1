"""Release: the last look at a run's publishable rows, right before they are sent.

Two rules, both recorded as decisions with their reason:

* **Stale news is never sent.** A notice is stale when what the store knows now contradicts
  it: a parcel it names was delivered after its delay began, one of its delay episodes was
  closed (in the store, or absent from the newest later run's open episodes), or its ETA
  window ended before the newest moment the store has seen (the latest run's as-of time, in
  the customer's zone). This matters for a backfill allowed to send (``backfill_may_send``)
  and for a batch approved hours after it halted; on an ordinary hourly run nothing is newer
  than the run itself, so nothing expires. A follow-up is about closed episodes and
  deliveries, so only a "resolved" one can go stale (its new date passed). Replays send
  nothing and are not second-guessed: they show what would have been sent then. Stale rows
  become ``expired`` in the outbox and ``suppressed`` decisions (``stale: ...``).
* **Only the channels chosen on the trigger form.** Rows for another channel become
  ``withheld`` in the outbox and ``deferred`` decisions.

A row an earlier run sent (a notice staged again while it is the customer's current one)
is left as it is: the ledger does not send it again, and "suppressed" recorded after "sent"
would tell a false story in ``oasis explain``.

Re-running release for a run changes nothing more: it only looks at ``published`` rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection, Engine

from notify import decisions
from notify.runs import Run
from notify.store import schema
from notify.store.types import as_utc

CHANNELS = ("email", "sms")


@dataclass
class ReleaseResult:
    published: int = 0  # rows left for the send step
    expired: dict[str, int] = field(default_factory=dict)  # stale rows per reason
    withheld: int = 0  # rows of a channel not chosen for this run
    horizon: str | None = None  # the newest moment the store has seen

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def horizon(conn: Connection, run: Run) -> datetime:
    """The newest world time the store has seen: the latest as-of of any run (or this one)."""
    newest = conn.execute(select(func.max(schema.runs.c.as_of))).scalar()
    return max(run.as_of, as_utc(newest)) if newest is not None else run.as_of


def _newer_view(conn: Connection, run: Run) -> str | None:
    """The newest run after this one (in world time) that listed open delay episodes.

    A later run that listed none (it had no tracking to look at) says nothing about them.
    """
    t, p = schema.runs, schema.eta_predictions
    listed = select(p.c.run_id).where(p.c.run_id == t.c.run_id).exists()
    newest = conn.execute(
        select(t.c.run_id)
        .where(t.c.as_of > run.as_of, t.c.status != "failed", listed)
        .order_by(t.c.as_of.desc())
        .limit(1)
    ).scalar()
    return str(newest) if newest is not None else None


def _published(run_id: str) -> Any:
    ob = schema.outbox
    return and_(ob.c.run_id == run_id, ob.c.state == "published")


Stale = dict[str, tuple[str, str]]  # notice id -> (kind, reason)


def _delivered(conn: Connection, run: Run) -> Stale:
    np, ob, s = schema.notice_parcels, schema.outbox, schema.shipments
    ev, ep = schema.tracking_events, schema.delay_episodes
    rows = conn.execute(
        select(np.c.notice_id, func.min(ev.c.occurred_at))
        .join(ob, and_(ob.c.notice_id == np.c.notice_id, _published(run.run_id)))
        .join(s, s.c.shipment_id == np.c.shipment_id)
        .join(ep, ep.c.episode_id == np.c.episode_id)
        .join(
            ev,
            and_(
                ev.c.carrier == s.c.carrier,
                ev.c.tracking_number == s.c.tracking_number,
                ev.c.status == "delivered",
                ev.c.occurred_at >= ep.c.opened_at,
            ),
        )
        .group_by(np.c.notice_id)
    ).all()
    return {n: ("delivered", f"stale: delivered at {as_utc(at).isoformat()}") for n, at in rows}


def _closed(conn: Connection, run: Run, newer_run: str | None) -> Stale:
    np, ob, ep = schema.notice_parcels, schema.outbox, schema.delay_episodes
    base = select(np.c.notice_id).join(
        ob, and_(ob.c.notice_id == np.c.notice_id, _published(run.run_id))
    )
    out = {
        n: ("episode_closed", f"stale: delay episode closed ({why or 'closed'})")
        for n, why in conn.execute(
            base.add_columns(ep.c.close_reason)
            .join(ep, ep.c.episode_id == np.c.episode_id)
            .where(ep.c.closed_at.is_not(None))
        ).all()
    }
    if newer_run is not None:
        p = schema.eta_predictions
        gone = conn.execute(
            base.outerjoin(p, and_(p.c.episode_id == np.c.episode_id, p.c.run_id == newer_run))
            .where(p.c.episode_id.is_(None))
            .distinct()
        ).scalars()
        for n in gone:
            why = f"stale: delay episode no longer open in run {newer_run}"
            out.setdefault(n, ("episode_closed", why))
    return out


def _eta_passed(facts: dict[str, Any], now: datetime) -> tuple[str, str] | None:
    latest = (facts.get("eta") or {}).get("latest")
    if not latest:
        return None
    today = now.astimezone(ZoneInfo(facts.get("timezone") or "UTC")).date()
    if date.fromisoformat(str(latest)[:10]) < today:
        return "eta_passed", f"stale: ETA window ended {str(latest)[:10]}, before {today}"
    return None


def _stale(
    facts: dict[str, Any], found: tuple[str, str] | None, now: datetime
) -> tuple[str, str] | None:
    """A follow-up is about closed episodes and, when delivered, a delivery: those are its
    news, not signs of staleness. A delivered day stays true; a resolved date can pass."""
    kind = facts.get("kind", "delay")
    if kind == "delivered":
        return None
    if kind == "resolved":
        return _eta_passed(facts, now)
    return found or _eta_passed(facts, now)


def release(engine: Engine, *, run: Run) -> ReleaseResult:
    out = ReleaseResult()
    ob, n = schema.outbox, schema.notices
    chosen = set(run.params.get("channels") or CHANNELS)
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        now = horizon(conn, run)
        out.horizon = now.isoformat()
        stale: Stale = {}
        if run.mode != "replay":
            stale.update(_delivered(conn, run))
            for notice_id, closed in _closed(conn, run, _newer_view(conn, run)).items():
                stale.setdefault(notice_id, closed)
        published = conn.execute(
            select(ob.c.notice_id, ob.c.channel, n.c.facts)
            .join(n, n.c.notice_id == ob.c.notice_id)
            .where(_published(run.run_id))
        ).all()
        sent = decisions.sent_channels(
            conn, "notice_id", [r.notice_id for r in published], except_run=run.run_id
        )
        for r in published:
            if r.channel in sent.get(r.notice_id, ()):
                out.published += 1  # went out in an earlier run: the ledger keeps it at that
                continue
            facts = json.loads(r.facts)
            found = _stale(facts, stale.get(r.notice_id), now) if run.mode != "replay" else None
            if found:
                state, decision = "expired", "suppressed"
                kind, why = found
                out.expired[kind] = out.expired.get(kind, 0) + 1
            elif r.channel not in chosen:
                state, decision = "withheld", "deferred"
                why = f"channel {r.channel} not chosen for this run"
                out.withheld += 1
            else:
                out.published += 1
                continue
            conn.execute(
                update(ob)
                .where(
                    ob.c.run_id == run.run_id,
                    ob.c.notice_id == r.notice_id,
                    ob.c.channel == r.channel,
                )
                .values(state=state)
            )
            rows.append(decisions.for_notice(run.run_id, facts, r.channel, decision, why))
        decisions.record(conn, rows)
    return out
