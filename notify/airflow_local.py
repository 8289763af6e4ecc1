"""An embedded Airflow for local runs: ``oasis demo`` and ``oasis run`` use the real DAG.

Prepares a private ``AIRFLOW_HOME`` under the Oasis home (SQLite metadata database, our
``dags/`` folder, no examples), migrates it once, and runs the DAG in-process with
``dag.test``. Setting these variables must happen before Airflow is imported, which is why
this module, and only this one besides ``notify.config``, touches the process environment.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

from notify.config import Settings

DAGS_DIR = Path(__file__).resolve().parent.parent / "dags"
LOCAL_SKIPPED_TASKS = "approve_batch"  # marked done without waiting for a person


def prepare(settings: Settings) -> Path:
    home = settings.home / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }
    for key, value in env.items():
        os.environ.setdefault(key, value)
    marker = home / ".migrated"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        marker.write_text("ok\n")
    return home


def load_dag(dag_id: str = "delivery_notifications") -> Any:
    path = DAGS_DIR / f"{dag_id}.py"
    spec = importlib.util.spec_from_file_location(f"oasis_dag_{dag_id}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the DAG file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def run_dag(settings: Settings, conf: dict[str, Any]) -> tuple[str, str]:
    """Run the notifications DAG once in-process; returns (Airflow run id, final state)."""
    prepare(settings)
    # dag.test runs tasks through Airflow's in-process API client, which imports Starlette's
    # test client; its deprecation notice is Airflow's business, not this run's output.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    dag = load_dag()
    for task in dag.tasks:  # a local run fails fast; the scheduled DAG keeps its retries
        task.retries = 0
    # Nobody answers a human-in-the-loop task in-process: a halted batch stays blocked and
    # the run ends "halted"; decide with `oasis approve|reject RUN_ID`.
    dag_run = dag.test(run_conf=conf, mark_success_pattern=LOCAL_SKIPPED_TASKS)
    return str(dag_run.run_id), str(dag_run.state)
