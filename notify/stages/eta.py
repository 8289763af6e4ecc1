"""ETA: a new delivery window for every open delay episode.

The carrier's latest statement (as of the run) is used when it is plausible: not in the
past and not more than 60 days ahead. When there is none, or it was withdrawn, the honest
answer is "we don't know yet" with the time of the next update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from notify.sql import query
from notify.store import schema
from notify.store.ops import upsert

MAX_AHEAD = timedelta(days=60)
NEXT_UPDATE = timedelta(hours=24)
MIN_HISTORY = 30  # delivered parcels needed before a carrier's hit rate is stated


@dataclass
class EtaResult:
    predicted: int = 0
    unknown: int = 0
    implausible: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def plausible(day: date, as_of: datetime) -> bool:
    return as_of.date() <= day <= (as_of + MAX_AHEAD).date()


def _latest_statements(engine: Engine, as_of: datetime) -> dict[tuple[str, str], Any]:
    st = schema.eta_statements
    with engine.connect() as conn:
        rows = conn.execute(
            select(st.c.carrier, st.c.tracking_number, st.c.earliest, st.c.latest)
            .where(st.c.stated_at <= as_of)
            .order_by(st.c.stated_at)
        ).all()
    return {(r.carrier, r.tracking_number): r for r in rows}  # newest wins


def carrier_hit_rates(engine: Engine, as_of: datetime) -> dict[str, float]:
    """Per carrier: the share of delivered parcels that arrived inside its stated ETA.

    Only carriers with at least ``MIN_HISTORY`` delivered parcels with an ETA get a rate;
    for the others we do not claim a confidence.
    """
    hits: dict[str, list[bool]] = {}
    with engine.connect() as conn:
        for r in conn.execute(query("carrier_eta_history"), {"as_of": as_of}):
            if not r.eta_earliest or not r.eta_latest:
                continue
            day = str(r.delivered_local)[:10]
            hits.setdefault(r.carrier, []).append(r.eta_earliest[:10] <= day <= r.eta_latest[:10])
    return {c: sum(h) / len(h) for c, h in hits.items() if len(h) >= MIN_HISTORY}


def predict(engine: Engine, *, run_id: str, as_of: datetime) -> EtaResult:
    out = EtaResult()
    rates = carrier_hit_rates(engine, as_of)
    ep = schema.delay_episodes
    with engine.connect() as conn:
        episodes = conn.execute(
            select(ep.c.episode_id, ep.c.carrier, ep.c.tracking_number).where(
                ep.c.closed_at.is_(None), ep.c.opened_at <= as_of
            )
        ).all()
    statements = _latest_statements(engine, as_of)
    rows = []
    for e in episodes:
        st = statements.get((e.carrier, e.tracking_number))
        row: dict[str, Any] = {"run_id": run_id, "episode_id": e.episode_id}
        if st is not None and st.earliest and st.latest:
            earliest, latest = (
                date.fromisoformat(st.earliest[:10]),
                date.fromisoformat(st.latest[:10]),
            )
            if plausible(earliest, as_of) and plausible(latest, as_of):
                row.update(
                    earliest=earliest.isoformat(),
                    latest=latest.isoformat(),
                    most_likely=earliest.isoformat(),
                    confidence=rates.get(e.carrier),
                    method="carrier_stated",
                    next_update_by=None,
                )
                rows.append(row)
                out.predicted += 1
                continue
            out.implausible += 1
        row.update(
            earliest=None,
            latest=None,
            most_likely=None,
            confidence=None,
            method="unknown",
            next_update_by=as_of + NEXT_UPDATE,
        )
        rows.append(row)
        out.unknown += 1
    with engine.begin() as conn:
        conn.execute(
            delete(schema.eta_predictions).where(schema.eta_predictions.c.run_id == run_id)
        )
        upsert(conn, schema.eta_predictions, rows, ["run_id", "episode_id"])
    for r in rows:
        out.by_method[r["method"]] = out.by_method.get(r["method"], 0) + 1
    return out
