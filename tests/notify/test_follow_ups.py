"""Follow-ups: a customer told about a delay hears once more when it is over, with the day.

Targeting plans them (SQLite and PostgreSQL); the last test runs the whole pipeline over a
simulated world and the carrier sandbox, and reads the follow-ups that went out.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from notify.store import schema
from tests.notify.targetworld import (
    AS_OF,
    SETTINGS,
    World,
    close,
    decisions,
    episode,
    eta,
    mark_sent,
    notices,
    run,
    scan,
    statement,
)

DAY = timedelta(days=1)
LATER = AS_OF + timedelta(days=2)  # Nov 21, 12:00 in Chicago


def _told(engine, tmp_path, *customers, promised="2026-11-20", parcels_per_order=1):
    """Each customer has order O<c> with parcels <c>1.. carrying one item each, in a delay
    we told them about on Nov 19 (new date: the day after the promise); returns the episode
    ids by parcel number."""
    w = World()
    for c in customers:
        w.customer(c).order(f"O{c}", c, promised=promised)
        for i in range(1, parcels_per_order + 1):
            w.parcel(f"S{c}{i}", f"O{c}", f"{c}{i}", f"Item {c}{i}")
    w.load(engine, tmp_path / "o")
    episodes = {}
    for c in customers:
        for i in range(1, parcels_per_order + 1):
            episodes[f"{c}{i}"] = episode(engine, f"{c}{i}")
            eta(engine, "r1", episodes[f"{c}{i}"], str(date.fromisoformat(promised) + DAY))
    run(engine, "r1")
    for c, plan in notices(engine, "r1").items():
        mark_sent(engine, "r1", plan["notice_id"], c, order_ids=(f"O{c}",))
    return episodes


def test_a_delivered_parcel_gets_a_delivered_follow_up_with_its_day(engine, tmp_path):
    eps = _told(engine, tmp_path, "C1")
    scan(engine, "C11", "delivered", at=LATER - timedelta(hours=3))  # 09:00 in Chicago, Nov 21
    close(engine, eps["C11"], LATER - timedelta(hours=2), "delivered")
    result = run(engine, "r2", LATER)
    plan = notices(engine, "r2")["C1"]
    assert result.follow_ups == 1
    assert plan["kind"] == "delivered"
    assert plan["eta"]["earliest"] == plan["eta"]["latest"] == "2026-11-21"
    assert plan["next_update_by"] is None


def test_the_delivery_day_is_the_customers_day(engine, tmp_path):
    eps = _told(engine, tmp_path, "C1")
    scan(
        engine, "C11", "delivered", at=LATER + timedelta(hours=10)
    )  # 04:00 UTC Nov 22 is Nov 21 in Chicago
    close(engine, eps["C11"], LATER + timedelta(hours=11), "delivered")
    run(engine, "r2", LATER + timedelta(hours=12))
    assert notices(engine, "r2")["C1"]["eta"]["latest"] == "2026-11-21"


def test_parcels_delivered_on_different_days_are_each_told_their_day(engine, tmp_path):
    """One order in two parcels, delivered on Nov 20 and Nov 21 (told on Nov 21): each part
    reads its own day, and neither is moved to "today" as a window still ahead would be."""
    from notify.config import load_settings
    from notify.render import render
    from notify.stages import compose

    eps = _told(engine, tmp_path, "C1", parcels_per_order=2)
    scan(engine, "C11", "delivered", at=LATER - DAY - timedelta(hours=3))
    close(engine, eps["C11"], LATER - DAY - timedelta(hours=2), "delivered")
    scan(engine, "C12", "delivered", at=LATER - timedelta(hours=3))
    close(engine, eps["C12"], LATER - timedelta(hours=2), "delivered")
    run(engine, "r2", LATER)
    plan = notices(engine, "r2")["C1"]
    settings = dataclasses.replace(load_settings(), home=tmp_path / "home")
    compose.compose(engine, run_id="r1", settings=settings)  # what we told them first
    compose.compose(engine, run_id="r2", settings=settings)
    with engine.connect() as conn:
        facts = json.loads(conn.execute(select(schema.notices.c.facts).where(
            schema.notices.c.notice_id == plan["notice_id"])).scalar_one())  # fmt: skip
    assert facts["kind"] == "delivered"
    assert facts["eta"]["earliest"] == "2026-11-20" and facts["eta"]["latest"] == "2026-11-21"
    assert [(g["eta"]["latest"], g["items"]) for g in facts["dates"]] == [
        ("2026-11-20", ["Item C11"]),
        ("2026-11-21", ["Item C12"]),
    ]
    email = render(facts, "email").text
    assert "Order OC1 (Item C11): Friday, November 20" in email
    assert "Order OC1 (Item C12): Saturday, November 21" in email


def test_resolved_needs_a_carrier_date_within_the_promise(engine, tmp_path):
    eps = _told(engine, tmp_path, "C1", "C2", "C3", promised="2026-11-25")
    statement(engine, "C11", "2026-11-24", stated_at=LATER - timedelta(hours=3))
    statement(engine, "C31", "2026-11-26", stated_at=LATER - timedelta(hours=3))
    for number in ("C11", "C21", "C31"):
        close(engine, eps[number], LATER - timedelta(hours=2), "resolved")
    result = run(engine, "r2", LATER)
    plans = notices(engine, "r2")
    assert result.follow_ups == 1
    assert set(plans) == {"C1"}  # C2: no carrier date; C3: the carrier's date is still late
    assert plans["C1"]["kind"] == "resolved"
    assert plans["C1"]["eta"]["earliest"] == plans["C1"]["eta"]["latest"] == "2026-11-24"


def test_a_date_already_gone_is_not_a_resolution(engine, tmp_path):
    eps = _told(engine, tmp_path, "C1", promised="2026-11-25")
    statement(engine, "C11", "2026-11-20", stated_at=AS_OF)  # the carrier said Nov 20, a past day
    close(engine, eps["C11"], LATER - timedelta(hours=2), "resolved")
    assert run(engine, "r2", LATER).follow_ups == 0


def test_arrived_parcels_are_told_first_and_cleared_ones_wait(engine, tmp_path):
    eps = _told(engine, tmp_path, "C1", promised="2026-11-25", parcels_per_order=2)
    scan(engine, "C11", "delivered", at=LATER - timedelta(hours=3))
    close(engine, eps["C11"], LATER - timedelta(hours=2), "delivered")
    statement(engine, "C12", "2026-11-24", stated_at=LATER - timedelta(hours=3))
    close(engine, eps["C12"], LATER - timedelta(hours=2), "resolved")
    run(engine, "r2", LATER)
    plan = notices(engine, "r2")["C1"]
    assert plan["kind"] == "delivered"
    assert [p["shipment_id"] for p in plan["parcel_facts"]] == ["SC11"]


def test_a_follow_up_waits_when_the_customer_gets_a_new_delay_notice_in_the_run(engine, tmp_path):
    """One parcel arrived after the delay we told of; the customer's other order is late now.
    Two messages on one channel in one run would halt the batch at the gate
    (``recipient_unique_per_channel``): the new delay goes, the follow-up waits a run."""
    w = World().customer("C1").order("O1", "C1").order("O2", "C1", promised="2026-11-21")
    w.parcel("S1", "O1", "111", "Socks").parcel("S2", "O2", "222", "Scarf")
    w.load(engine, tmp_path / "o")
    first = episode(engine, "111")
    eta(engine, "r1", first, "2026-11-21")
    run(engine, "r1")
    told = notices(engine, "r1")["C1"]
    mark_sent(engine, "r1", told["notice_id"], "C1", order_ids=("O1",))
    scan(engine, "111", "delivered", at=LATER - timedelta(hours=3))
    close(engine, first, LATER - timedelta(hours=2), "delivered")
    second = episode(engine, "222", opened=LATER - timedelta(hours=5))
    eta(engine, "r2", second, "2026-11-23")
    result = run(engine, "r2", LATER)
    assert result.notices == 1 and notices(engine, "r2")["C1"]["kind"] == "delay"
    waits = [d for d in decisions(engine, "r2") if d["decision"] == "deferred"]
    assert [d["order_ids"] for d in waits] == [["O1"]]
    assert "another notice to this customer goes in this run" in waits[0]["reason"]
    late = notices(engine, "r2")["C1"]["notice_id"]
    for channel in notices(engine, "r2")["C1"]["linked_channels"]:
        mark_sent(engine, "r2", late, "C1", channel, as_of=LATER, order_ids=("O2",))
    eta(engine, "r3", second, "2026-11-23")  # the same facts: no new delay notice
    again = run(engine, "r3", LATER + timedelta(hours=6))
    assert again.follow_ups == 1 and "another_notice_this_run" not in again.deferred
    linked = {p["kind"] for p in _linked(engine, "r3")}
    assert "delivered" in linked


def _linked(engine, run_id):
    """Every notice linked to a run (``notices`` keeps one per customer)."""
    n, rn = schema.notices, schema.run_notices
    with engine.connect() as conn:
        rows = conn.execute(
            select(n.c.notice_id, n.c.plan)
            .join(rn, rn.c.notice_id == n.c.notice_id)
            .where(rn.c.run_id == run_id)
        ).all()
        return [{**json.loads(r.plan), "notice_id": r.notice_id} for r in rows]


def _follow_ups(engine, run_id):
    return [p for p in _linked(engine, run_id) if p["kind"] == "delivered"]


def test_one_follow_up_per_told_delay(engine, tmp_path):
    """Told "resolved", then the parcel arrives: the same notice (the ledger sends it once)."""
    eps = _told(engine, tmp_path, "C1", promised="2026-11-25")
    statement(engine, "C11", "2026-11-24", stated_at=LATER - timedelta(hours=3))
    close(engine, eps["C11"], LATER - timedelta(hours=2), "resolved")
    run(engine, "r2", LATER)
    first = notices(engine, "r2")["C1"]
    mark_sent(engine, "r2", first["notice_id"], "C1", as_of=LATER, order_ids=("OC1",))
    scan(engine, "C11", "delivered", at=LATER + timedelta(hours=20))
    run(engine, "r3", LATER + timedelta(days=1))
    again = notices(engine, "r3")["C1"]
    assert again["notice_id"] == first["notice_id"]


def test_a_parcel_is_named_in_one_follow_up_only(engine, tmp_path):
    """Two late parcels arrive a day apart: "delivered" for the first, then "delivered" for
    the second alone. (It was one for the first, then one naming both: the customer read
    that the first had arrived twice.) The first follow-up is planned again unchanged while it
    lasts, so a channel it deferred may still go."""
    eps = _told(engine, tmp_path, "C1", parcels_per_order=2)
    late = notices(engine, "r1")["C1"]["notice_id"]
    mark_sent(engine, "r1", late, "C1", "sms", order_ids=("OC1",))
    scan(engine, "C11", "delivered", at=LATER - timedelta(hours=3))
    close(engine, eps["C11"], LATER - timedelta(hours=2), "delivered")
    eta(engine, "r2", eps["C12"], "2026-11-21")  # still late, as told: no news
    run(engine, "r2", LATER)
    (first,) = _follow_ups(engine, "r2")
    assert [p["shipment_id"] for p in first["parcel_facts"]] == ["SC11"]
    for channel in ("email", "sms"):
        mark_sent(engine, "r2", first["notice_id"], "C1", channel, LATER, order_ids=("OC1",))
    scan(engine, "C12", "delivered", at=LATER + DAY - timedelta(hours=3))
    close(engine, eps["C12"], LATER + DAY - timedelta(hours=2), "delivered")
    run(engine, "r3", LATER + DAY)
    linked = {p["notice_id"]: p for p in _follow_ups(engine, "r3")}
    assert first["notice_id"] in linked  # the one sent: the ledger will not send it again
    (second,) = (p for nid, p in linked.items() if nid != first["notice_id"])
    assert [p["shipment_id"] for p in second["parcel_facts"]] == ["SC12"]
    assert second["eta"]["earliest"] == second["eta"]["latest"] == "2026-11-22"


def _shrunk(engine, tmp_path, r1_latest, r2_latest, sent=("email", "sms")):
    """One order in two parcels told late in r1 (sent on ``sent``); by r2 (two days later)
    the first arrived: the notice r2 links for the customer, and the one r1 sent."""
    w = World().customer("C1").order("O1", "C1", promised="2026-11-20")
    w.parcel("S1", "O1", "111", "Socks").parcel("S2", "O1", "222", "Scarf")
    w.load(engine, tmp_path / "o")
    first, second = episode(engine, "111"), episode(engine, "222")
    for eid in (first, second):
        eta(engine, "r1", eid, r1_latest)
    run(engine, "r1")
    told = notices(engine, "r1")["C1"]["notice_id"]
    for channel in sent:
        mark_sent(engine, "r1", told, "C1", channel, order_ids=("O1",))
    scan(engine, "111", "delivered", at=LATER - timedelta(hours=3))
    close(engine, first, LATER - timedelta(hours=2), "delivered")
    eta(engine, "r2", second, r2_latest, next_update_by=LATER + timedelta(hours=24))
    run(engine, "r2", LATER)
    (late,) = [p for p in _linked(engine, "r2") if p["kind"] == "delay"]
    return late, told


def test_a_told_set_that_only_lost_a_parcel_is_no_news(engine, tmp_path):
    """The parcel still late is told the same as before: the notice sent stays the
    customer's (staged again; the ledger does not resend it), no second delay message."""
    late, told = _shrunk(engine, tmp_path, "2026-11-22", "2026-11-22")
    assert late["notice_id"] == told


@pytest.mark.parametrize(
    ("r1_latest", "r2_latest", "sent"),
    [
        ("2026-11-22", "2026-11-23", ("email", "sms")),  # a new day for the parcel still late
        (None, None, ("email", "sms")),  # the update we promised for Nov 20 is due
        ("2026-11-22", "2026-11-22", ("email",)),  # the SMS never went: it is news by SMS
    ],
)
def test_a_told_set_that_lost_a_parcel_is_news_when(engine, tmp_path, r1_latest, r2_latest, sent):
    late, told = _shrunk(engine, tmp_path, r1_latest, r2_latest, sent)
    assert late["notice_id"] != told
    assert [p["shipment_id"] for p in late["parcel_facts"]] == ["S2"]


def test_a_follow_up_not_sent_yet_is_replaced_by_one_naming_every_parcel(engine, tmp_path):
    """A follow-up that went out on no channel told nobody anything: a parcel ending later
    joins it in one new follow-up rather than waiting for a second message."""
    eps = _told(engine, tmp_path, "C1", parcels_per_order=2)
    scan(engine, "C11", "delivered", at=LATER - timedelta(hours=3))
    close(engine, eps["C11"], LATER - timedelta(hours=2), "delivered")
    run(engine, "r2", LATER)  # planned, never marked sent
    scan(engine, "C12", "delivered", at=LATER + DAY - timedelta(hours=3))
    close(engine, eps["C12"], LATER + DAY - timedelta(hours=2), "delivered")
    run(engine, "r3", LATER + DAY)
    (plan,) = _follow_ups(engine, "r3")
    assert sorted(p["shipment_id"] for p in plan["parcel_facts"]) == ["SC11", "SC12"]


@pytest.mark.parametrize("change", ["cancelled", "still_delayed", "off", "not_told"])
def test_no_follow_up(engine, tmp_path, change):
    eps = _told(engine, tmp_path, "C1")
    settings = SETTINGS
    scan(engine, "C11", "delivered", at=LATER - timedelta(hours=3))
    close(engine, eps["C11"], LATER - timedelta(hours=2), "delivered")
    if change == "cancelled":
        with engine.begin() as conn:
            conn.execute(schema.orders.update().values(status="cancelled"))
    elif change == "still_delayed":  # a new delay on the same parcel: a delay notice instead
        eta(engine, "r2", episode(engine, "C11", opened=LATER - timedelta(hours=1)), "2026-11-24")
    elif change == "off":
        settings = dataclasses.replace(SETTINGS, follow_ups=False)
    elif change == "not_told":
        with engine.begin() as conn:
            conn.execute(schema.decisions.delete().where(schema.decisions.c.decision == "sent"))
    assert run(engine, "r2", LATER, settings=settings).follow_ups == 0


def test_a_problem_parcel_told_apart_gets_no_delivered_after_all(engine, tmp_path):
    """One delay notice told O2 late and O1's address problem apart ("nothing says yet that
    it will miss the date"): once both arrive, the follow-up is about O2 only."""
    w = World().customer("C1").order("O1", "C1", promised="2026-11-22").order("O2", "C1")
    w.parcel("S1", "O1", "111", "Socks").parcel("S2", "O2", "222", "Mug")
    w.load(engine, tmp_path / "o")
    problem, late = episode(engine, "111", "address_issue"), episode(engine, "222")
    eta(engine, "r1", problem, "2026-11-21")
    eta(engine, "r1", late, "2026-11-21")
    run(engine, "r1")
    told = notices(engine, "r1")["C1"]
    assert told["problem_parcels"] == [["O1", "S1", "address_issue"]]
    mark_sent(engine, "r1", told["notice_id"], "C1", order_ids=("O1", "O2"))
    for number, eid in (("111", problem), ("222", late)):
        scan(engine, number, "delivered", at=LATER - timedelta(hours=3))
        close(engine, eid, LATER - timedelta(hours=2), "delivered")
    assert run(engine, "r2", LATER).follow_ups == 1
    plan = notices(engine, "r2")["C1"]
    assert plan["kind"] == "delivered" and plan["order_ids"] == ["O2"]


# --------------------------------------------------------------------------- whole pipeline


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from tests.notify.pipelineworld import world_fixture

    yield from world_fixture(tmp_path_factory, orders=1500, seed=11)


@pytest.mark.slow
def test_follow_ups_go_out_through_the_gate_with_the_delivery_day(
    sqlite_engine, world, tmp_path, monkeypatch
):
    """Run the pipeline at the world's demo time, then two days later: customers told about
    a delay whose parcel arrived since get one "delivered" message naming the day; every
    follow-up passed the gate, and nobody hears "delivered" who was not told first."""
    from tests.notify.pipelineworld import AFTER_GATE, UP_TO_GATE, run, use_store

    use_store(monkeypatch, sqlite_engine, tmp_path / "home")
    steps = UP_TO_GATE + AFTER_GATE
    run("first", world, world.demo_as_of, steps)
    run("second", world, world.demo_as_of + timedelta(days=2), steps)
    ob, n, d = schema.outbox, schema.notices, schema.decisions
    with sqlite_engine.connect() as conn:
        rows = conn.execute(
            select(
                ob.c.notice_id,
                ob.c.state,
                ob.c.channel,
                ob.c.body_text,
                ob.c.customer_id,
                n.c.facts,
            )
            .join(n, n.c.notice_id == ob.c.notice_id)
            .where(ob.c.run_id == "second")
        ).all()
        sent = set(
            conn.execute(
                select(d.c.notice_id, d.c.channel).where(
                    d.c.run_id == "second", d.c.decision == "sent"
                )
            ).all()
        )
        told_first = set(
            conn.execute(
                select(d.c.customer_id).where(d.c.run_id == "first", d.c.decision == "sent")
            ).scalars()
        )
    kinds = [(r, json.loads(r.facts)) for r in rows]
    follow = [(r, f) for r, f in kinds if f["kind"] in ("delivered", "resolved")]
    attention = [r for r, f in kinds if f["kind"] == "attention"]
    assert {r.state for r in attention} <= {"published"}  # an attention notice passes too
    delivered = [(r, f) for r, f in follow if f["kind"] == "delivered"]
    # (4 in this world: a parcel told only "held up, could miss the date" gets none, ADR 0016)
    assert len(delivered) >= 4, f"{len(follow)} follow-ups in {len(rows)} rows"
    assert {r.state for r, _ in follow} == {"published"}  # passed the gate and release
    assert {(r.notice_id, r.channel) for r, _ in follow} <= sent
    assert {r.customer_id for r, _ in follow} <= told_first
    for r, facts in delivered:
        assert facts["previous_notice"] is not None
        day = date.fromisoformat(facts["eta"]["latest"])
        assert day <= (world.demo_as_of + timedelta(days=2)).date() + DAY
        said = r.body_text.lower()
        assert ("has arrived" in said or "have arrived" in said) if r.channel == "email" else True


@pytest.mark.slow
def test_runs_every_six_hours_keep_one_message_per_customer_and_halt_nothing(
    sqlite_engine, world, tmp_path, monkeypatch
):
    """Runs every six hours for three days, as a deployment makes them (hourly, in fact).
    A notice still current is staged again
    (the ledger does not resend it) beside a customer's new follow-up; a new delay and a
    follow-up fall in one run; windows told from "today" in the Americas' evening. None of
    these is two messages to one customer or a window in the past: no batch halts and no row
    is quarantined."""
    from tests.notify.pipelineworld import AFTER_GATE, UP_TO_GATE, run, use_store

    use_store(monkeypatch, sqlite_engine, tmp_path / "home")
    for k in range(12):  # every 6 hours for three days from the day before the demo time
        at = world.demo_as_of + timedelta(hours=6 * k - 24)
        run(f"run{k}", world, at, UP_TO_GATE + AFTER_GATE)
    ob, r = schema.outbox, schema.runs
    with sqlite_engine.connect() as conn:
        states = dict(conn.execute(select(ob.c.state, func.count()).group_by(ob.c.state)).all())
        summaries = [json.loads(s) for s in conn.execute(select(r.c.summary)).scalars() if s]
    gates = [s["gate"] for s in summaries if "gate" in s]
    assert len(gates) == 12 and not any(g["halted"] for g in gates), gates
    assert states.get("quarantined", 0) == 0 and states.get("blocked", 0) == 0, states
    # A copy of a message sent earlier is not "expired" once one of its parcels arrived
    # (it is the customer's notice while the rest is told the same; the ledger keeps it sent).
    assert states.get("expired", 0) == 0, states
    from notify.lifetime import score_runs

    score = score_runs(sqlite_engine, world.root, 6)
    assert score.follow_ups_repeated == 0 and score.follow_ups_wrong == 0, score
    assert states.get("published", 0) > 0
