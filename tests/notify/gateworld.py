"""A small order world with delays of every kind, for stage tests (SQLite and PostgreSQL).

tests/notify/orderfiles.py plus customers of our own: Ana (weather exception, ETA Nov
23-24) and Bo (address issue, no ETA) are affected; Dee's parcel had an exception the
carrier gave no reason for; Fay has no time zone but ships to Germany; Gus has no time zone
and ships inside the US (several zones); Hal, Ida, Jo and Kim have parcels that are fine.
Import ``settings_fixture`` and ``world_fixture`` into a test module to use the fixtures
``settings`` (a Settings with a private OASIS_HOME) and ``world`` (the loaded store).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from notify.config import Settings, load_settings
from notify.orders import load_order_files
from notify.runs import begin_run
from notify.stages import compose, detect, eta, messages, target
from notify.store import schema
from tests.notify.orderfiles import write_order_files

AS_OF = datetime(2026, 11, 19, 18, tzinfo=UTC)
T0 = datetime(2026, 11, 17, 0, tzinfo=UTC)

EXTRA = {
    "customers": [
        ["C4", "Dee", "Diaz", "dee@example.com", "", "en-US", "America/Chicago", "true",
         "false"],
        ["C6", "Fay", "Fink", "fay@example.de", "", "de-DE", "", "true", "false"],
        ["C7", "Gus", "Gold", "gus@example.com", "", "en-US", "", "true", "false"],
        *[[f"C{n}", name, "Ok", f"{name.lower()}@example.com", "", "en-US", "America/Denver",
           "true", "false"] for n, name in ((8, "Hal"), (9, "Ida"), (10, "Jo"), (11, "Kim"))],
    ],
    "orders": [
        ["O5", "C4", "2026-11-16T10:00:00-06:00", "2026-11-18", "open", "web"],
        ["O6", "C6", "2026-11-16T10:00:00+01:00", "2026-11-18", "open", "web"],
        ["O7", "C7", "2026-11-16T10:00:00-06:00", "2026-11-18", "open", "web"],
        *[[f"O{n}", f"C{n}", "2026-11-16T10:00:00-07:00", "2026-11-25", "open", "web"]
          for n in (8, 9, 10, 11)],
    ],
    "order_lines": [
        ["O5", "L1", "SKU-6", "Desk lamp", "1", "S6"],
        ["O6", "L1", "SKU-7", "Wollsocken", "2", "S7"],
        ["O7", "L1", "SKU-8", "Teapot", "1", "S8"],
        *[[f"O{n}", "L1", "SKU-9", "Notebook", "1", f"S{n + 1}"] for n in (8, 9, 10, 11)],
    ],
    "shipments": [
        ["S6", "O5", "fedex", "666666666666", "FedEx Ground", "2026-11-16T15:00:00-06:00",
         "38118", "75201", "US"],
        ["S7", "O6", "fedex", "777777777777", "FedEx International", "2026-11-16T15:00:00-06:00",
         "38118", "10115", "DE"],
        ["S8", "O7", "fedex", "888888888888", "FedEx Ground", "2026-11-16T15:00:00-06:00",
         "38118", "60601", "US"],
        *[[f"S{n + 1}", f"O{n}", "fedex", f"9{n:011d}", "FedEx Ground",
           "2026-11-16T15:00:00-06:00", "38118", "80202", "US"] for n in (8, 9, 10, 11)],
    ],
}  # fmt: skip


def add_events(engine: Engine, number: str, *events: tuple[float, str, str | None], **kw: Any):
    eta_days = kw.get("eta_days")
    with engine.begin() as conn:
        for i, (hours, status, reason) in enumerate(events):
            at = T0 + timedelta(hours=hours)
            conn.execute(schema.tracking_events.insert().values(
                carrier="fedex", tracking_number=number, occurred_at=at,
                local_time=at.isoformat(), status=status, reason=reason, code=f"C{i}",
                description=status, city=kw.get("city"), region=kw.get("region"),
                country="US", first_seen_at=at))  # fmt: skip
        if eta_days:
            conn.execute(schema.eta_statements.insert().values(
                carrier="fedex", tracking_number=number,
                stated_at=kw.get("stated_at", AS_OF - timedelta(hours=1)),
                earliest=eta_days[0], latest=eta_days[1]))  # fmt: skip


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OASIS_HOME", str(tmp_path / "home"))
    return load_settings()


@pytest.fixture(name="world")
def world_fixture(engine: Engine, tmp_path: Path) -> Engine:
    load_order_files(engine, write_order_files(tmp_path / "orders", EXTRA))
    add_events(engine, "111111111111", (0, "in_transit", None), (30, "exception", "weather"),
            eta_days=("2026-11-23", "2026-11-24"))  # fmt: skip
    add_events(engine, "222222222222", (0, "in_transit", None), (40, "out_for_delivery", None),
            eta_days=("2026-11-19", "2026-11-19"))  # fmt: skip
    add_events(engine, "333333333333", (0, "in_transit", None), (20, "exception", "address_issue"))
    add_events(engine, "555555555555", (0, "in_transit", None), (10, "exception", "damaged"))
    add_events(engine, "666666666666", (0, "in_transit", None), (31.5, "exception", None),
            city="Dallas", region="TX", eta_days=("2026-11-24", "2026-11-24"))  # fmt: skip
    add_events(engine, "777777777777", (0, "in_transit", None), (30, "exception", "customs"),
            eta_days=("2026-11-24", "2026-11-25"))  # fmt: skip
    add_events(engine, "888888888888", (0, "in_transit", None), (30, "exception", "weather"),
            eta_days=("2026-11-24", "2026-11-25"))  # fmt: skip
    for n in (8, 9, 10, 11):
        add_events(engine, f"9{n:011d}", (0, "in_transit", None), (50, "in_transit", None),
                eta_days=("2026-11-21", "2026-11-21"))  # fmt: skip
    return engine


def prepare(engine: Engine, settings: Settings, run_id: str = "r1", as_of: datetime = AS_OF):
    """Every stage up to render; returns the run."""
    run = begin_run(engine, run_id=run_id, as_of=as_of, mode="send", params={})
    detect.detect(engine, run_id=run_id, as_of=as_of)
    eta.predict(engine, run_id=run_id, as_of=as_of)
    target.target(engine, run_id=run_id, as_of=as_of)
    compose.compose(engine, run_id=run_id, settings=settings)
    messages.stage_messages(engine, run_id=run_id, templates=settings.templates_dir)
    return run
