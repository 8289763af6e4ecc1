"""End to end: a simulated world, the carrier sandbox, the real DAG via ``dag.test``.

Checks the walking skeleton's promises: messages land in the outbox and name the
customer's own order, items and a concrete date; nobody whose parcels are all on time
hears from us (against the simulator's truth); a second run sends nothing (the ledger).
"""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from carriers.sandbox import SandboxServer, SandboxWorld
    from notify.airflow_local import run_dag
    from notify.config import load_settings
    from notify.simulate import generate_world

    root = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    mp.setenv("OASIS_HOME", str(root / "home"))
    settings = load_settings()
    summary = generate_world(root / "world", orders=400, seed=11)
    conf = {
        "as_of": summary.demo_as_of.isoformat(),
        "orders_dir": str(root / "world" / "orders"),
        "carriers": ["fedex", "ups", "usps", "dhl"],
    }
    with SandboxServer(SandboxWorld.load(root / "world")) as server:
        conf["sandbox_url"] = server.base_url
        first = run_dag(settings, conf)
        second = run_dag(settings, conf)
    yield {"root": root, "settings": settings, "first": first, "second": second,
           "as_of": summary.demo_as_of}  # fmt: skip
    mp.undo()


def _decisions(settings, run_id):
    from notify.stages.record import notice_rows
    from notify.store import open_store

    return notice_rows(open_store(settings.database_url), run_id)


def test_both_runs_succeed(demo):
    assert demo["first"][1] == "success"
    assert demo["second"][1] == "success"


def test_messages_are_written_and_name_order_items_and_a_date(demo):
    sent = [r for r in _decisions(demo["settings"], demo["first"][0]) if r["decision"] == "sent"]
    assert sent, "the demo world must produce at least one notice"
    from notify.store import open_store, schema

    engine = open_store(demo["settings"].database_url)
    for row in sent:
        path = Path(row["message_path"])
        assert path.exists()
        with engine.connect() as conn:
            facts = json.loads(conn.execute(select(schema.notices.c.facts).where(
                schema.notices.c.notice_id == row["notice_id"])).scalar_one())  # fmt: skip
        text = path.read_text("utf-8") if path.suffix == ".txt" else (
            email.message_from_bytes(path.read_bytes(), policy=policy.default)
            .get_body(("plain",)).get_content())  # fmt: skip
        for order in facts["orders"]:
            assert order["order_id"] in text
        if path.suffix == ".eml":
            for order in facts["orders"]:
                for item in order["items"]:
                    assert item["title"][:20] in text
        assert facts["eta"] or facts["next_update_by"]


def test_nobody_with_only_on_time_parcels_is_notified(demo):
    truth = pd.read_csv(demo["root"] / "world" / "truth" / "shipments.csv", dtype=str)
    delayed = set(truth.loc[truth["delayed"].str.lower() == "true", "shipment_id"])
    sent = [r for r in _decisions(demo["settings"], demo["first"][0]) if r["decision"] == "sent"]
    for row in sent:
        assert set(row["shipment_ids"]) & delayed, (row["customer_id"], row["shipment_ids"])


def test_second_run_sends_nothing_and_says_why(demo):
    rows = _decisions(demo["settings"], demo["second"][0])
    assert not [r for r in rows if r["decision"] == "sent"]
    first_sent = [r for r in _decisions(demo["settings"], demo["first"][0])
                  if r["decision"] == "sent"]  # fmt: skip
    already = [r for r in rows if r["reason"].startswith("ledger: already sent")]
    assert len(already) == len(first_sent)


def test_explain_answers_for_every_order_of_the_world(demo):
    """The support agent's view (``oasis explain``) tells a story for any order: its items,
    and for every order notified, the message text it was sent."""
    from notify.explain import explain
    from notify.store import open_store, schema

    engine = open_store(demo["settings"].database_url)
    with engine.connect() as conn:
        orders = [r.order_id for r in conn.execute(select(schema.orders.c.order_id))]
    sent = [r for r in _decisions(demo["settings"], demo["first"][0]) if r["decision"] == "sent"]
    notified = {o for r in sent for o in r["order_ids"]}
    assert len(orders) == 400 and notified
    for order_id in orders:
        story = explain(engine, order_id)
        assert story.startswith(f"Order {order_id}") and "Items:" in story, story[:200]
        told = "Messages sent:\n  none" not in story
        assert "Messages sent:" in story and told is (order_id in notified), story
