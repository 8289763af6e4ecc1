"""The fixed frame of one simulated world: span, places, lanes, routes and the incident.

Everything here is drawn once per world from the seed and shared by every chunk of orders:
the per-lane transit behaviour (stable, so a model can learn it from delivered history),
the hub route of each (service, warehouse, destination) and the regional weather incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from notify.simulate import geo
from notify.simulate.catalog import SERVICES
from notify.simulate.clock import DAY, HOUR, MINUTE, Calendars, Clock
from notify.simulate.numbers import NumberKeys

Arr = NDArray[Any]
NATIONAL_HUB = {"fedex": "MEM", "ups": "SDF", "usps": "IND", "dhl": "CVG"}
# Hubs that can be hit by the regional incident: destination hubs, not the warehouses' own.
INCIDENT_HUBS = ("ATL", "DFW", "EWR", "DEN", "MCI")
INCIDENT_KINDS = ("winter storm", "ice storm", "severe thunderstorms", "flooding")


@dataclass(frozen=True)
class Incident:
    """A weather incident that stops one hub for about two days."""

    hub: int  # index into geo.HUBS
    starts_at: int
    ends_at: int
    kind: str


@dataclass(frozen=True)
class Lanes:
    """Transit behaviour per (service, warehouse, destination region): business-day shifts
    from the nominal transit time with these probabilities."""

    early: Arr  # one day early
    late: Arr  # one or more days late
    late2: Arr  # two days late, given late


@dataclass(frozen=True)
class Places:
    """Destination cities as arrays (index = destination city id)."""

    zone: Arr
    area: Arr  # index into geo.REGIONS
    country: Arr
    intl: Arr
    far: Arr
    city: Arr
    region: Arr


@dataclass(frozen=True)
class Context:
    seed: int
    start: int
    end: int
    clock: Clock
    calendars: Calendars
    dests: geo.Destinations
    places: Places
    warehouse_zone: Arr
    hub_zone: Arr
    lanes: Lanes
    routes: Arr  # [service, warehouse, destination city, 3] hub indices, -1 padded
    route_text: Arr  # [service, warehouse, destination city] hub codes joined by ">"
    lane_text: Arr  # [warehouse, destination region] "origin region->destination region"
    hops: Arr  # [service, warehouse, destination city] number of hubs
    nominal: Arr  # [service, warehouse, destination city] nominal transit business days
    incident: Incident
    keys: NumberKeys


def _places(dests: geo.Destinations, clock: Clock) -> Places:
    return Places(
        zone=np.array([clock.zone_index(z) for z in dests.zone]),
        area=np.array([geo.REGIONS.index(a) for a in dests.area]),
        country=np.array(dests.country, dtype=object),
        intl=np.array(dests.intl),
        far=np.array([r in geo.FAR_STATES for r in dests.region]),
        city=np.array(dests.city, dtype=object),
        region=np.array(dests.region, dtype=object),
    )


def _route(service: int, warehouse: int, dest: int, dests: geo.Destinations) -> list[str]:
    spec = SERVICES[service]
    origin = geo.REGIONAL_HUB[geo.WAREHOUSES[warehouse].area]
    if dests.intl[dest]:
        return [origin, geo.EXPORT_HUB, geo.GATEWAY_HUB[dests.country[dest]]]
    target = geo.REGIONAL_HUB[dests.area[dest]]
    if origin == target:
        return [origin]
    ground = geo.GROUND_DAYS[dests.area[dest]][warehouse]
    if spec.tier in ("ground", "priority") and ground <= 2:
        return [origin, target]
    return [origin, NATIONAL_HUB[spec.carrier], target]


def _nominal(service: int, warehouse: int, dest: int, dests: geo.Destinations) -> int:
    spec = SERVICES[service]
    if dests.intl[dest]:
        return geo.INTL_DAYS[dests.country[dest]]
    ground = geo.GROUND_DAYS[dests.area[dest]][warehouse]
    far = 2 if dests.region[dest] in geo.FAR_STATES else 0
    days = {
        "ground": ground + far,
        "priority": min(max(ground - 1, 1), 3) + far // 2,
        "two_day": 2,
        "overnight": 1,
        "express": 1 if ground <= 3 else 2,
        "international": 2,
    }[spec.tier]
    return max(days, spec.min_days)


def _routes(dests: geo.Destinations) -> tuple[Arr, Arr, Arr]:
    shape = (len(SERVICES), len(geo.WAREHOUSES), len(dests.city))
    routes = np.full((*shape, 3), -1, np.int64)
    hops = np.zeros(shape, np.int64)
    nominal = np.zeros(shape, np.int64)
    for s in range(shape[0]):
        for w in range(shape[1]):
            for d in range(shape[2]):
                hubs = [geo.HUB_CODES.index(h) for h in _route(s, w, d, dests)]
                routes[s, w, d, : len(hubs)] = hubs
                hops[s, w, d] = len(hubs)
                nominal[s, w, d] = _nominal(s, w, d, dests)
    return routes, hops, nominal


def _lanes(rng: np.random.Generator) -> Lanes:
    shape = (len(SERVICES), len(geo.WAREHOUSES), len(geo.REGIONS))
    express = np.array([s.express for s in SERVICES])[:, None, None]
    late = rng.beta(2.0, 25.0, shape) * np.where(express, 0.5, 1.0)
    slow = rng.random(shape) < 0.08  # a few lanes are chronically slow
    late = np.where(slow, late + rng.uniform(0.08, 0.16, shape), late)
    early = np.where(express, 0.0, rng.beta(2.0, 9.0, shape))
    return Lanes(early=early, late=late, late2=rng.uniform(0.1, 0.3, shape))


def _incident(rng: np.random.Generator, clock: Clock, start: int, days: int) -> Incident:
    hub = geo.HUB_CODES.index(INCIDENT_HUBS[int(rng.integers(0, len(INCIDENT_HUBS)))])
    zone = clock.zone_index(geo.HUBS[hub].zone)
    first_day = int(clock.day(zone, np.array([start]))[0])
    day = first_day + int(days * 0.7) + int(rng.integers(0, 3))
    begins = int(rng.integers(14, 20)) * HOUR + int(rng.integers(0, 4)) * 15 * MINUTE
    starts = int(clock.at(zone, np.array([day]), begins)[0])
    length = int(rng.integers(40 * 4, 54 * 4)) * 15 * MINUTE
    kind = INCIDENT_KINDS[int(rng.integers(0, len(INCIDENT_KINDS)))]
    return Incident(hub=hub, starts_at=starts, ends_at=starts + length, kind=kind)


def build_context(seed: int, start: int, days: int) -> Context:
    rng = np.random.default_rng([seed, 0])
    end = start + days * DAY
    dests = geo.destinations(intl_share=0.03)
    zones = sorted({*dests.zone, *(s.zone for s in geo.WAREHOUSES), *(h.zone for h in geo.HUBS)})
    clock = Clock(zones, start - 3 * DAY, end + 45 * DAY)
    first = datetime.fromtimestamp(start, UTC).year - 1
    calendars = Calendars(first, datetime.fromtimestamp(end + 45 * DAY, UTC).year)
    routes, hops, nominal = _routes(dests)
    codes = np.array([*geo.HUB_CODES, ""], dtype=object)[routes]
    route_text = np.frompyfunc(lambda *hubs: ">".join(h for h in hubs if h), 3, 1)(
        codes[..., 0], codes[..., 1], codes[..., 2]
    )
    lane_text = np.array(
        [[f"{w.area}->{region}" for region in geo.REGIONS] for w in geo.WAREHOUSES], dtype=object
    )
    lanes = _lanes(rng)
    incident = _incident(rng, clock, start, days)
    return Context(
        seed=seed,
        start=start,
        end=end,
        clock=clock,
        calendars=calendars,
        dests=dests,
        places=_places(dests, clock),
        warehouse_zone=np.array([clock.zone_index(w.zone) for w in geo.WAREHOUSES]),
        hub_zone=np.array([clock.zone_index(h.zone) for h in geo.HUBS]),
        lanes=lanes,
        routes=routes,
        route_text=route_text,
        lane_text=lane_text,
        hops=hops,
        nominal=nominal,
        incident=incident,
        keys=NumberKeys.draw(rng, len(geo.WAREHOUSES)),
    )
