"""Operations: backfills replay, stale news never leaves, a person decides about a halted
batch, and every run gets a report. Library runs over a simulated world and the carrier
sandbox, on SQLite and PostgreSQL (the DAG tasks make exactly these calls)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from notify import approvals, modes, pipeline, release
from notify.config import load_settings
from notify.runs import run_folder
from notify.store import schema
from tests.notify.pipelineworld import AFTER_GATE, UP_TO_GATE, later, run, use_store, world_fixture

pytestmark = pytest.mark.slow
ALL = UP_TO_GATE + AFTER_GATE
APPROVE = {
    "chosen_options": ["Approve"],
    "params_input": {"decision_reason": "storm week: volume expected"},
    "responded_by_user": {"id": "ops-1", "name": "Ops One"},
    "responded_at": datetime(2025, 11, 20, 5, tzinfo=UTC),
}
REJECT = {
    "chosen_options": ["Reject"],
    "params_input": {"decision_reason": "volume looks wrong"},
    "responded_by_user": {"id": "ops-2", "name": "Ops Two"},
    "responded_at": datetime(2025, 11, 20, 5, tzinfo=UTC),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    yield from world_fixture(tmp_path_factory, orders=1500, seed=11)


@pytest.fixture
def store(engine, tmp_path, monkeypatch):
    use_store(monkeypatch, engine, tmp_path / "home")
    return engine


def _decisions(engine, run_id):
    d = schema.decisions
    with engine.connect() as conn:
        return conn.execute(select(d).where(d.c.run_id == run_id)).all()


def _count(rows, decision):
    return sum(1 for r in rows if r.decision == decision)


def _ledger(engine, run_id=None):
    t = schema.send_ledger
    stmt = select(func.count()).select_from(t)
    if run_id:
        stmt = stmt.where(t.c.first_run_id == run_id)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def _summary(engine, run_id):
    with engine.connect() as conn:
        raw = conn.execute(
            select(schema.runs.c.summary).where(schema.runs.c.run_id == run_id)
        ).scalar_one()
    return json.loads(raw)


def _outbox_states(engine, run_id):
    ob = schema.outbox
    with engine.connect() as conn:
        rows = conn.execute(
            select(ob.c.state, func.count()).where(ob.c.run_id == run_id).group_by(ob.c.state)
        ).all()
    return {state: n for state, n in rows}


# --- modes -----------------------------------------------------------------------------


def test_a_backfill_is_replay_only_unless_its_conf_lets_it_send():
    assert modes.choose({}, "scheduled").mode == "send"
    assert modes.choose({"replay_only": True}, "manual").mode == "replay"
    assert modes.choose({"dry_run": True}, "manual").mode == "dry_run"
    forced = modes.choose({}, "backfill")
    assert forced.mode == "replay" and forced.params["replay_only"] is True
    assert any("backfill_may_send" in note for note in forced.notes)
    allowed = modes.choose({"backfill_may_send": True}, "backfill")
    assert allowed.mode == "send" and not allowed.notes
    assert modes.choose({"dry_run": True, "backfill_may_send": True}, "backfill").mode == "dry_run"


def test_a_backfill_never_polls_live_carrier_apis():
    assert modes.choose({"poll_carriers": True}, "manual").params["poll_carriers"] is True
    choice = modes.choose({"poll_carriers": True, "backfill_may_send": True}, "backfill")
    assert choice.params["poll_carriers"] is False
    assert any("carrier APIs" in note for note in choice.notes)


def test_a_backfill_run_records_decisions_and_a_report_and_sends_nothing(store, world):
    run("bf", world, world.demo_as_of, ALL, run_type="backfill")
    rows = _decisions(store, "bf")
    assert _count(rows, "deferred") > 0, "the world must give the backfill something to send"
    assert _count(rows, "sent") == 0
    assert _ledger(store) == 0
    report = json.loads((run_folder(load_settings().runs_dir, "bf") / "report.json").read_text())
    assert report["mode"] == "replay" and report["run_type"] == "backfill"
    assert report["decisions"]["deferred"] == _count(rows, "deferred")


def test_a_week_of_backfill_runs_records_decisions_and_reports_and_sends_nothing(
    sqlite_engine, world, tmp_path, monkeypatch
):
    """Seven moments a day apart, each as a backfill run would make it."""
    use_store(monkeypatch, sqlite_engine, tmp_path / "home")
    start = later(world.demo_as_of, days=-3)
    runs = [f"week-{day}" for day in range(7)]
    for day, run_id in enumerate(runs):
        run(run_id, world, later(start, days=day), ALL, run_type="backfill")
    reports = [json.loads((run_folder(load_settings().runs_dir, r) / "report.json").read_text())
               for r in runs]  # fmt: skip
    assert {r["mode"] for r in reports} == {"replay"}
    assert all(r["decisions"] for r in reports), "every day of the week has decisions"
    assert sum(r["decisions"].get("deferred", 0) for r in reports) > 0
    assert not any(r["decisions"].get("sent") for r in reports)
    assert _ledger(sqlite_engine) == 0
    assert all((run_folder(load_settings().runs_dir, r) / "report.html").exists() for r in runs)


# --- stale news --------------------------------------------------------------------------


def test_eta_passed_is_judged_in_the_customers_zone():
    facts = {
        "eta": {"earliest": "2025-11-19", "latest": "2025-11-20"},
        "timezone": "America/Chicago",
    }
    evening = datetime(2025, 11, 21, 4, tzinfo=UTC)  # 22:00 on the 20th in Chicago
    assert release._eta_passed(facts, evening) is None
    assert release._eta_passed(facts, datetime(2025, 11, 21, 7, tzinfo=UTC))[0] == "eta_passed"
    assert release._eta_passed({"eta": None, "timezone": "UTC"}, evening) is None


def _stale_facts(engine, notice_id, newer_run, horizon):
    """Independently of notify.release: what the store says against this notice."""
    np, s, ev = schema.notice_parcels, schema.shipments, schema.tracking_events
    ep, p, n = schema.delay_episodes, schema.eta_predictions, schema.notices
    found = []
    with engine.connect() as conn:
        parcels = conn.execute(
            select(
                s.c.carrier, s.c.tracking_number, ep.c.episode_id, ep.c.opened_at, ep.c.closed_at
            )
            .join(np, np.c.shipment_id == s.c.shipment_id)
            .join(ep, ep.c.episode_id == np.c.episode_id)
            .where(np.c.notice_id == notice_id)
        ).all()
        open_later = set(
            conn.execute(select(p.c.episode_id).where(p.c.run_id == newer_run)).scalars()
        )
        facts = json.loads(
            conn.execute(select(n.c.facts).where(n.c.notice_id == notice_id)).scalar_one()
        )
        for carrier, number, episode, opened, closed in parcels:
            delivered = conn.execute(
                select(func.count()).where(
                    ev.c.carrier == carrier,
                    ev.c.tracking_number == number,
                    ev.c.status == "delivered",
                    ev.c.occurred_at >= opened,
                )
            ).scalar_one()
            if delivered:
                found.append("delivered")
            if closed is not None or episode not in open_later:
                found.append("episode_closed")
    latest = (facts.get("eta") or {}).get("latest")
    today = horizon.astimezone(ZoneInfo(facts["timezone"])).date()
    if latest and date.fromisoformat(latest[:10]) < today:
        found.append("eta_passed")
    return found


def test_a_backfill_allowed_to_send_never_sends_stale_news(store, world):
    """History: the hour ran (dry run), two days passed, then that hour is backfilled."""
    now = later(world.demo_as_of, days=2)
    run("then", world, world.demo_as_of, ALL, dry_run=True)
    run("later", world, now, ALL, replay_only=True)
    run("past", world, world.demo_as_of, ALL, run_type="backfill", backfill_may_send=True)
    expired = _summary(store, "past")["release"]["expired"]
    rows = _decisions(store, "past")
    sent = [r for r in rows if r.decision == "sent"]
    stale = [r for r in rows if r.decision == "suppressed" and r.reason.startswith("stale:")]
    assert stale and sent, "the world must hold both stale and still-true news at that moment"
    assert sum(expired.values()) == len(stale)
    for r in sent:
        assert _stale_facts(store, r.notice_id, "later", now) == [], r.notice_id
    for r in stale:
        assert _stale_facts(store, r.notice_id, "later", now), (r.notice_id, r.reason)
    assert _ledger(store, "past") == len(sent)
    assert _outbox_states(store, "past")["expired"] == len(stale)

    # A replay is not second-guessed: it shows what would have been sent at that moment.
    run("replay", world, world.demo_as_of, ALL, run_type="backfill")
    assert _summary(store, "replay")["release"]["expired"] == {}
    # (SMS held for the quiet hours at targeting are deferred too, with their own reason.)
    replayed = [
        r for r in _decisions(store, "replay") if r.reason == "mode=replay: nothing is sent"
    ]
    assert len(replayed) == len(sent) + len(stale)


def test_channels_not_chosen_are_withheld_not_sent(store, world):
    # SMS only: at this moment (night in the US) targeting already holds SMS for the quiet
    # hours, so it is the email rows, published by the gate, that release must withhold.
    run("sms-only", world, world.demo_as_of, ALL, channels=["sms"])
    rows = _decisions(store, "sms-only")
    withheld = [r for r in rows if r.reason == "channel email not chosen for this run"]
    assert withheld and all(r.decision == "deferred" for r in withheld)
    assert {r.channel for r in withheld} == {"email"}
    assert not [r for r in rows if r.decision == "sent" and r.channel == "email"]
    assert _outbox_states(store, "sms-only")["withheld"] == len(withheld)


# --- approvals ---------------------------------------------------------------------------


def test_approving_a_halted_batch_sends_what_passed_the_row_checks(store, world):
    run("halt", world, world.demo_as_of, UP_TO_GATE, max_notices=1)
    assert pipeline.needs_approval("halt")
    states = _outbox_states(store, "halt")
    blocked, quarantined = states["blocked"], states.get("quarantined", 0)
    assert blocked > 1 and "published" not in states
    review = pipeline.approval_review("halt")
    assert f"{blocked} messages go out" in review and "max" in review.lower()
    with store.connect() as conn:
        recipients = conn.execute(select(schema.outbox.c.recipient)).scalars().all()
    assert not [r for r in recipients if r in review], "the review must not show contacts"

    decided = pipeline.record_approval("halt", APPROVE)
    assert decided["decision"] == "approve" and decided["blocked_rows"] == blocked
    assert "Ops One" in decided["decided_by"] and decided["reason"] == "storm week: volume expected"
    for step in AFTER_GATE:
        pipeline.run_step(step, "halt")
    rows = _decisions(store, "halt")
    assert _count(rows, "sent") == blocked
    assert _count(rows, "blocked") == 0
    assert _count(rows, "quarantined") == quarantined
    assert _ledger(store, "halt") == blocked

    # A retried task records the same decision again; the other decision is refused.
    again = approvals.from_hitl(store, "halt", APPROVE)
    assert again is not None and again.decided_at.isoformat() == decided["decided_at"]
    with pytest.raises(approvals.ApprovalError, match="already approved by"):
        approvals.from_hitl(store, "halt", REJECT)

    report = json.loads((run_folder(load_settings().runs_dir, "halt") / "report.json").read_text())
    assert report["status"] == "success" and report["approval"]["decision"] == "approve"
    html = (run_folder(load_settings().runs_dir, "halt") / "report.html").read_text()
    assert html.count("<img ") == 4 and "Ops One" in html


def test_rejecting_keeps_the_batch_blocked_and_says_who_and_why(store, world):
    run("halt-no", world, world.demo_as_of, UP_TO_GATE, max_notices=1)
    blocked = _outbox_states(store, "halt-no")["blocked"]
    decided = approvals.from_hitl(store, "halt-no", REJECT)
    assert decided is not None and decided.decision == "reject"
    for step in AFTER_GATE:
        pipeline.run_step(step, "halt-no")
    rows = _decisions(store, "halt-no")
    assert _count(rows, "sent") == 0 and _ledger(store) == 0
    kept = [r for r in rows if r.decision == "blocked"]
    assert len(kept) == blocked
    assert all("rejected by Ops Two" in r.reason and "volume looks wrong" in r.reason for r in kept)
    with store.connect() as conn:
        status = conn.execute(
            select(schema.runs.c.status).where(schema.runs.c.run_id == "halt-no")
        ).scalar_one()
        stored = conn.execute(select(schema.approvals)).one()
    assert status == "rejected"
    assert (stored.decision, stored.reason) == ("reject", "volume looks wrong")


def test_only_a_halted_batch_takes_a_decision_and_it_needs_a_who_and_a_why(store, world):
    run("fine", world, world.demo_as_of, UP_TO_GATE)
    assert not pipeline.needs_approval("fine")
    with pytest.raises(approvals.ApprovalError, match="not halted"):
        approvals.approve(store, "fine", decided_by="ops", reason="why not")
    with pytest.raises(approvals.ApprovalError, match="reason is empty"):
        approvals.approve(store, "fine", decided_by="ops", reason="  ")
    with pytest.raises(approvals.ApprovalError, match="expected Approve or Reject"):
        approvals.from_hitl(store, "fine", {"chosen_options": ["Maybe"]})
    assert approvals.from_hitl(store, "fine", None) is None


def test_no_answer_before_the_timeout_rejects(sqlite_engine, world, tmp_path, monkeypatch):
    use_store(monkeypatch, sqlite_engine, tmp_path / "home")
    run("silent", world, world.demo_as_of, UP_TO_GATE, max_notices=1)
    timed_out = {"chosen_options": ["Reject"], "params_input": {}, "responded_by_user": None}
    decided = approvals.from_hitl(sqlite_engine, "silent", timed_out)
    assert decided is not None and decided.decision == "reject"
    assert decided.decided_by.startswith("nobody") and decided.reason == "timed out"


def test_a_halted_replay_records_the_halt_and_waits_for_nobody(
    sqlite_engine, world, tmp_path, monkeypatch
):
    use_store(monkeypatch, sqlite_engine, tmp_path / "home")
    run("bf-halt", world, world.demo_as_of, ALL, run_type="backfill", max_notices=1)
    assert approvals.is_halted(sqlite_engine, "bf-halt")
    assert not pipeline.needs_approval("bf-halt")
    rows = _decisions(sqlite_engine, "bf-halt")
    assert _count(rows, "blocked") > 0 and _count(rows, "sent") == 0
    with sqlite_engine.connect() as conn:
        status = conn.execute(
            select(schema.runs.c.status).where(schema.runs.c.run_id == "bf-halt")
        ).scalar_one()
    assert status == "halted"


def test_oasis_approve_and_report_from_the_command_line(
    sqlite_engine, world, tmp_path, monkeypatch, capsys
):
    from notify.cli import main

    use_store(monkeypatch, sqlite_engine, tmp_path / "home")
    run("cli", world, world.demo_as_of, UP_TO_GATE, max_notices=1)
    blocked = _outbox_states(sqlite_engine, "cli")["blocked"]
    assert main(["approve", "cli", "--by", "ops on call", "--reason", "checked by hand"]) == 0
    assert _ledger(sqlite_engine, "cli") == blocked
    capsys.readouterr()
    assert main(["report", "cli", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decisions"]["sent"] == blocked
    assert data["approval"]["decided_by"] == "ops on call"
    assert main(["report", "cli"]) == 0
    assert str(run_folder(load_settings().runs_dir, "cli") / "report.html") in (
        capsys.readouterr().out.replace("\n", "")
    )
