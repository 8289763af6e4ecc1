"""Generate a whole simulated world: order files, carrier tracking, ground truth, world.json.

Deterministic for a seed (byte-identical files), vectorised with numpy and written in chunks
of orders so memory stays bounded whatever the size. Layout under ``out``::

    orders/customers.csv, orders.csv, order_lines.csv, shipments.csv   (ARCHITECTURE.md)
    tracking/scans.csv, etas.csv                                        (the carriers' view)
    truth/shipments.csv, incidents.csv                                  (what really happened)
    world.json                                                          (seed, span, counts)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from notify.simulate import geo
from notify.simulate.catalog import CARRIERS, PRODUCTS, SERVICE_CARRIER, SERVICE_NAMES, SERVICES
from notify.simulate.clock import DAY, HOUR, NEVER, date_text, to_epoch
from notify.simulate.context import Context, build_context
from notify.simulate.customers import CUSTOMER_COLUMNS, Addresses, customer_rows, draw_addresses
from notify.simulate.emit import (
    ETA_COLUMNS,
    SCAN_COLUMNS,
    eta_columns,
    eta_rows,
    first_evidence,
    scan_columns,
    scan_rows,
)
from notify.simulate.files import CsvFiles
from notify.simulate.numbers import MAX_PARCELS, tracking_numbers
from notify.simulate.orders import (
    CHANNELS,
    ChunkOrders,
    Lines,
    OrderPlan,
    Parcels,
    ShipRows,
    draw_orders,
    labelled,
    make_lines,
    make_parcels,
    plan_chunk,
    ship_rows,
)
from notify.simulate.timeline import Scenario, Track, build_track, events
from notify.simulate.truth import INCIDENT_COLUMNS, TRUTH_COLUMNS, lanes, truth_columns, verdicts

Arr = NDArray[Any]
CHUNK_ORDERS = 20_000
CUSTOMER_CHUNK = 50_000
ORDERS_PER_CUSTOMER = 2.6
DEFAULT_START = datetime(2025, 10, 20, 5, 0, tzinfo=UTC)  # midnight US Central
LAYOUT: dict[str, tuple[str, tuple[str, ...]]] = {
    "customers": ("orders/customers.csv", CUSTOMER_COLUMNS),
    "orders": ("orders/orders.csv", ("order_id", "customer_id", "placed_at", "promised_by",
                                     "status", "channel")),
    "order_lines": ("orders/order_lines.csv", ("order_id", "line_id", "sku", "title",
                                               "quantity", "shipment_id")),
    "shipments": ("orders/shipments.csv", (
        "shipment_id", "order_id", "carrier", "tracking_number", "service", "shipped_at",
        "origin_postal_code", "destination_postal_code", "destination_country")),
    "scans": ("tracking/scans.csv", SCAN_COLUMNS),
    "etas": ("tracking/etas.csv", ETA_COLUMNS),
    "truth": ("truth/shipments.csv", TRUTH_COLUMNS),
    "incidents": ("truth/incidents.csv", INCIDENT_COLUMNS),
}  # fmt: skip


@dataclass(frozen=True)
class WorldSummary:
    """What was generated: span, counts, shares of outcomes and where the files are."""

    root: Path
    seed: int
    start: datetime
    end: datetime
    demo_as_of: datetime
    counts: Mapping[str, int]
    causes: Mapping[str, int]  # delayed shipment rows per cause
    paths: Mapping[str, Path]

    @property
    def delayed_share(self) -> float:
        return self.counts["delayed"] / max(self.counts["shipments"], 1)

    @property
    def relevant_share(self) -> float:
        return self.counts["customer_relevant"] / max(self.counts["shipments"], 1)


_WAREHOUSE_POSTAL = np.array([w.postal_code for w in geo.WAREHOUSES], dtype=object)


def _ids(prefix: str, numbers: Arr, width: int) -> Arr:
    if not len(numbers):
        return np.empty(0, dtype=object)
    text = np.strings.zfill(np.asarray(numbers, np.int64).astype(str), width)
    return np.strings.add(prefix, text).astype(object)


@dataclass
class _Run:
    """Mutable state of one generation: counters, ids widths and running totals."""

    ctx: Context
    files: CsvFiles
    widths: dict[str, int]
    demo: int
    next_row: int = 1
    next_line: int = 1
    next_parcel: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)

    def count(self, key: str, value: int) -> None:
        self.counts[key] += int(value)


def _widths(orders: int, customers: int) -> dict[str, int]:
    return {
        "customer": max(6, len(str(customers))),
        "order": max(6, len(str(orders))),
        "shipment": max(7, len(str(3 * orders))),
        "line": max(7, len(str(6 * orders))),
    }


def _write_customers(run: _Run, addresses: Addresses, seed: int) -> None:
    total = len(addresses.city)
    for chunk, lo in enumerate(range(0, total, CUSTOMER_CHUNK)):
        hi = min(lo + CUSTOMER_CHUNK, total)
        part = Addresses(addresses.city[lo:hi], addresses.postal[lo:hi], addresses.locale[lo:hi])
        ids = _ids("C", np.arange(lo + 1, hi + 1), run.widths["customer"])
        rng = np.random.default_rng([seed, 1, chunk])
        run.files.write("customers", customer_rows(part, run.ctx.dests, ids, rng))


def _order_status(
    orders: ChunkOrders, rows: ShipRows, track: Track, run: _Run, rng: np.random.Generator
) -> Arr:
    count = len(orders.placed)
    status = np.where(orders.cancelled, "cancelled", "open").astype(object)
    trouble = np.isin(track.scenario[rows.parcel], (Scenario.LOST, Scenario.RETURN))
    troubled = np.bincount(rows.order, weights=trouble, minlength=count) > 0
    shipped = np.bincount(rows.order, minlength=count) > 0
    early = (track.delivered[rows.parcel] <= run.demo - DAY).astype(np.int64)
    done = shipped & (
        np.bincount(rows.order, weights=early, minlength=count)
        == np.bincount(rows.order, minlength=count)
    )
    roll = rng.random(count)
    status = np.where(done & (roll < 0.25), "delivered", status)
    refunded = (troubled & (roll < 0.6)) | (shipped & (roll > 0.997))
    return np.where(refunded, "refunded", status)


def _write_orders(run: _Run, orders: ChunkOrders, status: Arr) -> Arr:
    ctx = run.ctx
    count = len(orders.placed)
    ids = _ids("O", np.arange(orders.first + 1, orders.first + count + 1), run.widths["order"])
    zone = ctx.places.zone[orders.dest]
    run.files.write(
        "orders",
        {
            "order_id": ids,
            "customer_id": _ids("C", orders.customer + 1, run.widths["customer"]),
            "placed_at": ctx.clock.iso(zone, orders.placed),
            "promised_by": date_text(orders.promise),
            "status": status,
            "channel": np.array(CHANNELS, dtype=object)[orders.channel],
        },
    )
    run.count("orders", count)
    run.count("cancelled_orders", orders.cancelled.sum())
    return ids


def _write_lines(run: _Run, lines: Lines, order_ids: Arr, row_ids: Arr) -> None:
    count = len(lines.order)
    ids = _ids("L", np.arange(run.next_line, run.next_line + count), run.widths["line"])
    run.next_line += count
    shipped = lines.row >= 0
    run.files.write(
        "order_lines",
        {
            "order_id": order_ids[lines.order],
            "line_id": ids,
            "sku": np.array([s for s, _ in PRODUCTS], dtype=object)[lines.product],
            "title": np.array([t for _, t in PRODUCTS], dtype=object)[lines.product],
            "quantity": lines.quantity,
            "shipment_id": np.append(row_ids, "")[np.where(shipped, lines.row, len(row_ids))],
        },
    )
    run.count("order_lines", count)
    run.count("unshipped_lines", (~shipped).sum())


def _shipment_base(
    run: _Run,
    orders: ChunkOrders,
    parcels: Parcels,
    rows: ShipRows,
    numbers: Arr,
    order_ids: Arr,
    postal: Arr,
) -> dict[str, Arr]:
    ctx = run.ctx
    parcel = rows.parcel
    service = parcels.service[parcel]
    warehouse = parcels.warehouse[parcel]
    row_ids = _ids("S", np.arange(run.next_row, run.next_row + len(parcel)), run.widths["shipment"])
    run.next_row += len(parcel)
    return {
        "shipment_id": row_ids,
        "order_id": order_ids[rows.order],
        "customer_id": _ids("C", orders.customer[rows.order] + 1, run.widths["customer"]),
        "carrier": np.array(CARRIERS, dtype=object)[np.array(SERVICE_CARRIER)[service]],
        "tracking_number": numbers[parcel],
        "service": np.array(SERVICE_NAMES, dtype=object)[service],
        "shipped_at": ctx.clock.iso(ctx.warehouse_zone[warehouse], parcels.label[parcel]),
        "origin_postal_code": _WAREHOUSE_POSTAL[warehouse],
        "destination_postal_code": postal[parcel],
        "destination_country": ctx.places.country[parcels.dest[parcel]],
    }


def _write_shipments(run: _Run, base: dict[str, Arr]) -> None:
    columns = LAYOUT["shipments"][1]
    run.files.write("shipments", {c: base[c] for c in columns})
    run.count("shipments", len(base["shipment_id"]))


def _write_tracking(run: _Run, track: Track, parcels: Parcels, numbers: Arr, postal: Arr) -> Arr:
    ctx = run.ctx
    scans = scan_rows(track, parcels, ctx)
    run.files.write("scans", scan_columns(scans, parcels, numbers, postal, ctx))
    etas = eta_rows(track, ctx)
    run.files.write("etas", eta_columns(etas, track, parcels, numbers, ctx))
    run.count("scans", len(scans.parcel))
    run.count("etas", len(etas.parcel))
    run.count("tracking_numbers", len(parcels))
    return first_evidence(scans, len(parcels))


def _write_truth(
    run: _Run,
    base: dict[str, Arr],
    track: Track,
    parcels: Parcels,
    rows: ShipRows,
    promise: Arr,
    scan_first: Arr,
) -> None:
    lane, hubs = lanes(parcels, run.ctx)
    kinds = events(track)
    base = {**base, "lane": lane[rows.parcel], "hub": hubs[rows.parcel]}
    columns = truth_columns(base, track, rows.parcel, promise, kinds, scan_first, run.ctx)
    run.files.write("truth", {c: columns[c] for c in TRUTH_COLUMNS})
    _tally(run, track, rows, promise, scan_first, columns)


def _tally(
    run: _Run,
    track: Track,
    rows: ShipRows,
    promise: Arr,
    scan_first: Arr,
    columns: dict[str, Arr],
) -> None:
    v = verdicts(track, rows.parcel, promise, scan_first, run.ctx)
    delayed = v["delayed"]
    run.count("delayed", delayed.sum())
    run.count("customer_relevant", v["relevant"].sum())
    run.count("delivered", (v["delivered"] < NEVER).sum())
    run.count("carrier_event_on_time", ((columns["carrier_event"] != "") & ~delayed).sum())
    visible = delayed & (v["evidence"] <= run.demo) & (v["delivered"] > run.demo)
    run.count("delays_visible_undelivered_at_demo", visible.sum())
    at_demo = (v["evidence"] <= run.demo) & (track.delivered[rows.parcel] > run.demo)
    run.count("weather_visible_at_demo", (at_demo & (columns["cause"] == "weather")).sum())
    run.causes.update(columns["cause"][delayed].tolist())
    shared = np.bincount(rows.parcel)
    run.count("shared_tracking_numbers", (shared > 1).sum())
    per_order = np.bincount(rows.order)
    run.count("split_orders", (per_order > 1).sum())


def _chunk(run: _Run, plan: OrderPlan, addresses: Addresses, index: int, lo: int, hi: int) -> None:
    ctx = run.ctx
    rng = np.random.default_rng([ctx.seed, 3, index])
    orders = plan_chunk(ctx, plan, addresses, lo, hi, rng)
    parcels = labelled(make_parcels(orders, ctx, rng), ctx)
    rows = ship_rows(orders, parcels)
    lines = make_lines(orders, parcels, rows, rng)
    serial = np.arange(run.next_parcel, run.next_parcel + len(parcels))
    run.next_parcel += len(parcels)
    numbers = tracking_numbers(serial, parcels.service, parcels.warehouse, ctx.keys)
    track = build_track(parcels, ctx, rng)
    order_ids = _write_orders(run, orders, _order_status(orders, rows, track, run, rng))
    postal = addresses.postal[orders.customer[parcels.order]]
    base = _shipment_base(run, orders, parcels, rows, numbers, order_ids, postal)
    _write_lines(run, lines, order_ids, base["shipment_id"])
    _write_shipments(run, base)
    scan_first = _write_tracking(run, track, parcels, numbers, postal)
    _write_truth(run, base, track, parcels, rows, orders.promise[rows.order], scan_first)


def _write_incidents(run: _Run) -> None:
    ctx = run.ctx
    incident = ctx.incident
    hub = geo.HUBS[incident.hub]
    zone = ctx.hub_zone[incident.hub]
    times = ctx.clock.iso(zone, np.array([incident.starts_at, incident.ends_at]))
    run.files.write(
        "incidents",
        {
            "incident_id": np.array(["INC001"]),
            "hub": np.array([hub.code]),
            "cause": np.array(["weather"]),
            "starts_at": times[:1],
            "ends_at": times[1:],
            "region": np.array([hub.area]),
        },
    )


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _meta(run: _Run, orders: int, customers: int) -> dict[str, Any]:
    ctx = run.ctx
    incident = ctx.incident
    shipments = max(run.counts["shipments"], 1)
    return {
        "generator": "notify.simulate",
        "seed": ctx.seed,
        "orders": orders,
        "customers": customers,
        "start": _iso(ctx.start),
        "end": _iso(ctx.end),
        "demo_as_of": _iso(run.demo),
        "carriers": {c: [s.name for s in SERVICES if s.carrier == c] for c in CARRIERS},
        "warehouses": {w.code: _site(w) for w in geo.WAREHOUSES},
        "hubs": {h.code: _site(h) for h in geo.HUBS},
        "incident": {
            "hub": geo.HUB_CODES[incident.hub],
            "kind": incident.kind,
            "starts_at": _iso(incident.starts_at),
            "ends_at": _iso(incident.ends_at),
        },
        "counts": dict(sorted(run.counts.items())),
        "delayed_by_cause": dict(sorted(run.causes.items())),
        "shares": {
            "delayed": round(run.counts["delayed"] / shipments, 4),
            "customer_relevant": round(run.counts["customer_relevant"] / shipments, 4),
        },
        "files": {name: relative for name, (relative, _) in LAYOUT.items()},
    }


def _site(site: geo.Site) -> dict[str, str]:
    return {
        "city": site.city,
        "region": site.region,
        "postal_code": site.postal_code,
        "country": site.country,
        "timezone": site.zone,
        "area": site.area,
    }


def generate_world(
    out: Path | str,
    *,
    orders: int = 2000,
    seed: int = 7,
    start: datetime | None = None,
    days: int = 42,
) -> WorldSummary:
    """Write a simulated world of ``orders`` orders over ``days`` days from ``start``."""
    if orders < 1 or orders * 3 >= MAX_PARCELS:
        raise ValueError(f"orders must be between 1 and {MAX_PARCELS // 3 - 1}, got {orders}")
    if days < 14:
        raise ValueError(f"days must be at least 14 (lanes need delivered history), got {days}")
    root = Path(out)
    begin = start if start is not None else DEFAULT_START
    ctx = build_context(seed, to_epoch(begin), days)
    customers = max(1, round(orders / ORDERS_PER_CUSTOMER))
    addresses = draw_addresses(customers, ctx.dests, np.random.default_rng([seed, 1]))
    plan = draw_orders(ctx, orders, addresses, np.random.default_rng([seed, 2]))
    incident = ctx.incident
    demo = incident.starts_at + int(0.6 * (incident.ends_at - incident.starts_at))
    demo -= demo % HOUR
    with CsvFiles(root, LAYOUT) as files:
        run = _Run(ctx, files, _widths(orders, customers), demo)
        _write_customers(run, addresses, seed)
        run.count("customers", customers)
        for index, lo in enumerate(range(0, orders, CHUNK_ORDERS)):
            _chunk(run, plan, addresses, index, lo, min(lo + CHUNK_ORDERS, orders))
        _write_incidents(run)
        paths = {name: files.path(name) for name in LAYOUT}
    meta = _meta(run, orders, customers)
    (root / "world.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return WorldSummary(
        root=root,
        seed=seed,
        start=datetime.fromtimestamp(ctx.start, UTC),
        end=datetime.fromtimestamp(ctx.end, UTC),
        demo_as_of=datetime.fromtimestamp(demo, UTC),
        counts=dict(run.counts),
        causes=dict(run.causes),
        paths={**paths, "world": root / "world.json"},
    )
