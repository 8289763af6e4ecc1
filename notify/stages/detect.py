"""Detect: which tracked parcels are in a delay episode as of the run's time.

An episode opens on the first evidence of trouble and stays open until the parcel is
delivered or the trouble is gone. Evidence, strongest first: an exception or failed
delivery attempt (cause = the carrier's reason), tracking stalled longer than the rules
allow (``no_scan``), a label never picked up (``missed_pickup``), a carrier ETA later than
the promise, a promise already breached. Only events up to ``as_of`` count, so replays of
the past give the same answer. Whether a customer hears about it is for ``target`` to say.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from carriers.taxonomy import Reason, Status
from notify.rules import DEFAULT_RULES, DetectionRules
from notify.sql import query
from notify.store import schema
from notify.store.ops import upsert
from notify.store.types import as_utc

TROUBLE = {Status.EXCEPTION.value, Status.ATTEMPT_FAIL.value}
MOVING = {Status.IN_TRANSIT.value, Status.OUT_FOR_DELIVERY.value, Status.EXCEPTION.value}
DONE = {Status.DELIVERED.value, Status.EXPIRED.value}


@dataclass(frozen=True)
class Event:
    event_id: int
    occurred_at: datetime
    status: str
    reason: str | None


@dataclass
class Parcel:
    carrier: str
    tracking_number: str
    events: list[Event] = field(default_factory=list)
    promised_by_utc: datetime | None = None
    shipped_at: datetime | None = None
    eta_latest: str | None = None


@dataclass(frozen=True)
class Finding:
    kind: str
    cause: str
    evidence: tuple[int, ...]
    evidence_at: datetime


@dataclass
class DetectResult:
    open_episodes: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _eta_day(value: str | None) -> date | None:
    if not value:
        return None
    return date.fromisoformat(value[:10])


def _latest_cause(events: list[Event]) -> tuple[str, tuple[int, ...]]:
    for e in reversed(events):
        if e.reason:
            return e.reason, (e.event_id,)
    return Reason.UNKNOWN.value, ()


def evaluate(p: Parcel, as_of: datetime, rules: DetectionRules) -> Finding | None:
    """The strongest evidence of a delay for one parcel, or None when it looks fine."""
    events = p.events
    if events and events[-1].status in DONE:
        return None
    trouble = [e for e in events if e.status in TROUBLE]
    if trouble:
        last = trouble[-1]
        kind = "failed_attempt" if last.status == Status.ATTEMPT_FAIL.value else "exception"
        cause = last.reason or Reason.UNKNOWN.value
        return Finding(kind, cause, tuple(e.event_id for e in trouble), trouble[0].occurred_at)
    if events and events[-1].status in MOVING:
        stall = timedelta(hours=rules.stall_hours_for(p.carrier, None))
        if as_of - events[-1].occurred_at > stall:
            last_scan = events[-1]
            evidence_at = last_scan.occurred_at + stall
            return Finding("stalled", Reason.NO_SCAN.value, (last_scan.event_id,), evidence_at)
    started = events[0].occurred_at if events else p.shipped_at
    waiting = (Status.PENDING.value, Status.INFO_RECEIVED.value)
    picked_up = any(e.status not in waiting for e in events)
    grace = timedelta(hours=rules.pickup_grace_hours)
    if not picked_up and started is not None and as_of - started > grace:
        ids = tuple(e.event_id for e in events[-1:])
        return Finding("not_picked_up", Reason.MISSED_PICKUP.value, ids, started + grace)
    return _promise_finding(p, as_of)


def _promise_finding(p: Parcel, as_of: datetime) -> Finding | None:
    if p.promised_by_utc is None:
        return None
    cause, ids = _latest_cause(p.events)
    eta = _eta_day(p.eta_latest)
    if eta is not None and eta > p.promised_by_utc.date():
        at = p.events[-1].occurred_at if p.events else as_of
        return Finding("late_eta", cause, ids, min(at, as_of))
    if as_of > p.promised_by_utc:
        return Finding("promise_breached", cause, ids, p.promised_by_utc)
    return None


def _parcels(conn: Connection, as_of: datetime) -> Iterator[Parcel]:
    promises = {
        (r.carrier, r.tracking_number): r
        for r in conn.execute(query("candidate_promises"), {"as_of": as_of})
    }
    current: Parcel | None = None
    rows = conn.execute(
        query("candidate_events"), {"as_of": as_of}, execution_options={"yield_per": 5000}
    )
    for r in rows:
        key = (r.carrier, r.tracking_number)
        if current is None or (current.carrier, current.tracking_number) != key:
            if current is not None:
                yield current
            current = _new_parcel(key, promises.pop(key, None))
        current.events.append(Event(r.event_id, as_utc(r.occurred_at), r.status, r.reason))
    if current is not None:
        yield current
    for key, promise in promises.items():  # parcels without any event yet
        yield _new_parcel(key, promise)


def _new_parcel(key: tuple[str, str], promise: Any) -> Parcel:
    p = Parcel(carrier=key[0], tracking_number=key[1])
    if promise is not None:
        p.promised_by_utc = as_utc(promise.promised_by_utc)
        p.shipped_at = as_utc(promise.shipped_at) if promise.shipped_at else None
        p.eta_latest = promise.eta_latest
    return p


def episode_id(carrier: str, tracking_number: str, opened_at: datetime) -> str:
    raw = f"{carrier}|{tracking_number}|{opened_at.astimezone(UTC).isoformat()}"
    return "ep_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def _facts_hash(f: Finding, eta_latest: str | None) -> str:
    return hashlib.sha256(f"{f.kind}|{f.cause}|{(eta_latest or '')[:10]}".encode()).hexdigest()


def _open_episodes(conn: Connection, as_of: datetime) -> dict[tuple[str, str], Any]:
    t = schema.delay_episodes
    rows = conn.execute(select(t).where(t.c.closed_at.is_(None), t.c.opened_at <= as_of))
    return {(r.carrier, r.tracking_number): r for r in rows}


def detect(
    engine: Engine, *, run_id: str, as_of: datetime, rules: DetectionRules = DEFAULT_RULES
) -> DetectResult:
    """Open, update and close delay episodes as of ``as_of``."""
    out = DetectResult()
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        existing = _open_episodes(conn, as_of)
        for parcel in _parcels(conn, as_of):
            key = (parcel.carrier, parcel.tracking_number)
            finding = evaluate(parcel, as_of, rules)
            before = existing.pop(key, None)
            if finding is None:
                if before is not None:
                    done = parcel.events and parcel.events[-1].status in DONE
                    rows.append(_closed(before, as_of, "delivered" if done else "resolved"))
                    out.closed += 1
                continue
            rows.append(_episode_row(parcel, finding, before, as_of, out))
            out.by_kind[finding.kind] = out.by_kind.get(finding.kind, 0) + 1
        for before in existing.values():  # no longer an open order's parcel
            rows.append(_closed(before, as_of, "order_closed"))
            out.closed += 1
        upsert(conn, schema.delay_episodes, rows, ["episode_id"])
    out.open_episodes = sum(out.by_kind.values())
    return out


def _closed(before: Any, as_of: datetime, reason: str) -> dict[str, Any]:
    row = dict(before._mapping)
    row.update(closed_at=as_of, close_reason=reason, updated_at=as_of)
    return row


def _episode_row(
    p: Parcel, f: Finding, before: Any, as_of: datetime, out: DetectResult
) -> dict[str, Any]:
    facts = _facts_hash(f, p.eta_latest)
    if before is None:
        out.opened += 1
        opened_at, version = f.evidence_at, 1
        eid = episode_id(p.carrier, p.tracking_number, opened_at)
    else:
        opened_at, eid = as_utc(before.opened_at), before.episode_id
        version = before.version + (before.facts_hash != facts)
        out.updated += int(before.facts_hash != facts)
    return {
        "episode_id": eid,
        "carrier": p.carrier,
        "tracking_number": p.tracking_number,
        "kind": f.kind,
        "cause": f.cause,
        "opened_at": opened_at,
        "updated_at": as_of,
        "closed_at": None,
        "close_reason": None,
        "version": version,
        "facts_hash": facts,
        "evidence": json.dumps(list(f.evidence)),
    }
