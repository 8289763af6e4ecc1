"""End to end against a real ``airflow standalone`` on 127.0.0.1 (LocalExecutor, SQLite).

One Airflow for the module: a private AIRFLOW_HOME, free ports for the API server and the
log servers, the project's pools, a simulated world served by the carrier sandbox, and a
SQLite store the tests read back. Everything goes through the REST API v2 as an operator's
tooling would: unpause, trigger with conf, backfill, answer the approval task.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from tests.airflow_rig import AirflowRig, Rest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DAG = "delivery_notifications"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    from carriers.sandbox import SandboxServer, SandboxWorld
    from notify.simulate import generate_world

    root = tmp_path_factory.mktemp("standalone")
    world = generate_world(root / "world", orders=1500, seed=11)
    store_url = f"sqlite:///{root / 'oasis' / 'oasis.db'}"
    rig = AirflowRig.configure(
        root, settings={"OASIS_HOME": str(root / "oasis"), "OASIS_DATABASE_URL": store_url}
    )
    started = time.monotonic()
    rig.migrate()
    rig.start("standalone", ["standalone"])
    try:
        rig.wait_healthy(["metadatabase", "scheduler", "dag_processor", "triggerer"])
        rest = rig.rest()
        rest.wait_for_dag(DAG)
        rest.unpause(DAG)
        TIMINGS["start airflow standalone"] = time.monotonic() - started
        with SandboxServer(SandboxWorld.load(root / "world")) as sandbox:
            conf = {
                "orders_dir": str(root / "world" / "orders"),
                "sandbox_url": sandbox.base_url,
                "carriers": ["fedex", "ups", "usps", "dhl"],
            }
            yield {"rig": rig, "rest": rest, "conf": conf, "as_of": world.demo_as_of,
                   "store": create_engine(store_url), "root": root}  # fmt: skip
    finally:
        rig.stop()
        print("\nend-to-end timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in TIMINGS.items()))


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _decisions(engine, run_id) -> dict[str, int]:
    from notify.store import schema

    d = schema.decisions
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.c.decision, func.count()).where(d.c.run_id == run_id).group_by(d.c.decision)
        ).all()
    return {k: v for k, v in rows}


def _run_row(engine, run_id):
    from notify.store import schema

    with engine.connect() as conn:
        return conn.execute(select(schema.runs).where(schema.runs.c.run_id == run_id)).one()


def _outbox_files(root: Path) -> int:
    return sum(1 for p in (root / "oasis" / "outbox").rglob("*") if p.is_file())


def test_a_run_triggered_through_rest_runs_every_stage_and_sends(airflow):
    from notify.store import schema

    rest: Rest = airflow["rest"]
    store = airflow["store"]
    started = time.monotonic()
    conf = {**airflow["conf"], "as_of": airflow["as_of"].isoformat(), "reason": "e2e trigger"}
    rest.trigger(DAG, "e2e_send", conf)
    state = rest.wait_run(DAG, "e2e_send")
    assert state == "success", airflow["rig"].explain(rest, DAG, "e2e_send")
    TIMINGS["triggered run"] = time.monotonic() - started

    instances = rest.task_instances(DAG, "e2e_send")
    states = {ti["task_id"]: ti["state"] for ti in instances}
    assert states["approve_batch"] == "skipped" and states["batch_passed"] == "success"
    sends = [ti["state"] for ti in instances if ti["task_id"] in ("send_email", "send_sms")]
    assert len(sends) >= 2 and set(sends) == {"success"}  # mapped: one per shard and channel
    assert states["escalate"] == "success" and states["record"] == "success"
    row = _run_row(store, "e2e_send")
    assert (row.mode, row.status) == ("send", "success")
    sent = _decisions(store, "e2e_send").get("sent", 0)
    assert sent > 0
    assert _count(store, schema.send_ledger, schema.send_ledger.c.state == "sent") == sent
    assert _outbox_files(airflow["root"]) == sent
    report = airflow["root"] / "oasis" / "runs" / "e2e_send" / "report.html"
    assert report.exists() and report.read_text().count("<img ") == 4


def test_a_backfill_over_three_hours_is_replay_only_and_sends_nothing(airflow):
    from notify.store import schema

    rest: Rest = airflow["rest"]
    store = airflow["store"]
    ledger_before = _count(store, schema.send_ledger)
    files_before = _outbox_files(airflow["root"])
    end = airflow["as_of"]
    started = time.monotonic()
    backfill = rest.backfill(
        DAG,
        (end - timedelta(hours=3)).isoformat(),
        (end - timedelta(hours=1)).isoformat(),
        dag_run_conf=airflow["conf"],
        max_active_runs=1,
    )
    runs = rest.runs(DAG, run_type="backfill")
    assert len(runs) == 3, [r["dag_run_id"] for r in runs]
    for r in runs:
        state = rest.wait_run(DAG, r["dag_run_id"], timeout=600)
        assert state == "success", airflow["rig"].explain(rest, DAG, r["dag_run_id"])
    TIMINGS["backfill of 3 intervals"] = time.monotonic() - started

    as_ofs = []
    for r in runs:
        row = _run_row(store, r["dag_run_id"])
        assert row.mode == "replay", r["dag_run_id"]
        decided = _decisions(store, r["dag_run_id"])
        assert decided and "sent" not in decided
        as_ofs.append(row.as_of)
    assert sorted(as_ofs) == [end - timedelta(hours=h) for h in (2, 1, 0)]
    assert sum(_decisions(store, r["dag_run_id"]).get("deferred", 0) for r in runs) > 0
    assert _count(store, schema.send_ledger) == ledger_before
    assert _outbox_files(airflow["root"]) == files_before
    assert rest.get(f"/backfills/{backfill['id']}")["dag_id"] == DAG


def test_a_halted_batch_is_approved_through_the_rest_hitl_endpoint_then_sent(airflow):
    from notify.store import schema

    rest: Rest = airflow["rest"]
    store = airflow["store"]
    as_of = airflow["as_of"] + timedelta(days=1)
    conf = {**airflow["conf"], "as_of": as_of.isoformat(), "max_notices": 1, "reason": "e2e halt"}
    started = time.monotonic()
    rest.trigger(DAG, "e2e_halt", conf)
    rest.wait_task(DAG, "e2e_halt", "approve_batch", "awaiting_input", timeout=600)
    airflow["rig"].wait_paused_worker_gone(DAG, "e2e_halt", "approve_batch")
    TIMINGS["run up to the approval task"] = time.monotonic() - started

    detail = rest.hitl(DAG, "e2e_halt", "approve_batch")
    assert detail["options"] == ["Approve", "Reject"]
    assert "max_notices" in detail["body"] and "messages go out" in detail["body"]
    blocked = _count(store, schema.outbox, schema.outbox.c.run_id == "e2e_halt",
                     schema.outbox.c.state == "blocked")  # fmt: skip
    assert blocked > 1
    # Messages an earlier run sent are staged again while current; the gate neither judges
    # nor blocks such a copy (published; the ledger will not resend it).
    copies = _count(store, schema.outbox, schema.outbox.c.run_id == "e2e_halt",
                    schema.outbox.c.state == "published")  # fmt: skip
    started = time.monotonic()
    reason = {"decision_reason": "expected volume"}
    rest.respond(DAG, "e2e_halt", "approve_batch", ["Approve"], reason)
    state = rest.wait_run(DAG, "e2e_halt")
    assert state == "success", airflow["rig"].explain(rest, DAG, "e2e_halt")
    TIMINGS["approval to success"] = time.monotonic() - started

    with store.connect() as conn:
        approval = conn.execute(select(schema.approvals)).one()
    assert approval.decision == "approve" and approval.reason == "expected volume"
    assert approval.blocked_rows == blocked and "Airflow user" in approval.decided_by
    decided = _decisions(store, "e2e_halt")
    assert "blocked" not in decided
    already = _count(store, schema.decisions, schema.decisions.c.run_id == "e2e_halt",
                     schema.decisions.c.reason.like("ledger: already%"))  # fmt: skip
    expired = _count(store, schema.outbox, schema.outbox.c.run_id == "e2e_halt",
                     schema.outbox.c.state == "expired")  # fmt: skip
    assert decided.get("sent", 0) + already + expired == blocked + copies
    assert decided.get("sent", 0) > 0
    assert _count(store, schema.send_ledger, schema.send_ledger.c.first_run_id == "e2e_halt") == (
        decided.get("sent", 0)
    )
    assert _run_row(store, "e2e_halt").status == "success"
