"""Targeting benchmark: the target stage over N orders / N active shipments in the database.

    python -m bench.targeting [--orders 1000000] [--delayed 0.1] [--database-url URL]

Builds a store with N open-or-closed orders (one parcel each, a share split into two
parcels, a share of follow-up orders consolidated onto the same tracking number), every
parcel active (in transit), and a share of tracking numbers in an open delay episode with
an ETA for the run (known late, still on time, a window that still holds the promised day,
or unknown; causes from lost to weather) and the carrier's ETA statements for it (the
label-time day, then the same day again, a revision or a withdrawal).
Then times the target stage twice: the first run (labels recorded, cases opened) and the
next run an hour later (notices and cases already known), with peak resident memory.
Prints a table and writes ``bench/results/targeting-<orders>-<database>.json``. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.measure import Step, measured, scratch_dir

RESULTS = Path(__file__).resolve().parent / "results"
AS_OF = datetime(2026, 11, 19, 18, tzinfo=UTC)
CHUNK = 50_000
CAUSES = np.array(["weather", "transport_delay", "no_scan", "customs", "recipient_unavailable",
                   "address_issue", "damaged", "lost", "missed_pickup"], dtype=object)  # fmt: skip
CAUSE_SHARE = np.array([0.35, 0.2, 0.12, 0.06, 0.1, 0.07, 0.04, 0.03, 0.03])
ZONES = np.array(["America/New_York", "America/Chicago", "America/Denver",
                  "America/Los_Angeles", ""], dtype=object)  # fmt: skip
console = Console(width=150)


def _chunks(n: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, CHUNK):
        yield lo, min(lo + CHUNK, n)


def _insert(engine: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


def populate(engine: Any, orders: int, delayed: float, seed: int) -> dict[str, int]:
    """Customers, orders, lines, shipments, delay episodes and ETAs, chunk by chunk."""
    from notify.store import schema

    rng = np.random.default_rng(seed)
    customers = max(1, orders * 10 // 26)
    counts = {"customers": customers, "orders": orders, "shipments": 0, "episodes": 0}
    for lo, hi in _chunks(customers):
        ids = np.arange(lo, hi)
        zone = ZONES[rng.integers(0, len(ZONES), hi - lo)]
        _insert(engine, schema.customers, [
            {"customer_id": f"C{i:08d}", "first_name": "Bench", "last_name": None,
             "email": f"c{i}@example.com" if i % 20 else None, "phone": f"+1312555{i % 10000:04d}",
             "locale": "en-US", "timezone": z or None, "email_opt_in": bool(i % 5),
             "sms_opt_in": i % 3 == 0}
            for i, z in zip(ids, zone, strict=True)
        ])  # fmt: skip
    placed = AS_OF - timedelta(days=3)
    for lo, hi in _chunks(orders):
        n = hi - lo
        owner = rng.integers(0, customers, n)
        closed = np.where(rng.random(n) < 0.6, "cancelled", "refunded")
        status = np.where(rng.random(n) < 0.97, "open", closed)
        promise = rng.integers(-1, 4, n)
        split = rng.random(n) < 0.09
        guest = (rng.random(n) < 0.03) & (np.arange(lo, hi) > lo)  # shares the previous label
        order_rows, ship_rows, line_rows, episodes, etas, said = [], [], [], [], [], []
        for k in range(n):
            i = lo + k
            oid = f"O{i:08d}"
            day = (AS_OF.date() + timedelta(days=int(promise[k]))).isoformat()
            order_rows.append({"order_id": oid, "customer_id": f"C{owner[k]:08d}",
                               "placed_at": placed, "promised_by": day,
                               "promised_by_utc": datetime.fromisoformat(day + "T23:59:59+00:00"),
                               "status": str(status[k]), "channel": "web", "need_by": None,
                               "order_value": 30 + (i * 7919 % 1000) / 2})  # fmt: skip
            parcels = 2 if split[k] else 1
            for p in range(parcels):
                number = f"T{(i - 1 if guest[k] else i):09d}{p}"
                sid = f"S{i:08d}{p}"
                ship_rows.append({"shipment_id": sid, "order_id": oid, "carrier": "fedex",
                                  "tracking_number": number, "service": "FedEx Ground",
                                  "shipped_at": placed, "origin_postal_code": "38118",
                                  "destination_postal_code": "60601",
                                  "destination_country": "US"})  # fmt: skip
                line_rows.append({"order_id": oid, "line_id": f"L{p}", "sku": "SKU",
                                  "title": f"Item {p}", "quantity": 1,
                                  "shipment_id": sid})  # fmt: skip
                if not guest[k] and rng.random() < delayed:
                    episodes.append(_episode(number, rng))
                    etas.append(_eta(episodes[-1]["episode_id"], day, rng))
                    said.extend(_statements(episodes[-1], day, rng))
        _insert(engine, schema.orders, order_rows)
        _insert(engine, schema.shipments, ship_rows)
        _insert(engine, schema.order_lines, line_rows)
        if episodes:
            _insert(engine, schema.delay_episodes, episodes)
            _insert(engine, schema.eta_predictions, etas)
            _insert(engine, schema.eta_statements, said)
        counts["shipments"] += len(ship_rows)
        counts["episodes"] += len(episodes)
    return counts


def _episode(number: str, rng: np.random.Generator) -> dict[str, Any]:
    opened = AS_OF - timedelta(hours=int(rng.integers(1, 72)))
    return {"episode_id": f"ep_{number}", "carrier": "fedex", "tracking_number": number,
            "kind": "exception", "cause": str(rng.choice(CAUSES, p=CAUSE_SHARE)),
            "opened_at": opened, "updated_at": opened, "closed_at": None, "close_reason": None,
            "version": 1, "facts_hash": "x", "evidence": "[]"}  # fmt: skip


def _eta(episode_id: str, promised: str, rng: np.random.Generator) -> dict[str, Any]:
    roll = rng.random()
    day = datetime.fromisoformat(promised).date()
    if roll < 0.1:
        return {"run_id": "bench-1", "episode_id": episode_id, "earliest": None, "latest": None,
                "most_likely": None, "confidence": None, "method": "unknown",
                "next_update_by": AS_OF + timedelta(hours=24)}  # fmt: skip
    late = 0 if roll < 0.3 else int(rng.choice([1, 2, 3, 4, 6], p=[0.4, 0.3, 0.15, 0.1, 0.05]))
    eta = (day + timedelta(days=late)).isoformat()
    first = (day + timedelta(days=late - 1 if roll > 0.9 else late)).isoformat()  # some straddle
    return {"run_id": "bench-1", "episode_id": episode_id, "earliest": first, "latest": eta,
            "most_likely": eta, "confidence": 0.9, "method": "model",
            "next_update_by": None}  # fmt: skip


def _statements(episode: dict[str, Any], promised: str, rng: np.random.Generator) -> list[dict]:
    """The label-time ETA, then the same day again, a revision (+1 to +3) or a withdrawal."""
    day = datetime.fromisoformat(promised).date() - timedelta(days=int(rng.integers(0, 2)))
    base = {"carrier": "fedex", "tracking_number": episode["tracking_number"]}
    later = rng.random()
    shift = 0 if later < 0.6 else int(rng.integers(1, 4))
    text = None if later < 0.1 else (day + timedelta(days=shift)).isoformat()
    return [
        {**base, "stated_at": AS_OF - timedelta(days=4), "earliest": day.isoformat(),
         "latest": day.isoformat()},
        {**base, "stated_at": episode["opened_at"], "earliest": text, "latest": text},
    ]  # fmt: skip


def _copy_etas(engine: Any, source: str, target: str) -> None:
    from sqlalchemy import literal, select

    from notify.store import schema

    p = schema.eta_predictions
    columns = [c.name for c in p.columns]
    chosen = [literal(target).label("run_id") if c == "run_id" else p.c[c] for c in columns]
    with engine.begin() as conn:
        conn.execute(p.insert().from_select(columns, select(*chosen).where(p.c.run_id == source)))


@contextmanager
def _store(database_url: str | None) -> Iterator[str]:
    """A new, empty store: an SQLite file, or a throwaway database on the PostgreSQL server
    of ``database_url`` (created, then dropped), so a run never meets an earlier run's rows."""
    if database_url is None or not database_url.startswith("postgresql"):
        with scratch_dir("oasis-bench-targeting-") as work:  # 0.7 GB at a million orders
            yield database_url or f"sqlite:///{work / 'oasis.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"oasis_bench_targeting_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(orders: int, delayed: float, seed: int, database_url: str | None) -> list[Step]:
    with _store(database_url) as url:
        return _run(orders, delayed, seed, url)


def _run(orders: int, delayed: float, seed: int, database_url: str) -> list[Step]:
    from sqlalchemy import create_engine

    from notify.runs import begin_run
    from notify.stages import target
    from notify.store import migrate

    engine = create_engine(database_url)
    migrate(engine)
    steps = []
    with measured("populate the store") as step:
        counts = populate(engine, orders, delayed, seed)
    step.rows = counts["shipments"]
    step.detail = counts
    steps.append(step)
    for i, at in ((1, AS_OF), (2, AS_OF + timedelta(hours=1))):
        run_id = f"bench-{i}"
        begin_run(engine, run_id=run_id, as_of=at, mode="replay", params={})
        if i > 1:
            _copy_etas(engine, "bench-1", run_id)
        name = "target, first run" if i == 1 else "target, next run (notices known)"
        with measured(name) as step:
            result = target.target(engine, run_id=run_id, as_of=at)
        step.rows = counts["shipments"]
        step.detail = result.to_dict()
        steps.append(step)
    engine.dispose()
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.targeting", description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--delayed", type=float, default=0.1, help="share of parcels delayed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    steps = run(args.orders, args.delayed, args.seed, args.database_url)
    table = Table(title=f"Oasis targeting, {args.orders:,} orders, all parcels active")
    for column in ("step", "active shipments", "candidates", "notices", "seconds",
                   "shipments/s", "peak RSS MB"):  # fmt: skip
        table.add_column(column, justify="left" if column == "step" else "right")
    for s in steps:
        d = s.detail
        table.add_row(s.name, f"{s.rows:,}", f"{d.get('candidates', 0):,}",
                      f"{d.get('notices', 0):,}", f"{s.seconds:.1f}",
                      f"{s.rows_per_second:,.0f}", f"{s.peak_rss_mb:,.0f}")  # fmt: skip
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    backend = (args.database_url or "sqlite").split(":")[0].split("+")[0]
    out = RESULTS / f"targeting-{args.orders}-{backend}.json"
    out.write_text(json.dumps({"orders": args.orders, "delayed": args.delayed,
                               "database": backend, "seconds_total": time.perf_counter() - started,
                               "steps": [s.to_dict() for s in steps]}, indent=2))  # fmt: skip
    console.print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
