"""The ETA stage on a store (SQLite and PostgreSQL): rows, versions, unknown, not coming.

The model is learned from synthetic delivered history (tests/notify/test_eta_model.py)
where a transport delay at the hub adds exactly one business day; the store holds the live
parcels and their episodes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from notify.eta_model import EtaModel
from notify.orders import load_order_files
from notify.rules import DEFAULT_RULES
from notify.stages import detect, eta
from notify.store import schema
from tests.notify.test_episodes import _write
from tests.notify.test_eta_model import lane

T0 = datetime(2026, 11, 17, 14, tzinfo=UTC)  # Tuesday 09:00 in Columbus
WAREHOUSE = ("Columbus", "OH", "43217", "US")
HUB = ("Chicago", "IL", "60638", "US")


def _model() -> EtaModel:
    rng = np.random.default_rng(21)
    history = lane(rng, 400, {2: 1.0}, trouble=(8, "transport_delay"))
    return EtaModel(DEFAULT_RULES).fit(history)


def _setup(engine, tmp_path, reason="transport_delay"):
    folder = _write(tmp_path / "o", {"1ZLIVE": {"dest": "60601", "promised": "2026-11-18"}})
    for name in ("shipments",):  # the live parcel travels UPS Ground from Columbus
        path = folder / f"{name}.csv"
        path.write_text(path.read_text().replace("fedex", "ups").replace("FedEx Ground",
                                                                         "UPS Ground"))  # fmt: skip
    load_order_files(engine, folder)
    scans = [(0, "info_received", None, WAREHOUSE), (8, "in_transit", None, WAREHOUSE),
             (16, "in_transit", None, HUB), (24, "exception", reason, HUB)]  # fmt: skip
    with engine.begin() as conn:
        for hours, status, why, place in scans:
            at = T0 + timedelta(hours=hours)
            conn.execute(schema.tracking_events.insert().values(
                carrier="ups", tracking_number="1ZLIVE", occurred_at=at,
                local_time=at.isoformat(), status=status, reason=why, code=f"C{hours}",
                description=status, city=place[0], region=place[1], postal_code=place[2],
                country=place[3], first_seen_at=at))  # fmt: skip
        conn.execute(schema.eta_statements.insert().values(
            carrier="ups", tracking_number="1ZLIVE", stated_at=T0, earliest="2026-11-18",
            latest="2026-11-18"))  # fmt: skip


def _run(engine, hours, model, run="r"):
    at = T0 + timedelta(hours=hours)
    detect.detect(engine, run_id=f"{run}{hours}", as_of=at, rules=DEFAULT_RULES)
    return eta.predict(engine, run_id=f"{run}{hours}", as_of=at, rules=DEFAULT_RULES, model=model)


def _prediction(engine, run_id):
    p = schema.eta_predictions
    with engine.connect() as conn:
        return conn.execute(select(p).where(p.c.run_id == run_id)).one()


def _episode(engine):
    with engine.connect() as conn:
        return conn.execute(select(schema.delay_episodes)).one()


def test_a_window_is_stated_with_its_confidence_and_the_episode_version_follows(engine, tmp_path):
    _setup(engine, tmp_path)
    model = _model()
    result = _run(engine, 25, model)
    assert result.predicted == 1 and result.by_method == {"model": 1}
    row = _prediction(engine, "r25")
    assert (row.earliest, row.latest) == ("2026-11-19", "2026-11-19")  # one day late
    assert row.most_likely == "2026-11-19" and row.confidence > 0.95
    assert row.promised_day == "2026-11-18" and row.p_late > 0.99
    assert row.next_update_by is None and row.rules_version == DEFAULT_RULES.version
    assert json.loads(row.distribution) == {"2026-11-19": 1.0}
    episode = _episode(engine)
    assert episode.version == 2
    assert json.loads(episode.facts)["eta"] == {"earliest": "2026-11-19", "latest": "2026-11-19"}
    _run(engine, 25, model)  # the same moment again
    _run(engine, 27, model)  # later, same facts
    assert _episode(engine).version == 2


def test_no_history_for_the_delay_kind_means_unknown_with_a_next_update(engine, tmp_path):
    _setup(engine, tmp_path, reason="customs")
    result = _run(engine, 25, _model())
    assert result.unknown == 1
    row = _prediction(engine, "r25")
    assert row.method == "unknown" and row.earliest is None and row.latest is None
    assert row.next_update_by == T0 + timedelta(hours=25 + DEFAULT_RULES.eta.next_update_hours)


def test_a_parcel_coming_back_gets_no_date_and_is_certainly_late(engine, tmp_path):
    _setup(engine, tmp_path, reason="returning_to_sender")
    _run(engine, 25, _model())
    row = _prediction(engine, "r25")
    assert row.method == "unknown" and row.p_late == 1.0 and row.basis == "not_coming"


def test_the_model_learns_from_the_stores_deliveries(engine, tmp_path):
    _setup(engine, tmp_path)
    with engine.begin() as conn:
        at = T0 + timedelta(hours=50)
        conn.execute(schema.tracking_events.insert().values(
            carrier="ups", tracking_number="1ZLIVE", occurred_at=at, local_time=at.isoformat(),
            status="delivered", code="D", description="Delivered", city="Chicago", region="IL",
            postal_code="60601", country="US", first_seen_at=at))  # fmt: skip
    model = eta.fit_model(engine, T0 + timedelta(hours=60), DEFAULT_RULES)
    assert model.parcels == 1 and model.counts.delivered
    again = eta.fit_model(engine, T0 + timedelta(hours=70), DEFAULT_RULES, model)
    assert again.parcels == 1  # nothing new delivered since


def test_too_few_deliveries_for_any_lane_leave_the_carriers_statement_standing(engine, tmp_path):
    _setup(engine, tmp_path, reason="customs")
    with engine.begin() as conn:  # the carrier now says Friday
        conn.execute(schema.eta_statements.insert().values(
            carrier="ups", tracking_number="1ZLIVE", stated_at=T0 + timedelta(hours=24),
            earliest="2026-11-20", latest="2026-11-20"))  # fmt: skip
    thin = EtaModel(DEFAULT_RULES).fit(lane(np.random.default_rng(3), 1, {2: 1.0}))
    assert 0 < thin.parcels < DEFAULT_RULES.eta.min_history
    result = _run(engine, 25, thin)
    assert result.by_method == {"carrier_stated": 1}
    row = _prediction(engine, "r25")
    assert (row.earliest, row.latest) == ("2026-11-20", "2026-11-20")
    enough = _model()  # 400 deliveries, none with customs trouble: the model says unknown
    assert _run(engine, 26, enough).by_method == {"unknown": 1}
