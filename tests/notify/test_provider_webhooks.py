"""The way back: SendGrid events and Twilio callbacks through ``oasis serve``'s app.

SendGrid bodies are signed with a real ECDSA P-256 key made here; Twilio requests carry a
real ``X-Twilio-Signature``. Valid, tampered, replayed, stale and out-of-order deliveries.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from notify import ledger, suppressions, unsubscribe, web
from notify.channels.sendgrid_mail import SendGridChannel
from notify.channels.twilio_sms import TwilioSmsChannel
from notify.provider_webhooks import ProviderWebhookConfig
from notify.stages.send import SendPolicy, send
from notify.store import schema
from tests.notify.delivery_fixtures import email_of, ledger_states, phone_of, seed_run
from tests.notify.test_channels import SECRET, UNSUB, sendgrid_settings, twilio_settings
from tests.provider_stubs import SendGridSigner, SendGridStub, TwilioStub

TOKEN = "tw-test-token"
SIGNER = SendGridSigner()
PROD = SendPolicy(production=True)
STATUS_URL = "https://hooks.example.com/webhooks/twilio/status"
INBOUND_URL = "https://hooks.example.com/webhooks/twilio/inbound"


def _client(engine, clock=None, **kw) -> TestClient:
    config = ProviderWebhookConfig(sendgrid_public_key=SIGNER.public_key, twilio_auth_token=TOKEN,
                                   public_base_url="https://hooks.example.com",
                                   unsubscribe_secret=SECRET, help_text="Shop updates. Help: "
                                   "support@example.com. Reply STOP to opt out.", **kw)  # fmt: skip
    url = engine.url.render_as_string(hide_password=False)
    return TestClient(web.create_app(database_url=url, secrets={}, providers=config, clock=clock))


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _status(engine, key):
    t = schema.message_status
    with engine.connect() as conn:
        return conn.execute(select(t.c.status, t.c.updated_at).where(t.c.send_key == key)).first()


def _post_events(client, events, *, timestamp=None, headers=None):
    body = json.dumps(events).encode()
    return client.post("/webhooks/sendgrid", content=body,
                       headers=headers or SIGNER.headers(body, timestamp))  # fmt: skip


def _sent_by_sendgrid(engine, count=2, run_id="run-a", start=0, version="tv1"):
    run, seeded = seed_run(engine, run_id, count, start=start, template_version=version)
    stub = SendGridStub()
    with stub:
        channel = SendGridChannel(sendgrid_settings(stub.base_url), unsubscribe_url=UNSUB,
                                  unsubscribe_secret=SECRET)  # fmt: skip
        send(engine, run=run, channels={"email": channel}, policy=PROD)
    return stub, seeded


# -- SendGrid Event Webhook -------------------------------------------------------------------


def test_signed_events_reconcile_an_unknown_key_and_move_its_status(engine):
    stub, seeded = _sent_by_sendgrid(engine, 1)
    key = seeded[0].key
    with engine.begin() as conn:  # as if the 202 had been lost on the way back
        conn.execute(schema.send_ledger.update().values(state="unknown"))
    answer = _post_events(_client(engine), stub.events_for(stub.requests[0], "processed",
                                                           "delivered"))  # fmt: skip
    assert answer.status_code == 200
    assert answer.json() == {"accepted": True, "events": 2, "new": 2, "duplicates": 0}
    assert ledger_states(engine) == {key: "sent"}
    assert _status(engine, key).status == "delivered"
    t = schema.provider_webhooks
    assert _count(engine, t, t.c.status == "accepted", t.c.provider == "sendgrid") == 1


def test_t5_the_same_event_replayed_46_times_changes_state_once(engine):
    stub, seeded = _sent_by_sendgrid(engine, 1)
    client = _client(engine)
    events = stub.events_for(stub.requests[0], "delivered")
    body = json.dumps(events).encode()
    headers = SIGNER.headers(body)
    answers = [client.post("/webhooks/sendgrid", content=body, headers=headers)
               for _ in range(46)]  # fmt: skip
    assert [a.status_code for a in answers] == [200] * 46
    assert [a.json()["new"] for a in answers] == [1] + [0] * 45
    first_change = _status(engine, seeded[0].key)
    # a retry whose sg_event_id changed, signed again later: still the same event
    events[0]["sg_event_id"] = "a-new-id-for-the-same-event"
    again = _post_events(client, events)
    assert again.json()["duplicates"] == 1
    assert _count(engine, schema.provider_events) == 1
    assert _status(engine, seeded[0].key) == first_change
    w = schema.provider_webhooks
    with engine.connect() as conn:
        assert conn.execute(select(func.max(w.c.times_received))).scalar_one() == 46


@pytest.mark.parametrize("case", ["unsigned", "tampered", "other_key", "stale", "future",
                                  "garbage_signature"])  # fmt: skip
def test_t6_unsigned_badly_signed_or_stale_events_are_refused_without_effect(engine, case):
    stub, seeded = _sent_by_sendgrid(engine, 1)
    with engine.begin() as conn:
        conn.execute(schema.send_ledger.update().values(state="unknown"))
    events = stub.events_for(stub.requests[0], "unsubscribe")
    body = json.dumps(events).encode()
    clock = datetime.now(UTC).replace(microsecond=0)
    now = int(clock.timestamp())
    headers = {
        "unsigned": {},
        "tampered": SIGNER.headers(body.replace(b"unsubscribe", b"processed__")),
        "other_key": SendGridSigner().headers(body),
        "stale": SIGNER.headers(body, now - 301),
        "future": SIGNER.headers(body, now + 301),
        "garbage_signature": {**SIGNER.headers(body),
                              "X-Twilio-Email-Event-Webhook-Signature": "not base64!"},
    }[case]  # fmt: skip
    answer = _client(engine, clock=lambda: clock).post("/webhooks/sendgrid", content=body,
                                                       headers=headers)  # fmt: skip
    assert 400 <= answer.status_code < 500
    assert answer.json()["reason"] == {"unsigned": "missing_signature", "stale": "stale",
                                       "future": "stale"}.get(case, "bad_signature")  # fmt: skip
    assert _count(engine, schema.provider_events) == 0
    assert _count(engine, schema.suppressions) == 0
    assert _count(engine, schema.message_status) == 0
    assert ledger_states(engine) == {seeded[0].key: "unknown"}
    w = schema.provider_webhooks
    assert _count(engine, w, w.c.status == "rejected") == 1  # kept, with its reason


def test_the_freshness_window_is_300_seconds_either_way(engine):
    stub, _ = _sent_by_sendgrid(engine, 1)
    now = datetime.now(UTC).replace(microsecond=0)
    client = _client(engine, clock=lambda: now)
    events = stub.events_for(stub.requests[0], "processed")
    for offset, status in ((-301, 401), (301, 401), (-300, 200), (300, 200)):
        answer = _post_events(client, events, timestamp=int(now.timestamp()) + offset)
        assert answer.status_code == status, offset


def test_statuses_only_move_forward_when_events_arrive_out_of_order(engine):
    stub, seeded = _sent_by_sendgrid(engine, 1)
    client = _client(engine)
    rec = stub.requests[0]
    now = int(time.time())
    assert _post_events(client, stub.events_for(rec, "delivered", at=now)).status_code == 200
    _post_events(client, stub.events_for(rec, "processed", at=now - 5))
    _post_events(client, stub.events_for(rec, "deferred", at=now - 3))
    assert _status(engine, seeded[0].key).status == "delivered"
    _post_events(client, stub.events_for(rec, "open", at=now + 60))
    assert _status(engine, seeded[0].key).status == "open"
    t = schema.provider_events
    with engine.connect() as conn:
        effects = dict(conn.execute(select(t.c.event, t.c.effect)).all())
    assert "ignored (not newer)" in effects["processed"]


def test_unsubscribe_bounce_and_spam_report_suppress_email_and_resubscribe_lifts(engine):
    stub, _ = _sent_by_sendgrid(engine, 3)
    client = _client(engine)
    now = int(time.time())
    r0, r1, r2 = stub.requests
    bounce = stub.events_for(r1, "bounce", at=now)
    bounce[0].update(type="bounce", reason="550 5.1.1 mailbox does not exist", status="5.1.1")
    _post_events(client, stub.events_for(r0, "group_unsubscribe", at=now) + bounce
                 + stub.events_for(r2, "spamreport", at=now))  # fmt: skip
    kinds = {
        i: (suppressions.active(engine, "email", email_of(i)) or "").split(" ")[0] for i in range(3)
    }
    assert kinds == {0: "unsubscribe", 1: "bounce", 2: "spam_report"}
    _post_events(client, stub.events_for(r0, "group_resubscribe", at=now - 60))  # older
    assert suppressions.active(engine, "email", email_of(0)) is not None
    _post_events(client, stub.events_for(r0, "group_resubscribe", at=now + 60))
    assert suppressions.active(engine, "email", email_of(0)) is None


def test_a_sendgrid_unsubscribe_in_one_run_suppresses_email_in_the_next(engine):
    stub, seeded = _sent_by_sendgrid(engine, 2)
    unsubscribed = next(r for r in stub.requests if r.key == seeded[1].key)
    assert (
        _post_events(_client(engine), stub.events_for(unsubscribed, "unsubscribe")).status_code
        == 200
    )
    later, _ = seed_run(engine, "run-b", 2, template_version="tv2")  # new words: new keys
    with SendGridStub() as again:
        channel = SendGridChannel(sendgrid_settings(again.base_url), unsubscribe_url=UNSUB,
                                  unsubscribe_secret=SECRET)  # fmt: skip
        result = send(engine, run=later, channels={"email": channel}, policy=PROD)
    reached = {r.json()["personalizations"][0]["to"][0]["email"] for r in again.requests}
    assert reached == {email_of(0)} and result.suppressed == 1


def test_unconfigured_endpoints_answer_503_naming_the_setting(sqlite_engine):
    url = sqlite_engine.url.render_as_string(hide_password=False)
    client = TestClient(web.create_app(database_url=url, secrets={}))
    answer = client.post("/webhooks/sendgrid", content=b"[]")
    assert answer.status_code == 503 and "OASIS_SENDGRID_WEBHOOK_PUBLIC_KEY" in answer.text
    answer = client.post("/webhooks/twilio/status", content=b"")
    assert answer.status_code == 503 and "OASIS_TWILIO_AUTH_TOKEN" in answer.text


# -- Twilio status callbacks --------------------------------------------------------------------


def _twilio_post(client, url, form, *, token=TOKEN, signature=None):
    signed = signature or RequestValidator(token).compute_signature(url, form)
    path = url.removeprefix("https://hooks.example.com")
    return client.post(path, data=form, headers={"X-Twilio-Signature": signed})


def _sent_by_twilio(engine, count=1, run_id="run-a", version="tv1"):
    run, seeded = seed_run(engine, run_id, count, channels=("sms",), template_version=version)
    with TwilioStub() as stub:
        channel = TwilioSmsChannel(twilio_settings(stub.base_url), status_callback_url=STATUS_URL)
        send(engine, run=run, channels={"sms": channel}, policy=PROD)
    return stub, seeded


def _callback(stub, i, status, code=None):
    rec = stub.requests[i]
    form = {"MessageSid": rec.message_id, "MessageStatus": status, "To": rec.form()["To"],
            "From": "+15005550006", "AccountSid": stub.account_sid, "ApiVersion": "2010-04-01"}  # fmt: skip
    if code:
        form["ErrorCode"] = code
    return rec.form()["StatusCallback"], form


def test_twilio_status_callbacks_are_verified_deduplicated_and_only_move_forward(engine):
    stub, seeded = _sent_by_twilio(engine)
    client = _client(engine)
    url, delivered = _callback(stub, 0, "delivered")
    assert _twilio_post(client, url, delivered).status_code == 204
    assert _twilio_post(client, url, delivered).status_code == 204  # replay
    url, sent = _callback(stub, 0, "sent")
    assert _twilio_post(client, url, sent).status_code == 204  # late, out of order
    assert _status(engine, seeded[0].key).status == "delivered"
    t = schema.provider_events
    assert _count(engine, t) == 2  # delivered once, sent once (ignored)
    tampered = dict(delivered, MessageStatus="failed")
    signature = RequestValidator(TOKEN).compute_signature(url, delivered)
    refused = _twilio_post(client, url, tampered, signature=signature)
    assert refused.status_code == 401 and refused.json()["reason"] == "bad_signature"
    wrong_token = _twilio_post(client, url, delivered, token="someone-else")
    assert wrong_token.status_code == 401
    unsigned = client.post(url.removeprefix("https://hooks.example.com"), data=delivered)
    assert unsigned.status_code == 401 and unsigned.json()["reason"] == "missing_signature"
    assert _count(engine, t) == 2 and _status(engine, seeded[0].key).status == "delivered"


def test_a_callback_reconciles_an_unknown_twilio_send(engine):
    stub, _ = _sent_by_twilio(engine)
    with engine.begin() as conn:
        conn.execute(schema.send_ledger.update().values(state="unknown", provider_message_id=None))
    url, queued = _callback(stub, 0, "queued")
    assert _twilio_post(_client(engine), url, queued).status_code == 204
    with engine.connect() as conn:
        row = conn.execute(select(schema.send_ledger)).one()
    assert (row.state, row.provider_message_id) == ("sent", stub.requests[0].message_id)


def test_a_30003_callback_schedules_one_delayed_retry(engine):
    stub, _ = _sent_by_twilio(engine)
    url, undelivered = _callback(stub, 0, "undelivered", "30003")
    assert _twilio_post(_client(engine), url, undelivered).status_code == 204
    with engine.connect() as conn:
        row = conn.execute(select(schema.send_ledger)).one()
    assert row.state == "pending" and row.retries == 1
    assert row.not_before > datetime.now(UTC) + timedelta(minutes=29)


# -- Twilio inbound replies -----------------------------------------------------------------------


def _inbound(client, number, body, sid):
    form = {"MessageSid": sid, "From": number, "To": "+15005550006", "Body": body,
            "AccountSid": "AC" + "0" * 32}  # fmt: skip
    return _twilio_post(client, INBOUND_URL, form)


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop ", "s t o p", "STOP.", "Unsubscribe",
                                  "end", "QUIT", "cancel", "OptOut", "revoke", "stopall",
                                  "STOP ALL"])  # fmt: skip
def test_opt_out_words_in_any_case_and_spacing(sqlite_engine, body):
    answer = _inbound(_client(sqlite_engine), phone_of(1), body, "SMin1")
    assert answer.status_code == 200 and "<Message>" not in answer.text
    assert suppressions.active(sqlite_engine, "sms", phone_of(1)).startswith("opt_out")


def test_start_opts_back_in_help_answers_and_other_text_changes_nothing(engine):
    client = _client(engine)
    _inbound(client, phone_of(1), "STOP", "SMin1")
    other = _inbound(client, phone_of(1), "where is my parcel? stop sending me junk", "SMin2")
    assert suppressions.active(engine, "sms", phone_of(1)) is not None
    assert other.text.count("<Message>") == 0
    helped = _inbound(client, phone_of(1), " help ", "SMin3")
    assert helped.headers["content-type"].startswith("application/xml")
    assert "<Message>Shop updates. Help: support@example.com. Reply STOP to opt out.</Message>" in (
        helped.text)  # fmt: skip
    _inbound(client, phone_of(1), "Start", "SMin4")
    assert suppressions.active(engine, "sms", phone_of(1)) is None
    replay = _inbound(client, phone_of(1), "STOP", "SMin1")  # the old STOP delivered again
    assert replay.status_code == 200
    assert suppressions.active(engine, "sms", phone_of(1)) is None


def test_a_stop_reply_in_one_run_suppresses_sms_in_the_next(engine):
    _sent_by_twilio(engine, 2)
    assert _inbound(_client(engine), phone_of(0), "STOP", "SMreply1").status_code == 200
    later, _ = seed_run(engine, "run-b", 2, channels=("sms",), template_version="tv2")
    with TwilioStub() as again:
        channel = TwilioSmsChannel(twilio_settings(again.base_url), status_callback_url=STATUS_URL)
        result = send(engine, run=later, channels={"sms": channel}, policy=PROD)
    assert [r.form()["To"] for r in again.requests] == [phone_of(1)]
    assert result.suppressed == 1


# -- one-click unsubscribe --------------------------------------------------------------------------


def test_one_click_unsubscribe_suppresses_that_channel_and_a_get_changes_nothing(engine):
    _, seeded = _sent_by_sendgrid(engine, 1)
    client = _client(engine)
    path = "/unsubscribe/" + unsubscribe.token(seeded[0].key, SECRET)
    page = client.get(path)
    assert page.status_code == 200 and "<form" in page.text
    assert suppressions.active(engine, "email", email_of(0)) is None
    answer = client.post(path, content=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code == 200
    assert suppressions.active(engine, "email", email_of(0)).startswith("unsubscribe")
    forged = client.post("/unsubscribe/" + seeded[0].key + ".0123456789abcdef0123456789abcdef")
    assert forged.status_code == 404
    assert ledger.recipient_hash(email_of(0)) not in path


@pytest.mark.parametrize("body", [b"not json", b'{"event": "delivered"}',
                                  b'[{"event": "delivered", "timestamp": "yesterday"}]',
                                  b'[{"event": "delivered", "timestamp": 1}, {"timestamp": 2}]'])  # fmt: skip
def test_signed_but_malformed_event_bodies_are_refused_and_nothing_is_applied(sqlite_engine, body):
    answer = _client(sqlite_engine).post("/webhooks/sendgrid", content=body,
                                         headers=SIGNER.headers(body))  # fmt: skip
    assert answer.status_code == 400 and answer.json()["reason"] == "malformed"
    assert _count(sqlite_engine, schema.provider_events) == 0
    w = schema.provider_webhooks
    assert _count(sqlite_engine, w, w.c.status == "rejected") == 1
