"""The ETA model: empirical delivery-day distributions learned from delivered parcels.

Training replays every parcel delivered in the last ``lookback_days`` on a grid of
instants ``training_grid_hours`` apart (uniform in time, as runs see parcels). At each
instant it writes down what a run would have known then (a :class:`Moment`: stage - label,
network, local = at the delivery station or out for delivery, held -, the newest delay kind
and its reason, business hours since the last scan, local hour, and the carrier statement's
kind) and how many of the service's business days the real delivery came after four
anchors:

- ``carrier``: the carrier's newest ETA statement (the carrier's own ETA as one input);
- ``today``: the day of the instant itself;
- ``here``: the same, keyed by the facility of the last scan (where it is on its route);
- ``pickup``: the day the parcel was picked up (the lane's transit time).

Counts are kept per key from fine to coarse lane (state to state, region to region,
service, carrier); coarser keys never pool delay kinds, so a kind's typical extra time is
learned from that kind only. Parcels still on their way count as survivors (censored) from
the start of their trouble, and each key's distribution is a Kaplan-Meier estimate: a hold
still going on has delivered only its quickest parcels, which alone would look too quick.

Prediction describes a live parcel the same way, conditions each anchor's finest key with
at least ``min_history`` deliveries on delivery not before the first possible day, and
keeps the narrowest window among the ``carrier`` and ``today`` anchors (``here`` and
``pickup`` only when those have no history). The window is the shortest run of delivery
days holding ``confidence`` at the Wilson lower bound (``uncertainty_z``) of its share,
counting parcels rather than instants (one parcel's instants are one observation), so
thin history widens it; that lower bound is the stated confidence. A finest lane too thin
for a window to show falls back to coarser lanes. Wider than
``max_window_days``, or no window reaching the confidence, means "unknown". ``p_late`` is
the (lower bound of the) probability of arriving after the promised day, 1 once the
promised day can no longer be met; a parcel stuck where history has no deliveries yet gets
it from where it would be if it moved on now. Business days are the service's calendar
(weekmask and the carrier's holidays).
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from math import sqrt
from typing import Any

import numpy as np

from carriers.taxonomy import Status
from notify import calendars, lanes
from notify.calendars import CalendarSpec
from notify.parcels import TROUBLE, WAITING, Event, Parcel
from notify.rules import DetectionRules

ELAPSED_HOURS = (3, 6, 12, 24, 48, 96)  # buckets of business hours since the last scan
ANCHORS = ("carrier", "today", "here", "pickup")
PRIMARY = frozenset({"carrier", "today"})
Key = tuple[Any, ...]


@dataclass(frozen=True)
class Statement:
    stated_at: datetime
    day: date | None  # None: the carrier withdrew its ETA


@dataclass(frozen=True)
class Moment:
    """What we know about a parcel at one instant, as the model keys it."""

    stage: str  # label | network | local | held
    trouble: str  # "status:reason" of the newest trouble scan, or "none"
    elapsed: int  # bucket of business hours since the last scan (ELAPSED_HOURS)
    hour: int  # local hour // 6 in the destination's zone
    local_hour: int
    out_today: bool  # went out for delivery today (destination's zone)
    statement: str  # none | withdrawn | initial | revised, "+" when made after the trouble
    today: date
    statement_day: date | None
    pickup_day: date | None
    last: Event | None


def _bucket(hours: float) -> int:
    return sum(1 for edge in ELAPSED_HOURS if hours >= edge)


def _stage(last: Event | None, p: Parcel) -> str:
    if last is None or last.status in WAITING:
        return "label"
    if last.status == Status.OUT_FOR_DELIVERY.value:
        return "local"
    if last.status in TROUBLE:
        return "held"
    postal = (p.destination_postal or "").strip().upper()
    if postal and (last.postal_code or "").strip().upper() == postal:
        return "local"
    return "network"


def _statement_kind(
    latest: Statement | None, first_day: date | None, trouble_at: datetime | None
) -> str:
    if latest is None:
        return "none"
    if latest.day is None:
        return "withdrawn"
    kind = "initial" if latest.day == first_day else "revised"
    informed = trouble_at is not None and latest.stated_at >= trouble_at
    return kind + ("+" if informed else "")


class _Segment:
    """What stays the same about a parcel between two changes of its story (a scan, a
    statement): everything but the clock. Business hours since the last scan are counted
    per local day once and reused for every instant of the segment."""

    def __init__(
        self,
        p: Parcel,
        events: Sequence[Event],
        latest: Statement | None,
        first_day: date | None,
        spec: CalendarSpec,
    ) -> None:
        last = events[-1] if events else None
        trouble = next((e for e in reversed(events) if e.is_trouble), None)
        picked = next((e for e in events if e.status not in WAITING), None)
        self.p, self.spec, self.last = p, spec, last
        self.stage = _stage(last, p)
        self.trouble = f"{trouble.status}:{trouble.reason or ''}" if trouble else "none"
        self.statement = _statement_kind(
            latest, first_day, trouble.occurred_at if trouble else None
        )
        self.statement_day = latest.day if latest is not None else None
        self.pickup_day = picked.occurred_at.astimezone(p.dest_zone).date() if picked else None
        self.since = last.occurred_at if last is not None else p.shipped_at
        self.zone = last.zone(p.dest_zone) if last is not None else p.dest_zone
        out = last is not None and last.status == Status.OUT_FOR_DELIVERY.value
        self.out_day = last.occurred_at.astimezone(p.dest_zone).date() if out and last else None
        self._midnights: dict[date, float] = {}

    def _before(self, day: date, first: date) -> float:
        """Business hours from the last scan to the start of local ``day``."""
        if day in self._midnights:
            return self._midnights[day]
        assert self.since is not None
        local = self.since.astimezone(self.zone)
        open_first = calendars.open_on(first, self.spec)
        hours = 24 - calendars.hours_into_day(local) if open_first else 0.0
        current = first + timedelta(days=1)
        while current < day:
            hours += 24.0 * calendars.open_on(current, self.spec)
            current += timedelta(days=1)
        self._midnights[day] = hours
        return hours

    def waited(self, at: datetime) -> float:
        """Business hours since the last scan (wall-clock hours while under half a day)."""
        since = self.since or at
        hours = (at - since).total_seconds() / 3600
        if hours < 12:
            return hours
        local, first = at.astimezone(self.zone), since.astimezone(self.zone).date()
        day = local.date()
        if day == first:
            return hours if calendars.open_on(day, self.spec) else 0.0
        today = calendars.hours_into_day(local) if calendars.open_on(day, self.spec) else 0.0
        return self._before(day, first) + today

    def at(self, at: datetime) -> Moment:
        local = at.astimezone(self.p.dest_zone)
        return Moment(
            stage=self.stage,
            trouble=self.trouble,
            elapsed=_bucket(self.waited(at)),
            hour=local.hour // 6,
            local_hour=local.hour,
            out_today=self.out_day == local.date(),
            statement=self.statement,
            today=local.date(),
            statement_day=self.statement_day,
            pickup_day=self.pickup_day,
            last=self.last,
        )


def describe(
    p: Parcel,
    events: Sequence[Event],
    latest: Statement | None,
    first_day: date | None,
    at: datetime,
    spec: CalendarSpec,
) -> Moment:
    """The moment of parcel ``p`` at ``at`` given its scans and statements up to then."""
    return _Segment(p, events, latest, first_day, spec).at(at)


def live_moment(p: Parcel, as_of: datetime, spec: CalendarSpec) -> Moment:
    """A live parcel's moment (its newest statement and first dated one as of the run)."""
    latest = None
    if p.eta_statement_id is not None:
        day = date.fromisoformat(p.eta_latest) if p.eta_latest else None
        latest = Statement(p.eta_stated_at or as_of, day)
    first = date.fromisoformat(p.first_eta_latest) if p.first_eta_latest else None
    return describe(p, p.events, latest, first, as_of, spec)


def _lane(p: Parcel, rules: DetectionRules) -> tuple[str, str, str, str, str, str]:
    o, d = p.origin, p.destination
    return (p.carrier, p.service or "", o, d, lanes.region(o, rules.regions),
            lanes.region(d, rules.regions))  # fmt: skip


def anchor_keys(
    m: Moment, p: Parcel, rules: DetectionRules
) -> Iterator[tuple[str, date, list[Key]]]:
    """(anchor, anchor day, keys from fine to coarse) for every anchor the moment has.

    Coarser keys drop the lane, never the delay kind: a kind's extra time is not learned
    from other kinds.
    """
    c, sv, o, d, o_r, d_r = _lane(p, rules)
    s: Key
    if m.statement_day is not None and m.statement in (
        "initial",
        "initial+",
        "revised",
        "revised+",
    ):
        s = ("carrier", m.stage, m.trouble, m.elapsed, m.statement)
        coarse = ("carrier", m.stage, m.trouble, m.statement)
        yield "carrier", m.statement_day, [(*s, c, sv, o_r, d_r), (*s, c, sv), (*s, c), s, coarse]
    s = ("today", m.stage, m.trouble, m.elapsed, m.hour)
    yield "today", m.today, [
        (*s, c, sv, o, d), (*s, c, sv, o_r, d_r), (*s, c, sv), (*s, c), s,
        ("today", m.stage, m.trouble, m.elapsed),
    ]  # fmt: skip
    facility = m.last.facility if m.last is not None else None
    if facility is not None and m.stage != "label":
        s = ("here", m.stage, m.trouble, m.elapsed, facility)
        yield "here", m.today, [(*s, m.hour, c, sv, d), (*s, c, sv, d), (*s, c, d_r), (*s, d_r)]
    if m.pickup_day is not None:
        s = ("pickup", m.stage, m.trouble, m.elapsed)
        yield "pickup", m.pickup_day, [(*s, c, sv, o, d), (*s, c, sv, o_r, d_r), (*s, c, sv), s]


def released_now(m: Moment) -> Moment:
    """The same parcel as if it had just moved on from where it is (or been picked up):
    the earliest it can still arrive when the hold's end is not known yet."""
    return replace(
        m,
        stage="network",
        trouble="none",
        elapsed=0,
        statement="none",
        statement_day=None,
        out_today=False,
        pickup_day=m.pickup_day or m.today,
    )


# --------------------------------------------------------------------------- training


@dataclass
class HistoryParcel:
    parcel: Parcel
    statements: list[Statement]
    delivered_at: datetime | None  # None: not delivered yet (a censored observation)


def _grid(start: datetime, stop: datetime, hours: float) -> Iterator[datetime]:
    """Instants on the UTC grid of ``hours`` from ``start`` (inclusive) to ``stop`` (exclusive)."""
    step = int(hours * 3600)
    first = -(-int(start.timestamp()) // step) * step
    at = datetime.fromtimestamp(first, start.tzinfo)
    while at < stop:
        yield at
        at += timedelta(seconds=step)


def moments(
    h: HistoryParcel,
    grid_hours: float,
    spec: CalendarSpec,
    until: datetime | None = None,
    after: datetime | None = None,
) -> Iterator[Moment]:
    """The parcel as the model would have seen it at every grid instant before delivery
    (or before ``until`` for a parcel not delivered yet; from ``after`` on if given):
    uniform in time, like runs are."""
    p = h.parcel
    stop = h.delivered_at or until
    if stop is None:
        return
    events = [e for e in p.events if e.occurred_at < stop]
    begin = events[0].occurred_at if events else p.shipped_at
    if begin is None:
        return
    first_day = next((s.day for s in h.statements if s.day is not None), None)
    n_events = n_statements = 0
    segment: _Segment | None = None
    for at in _grid(max(begin, after) if after else begin, stop, grid_hours):
        moved = False
        while n_events < len(events) and events[n_events].occurred_at <= at:
            n_events, moved = n_events + 1, True
        while n_statements < len(h.statements) and h.statements[n_statements].stated_at <= at:
            n_statements, moved = n_statements + 1, True
        if segment is None or moved:
            so_far = h.statements[:n_statements]
            latest = so_far[-1] if so_far else None
            first = first_day if any(st.day is not None for st in so_far) else None
            segment = _Segment(p, events[:n_events], latest, first, spec)
        yield segment.at(at)


@dataclass
class _Seen:
    """The (key, anchor day) pairs one parcel contributed, up to ``until``."""

    until: datetime
    signature: tuple[Any, ...]
    keys: list[Key] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)  # date ordinals


def _sample(parcels: list[Parcel], most: int) -> tuple[list[Parcel], float]:
    """At most about ``most`` parcels (a stable hash sample) and the weight each carries."""
    if len(parcels) <= most:
        return parcels, 1.0
    every = -(-len(parcels) // most)
    chosen = [p for p in parcels if zlib.crc32(p.tracking_number.encode()) % every == 0]
    return chosen, len(parcels) / max(len(chosen), 1)


def _trouble_began(p: Parcel) -> datetime | None:
    """The first trouble scan, else the last scan: where a waiting parcel's story got odd."""
    first = next((e for e in p.events if e.is_trouble), None)
    if first is not None:
        return first.occurred_at
    return p.events[-1].occurred_at if p.events else None


def _signature(h: HistoryParcel, until: datetime) -> tuple[Any, ...]:
    events = [e.event_id for e in h.parcel.events if e.occurred_at < until]
    statements = [s.stated_at for s in h.statements if s.stated_at <= until]
    return (tuple(events), tuple(statements))


@dataclass
class _Counts:
    """Per key: deliveries per residual, and moments known undelivered through a residual."""

    delivered: dict[Key, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    survived: dict[Key, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    parcels: dict[Key, float] = field(default_factory=lambda: defaultdict(float))
    moments: dict[Key, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, key: Key, residual: int, delivered: bool) -> None:
        table = self.delivered if delivered else self.survived
        bucket = table[key]
        bucket[residual] = bucket.get(residual, 0) + 1


UNIX_ORDINAL = date(1970, 1, 1).toordinal()


def _ordinal_days(ordinals: np.ndarray) -> np.ndarray:
    return (ordinals - UNIX_ORDINAL).astype("datetime64[D]")


@dataclass(frozen=True)
class Distribution:
    """Delivery-day probabilities for one parcel, and how much history is behind them."""

    days: dict[date, float]
    beyond: float  # probability of a day later than any seen in history (unknown)
    history: int  # deliveries on or after the first possible day behind it
    key: Key


def _survival(
    delivered: dict[int, float], survived: dict[int, float], floor: int
) -> tuple[dict[int, float], float, int]:
    """Kaplan-Meier over business-day residuals >= ``floor``: P(residual), the mass beyond
    the last delivery seen, and how many deliveries it rests on."""
    points = sorted({r for r in delivered if r >= floor} | {r for r in survived if r >= floor})
    seen = sum(n for r, n in delivered.items() if r >= floor)
    at_risk = seen + sum(n for r, n in survived.items() if r >= floor)
    alive, probs = 1.0, {}
    seen_count = round(seen)
    for r in points:
        if at_risk <= 0:
            break
        d = delivered.get(r, 0)
        if d:
            probs[r] = alive * d / at_risk
            alive *= 1 - d / at_risk
        at_risk -= d + survived.get(r, 0)
    return probs, max(alive, 0.0), seen_count


FIT_CHUNK = 10_000  # delivered parcels whose moments are counted together


class EtaModel:
    """Residual counts per key; :meth:`fit` learns them, :meth:`predict` uses them."""

    def __init__(self, rules: DetectionRules) -> None:
        self.rules = rules
        self.counts = _Counts()
        self.fitted: set[tuple[str, str]] = set()
        self.fitted_until: datetime | None = None
        self.overlay = _Counts()
        self._waiting: dict[tuple[str, str], _Seen] = {}
        self._km: dict[tuple[Key, int], tuple[dict[int, float], float, int] | None] = {}
        self._dists: dict[tuple[Any, ...], Distribution | None] = {}

    @property
    def parcels(self) -> int:
        return len(self.fitted)

    def _pairs(
        self,
        h: HistoryParcel,
        until: datetime | None,
        into: _Seen | None,
        after: datetime | None = None,
    ) -> _Seen:
        """Every (key, anchor) of the parcel's moments (from ``after`` on), extending
        ``into`` when it is still valid."""
        stop = h.delivered_at or until
        assert stop is not None
        grid = self.rules.eta.training_grid_hours
        if into is not None and into.signature == _signature(h, into.until):
            after, seen = into.until, into
        else:
            seen = _Seen(stop, ())
        spec = self.rules.calendar(h.parcel.carrier, h.parcel.service)
        for m in moments(h, grid, spec, until, after):
            for _, anchor, keys in anchor_keys(m, h.parcel, self.rules):
                seen.keys.extend(keys)
                seen.anchors.extend([anchor.toordinal()] * len(keys))
        seen.until = stop
        seen.signature = _signature(h, stop)
        return seen

    def _count(
        self,
        rows: dict[CalendarSpec, tuple[list[Key], list[int], list[int]]],
        into: _Counts,
        delivered: bool,
        weight: float = 1.0,
    ) -> None:
        for spec, (keys, anchors, known) in rows.items():
            a = _ordinal_days(np.array(anchors, dtype=np.int64))
            d = _ordinal_days(np.array(known, dtype=np.int64))
            residuals = calendars.business_day_offsets(a, d, spec)
            if not delivered:  # not delivered yet: known to have survived through yesterday
                residuals = residuals - 1
            table = into.delivered if delivered else into.survived
            for (key, r), n in Counter(zip(keys, residuals.tolist(), strict=True)).items():
                bucket = table[key]
                bucket[r] = bucket.get(r, 0) + n * weight
        self._km.clear()
        self._dists.clear()

    def _observe(
        self,
        items: Iterable[tuple[HistoryParcel, _Seen]],
        into: _Counts,
        delivered: bool,
        weight: float = 1.0,
    ) -> None:
        rows: dict[CalendarSpec, tuple[list[Key], list[int], list[int]]] = {}
        for h, seen in items:
            p = h.parcel
            spec = self.rules.calendar(p.carrier, p.service)
            known = seen.until.astimezone(p.dest_zone).date().toordinal()
            keys, anchors, days = rows.setdefault(spec, ([], [], []))
            keys.extend(seen.keys)
            anchors.extend(seen.anchors)
            days.extend([known] * len(seen.keys))
            for key, n in Counter(seen.keys).items():  # moments of one parcel are not
                into.parcels[key] += weight  # independent: history counts parcels
                into.moments[key] += n * weight
        self._count(rows, into, delivered, weight)

    def fit(self, history: Iterable[HistoryParcel]) -> EtaModel:
        """Learn from delivered parcels not learned from yet (the model only grows).

        Counted ``FIT_CHUNK`` parcels at a time: the counts add up, and a parcel's moments
        (a few hundred keys each) are only held while its chunk is counted.
        """
        new = []
        for h in history:
            key = (h.parcel.carrier, h.parcel.tracking_number)
            if h.delivered_at is not None and key not in self.fitted:
                self.fitted.add(key)
                new.append((h, self._pairs(h, None, None)))
                if len(new) >= FIT_CHUNK:
                    self._observe(new, self.counts, delivered=True)
                    new = []
        self._observe(new, self.counts, delivered=True)
        return self

    def waiting(
        self,
        parcels: Iterable[Parcel],
        statements: dict[tuple[str, str], list[Statement]],
        as_of: datetime,
    ) -> None:
        """Parcels still on their way as of ``as_of`` (replaces the previous set): what they
        show since their trouble began is evidence too, or history would only hold the quick
        ones (a disruption still going on has delivered nothing yet). Their moments before
        the trouble are states history knows well, and are left out."""
        self.overlay = _Counts()
        self._km.clear()
        self._dists.clear()
        chosen, weight = _sample(list(parcels), self.rules.eta.waiting_sample)
        horizon = as_of - timedelta(days=self.rules.eta.waiting_days)
        items, cache = [], {}
        for p in chosen:
            key = (p.carrier, p.tracking_number)
            h = HistoryParcel(p, statements.get(key, []), None)
            began = _trouble_began(p)
            after = max(began, horizon) if began is not None else horizon
            seen = self._pairs(h, as_of, self._waiting.get(key), after)
            cache[key] = seen
            items.append((h, seen))
        self._waiting = cache
        self._observe(items, self.overlay, delivered=False, weight=weight)

    def _merged(self, key: Key) -> tuple[dict[int, float], dict[int, float]]:
        delivered = dict(self.counts.delivered.get(key, {}))
        survived = dict(self.counts.survived.get(key, {}))
        for table, extra in (
            (delivered, self.overlay.delivered),
            (survived, self.overlay.survived),
        ):
            for r, n in extra.get(key, {}).items():
                table[r] = table.get(r, 0) + n
        return delivered, survived

    def _independent_share(self, key: Key) -> float:
        """Parcels per moment under a key: a parcel seen at several instants in the same
        state is one observation, not several, when judging how much history there is."""
        moments = self.counts.moments.get(key, 0.0) + self.overlay.moments.get(key, 0.0)
        parcels = self.counts.parcels.get(key, 0.0) + self.overlay.parcels.get(key, 0.0)
        return min(1.0, parcels / moments) if moments else 1.0

    def _estimate(self, key: Key, floor: int) -> tuple[dict[int, float], float, int] | None:
        """Kaplan-Meier for one key from ``floor`` on (cached until the counts change)."""
        cached = self._km.get((key, floor), False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        delivered, survived = self._merged(key)
        found = None
        if delivered:
            probs, beyond, seen = _survival(delivered, survived, floor)
            seen = round(seen * self._independent_share(key))
            if seen >= self.rules.eta.min_history and probs:
                found = (probs, beyond, seen)
        self._km[(key, floor)] = found
        return found

    def distribution(
        self, keys: list[Key], anchor: date, floor_day: date, spec: CalendarSpec, clip: bool = False
    ) -> Distribution | None:
        """The finest key with enough history on or after ``floor_day`` (``clip``: all of
        its history, with days before ``floor_day`` moved onto it)."""
        floor = calendars.offset(anchor, floor_day, spec) if not clip else -(10**6)
        for key in keys:
            cached = (key, anchor, floor_day, spec, clip)
            if cached in self._dists:
                found_dist = self._dists[cached]
                if found_dist is None:
                    continue
                return found_dist
            found = self._estimate(key, floor)
            if found is None:
                self._dists[cached] = None
                continue
            probs, beyond, seen = found
            out: dict[date, float] = defaultdict(float)
            for r in sorted(probs):
                out[max(calendars.add_days(anchor, r, spec), floor_day)] += probs[r]
            self._dists[cached] = Distribution(dict(out), beyond, seen, key)
            return self._dists[cached]
        return None


# --------------------------------------------------------------------------- prediction


@dataclass(frozen=True)
class Window:
    earliest: date
    latest: date
    most_likely: date
    confidence: float  # probability inside the window
    days: int  # delivery days of the service inside the window


@dataclass(frozen=True)
class Prediction:
    window: Window | None  # None: no window holds the confidence (unknown)
    shown: bool  # the window is narrow enough to tell the customer
    distribution: dict[date, float]
    beyond: float  # probability of a later day than history has seen
    p_late: float | None
    basis: str
    history: int


NO_PREDICTION = Prediction(None, False, {}, 1.0, None, "none", 0)


def _business_days(a: date, b: date, spec: CalendarSpec) -> int:
    return calendars.offset(a, b, spec) + 1


def lower_bound(share: float, n: int, z: float) -> float:
    """Wilson lower bound of a share seen in ``n`` observations (``z`` standard errors)."""
    if n <= 0:
        return 0.0
    centre = share + z * z / (2 * n)
    spread = z * sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def window_of(
    dist: dict[date, float], confidence: float, spec: CalendarSpec, n: int = 0, z: float = 0.0
) -> Window | None:
    """The shortest run of days whose probability reaches ``confidence`` even at its lower
    bound from ``n`` observations (the likelier run on ties); None when none does."""
    days = sorted(dist)
    best: tuple[int, float, int, int] | None = None
    for i in range(len(days)):
        held = 0.0
        for j in range(i, len(days)):
            held += dist[days[j]]
            sure = lower_bound(held, n, z) if z > 0 else held
            if sure >= confidence - 1e-9:
                width = _business_days(days[i], days[j], spec)
                if best is None or (width, -held) < (best[0], -best[1]):
                    best = (width, held, i, j)
                break
    if best is None:
        return None
    width, held, i, j = best
    inside = days[i : j + 1]
    mode = max(inside, key=lambda d: (dist[d], -d.toordinal()))
    sure = lower_bound(held, n, z) if z > 0 else held
    return Window(days[i], days[j], mode, min(sure, 1.0), width)


def mass(dist: dict[date, float], earliest: date, latest: date) -> float:
    return sum(p for d, p in dist.items() if earliest <= d <= latest)


def p_late(
    dist: dict[date, float], beyond: float, promised: date | None, n: int = 0, z: float = 0.0
) -> float | None:
    """Probability of arriving after the promised day (its lower bound from ``n``
    observations); an unseen later day counts as late when history reaches past the promise."""
    if promised is None or not dist:
        return None
    late = sum(p for d, p in dist.items() if d > promised)
    late = min(1.0, late + (beyond if max(dist) >= promised else 0.0))
    return lower_bound(late, n, z) if z > 0 else late


def earliest_possible(m: Moment, rules: DetectionRules, spec: CalendarSpec) -> date:
    """The first day delivery is still possible: today before the cut-off hour, or when
    the parcel went out for delivery today; else the next delivery day. A parcel not
    picked up yet cannot arrive today."""
    early = m.local_hour < rules.eta.same_day_cutoff_hour
    today_possible = (m.out_today or early) and m.stage != "label"
    day = m.today if today_possible else m.today + timedelta(days=1)
    return calendars.add_days(day, 0, spec)


class Predictor:
    """Predicts live parcels with a fitted model."""

    def __init__(self, model: EtaModel) -> None:
        self.model = model
        self.rules = model.rules
        self._windows: dict[int, tuple[Distribution, Window | None]] = {}

    def _best(
        self,
        m: Moment,
        p: Parcel,
        floor: date,
        spec: CalendarSpec,
        only: str | None = None,
        clip: bool = False,
    ) -> tuple[str, Distribution, Window | None] | None:
        """The narrowest window (then: the most history) among the primary anchors, the
        carrier's statement and the parcel's state today; the position and pickup anchors
        only when neither has history (their finer keys are narrow by chance too often)."""
        ranked: dict[bool, list[tuple[tuple[float, float], str, Distribution, Window | None]]]
        ranked = {True: [], False: []}
        for anchor, day, keys in anchor_keys(m, p, self.rules):
            if only is not None and anchor != only:
                continue
            found = self._level(keys, day, floor, spec, clip)
            if found is None:
                continue
            dist, w = found
            rank = (float(w.days) if w else float("inf"), -float(dist.history))
            ranked[anchor in PRIMARY].append((rank, f"{anchor}:{len(dist.key)}", dist, w))
        for choice in (ranked[True], ranked[False]):
            if choice:
                return min(choice, key=lambda c: c[0])[1:]
        return None

    def _level(
        self, keys: list[Key], day: date, floor: date, spec: CalendarSpec, clip: bool
    ) -> tuple[Distribution, Window | None] | None:
        """The finest key whose window can be shown; when none can, the finest key with
        history (for the delay probability) and no window. A coarser lane is tried only
        when the finer one is too thin to say anything useful."""
        finest: Distribution | None = None
        rest = keys
        while rest:
            dist = self.model.distribution(rest, day, floor, spec, clip)
            if dist is None:
                break
            finest = finest or dist
            w = self._window(dist, spec)
            if w is not None and w.days <= self.rules.eta.max_window_days:
                return dist, w
            rest = rest[rest.index(dist.key) + 1 :]
        return (finest, None) if finest is not None else None

    def _window(self, dist: Distribution, spec: CalendarSpec) -> Window | None:
        cached = self._windows.get(id(dist))
        if cached is not None and cached[0] is dist:
            return cached[1]
        eta = self.rules.eta
        w = window_of(dist.days, eta.confidence, spec, dist.history, eta.uncertainty_z)
        self._windows[id(dist)] = (dist, w)
        return w

    def predict(self, p: Parcel, as_of: datetime) -> Prediction:
        spec = self.rules.calendar(p.carrier, p.service)
        m = live_moment(p, as_of, spec)
        floor = earliest_possible(m, self.rules, spec)
        if p.promised_day is not None and floor > p.promised_day:
            return replace(self._predict(m, p, floor, spec), p_late=1.0)  # certainly late now
        return self._predict(m, p, floor, spec)

    def _predict(self, m: Moment, p: Parcel, floor: date, spec: CalendarSpec) -> Prediction:
        eta = self.rules.eta
        found = self._best(m, p, floor, spec)
        if found is None and m.stage in ("held", "label", "network"):
            return self._bound(m, p, floor, spec)
        if found is None:
            return NO_PREDICTION
        basis, dist, w = found
        shown = w is not None and w.days <= eta.max_window_days
        late = p_late(dist.days, dist.beyond, p.promised_day, dist.history, eta.uncertainty_z)
        return Prediction(w, shown, dist.days, dist.beyond, late, basis, dist.history)

    def _bound(self, m: Moment, p: Parcel, floor: date, spec: CalendarSpec) -> Prediction:
        """No history for where the parcel is stuck: no window, but a lower bound on being
        late from where it would be if it moved on now."""
        found = self._best(released_now(m), p, floor, spec, only="here", clip=True)
        if found is None:
            return NO_PREDICTION
        basis, dist, _ = found
        eta = self.rules.eta
        late = p_late(dist.days, 0.0, p.promised_day, dist.history, eta.uncertainty_z)
        return Prediction(None, False, {}, 1.0, late, f"released_now:{basis}", dist.history)
