"""Delivery notifications: tracking in, honest delay notices out, one stage per task.

Every task body is one call into ``notify``; tasks pass the run id only. Nothing heavy
happens at import: the library is imported inside the tasks. Decisions behind this shape:
docs/adr/0009-operations-in-airflow.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, task

DOC = """
### Delivery notifications

Hourly, for the data interval that just ended. Ingests carrier tracking, opens/updates delay
episodes, predicts a new ETA window, decides exactly which customers are affected, composes
one notice per customer, renders email and SMS, gates them with Great Expectations, takes a
last look for stale news, sends through the exactly-once ledger and writes the run report.
Every decision is stored with its reason (`oasis notices --run RUN_ID`).

**Trigger form.** *As of* replays the world as it was then (empty: the end of the data
interval). *Dry run* renders and gates but sends nothing; *Replay only* records decisions
only. *Send channels*, *Carriers*, *Maximum notices* (above it the batch halts for approval)
and a *Reason* for a manual run, kept in its report.

**Backfills** (UI backfill dialog, `airflow backfill create`, `POST /api/v2/backfills`; one
active run at a time) are **replay only**: they record what would have been decided and send
nothing. Only `backfill_may_send: true` in the backfill's conf lets one send, and even then
nothing whose news went stale (delivered since, episode closed, ETA passed) leaves.

**Halted batch.** When a batch check fails, `approve_batch` waits for a person: the gate's
reasons and what approving would send are shown under *Required actions*. Approve sends the
rows that passed the row checks; Reject keeps them blocked with your name and reason. No
answer within 6 hours rejects. Later runs queue behind a halted one (`max_active_runs=1`).

**Run report**: `$OASIS_HOME/runs/<run id>/report.html` (the `record` task's log links it;
`oasis report RUN_ID`). Failures after the last retry alert ops
(`OASIS_ALERT_WEBHOOK_URL`, `OASIS_ALERT_EMAILS`).
"""

CARRIERS = {
    "fedex": "FedEx",
    "ups": "UPS",
    "usps": "USPS",
    "dhl": "DHL",
    "easypost": "EasyPost (aggregator)",
    "aftership": "AfterShip (aggregator)",
}
CHANNELS = {"email": "Email", "sms": "SMS"}

# One Airflow pool per external API, shared by every DAG and backfill (deploy/airflow/pools.json):
# the carriers' APIs, the shop's database, and each channel's provider (notify.config.send_pool).
CARRIER_POOL = "oasis_carrier_api"
SHOP_DB_POOL = "oasis_shop_db"
SEND_POOLS = {"email": "oasis_email_api", "sms": "oasis_sms_api"}

# Produced by this DAG, for DAGs downstream of it (exports, dashboards) to be scheduled on.
TRACKING = Asset(name="oasis_tracking", uri="x-oasis://store/tracking_events")
DECISIONS = Asset(name="oasis_decisions", uri="x-oasis://store/decisions")

HITL_TIMEOUT = timedelta(hours=6)
ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"


def alert_ops(context: Any) -> None:
    """on_failure_callback: tell ops (webhook and/or email) that a task failed for good."""
    from notify import alerts

    alerts.task_failed(context)


def review(oasis_run: str) -> str:
    """Template macro: the halted batch's review text (gate reasons, what would be sent)."""
    from notify import pipeline

    return pipeline.approval_review(oasis_run)


def stage_task(name: str, doc: str, **options: Any) -> Any:
    """A task whose body is one call: run stage ``name`` for the run id it is handed."""

    @task(task_id=name, doc_md=doc, **options)
    def run_stage(oasis_run: str) -> str:
        from notify import pipeline

        return pipeline.run_step(name, oasis_run)

    return run_stage


PARAMS = {
    "as_of": Param(
        None,
        type=["null", "string"],
        format="date-time",
        pattern=ISO_WITH_OFFSET,
        title="As of",
        description_md="World time of the run (ISO 8601 with offset). Empty: the end of the "
        "data interval (scheduled and backfill runs) or now (manual runs).",
        section="When and why",
    ),
    "reason": Param(
        None,
        type=["null", "string"],
        maxLength=500,
        title="Reason",
        description="Why this run was started by hand; kept with the run and shown in its report.",
        section="When and why",
    ),
    "dry_run": Param(
        False,
        type="boolean",
        title="Dry run",
        description="Render and gate everything, send nothing.",
        section="What to send",
    ),
    "replay_only": Param(
        False,
        type="boolean",
        title="Replay only",
        description="Recompute and record the decisions only; nothing is sent.",
        section="What to send",
    ),
    "channels": Param(
        list(CHANNELS),
        type="array",
        items={"type": "string", "enum": list(CHANNELS)},
        uniqueItems=True,
        examples=list(CHANNELS),
        values_display=CHANNELS,
        title="Send channels",
        description="Messages for other channels are deferred (recorded, not sent).",
        section="What to send",
    ),
    "max_notices": Param(
        None,
        type=["null", "integer"],
        minimum=0,
        title="Maximum notices",
        description="Above this many messages the batch halts for approval "
        "(empty: the OASIS_MAX_NOTICES setting).",
        section="What to send",
    ),
    "backfill_may_send": Param(
        False,
        type="boolean",
        title="Let a backfill send",
        description="Backfills are replay only unless this is set in the backfill's conf; "
        "even then stale news is never sent.",
        section="Backfills",
    ),
    "carriers": Param(
        ["fedex", "ups", "usps", "dhl"],
        type="array",
        items={"type": "string", "enum": list(CARRIERS)},
        uniqueItems=True,
        examples=list(CARRIERS),
        values_display=CARRIERS,
        title="Carriers",
        description="Carriers whose APIs (or sandbox) are polled.",
        section="Tracking and orders",
    ),
    "poll_carriers": Param(
        False,
        type="boolean",
        title="Poll the carriers' APIs",
        description="Credentials: Airflow Connections oasis_carrier_<name> (README).",
        section="Tracking and orders",
    ),
    "orders_full_refresh": Param(
        False,
        type="boolean",
        title="Re-read the whole shop",
        description="Order source (Connection oasis_shop_db): read every order again instead "
        "of the changes since the watermark (recovery).",
        section="Tracking and orders",
    ),
    "orders_dir": Param(
        None, type=["null", "string"], title="Order files folder", section="Tracking and orders"
    ),
    "tracking_dir": Param(
        None, type=["null", "string"], title="Tracking drop folder", section="Tracking and orders"
    ),
    "sandbox_url": Param(
        None,
        type=["null", "string"],
        title="Carrier sandbox URL",
        description="Poll the carrier sandbox (demos, tests) instead of the carriers.",
        section="Tracking and orders",
    ),
}

STAGES = [
    ("orders", "Read new and changed orders: the order folder, or the shop's database "
     "(Connection oasis_shop_db, incremental by watermark).", {"pool": SHOP_DB_POOL}),
    ("ingest", "Poll carriers / read the drop folder; keep payloads raw.",
     {"pool": CARRIER_POOL, "outlets": [TRACKING]}),
    ("detect", "Open, update and close delay episodes as of the run's time.", {}),
    ("eta", "Predict the new delivery window for every open episode.", {}),
    ("target", "Decide exactly which customers are affected; record who is not and why.", {}),
    ("compose", "Build one facts object per notice.", {}),
    ("render", "Render email and SMS into the outbox.", {}),
    ("gate", "Great Expectations gates: quarantine bad rows, halt a bad batch.", {}),
]  # fmt: skip

with DAG(
    dag_id="delivery_notifications",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["oasis", "notifications"],
    doc_md=DOC,
    default_args={
        "retries": 3,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=2),
        "on_failure_callback": alert_ops,
    },
    user_defined_macros={"oasis_review": review},
    params=PARAMS,
) as dag:

    @task(doc_md="Create the run row: run id, as-of time and mode (backfills: replay only).")
    def begin(**context: Any) -> str:
        from notify import pipeline

        return pipeline.begin_from_context(context)

    oasis_run = begin()
    for name, doc, options in STAGES:
        oasis_run = stage_task(name, doc, **options)(oasis_run)
    gated = oasis_run

    @task.branch(
        doc_md="A halted batch that would send waits for a person (`approve_batch`); anything "
        "else goes on to release (a halted dry run or replay only records the halt)."
    )
    def needs_approval(oasis_run: str) -> str:
        from notify import pipeline

        return "approve_batch" if pipeline.needs_approval(oasis_run) else "batch_passed"

    approve_batch = HITLOperator(
        task_id="approve_batch",
        subject="Oasis: the gate halted run {{ run_id }}; approve or reject its batch",
        body="{{ oasis_review(ti.xcom_pull(task_ids='gate')) }}",
        options=["Approve", "Reject"],
        defaults=["Reject"],
        params={
            # Not "reason": task params share the run's conf, where "reason" is the run's.
            "decision_reason": Param(
                None,
                type=["null", "string"],
                minLength=3,
                title="Reason",
                description="Why you approve or reject (kept with the decision).",
            )
        },
        response_timeout=HITL_TIMEOUT,
        execution_timeout=None,
        retries=0,
        doc_md="A person decides about the halted batch (Required actions). Approve: the rows "
        "that passed the row checks are sent. Reject or no answer in 6 h: they stay blocked.",
    )

    @task(doc_md="Record the decision (who, why) and release or keep the blocked rows.")
    def record_decision(oasis_run: str, **context: Any) -> str:
        from notify import pipeline

        pipeline.record_approval(oasis_run, context["ti"].xcom_pull(task_ids="approve_batch"))
        return oasis_run

    batch_passed = EmptyOperator(
        task_id="batch_passed",
        doc_md="No approval needed: the gate passed the batch, or the run sends nothing.",
    )
    decided = record_decision(gated)
    branch = needs_approval(gated)
    branch >> [approve_batch, batch_passed]
    approve_batch >> decided

    release = stage_task(
        "release",
        "Last look before send: stale news expires, unchosen channels are withheld.",
        trigger_rule="none_failed_min_one_success",
    )(gated)
    [decided, batch_passed] >> release

    @task(doc_md="The send tasks of one channel: OASIS_SEND_SHARDS shards (run id, shard).")
    def plan_sends(oasis_run: str, channel: str) -> list[dict[str, Any]]:
        from notify import pipeline

        return pipeline.send_shards(oasis_run, channel=channel)

    def send_task(channel: str) -> Any:
        @task(
            task_id=f"send_{channel}",
            pool=SEND_POOLS[channel],
            doc_md=f"Send one shard of the run's {channel} messages through the exactly-once "
            "ledger (a retry or a cleared task sends only what is still pending).",
        )
        def send(run_id: str, shard: int, shards: int, channel: str | None) -> str:
            from notify import pipeline

            pipeline.send_step(run_id, shard, shards, channel)
            return run_id

        return send

    sent = [
        send_task(channel).expand_kwargs(
            plan_sends.override(task_id=f"plan_{channel}")(release, channel)
        )
        for channel in CHANNELS
    ]
    escalated = stage_task(
        "escalate",
        "Hand open cases (lost, damaged, second delay, need-by at risk, ...) to the help desk "
        "with their whole context; while a case is open, its order's automated notices pause.",
    )(release)
    sent >> escalated
    stage_task(
        "record",
        "Write the decisions file and the run report (HTML with plots, JSON); the log links it.",
        outlets=[DECISIONS],
    )(escalated)
