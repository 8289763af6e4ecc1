"""Hub and area incidents: derived from many parcels showing the same disruption at one place.

An incident starts when at least ``min_parcels`` different parcels show an exception with
one of the incident causes (weather, natural disaster) at the same facility within
``within_hours``; its start is the first of those scans. It is over when a parcel held
there moves again (the hub is working), or ``expire_hours`` after its last evidence.
Incidents are derived from our own tracking events only, so a replay of the past derives
exactly the incidents that were visible then; each one is stored in ``incidents``.

An incident applies to exactly the parcels whose route or destination it touches:
parcels sitting at the facility since shortly before it started (held, whether or not
they have their own exception scan yet; not one whose newest scan there is a departure:
it left before the stop), and, while it lasts, parcels on their way whose lane normally
passes the facility (most delivered parcels of the same carrier, service, origin and
destination state were scanned there) and that have not passed it yet. A parcel on such a
lane whose newest scan came so long before the stop that it should have reached the
facility before the stop began (longer than ``reach_share`` of the delivered parcels of its
lane took from pickup to the facility, plus ``within_hours``) is not on its way there: it
went silent upstream, its own trouble (a stall, a loss) and not the stop's.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from carriers.taxonomy import Status
from notify import lanes
from notify.parcels import WAITING, Event, Parcel
from notify.rules import DetectionRules
from notify.store import schema
from notify.store.ops import upsert
from notify.store.types import as_utc

LOOKBACK = timedelta(days=14)
LaneKey = tuple[str, str | None, str, str]


@dataclass(frozen=True)
class Evidence:
    event: Event
    carrier: str
    tracking_number: str
    moved_at: datetime | None  # the parcel's next scan after this one, if any yet


@dataclass
class Incident:
    incident_id: str
    cause: str
    facility: str
    place: Event  # a scan at the facility (its location fields)
    area: str
    starts_at: datetime
    confirmed_at: datetime
    last_evidence_at: datetime
    ends_at: datetime | None = None
    evidence: list[int] = field(default_factory=list)
    held: set[tuple[str, str]] = field(default_factory=set)
    routes: set[LaneKey] = field(default_factory=set)
    # Per route: the time within which most delivered parcels of the lane (``reach_share``)
    # got from pickup to the facility (absent when none of them had a pickup scan).
    reach: dict[LaneKey, timedelta] = field(default_factory=dict)

    def active(self, as_of: datetime) -> bool:
        return self.ends_at is None or self.ends_at > as_of

    def to_row(self, as_of: datetime, rules_version: str) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "source": "derived",
            "cause": self.cause,
            "city": self.place.city,
            "region": self.place.region,
            "postal_code": self.place.postal_code,
            "country": self.place.country,
            "area": self.area,
            "starts_at": self.starts_at,
            "last_evidence_at": self.last_evidence_at,
            "ends_at": self.ends_at,
            "evidence": json.dumps(sorted(self.evidence)),
            "parcels": len(self.held),
            "rules_version": rules_version,
            "updated_at": as_of,
        }


def _incident_id(facility: str, starts_at: datetime) -> str:
    raw = f"{facility}|{starts_at.isoformat()}"
    return "inc_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def _evidence(conn: Connection, as_of: datetime, causes: Iterable[str]) -> list[Evidence]:
    e = schema.tracking_events
    later = schema.tracking_events.alias("later")
    moved = (
        select(func.min(later.c.occurred_at))
        .where(
            later.c.carrier == e.c.carrier,
            later.c.tracking_number == e.c.tracking_number,
            later.c.occurred_at > e.c.occurred_at,
            later.c.occurred_at <= as_of,
        )
        .scalar_subquery()
    )
    rows = conn.execute(
        select(e, moved.label("moved_at"))
        .where(
            e.c.status == Status.EXCEPTION.value,
            e.c.reason.in_(sorted(causes)),
            e.c.occurred_at <= as_of,
            e.c.occurred_at > as_of - LOOKBACK,
        )
        .order_by(e.c.occurred_at, e.c.event_id)
    ).all()
    out = []
    for r in rows:
        event = Event(r.event_id, as_utc(r.occurred_at), r.status, r.reason, r.city, r.region,
                      r.postal_code, r.country, r.local_time)  # fmt: skip
        moved_at = as_utc(r.moved_at) if r.moved_at is not None else None
        out.append(Evidence(event, r.carrier, r.tracking_number, moved_at))
    return out


def _area(event: Event, rules: DetectionRules) -> str:
    country = event.country or "US"
    return lanes.region(lanes.place(event.postal_code, country), rules.regions)


class _Cluster:
    """Scans one facility's evidence in time order and cuts it into incidents."""

    def __init__(self, facility: str, as_of: datetime, rules: DetectionRules) -> None:
        self.facility, self.as_of, self.rules = facility, as_of, rules
        self.window: deque[Evidence] = deque()
        self.current: Incident | None = None
        self.done: list[Incident] = []

    def _ended(self, at: datetime) -> bool:
        """Close the current incident if it was over before ``at``."""
        inc = self.current
        if inc is None:
            return False
        expiry = inc.last_evidence_at + timedelta(hours=self.rules.incidents.expire_hours)
        end = min(x for x in (inc.ends_at, expiry) if x is not None)
        if end <= at:
            inc.ends_at = end if end <= self.as_of else None
            self.done.append(inc)
            self.current = None
            self.window.clear()
            return True
        return False

    def add(self, ev: Evidence) -> None:
        self._ended(ev.event.occurred_at)
        if self.current is not None:
            self._absorb(self.current, ev)
            return
        within = timedelta(hours=self.rules.incidents.within_hours)
        self.window.append(ev)
        while self.window[0].event.occurred_at < ev.event.occurred_at - within:
            self.window.popleft()
        parcels = {(w.carrier, w.tracking_number) for w in self.window}
        if len(parcels) >= self.rules.incidents.min_parcels:
            first = self.window[0].event
            inc = Incident(
                incident_id=_incident_id(self.facility, first.occurred_at),
                cause=first.reason or "weather",
                facility=self.facility,
                place=first,
                area=_area(first, self.rules),
                starts_at=first.occurred_at,
                confirmed_at=ev.event.occurred_at,
                last_evidence_at=ev.event.occurred_at,
            )
            for w in self.window:
                self._absorb(inc, w)
            self.current = inc

    def _absorb(self, inc: Incident, ev: Evidence) -> None:
        inc.evidence.append(ev.event.event_id)
        inc.held.add((ev.carrier, ev.tracking_number))
        inc.last_evidence_at = max(inc.last_evidence_at, ev.event.occurred_at)
        if ev.moved_at is not None and ev.moved_at > inc.confirmed_at:
            inc.ends_at = ev.moved_at if inc.ends_at is None else min(inc.ends_at, ev.moved_at)

    def finish(self) -> list[Incident]:
        if not self._ended(self.as_of) and self.current is not None:
            self.done.append(self.current)
        return self.done


def derive(conn: Connection, as_of: datetime, rules: DetectionRules) -> list[Incident]:
    """Every incident visible as of ``as_of`` (ongoing or ended within the lookback)."""
    by_facility: dict[str, list[Evidence]] = defaultdict(list)
    for ev in _evidence(conn, as_of, rules.incidents.causes):
        if ev.event.facility is not None:
            by_facility[ev.event.facility].append(ev)
    incidents: list[Incident] = []
    for facility, evidence in sorted(by_facility.items()):
        cluster = _Cluster(facility, as_of, rules)
        for ev in evidence:
            cluster.add(ev)
        incidents.extend(cluster.finish())
    return incidents


def _routes(conn: Connection, inc: Incident, as_of: datetime, rules: DetectionRules) -> None:
    """Lanes whose delivered parcels mostly passed the incident's facility, and for each the
    time within which ``reach_share`` of them got from pickup to their first scan there."""
    e, s = schema.tracking_events, schema.shipments
    seen = schema.tracking_events.alias("seen")
    at_place = (
        and_(seen.c.postal_code == inc.place.postal_code, seen.c.country == inc.place.country)
        if inc.place.postal_code
        else and_(seen.c.city == inc.place.city, seen.c.region == inc.place.region)
    )
    same_parcel = and_(seen.c.carrier == s.c.carrier, seen.c.tracking_number == s.c.tracking_number)
    reached = select(func.min(seen.c.occurred_at)).where(same_parcel, at_place)
    picked = select(func.min(seen.c.occurred_at)).where(
        same_parcel, seen.c.status.not_in(sorted(WAITING))
    )
    delivered = (
        select(e.c.carrier, e.c.tracking_number)
        .where(e.c.status == Status.DELIVERED.value, e.c.occurred_at <= as_of)
        .where(e.c.occurred_at > as_of - timedelta(days=rules.eta.lookback_days))
        .subquery()
    )
    rows = conn.execute(
        select(
            s.c.carrier,
            s.c.service,
            s.c.origin_postal_code,
            s.c.destination_postal_code,
            s.c.destination_country,
            reached.scalar_subquery().label("reached"),
            picked.scalar_subquery().label("picked"),
        ).join(
            delivered,
            and_(
                delivered.c.carrier == s.c.carrier,
                delivered.c.tracking_number == s.c.tracking_number,
            ),
        )
    ).all()
    counts: dict[LaneKey, list[int]] = defaultdict(lambda: [0, 0])
    took: dict[LaneKey, list[timedelta]] = defaultdict(list)
    for r in rows:
        key = (r.carrier, r.service, lanes.place(r.origin_postal_code, "US"),
               lanes.place(r.destination_postal_code, r.destination_country))  # fmt: skip
        counts[key][0] += 1
        if r.reached is None:
            continue
        counts[key][1] += 1
        if r.picked is not None:
            took[key].append(max(as_utc(r.reached) - as_utc(r.picked), timedelta()))
    share = rules.incidents.route_share
    inc.routes = {k for k, (n, through_n) in counts.items() if through_n >= share * n}
    inc.reach = {
        k: _share_within(took[k], rules.incidents.reach_share) for k in inc.routes if took[k]
    }


def _share_within(durations: list[timedelta], share: float) -> timedelta:
    """The shortest time within which ``share`` of ``durations`` (not empty) fall."""
    ordered = sorted(durations)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


class IncidentIndex:
    """Which incident, if any, touches a parcel as of a run."""

    def __init__(self, incidents: list[Incident], as_of: datetime, rules: DetectionRules) -> None:
        grace = timedelta(hours=rules.incidents.within_hours)
        self.as_of = as_of
        self.rules = rules
        self.relevant = [i for i in incidents if i.ends_at is None or i.ends_at + grace > as_of]
        self.by_facility: dict[str, list[Incident]] = defaultdict(list)
        for inc in self.relevant:
            self.by_facility[inc.facility].append(inc)
        self.every: dict[str, list[Incident]] = defaultdict(list)  # ended ones too (lookback)
        for inc in incidents:
            self.every[inc.facility].append(inc)

    def load_routes(self, conn: Connection) -> None:
        for inc in self.relevant:
            if inc.active(self.as_of):
                _routes(conn, inc, self.as_of, self.rules)

    def touching(self, p: Parcel) -> tuple[Incident, Event | None] | None:
        """The incident holding the parcel (with its scan there) or on its route (None)."""
        if not self.relevant or not p.events:
            return None
        last = p.events[-1]
        grace = timedelta(hours=self.rules.incidents.within_hours)
        held_at = None if last.departed else last.facility  # a departure: it left that place
        for inc in self.by_facility.get(held_at or "", []):
            before_end = inc.ends_at is None or last.occurred_at < inc.ends_at
            if last.occurred_at >= inc.starts_at - grace and before_end:
                return inc, last
        return self._upstream(p)

    def stopped_at(self, event: Event) -> Incident | None:
        """The incident (ongoing or over) that had stopped the facility of ``event`` when it
        was scanned: from shortly before the incident's start (``within_hours``) to its end."""
        grace = timedelta(hours=self.rules.incidents.within_hours)
        for inc in self.every.get(event.facility or "", []):
            ended = inc.ends_at is not None and event.occurred_at >= inc.ends_at
            if event.occurred_at >= inc.starts_at - grace and not ended:
                return inc
        return None

    def _upstream(self, p: Parcel) -> tuple[Incident, Event | None] | None:
        if all(e.status in WAITING for e in p.events):
            return None
        key = (p.carrier, p.service, p.origin, p.destination)
        seen = {e.facility for e in p.events}
        last = p.events[-1].occurred_at
        grace = timedelta(hours=self.rules.incidents.within_hours)
        for inc in self.relevant:
            if not inc.active(self.as_of) or key not in inc.routes or inc.facility in seen:
                continue
            reach = inc.reach.get(key)
            if reach is not None and last + reach + grace < inc.starts_at:
                continue  # silent since long before the stop: it should have been there by then
            return inc, None
        return None


def refresh(conn: Connection, as_of: datetime, rules: DetectionRules) -> IncidentIndex:
    """Derive the incidents visible as of the run, store them, and index them for detect."""
    incidents = derive(conn, as_of, rules)
    rows = [i.to_row(as_of, rules.version) for i in incidents]
    upsert(conn, schema.incidents, rows, ["incident_id"])
    index = IncidentIndex(incidents, as_of, rules)
    index.load_routes(conn)
    return index
