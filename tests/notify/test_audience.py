"""Row-level targeting rules on plain rows (the database paths are in test_target_rules)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from notify.audience import (
    PROMISE_AT_RISK,
    NoticeKey,
    delay_on_a_full_schedule,
    lateness_reason,
    still_told,
    told_facts,
    window_holds_promise,
    without_window,
)
from notify.config import TargetingSettings

NEXT = datetime(2026, 11, 20, 18, tzinfo=UTC)
OPENED = datetime(2026, 11, 20, 9, tzinfo=UTC)  # the delay scan
MOVED = datetime(2026, 11, 20, 11, tzinfo=UTC)  # a later scan


def _row(**kw: object) -> SimpleNamespace:
    base = {"promised_by": "2026-11-24", "cause": "transport_delay", "eta_earliest": None,
            "eta_latest": None, "eta_most_likely": None, "eta_confidence": None,
            "eta_method": "unknown", "next_update_by": None, "carrier_eta_first": None,
            "carrier_eta_latest": None}  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


def test_only_a_window_on_both_sides_of_the_promised_day_holds_it():
    assert window_holds_promise(_row(eta_earliest="2026-11-24", eta_latest="2026-11-25"))
    assert window_holds_promise(_row(eta_earliest="2026-11-23", eta_latest="2026-11-26"))
    assert not window_holds_promise(_row(eta_earliest="2026-11-25", eta_latest="2026-11-26"))
    assert not window_holds_promise(_row(eta_earliest="2026-11-23", eta_latest="2026-11-24"))
    assert not window_holds_promise(_row())  # unknown


def test_a_row_told_without_a_window_keeps_everything_else():
    row = _row(eta_earliest="2026-11-24", eta_latest="2026-11-25", eta_confidence=0.95,
               eta_method="model", order_id="O1")  # fmt: skip
    told = without_window(row, NEXT)
    assert (told.eta_earliest, told.eta_latest, told.eta_confidence) == (None, None, None)
    assert (told.eta_method, told.next_update_by, told.order_id) == ("unknown", NEXT, "O1")
    kept = _row(eta_earliest="2026-11-25", eta_latest="2026-11-26")
    assert without_window(kept, NEXT) is kept
    meets = _row(eta_earliest="2026-11-22", eta_latest="2026-11-24")  # no day after the promise
    assert without_window(meets, NEXT).eta_latest is None


def test_the_schedule_compared_with_the_promise_is_the_carriers_first_day_or_later():
    s = TargetingSettings()
    on_promise = {"carrier_eta_first": "2026-11-24", "carrier_eta_latest": "2026-11-24",
                  "episode_opened_at": OPENED, "last_scan_status": "in_transit",
                  "last_scan_at": MOVED}  # fmt: skip
    assert delay_on_a_full_schedule(_row(**on_promise), s)
    assert not delay_on_a_full_schedule(_row(**on_promise, cause="weather"), s)
    spare = {**on_promise, "carrier_eta_first": "2026-11-23", "carrier_eta_latest": "2026-11-23"}
    assert not delay_on_a_full_schedule(_row(**spare), s)
    # Slipped: our window starts after the carrier's day, so that day cannot be met; the
    # delay is already counted in our first day, late only when it is after the promise.
    assert not delay_on_a_full_schedule(_row(**spare, eta_earliest="2026-11-24"), s)
    assert delay_on_a_full_schedule(_row(**spare, eta_earliest="2026-11-25"), s)
    assert delay_on_a_full_schedule(_row(**on_promise, eta_earliest="2026-11-25"), s)
    assert not delay_on_a_full_schedule(_row(**spare, eta_earliest="2026-11-23"), s)
    revised = {**on_promise, "carrier_eta_first": "2026-11-21"}
    assert not delay_on_a_full_schedule(_row(**revised), s)


def test_running_late_means_moving_again_after_the_delay_scan():
    s = TargetingSettings()
    row = {"carrier_eta_first": "2026-11-24", "carrier_eta_latest": "2026-11-24",
           "episode_opened_at": OPENED, "last_scan_status": "in_transit", "last_scan_at": MOVED}  # fmt: skip
    assert delay_on_a_full_schedule(_row(**row, cause="unknown"), s)  # a delay without a cause
    assert not delay_on_a_full_schedule(_row(**{**row, "last_scan_status": "exception"}), s)
    assert not delay_on_a_full_schedule(_row(**{**row, "last_scan_at": OPENED}), s)  # none since
    assert not delay_on_a_full_schedule(_row(**{**row, "last_scan_status": None}), s)


def test_each_orders_cause_is_part_of_the_key_only_when_the_causes_differ() -> None:
    """A notice of orders late for different reasons tells each its own (ADR 0014): a new
    reason for any of them is news, though the deciding order's cause stays the same. With
    one cause the key is what it always was (no notice sent before is told again)."""
    eta = {"earliest": "2026-11-24", "latest": "2026-11-25"}

    def version(*causes: tuple[str, str, str]) -> str:
        key = NoticeKey("C1", (), told_facts("delay", eta, "weather", None, list(causes)))
        return key.version

    same = version(("O1", "S1", "weather"), ("O2", "S2", "weather"))
    assert same == NoticeKey("C1", (), told_facts("delay", eta, "weather")).version
    mixed = version(("O1", "S1", "weather"), ("O2", "S2", "transport_delay"))
    changed = version(("O1", "S1", "weather"), ("O2", "S2", "recipient_unavailable"))
    assert len({same, mixed, changed}) == 3
    assert version(("O2", "S2", "transport_delay"), ("O1", "S1", "weather")) == mixed


def test_each_orders_window_is_part_of_the_key_only_when_the_windows_differ() -> None:
    def version(*windows: tuple[str, str, Any]) -> str:
        return NoticeKey(
            "C1", (), told_facts("delay", None, "weather", None, None, list(windows))
        ).version

    day, later = ["2026-11-24", "2026-11-24"], ["2026-11-25", "2026-11-25"]
    plain = NoticeKey("C1", (), told_facts("delay", None, "weather")).version
    assert version(("O1", "S1", None), ("O2", "S2", None)) == plain
    told = version(("O1", "S1", day), ("O2", "S2", None))
    moved = version(("O1", "S1", later), ("O2", "S2", None))
    assert len({plain, told, moved}) == 3


def _told_plan(notice_id: str | None, parcels: dict[str, str | None], **kw: Any) -> dict[str, Any]:
    """A delay notice's plan naming parcels S<n> of order O1, each with its window's last day."""
    return {"notice_id": notice_id, "kind": "delay", "as_of": "2026-11-19T18:00:00+00:00",
            "next_update_by": None, "spells": [["O1", s, f"ep{s}"] for s in parcels],
            "parcel_facts": [{"order_id": "O1", "shipment_id": s, "cause": "weather",
                              "eta_earliest": day, "eta_latest": day, "problem": False,
                              "awaits_customer": False} for s, day in parcels.items()], **kw}  # fmt: skip


def test_a_notice_that_only_lost_parcels_since_the_last_one_sent_is_no_news():
    last = _told_plan("n_last", {"S1": "2026-11-22", "S2": "2026-11-22"})
    sent = {"n_last": {"email", "sms"}}
    now = datetime(2026, 11, 21, 18, tzinfo=UTC)
    shrunk = _told_plan(None, {"S2": "2026-11-22"})
    assert still_told([last], shrunk, sent, ["email", "sms"], now) == "n_last"
    assert still_told([last], _told_plan(None, {"S2": "2026-11-23"}), sent, ["email"], now) is None
    assert still_told([last], shrunk, {"n_last": {"email"}}, ["email", "sms"], now) is None
    due = _told_plan("n_last", {"S1": None, "S2": None}, next_update_by="2026-11-20T18:00:00+00:00")
    assert still_told([due], _told_plan(None, {"S2": None}), sent, ["email"], now) is None
    assert still_told([last], last, sent, ["email"], now) is None  # the same set: not a subset
    assert still_told([last], shrunk, {}, ["email"], now) is None  # never sent


def test_running_late_on_a_full_schedule_is_late_only_when_our_model_is_sure():
    """ADR 0016: the carrier's word that a parcel runs late on its first day, the promised
    day, is a promise at risk unless our model is sure (``notify_min_p_late``); with no
    ``p_late`` only a window of ours that starts after the promise says late."""
    s = TargetingSettings()
    as_of = datetime(2026, 11, 21, 12, tzinfo=UTC)
    row = {"carrier_eta_first": "2026-11-24", "carrier_eta_latest": "2026-11-24",
           "episode_opened_at": OPENED, "last_scan_status": "in_transit", "last_scan_at": MOVED,
           "carrier_eta_stated_at": None, "status_before_delay": "in_transit",
           "promised_by_utc": datetime(2026, 11, 25, 4, 59, 59, tzinfo=UTC),
           "timezone": "America/New_York", "last_scan_postal_code": "07094",
           "destination_postal_code": "10001"}  # fmt: skip
    for p_late, window, told in [
        (0.999, (None, None), None),
        (0.4, (None, None), PROMISE_AT_RISK),
        (None, (None, None), PROMISE_AT_RISK),
        (None, ("2026-11-22", "2026-11-23"), PROMISE_AT_RISK),  # our window meets it
        (None, ("2026-11-25", "2026-11-26"), None),  # our window starts after it
        (0.9, ("2026-11-25", "2026-11-26"), PROMISE_AT_RISK),
    ]:
        earliest, latest = window
        r = _row(**row, eta_p_late=p_late, eta_earliest=earliest, eta_latest=latest)
        assert lateness_reason(r, as_of, s) == told, (p_late, window)
