"""The task entry points the DAG maps sends over: send_shards, send_step, send_pool."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from notify import config, pipeline
from notify.store import schema
from tests.notify.delivery_fixtures import ledger_states, seed_run


@pytest.fixture
def store(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("OASIS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OASIS_HOME", str(tmp_path / "home"))
    return engine


def test_shards_cover_every_channel_and_together_send_everything_once(store, monkeypatch):
    monkeypatch.setenv("OASIS_SEND_SHARDS", "3")
    seed_run(store, "run-a", 25, channels=("email", "sms"))
    shards = pipeline.send_shards("run-a")
    assert [(s["channel"], s["shard"], s["shards"]) for s in shards] == [
        (ch, i, 3) for ch in ("email", "sms") for i in range(3)]  # fmt: skip
    assert pipeline.send_shards("run-a", channel="sms") == shards[3:]
    with ThreadPoolExecutor(6) as pool:  # mapped tasks finishing at the same time
        results = list(pool.map(lambda kw: pipeline.send_step(**kw), shards))
    assert sum(r["sent"] for r in results) == 50
    assert set(ledger_states(store).values()) == {"sent"} and len(ledger_states(store)) == 50
    with store.connect() as conn:
        summary = json.loads(conn.execute(select(schema.runs.c.summary)).scalar_one())
    assert sorted(summary["send_tasks"]) == sorted(f"{c}:{i}/3" for c in ("email", "sms")
                                                   for i in range(3))  # fmt: skip
    assert summary["send"]["sent"] == 50 and summary["send"]["stopped"] is None


def test_the_single_send_task_keeps_working_with_the_defaults(store):
    seed_run(store, "run-a", 4, channels=("email", "sms"))
    first = pipeline.send_step("run-a")
    again = pipeline.send_step("run-a")
    assert (first["sent"], again["sent"], again["resumed"]) == (8, 0, 8)
    with store.connect() as conn:
        summary = json.loads(conn.execute(select(schema.runs.c.summary)).scalar_one())
    assert list(summary["send_tasks"]) == ["all"] and summary["send"]["resumed"] == 8


def test_a_run_with_nothing_published_still_gets_one_task(store):
    seed_run(store, "run-a", 0)
    assert pipeline.send_shards("run-a") == [
        {"run_id": "run-a", "shard": 0, "shards": 1, "channel": None}]  # fmt: skip
    assert pipeline.send_step(**pipeline.send_shards("run-a")[0])["sent"] == 0


def test_each_channel_has_its_pool_whatever_its_provider(monkeypatch):
    assert pipeline.send_pool("email") == config.send_pool("email") == "oasis_email_api"
    monkeypatch.setenv("OASIS_EMAIL_PROVIDER", "sendgrid")
    monkeypatch.setenv("OASIS_SMS_PROVIDER", "twilio")
    assert (pipeline.send_pool("email"), pipeline.send_pool("sms")) == (
        "oasis_email_api", "oasis_sms_api")  # fmt: skip
    with pytest.raises(ValueError, match="unknown channel"):
        pipeline.send_pool("fax")
