"""``oasis explain``: the support agent's view of one order, after a real run of the stages."""

from __future__ import annotations

from datetime import timedelta

from notify.config import load_settings
from notify.explain import explain
from notify.pipeline import channels
from notify.runs import get_run
from notify.stages import compose, gating, messages, send
from notify.store import schema
from tests.notify.targetworld import AS_OF, World, episode, eta, run

MEMPHIS = {"city": "Memphis", "region": "TN", "postal_code": "38118", "country": "US"}


def _events(engine, number, *rows):
    with engine.begin() as conn:
        for hours, status, reason, text, *extra in rows:
            at = AS_OF - timedelta(hours=hours)
            conn.execute(schema.tracking_events.insert().values(
                carrier="fedex", tracking_number=number, occurred_at=at,
                local_time=at.isoformat(), status=status, reason=reason, code=status[:3].upper(),
                description=text, first_seen_at=at, **(extra[0] if extra else {})))  # fmt: skip


def test_explain_tells_the_whole_story_of_an_order(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("OASIS_HOME", str(tmp_path / "home"))
    settings = load_settings()
    w = World().customer("C1", first_name="Ana").customer("C2", phone="+13125550177")
    w.order("O1", "C1")
    w.order("O9", "C2").parcel("S1", "O1", "111", "Wool socks").parcel("S2", "O1", "222", "Hat")
    w.parcel("S9", "O9", "111", "Secret gift")  # another customer's order on the same label
    w.load(engine, tmp_path / "o")
    _events(engine, "111", (30, "in_transit", None, "Departed FedEx hub",
                            {**MEMPHIS, "departed": True}),
            (20, "exception", "damaged", "Package damaged in transit", MEMPHIS))  # fmt: skip
    eta(engine, "r1", episode(engine, "111", "damaged"), "2026-11-24")
    run(engine, "r1")
    compose.compose(engine, run_id="r1", settings=settings)
    messages.stage_messages(engine, run_id="r1", templates=settings.templates_dir)
    the_run = get_run(engine, "r1")
    gating.gate(engine, run=the_run, settings=settings, open_shipments=100)
    sent = send.send(engine, run=the_run, channels=channels(settings))
    assert sent.sent >= 1, explain(engine, "O1")
    story = explain(engine, "O1")
    for expected in (
        "Order O1, status open",
        "reachable by: email, sms",
        "1 x Wool socks (parcel S1)",
        "Parcel S1: fedex 111",
        "also carries 1 other order(s), not shown here",
        "exception [damaged] Package damaged in transit at Memphis, TN 38118, US",
        "in_transit (departed) Departed FedEx hub at Memphis, TN 38118, US",
        "cause damaged",
        "ETA (run r1): 2026-11-24..2026-11-24",
        "run r1: escalated (helpdesk) case case_",
        "run r1: sent (email)",
        "Messages sent:",
        "Wool socks",  # the message text itself
        "OPEN (automated notices paused)",
        "suggested: Ask the carrier for the damage report",
    ):
        assert expected in story, expected
    assert "Secret gift" not in story and "O9" not in story
    assert explain(engine, "nope") == "no order 'nope' in the store"
