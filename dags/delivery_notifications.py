"""Delivery notifications: tracking in, honest delay notices out, one stage per task.

Every task body is one call into ``notify.pipeline``; tasks pass the run id only. Nothing
heavy happens at import: the library is imported inside the tasks.
"""

from __future__ import annotations

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

    @task(doc_md="Load order files; poll carriers / read the drop folder; keep payloads raw.")
    def ingest(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("ingest", oasis_run)

    @task(doc_md="Open, update and close delay episodes as of the run's time.")
    def detect(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("detect", oasis_run)

    @task(doc_md="Predict the new delivery window for every open episode.")
    def eta(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("eta", oasis_run)

    @task(doc_md="Decide exactly which customers are affected; record who is not and why.")
    def target(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("target", oasis_run)

    @task(doc_md="Build one facts object per notice.")
    def compose(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("compose", oasis_run)

    @task(doc_md="Render email and SMS into the outbox.")
    def render(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("render", oasis_run)

    @task(doc_md="Great Expectations gates: quarantine bad rows, halt a bad batch.")
    def gate(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("gate", oasis_run)

    @task(doc_md="Send through the exactly-once ledger.")
    def send(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("send", oasis_run)

    @task(doc_md="Write the run report and the decisions file.")
    def record(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step("record", oasis_run)

    record(send(gate(render(compose(target(eta(detect(ingest(begin())))))))))
