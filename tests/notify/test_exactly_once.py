"""Exactly-once under faults: T1, T3, T4 and T7 of notes/reliability.md.

Senders run the real task entry point (``notify.pipeline.send_step``) against loopback
SendGrid and Twilio stubs that record every request. What is counted is what the provider
would hold: requests that landed, per send key. None may exceed one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from notify import ledger
from notify.channels.sendgrid_mail import SendGridChannel
from notify.stages.send import SendPolicy, send
from notify.store import schema
from tests.notify.delivery_fixtures import ledger_states, seed_run, send_decisions
from tests.notify.test_channels import SECRET, UNSUB, sendgrid_settings
from tests.provider_stubs import Fault, SendGridSigner, SendGridStub, TwilioStub

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STATUS_URL = "https://hooks.example.com/webhooks/twilio/status"
CHILD = "import sys; from notify.pipeline import send_step; print(send_step(sys.argv[1]))"


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def provider_env(engine, home: Path, sg: SendGridStub, tw: TwilioStub, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "OASIS_DATABASE_URL": _url(engine), "OASIS_HOME": str(home),
        "OASIS_ENVIRONMENT": "production", "OASIS_EMAIL_PROVIDER": "sendgrid",
        "OASIS_SMS_PROVIDER": "twilio", "OASIS_SENDGRID_API_KEY": sg.api_key,
        "OASIS_SENDGRID_HOST": sg.base_url, "OASIS_TWILIO_ACCOUNT_SID": tw.account_sid,
        "OASIS_TWILIO_AUTH_TOKEN": tw.auth_token, "OASIS_TWILIO_BASE_URL": tw.base_url,
        "OASIS_TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        "OASIS_TWILIO_STATUS_CALLBACK_URL": STATUS_URL, "OASIS_UNSUBSCRIBE_SECRET": SECRET,
        "OASIS_SENDGRID_RATE": "0", "OASIS_TWILIO_RATE": "0",
    })  # fmt: skip
    env.update(extra)
    return env


def spawn(run_id: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, run_id], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _kill_if_running(child: subprocess.Popen) -> None:
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)


def _landed(*stubs) -> Counter:
    total: Counter = Counter()
    for stub in stubs:
        total.update(stub.landed_per_key())
    return total


# -- T4: SIGKILL at random points, including between the provider's 2xx and the commit -------


def test_t4_sigkill_at_random_points_never_sends_a_key_twice_and_loses_nothing(engine, tmp_path):
    rng = random.Random(4)
    run, seeded = seed_run(engine, "run-kill", 100, channels=("email", "sms"))
    keys = {s.key for s in seeded}
    kills = Counter()
    with SendGridStub(latency=(0.01, 0.04)) as sg, TwilioStub(latency=(0.01, 0.04)) as tw:
        env = provider_env(engine, tmp_path, sg, tw)
        for _cycle in range(60):
            if min(kills["after provider 2xx"], kills["at a random time"]) >= 12:
                break
            after_2xx = kills["after provider 2xx"] <= kills["at a random time"]
            landed_before = sum(_landed(sg, tw).values())
            child = spawn(run.run_id, env)
            target = landed_before + rng.randint(1, 3)

            def kill_after_2xx(rec, child=child, target=target):
                if sum(_landed(sg, tw).values()) >= target and child.poll() is None:
                    os.kill(child.pid, signal.SIGKILL)

            # A random time: counted from the child's first provider answer (not from its
            # start, which on a fast machine may leave no work to interrupt), so the kill
            # lands anywhere in the send loop: mid-request, mid-commit, between messages.
            timers: list[threading.Timer] = []
            delay = rng.uniform(0.0, 0.15)

            def kill_later(rec, child=child, delay=delay, timers=timers):
                if not timers and child.poll() is None:
                    timers.append(threading.Timer(delay, _kill_if_running, (child,)))
                    timers[0].start()

            sg.after_response = tw.after_response = kill_after_2xx if after_2xx else kill_later
            child.wait(timeout=300)
            for timer in timers:
                timer.join()
            child.communicate()
            if child.returncode == -signal.SIGKILL:
                kills["after provider 2xx" if after_2xx else "at a random time"] += 1
        sg.after_response = tw.after_response = None
        final = spawn(run.run_id, env)
        _out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err[-2000:]
        landed = _landed(sg, tw)
        states = ledger_states(engine)
        before = Counter(states.values())

        # Nothing lost, nothing twice: every key settled, and reached the provider <= once.
        assert max(landed.values()) == 1
        assert set(states) == keys and set(states.values()) <= {"sent", "unknown"}
        assert all(landed[k] == 1 for k, s in states.items() if s == "sent")
        assert kills["after provider 2xx"] >= 12 and kills["at a random time"] >= 12
        in_doubt = [k for k, s in states.items() if s == "unknown"]
        assert in_doubt, "a kill between the 2xx and the commit leaves a key unknown"

        # The way back: provider events reconcile what landed; silence releases the rest.
        signer = SendGridSigner()
        from notify import web
        from notify.provider_webhooks import ProviderWebhookConfig

        client = TestClient(web.create_app(database_url=_url(engine), secrets={},
                                           providers=ProviderWebhookConfig(
                                               sendgrid_public_key=signer.public_key,
                                               twilio_auth_token=tw.auth_token,
                                               public_base_url="https://hooks.example.com")))  # fmt: skip
        events = [e for r in sg.requests if r.landed for e in sg.events_for(r, "processed")]
        body = json.dumps(events).encode()
        assert client.post("/webhooks/sendgrid", content=body,
                           headers=signer.headers(body)).status_code == 200  # fmt: skip
        from twilio.request_validator import RequestValidator

        for r in tw.requests:
            if not r.landed:
                continue
            url = r.form()["StatusCallback"]
            form = {"MessageSid": r.message_id, "MessageStatus": "sent", "To": r.form()["To"]}
            sig = RequestValidator(tw.auth_token).compute_signature(url, form)
            assert client.post(url.removeprefix("https://hooks.example.com"), data=form,
                               headers={"X-Twilio-Signature": sig}).status_code == 204  # fmt: skip
        reconciled = Counter(ledger_states(engine).values())
        assert all(landed[k] == 0 for k, s in ledger_states(engine).items() if s == "unknown")
        released = ledger.release_unconfirmed(
            engine, older_than=__import__("datetime").timedelta(0)
        )
        last = spawn(run.run_id, env)
        last.communicate(timeout=300)
        assert last.returncode == 0
        landed = _landed(sg, tw)
    assert set(ledger_states(engine).values()) == {"sent"}
    assert landed == {k: 1 for k in keys}
    print(f"\nT4 {engine.dialect.name}: keys={len(keys)} kills={dict(kills)} "
          f"states after rerun={dict(before)} after events={dict(reconciled)} "
          f"released={released} provider requests per key max={max(landed.values())}")  # fmt: skip


# -- T3: two concurrent runs over the same interval -------------------------------------------


def test_t3_two_concurrent_runs_over_the_same_interval_send_each_key_once(engine, tmp_path):
    _, seeded = seed_run(engine, "run-one", 120, channels=("email", "sms"))
    seed_run(engine, "run-two", 120, channels=("email", "sms"))
    with SendGridStub(latency=(0.0, 0.01)) as sg, TwilioStub(latency=(0.0, 0.01)) as tw:
        env = provider_env(engine, tmp_path, sg, tw)
        children = [spawn("run-one", env), spawn("run-two", env)]
        outputs = [c.communicate(timeout=600) for c in children]
        assert [c.returncode for c in children] == [0, 0], [o[1][-2000:] for o in outputs]
        landed = _landed(sg, tw)
        requests = Counter(sg.requests_per_key()) + Counter(tw.requests_per_key())
    assert landed == {s.key: 1 for s in seeded} and max(requests.values()) == 1
    sent = [sum(1 for _, _, d, _ in send_decisions(engine, r) if d == "sent")
            for r in ("run-one", "run-two")]  # fmt: skip
    assert sum(sent) == 240 and all(n > 0 for n in sent)  # both really ran at the same time
    print(f"\nT3 {engine.dialect.name}: keys=240 sent by run one={sent[0]} run two={sent[1]} "
          f"provider requests per key max={max(requests.values())}")  # fmt: skip


# -- T1: every attempt fails after the provider accepted it; retried 5 times -------------------


def test_t1_ten_thousand_sends_failing_after_acceptance_retried_five_times(engine):
    """Four shards send in parallel threads (as mapped tasks would); then five retries."""
    from concurrent.futures import ThreadPoolExecutor

    from notify.store import open_store

    run, seeded = seed_run(engine, "run-t1", 10_000)
    faults = {s.key: (Fault(drop=True, landed=True, name="drop") if i % 20 == 0 else
                      Fault(delay=0.6, landed=True, name="timeout") if i % 500 == 1 else
                      Fault(500, body={"errors": [{"message": "internal"}]}, landed=True))
              for i, s in enumerate(seeded)}  # fmt: skip
    policy = SendPolicy(production=True, circuit_failures=10**9)  # push every key through
    store = open_store(_url(engine))  # the store as the tasks open it
    with SendGridStub() as sg:
        sg.faults = lambda rec: faults[rec.key]

        def attempt(shard: int):
            channel = SendGridChannel(sendgrid_settings(sg.base_url, timeout_seconds=0.3),
                                      unsubscribe_url=UNSUB, unsubscribe_secret=SECRET)  # fmt: skip
            return send(store, run=run, channels={"email": channel}, policy=policy,
                        shard=shard, shards=4)  # fmt: skip

        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(attempt, range(4)))
            retries = [list(pool.map(attempt, range(4))) for _ in range(5)]
        requests = sg.requests_per_key()
    assert sg.count() == 10_000 and max(requests.values()) == 1 and len(requests) == 10_000
    assert sum(r.unknown for r in first) == 10_000
    assert all(sum(r.unknown for r in rs) == 0 and sum(r.resumed for r in rs) == 10_000
               for rs in retries)  # fmt: skip
    assert set(ledger_states(engine).values()) == {"unknown"}
    print(f"\nT1 {engine.dialect.name}: provider calls={sg.count()} duplicates="
          f"{sum(n - 1 for n in requests.values())} retries=5 new calls on retries=0")  # fmt: skip


# -- T7: a 30 s rate-limit reset, in real time -------------------------------------------------


def test_t7_a_429_with_reset_30_s_ahead_sends_nothing_before_it_and_drops_nothing(sqlite_engine):
    run, seeded = seed_run(sqlite_engine, "run-t7", 20)
    reset = int(time.time()) + 30
    lock = threading.Lock()
    with SendGridStub() as sg:

        def limited(rec):
            with lock:
                return Fault(429, headers={"X-RateLimit-Reset": str(reset)},
                             body={"errors": [{"message": "too many requests"}]}) if (
                    time.time() < reset) else None  # fmt: skip

        sg.faults = limited
        channel = SendGridChannel(sendgrid_settings(sg.base_url), unsubscribe_url=UNSUB,
                                  unsubscribe_secret=SECRET)  # fmt: skip
        result = send(sqlite_engine, run=run, channels={"email": channel},
                      policy=SendPolicy(production=True))  # fmt: skip
    before = [r for r in sg.requests if r.at < reset]
    assert len(before) == 1 and before[0].status == 429  # the one that told us to wait
    assert result.sent == 20 and sg.landed_per_key() == {s.key: 1 for s in seeded}
    with sqlite_engine.connect() as conn:
        states = set(conn.execute(select(schema.send_ledger.c.state)).scalars())
    assert states == {"sent"}
    print(f"\nT7: requests before reset={len(before)} (the 429), sent after={result.sent}, "
          f"dropped=0, first send {sg.requests[1].at - reset:+.2f} s after the reset")  # fmt: skip
