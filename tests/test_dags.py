"""DAG integrity: every DAG file imports cleanly, is thin, and documents itself."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parent.parent / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "delivery_notifications" in dagbag.dags


def test_one_task_per_stage_in_order(dagbag):
    dag = dagbag.dags["delivery_notifications"]
    order = [t.task_id for t in dag.topological_sort()]
    stages = ["begin", "orders", "ingest", "detect", "eta", "target", "compose", "render",
              "gate", "release", "plan_email", "send_email", "escalate", "record"]  # fmt: skip
    assert [t for t in order if t in stages] == stages
    assert all(t.doc_md for t in dag.tasks), [t.task_id for t in dag.tasks if not t.doc_md]
    assert dag.doc_md and dag.max_active_runs == 1
    assert set(dag.tags) >= {"oasis", "notifications"}


def test_a_halted_batch_waits_for_a_person_and_a_passed_one_goes_straight_on(dagbag):
    from airflow.providers.standard.operators.hitl import HITLOperator

    dag = dagbag.dags["delivery_notifications"]
    approval = dag.get_task("approve_batch")
    assert isinstance(approval, HITLOperator)
    assert approval.options == ["Approve", "Reject"] and approval.defaults == ["Reject"]
    assert "decision_reason" in approval.params and approval.response_timeout
    assert dag.get_task("needs_approval").downstream_task_ids == {"approve_batch", "batch_passed"}
    assert dag.get_task("approve_batch").downstream_task_ids == {"record_decision"}
    release = dag.get_task("release")
    assert release.upstream_task_ids == {"gate", "record_decision", "batch_passed"}
    assert release.trigger_rule == "none_failed_min_one_success"
    for channel in ("email", "sms"):
        assert dag.get_task(f"plan_{channel}").upstream_task_ids == {"release"}
        assert dag.get_task(f"send_{channel}").upstream_task_ids == {f"plan_{channel}"}
    assert dag.get_task("escalate").upstream_task_ids == {"release", "send_email", "send_sms"}
    assert dag.get_task("record").upstream_task_ids == {"escalate"}


def test_retries_back_off_and_failures_alert_ops(dagbag):
    dag = dagbag.dags["delivery_notifications"]
    for t in dag.tasks:
        if t.task_id in ("approve_batch", "batch_passed"):
            continue
        assert t.retries >= 2 and t.retry_exponential_backoff, t.task_id
        assert t.on_failure_callback, t.task_id


def test_external_apis_have_their_own_pools_and_assets_link_consumers(dagbag):
    dag = dagbag.dags["delivery_notifications"]
    assert dag.get_task("ingest").pool == "oasis_carrier_api"
    assert dag.get_task("orders").pool == "oasis_shop_db"
    from notify.config import send_pool

    for channel in ("email", "sms"):  # the DAG names the pools the library names
        assert dag.get_task(f"send_{channel}").pool == send_pool(channel)
    pools = json.loads((DAGS.parent / "deploy" / "airflow" / "pools.json").read_text())
    used = {t.pool for t in dag.tasks} - {"default_pool"}
    assert used == {"oasis_carrier_api", "oasis_shop_db", "oasis_email_api", "oasis_sms_api"}
    assert used <= set(pools)
    assert {a.name for a in dag.get_task("ingest").outlets} == {"oasis_tracking"}
    assert {a.name for a in dag.get_task("record").outlets} == {"oasis_decisions"}


def test_schedule_is_an_hourly_data_interval(dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.dags["delivery_notifications"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 * * * *"  # hourly; a time schedule can be backfilled


def test_params_form_has_the_operator_fields_in_sections(dagbag):
    params = dagbag.dags["delivery_notifications"].params
    names = ("as_of", "dry_run", "replay_only", "channels", "carriers", "max_notices", "reason",
             "backfill_may_send")  # fmt: skip
    for name in names:
        schema = params.get_param(name).schema
        assert schema.get("title") and schema.get("section"), name
    assert params.get_param("carriers").schema["examples"]  # a multi-select in the form
    assert params["channels"] == ["email", "sms"]
    assert params["backfill_may_send"] is False


def test_the_form_refuses_bad_values(dagbag):
    from airflow.sdk.definitions.param import ParamValidationError

    params = dagbag.dags["delivery_notifications"].params
    bad = {"carriers": ["royal_mail"], "channels": ["fax"], "max_notices": -1,
           "as_of": "2025-11-20T10:00:00", "dry_run": "maybe"}  # fmt: skip
    for name, value in bad.items():
        with pytest.raises(ParamValidationError):
            params.get_param(name).resolve(value=value)
    assert params.get_param("carriers").resolve(value=["ups", "dhl"]) == ["ups", "dhl"]
    as_of = "2025-11-20T10:00:00+00:00"
    assert params.get_param("as_of").resolve(value=as_of) == as_of


def test_dag_files_import_nothing_heavy_at_top_level():
    heavy = {"notify", "pandas", "great_expectations", "sqlalchemy", "sendgrid", "twilio",
             "requests", "carriers"}  # fmt: skip
    for path in DAGS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                assert not any(n.split(".")[0] in heavy for n in names), (path.name, names)
