"""What physically happens to each parcel: pickup, hubs, holds, delivery attempts, ETAs.

Vectorised over the parcels of a chunk. Each parcel gets at most one scenario (most get
none): a failed attempt and redelivery, an address issue, a return to sender, damage, loss
(scans just stop), a stall (no scan for days, then it resumes), a missed pickup (late or
never), a customs hold, or, for parcels at the incident hub while it is stopped, a weather
hold. On top, each lane has its own chance of arriving a day early or one or two days late
(a transport delay the carrier flags only sometimes). Times are built so that every parcel's
scans are strictly ordered: the label, the evening pickup, hub arrivals and departures spread
over the transit time (snapped to the night where there is room), the early-morning arrival
at the delivery station, out for delivery, delivered. A hold at hub ``j`` moves the departure
from ``j`` and re-plans everything after it on a later delivery day.

The carrier's ETA statements are made here too: the nominal date at label time, then a
revision, a withdrawal or nothing, depending on the scenario (carriers miss some delays and
are sometimes optimistic).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from carriers.taxonomy import Reason
from notify.simulate.catalog import SERVICES, Scan
from notify.simulate.clock import DAY, HOUR, MINUTE, NEVER
from notify.simulate.context import Context
from notify.simulate.orders import Parcels

Arr = NDArray[Any]
SLOTS = 3  # most hubs on a route


class Scenario(IntEnum):
    NONE = 0
    ATTEMPT = 1
    ADDRESS = 2
    RETURN = 3
    DAMAGED = 4
    LOST = 5
    STALL = 6
    LATE_PICKUP = 7
    NO_PICKUP = 8
    CUSTOMS = 9
    WEATHER = 10
    TRANSPORT = 11  # no scenario, but the lane made it late


# Share of parcels per scenario (customs: share of international parcels).
SHARES: dict[Scenario, float] = {
    Scenario.ATTEMPT: 0.03,
    Scenario.ADDRESS: 0.012,
    Scenario.RETURN: 0.004,
    Scenario.DAMAGED: 0.005,
    Scenario.LOST: 0.003,
    Scenario.STALL: 0.015,
    Scenario.LATE_PICKUP: 0.003,
    Scenario.NO_PICKUP: 0.003,
}
CUSTOMS_SHARE = 0.3
EVENT: dict[Scenario, Reason] = {
    Scenario.ATTEMPT: Reason.RECIPIENT_UNAVAILABLE,
    Scenario.ADDRESS: Reason.ADDRESS_ISSUE,
    Scenario.RETURN: Reason.RETURNING_TO_SENDER,
    Scenario.DAMAGED: Reason.DAMAGED,
    Scenario.LOST: Reason.LOST,
    Scenario.STALL: Reason.NO_SCAN,
    Scenario.LATE_PICKUP: Reason.MISSED_PICKUP,
    Scenario.NO_PICKUP: Reason.MISSED_PICKUP,
    Scenario.CUSTOMS: Reason.CUSTOMS,
    Scenario.WEATHER: Reason.WEATHER,
    Scenario.TRANSPORT: Reason.TRANSPORT_DELAY,
}
WITHDRAWN = -1  # eta_day of a statement that withdraws the ETA


@dataclass
class Track:
    """Per-parcel timeline (instants in epoch seconds, days in epoch days)."""

    scenario: Arr
    dzone: Arr
    k: Arr  # hubs on the route
    hub: Arr  # [n, SLOTS]
    pick: Arr
    eta0: Arr  # the carrier's nominal delivery day at label time
    day: Arr  # (first) delivery day
    darr_sod: Arr
    ofd_sod: Arr
    del_sod: Arr
    retry_sod: Arr  # [n, 2] out for delivery and delivery on a later attempt day
    darr: Arr
    arr: Arr  # [n, SLOTS]
    dep: Arr  # [n, SLOTS]
    hold_slot: Arr
    hold_kind: Arr
    hold_at: Arr
    cleared: Arr
    final: Arr  # day delivered (or would be)
    ofd1: Arr
    fail: Arr
    fail_kind: Arr
    returning: Arr
    back: Arr
    ofd: Arr
    delivered: Arr
    cut: Arr  # no scan after this instant
    eta_at: Arr  # [n, SLOTS] statement instants (NEVER = none)
    eta_day: Arr  # [n, SLOTS] stated day, WITHDRAWN when withdrawn

    def __len__(self) -> int:
        return len(self.scenario)


def _never(n: int, width: int | None = None) -> Arr:
    return np.full(n if width is None else (n, width), NEVER, np.int64)


def _secs(rng: np.random.Generator, n: int, lo: float, hi: float) -> Arr:
    return rng.integers(int(lo), int(hi), n).astype(np.int64)


def _scenarios(p: Parcels, ctx: Context, rng: np.random.Generator) -> Arr:
    roll = rng.random(len(p))
    edges = np.cumsum(list(SHARES.values()))
    index = (roll[:, None] >= edges[None, :]).sum(axis=1)
    codes = np.array([*SHARES, Scenario.NONE])
    scenario = codes[index]
    customs = ctx.places.intl[p.dest] & (rng.random(len(p)) < CUSTOMS_SHARE)
    return np.where(customs, Scenario.CUSTOMS, scenario)


def _delta(p: Parcels, scenario: Arr, ctx: Context, rng: np.random.Generator) -> Arr:
    """Business days early (-1) or late (+1, +2) against the nominal transit time."""
    lane = (p.service, p.warehouse, ctx.places.area[p.dest])
    roll = rng.random(len(p))
    late = roll > 1 - ctx.lanes.late[lane]
    early = (roll < ctx.lanes.early[lane]) & (p.nominal >= 2)
    twice = rng.random(len(p)) < ctx.lanes.late2[lane]
    delta = np.where(late, np.where(twice, 2, 1), np.where(early, -1, 0))
    return np.where(scenario == Scenario.NONE, delta, np.minimum(delta, 0))


def _day_clock(p: Parcels, rng: np.random.Generator) -> tuple[Arr, Arr, Arr]:
    """Local seconds of the day for station arrival, out for delivery and delivery."""
    n = len(p)
    express = np.array([s.express for s in SERVICES])[p.service]
    window = np.array([s.window or (0, 0) for s in SERVICES])[p.service] * MINUTE
    timed = window[:, 1] > 0
    darr = np.where(express, _secs(rng, n, 4 * HOUR, 6 * HOUR), _secs(rng, n, HOUR, 5 * HOUR))
    early = timed & (window[:, 1] <= 11 * HOUR)
    ofd = np.where(early, _secs(rng, n, 7 * HOUR, 8 * HOUR), _secs(rng, n, 6.5 * HOUR, 9 * HOUR))
    ofd = np.where(timed & ~early, np.minimum(ofd, window[:, 0] - 15 * MINUTE), ofd)
    span = rng.random(n)
    in_window = window[:, 0] + 15 * MINUTE + span * (window[:, 1] - window[:, 0] - 20 * MINUTE)
    ground = 9.5 * HOUR + span * 10 * HOUR
    return darr, ofd, np.where(timed, in_window, ground).astype(np.int64)


def start_track(p: Parcels, ctx: Context, rng: np.random.Generator) -> Track:
    """Pickup, nominal and actual delivery day, and hubs spread over the transit time."""
    n = len(p)
    scenario = _scenarios(p, ctx, rng)
    delta = _delta(p, scenario, ctx, rng)
    late = np.where(scenario == Scenario.LATE_PICKUP, rng.integers(2, 4, n), 0)
    pick_day = ctx.calendars.ship_day(p.ship_day + late)
    wzone = ctx.warehouse_zone[p.warehouse]
    pick = ctx.clock.at(wzone, pick_day, _secs(rng, n, 17 * HOUR, 19.5 * HOUR))
    pick = np.maximum(pick, p.label + 30 * MINUTE)
    day = ctx.calendars.add(pick_day, np.maximum(1, p.nominal + delta), p.service)
    darr_sod, ofd_sod, del_sod = _day_clock(p, rng)
    _, retry_ofd, retry_del = _day_clock(p, rng)
    dzone = ctx.places.zone[p.dest]
    darr = np.maximum(ctx.clock.at(dzone, day, darr_sod), pick + 3 * HOUR)
    route = ctx.routes[p.service, p.warehouse, p.dest]
    track = Track(
        scenario=np.where((scenario == Scenario.NONE) & (delta > 0), Scenario.TRANSPORT, scenario),
        dzone=dzone,
        k=ctx.hops[p.service, p.warehouse, p.dest],
        hub=route,
        pick=pick,
        eta0=ctx.calendars.add(p.ship_day, p.nominal, p.service),
        day=day,
        darr_sod=darr_sod,
        ofd_sod=ofd_sod,
        del_sod=del_sod,
        retry_sod=np.stack([retry_ofd, retry_del], axis=1),
        darr=darr,
        arr=_never(n, SLOTS),
        dep=_never(n, SLOTS),
        hold_slot=np.full(n, -1),
        hold_kind=np.full(n, -1),
        hold_at=_never(n),
        cleared=_never(n),
        final=day.copy(),
        ofd1=_never(n),
        fail=_never(n),
        fail_kind=np.full(n, -1),
        returning=_never(n),
        back=_never(n),
        ofd=_never(n),
        delivered=_never(n),
        cut=_never(n),
        eta_at=_never(n, SLOTS),
        eta_day=np.zeros((n, SLOTS), np.int64),
    )
    spread(track, np.arange(n), pick + 30 * MINUTE, darr - 30 * MINUTE, 0, ctx, rng)
    return track


def spread(
    t: Track,
    rows: Arr,
    start: Arr,
    stop: Arr,
    first: Arr | int,
    ctx: Context,
    rng: np.random.Generator,
) -> None:
    """Place hub slots ``first..k-1`` of ``rows`` evenly between ``start`` and ``stop``."""
    n = len(rows)
    first = np.broadcast_to(np.asarray(first), (n,))
    k = t.k[rows]
    segment = (stop - start) / np.maximum(k - first, 1)
    at, dwell, night = rng.random((n, SLOTS)), rng.random((n, SLOTS)), rng.random((n, SLOTS))
    for i in range(SLOTS):
        place = i - first
        active = (place >= 0) & (i < k)
        begin = start + place * segment
        arrive = begin + (0.1 + 0.3 * at[:, i]) * segment
        stay = np.maximum(np.minimum((1.5 + 3.5 * dwell[:, i]) * HOUR, 0.5 * segment), 60)
        zone = ctx.hub_zone[t.hub[rows, i]]
        local = ctx.clock.seconds(zone, begin.astype(np.int64))
        nightly = begin + (20 * HOUR + 6 * HOUR * night[:, i] - local) % DAY
        arrive = np.where(segment > 34 * HOUR, nightly, arrive)
        t.arr[rows[active], i] = arrive[active].astype(np.int64)
        t.dep[rows[active], i] = (arrive + stay)[active].astype(np.int64)


def hold(
    t: Track,
    rows: Arr,
    slot: Arr,
    until: Arr,
    service: Arr,
    ctx: Context,
    rng: np.random.Generator,
) -> None:
    """Keep ``rows`` at hub ``slot`` until ``until``; re-plan the rest on a later day."""
    if not len(rows):
        return
    remaining = np.maximum(t.darr[rows] - t.dep[rows, slot], 2 * HOUR)
    earliest = until + remaining
    zone = t.dzone[rows]
    day = ctx.clock.day(zone, earliest)
    day = day + (ctx.clock.seconds(zone, earliest) > t.darr_sod[rows])
    day = np.maximum(ctx.calendars.add(day, 0, service), t.day[rows])
    t.day[rows] = day
    t.darr[rows] = ctx.clock.at(zone, day, t.darr_sod[rows])
    t.dep[rows, slot] = until
    t.hold_slot[rows] = slot
    spread(t, rows, until, t.darr[rows] - 30 * MINUTE, slot + 1, ctx, rng)


def _hold_scenario(
    t: Track,
    p: Parcels,
    which: Scenario,
    days: tuple[float, float],
    kind: Scan | None,
    ctx: Context,
    rng: np.random.Generator,
) -> None:
    rows = np.flatnonzero(t.scenario == which)
    n = len(rows)
    last = which == Scenario.CUSTOMS
    slot = t.k[rows] - 1 if last else (rng.random(n) * t.k[rows]).astype(np.int64)
    arrive = t.arr[rows, slot]
    until = arrive + (days[0] + (days[1] - days[0]) * rng.random(n)) * DAY
    until = until.astype(np.int64)
    hold(t, rows, slot, until, p.service[rows], ctx, rng)
    if kind is not None:
        t.hold_kind[rows] = kind
        t.hold_at[rows] = arrive + ((0.05 + 0.15 * rng.random(n)) * (until - arrive)).astype(
            np.int64
        )


def weather(t: Track, p: Parcels, ctx: Context, rng: np.random.Generator) -> None:
    """Hold every plain parcel at the incident hub while it is stopped."""
    incident = ctx.incident
    plain = np.isin(t.scenario, (Scenario.NONE, Scenario.TRANSPORT))
    slot = np.full(len(t), -1)
    for i in range(SLOTS - 1, -1, -1):
        at_hub = plain & (i < t.k) & (t.hub[:, i] == incident.hub)
        at_hub &= (t.arr[:, i] < incident.ends_at) & (t.dep[:, i] > incident.starts_at)
        slot = np.where(at_hub, i, slot)
    rows = np.flatnonzero(slot >= 0)
    slot = slot[rows]
    n = len(rows)
    backlog = incident.ends_at + _secs(rng, n, HOUR, 10 * HOUR)
    until = np.maximum(t.dep[rows, slot], backlog)
    arrive = np.maximum(t.arr[rows, slot], incident.starts_at)
    t.scenario[rows] = Scenario.WEATHER
    hold(t, rows, slot, until, p.service[rows], ctx, rng)
    t.hold_kind[rows] = Scan.WEATHER
    t.hold_at[rows] = arrive + ((0.05 + 0.25 * rng.random(n)) * (until - arrive)).astype(np.int64)


def transport(t: Track, rng: np.random.Generator) -> None:
    """Half of the lane delays are flagged by the carrier with a scan at one hub."""
    rows = np.flatnonzero((t.scenario == Scenario.TRANSPORT) & (rng.random(len(t)) < 0.5))
    slot = (rng.random(len(rows)) * t.k[rows]).astype(np.int64)
    arrive, leave = t.arr[rows, slot], t.dep[rows, slot]
    t.hold_slot[rows] = slot
    t.hold_kind[rows] = Scan.TRANSPORT_DELAY
    t.hold_at[rows] = arrive + ((0.3 + 0.4 * rng.random(len(rows))) * (leave - arrive)).astype(
        np.int64
    )


def customs_clearance(t: Track, p: Parcels, ctx: Context, rng: np.random.Generator) -> None:
    """International parcels clear customs at the gateway before leaving it."""
    rows = np.flatnonzero(ctx.places.intl[p.dest])
    last = t.k[rows] - 1
    arrive, leave = t.arr[rows, last], t.dep[rows, last]
    share = 0.8 + 0.15 * rng.random(len(rows))
    t.cleared[rows] = arrive + (share * (leave - arrive)).astype(np.int64)


def plan_holds(t: Track, p: Parcels, ctx: Context, rng: np.random.Generator) -> None:
    _hold_scenario(t, p, Scenario.DAMAGED, (1.0, 2.5), Scan.DAMAGED, ctx, rng)
    _hold_scenario(t, p, Scenario.STALL, (3.0, 6.0), None, ctx, rng)
    _hold_scenario(t, p, Scenario.CUSTOMS, (1.5, 4.0), Scan.CUSTOMS_HOLD, ctx, rng)
    weather(t, p, ctx, rng)
    transport(t, rng)
    customs_clearance(t, p, ctx, rng)


def deliver(t: Track, p: Parcels, ctx: Context, rng: np.random.Generator) -> None:
    """Delivery day events: attempts, address problems, returns, delivery; where scans stop."""
    n = len(t)
    s, zone, day = t.scenario, t.dzone, t.day
    attempt, address, back = s == Scenario.ATTEMPT, s == Scenario.ADDRESS, s == Scenario.RETURN
    retry = np.where(address, rng.integers(1, 3, n), 1)
    t.final = np.where(attempt | address, ctx.calendars.add(day, retry, p.service), day)
    t.ofd1 = np.where(attempt | back, ctx.clock.at(zone, day, t.ofd_sod), NEVER)
    fail_sod = np.where(address, _secs(rng, n, 7 * HOUR, 9 * HOUR), t.del_sod)
    t.fail = np.where(attempt | address | back, ctx.clock.at(zone, day, fail_sod), NEVER)
    t.fail_kind = np.where(attempt, Scan.ATTEMPT_FAILED, Scan.ADDRESS_ISSUE)
    next_day = ctx.calendars.add(day, 1, p.service)
    t.returning = np.where(
        back, ctx.clock.at(zone, next_day, _secs(rng, n, 8 * HOUR, 10 * HOUR)), NEVER
    )
    last_hub = ctx.hub_zone[t.hub[np.arange(n), t.k - 1]]
    evening = ctx.clock.at(last_hub, next_day, _secs(rng, n, 21 * HOUR, 23 * HOUR))
    t.back = np.where(back, evening, NEVER)
    lost_slot = (rng.random(n) * t.k).astype(np.int64)
    lost = s == Scenario.LOST
    t.hold_slot = np.where(lost, lost_slot, t.hold_slot)
    t.cut = np.where(lost, t.arr[np.arange(n), lost_slot], NEVER)
    t.cut = np.where(s == Scenario.NO_PICKUP, p.label, t.cut)
    t.pick = np.where(s == Scenario.NO_PICKUP, NEVER, t.pick)
    arrives = ~(back | lost | (s == Scenario.NO_PICKUP))
    again = t.final > day
    ofd_sod = np.where(again, t.retry_sod[:, 0], t.ofd_sod)
    del_sod = np.where(again, t.retry_sod[:, 1], t.del_sod)
    t.ofd = np.where(arrives, ctx.clock.at(zone, t.final, ofd_sod), NEVER)
    t.delivered = np.where(arrives, ctx.clock.at(zone, t.final, del_sod), NEVER)


def build_track(p: Parcels, ctx: Context, rng: np.random.Generator) -> Track:
    """The whole timeline of every parcel, ETA statements included."""
    track = start_track(p, ctx, rng)
    plan_holds(track, p, ctx, rng)
    deliver(track, p, ctx, rng)
    state_etas(track, p, ctx, rng)
    return track


def events(track: Track) -> Arr:
    """The carrier event (Reason value, "" for none) behind each parcel's scenario."""
    names = np.array([""] + [EVENT.get(Scenario(i), "") for i in range(1, len(Scenario))])
    return names.astype(object)[track.scenario]


# --- the carrier's ETA statements ------------------------------------------------------------


def _state(t: Track, rows: Arr, slot: int, at: Arr, day: Arr | int) -> None:
    t.eta_at[rows, slot] = at
    t.eta_day[rows, slot] = day


def _chance(rows: Arr, share: float, rng: np.random.Generator) -> Arr:
    return rows[rng.random(len(rows)) < share]


def _rows(t: Track, which: Scenario) -> Arr:
    return np.flatnonzero(t.scenario == which)


def _eta_transport(t: Track, rng: np.random.Generator) -> None:
    rows = _chance(_rows(t, Scenario.TRANSPORT), 0.5, rng)
    flagged = t.hold_at[rows] < NEVER
    last_dep = t.dep[rows, t.k[rows] - 1]
    at = np.where(flagged, t.hold_at[rows], last_dep) + _secs(rng, len(rows), 10 * MINUTE, 3 * HOUR)
    _state(t, rows, 1, at, t.final[rows])


def _eta_weather(t: Track, p: Parcels, ctx: Context, rng: np.random.Generator) -> None:
    rows = _chance(_rows(t, Scenario.WEATHER), 0.75, rng)
    n = len(rows)
    until = t.dep[rows, t.hold_slot[rows]]
    at = t.hold_at[rows] + (0.5 * rng.random(n) * (until - t.hold_at[rows])).astype(np.int64)
    optimistic = rng.random(n) < 0.3
    earlier = np.maximum(ctx.calendars.add(t.final[rows], -1, p.service[rows]), t.eta0[rows])
    _state(t, rows, 1, at, np.where(optimistic, earlier, t.final[rows]))
    later = rows[optimistic]
    _state(
        t,
        later,
        2,
        until[optimistic] + _secs(rng, len(later), 30 * MINUTE, 3 * HOUR),
        t.final[later],
    )


def _eta_after(
    t: Track,
    which: Scenario,
    share: float,
    base: Arr,
    gap: tuple[float, float],
    rng: np.random.Generator,
    day: Arr | None = None,
) -> None:
    """A statement ``gap`` after ``base`` for a share of the scenario's parcels."""
    rows = _chance(_rows(t, which), share, rng)
    at = base[rows] + _secs(rng, len(rows), gap[0], gap[1])
    _state(t, rows, 1, at, t.final[rows] if day is None else day[rows])


def _eta_address(t: Track, rng: np.random.Generator) -> None:
    rows = _rows(t, Scenario.ADDRESS)
    withdrawn = rng.random(len(rows)) < 0.5
    _state(
        t,
        rows[withdrawn],
        1,
        t.fail[rows[withdrawn]] + _secs(rng, int(withdrawn.sum()), 10 * MINUTE, HOUR),
        WITHDRAWN,
    )
    restate = rng.random(len(rows)) < np.where(withdrawn, 0.7, 0.5)
    again = rows[restate]
    _state(t, again, 2, t.fail[again] + _secs(rng, len(again), 3 * HOUR, 8 * HOUR), t.final[again])


def _eta_lost(t: Track, rng: np.random.Generator) -> None:
    rows = _chance(_rows(t, Scenario.LOST), 0.5, rng)
    _state(t, rows, 1, t.cut[rows] + _secs(rng, len(rows), 3 * DAY, 5 * DAY), WITHDRAWN)


def state_etas(t: Track, p: Parcels, ctx: Context, rng: np.random.Generator) -> None:
    """Statement 0 at label time; revisions or withdrawals per scenario."""
    t.eta_at[:, 0] = p.label
    t.eta_day[:, 0] = t.eta0
    never = np.full(len(t), WITHDRAWN)
    _eta_transport(t, rng)
    _eta_weather(t, p, ctx, rng)
    _eta_after(t, Scenario.ATTEMPT, 0.85, t.fail, (30 * MINUTE, 3 * HOUR), rng)
    _eta_address(t, rng)
    _eta_after(t, Scenario.RETURN, 0.9, t.returning, (10 * MINUTE, HOUR), rng, never)
    _eta_after(t, Scenario.DAMAGED, 0.6, t.hold_at, (30 * MINUTE, 4 * HOUR), rng)
    _eta_lost(t, rng)
    _eta_after(
        t, Scenario.STALL, 0.6, t.dep[np.arange(len(t)), t.hold_slot], (30 * MINUTE, 3 * HOUR), rng
    )
    _eta_after(t, Scenario.LATE_PICKUP, 0.9, t.pick, (30 * MINUTE, 2 * HOUR), rng)
    _eta_after(t, Scenario.NO_PICKUP, 0.4, p.label, (2 * DAY, 4 * DAY), rng, never)
    _eta_after(t, Scenario.CUSTOMS, 0.5, t.hold_at, (HOUR, 6 * HOUR), rng)
    late = t.eta_at >= t.delivered[:, None]
    t.eta_at = np.where(late, NEVER, t.eta_at)
