"""detect -> eta -> target -> compose on a hand-made world, on SQLite and PostgreSQL.

The world (tests/notify/orderfiles.py): Ana's order O1 ships in two parcels, only S1 hits
a weather exception; tracking number 333333333333 serves Bo's open order O2 and his
cancelled order O3; Cy (O4) has no email or phone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from notify.config import load_settings
from notify.orders import load_order_files
from notify.stages import compose, detect, eta, target
from notify.store import schema
from tests.notify.orderfiles import write_order_files

AS_OF = datetime(2026, 11, 19, 18, tzinfo=UTC)
T0 = datetime(2026, 11, 17, 0, tzinfo=UTC)


def _events(engine, number, *events, eta_days=None):
    with engine.begin() as conn:
        for i, (hours, status, reason) in enumerate(events):
            at = T0 + timedelta(hours=hours)
            conn.execute(schema.tracking_events.insert().values(
                carrier="fedex", tracking_number=number, occurred_at=at,
                local_time=at.isoformat(), status=status, reason=reason, code=f"C{i}",
                description=status, first_seen_at=at))  # fmt: skip
        if eta_days:
            conn.execute(schema.eta_statements.insert().values(
                carrier="fedex", tracking_number=number, stated_at=AS_OF - timedelta(hours=1),
                earliest=eta_days[0], latest=eta_days[1]))  # fmt: skip


def _world(engine, tmp_path):
    load_order_files(engine, write_order_files(tmp_path / "orders"))
    _events(engine, "111111111111", (0, "in_transit", None), (30, "exception", "weather"),
            eta_days=("2026-11-23", "2026-11-24"))  # fmt: skip
    _events(engine, "222222222222", (0, "in_transit", None), (40, "out_for_delivery", None),
            eta_days=("2026-11-19", "2026-11-19"))  # fmt: skip
    _events(engine, "333333333333", (0, "in_transit", None), (20, "exception", "address_issue"))
    _events(engine, "555555555555", (0, "in_transit", None), (10, "exception", "damaged"))


def _run(engine, run_id="r1"):
    with engine.begin() as conn:
        conn.execute(schema.runs.insert().values(run_id=run_id, as_of=AS_OF, started_at=AS_OF,
                     mode="send", status="running", params="{}", summary="{}"))  # fmt: skip
    detected = detect.detect(engine, run_id=run_id, as_of=AS_OF)
    eta.predict(engine, run_id=run_id, as_of=AS_OF)
    targeted = target.target(engine, run_id=run_id, as_of=AS_OF)
    compose.compose(engine, run_id=run_id, settings=load_settings())
    return detected, targeted


def _facts(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.notices.c.customer_id, schema.notices.c.facts)).all()
    return {r.customer_id: json.loads(r.facts) for r in rows}


def test_each_customer_hears_only_about_their_own_delayed_items(engine, tmp_path):
    _world(engine, tmp_path)
    detected, targeted = _run(engine)
    assert detected.by_kind == {"exception": 3}
    assert targeted.notices == 2
    assert targeted.suppressed == {"order_cancelled": 1}
    assert targeted.no_channel == 1
    facts = _facts(engine)
    ana = facts["C1"]
    assert [o["order_id"] for o in ana["orders"]] == ["O1"]
    assert ana["orders"][0]["items"] == [{"title": "Wool socks", "quantity": 2}]
    assert ana["eta"]["earliest"] == "2026-11-23" and ana["eta"]["latest"] == "2026-11-24"
    assert ana["cause"] == "weather" and ana["next_steps"] == ["nothing_to_do", "we_will_update"]
    bo = facts["C2"]
    assert [o["order_id"] for o in bo["orders"]] == ["O2"]  # never the cancelled O3
    assert bo["eta"] is None and bo["next_update_by"].startswith("2026-11-20T13:00")
    assert bo["cause"] == "address_issue" and bo["next_steps"] == ["confirm_address"]
    assert "C3" not in facts


def test_rerunning_a_stage_changes_nothing(engine, tmp_path):
    _world(engine, tmp_path)
    _run(engine)
    before = _facts(engine)
    with engine.connect() as conn:
        decisions_before = conn.execute(select(schema.decisions.c.decision)).all()
    target.target(engine, run_id="r1", as_of=AS_OF)
    compose.compose(engine, run_id="r1", settings=load_settings())
    with engine.connect() as conn:
        decisions_after = conn.execute(select(schema.decisions.c.decision)).all()
    assert _facts(engine) == before
    assert sorted(decisions_after) == sorted(decisions_before)


def test_delivery_closes_the_episode(engine, tmp_path):
    _world(engine, tmp_path)
    _run(engine)
    _events(engine, "111111111111", (60, "delivered", None))
    later = AS_OF + timedelta(days=1)
    result = detect.detect(engine, run_id="r2", as_of=later)
    assert result.closed == 1
    with engine.connect() as conn:
        closed = conn.execute(select(schema.delay_episodes).where(
            schema.delay_episodes.c.tracking_number == "111111111111")).one()  # fmt: skip
    assert closed.close_reason == "delivered"
