"""The send ledger and the file channel."""

from __future__ import annotations

import email
from email import policy

from sqlalchemy import select

from notify import ledger
from notify.channels.base import OutboundMessage
from notify.channels.file import FileChannel
from notify.store import schema


def _claim(engine, key, run):
    return ledger.claim(engine, key=key, notice_id="n_1", channel="email",
                        recipient="ana@example.com", provider="file", run_id=run)  # fmt: skip


def test_only_one_claim_wins_and_a_sent_key_is_never_claimed_again(engine):
    key = ledger.send_key("C1", "n_1", "email", "v1")
    first, second = _claim(engine, key, "run-a"), _claim(engine, key, "run-b")
    assert (first.won, second.won, second.state) == (True, False, "sending")
    ledger.settle(engine, key=key, state="sent", provider_message_id="m1")
    again = _claim(engine, key, "run-c")
    assert (again.won, again.state) == (False, "sent")
    with engine.connect() as conn:
        row = conn.execute(select(schema.send_ledger)).one()
    assert (row.attempts, row.first_run_id, row.provider_message_id) == (1, "run-a", "m1")
    assert row.recipient_hash != "ana@example.com"


def test_an_unknown_outcome_is_not_resent(engine):
    key = ledger.send_key("C1", "n_2", "sms", "v1")
    assert _claim(engine, key, "run-a").won
    ledger.settle(engine, key=key, state="unknown", error="timeout after request")
    assert not _claim(engine, key, "run-b").won


def test_keys_differ_by_channel_and_template_version():
    keys = {ledger.send_key("C1", "n_1", ch, v) for ch in ("email", "sms") for v in ("a", "b")}
    assert len(keys) == 4


def test_file_channel_writes_a_readable_email_and_sms(tmp_path):
    channel = FileChannel(tmp_path, "updates@example.com", "Shop")
    mail = OutboundMessage("k", "n_1", "manual__2026-11-20T10:00:00+00:00", "email",
                           "ana@example.com", "Order O1 is late", "<p>Hi Ana</p>", "Hi Ana")  # fmt: skip
    outcome = channel.send(mail)
    assert outcome.state == "sent" and outcome.path
    parsed = email.message_from_bytes(open(outcome.path, "rb").read(), policy=policy.default)
    assert parsed["Subject"] == "Order O1 is late"
    assert parsed["X-Oasis-Notice-Id"] == "n_1"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hi Ana"
    assert "manual__2026-11-20T10_00_00_00_00" in outcome.path
    sms = channel.send(OutboundMessage("k2", "n_1", "r", "sms", "+13125550101", None, None, "Hi"))
    assert open(sms.path, encoding="utf-8").read().endswith("Hi\n")
