"""Simulated orders and how they become parcels, shipment rows and order lines.

Orders are placed over the world's span (weekday and time-of-day patterns in the customer's
zone) and numbered in time order. A few are follow-ups placed by the same customer hours
after an earlier order; when both ship the same day from the same warehouse with the same
service, the warehouse consolidates them: one parcel, one tracking number, two shipment rows.
Some orders ship as two or three parcels (lines assigned to parcels), some are cancelled
before shipping, some keep a backordered line unshipped, and orders placed near the end of
the span are not shipped yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from notify.simulate import geo
from notify.simulate.catalog import DOMESTIC_CARRIER_SHARE, PRODUCTS, SERVICES
from notify.simulate.clock import DAY, HOUR, MINUTE
from notify.simulate.context import Context
from notify.simulate.customers import Addresses

Arr = NDArray[Any]
CHANNELS = ("web", "app", "store")
CUTOFF = 13 * HOUR  # warehouse local time after which an order ships the next business day
_WEEKDAY = np.array([1.1, 1.05, 1.0, 1.0, 0.95, 0.8, 0.9])  # Monday first
_HOURLY = np.array([
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.3, 1.4,
    1.5, 1.4, 1.3, 1.3, 1.4, 1.5, 1.7, 2.0, 2.1, 1.9, 1.3, 0.7,
])  # fmt: skip


@dataclass(frozen=True)
class OrderPlan:
    """Every order of the world, in time order."""

    customer: Arr
    placed: Arr
    parent: Arr  # the earlier order a follow-up was placed after, else -1


def draw_orders(
    ctx: Context, count: int, addresses: Addresses, rng: np.random.Generator
) -> OrderPlan:
    customers = len(addresses.city)
    follow = round(count * 0.03)
    base = count - follow
    activity = rng.lognormal(0.0, 1.0, customers)
    customer = rng.choice(customers, size=base, p=activity / activity.sum())
    zone = ctx.places.zone[addresses.city[customer]]
    days = max(1, (ctx.end - ctx.start) // DAY)
    first = ctx.clock.day(zone, np.full(base, ctx.start))
    pick = np.zeros(base, np.int64)
    for day in np.unique(first):
        rows = np.flatnonzero(first == day)
        weekday = (day + np.arange(days) + 3) % 7  # 1970-01-01 was a Thursday
        cumulative = np.cumsum(_WEEKDAY[weekday] * (1 + 0.3 * np.arange(days) / days))
        pick[rows] = np.searchsorted(cumulative, rng.random(len(rows)) * cumulative[-1], "right")
    hour = rng.choice(24, size=base, p=_HOURLY / _HOURLY.sum())
    seconds = hour * HOUR + rng.integers(0, HOUR, base)
    placed = ctx.clock.at(zone, first + pick, seconds)
    span = ctx.end - HOUR - ctx.start
    placed = ctx.start + (placed - ctx.start) % span  # wrap the span's ragged edges inside it
    parent = rng.integers(0, base, follow) if base else np.zeros(0, np.int64)
    later = placed[parent] + rng.integers(30 * MINUTE, 4 * HOUR, follow)
    placed = np.concatenate([placed, np.minimum(later, ctx.end - HOUR)])
    customer = np.concatenate([customer, customer[parent]])
    parents = np.concatenate([np.full(base, -1), parent])
    order = np.lexsort((np.arange(count), placed))
    rank = np.empty(count, np.int64)
    rank[order] = np.arange(count)
    parents = parents[order]
    return OrderPlan(
        customer=customer[order],
        placed=placed[order],
        parent=np.where(parents >= 0, rank[np.maximum(parents, 0)], -1),
    )


@dataclass(frozen=True)
class ChunkOrders:
    """The orders of one chunk (local index 0..n-1)."""

    first: int  # global index of local order 0
    customer: Arr
    placed: Arr
    dest: Arr
    channel: Arr
    cancelled: Arr
    warehouse: Arr
    service: Arr
    ship_day: Arr
    promise: Arr  # local day (customer's zone) by the end of which delivery was promised
    parcels: Arr  # parcels of its own (0 when cancelled or consolidated)
    host: Arr  # local order whose parcel this one shares, else -1


@dataclass(frozen=True)
class Parcels:
    """Physical parcels (one tracking number each) of one chunk."""

    order: Arr  # local index of the order that owns the parcel
    warehouse: Arr
    service: Arr
    dest: Arr
    ship_day: Arr
    nominal: Arr
    label: Arr  # instant the label was created (shipments.shipped_at)

    def __len__(self) -> int:
        return len(self.order)


@dataclass(frozen=True)
class ShipRows:
    """Shipment rows (order x parcel), sorted by order."""

    order: Arr
    parcel: Arr


@dataclass(frozen=True)
class Lines:
    order: Arr
    product: Arr
    quantity: Arr
    row: Arr  # shipment row, -1 while unshipped


def _services(dest: Arr, ctx: Context, rng: np.random.Generator) -> Arr:
    count = len(dest)
    carriers = list(DOMESTIC_CARRIER_SHARE)
    share = np.array(list(DOMESTIC_CARRIER_SHARE.values()))
    carrier = rng.choice(len(carriers), size=count, p=share / share.sum())
    roll = rng.random(count)
    service = np.zeros(count, np.int64)
    for c, name in enumerate(carriers):
        own = [i for i, s in enumerate(SERVICES) if s.carrier == name]
        edges = np.cumsum([SERVICES[i].share for i in own])
        pick = np.minimum((roll[:, None] > edges[None, :]).sum(axis=1), len(own) - 1)
        service = np.where(carrier == c, np.array(own)[pick], service)
    dhl = next(i for i, s in enumerate(SERVICES) if s.tier == "international")
    return np.where(ctx.places.intl[dest], dhl, service)


def _warehouses(dest: Arr, ctx: Context, rng: np.random.Generator) -> Arr:
    area = ctx.places.area[dest]
    nearest = np.array([geo.nearest_warehouse(r) for r in geo.REGIONS])[area]
    other = (nearest + rng.integers(1, len(geo.WAREHOUSES), len(dest))) % len(geo.WAREHOUSES)
    keep = (rng.random(len(dest)) < 0.8) | ctx.places.intl[dest]
    return np.where(keep, nearest, other)


def _ship_day(placed: Arr, warehouse: Arr, ctx: Context) -> Arr:
    zone = ctx.warehouse_zone[warehouse]
    day = ctx.clock.day(zone, placed) + (ctx.clock.seconds(zone, placed) >= CUTOFF)
    return ctx.calendars.ship_day(day)


def plan_chunk(
    ctx: Context,
    plan: OrderPlan,
    addresses: Addresses,
    lo: int,
    hi: int,
    rng: np.random.Generator,
) -> ChunkOrders:
    """Channel, cancellation, warehouse, service, ship day, promise and parcels per order."""
    count = hi - lo
    customer = plan.customer[lo:hi]
    dest = addresses.city[customer]
    cancelled = rng.random(count) < 0.02
    warehouse = _warehouses(dest, ctx, rng)
    service = _services(dest, ctx, rng)
    parent = plan.parent[lo:hi]
    parent = np.where(parent >= lo, parent - lo, -1)  # follow-ups of an earlier chunk stay apart
    joined = (parent >= 0) & (rng.random(count) < 0.7)
    joined &= ~cancelled & ~cancelled[np.maximum(parent, 0)]
    warehouse = np.where(joined, warehouse[np.maximum(parent, 0)], warehouse)
    service = np.where(joined, service[np.maximum(parent, 0)], service)
    placed = plan.placed[lo:hi]
    ship_day = _ship_day(placed, warehouse, ctx)
    parcels = np.where(cancelled, 0, rng.choice([1, 2, 3], size=count, p=[0.88, 0.09, 0.03]))
    safe = np.maximum(parent, 0)
    joined &= (ship_day == ship_day[safe]) & (parcels == 1) & (parcels[safe] == 1)
    host = np.where(joined, parent, -1)
    nominal = ctx.nominal[service, warehouse, dest]
    buffer = (rng.random(count) < 0.25).astype(np.int64)
    promise = ctx.calendars.add(ship_day, nominal + buffer, service)
    return ChunkOrders(
        first=lo,
        customer=customer,
        placed=placed,
        dest=dest,
        channel=rng.choice(3, size=count, p=[0.6, 0.3, 0.1]),
        cancelled=cancelled,
        warehouse=warehouse,
        service=service,
        ship_day=ship_day,
        promise=promise,
        parcels=np.where(host >= 0, 0, parcels),
        host=host,
    )


def make_parcels(orders: ChunkOrders, ctx: Context, rng: np.random.Generator) -> Parcels:
    """Parcels of every shipping order, labelled together after every order they carry."""
    count = len(orders.placed)
    latest = orders.placed.copy()
    guests = np.flatnonzero(orders.host >= 0)
    np.maximum.at(latest, orders.host[guests], orders.placed[guests])
    zone = ctx.warehouse_zone[orders.warehouse]
    drawn = ctx.clock.at(zone, orders.ship_day, rng.integers(9 * HOUR, 16 * HOUR, count))
    label = np.maximum(drawn, latest + rng.integers(20 * MINUTE, 2 * HOUR, count))
    owner = np.repeat(np.arange(count), orders.parcels)
    service = orders.service[owner]
    warehouse = orders.warehouse[owner]
    dest = orders.dest[owner]
    return Parcels(
        order=owner,
        warehouse=warehouse,
        service=service,
        dest=dest,
        ship_day=orders.ship_day[owner],
        nominal=ctx.nominal[service, warehouse, dest],
        label=label[owner],
    )


def labelled(parcels: Parcels, ctx: Context) -> Parcels:
    """Only the parcels whose label exists by the end of the span."""
    keep = parcels.label <= ctx.end
    return Parcels(*(getattr(parcels, f)[keep] for f in Parcels.__dataclass_fields__))


def ship_rows(orders: ChunkOrders, parcels: Parcels) -> ShipRows:
    """A row per (order, parcel): the owner's, plus one for an order consolidated into it."""
    own = np.arange(len(parcels))
    by_order = np.full(len(orders.placed), -1)
    first = np.unique(parcels.order, return_index=True)
    by_order[first[0]] = first[1]
    guests = np.flatnonzero((orders.host >= 0) & (by_order[np.maximum(orders.host, 0)] >= 0))
    order = np.concatenate([parcels.order, guests])
    parcel = np.concatenate([own, by_order[orders.host[guests]]])
    sort = np.lexsort((parcel, order))
    return ShipRows(order=order[sort], parcel=parcel[sort])


def make_lines(
    orders: ChunkOrders, parcels: Parcels, rows: ShipRows, rng: np.random.Generator
) -> Lines:
    """Order lines, each on one of its order's shipment rows or unshipped."""
    count = len(orders.placed)
    drawn = orders.parcels + np.where(orders.host >= 0, 1, 0)
    lines = np.maximum(np.maximum(drawn, 1), 1 + rng.poisson(0.6, count))
    lines = np.minimum(lines, np.maximum(drawn, 6))
    order = np.repeat(np.arange(count), lines)
    position = np.arange(len(order)) - np.repeat(np.cumsum(lines) - lines, lines)
    row_count = np.bincount(rows.order, minlength=count)
    row_first = np.cumsum(row_count) - row_count
    shipped = row_count[order]
    spare = (rng.random(len(order)) * np.maximum(shipped, 1)).astype(np.int64)
    slot = np.where(position < shipped, position, spare)
    row = np.where(shipped > 0, row_first[order] + np.minimum(slot, np.maximum(shipped - 1, 0)), -1)
    backorder = (rng.random(count) < 0.08) & (lines > drawn)
    row = np.where(backorder[order] & (position == lines[order] - 1), -1, row)
    quantity = rng.choice([1, 2, 3], size=len(order), p=[0.8, 0.15, 0.05])
    return Lines(
        order=order,
        product=rng.integers(0, len(PRODUCTS), len(order)),
        quantity=quantity,
        row=row,
    )
