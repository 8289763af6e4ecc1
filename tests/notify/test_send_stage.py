"""The send stage against loopback SendGrid and Twilio: ledger, faults, suppressions, safety."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from notify import feedback, ledger, suppressions
from notify.channels.sendgrid_mail import SendGridChannel
from notify.channels.twilio_sms import TwilioSmsChannel
from notify.provider_webhooks import ProviderWebhookConfig
from notify.stages.send import SendPolicy, send
from notify.store import schema
from tests.notify.delivery_fixtures import (
    email_of,
    ledger_states,
    phone_of,
    seed_run,
    send_decisions,
)
from tests.notify.test_channels import SECRET, UNSUB, sendgrid_settings, twilio_settings
from tests.provider_stubs import Fault, SendGridStub, TwilioStub, twilio_error

PROD = SendPolicy(production=True, circuit_failures=5)


def _sendgrid(stub, **kw):
    return SendGridChannel(sendgrid_settings(stub.base_url, **kw), unsubscribe_url=UNSUB,
                           unsubscribe_secret=SECRET)  # fmt: skip


def _twilio(stub, **kw):
    return TwilioSmsChannel(twilio_settings(stub.base_url, **kw),
                            status_callback_url="https://hooks.example.com/webhooks/twilio/status")  # fmt: skip


def _by_reason(engine, run_id):
    return {(n, c): (d, r) for n, c, d, r in send_decisions(engine, run_id)}


def test_every_published_message_is_sent_once_and_a_rerun_tells_the_same_story(engine):
    run, seeded = seed_run(engine, "run-a", 6, channels=("email", "sms"))
    with SendGridStub() as sg, TwilioStub() as tw:
        channels = {"email": _sendgrid(sg), "sms": _twilio(tw)}
        first = send(engine, run=run, channels=channels, policy=PROD)
        again = send(engine, run=run, channels=channels, policy=PROD)
    assert (first.sent, again.sent, again.resumed) == (12, 0, 12)
    assert sg.landed_per_key() + tw.landed_per_key() == {s.key: 1 for s in seeded}
    assert set(ledger_states(engine).values()) == {"sent"}
    assert [d for _, _, d, _ in send_decisions(engine, "run-a")] == ["sent"] * 12


def test_another_run_with_the_same_notices_sends_nothing(engine):
    run, _ = seed_run(engine, "run-a", 3)
    later, _ = seed_run(engine, "run-b", 3)
    with SendGridStub() as sg:
        send(engine, run=run, channels={"email": _sendgrid(sg)}, policy=PROD)
        result = send(engine, run=later, channels={"email": _sendgrid(sg)}, policy=PROD)
    assert (result.sent, result.already_sent, sg.count()) == (0, 3, 3)
    assert {r for _, _, _, r in send_decisions(engine, "run-b")} == {
        "ledger: already sent; not sent again"
    }


def test_dry_run_defers_everything_without_any_provider(engine):
    run, _ = seed_run(engine, "run-a", 3, mode="dry_run")
    result = send(engine, run=run, channels={}, policy=PROD)
    assert result.deferred == 3 and ledger_states(engine) == {}


# -- non-production safety (case 33) ------------------------------------------------------


def test_outside_production_only_allow_listed_recipients_are_reached(engine):
    run, _ = seed_run(engine, "run-a", 8, channels=("email", "sms"))
    policy = SendPolicy(production=False,
                        allowed_recipients=(email_of(2), "@qa.example.org", phone_of(5)))  # fmt: skip
    with SendGridStub() as sg, TwilioStub() as tw:
        result = send(engine, run=run, channels={"email": _sendgrid(sg), "sms": _twilio(tw)},
                      policy=policy)  # fmt: skip
    reached = {r.json()["personalizations"][0]["to"][0]["email"] for r in sg.requests}
    reached |= {r.form()["To"] for r in tw.requests}
    assert reached == {email_of(2), phone_of(5)}
    assert (result.sent, result.suppressed) == (2, 14)
    reasons = _by_reason(engine, "run-a")
    assert reasons[("n_00003", "sms")][0] == "suppressed"
    assert "OASIS_ALLOWED_RECIPIENTS" in reasons[("n_00003", "sms")][1]
    assert len(ledger_states(engine)) == 2  # nothing claimed for the refused ones


def test_sendgrid_sandbox_mode_may_be_reached_outside_production(engine):
    run, _ = seed_run(engine, "run-a", 3)
    policy = SendPolicy(production=False, sandboxed=frozenset({"sendgrid"}))
    with SendGridStub() as sg:
        result = send(engine, run=run, channels={"email": _sendgrid(sg, sandbox_mode=True)},
                      policy=policy)  # fmt: skip
    assert result.sent == 3 and sg.landed_per_key() == {}
    assert all(r.json()["mail_settings"]["sandbox_mode"]["enable"] for r in sg.requests)


def test_non_production_with_production_data_makes_zero_external_sends(
    engine, monkeypatch, tmp_path
):
    """Case 33 through the real configuration: providers configured, environment not prod."""
    from notify import pipeline

    seed_run(engine, "run-a", 5, channels=("email", "sms"))
    with SendGridStub() as sg, TwilioStub() as tw:
        for name, value in {
            "OASIS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "OASIS_HOME": str(tmp_path), "OASIS_ENVIRONMENT": "staging",
            "OASIS_EMAIL_PROVIDER": "sendgrid", "OASIS_SMS_PROVIDER": "twilio",
            "OASIS_SENDGRID_API_KEY": "SG.test-key", "OASIS_SENDGRID_HOST": sg.base_url,
            "OASIS_TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "OASIS_TWILIO_AUTH_TOKEN": "tw-test-token",
            "OASIS_TWILIO_BASE_URL": tw.base_url, "OASIS_TWILIO_FROM": "+15005550006",
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        result = pipeline.send_step("run-a")
    assert (sg.count(), tw.count()) == (0, 0)
    assert result["suppressed"] == 10 and result["sent"] == 0


# -- suppressions and consent at send time ------------------------------------------------


def test_a_suppressed_recipient_is_skipped_with_the_reason(engine):
    run, _ = seed_run(engine, "run-a", 3, channels=("sms",))
    with engine.begin() as conn:
        suppressions.record(conn, channel="sms", recipient_hash=ledger.recipient_hash(phone_of(1)),
                            kind="opt_out", active=True, source="twilio_inbound",
                            reason="replied STOP", changed_at=datetime.now(UTC))  # fmt: skip
    with TwilioStub() as tw:
        result = send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
    assert {r.form()["To"] for r in tw.requests} == {phone_of(0), phone_of(2)}
    decision, reason = _by_reason(engine, "run-a")[("n_00001", "sms")]
    assert decision == "suppressed" and "opt_out (twilio_inbound" in reason
    assert result.suppressed == 1


def test_a_stop_arriving_mid_batch_is_honoured(engine):
    """STOP for recipient 7 arrives (through the signed webhook) while 2 is being sent."""
    from notify import web

    token = "tw-test-token"
    run, _ = seed_run(engine, "run-a", 10, channels=("sms",))
    app = web.create_app(database_url=engine.url.render_as_string(hide_password=False),
                         secrets={}, providers=ProviderWebhookConfig(twilio_auth_token=token))  # fmt: skip
    client = TestClient(app)
    url = "http://testserver/webhooks/twilio/inbound"
    form = {"MessageSid": "SMin0001", "From": phone_of(7), "To": "+15005550006", "Body": " stop "}
    signature = RequestValidator(token).compute_signature(url, form)

    def stop_when_two_is_answered(rec):
        if rec.form()["To"] == phone_of(2):
            answer = client.post(url, data=form, headers={"X-Twilio-Signature": signature})
            assert answer.status_code == 200

    with TwilioStub() as tw:
        tw.after_response = stop_when_two_is_answered
        result = send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
    reached = [r.form()["To"] for r in tw.requests]
    assert phone_of(7) not in reached and len(reached) == 9
    assert _by_reason(engine, "run-a")[("n_00007", "sms")][0] == "suppressed"
    assert result.sent == 9


# -- freshness ------------------------------------------------------------------------------


def test_facts_that_waited_too_long_expire_instead_of_going_out_late(engine):
    run, _ = seed_run(engine, "run-a", 3)
    with SendGridStub() as sg:
        result = send(engine, run=run, channels={"email": _sendgrid(sg)},
                      policy=SendPolicy(production=True, max_wait=timedelta(0)))  # fmt: skip
    assert (result.expired, sg.count()) == (3, 0)
    assert all(r.startswith("expired:") for _, _, _, r in send_decisions(engine, "run-a"))


def test_a_notice_whose_episode_closed_after_its_facts_expires(engine):
    as_of = datetime(2026, 11, 20, 10, tzinfo=UTC)
    run, _ = seed_run(engine, "run-a", 2, as_of=as_of)
    with engine.begin() as conn:
        for i, closed in enumerate([as_of + timedelta(hours=2), None]):
            conn.execute(schema.delay_episodes.insert().values(
                episode_id=f"e{i}", carrier="ups", tracking_number=f"1Z{i}", kind="late",
                cause="weather", opened_at=as_of - timedelta(days=1), updated_at=as_of,
                closed_at=closed, close_reason="delivered" if closed else None, version=1,
                facts_hash="h", evidence="[]"))  # fmt: skip
            conn.execute(schema.notice_parcels.insert().values(
                notice_id=f"n_0000{i}", order_id=f"O{i}", shipment_id=f"S{i}",
                episode_id=f"e{i}"))  # fmt: skip
    with SendGridStub() as sg:
        result = send(engine, run=run, channels={"email": _sendgrid(sg)}, policy=PROD)
    assert (result.expired, result.sent) == (1, 1)
    assert _by_reason(engine, "run-a")[("n_00000", "email")][1].startswith("expired: a delay")


# -- provider faults ------------------------------------------------------------------------


def test_sendgrid_400_fails_that_message_only(engine):
    run, seeded = seed_run(engine, "run-a", 5)
    with SendGridStub() as sg:
        sg.faults = lambda rec: Fault(400, body={"errors": [{"message": "Invalid to"}]}) if (
            rec.key == seeded[2].key) else None  # fmt: skip
        result = send(engine, run=run, channels={"email": _sendgrid(sg)}, policy=PROD)
    assert (result.sent, result.failed) == (4, 1)
    states = ledger_states(engine)
    assert states[seeded[2].key] == "failed_permanent"
    decision, reason = _by_reason(engine, "run-a")[("n_00002", "email")]
    assert decision == "blocked" and "400" in reason


def test_t8_credentials_refused_stop_the_run_after_one_request_and_alert(
    engine, monkeypatch, tmp_path
):
    from notify import pipeline

    run, seeded = seed_run(engine, "run-a", 20)
    with SendGridStub(api_key="SG.the-real-key") as sg:
        result = send(engine, run=run, channels={"email": _sendgrid(sg)}, policy=PROD)
        assert sg.count() == 1 and result.alert
        assert result.stopped.startswith("ALERT credentials refused: sendgrid answered 401")
        assert ledger_states(engine) == {seeded[0].key: "pending"}  # not taken: may go later
        for name, value in {
            "OASIS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "OASIS_HOME": str(tmp_path), "OASIS_ENVIRONMENT": "production",
            "OASIS_EMAIL_PROVIDER": "sendgrid", "OASIS_SENDGRID_API_KEY": "SG.test-key",
            "OASIS_SENDGRID_HOST": sg.base_url, "OASIS_UNSUBSCRIBE_SECRET": SECRET,
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        with pytest.raises(pipeline.SendHalted, match="OASIS_SENDGRID_API_KEY"):
            pipeline.send_step("run-a")  # the failed task is the alert
        assert sg.count() == 2
        monkeypatch.setenv("OASIS_SENDGRID_API_KEY", "SG.the-real-key")
        fixed = pipeline.send_step("run-a")
    assert fixed["sent"] == 20 and sg.landed_per_key() == {s.key: 1 for s in seeded}


def test_t7_sendgrid_429_waits_for_the_reset_and_drops_nothing(engine):
    run, seeded = seed_run(engine, "run-a", 6)
    reset = int(time.time()) + 2
    with SendGridStub() as sg:
        sg.faults = lambda rec: Fault(429, headers={"X-RateLimit-Reset": str(reset)},
                                      body={"errors": [{"message": "too many"}]}) if (
            sg.count() == 0) else None  # fmt: skip
        result = send(engine, run=run, channels={"email": _sendgrid(sg)}, policy=PROD)
    first, rest = sg.requests[0], sg.requests[1:]
    assert first.status == 429 and all(r.at >= reset for r in rest)
    assert result.sent == 6 and sg.landed_per_key() == {s.key: 1 for s in seeded}


def test_a_rate_limit_longer_than_the_run_may_wait_leaves_the_rest_pending(engine):
    run, _ = seed_run(engine, "run-a", 4)
    reset = int(time.time()) + 3600
    with SendGridStub() as sg:
        sg.faults = lambda rec: Fault(429, headers={"X-RateLimit-Reset": str(reset)})
        result = send(engine, run=run, channels={"email": _sendgrid(sg)}, policy=PROD)
    assert sg.count() == 1 and result.deferred == 4 and "rate limited" in result.stopped
    with engine.connect() as conn:
        row = conn.execute(select(schema.send_ledger)).one()
    assert row.state == "pending" and row.not_before == datetime.fromtimestamp(reset, UTC)


def test_twilio_20429_backs_off_and_then_sends_once(engine):
    run, seeded = seed_run(engine, "run-a", 2, channels=("sms",))
    with TwilioStub() as tw:
        tw.faults = lambda rec: Fault(429, body=twilio_error(20429, 429)) if (
            tw.count() < 2) else None  # fmt: skip
        result = send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
    assert result.sent == 2 and tw.count() == 4
    assert tw.requests[1].at - tw.requests[0].at >= 0.9  # backed off, 1 s then 2 s
    assert tw.landed_per_key() == {s.key: 1 for s in seeded}


def test_twilio_21610_stores_an_opt_out_and_is_never_retried(engine):
    run, seeded = seed_run(engine, "run-a", 2, channels=("sms",))
    with TwilioStub() as tw:
        tw.faults = lambda rec: Fault(400, body=twilio_error(21610)) if (
            rec.form()["To"] == phone_of(0)) else None  # fmt: skip
        first = send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
        later, _ = seed_run(engine, "run-b", 1, channels=("sms",), template_version="tv2")
        second = send(engine, run=later, channels={"sms": _twilio(tw)}, policy=PROD)
    assert (first.failed, first.sent) == (1, 1)
    assert ledger_states(engine)[seeded[0].key] == "failed_permanent"
    assert second.suppressed == 1 and tw.count() == 2  # the new notice did not go out
    assert "opt_out (twilio_api" in _by_reason(engine, "run-b")[("n_00000", "sms")][1]


def test_twilio_21211_marks_the_number_invalid(engine):
    run, _ = seed_run(engine, "run-a", 1, channels=("sms",))
    with TwilioStub() as tw:
        tw.faults = lambda rec: Fault(400, body=twilio_error(21211))
        send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
    assert suppressions.active(engine, "sms", phone_of(0)).startswith("invalid_number")


def test_circuit_breaker_stops_calling_a_provider_that_answers_5xx(engine):
    run, _ = seed_run(engine, "run-a", 20)
    with SendGridStub() as sg:
        sg.faults = lambda rec: Fault(503, landed=True)
        result = send(engine, run=run, channels={"email": _sendgrid(sg)}, policy=PROD)
    assert sg.count() == 5 and result.alert and "circuit open" in result.stopped
    assert (result.unknown, result.deferred) == (5, 15)
    assert sorted(ledger_states(engine).values()) == ["unknown"] * 5  # the rest never claimed


def test_a_provider_down_keeps_the_backlog_which_expires_if_it_waits_too_long(engine):
    import socket

    run, seeded = seed_run(engine, "run-a", 12)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}"
    channel = SendGridChannel(sendgrid_settings(down), unsubscribe_url=UNSUB,
                              unsubscribe_secret=SECRET)  # fmt: skip
    result = send(engine, run=run, channels={"email": channel}, policy=PROD)
    assert "circuit open" in result.stopped and result.deferred == 12
    assert set(ledger_states(engine).values()) == {"pending"}  # refused: nothing can have landed
    with SendGridStub() as sg:  # back within the wait limit: the backlog goes, once each
        back = send(engine, run=run, channels={"email": _sendgrid(sg)}, policy=PROD)
    assert back.sent == 12 and sg.landed_per_key() == {s.key: 1 for s in seeded}

    later, _ = seed_run(engine, "run-b", 4, start=100)
    send(engine, run=later, channels={"email": channel}, policy=PROD)
    with SendGridStub() as sg:  # back only after the facts went stale
        stale = send(engine, run=later, channels={"email": _sendgrid(sg)},
                     policy=SendPolicy(production=True, max_wait=timedelta(seconds=0)))  # fmt: skip
    assert (stale.expired, sg.count()) == (4, 0)


def test_shards_split_the_work_and_together_send_everything_once(engine):
    run, seeded = seed_run(engine, "run-a", 30, channels=("email", "sms"))
    with SendGridStub() as sg, TwilioStub() as tw:
        channels = {"email": _sendgrid(sg), "sms": _twilio(tw)}
        results = [send(engine, run=run, channels=channels, policy=PROD, shard=i, shards=4,
                        channel=ch) for ch in ("email", "sms") for i in range(4)]  # fmt: skip
    assert all(r.sent > 0 for r in results) and sum(r.sent for r in results) == 60
    assert sg.landed_per_key() + tw.landed_per_key() == {s.key: 1 for s in seeded}
    assert len(send_decisions(engine, "run-a")) == 60


def test_the_rate_limit_spaces_requests(engine):
    run, _ = seed_run(engine, "run-a", 8)
    with SendGridStub() as sg:
        send(engine, run=run, channels={"email": _sendgrid(sg)},
             policy=SendPolicy(production=True, rates={"sendgrid": 20.0}))  # fmt: skip
    span = sg.requests[-1].at - sg.requests[0].at
    assert span >= 7 * 0.05 * 0.9


# -- the ledger's recovery paths --------------------------------------------------------------


def test_sweep_moves_a_dead_workers_sending_keys_to_unknown_and_leaves_live_ones(engine):
    now = datetime.now(UTC)
    for key, worker in (("dead", "thishost:1:1.000"), ("live", ledger.worker_token())):
        ledger.claim(engine, key=key, notice_id="n", channel="email", recipient="a@b.c",
                     provider="sendgrid", run_id="r", worker=worker)  # fmt: skip
    with engine.begin() as conn:
        import socket

        conn.execute(update(schema.send_ledger).where(schema.send_ledger.c.send_key == "dead")
                     .values(worker=f"{socket.gethostname()}:999999:1.000"))  # fmt: skip
    assert ledger.sweep(engine, lease=timedelta(minutes=5), now=now) == 1
    assert ledger_states(engine) == {"dead": "unknown", "live": "sending"}


def test_unknown_keys_are_released_only_when_the_provider_stream_is_demonstrably_live(engine):
    for key in ("silent", "heard"):
        ledger.claim(engine, key=key, notice_id="n", channel="email", recipient="a@b.c",
                     provider="sendgrid", run_id="r")  # fmt: skip
        ledger.settle(engine, key=key, state="unknown", error="timeout")
    later = datetime.now(UTC) + timedelta(hours=1)
    assert ledger.release_unconfirmed(engine, older_than=timedelta(hours=1), now=later) == 0
    ledger.claim(engine, key="after", notice_id="n2", channel="email", recipient="b@b.c",
                 provider="sendgrid", run_id="r")  # fmt: skip
    ledger.settle(engine, key="after", state="sent", provider_message_id="m-after")
    with engine.begin() as conn:
        conn.execute(schema.provider_events.insert().values(
            provider="sendgrid", dedupe_key="d1", send_key="after", event="delivered",
            occurred_at=later, received_at=later, effect="status delivered"))  # fmt: skip
        conn.execute(schema.provider_events.insert().values(
            provider="sendgrid", dedupe_key="d2", send_key="heard", event="processed",
            occurred_at=later, received_at=later, effect="x"))  # fmt: skip
    webhook_later = datetime.now(UTC) + timedelta(hours=3)
    assert ledger.release_unconfirmed(engine, older_than=timedelta(hours=1),
                                      now=webhook_later) == 1  # fmt: skip
    assert ledger_states(engine)["silent"] == "pending"
    assert ledger_states(engine)["heard"] == "unknown"


def test_twilio_30003_gets_one_delayed_retry_and_no_second(engine):
    run, seeded = seed_run(engine, "run-a", 1, channels=("sms",))
    key = seeded[0].key
    with TwilioStub() as tw:
        send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
        first_sid = tw.requests[0].message_id
        now = datetime.now(UTC)
        undelivered = {"MessageSid": first_sid, "MessageStatus": "undelivered",
                       "ErrorCode": "30003", "To": phone_of(0)}  # fmt: skip
        feedback.twilio_status(engine, undelivered, send_key=key, webhook_id=None, now=now,
                               retry_delay=timedelta(seconds=1))  # fmt: skip
        assert ledger_states(engine)[key] == "pending"
        early = send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
        assert early.deferred == 1 and tw.count() == 1  # not before the delay
        time.sleep(1.1)
        retried = send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
        assert retried.sent == 1 and tw.count() == 2
        second_sid = tw.requests[1].message_id
        undelivered["MessageSid"] = second_sid
        applied = feedback.twilio_status(engine, undelivered, send_key=key, webhook_id=None,
                                         now=now, retry_delay=timedelta(seconds=1))  # fmt: skip
        time.sleep(1.1)
        third = send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
    assert "no retry" in applied.effects[0] and ledger_states(engine)[key] == "sent"
    assert third.sent == 0 and tw.count() == 2


def test_twilio_30006_is_not_retried_and_marks_the_number_unreachable(engine):
    run, seeded = seed_run(engine, "run-a", 1, channels=("sms",))
    with TwilioStub() as tw:
        send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
        feedback.twilio_status(engine, {"MessageSid": tw.requests[0].message_id,
                                        "MessageStatus": "failed", "ErrorCode": "30006",
                                        "To": phone_of(0)}, send_key=seeded[0].key,
                               webhook_id=None, now=datetime.now(UTC),
                               retry_delay=timedelta(0))  # fmt: skip
        again = send(engine, run=run, channels={"sms": _twilio(tw)}, policy=PROD)
    assert ledger_states(engine)[seeded[0].key] == "sent" and tw.count() == 1
    assert again.sent == 0
    assert suppressions.active(engine, "sms", phone_of(0)).startswith("unreachable")


def test_an_unforeseen_channel_fault_leaves_the_key_unknown_and_stops_the_run(engine, tmp_path):
    from notify.channels.file import FileChannel

    run, seeded = seed_run(engine, "run-a", 3)
    not_a_folder = tmp_path / "outbox"
    not_a_folder.write_text("a file where the outbox folder should be")
    channel = FileChannel(not_a_folder, "updates@example.com", "Shop")
    result = send(engine, run=run, channels={"email": channel}, policy=PROD)
    assert result.alert and "unexpected" in result.stopped and result.unknown == 1
    assert ledger_states(engine) == {seeded[0].key: "unknown"}
    assert [d for _, _, d, _ in send_decisions(engine, "run-a")] == ["deferred"]
