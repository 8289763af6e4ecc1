"""Delivery notifications: tracking in, honest delay notices out, one stage per task.

Every task body is one call into ``notify.pipeline``; tasks pass the run id only. Nothing
heavy happens at import: the library is imported inside the tasks.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, task

DOC = """
### Delivery notifications

Hourly. Ingests carrier tracking, opens/updates delay episodes, predicts a new ETA,
decides exactly which customers are affected, composes one notice per customer, renders
email and SMS, gates them with Great Expectations, and sends through the exactly-once
ledger. Every decision is stored with its reason (`oasis notices --run RUN_ID`).

* **as_of**: see the world as it was then (replays); empty = the end of the data interval.
* **dry_run**: render and gate, send nothing. **replay_only**: record decisions only.
"""

CARRIERS = ["fedex", "ups", "usps", "dhl", "easypost", "aftership"]

STAGES = [
    ("ingest", "Load order files; poll carriers / read the drop folder; keep payloads raw."),
    ("detect", "Open, update and close delay episodes as of the run's time."),
    ("eta", "Predict the new delivery window for every open episode."),
    ("target", "Decide exactly which customers are affected; record who is not and why."),
    ("compose", "Build one facts object per notice."),
    ("render", "Render email and SMS into the outbox."),
    ("gate", "Great Expectations gates: quarantine bad rows, halt a bad batch."),
    ("send", "Send through the exactly-once ledger."),
    ("record", "Write the run report and the decisions file."),
]


def stage_task(name: str, doc: str) -> Any:
    """A task whose body is one call: run stage ``name`` for the run id it is handed."""

    @task(task_id=name, doc_md=doc)
    def run_stage(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step(name, oasis_run)

    return run_stage


with DAG(
    dag_id="delivery_notifications",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["oasis", "notifications"],
    doc_md=DOC,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=2)},
    params={
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date-time",
            title="As of",
            description="World time of the run (ISO 8601 with offset).",
        ),
        "dry_run": Param(False, type="boolean", title="Dry run (send nothing)"),
        "replay_only": Param(False, type="boolean", title="Replay only (decisions only)"),
        "carriers": Param(
            ["fedex", "ups", "usps", "dhl"],
            type="array",
            items={"type": "string", "enum": CARRIERS},
            title="Carriers to poll",
        ),
        "poll_carriers": Param(False, type="boolean", title="Poll the carriers' APIs"),
        "orders_dir": Param(None, type=["null", "string"], title="Order files folder"),
        "tracking_dir": Param(None, type=["null", "string"], title="Tracking drop folder"),
        "sandbox_url": Param(None, type=["null", "string"], title="Carrier sandbox URL"),
        "max_notices": Param(None, type=["null", "integer"], minimum=0, title="Max notices"),
        "reason": Param(None, type=["null", "string"], title="Why this manual run"),
    },
) as dag:

    @task(doc_md="Create the run row: run id, as-of time and mode.")
    def begin(**context: object) -> str:
        from notify import pipeline

        return pipeline.begin_from_context(context)

    oasis_run = begin()
    for name, doc in STAGES:
        oasis_run = stage_task(name, doc)(oasis_run)
