"""Scale-out proof: the same DAG on PostgreSQL metadata + CeleryExecutor + Redis, two workers.

``make celery-proof`` runs this. It creates two throw-away PostgreSQL databases (Airflow's
metadata and the Oasis store), uses Redis database 11 on 127.0.0.1:6379 as the broker,
starts Airflow's scheduler, API server, DAG processor and two Celery workers, and drives
``delivery_notifications`` through the REST API over a simulated world served by the
carrier sandbox:

1. a send run at the world's demo moment;
2. the same moment again (a second run: everything is already in the ledger);
3. the first run's send task cleared and run again (what a retry or a zombie does);
4. a backfill of 3 hourly intervals allowed to send (``backfill_may_send``), one run at a time.

Then it counts, independently of how many send tasks the DAG has: send-ledger keys, sent
decisions and message files written. A duplicate is a second file or a second ``sent``
decision for one send key. It also asks the two Celery workers how many tasks each ran and
lists which worker ran which task. Exit status 0 only with 0 duplicates, every run
successful and both workers used. The summary is printed and saved to
``bench/results/celery_proof.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import case, create_engine, func, select, text  # noqa: E402

from tests.airflow_rig import AirflowRig, Rest, free_port  # noqa: E402

DAG = "delivery_notifications"
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"
RESULT = ROOT / "bench" / "results" / "celery_proof.json"


def fresh_database(name: str) -> str:
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG}/{name}"


def start_airflow(root: Path, broker: str, workers: int) -> AirflowRig:
    import redis

    redis.Redis.from_url(broker).flushdb()  # our own broker database only
    metadata = fresh_database("oasis_proof_airflow")
    store = fresh_database("oasis_proof_store")
    rig = AirflowRig.configure(
        root,
        metadata_url=metadata,
        executor="CeleryExecutor",
        settings={
            "AIRFLOW__CELERY__BROKER_URL": broker,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata.replace("+psycopg2", ""),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "OASIS_HOME": str(root / "oasis"),
            "OASIS_DATABASE_URL": store,
        },
    )
    rig.migrate()
    try:
        _start_processes(rig, workers)
    except BaseException:
        rig.stop()
        raise
    return rig


def _start_processes(rig: AirflowRig, workers: int) -> None:
    rig.start("api-server", ["api-server"])
    rig.start("scheduler", ["scheduler"])
    rig.start("dag-processor", ["dag-processor"])
    for n in range(1, workers + 1):
        name = f"worker{n}"
        rig.start(
            name,
            ["celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "2"],
            env={
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.airflow_rig.worker_hostname",
                "OASIS_RIG_WORKER": name,
                "PYTHONPATH": str(ROOT),
            },
        )
    rig.wait_healthy(["metadatabase", "scheduler", "dag_processor"])


def drive(rig: AirflowRig, rest: Rest, conf: dict[str, Any], as_of: Any) -> list[str]:
    """The four steps of the proof; returns every run id it created."""
    rest.wait_for_dag(DAG)
    rest.unpause(DAG)
    at = as_of.isoformat()
    for run_id in ("proof_send", "proof_again"):
        rest.trigger(DAG, run_id, {**conf, "as_of": at, "reason": "celery proof"})
        state = rest.wait_run(DAG, run_id, timeout=900)
        print(f"  {run_id}: {state}")
    clear = {
        "dry_run": False,
        "dag_run_id": "proof_send",
        "task_ids": ["send"],
        "only_failed": False,
        "reset_dag_runs": True,
    }
    rest._ok(rest.http.post(f"/dags/{DAG}/clearTaskInstances", json=clear))
    print(f"  proof_send after clearing send: {rest.wait_run(DAG, 'proof_send', timeout=900)}")
    rest.backfill(
        DAG,
        (as_of - timedelta(hours=3)).isoformat(),
        (as_of - timedelta(hours=1)).isoformat(),
        dag_run_conf={**conf, "backfill_may_send": True},
        max_active_runs=1,
    )
    backfill = [r["dag_run_id"] for r in rest.runs(DAG, run_type="backfill")]
    for run_id in backfill:
        print(f"  {run_id}: {finish(rig, rest, run_id)}")
    return ["proof_send", "proof_again", *backfill]


def finish(rig: AirflowRig, rest: Rest, run_id: str, timeout: float = 1800) -> str:
    """Wait for a run; if its gate halted the batch, approve it as ops would (REST HITL),
    once the worker that paused the approval task has exited (see the rig)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = str(rest.run(DAG, run_id)["state"])
        if state in ("success", "failed"):
            return state
        ti = rest.get(f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/approve_batch")
        if ti["state"] == "awaiting_input":
            rig.wait_paused_worker_gone(DAG, run_id, "approve_batch")
            why = {"decision_reason": "celery proof: approve the backfill's halted batch"}
            rest.respond(DAG, run_id, "approve_batch", ["Approve"], why)
            print(f"  {run_id}: the gate halted it; approved through the REST HITL endpoint")
        time.sleep(3)
    raise TimeoutError(f"run {run_id} did not finish in {timeout:.0f} s")


def count(store_url: str, outbox: Path) -> dict[str, Any]:
    from notify.store import schema

    engine = create_engine(store_url)
    ledger, d = schema.send_ledger, schema.decisions
    with engine.connect() as conn:
        states = dict(
            conn.execute(select(ledger.c.state, func.count()).group_by(ledger.c.state)).all()
        )
        paths = set(
            conn.execute(select(ledger.c.message_path).where(ledger.c.state == "sent")).scalars()
        )
        sent = conn.execute(select(d.c.notice_id, d.c.channel).where(d.c.decision == "sent")).all()
        per_run: dict[str, dict[str, int]] = {}
        outcome = case(
            (d.c.reason.like("ledger: already%"), "already sent (ledger)"),
            (d.c.reason.like("stale:%"), "stale (expired)"),
            else_=d.c.decision,
        )
        for run_id, what, n in conn.execute(
            select(d.c.run_id, outcome, func.count()).group_by(d.c.run_id, outcome)
        ):
            per_run.setdefault(run_id, {})[what] = n
    files = [p for p in outbox.rglob("*") if p.is_file()]
    sent_keys = Counter((n, c) for n, c in sent)
    return {
        "ledger_keys": sum(states.values()),
        "ledger_states": states,
        "sent_decisions": len(sent),
        "decisions_per_run": per_run,
        "message_files": len(files),
        "files_not_in_ledger": len([p for p in files if str(p) not in paths]),
        "keys_sent_twice": sum(1 for v in sent_keys.values() if v > 1),
    }


def worker_usage(rig: AirflowRig, rest: Rest, runs: list[str]) -> dict[str, Any]:
    by_task: dict[str, dict[str, str]] = {}
    for run_id in runs:
        for ti in rest.task_instances(DAG, run_id):
            if ti.get("hostname"):
                key = ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")
                by_task.setdefault(key, {})[run_id] = ti["hostname"].split("/")[-1]
    ask = (
        "import json; from airflow.providers.celery.executors.celery_executor import app;"
        "s = app.control.inspect(timeout=5).stats() or {};"
        "print(json.dumps({k: sum(v.get('total', {}).values()) for k, v in s.items()}))"
    )
    stats = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", ask],
        env=rig.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    per_worker = json.loads(stats.stdout.strip().splitlines()[-1])
    hosts = Counter(h for runs_ in by_task.values() for h in runs_.values())
    return {"celery_tasks_per_worker": per_worker, "task_instances_per_worker": dict(hosts),
            "worker_per_task": by_task}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--root", default=str(ROOT / ".oasis" / "celery-proof"))
    args = parser.parse_args(argv)

    import shutil

    from carriers.sandbox import SandboxServer, SandboxWorld
    from notify.simulate import generate_world

    root = Path(args.root)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    world = generate_world(root / "world", orders=args.orders, seed=args.seed)
    started = time.monotonic()
    rig = start_airflow(root, args.broker, args.workers)
    up = time.monotonic() - started
    print(f"Airflow up (CeleryExecutor, {args.workers} workers) in {up:.0f} s")
    try:
        rest = rig.rest()
        with SandboxServer(SandboxWorld.load(root / "world")) as sandbox:
            conf = {"orders_dir": str(root / "world" / "orders"), "sandbox_url": sandbox.base_url,
                    "carriers": ["fedex", "ups", "usps", "dhl"]}  # fmt: skip
            runs = drive(rig, rest, conf, world.demo_as_of)
        states = {r: rest.run(DAG, r)["state"] for r in runs}
        result = {
            "runs": states,
            **count(rig.env["OASIS_DATABASE_URL"], root / "oasis" / "outbox"),
            **worker_usage(rig, rest, runs),
            "seconds": round(time.monotonic() - started),
        }
    finally:
        rig.stop()
    duplicates = (
        result["keys_sent_twice"]
        + result["files_not_in_ledger"]
        + max(0, result["message_files"] - result["ledger_states"].get("sent", 0))
    )
    result["duplicates"] = duplicates
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "worker_per_task"}, indent=2))
    print("worker per task (run -> worker):")
    for task_id, where in sorted(result["worker_per_task"].items()):
        print(f"  {task_id:16} " + ", ".join(f"{r}={w}" for r, w in sorted(where.items())))
    used = [w for w, n in result["celery_tasks_per_worker"].items() if n > 0]
    ok = duplicates == 0 and set(states.values()) == {"success"} and len(used) >= 2
    print(f"\n{'PASS' if ok else 'FAIL'}: {duplicates} duplicates, workers used: {len(used)}, "
          f"runs: {Counter(states.values())}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
