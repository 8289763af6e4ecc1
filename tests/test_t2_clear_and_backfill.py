"""T2: clear a whole run, then backfill 7 days with reprocess=completed: 0 new provider calls.

The pipeline's own task functions (what each DAG task calls) run a simulated world through
every stage, sending through the SendGrid and Twilio stubs: seven daily runs first, then the
last run cleared (every task of it again, same run id), then a backfill of the same seven
intervals under new run ids, as ``airflow backfill create --reprocess-behavior completed``
would make them.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from tests.notify.test_exactly_once import provider_env
from tests.provider_stubs import SendGridStub, TwilioStub

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

STAGES = ["ingest", "detect", "eta", "target", "compose", "render", "gate", "send", "record"]


def _run(pipeline, run_id: str, conf: dict) -> None:
    pipeline.begin(run_id, conf)
    for stage in STAGES:
        pipeline.run_step(stage, run_id)


def test_t2_clear_and_backfill_make_no_new_provider_calls(sqlite_engine, tmp_path, monkeypatch):
    from carriers.sandbox import SandboxServer, SandboxWorld
    from notify import pipeline
    from notify.simulate import generate_world
    from notify.stages.record import notice_rows
    from notify.store import open_store

    world = generate_world(tmp_path / "world", orders=1200, seed=11)
    days = [world.demo_as_of - timedelta(days=d) for d in range(6, -1, -1)]
    with SandboxServer(SandboxWorld.load(tmp_path / "world")) as sandbox, \
            SendGridStub() as sg, TwilioStub() as tw:  # fmt: skip
        for name, value in provider_env(sqlite_engine, tmp_path / "home", sg, tw).items():
            if name.startswith("OASIS_"):
                monkeypatch.setenv(name, value)
        conf = {"orders_dir": str(tmp_path / "world" / "orders"), "sandbox_url": sandbox.base_url,
                "carriers": ["fedex", "ups", "usps", "dhl"]}  # fmt: skip
        for day in days:
            _run(pipeline, f"scheduled__{day.isoformat()}", {**conf, "as_of": day.isoformat()})
        first = sg.count() + tw.count()
        _run(
            pipeline, f"scheduled__{days[-1].isoformat()}", {**conf, "as_of": days[-1].isoformat()}
        )
        after_clear = sg.count() + tw.count()
        for day in days:
            _run(pipeline, f"backfill__{day.isoformat()}", {**conf, "as_of": day.isoformat()})
        after_backfill = sg.count() + tw.count()
        landed = sg.landed_per_key() + tw.landed_per_key()
    engine = open_store(sqlite_engine.url.render_as_string(hide_password=False))
    backfilled = Counter(
        f"{r['decision']}: {r['reason'].split(';')[0]}"
        for day in days
        for r in notice_rows(engine, f"backfill__{day.isoformat()}")
        if r["decision"] in ("sent", "deferred", "suppressed", "blocked") and r["channel"]
        and (r["decision"] != "suppressed" or r["reason"].startswith(("ledger", "expired")))
    )  # fmt: skip
    assert first > 0, "the world must produce notices to send"
    assert (after_clear - first, after_backfill - first) == (0, 0)
    assert max(landed.values()) == 1
    assert not any(k.startswith("sent") for k in backfilled)
    print(f"\nT2: provider calls first pass={first}, new after clearing the last run="
          f"{after_clear - first}, new after backfilling 7 days={after_backfill - first}; "
          f"backfill send decisions={dict(backfilled)}")  # fmt: skip
