"""A small simulated world served by the carrier sandbox, and pipeline runs over it.

Runs call the library steps exactly as the DAG tasks do (``pipeline.begin`` then
``pipeline.run_step`` per stage), without Airflow, against the store at ``database_url``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

UP_TO_GATE = ("ingest", "detect", "eta", "target", "compose", "render", "gate")
AFTER_GATE = ("release", "send", "record")


@dataclass
class World:
    root: Path
    demo_as_of: datetime
    sandbox_url: str

    def conf(self, **extra: Any) -> dict[str, Any]:
        return {
            "orders_dir": str(self.root / "orders"),
            "sandbox_url": self.sandbox_url,
            "carriers": ["fedex", "ups", "usps", "dhl"],
            **extra,
        }


def world_fixture(
    tmp_path_factory: pytest.TempPathFactory, orders: int, seed: int
) -> Iterator[World]:
    from carriers.sandbox import SandboxServer, SandboxWorld
    from notify.simulate import generate_world

    root = tmp_path_factory.mktemp("world")
    summary = generate_world(root, orders=orders, seed=seed)
    with SandboxServer(SandboxWorld.load(root)) as server:
        yield World(root, summary.demo_as_of, server.base_url)


def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def use_store(monkeypatch: pytest.MonkeyPatch, engine: Engine, home: Path) -> None:
    """Point the library (``load_settings``) at this store and a private OASIS_HOME."""
    monkeypatch.setenv("OASIS_DATABASE_URL", database_url(engine))
    monkeypatch.setenv("OASIS_HOME", str(home))


def run(
    run_id: str,
    world: World,
    as_of: datetime,
    steps: Sequence[str] = UP_TO_GATE,
    run_type: str | None = "manual",
    **params: Any,
) -> str:
    from notify import pipeline

    pipeline.begin(run_id, world.conf(as_of=as_of.isoformat(), **params), None, run_type)
    for step in steps:
        pipeline.run_step(step, run_id)
    return run_id


def later(at: datetime, **delta: float) -> datetime:
    return at + timedelta(**delta)
