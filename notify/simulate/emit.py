"""Turn parcel timelines into the tracking files: scans.csv and etas.csv rows.

A scan is written only if it happened by the end of the span and before the point where a
parcel's tracking stops (a lost parcel, a label never picked up). Times are written with the
offset of the scan location's zone; ETA statements with the destination's. The same
selection feeds the ground truth, so evidence times always match the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from notify.simulate import geo
from notify.simulate.catalog import (
    CARRIERS,
    DESCRIPTIONS,
    SCAN_TAXONOMY,
    SERVICE_CARRIER,
    SERVICE_NAMES,
    SERVICES,
    Scan,
)
from notify.simulate.clock import MINUTE, NEVER, date_text
from notify.simulate.context import Context
from notify.simulate.orders import Parcels
from notify.simulate.timeline import SLOTS, WITHDRAWN, Track

Arr = NDArray[Any]
SCAN_COLUMNS = (
    "carrier", "tracking_number", "service", "occurred_at", "status", "reason", "description",
    "city", "region", "postal_code", "country", "departed",
)  # fmt: skip
ETA_COLUMNS = ("carrier", "tracking_number", "stated_at", "earliest", "latest")
DESTINATION = -1  # site code of the parcel's own delivery address
SITES: tuple[geo.Site, ...] = (*geo.WAREHOUSES, *geo.HUBS)
EVIDENCE_KINDS = np.array(
    [status.value in ("exception", "attempt_fail") or reason is not None
     for status, reason in (SCAN_TAXONOMY[k] for k in Scan)]
)  # fmt: skip


@dataclass(frozen=True)
class ScanRows:
    parcel: Arr
    at: Arr
    kind: Arr
    site: Arr  # index into SITES, or DESTINATION


@dataclass(frozen=True)
class EtaRows:
    parcel: Arr
    at: Arr
    day: Arr  # stated day, WITHDRAWN when withdrawn


def _hub_site(track: Track, slot: Arr | int) -> Arr:
    rows = np.arange(len(track))
    return len(geo.WAREHOUSES) + track.hub[rows, np.broadcast_to(slot, rows.shape)]


def _slots(t: Track, p: Parcels) -> list[tuple[Arr | int, Arr, Arr | int]]:
    """(kind, instant, site) of every possible scan, in logical order."""
    last = t.k - 1
    slots: list[tuple[Arr | int, Arr, Arr | int]] = [
        (Scan.LABEL, p.label, p.warehouse),
        (Scan.PICKUP, t.pick, p.warehouse),
    ]
    for i in range(SLOTS):
        present = i < t.k
        slots.append((Scan.HUB_ARRIVAL, np.where(present, t.arr[:, i], NEVER), _hub_site(t, i)))
        held = t.hold_slot == i
        slots.append((t.hold_kind, np.where(held, t.hold_at, NEVER), _hub_site(t, i)))
        slots.append((Scan.HUB_DEPARTURE, np.where(present, t.dep[:, i], NEVER), _hub_site(t, i)))
    slots += [
        (Scan.CUSTOMS_CLEARED, t.cleared, _hub_site(t, last)),
        (Scan.DEST_ARRIVAL, t.darr, DESTINATION),
        (Scan.OUT_FOR_DELIVERY, t.ofd1, DESTINATION),
        (t.fail_kind, t.fail, DESTINATION),
        (Scan.RETURNING, t.returning, DESTINATION),
        (Scan.RETURN_TRANSIT, t.back, _hub_site(t, last)),
        (Scan.OUT_FOR_DELIVERY, t.ofd, DESTINATION),
        (Scan.DELIVERED, t.delivered, DESTINATION),
    ]
    return slots


def scan_rows(t: Track, p: Parcels, ctx: Context) -> ScanRows:
    """Every scan written, sorted by parcel then time."""
    limit = np.minimum(t.cut, ctx.end)
    parts: list[tuple[Arr, ...]] = []
    for number, (kind, at, site) in enumerate(_slots(t, p)):
        at = np.asarray(at, np.int64)
        keep = np.flatnonzero((at < NEVER) & (at <= limit))
        n = len(keep)
        kinds = np.broadcast_to(np.asarray(kind), at.shape)[keep]
        sites = np.broadcast_to(np.asarray(site), at.shape)[keep]
        parts.append((keep, at[keep], kinds, sites, np.full(n, number)))
    parcel, at, kind, site, order = (np.concatenate(c) for c in zip(*parts, strict=True))
    sort = np.lexsort((order, at, parcel))
    return ScanRows(parcel=parcel[sort], at=at[sort], kind=kind[sort], site=site[sort])


def eta_rows(t: Track, ctx: Context) -> EtaRows:
    """Every ETA statement made by the end of the span, sorted by parcel then time."""
    parcel = np.repeat(np.arange(len(t)), SLOTS)
    at = t.eta_at.reshape(-1)
    day = t.eta_day.reshape(-1)
    keep = np.flatnonzero(at <= ctx.end)
    sort = np.lexsort((keep % SLOTS, at[keep], parcel[keep]))
    chosen = keep[sort]
    return EtaRows(parcel=parcel[chosen], at=at[chosen], day=day[chosen])


def _site_table(values: list[str]) -> Arr:
    return np.array(values, dtype=object)


def scan_columns(
    rows: ScanRows, p: Parcels, numbers: Arr, postal: Arr, ctx: Context
) -> dict[str, Arr]:
    """The scans.csv columns (``postal``: each parcel's delivery postal code)."""
    service = p.service[rows.parcel]
    carrier = np.array(SERVICE_CARRIER)[service]
    dest = p.dest[rows.parcel]
    at_site = rows.site >= 0
    site = np.maximum(rows.site, 0)
    places = ctx.places
    site_zone = np.concatenate([ctx.warehouse_zone, ctx.hub_zone])
    zone = np.where(at_site, site_zone[site], places.zone[dest])
    status = np.array([SCAN_TAXONOMY[k][0].value for k in Scan], dtype=object)
    reason = np.array([SCAN_TAXONOMY[k][1] or "" for k in Scan], dtype=object)
    text = np.array([DESCRIPTIONS[c] for c in CARRIERS], dtype=object)

    def where(attribute: str, destination: Arr) -> Arr:
        fixed = _site_table([getattr(s, attribute) for s in SITES])
        return np.where(at_site, fixed[site], destination)

    return {
        "carrier": np.array(CARRIERS, dtype=object)[carrier],
        "tracking_number": numbers[rows.parcel],
        "service": np.array(SERVICE_NAMES, dtype=object)[service],
        "occurred_at": ctx.clock.iso(zone, rows.at),
        "status": status[rows.kind],
        "reason": reason[rows.kind],
        "description": text[carrier, rows.kind],
        "city": where("city", places.city[dest]),
        "region": where("region", places.region[dest]),
        "postal_code": where("postal_code", postal[rows.parcel]),
        "country": where("country", places.country[dest]),
        "departed": np.where(rows.kind == Scan.HUB_DEPARTURE, "true", "").astype(object),
    }


def eta_columns(rows: EtaRows, t: Track, p: Parcels, numbers: Arr, ctx: Context) -> dict[str, Arr]:
    service = p.service[rows.parcel]
    zone = t.dzone[rows.parcel]
    window = np.array([s.window or (0, 0) for s in SERVICES])[service] * MINUTE
    timed = window[:, 1] > 0
    withdrawn = rows.day == WITHDRAWN
    day = np.where(withdrawn, 0, rows.day)
    dates = date_text(day).astype(object)
    early = ctx.clock.iso(zone, ctx.clock.at(zone, day, window[:, 0])).astype(object)
    late = ctx.clock.iso(zone, ctx.clock.at(zone, day, window[:, 1])).astype(object)
    earliest = np.where(withdrawn, "", np.where(timed, early, dates))
    latest = np.where(withdrawn, "", np.where(timed, late, dates))
    return {
        "carrier": np.array(CARRIERS, dtype=object)[np.array(SERVICE_CARRIER)[service]],
        "tracking_number": numbers[rows.parcel],
        "stated_at": ctx.clock.iso(zone, rows.at),
        "earliest": earliest,
        "latest": latest,
    }


def first_evidence(rows: ScanRows, parcels: int) -> Arr:
    """Per parcel, the first written scan that shows trouble (exception, failed attempt or a
    delay reason); NEVER when none."""
    first = np.full(parcels, NEVER, np.int64)
    shows = EVIDENCE_KINDS[rows.kind]
    np.minimum.at(first, rows.parcel[shows], rows.at[shows])
    return first
