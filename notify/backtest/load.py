"""Load a simulated world into a store for a backtest.

Orders go through the normal order-file loader. The tracking files (``tracking/scans.csv``
and ``etas.csv``, the same rows the carrier sandbox serves) are written straight into
``tracking_events`` and ``eta_statements``: the backtest is about detection and ETA, and
loading every scan once is what makes replaying hundreds of moments affordable. Each ETA
statement keeps the time the carrier made it, so "the newest statement as of T" is what a
run polling at T would have stored.

The order file is the shop's state at the world's demo time. An order marked
``delivered`` there was open until its last parcel arrived, so it is loaded as open
(detection ignores delivered parcels anyway); cancelled and refunded orders stay closed
and their parcels are out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Table, update
from sqlalchemy.engine import Connection, Engine

from notify.orders import load_order_files
from notify.store import schema

CHUNK = 20_000


@dataclass
class Loaded:
    orders: int = 0
    events: int = 0
    statements: int = 0
    reopened_orders: int = 0  # "delivered" in the snapshot, open while in transit


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].where(frame[column] != "", None)


def _utc(values: pd.Series) -> list:
    return [t.to_pydatetime() for t in pd.to_datetime(values, utc=True, format="ISO8601")]


def _insert(conn: Connection, table: Table, rows: list[dict]) -> int:
    """Many rows in one executemany (the world's files hold each row once)."""
    if rows:
        conn.execute(table.insert(), rows)
    return len(rows)


def _scan_rows(chunk: pd.DataFrame) -> list[dict]:
    at = _utc(chunk["occurred_at"])
    frame = pd.DataFrame(
        {
            "carrier": chunk["carrier"],
            "tracking_number": chunk["tracking_number"],
            "local_time": chunk["occurred_at"],
            "status": chunk["status"],
            "reason": _text(chunk, "reason"),
            "code": "sim:" + chunk["status"] + ":" + chunk["reason"],
            "description": chunk["description"],
            "city": _text(chunk, "city"),
            "region": _text(chunk, "region"),
            "postal_code": _text(chunk, "postal_code"),
            "country": _text(chunk, "country"),
            "departed": chunk.get("departed", pd.Series("", index=chunk.index)) == "true",
        }
    )
    rows = frame.to_dict(orient="records")
    for row, moment in zip(rows, at, strict=True):
        row["occurred_at"] = moment
        row["first_seen_at"] = moment
    return rows


def _eta_rows(chunk: pd.DataFrame) -> list[dict]:
    at = _utc(chunk["stated_at"])
    rows = pd.DataFrame(
        {
            "carrier": chunk["carrier"],
            "tracking_number": chunk["tracking_number"],
            "earliest": _text(chunk, "earliest"),
            "latest": _text(chunk, "latest"),
        }
    ).to_dict(orient="records")
    for row, moment in zip(rows, at, strict=True):
        row["stated_at"] = moment
    return rows


def load_world(engine: Engine, world: Path) -> Loaded:
    """Orders, scans and ETA statements of ``world`` into the (migrated, empty) store."""
    out = Loaded()
    result = load_order_files(engine, world / "orders")
    out.orders = result.loaded.get("orders", 0)
    with engine.begin() as conn:
        o = schema.orders
        moved = conn.execute(update(o).where(o.c.status == "delivered").values(status="open"))
        out.reopened_orders = moved.rowcount or 0
    read = {"dtype": str, "keep_default_na": False, "chunksize": CHUNK}
    for chunk in pd.read_csv(world / "tracking" / "scans.csv", **read):
        with engine.begin() as conn:
            out.events += _insert(conn, schema.tracking_events, _scan_rows(chunk))
    etas = world / "tracking" / "etas.csv"
    if etas.exists():
        for chunk in pd.read_csv(etas, **read):
            with engine.begin() as conn:
                out.statements += _insert(conn, schema.eta_statements, _eta_rows(chunk))
    return out
