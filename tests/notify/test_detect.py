"""Delay detection rules, one test per kind of evidence, plus the ones that must not fire.

Times, weekends, holidays and DST matter: stall and pickup thresholds count business hours
of the service's calendar, and the promised day is the customer's local day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from notify.calendars import CalendarSpec
from notify.parcels import Event, Parcel, clean_events
from notify.rules import DEFAULT_RULES
from notify.stages.detect import evaluate

T0 = datetime(2026, 11, 17, 12, tzinfo=UTC)  # a Tuesday
PROMISE = datetime(2026, 11, 21, 5, 59, 59, tzinfo=UTC)  # end of Friday 20 Nov, Chicago
RULES = DEFAULT_RULES
CHICAGO = ZoneInfo("America/Chicago")


def parcel(*events: tuple[float, str, str | None], eta: str | None = None, **more) -> Parcel:
    p = Parcel(
        carrier="fedex",
        tracking_number="1",
        events=[
            Event(i + 1, T0 + timedelta(hours=h), status, reason, "Chicago", "IL", "60638", "US")
            for i, (h, status, reason) in enumerate(events)
        ],
        promised_by_utc=PROMISE,
        shipped_at=T0,
        eta_latest=eta,
        eta_statement_id=1 if eta else None,
        service="FedEx Ground",
        destination_postal="60601",
        destination_country="US",
        timezone="America/Chicago",
    )
    return replace(p, **more)


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
    assert found.cause == "recipient_unavailable" and found.evidence == (2,)


def test_the_newest_trouble_names_the_cause_and_every_trouble_scan_is_evidence():
    p = parcel((0, "in_transit", None), (10, "exception", "transport_delay"),
               (30, "attempt_fail", "recipient_unavailable"))  # fmt: skip
    found = evaluate(p, T0 + timedelta(hours=31), RULES)
    assert found is not None and found.kind == "failed_attempt"
    assert found.cause == "recipient_unavailable" and found.evidence == (2, 3)


def test_a_reason_on_an_in_transit_scan_is_trouble_too():
    p = parcel((0, "in_transit", None), (10, "in_transit", "returning_to_sender"))
    found = evaluate(p, T0 + timedelta(hours=11), RULES)
    assert found is not None and (found.kind, found.cause) == ("exception", "returning_to_sender")


def test_stalled_tracking_after_the_threshold_in_business_hours_only():
    # Last scan Tuesday 08:00 Chicago; FedEx Ground counts Monday to Friday: 88 business
    # hours by Saturday, the 96th is reached on Monday 08:00.
    p = parcel((0, "info_received", None), (2, "in_transit", None), promised_by_utc=None)
    assert RULES.stall_hours_for("fedex", "FedEx Ground") == 96
    assert evaluate(p, datetime(2026, 11, 22, 20, tzinfo=CHICAGO), RULES) is None  # Sunday
    assert evaluate(p, datetime(2026, 11, 23, 7, tzinfo=CHICAGO), RULES) is None
    found = evaluate(p, datetime(2026, 11, 23, 9, tzinfo=CHICAGO), RULES)
    assert found is not None and (found.kind, found.cause) == ("stalled", "no_scan")
    assert found.evidence == (2,)
    assert found.evidence_at == datetime(2026, 11, 23, 8, tzinfo=CHICAGO)


def test_a_weekend_without_scans_is_not_a_stall():
    friday_evening = datetime(2026, 11, 20, 18, tzinfo=CHICAGO)
    p = parcel((0, "in_transit", None), shipped_at=friday_evening, promised_by_utc=None)
    p.events = [Event(1, friday_evening, "in_transit", None, "Chicago", "IL", "60638", "US")]
    tuesday = datetime(2026, 11, 24, 20, tzinfo=CHICAGO)  # 98 wall hours, 50 business hours
    assert evaluate(p, tuesday, RULES) is None
    found = evaluate(p, datetime(2026, 11, 26, 23, tzinfo=CHICAGO), RULES)  # Thanksgiving
    assert found is None  # the holiday does not count either: 78 business hours so far
    found = evaluate(p, datetime(2026, 11, 30, 8, tzinfo=CHICAGO), RULES)
    assert found is not None and found.kind == "stalled"
    assert found.evidence_at == datetime(2026, 11, 27, 18, tzinfo=CHICAGO)


def test_stall_threshold_across_the_dst_change_counts_real_hours():
    rules = replace(RULES, stall={"default": 48.0},
                    calendars={"default": CalendarSpec("1111111", "none")})  # fmt: skip
    saturday_noon = datetime(2026, 10, 31, 12, tzinfo=CHICAGO)  # DST ends 1 Nov 2026
    p = parcel((0, "in_transit", None))
    p.events = [Event(1, saturday_noon, "in_transit", None, "Chicago", "IL", "60638", "US")]
    p.promised_by_utc = None
    real_48h = saturday_noon.astimezone(UTC) + timedelta(hours=48)
    assert evaluate(p, real_48h - timedelta(minutes=1), rules) is None
    found = evaluate(p, real_48h + timedelta(minutes=1), rules)
    assert found is not None and found.evidence_at == real_48h
    assert found.evidence_at.astimezone(CHICAGO).hour == 11  # not 12: Sunday had 25 hours


def test_an_earlier_stall_stays_evidence_after_scans_resume():
    p = parcel((0, "in_transit", None), (200, "in_transit", None), (205, "in_transit", None))
    found = evaluate(p, T0 + timedelta(hours=206), RULES)
    assert found is not None and found.kind == "stalled" and found.evidence == (1, 2)


def test_label_never_picked_up_within_the_grace_in_business_hours():
    p = parcel((0, "info_received", None))
    grace = RULES.pickup_grace_hours_for("fedex", "FedEx Ground")
    assert evaluate(p, T0 + timedelta(hours=grace - 1), RULES) is None
    found = evaluate(p, T0 + timedelta(hours=grace + 1), RULES)
    assert found is not None and (found.kind, found.cause) == ("not_picked_up", "missed_pickup")
    assert found.evidence == (1,)


def test_a_label_made_on_friday_is_not_late_for_pickup_on_monday():
    friday = datetime(2026, 11, 20, 15, tzinfo=CHICAGO)
    p = parcel(shipped_at=friday, promised_by_utc=None)
    p.events = [Event(1, friday, "info_received", None, "Chicago", "IL", "60638", "US")]
    assert evaluate(p, datetime(2026, 11, 23, 10, tzinfo=CHICAGO), RULES) is None


def test_a_late_pickup_remains_evidence_once_picked_up():
    p = parcel((0, "info_received", None), (70, "in_transit", None))
    found = evaluate(p, T0 + timedelta(hours=71), RULES)
    assert found is not None and found.kind == "late_pickup" and found.evidence == (1, 2)


def test_carrier_eta_after_the_promise():
    p = parcel((0, "in_transit", None), eta="2026-11-23")
    found = evaluate(p, T0 + timedelta(hours=1), RULES)
    assert found is not None and found.kind == "late_eta"


def test_eta_on_the_promised_day_is_fine():
    p = parcel((0, "in_transit", None), eta="2026-11-20")
    assert evaluate(p, T0 + timedelta(hours=1), RULES) is None


def test_the_promised_day_is_the_customers_local_day():
    """Promised Friday 20 Nov in Chicago ends 05:59:59 UTC on the 21st: an ETA of the 21st
    is late (comparing with the UTC date would have missed it)."""
    p = parcel((0, "in_transit", None), eta="2026-11-21")
    assert p.promised_day.isoformat() == "2026-11-20"
    found = evaluate(p, T0 + timedelta(hours=1), RULES)
    assert found is not None and found.kind == "late_eta"


def test_promise_breached_while_still_moving():
    p = parcel((0, "in_transit", None), (80, "in_transit", None))
    found = evaluate(p, PROMISE + timedelta(minutes=1), RULES)
    assert found is not None and found.kind == "promise_breached"
    assert found.evidence_at == PROMISE


def test_nothing_after_delivery_even_with_an_earlier_exception():
    p = parcel((0, "in_transit", None), (5, "exception", "weather"), (30, "delivered", None))
    assert evaluate(p, T0 + timedelta(hours=200), RULES) is None


def test_delivered_then_exception_stays_delivered():
    p = parcel((0, "in_transit", None), (30, "delivered", None), (40, "exception", "damaged"))
    assert evaluate(p, T0 + timedelta(hours=41), RULES) is None


def test_out_of_order_events_are_read_in_time_order():
    ordered = parcel(
        (0, "in_transit", None), (10, "exception", "customs"), (20, "in_transit", None)
    )
    shuffled = replace(ordered, events=clean_events(list(reversed(ordered.events))))
    at = T0 + timedelta(hours=21)
    assert evaluate(shuffled, at, RULES) == evaluate(ordered, at, RULES)


def test_the_same_scan_reported_twice_counts_once():
    p = parcel((0, "in_transit", None), (10, "exception", "customs"))
    twice = p.events[1]._replace(event_id=7)
    p.events = clean_events([*p.events, twice])
    assert len(p.events) == 2
    found = evaluate(p, T0 + timedelta(hours=11), RULES)
    assert found is not None and found.evidence == (2,)
