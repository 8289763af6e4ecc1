"""Property: whatever the world, no notice names an order or item of another customer.

Hypothesis builds worlds with tracking numbers shared across orders and customers, split
orders, consolidated parcels, mixed order statuses, causes and ETAs; targeting and compose
run on them (SQLite and PostgreSQL), and every notice, parcel link and decision is checked
against who owns what.
"""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from notify.config import load_settings
from notify.stages import compose
from notify.store import schema
from tests.notify.targetworld import AS_OF, World, episode, eta, run

NUMBERS = [f"7{i:011d}" for i in range(6)]
CAUSES = ["weather", "customs", "damaged", "lost", "address_issue", "transport_delay"]
STATUSES = ["open", "open", "open", "cancelled", "refunded", "delivered"]

order_st = st.tuples(
    st.integers(0, 3),  # customer
    st.sampled_from(STATUSES),
    st.integers(-1, 5),  # promise, days after the run's day
    st.lists(st.tuples(st.sampled_from(NUMBERS), st.integers(0, 2)), min_size=1, max_size=3),
)
world_st = st.tuples(
    st.lists(order_st, min_size=1, max_size=7),
    st.dictionaries(
        st.sampled_from(NUMBERS),
        st.tuples(st.sampled_from(CAUSES), st.one_of(st.none(), st.integers(-1, 8))),
        min_size=1,
    ),
)


def _wipe(engine):
    with engine.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(delete(table))


def _build(engine, folder: Path, orders, delays) -> dict[str, str]:
    w = World()
    for c in range(4):
        w.customer(f"C{c}", email=f"c{c}@example.com", phone=f"+1312555010{c}")
    owner = {}
    for i, (customer, status, promise, parcels) in enumerate(orders):
        oid = f"O{i}"
        owner[oid] = f"C{customer}"
        day = (AS_OF.date() + timedelta(days=promise)).isoformat()
        w.order(oid, f"C{customer}", promised=day, status=status)
        for j, (number, items) in enumerate(parcels):
            titles = [f"item-{oid}-{j}-{k}" for k in range(items)]
            w.parcel(f"S{i}-{j}", oid, number, *titles)
    w.load(engine, folder)
    for number, (cause, late) in delays.items():
        day = None if late is None else (AS_OF.date() + timedelta(days=late)).isoformat()
        eta(engine, "r1", episode(engine, number, cause), day)
    return owner


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=world_st)
def test_no_notice_names_an_order_or_item_of_another_customer(engine, world):
    orders, delays = world
    _wipe(engine)
    with tempfile.TemporaryDirectory() as folder:
        owner = _build(engine, Path(folder), orders, delays)
    run(engine, "r1")
    compose.compose(engine, run_id="r1", settings=load_settings())
    with engine.connect() as conn:
        notices = conn.execute(select(schema.notices)).all()
        parcels = conn.execute(select(schema.notice_parcels)).all()
        decided = conn.execute(select(schema.decisions)).all()
        shipments = dict(conn.execute(select(schema.shipments.c.shipment_id,
                                             schema.shipments.c.order_id)).all())  # fmt: skip
    for n in notices:
        plan = json.loads(n.plan)
        assert all(owner[o] == n.customer_id for o in plan["order_ids"])
        assert all(owner[o] == n.customer_id for o, _s, _e in plan["core"]["parcels"])
        if n.facts:
            facts = json.loads(n.facts)
            for order in facts["orders"]:
                assert owner[order["order_id"]] == n.customer_id
                for item in order["items"]:
                    assert item["title"].startswith(f"item-{order['order_id']}-")
    by_notice = {n.notice_id: n.customer_id for n in notices}
    for p in parcels:
        assert owner[p.order_id] == by_notice[p.notice_id]
        assert shipments[p.shipment_id] == p.order_id
    for d in decided:
        assert all(owner[o] == d.customer_id for o in json.loads(d.order_ids))
        assert all(owner[shipments[s]] == d.customer_id for s in json.loads(d.shipment_ids))
