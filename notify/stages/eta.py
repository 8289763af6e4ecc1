"""ETA: a delivery window, with how sure we are, for every open delay episode.

The window comes from :mod:`notify.eta_model`, learned from the parcels delivered in the
store up to the run's time. When the model has no history for a parcel, the carrier's own
plausible statement is passed on without a claimed confidence; when the window would be
too wide to help (``OASIS_MAX_ETA_WINDOW_DAYS``), or nothing is known, the answer is
"unknown" with the time by which we write again.

What the customer was told is part of the episode (``facts``): a window already stated is
kept while it still holds at least ``keep_window_above`` of the probability, so a wobbling
carrier ETA (A, B, A...) does not change the message, and the episode ``version`` moves
only when the stated window (or unknown) really changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Connection, Engine

from notify import calendars
from notify.eta_model import (
    NO_PREDICTION,
    EtaModel,
    HistoryParcel,
    Prediction,
    Predictor,
    Statement,
    lower_bound,
    mass,
    window_of,
)
from notify.parcels import Parcel, clean_events, event_from_row, load_parcels, new_parcel
from notify.rules import DEFAULT_RULES, DetectionRules
from notify.sql import query
from notify.stages.detect import episode_facts, facts_hash
from notify.store import schema
from notify.store.ops import upsert
from notify.store.types import as_utc

MAX_AHEAD = timedelta(days=60)


@dataclass
class EtaResult:
    predicted: int = 0
    unknown: int = 0
    implausible: int = 0
    kept: int = 0  # a window stated before still holds
    changed: int = 0  # episodes whose stated ETA changed (new version)
    history: int = 0  # delivered parcels the model learned from
    by_method: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def plausible(day: date, as_of: datetime) -> bool:
    return as_of.date() <= day <= (as_of + MAX_AHEAD).date()


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def load_history(
    conn: Connection, as_of: datetime, rules: DetectionRules, since: datetime | None = None
) -> list[HistoryParcel]:
    """Every parcel delivered in the lookback (or after ``since``), with its scans and the
    carrier's statements."""
    start = as_of - timedelta(days=rules.eta.lookback_days)
    params = {"as_of": as_of, "from_at": max(start, since) if since else start}
    parcels: dict[tuple[str, str], HistoryParcel] = {}
    for r in conn.execute(query("lane_history_parcels"), params):
        p = new_parcel((r.carrier, r.tracking_number), None)
        p.service, p.timezone = r.service, r.timezone
        p.origin_postal, p.destination_postal = r.origin_postal_code, r.destination_postal_code
        p.destination_country = r.destination_country
        p.shipped_at = as_utc(r.shipped_at) if r.shipped_at else None
        parcels[(r.carrier, r.tracking_number)] = HistoryParcel(p, [], as_utc(r.delivered_at))
    rows = conn.execute(query("lane_history_events"), params, execution_options={"yield_per": 5000})
    for r in rows:
        h = parcels.get((r.carrier, r.tracking_number))
        if h is not None:
            h.parcel.events.append(event_from_row(r))
    for r in conn.execute(query("lane_history_statements"), params):
        h = parcels.get((r.carrier, r.tracking_number))
        if h is not None:
            h.statements.append(Statement(as_utc(r.stated_at), _day(r.latest)))
    for h in parcels.values():
        h.parcel.events = clean_events(h.parcel.events)
    return list(parcels.values())


def fit_model(
    engine: Engine, as_of: datetime, rules: DetectionRules, model: EtaModel | None = None
) -> EtaModel:
    """A model learned from the store's deliveries up to ``as_of``; given a model fitted
    earlier, only what was delivered since is added (a replay moving forward in time)."""
    model = model or EtaModel(rules)
    with engine.connect() as conn:
        history = load_history(conn, as_of, rules, model.fitted_until)
    model.fit(history)
    model.fitted_until = as_of
    return model


def _open_episodes(conn: Connection, as_of: datetime) -> list[Any]:
    ep = schema.delay_episodes
    return list(
        conn.execute(select(ep).where(ep.c.closed_at.is_(None), ep.c.opened_at <= as_of)).all()
    )


def _carrier_fallback(p: Parcel, as_of: datetime) -> dict[str, Any] | None:
    earliest, latest = _day(p.eta_earliest), _day(p.eta_latest)
    if earliest is None or latest is None:
        return None
    if not (plausible(earliest, as_of) and plausible(latest, as_of)):
        return None
    return {"earliest": earliest, "latest": latest, "most_likely": earliest}


class _Rows:
    """Turns predictions into ``eta_predictions`` rows and episode updates for one run."""

    def __init__(self, run_id: str, as_of: datetime, rules: DetectionRules, learned: bool) -> None:
        self.run_id, self.as_of, self.rules = run_id, as_of, rules
        self.learned = learned  # the model has history: only its calibrated windows are shown
        self.predictions: list[dict[str, Any]] = []
        self.episodes: list[dict[str, Any]] = []
        self.out = EtaResult()

    def _stated(self, episode: Any, p: Parcel, pred: Prediction) -> dict[str, Any] | None:
        """The window to state: the one told before while it holds, else the new one."""
        before = episode_facts(episode).get("eta")
        spec = self.rules.calendar(p.carrier, p.service)
        if isinstance(before, dict) and pred.distribution:
            earliest, latest = _day(before["earliest"]), _day(before["latest"])
            assert earliest is not None and latest is not None
            held = mass(pred.distribution, earliest, latest)
            if held >= self.rules.eta.keep_window_above:
                self.out.kept += 1
                inside = {d: q for d, q in pred.distribution.items() if earliest <= d <= latest}
                w = window_of(inside, held, spec)
                likely = w.most_likely if w is not None else earliest
                sure = lower_bound(held, pred.history, self.rules.eta.uncertainty_z)
                return {"earliest": earliest, "latest": latest, "most_likely": likely,
                        "confidence": sure}  # fmt: skip
        if pred.window is None or not pred.shown:
            return None
        w = pred.window
        return {"earliest": w.earliest, "latest": w.latest, "most_likely": w.most_likely,
                "confidence": w.confidence}  # fmt: skip

    def add(self, episode: Any, p: Parcel | None, pred: Prediction) -> None:
        row: dict[str, Any] = {
            "run_id": self.run_id,
            "episode_id": episode.episode_id,
            "p_late": pred.p_late,
            "promised_day": p.promised_day.isoformat() if p and p.promised_day else None,
            "basis": pred.basis,
            "history": pred.history,
            "distribution": json.dumps({d.isoformat(): round(q, 4)
                                        for d, q in sorted(pred.distribution.items())}),
            "rules_version": self.rules.version,
        }  # fmt: skip
        stated = self._stated(episode, p, pred) if p is not None else None
        method = "model"
        if stated is None and p is not None and pred.basis == "none" and not self.learned:
            stated = _carrier_fallback(p, self.as_of)
            method = "carrier_stated"
            if stated is None and p.eta_latest:
                self.out.implausible += 1
        if stated is None:
            next_update = self.as_of + timedelta(hours=self.rules.eta.next_update_hours)
            row.update(earliest=None, latest=None, most_likely=None, confidence=None,
                       method="unknown", next_update_by=next_update)  # fmt: skip
            self.out.unknown += 1
        else:
            row.update(
                earliest=stated["earliest"].isoformat(),
                latest=stated["latest"].isoformat(),
                most_likely=stated["most_likely"].isoformat(),
                confidence=stated.get("confidence"),
                method=method,
                next_update_by=None,
            )
            self.out.predicted += 1
        self.out.by_method[row["method"]] = self.out.by_method.get(row["method"], 0) + 1
        self.predictions.append(row)
        self._version(episode, row)

    def _version(self, episode: Any, row: dict[str, Any]) -> None:
        facts = episode_facts(episode)
        told = {"earliest": row["earliest"], "latest": row["latest"]} if row["earliest"] else None
        if facts.get("eta") == told:
            return
        facts["eta"] = told
        self.out.changed += 1
        self.episodes.append(
            {
                "episode_id": episode.episode_id,
                "version": episode.version + 1,
                "facts": json.dumps(facts, sort_keys=True),
                "facts_hash": facts_hash(facts),
            }
        )


def _episode_parcels(conn: Connection, as_of: datetime) -> dict[tuple[str, str], Parcel]:
    return {(p.carrier, p.tracking_number): p for p in load_parcels(conn, as_of, "episode")}


def _statements(conn: Connection, as_of: datetime) -> dict[tuple[str, str], list[Statement]]:
    out: dict[tuple[str, str], list[Statement]] = {}
    for r in conn.execute(query("episode_statements"), {"as_of": as_of}):
        key = (r.carrier, r.tracking_number)
        out.setdefault(key, []).append(Statement(as_utc(r.stated_at), _day(r.latest)))
    return out


def _not_coming(p: Parcel, as_of: datetime) -> Prediction:
    """A parcel on its way back (or lost): no date, certainly late."""
    promised = p.promised_day
    late = 1.0 if promised is not None else None
    return Prediction(None, False, {}, 1.0, late, "not_coming", 0)


def _held_by_incident(pred: Prediction) -> Prediction:
    """A parcel at, or on its way through, a stopped hub: no date until the hub moves
    again (history knows nothing of this stop); the usual delay probability is a floor."""
    return Prediction(None, False, {}, 1.0, pred.p_late, f"incident:{pred.basis}", pred.history)


def _predictions(
    predictor: Predictor,
    episodes: list[Any],
    parcels: dict[tuple[str, str], Parcel],
    as_of: datetime,
    rules: DetectionRules,
) -> Iterator[tuple[Any, Parcel | None, Prediction]]:
    for e in episodes:
        p = parcels.get((e.carrier, e.tracking_number))
        if p is None:
            yield e, p, NO_PREDICTION
        elif e.cause in rules.eta.not_coming_causes:
            yield e, p, _not_coming(p, as_of)
        elif e.kind == "incident":
            yield e, p, _held_by_incident(predictor.predict(p, as_of))
        else:
            yield e, p, predictor.predict(p, as_of)


def predict(
    engine: Engine,
    *,
    run_id: str,
    as_of: datetime,
    rules: DetectionRules = DEFAULT_RULES,
    model: EtaModel | None = None,
) -> EtaResult:
    """Predict every open episode's window as of ``as_of`` and store it for the run."""
    if model is None:
        model = fit_model(engine, as_of, rules)
    predictor = Predictor(model)
    # Until the store holds enough deliveries for any lane, the carrier's statement stands in.
    rows = _Rows(run_id, as_of, rules, learned=model.parcels >= rules.eta.min_history)
    rows.out.history = model.parcels
    with engine.connect() as conn:
        episodes = _open_episodes(conn, as_of)
        parcels = _episode_parcels(conn, as_of)
        model.waiting(parcels.values(), _statements(conn, as_of), as_of)
    for episode, parcel, prediction in _predictions(predictor, episodes, parcels, as_of, rules):
        rows.add(episode, parcel, prediction)
    ep = schema.delay_episodes
    with engine.begin() as conn:
        conn.execute(
            delete(schema.eta_predictions).where(schema.eta_predictions.c.run_id == run_id)
        )
        upsert(conn, schema.eta_predictions, rows.predictions, ["run_id", "episode_id"])
        if rows.episodes:
            conn.execute(
                ep.update()
                .where(ep.c.episode_id == bindparam("eid"))
                .values(version=bindparam("v"), facts=bindparam("f"), facts_hash=bindparam("h")),
                [
                    {
                        "eid": c["episode_id"],
                        "v": c["version"],
                        "f": c["facts"],
                        "h": c["facts_hash"],
                    }
                    for c in rows.episodes
                ],
            )
    return rows.out


__all__ = ["EtaResult", "calendars", "fit_model", "load_history", "plausible", "predict"]
