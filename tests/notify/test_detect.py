"""Delay detection rules, one test per kind of evidence, plus the ones that must not fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notify.rules import DetectionRules
from notify.stages.detect import Event, Parcel, evaluate

T0 = datetime(2026, 11, 17, 12, tzinfo=UTC)
PROMISE = datetime(2026, 11, 21, 5, 59, tzinfo=UTC)
RULES = DetectionRules()


def parcel(*events: tuple[float, str, str | None], eta: str | None = None) -> Parcel:
    return Parcel(
        carrier="fedex",
        tracking_number="1",
        events=[
            Event(i + 1, T0 + timedelta(hours=h), status, reason)
            for i, (h, status, reason) in enumerate(events)
        ],
        promised_by_utc=PROMISE,
        shipped_at=T0,
        eta_latest=eta,
    )


def test_exception_opens_an_episode_with_the_carrier_reason():
    p = parcel((0, "info_received", None), (5, "in_transit", None), (20, "exception", "weather"),
               (30, "in_transit", None))  # fmt: skip
    found = evaluate(p, T0 + timedelta(hours=31), RULES)
    assert found is not None
    assert (found.kind, found.cause, found.evidence) == ("exception", "weather", (3,))
    assert found.evidence_at == T0 + timedelta(hours=20)


def test_failed_attempt():
    p = parcel((0, "in_transit", None), (40, "attempt_fail", "recipient_unavailable"))
    found = evaluate(p, T0 + timedelta(hours=41), RULES)
    assert found is not None and found.kind == "failed_attempt"
    assert found.cause == "recipient_unavailable"


def test_stalled_tracking_after_the_rule_threshold_only():
    p = parcel((0, "info_received", None), (2, "in_transit", None))
    assert evaluate(p, T0 + timedelta(hours=2 + 47), RULES) is None
    found = evaluate(p, T0 + timedelta(hours=2 + 49), RULES)
    assert found is not None and (found.kind, found.cause) == ("stalled", "no_scan")
    assert found.evidence_at == T0 + timedelta(hours=50)


def test_label_never_picked_up():
    p = parcel((0, "info_received", None))
    assert evaluate(p, T0 + timedelta(hours=47), RULES) is None
    found = evaluate(p, T0 + timedelta(hours=49), RULES)
    assert found is not None and (found.kind, found.cause) == ("not_picked_up", "missed_pickup")


def test_carrier_eta_after_the_promise():
    p = parcel((0, "in_transit", None), eta="2026-11-23")
    found = evaluate(p, T0 + timedelta(hours=1), RULES)
    assert found is not None and found.kind == "late_eta"


def test_eta_on_the_promised_day_is_fine():
    p = parcel((0, "in_transit", None), eta="2026-11-21")
    assert evaluate(p, T0 + timedelta(hours=1), RULES) is None


def test_promise_breached_while_still_moving():
    p = parcel((0, "in_transit", None), (90, "in_transit", None))
    found = evaluate(p, T0 + timedelta(hours=91), RULES)
    assert found is not None and found.kind == "promise_breached"


def test_nothing_after_delivery_even_with_an_earlier_exception():
    p = parcel((0, "in_transit", None), (5, "exception", "weather"), (30, "delivered", None))
    assert evaluate(p, T0 + timedelta(hours=200), RULES) is None
