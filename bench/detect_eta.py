"""Delay detection and ETA for a million active shipments.

    python -m bench.detect_eta [--active 1000000] [--orders 60000] [--seed 11]
                               [--database-url URL]

A simulated world gives the delivered history (what the ETA model learns from) and the
parcels on their way at its demo moment (mid weather incident). Those in-flight parcels
are copied, with new tracking numbers on the same orders and their scans and carrier ETA
statements up to that moment, until ``--active`` shipments are on their way. Then, at that
moment, it times: detect (every active parcel), fitting the ETA model, the ETA stage (every
open episode) and the model alone on every active parcel. Prints a table and writes
``bench/results/detect_eta-<active>.json``. Talks only to the local store.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from bench.measure import Step, measured, scratch_dir

RESULTS = Path(__file__).resolve().parent / "results"
CHUNK = 20_000
console = Console()


def _in_flight(conn: Connection, as_of: datetime) -> list[Any]:
    """Shipment rows of open orders whose parcel is on its way at ``as_of``."""
    from notify.store import schema

    s, e, o = schema.shipments, schema.tracking_events, schema.orders
    delivered = (
        select(e.c.tracking_number)
        .where(e.c.status.in_(["delivered", "expired"]), e.c.occurred_at <= as_of)
        .scalar_subquery()
    )
    query = (
        select(s)
        .join(o, o.c.order_id == s.c.order_id)
        .where(o.c.status == "open", s.c.shipped_at <= as_of)
        .where(s.c.tracking_number.not_in(delivered))
    )
    return list(conn.execute(query).all())


def _copies(rows: list[Any], key: str, copy: int) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        row = dict(r._mapping)
        del row[key]
        row["tracking_number"] = f"{r.tracking_number}-{copy}"
        out.append(row)
    return out


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), CHUNK):
        yield rows[i : i + CHUNK]


def grow(engine: Engine, as_of: datetime, active: int) -> int:
    """Copy the in-flight parcels until ``active`` shipments are on their way."""
    from notify.store import schema

    s, e, st = schema.shipments, schema.tracking_events, schema.eta_statements
    with engine.connect() as conn:
        ships = _in_flight(conn, as_of)
        numbers = sorted({r.tracking_number for r in ships})
        events, statements = [], []
        for i in range(0, len(numbers), 500):
            part = numbers[i : i + 500]
            events += conn.execute(
                select(e).where(e.c.tracking_number.in_(part), e.c.occurred_at <= as_of)
            ).all()
            statements += conn.execute(
                select(st).where(st.c.tracking_number.in_(part), st.c.stated_at <= as_of)
            ).all()
    total, copy = len(ships), 0
    while total < active:
        copy += 1
        take = ships[: active - total]
        rows = [
            {
                **r._mapping,
                "shipment_id": f"{r.shipment_id}-{copy}",
                "tracking_number": f"{r.tracking_number}-{copy}",
            }
            for r in take
        ]
        wanted = {r.tracking_number for r in take}
        with engine.begin() as conn:
            for chunk in _chunks(rows):
                conn.execute(s.insert(), chunk)
            for table, source, key in ((e, events, "event_id"), (st, statements, "statement_id")):
                mine = [r for r in source if r.tracking_number in wanted]
                for chunk in _chunks(_copies(mine, key, copy)):
                    conn.execute(table.insert(), chunk)
        total += len(take)
    return total


def run(active: int, orders: int, seed: int, database_url: str | None) -> tuple[list[Step], dict]:
    with scratch_dir("oasis-bench-eta-") as work:
        return _run(work, active, orders, seed, database_url)


def _run(
    work: Path, active: int, orders: int, seed: int, database_url: str | None
) -> tuple[list[Step], dict]:
    from notify.backtest.load import load_world
    from notify.eta_model import Predictor
    from notify.parcels import load_parcels
    from notify.rules import DEFAULT_RULES
    from notify.simulate import generate_world
    from notify.stages import detect, eta
    from notify.store import open_store, schema

    steps: list[Step] = []
    with measured("simulate world") as step:
        summary = generate_world(work / "world", orders=orders, seed=seed)
    step.rows = orders
    steps.append(step)
    as_of = summary.demo_as_of
    engine = open_store(database_url or f"sqlite:///{work / 'oasis.db'}")
    with measured("load world into the store") as step:
        loaded = load_world(engine, work / "world")
    step.rows = loaded.events + loaded.statements
    steps.append(step)
    with measured(f"copy in-flight parcels to {active:,}") as step:
        step.rows = grow(engine, as_of, active)
    steps.append(step)
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(schema.tracking_events)).scalar()
    rules = DEFAULT_RULES
    with measured("detect (every active parcel)") as step:
        found = detect.detect(engine, run_id="bench", as_of=as_of, rules=rules)
    step.rows = active
    step.detail = found.to_dict()
    steps.append(step)
    with measured("fit ETA model (delivered history)") as step:
        model = eta.fit_model(engine, as_of, rules)
    step.rows = model.parcels
    steps.append(step)
    with measured("eta stage (every open episode)") as step:
        predicted = eta.predict(engine, run_id="bench", as_of=as_of, rules=rules, model=model)
    step.rows = predicted.predicted + predicted.unknown
    step.detail = predicted.to_dict()
    steps.append(step)
    with measured("ETA model on every active parcel") as step:
        predictor, shown = Predictor(model), 0
        with engine.connect() as conn:
            for parcel in load_parcels(conn, as_of):
                shown += predictor.predict(parcel, as_of).shown
                step.rows += 1
    step.detail = {"windows_shown": shown}
    steps.append(step)
    meta = {"active": active, "orders": orders, "seed": seed, "as_of": as_of.isoformat(),
            "events_in_store": events, "database": engine.dialect.name}  # fmt: skip
    engine.dispose()
    return steps, meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.detect_eta", description=__doc__)
    parser.add_argument("--active", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    steps, meta = run(args.active, args.orders, args.seed, args.database_url)
    table = Table(title=f"Detection and ETA, {args.active:,} active shipments")
    for column in ("step", "rows", "seconds", "rows/s", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for s in steps:
        table.add_row(s.name, f"{s.rows:,}", f"{s.seconds:.2f}", f"{s.rows_per_second:,.0f}",
                      f"{s.peak_rss_mb:,.0f}")  # fmt: skip
    console.print(table)
    console.print(meta)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"detect_eta-{args.active}.json"
    out.write_text(json.dumps({**meta, "steps": [s.to_dict() for s in steps]}, indent=2))
    console.print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
