"""Detect: which tracked parcels are in a delay episode as of the run's time.

An episode opens on the first evidence of trouble and stays open until the parcel is
delivered, its order closes, or the evidence is gone. Evidence, strongest first:

- ``failed_attempt`` / ``exception``: a failed delivery attempt, an exception, or any scan
  the carrier gave a delay reason (cause: the newest such scan's reason);
- ``incident``: the parcel is held at, or routed through, a hub or area incident
  (cause: the incident's, e.g. weather; see :mod:`notify.incidents`);
- ``stalled``: no scan for longer than the service's threshold in business hours while on
  the way, now or earlier in its journey (``no_scan``);
- ``not_picked_up`` / ``late_pickup``: a label with no pickup scan within the grace time,
  or a pickup that came late (``missed_pickup``);
- ``late_eta``: the carrier's newest ETA is after the promised day (destination zone);
- ``promise_breached``: the promised day is over and the parcel is not delivered.

Delivered (or expired) is final: a scan after delivery does not reopen anything. Only
events up to ``as_of`` count, so replays of the past give the same answer. Thresholds come
from the versioned rules file. The episode ``version`` changes only when what the customer
would be told changes (a new cause here; a new ETA window in the ETA stage), so evidence
that comes and goes does not make new notices; an episode that was resolved and finds new
evidence soon after is reopened rather than replaced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from carriers.taxonomy import Reason, Status
from notify import calendars, incidents
from notify.parcels import DONE, UTC_ZONE, WAITING, Event, Parcel, load_parcels
from notify.rules import DEFAULT_RULES, DetectionRules
from notify.store import schema
from notify.store.ops import upsert
from notify.store.types import as_utc

MOVING = frozenset({Status.IN_TRANSIT.value, Status.OUT_FOR_DELIVERY.value})
KINDS = (
    "failed_attempt",
    "exception",
    "incident",
    "stalled",
    "not_picked_up",
    "late_pickup",
    "late_eta",
    "promise_breached",
)


@dataclass(frozen=True)
class Finding:
    kind: str
    cause: str
    evidence: tuple[int, ...]
    evidence_at: datetime
    incident_id: str | None = None


@dataclass
class DetectResult:
    open_episodes: int = 0
    opened: int = 0
    reopened: int = 0
    updated: int = 0
    closed: int = 0
    incidents_active: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _latest_cause(events: list[Event]) -> str:
    for e in reversed(events):
        if e.reason:
            return e.reason
    return Reason.UNKNOWN.value


def _ids(events: Iterable[Event]) -> tuple[int, ...]:
    return tuple(e.event_id for e in events)


def _trouble(p: Parcel, as_of: datetime, rules: DetectionRules) -> Finding | None:
    trouble = [e for e in p.events if e.is_trouble]
    if not trouble:
        return None
    last = trouble[-1]
    kind = "failed_attempt" if last.status == Status.ATTEMPT_FAIL.value else "exception"
    cause = last.reason or Reason.UNKNOWN.value
    return Finding(kind, cause, _ids(trouble), trouble[0].occurred_at)


def _business_hours(p: Parcel, start: Event, end: datetime, rules: DetectionRules) -> float:
    spec = rules.calendar(p.carrier, p.service)
    zone = start.zone(p.dest_zone)
    return calendars.business_hours(start.occurred_at, end, zone, spec)


def _deadline(p: Parcel, start: Event, hours: float, rules: DetectionRules) -> datetime:
    spec = rules.calendar(p.carrier, p.service)
    zone = start.zone(p.dest_zone)
    return calendars.business_deadline(start.occurred_at, hours, zone, spec)


def _stall(p: Parcel, as_of: datetime, rules: DetectionRules) -> Finding | None:
    """No scan for longer than the threshold while on the way: now, or earlier on."""
    limit = rules.stall_hours_for(p.carrier, p.service)
    events = p.events
    gaps: list[tuple[Event, datetime, tuple[int, ...]]] = [
        (a, b.occurred_at, (b.event_id,)) for a, b in pairwise(events)
    ]
    if events:
        gaps.append((events[-1], as_of, ()))
    for start, end, after in reversed(gaps):
        if start.status not in MOVING or (end - start.occurred_at).total_seconds() <= limit * 3600:
            continue  # business hours never exceed wall-clock hours
        if _business_hours(p, start, end, rules) > limit:
            at = _deadline(p, start, limit, rules)
            return Finding("stalled", Reason.NO_SCAN.value, (start.event_id, *after), at)
    return None


def _pickup(p: Parcel, as_of: datetime, rules: DetectionRules) -> Finding | None:
    label = p.events[0] if p.events else None
    if label is None:
        if p.shipped_at is None:
            return None
        label = Event(0, p.shipped_at, Status.INFO_RECEIVED.value, None)
    if label.status not in WAITING:
        return None
    grace = rules.pickup_grace_hours_for(p.carrier, p.service)
    if (as_of - label.occurred_at).total_seconds() <= grace * 3600:
        return None
    picked = next((e for e in p.events if e.status not in WAITING), None)
    due = _deadline(p, label, grace, rules)
    ids = tuple(i for i in (label.event_id,) if i)
    if picked is None:
        return (
            Finding("not_picked_up", Reason.MISSED_PICKUP.value, ids, due) if due < as_of else None
        )
    if picked.occurred_at > due:
        return Finding("late_pickup", Reason.MISSED_PICKUP.value, (*ids, picked.event_id), due)
    return None


def _carrier_eta(p: Parcel, as_of: datetime, rules: DetectionRules) -> Finding | None:
    promised = p.promised_day
    if promised is None or not p.eta_latest or p.eta_latest <= promised.isoformat():
        return None
    at = min(p.eta_stated_at or as_of, as_of)
    return Finding("late_eta", _latest_cause(p.events), _ids(p.events[-1:]), at)


def _breach(p: Parcel, as_of: datetime, rules: DetectionRules) -> Finding | None:
    if p.promised_by_utc is None or as_of <= p.promised_by_utc:
        return None
    return Finding("promise_breached", _latest_cause(p.events), _ids(p.events[-1:]),
                   p.promised_by_utc)  # fmt: skip


def _cause_of_a_stop(p: Parcel, found: Finding, index: incidents.IncidentIndex) -> Finding:
    """An exception the carrier gives no cause for, scanned at a facility while an incident
    stopped it, has the incident's cause: many parcels there show it (USPS writes a weather
    hold as code 71, "rescheduled", with no cause). It depends on that scan alone, not on
    where the parcel is now, so the cause stays when the parcel moves on."""
    if found.kind != "exception" or found.cause != Reason.UNKNOWN.value:
        return found
    stop = index.stopped_at([e for e in p.events if e.is_trouble][-1])
    if stop is None:
        return found
    return Finding(found.kind, stop.cause, found.evidence, found.evidence_at, found.incident_id)


Check = Callable[[Parcel, datetime, DetectionRules], Finding | None]
AFTER_INCIDENT: tuple[Check, ...] = (_stall, _pickup, _carrier_eta, _breach)


def evaluate(
    p: Parcel,
    as_of: datetime,
    rules: DetectionRules,
    index: incidents.IncidentIndex | None = None,
) -> Finding | None:
    """The strongest evidence of a delay for one parcel, or None when it looks fine."""
    if any(e.status in DONE for e in p.events):
        return None
    touched = index.touching(p) if index is not None else None
    found = _trouble(p, as_of, rules)
    if found is not None and index is not None:
        found = _cause_of_a_stop(p, found, index)
    if found is None and touched is not None:
        inc, held = touched
        ids = _ids([held]) if held is not None else _ids(p.events[-1:])
        at = max(inc.starts_at, held.occurred_at) if held is not None else inc.starts_at
        found = Finding("incident", inc.cause, ids, min(at, as_of))
    for check in AFTER_INCIDENT:
        if found is not None:
            break
        found = check(p, as_of, rules)
    if found is not None and touched is not None and found.incident_id is None:
        found = Finding(
            found.kind, found.cause, found.evidence, found.evidence_at, touched[0].incident_id
        )
    return found


def episode_id(carrier: str, tracking_number: str, opened_at: datetime) -> str:
    raw = f"{carrier}|{tracking_number}|{opened_at.astimezone(UTC).isoformat()}"
    return "ep_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def facts_hash(facts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def episode_facts(row: Any) -> dict[str, Any]:
    """What the customer was told about an episode so far (cause, ETA window or unknown)."""
    facts: dict[str, Any] = json.loads(row.facts) if row.facts else {}
    facts.setdefault("cause", row.cause)
    facts.setdefault("eta", None)
    return facts


def _open_episodes(conn: Connection, as_of: datetime) -> dict[tuple[str, str], Any]:
    t = schema.delay_episodes
    rows = conn.execute(select(t).where(t.c.closed_at.is_(None), t.c.opened_at <= as_of))
    return {(r.carrier, r.tracking_number): r for r in rows}


def _recently_resolved(
    conn: Connection, as_of: datetime, rules: DetectionRules
) -> dict[tuple[str, str], Any]:
    t = schema.delay_episodes
    since = as_of - timedelta(hours=rules.reopen_within_hours)
    rows = conn.execute(
        select(t)
        .where(t.c.close_reason == "resolved", t.c.closed_at > since, t.c.closed_at <= as_of)
        .order_by(t.c.closed_at)
    )
    return {(r.carrier, r.tracking_number): r for r in rows}  # newest wins


def _delivered(conn: Connection, keys: Iterable[tuple[str, str]], as_of: datetime) -> set[Any]:
    e = schema.tracking_events
    by_carrier: dict[str, list[str]] = {}
    for carrier, number in keys:
        by_carrier.setdefault(carrier, []).append(number)
    done: set[tuple[str, str]] = set()
    for carrier, numbers in by_carrier.items():
        for i in range(0, len(numbers), 500):
            rows = conn.execute(
                select(e.c.tracking_number).where(
                    e.c.carrier == carrier,
                    e.c.tracking_number.in_(numbers[i : i + 500]),
                    e.c.status.in_(sorted(DONE)),
                    e.c.occurred_at <= as_of,
                )
            )
            done.update((carrier, r.tracking_number) for r in rows)
    return done


class _Episodes:
    """Builds the episode rows of one run and counts what changed."""

    def __init__(self, as_of: datetime, rules: DetectionRules) -> None:
        self.as_of, self.rules = as_of, rules
        self.rows: list[dict[str, Any]] = []
        self.out = DetectResult()

    def close(self, before: Any, reason: str) -> None:
        row = dict(before._mapping)
        row.update(closed_at=self.as_of, close_reason=reason, updated_at=self.as_of)
        self.rows.append(row)
        self.out.closed += 1

    def upsert(self, p: Parcel, f: Finding, before: Any, resolved: Any) -> None:
        if before is None and resolved is not None:
            before = resolved
            self.out.reopened += 1
        if before is None:
            self.out.opened += 1
            opened_at, version, facts = f.evidence_at, 1, {"cause": f.cause, "eta": None}
            eid = episode_id(p.carrier, p.tracking_number, opened_at)
        else:
            opened_at, eid, version = as_utc(before.opened_at), before.episode_id, before.version
            facts = episode_facts(before)
            if facts["cause"] != f.cause:
                facts["cause"] = f.cause
                version += 1
                self.out.updated += 1
        self.out.by_kind[f.kind] = self.out.by_kind.get(f.kind, 0) + 1
        self.rows.append(
            {
                "episode_id": eid,
                "carrier": p.carrier,
                "tracking_number": p.tracking_number,
                "kind": f.kind,
                "cause": f.cause,
                "opened_at": opened_at,
                "updated_at": self.as_of,
                "closed_at": None,
                "close_reason": None,
                "version": version,
                "facts_hash": facts_hash(facts),
                "evidence": json.dumps(list(f.evidence)),
                "rules_version": self.rules.version,
                "incident_id": f.incident_id,
                "facts": json.dumps(facts, sort_keys=True),
            }
        )


def detect(
    engine: Engine, *, run_id: str, as_of: datetime, rules: DetectionRules = DEFAULT_RULES
) -> DetectResult:
    """Open, update, reopen and close delay episodes as of ``as_of``."""
    episodes = _Episodes(as_of, rules)
    with engine.begin() as conn:
        index = incidents.refresh(conn, as_of, rules)
        existing = _open_episodes(conn, as_of)
        resolved = _recently_resolved(conn, as_of, rules)
        for parcel in load_parcels(conn, as_of):
            key = (parcel.carrier, parcel.tracking_number)
            finding = evaluate(parcel, as_of, rules, index)
            before = existing.pop(key, None)
            if finding is not None:
                episodes.upsert(parcel, finding, before, resolved.get(key))
            elif before is not None:
                episodes.close(before, "resolved")
        done = _delivered(conn, existing, as_of)
        for key, before in existing.items():  # delivered, or no longer an open order's parcel
            episodes.close(before, "delivered" if key in done else "order_closed")
        upsert(conn, schema.delay_episodes, episodes.rows, ["episode_id"])
    out = episodes.out
    out.open_episodes = sum(out.by_kind.values())
    out.incidents_active = sum(1 for i in index.relevant if i.active(as_of))
    return out


__all__ = ["KINDS", "UTC_ZONE", "DetectResult", "Finding", "detect", "episode_id", "evaluate"]
