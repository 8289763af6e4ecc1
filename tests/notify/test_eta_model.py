"""The ETA model on synthetic lanes whose transit distributions are known.

Each synthetic parcel is labelled at 10:00 and picked up at 18:00 in Columbus (OH), scanned
at a hub overnight and delivered a drawn number of the service's business days after
pickup. The model must learn the distribution from delivered parcels, state windows whose
observed coverage matches the stated confidence, count business days on the carrier's
calendar (Thanksgiving), fall back to coarser lanes when a lane is thin, and say
"unknown" (with a lower bound on being late) when the parcels like this one are all still
waiting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from notify import calendars
from notify.eta_model import (
    EtaModel,
    HistoryParcel,
    Predictor,
    Statement,
    lower_bound,
    p_late,
    window_of,
)
from notify.parcels import Event, Parcel
from notify.rules import DEFAULT_RULES

RULES = DEFAULT_RULES
SPEC = RULES.calendar("ups", "UPS Ground")
EASTERN = ZoneInfo("America/New_York")
CENTRAL = ZoneInfo("America/Chicago")
WAREHOUSE = ("Columbus", "OH", "43217", "US")
HUB = ("Chicago", "IL", "60638", "US")


def _weekdays(first: date, count: int, rng: np.random.Generator) -> list[date]:
    days = [first + timedelta(days=int(i)) for i in rng.integers(0, 40, count)]
    return [calendars.add_days(d, 0, SPEC) for d in days]


def make_parcel(
    number: int,
    pickup: date,
    transit: int,
    destination: str = "60601",
    trouble: tuple[int, str] | None = None,
) -> HistoryParcel:
    """A parcel picked up on ``pickup`` and delivered ``transit`` business days later
    (scan times of day vary from parcel to parcel, as real ones do)."""
    minutes = np.random.default_rng(number).integers(0, 180, 4)

    def at(day: date, hour: int, jitter: int) -> datetime:
        local = datetime.combine(day, time(hour), tzinfo=EASTERN)
        return (local + timedelta(minutes=int(jitter))).astimezone(UTC)

    hub_day = calendars.add_days(pickup, 1, SPEC)
    events = [
        Event(number * 10 + 1, at(pickup, 9, minutes[0]), "info_received", None, *WAREHOUSE),
        Event(number * 10 + 2, at(pickup, 17, minutes[1]), "in_transit", None, *WAREHOUSE),
        Event(number * 10 + 3, at(hub_day, 1, minutes[2]), "in_transit", None, *HUB),
    ]
    if trouble is not None:
        hours, reason = trouble
        events.append(Event(number * 10 + 4, events[1].occurred_at + timedelta(hours=hours),
                            "exception", reason, *HUB))  # fmt: skip
    delivered_day = calendars.add_days(pickup, transit, SPEC)
    delivered = datetime.combine(delivered_day, time(13), tzinfo=CENTRAL).astimezone(UTC)
    delivered += timedelta(minutes=int(minutes[3]))
    events.append(Event(number * 10 + 5, delivered, "delivered", None, "Chicago", "IL",
                        destination, "US"))  # fmt: skip
    events.sort(key=lambda e: e.occurred_at)
    p = Parcel(
        carrier="ups",
        tracking_number=f"1Z{number:08d}",
        events=events,
        shipped_at=events[0].occurred_at,
        service="UPS Ground",
        origin_postal="43217",
        destination_postal=destination,
        destination_country="US",
        timezone="America/Chicago",
    )
    first_eta = calendars.add_days(pickup, 1, SPEC)
    return HistoryParcel(p, [Statement(events[0].occurred_at, first_eta)], delivered)


def live(h: HistoryParcel, as_of: datetime) -> Parcel:
    """The parcel as a run at ``as_of`` sees it (events so far, the carrier's statement)."""
    p = h.parcel
    seen = [e for e in p.events if e.occurred_at <= as_of]
    statement = h.statements[0]
    return Parcel(
        carrier=p.carrier,
        tracking_number=p.tracking_number,
        events=seen,
        shipped_at=p.shipped_at,
        service=p.service,
        origin_postal=p.origin_postal,
        destination_postal=p.destination_postal,
        destination_country=p.destination_country,
        timezone=p.timezone,
        eta_statement_id=1,
        eta_stated_at=statement.stated_at,
        eta_latest=statement.day.isoformat() if statement.day else None,
        first_eta_latest=statement.day.isoformat() if statement.day else None,
        promised_by_utc=datetime.combine(
            calendars.add_days(seen[0].occurred_at.date(), 1, SPEC), time(23, 59, 59), CENTRAL
        ).astimezone(UTC),
    )


def lane(rng: np.random.Generator, count: int, shares: dict[int, float], start: int = 0,
         first: date = date(2025, 10, 1), **kw) -> list[HistoryParcel]:  # fmt: skip
    transits = rng.choice(list(shares), size=count, p=list(shares.values()))
    days = _weekdays(first, count, rng)
    return [make_parcel(start + i, d, int(t), **kw) for i, (d, t) in
            enumerate(zip(days, transits, strict=True))]  # fmt: skip


def after_pickup(h: HistoryParcel) -> datetime:
    return h.parcel.events[1].occurred_at + timedelta(hours=3)


def test_a_lane_that_always_takes_one_day_gets_a_one_day_window():
    rng = np.random.default_rng(1)
    model = EtaModel(RULES).fit(lane(rng, 300, {1: 1.0}))
    h = make_parcel(9999, date(2025, 11, 18), 1)
    pred = Predictor(model).predict(live(h, after_pickup(h)), after_pickup(h))
    assert pred.window is not None and pred.shown
    assert pred.window.earliest == pred.window.latest == date(2025, 11, 19)
    assert pred.window.confidence > 0.95
    assert pred.p_late is not None and pred.p_late < 0.05


def test_windows_cover_deliveries_as_often_as_they_say():
    """Transit of 1, 2 or 3 business days (60/30/10 %): stated and observed coverage of
    fresh parcels agree within five points, and at least 95% fall inside."""
    rng = np.random.default_rng(7)
    shares = {1: 0.6, 2: 0.3, 3: 0.1}
    model = EtaModel(RULES).fit(lane(rng, 1500, shares))
    predictor = Predictor(model)
    fresh = lane(rng, 400, shares, start=5000, first=date(2025, 10, 15))
    inside, stated = [], []
    for h in fresh:
        at = after_pickup(h)
        pred = predictor.predict(live(h, at), at)
        assert pred.window is not None
        delivered = h.delivered_at.astimezone(CENTRAL).date()
        inside.append(pred.window.earliest <= delivered <= pred.window.latest)
        stated.append(pred.window.confidence)
    observed = float(np.mean(inside))
    assert observed >= 0.95
    assert abs(observed - float(np.mean(stated))) <= 0.05


def test_a_two_day_lane_gets_a_two_day_window_and_a_delay_probability():
    rng = np.random.default_rng(3)
    model = EtaModel(RULES).fit(lane(rng, 800, {1: 0.7, 2: 0.3}))
    h = make_parcel(9999, date(2025, 11, 18), 2)
    pred = Predictor(model).predict(live(h, after_pickup(h)), after_pickup(h))
    assert pred.window is not None
    assert (pred.window.earliest, pred.window.latest) == (date(2025, 11, 19), date(2025, 11, 20))
    assert pred.window.most_likely == date(2025, 11, 19)
    assert pred.p_late is not None and 0.2 < pred.p_late < 0.35  # promised the 19th


def test_business_days_skip_the_carriers_holiday():
    rng = np.random.default_rng(5)
    model = EtaModel(RULES).fit(lane(rng, 300, {1: 1.0}))
    h = make_parcel(9999, date(2025, 11, 26), 1)  # Wednesday before Thanksgiving
    pred = Predictor(model).predict(live(h, after_pickup(h)), after_pickup(h))
    assert pred.window is not None and pred.window.earliest == date(2025, 11, 28)


def test_a_thin_lane_falls_back_to_its_region():
    rng = np.random.default_rng(11)
    history = lane(rng, 400, {2: 1.0}, destination="60601")  # Illinois
    history += lane(rng, 3, {2: 1.0}, start=1000, destination="53202")  # Wisconsin
    model = EtaModel(RULES).fit(history)
    h = make_parcel(9999, date(2025, 11, 18), 2, destination="53202")
    pred = Predictor(model).predict(live(h, after_pickup(h)), after_pickup(h))
    assert pred.window is not None and pred.window.earliest == date(2025, 11, 20)
    assert pred.basis != "none" and pred.history >= RULES.eta.min_history


def test_the_delay_kind_adds_its_own_extra_time():
    """Damaged parcels take two business days more: a parcel with that exception gets the
    later window, a parcel without it the lane's own."""
    rng = np.random.default_rng(13)
    history = lane(rng, 600, {1: 1.0})
    history += lane(rng, 300, {3: 1.0}, start=2000, trouble=(10, "damaged"))
    predictor = Predictor(EtaModel(RULES).fit(history))
    h = make_parcel(9999, date(2025, 11, 17), 3, trouble=(10, "damaged"))
    at = h.parcel.events[3].occurred_at + timedelta(hours=1)
    pred = predictor.predict(live(h, at), at)
    assert pred.window is not None and pred.window.earliest == date(2025, 11, 20)


def test_while_parcels_like_it_are_all_still_waiting_the_eta_is_unknown():
    """A new kind of hold (all such parcels still waiting): no window from the quick few,
    but a lower bound on being late from where the parcel is."""
    rng = np.random.default_rng(17)
    model = EtaModel(RULES).fit(lane(rng, 600, {1: 1.0}))
    stuck = [make_parcel(3000 + i, date(2025, 11, 17), 6, trouble=(6, "weather"))
             for i in range(40)]  # fmt: skip
    at = datetime(2025, 11, 19, 18, tzinfo=UTC)
    waiting = [live(h, at) for h in stuck]
    model.waiting(waiting, {}, at)
    pred = Predictor(model).predict(waiting[0], at)
    assert pred.window is None and not pred.shown
    assert pred.basis.startswith("released_now")
    assert pred.p_late is not None and pred.p_late > 0.9  # promised the 18th


def test_window_and_bounds_helpers():
    dist = {date(2025, 11, 3): 0.5, date(2025, 11, 4): 0.45, date(2025, 11, 5): 0.05}
    w = window_of(dist, 0.95, SPEC)
    assert w is not None and (w.earliest, w.latest, w.days) == (
        date(2025, 11, 3),
        date(2025, 11, 4),
        2,
    )
    wider = window_of(dist, 0.95, SPEC, n=200, z=1.0)  # 95% seen in 200 is not sure enough
    assert wider is not None and wider.latest == date(2025, 11, 5)
    assert window_of(dist, 0.95, SPEC, n=10, z=1.0) is None  # too little history for any
    assert lower_bound(1.0, 100, 1.0) < 1.0 < lower_bound(1.0, 100, 0.0) + 1e-9
    assert p_late(dist, 0.0, date(2025, 11, 3)) == 0.5
    assert p_late(dist, 0.1, date(2025, 11, 4)) == pytest.approx(0.15)  # the tail counts as late


def test_counting_in_chunks_learns_exactly_what_counting_at_once_does(monkeypatch):
    from notify import eta_model

    history = lane(np.random.default_rng(4), 250, {1: 0.6, 2: 0.3, 4: 0.1})
    whole = EtaModel(RULES).fit(history)
    monkeypatch.setattr(eta_model, "FIT_CHUNK", 7)  # 250 parcels: 35 full chunks and a rest
    chunked = EtaModel(RULES).fit(history)
    assert chunked.parcels == whole.parcels == 250
    assert chunked.counts.delivered == whole.counts.delivered
    assert chunked.counts.parcels == whole.counts.parcels
    assert chunked.counts.moments == whole.counts.moments
