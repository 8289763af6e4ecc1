"""Replay a world: the real detect and ETA stages on a store, at many as-of times in order.

Each moment is one run (``bt-<as-of>``) of :func:`notify.stages.detect.detect` and
:func:`notify.stages.eta.predict`, exactly as the DAG calls them, on a store holding the
whole world (both stages only look at what was known by the run's as-of time). The ETA
model is refitted from the store every ``refit_hours`` of world time. After every run the
open episodes and their ETAs are read back as samples, with the carrier's own newest
statement beside them, for :mod:`notify.backtest.metrics` to score against the truth.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from notify.backtest.load import Loaded, load_world
from notify.eta_model import EtaModel, Predictor
from notify.parcels import WAITING, load_parcels
from notify.rules import DEFAULT_RULES, DetectionRules
from notify.simulate.truth import load_meta
from notify.stages import detect, eta
from notify.store import migrate, schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BacktestConfig:
    world: Path
    out: Path
    every_hours: float = 6.0
    warmup_days: float = 7.0
    refit_hours: float = 24.0
    naive_days: int = 1
    database_url: str | None = None
    rules: DetectionRules = DEFAULT_RULES


@dataclass
class Replay:
    samples: pd.DataFrame
    loaded: Loaded
    runs: list[dict[str, Any]] = field(default_factory=list)
    on_their_way: pd.DataFrame = field(default_factory=pd.DataFrame)


def moments(config: BacktestConfig) -> list[datetime]:
    """The as-of times: every ``every_hours`` from the end of the warm-up to the world's end."""
    meta = load_meta(config.world)
    start = datetime.fromisoformat(meta["start"]).astimezone(UTC)
    end = datetime.fromisoformat(meta["end"]).astimezone(UTC)
    step = timedelta(hours=config.every_hours)
    at = start + timedelta(days=config.warmup_days)
    at = at.replace(minute=0, second=0, microsecond=0)
    out = []
    while at <= end:
        out.append(at)
        at += step
    return out


def _samples(engine: Engine, run_id: str, as_of: datetime) -> list[dict[str, Any]]:
    ep, pr, st = schema.delay_episodes, schema.eta_predictions, schema.eta_statements

    def newest(column: Any) -> Any:
        return (
            select(column)
            .where(st.c.carrier == ep.c.carrier, st.c.tracking_number == ep.c.tracking_number)
            .where(st.c.stated_at <= as_of)
            .order_by(st.c.stated_at.desc())
            .limit(1)
            .scalar_subquery()
        )

    query = (
        select(
            ep.c.episode_id,
            ep.c.carrier,
            ep.c.tracking_number,
            ep.c.kind,
            ep.c.cause,
            ep.c.version,
            ep.c.incident_id,
            ep.c.opened_at,
            pr.c.earliest,
            pr.c.latest,
            pr.c.most_likely,
            pr.c.confidence,
            pr.c.method,
            pr.c.p_late,
            pr.c.promised_day,
            pr.c.basis,
            pr.c.history,
            newest(st.c.earliest).label("carrier_earliest"),
            newest(st.c.latest).label("carrier_latest"),
        )
        .join(pr, (pr.c.episode_id == ep.c.episode_id) & (pr.c.run_id == run_id))
        .where(ep.c.closed_at.is_(None), ep.c.opened_at <= as_of)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["as_of"] = as_of
    return rows


def _engine(config: BacktestConfig, folder: Path) -> Engine:
    url = config.database_url or f"sqlite:///{folder / 'backtest.db'}"
    engine = create_engine(url)
    migrate(engine)
    return engine


def on_their_way(engine: Engine, model: EtaModel, as_of: datetime) -> list[dict[str, Any]]:
    """Every parcel on its way at ``as_of`` (not only those in an episode), with the
    model's window and the carrier's own newest ETA: the model's general accuracy."""
    predictor = Predictor(model)
    out = []
    with engine.connect() as conn:
        for p in load_parcels(conn, as_of):
            if not p.events or all(e.status in WAITING for e in p.events):
                continue  # not picked up yet: not on its way
            pred = predictor.predict(p, as_of)
            w = pred.window if pred.shown else None
            out.append(
                {
                    "as_of": as_of,
                    "carrier": p.carrier,
                    "tracking_number": p.tracking_number,
                    "earliest": w.earliest.isoformat() if w else None,
                    "latest": w.latest.isoformat() if w else None,
                    "most_likely": w.most_likely.isoformat() if w else None,
                    "confidence": w.confidence if w else None,
                    "p_late": pred.p_late,
                    "basis": pred.basis,
                    "promised_day": p.promised_day.isoformat() if p.promised_day else None,
                    "carrier_earliest": p.eta_earliest,
                    "carrier_latest": p.eta_latest,
                    "kind": "none",
                    "cause": "none",
                }
            )
    return out


def replay(
    config: BacktestConfig, progress: Callable[[int, int, dict[str, Any]], None] | None = None
) -> Replay:
    """Load the world into a fresh store and run detect + ETA at every moment (and, once a
    day, the model on every parcel on its way)."""
    with tempfile.TemporaryDirectory(prefix="oasis-backtest-") as folder:  # the SQLite store
        return _replay(config, _engine(config, Path(folder)), progress)


def _replay(
    config: BacktestConfig,
    engine: Engine,
    progress: Callable[[int, int, dict[str, Any]], None] | None,
) -> Replay:
    loaded = load_world(engine, config.world)
    samples: list[dict[str, Any]] = []
    everyone: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    model: EtaModel | None = None
    fitted_at: datetime | None = None
    times = moments(config)
    for i, as_of in enumerate(times):
        run_id = f"bt-{as_of.isoformat()}"
        found = detect.detect(engine, run_id=run_id, as_of=as_of, rules=config.rules)
        if (
            model is None
            or fitted_at is None
            or as_of - fitted_at >= timedelta(hours=config.refit_hours)
        ):
            model, fitted_at = eta.fit_model(engine, as_of, config.rules, model), as_of
            everyone.extend(on_their_way(engine, model, as_of))
        predicted = eta.predict(engine, run_id=run_id, as_of=as_of, rules=config.rules,
                                model=model)  # fmt: skip
        summary = {"as_of": as_of.isoformat(), "detect": found.to_dict(),
                   "eta": predicted.to_dict()}  # fmt: skip
        runs.append(summary)
        samples.extend(_samples(engine, run_id, as_of))
        if progress is not None:
            progress(i + 1, len(times), summary)
    engine.dispose()
    return Replay(pd.DataFrame(samples), loaded, runs, pd.DataFrame(everyone))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def write_runs(runs: list[dict[str, Any]], path: Path) -> None:
    path.write_text(json.dumps(runs, default=_jsonable, indent=1) + "\n", "utf-8")


def iter_chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
