"""Carrier business days, business hours across weekends, holidays and DST, and lanes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notify import calendars, lanes
from notify.calendars import CalendarSpec

GROUND = CalendarSpec("1111100", "major")
USPS = CalendarSpec("1111110", "federal")
EVERY_DAY = CalendarSpec("1111111", "none")
CHICAGO = ZoneInfo("America/Chicago")


def test_business_days_skip_weekends_and_the_carriers_own_holidays():
    wednesday = date(2025, 11, 26)  # Thanksgiving is Thursday 27 November 2025
    assert calendars.add_days(wednesday, 1, GROUND) == date(2025, 11, 28)
    assert calendars.add_days(date(2025, 11, 28), 1, GROUND) == date(2025, 12, 1)
    assert calendars.add_days(date(2025, 11, 28), 1, USPS) == date(2025, 11, 29)  # Saturday
    veterans_day = date(2025, 11, 11)  # USPS closed, private carriers open
    assert calendars.add_days(date(2025, 11, 10), 1, USPS) == date(2025, 11, 12)
    assert calendars.add_days(date(2025, 11, 10), 1, GROUND) == veterans_day


def test_offsets_invert_adding_days():
    start = date(2025, 11, 20)
    for n in range(-3, 8):
        day = calendars.add_days(start, n, USPS)
        assert calendars.offset(start, day, USPS) == n


def test_business_hours_do_not_count_the_weekend():
    friday_evening = datetime(2025, 11, 14, 18, tzinfo=CHICAGO)
    monday_evening = datetime(2025, 11, 17, 18, tzinfo=CHICAGO)
    assert calendars.business_hours(friday_evening, monday_evening, CHICAGO, GROUND) == 24
    assert calendars.business_hours(friday_evening, monday_evening, CHICAGO, USPS) == 48


def test_business_hours_count_the_real_length_of_a_dst_day():
    saturday_noon = datetime(2025, 11, 1, 12, tzinfo=CHICAGO)  # CDT; Sunday has 25 hours
    monday_noon = datetime(2025, 11, 3, 12, tzinfo=CHICAGO)  # CST
    assert calendars.business_hours(saturday_noon, monday_noon, CHICAGO, EVERY_DAY) == 49
    deadline = calendars.business_deadline(saturday_noon, 48, CHICAGO, EVERY_DAY)
    assert deadline == saturday_noon.astimezone(UTC) + timedelta(hours=48)
    assert deadline.astimezone(CHICAGO).hour == 11  # an hour earlier on the wall clock


def test_business_deadline_waits_for_the_next_business_day():
    friday_evening = datetime(2025, 11, 14, 18, tzinfo=CHICAGO)
    deadline = calendars.business_deadline(friday_evening, 10, CHICAGO, GROUND)
    assert deadline.astimezone(CHICAGO) == datetime(2025, 11, 17, 4, tzinfo=CHICAGO)


def test_a_bad_weekmask_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="weekmask"):
        CalendarSpec("11111", "major")
    with pytest.raises(ValueError, match="holidays"):
        CalendarSpec("1111100", "some")


@pytest.mark.parametrize(
    ("postal", "country", "place"),
    [("60601", "US", "US-IL"), ("07094", "US", "US-NJ"), ("99501-1234", "US", "US-AK"),
     ("M5V 2T6", "CA", "CA"), ("10115", "DE", "DE"), ("", "US", "US"), ("ABCDE", "US", "US")],
)  # fmt: skip
def test_lane_ends_are_states_at_home_and_countries_abroad(postal, country, place):
    assert lanes.place(postal, country) == place


def test_lane_ends_have_zones_and_regions():
    assert lanes.zone_of("US-CA") == ZoneInfo("America/Los_Angeles")
    assert lanes.zone_of("DE") == ZoneInfo("Europe/Berlin")
    assert lanes.zone_of("CA") is None  # several zones: the customer's own zone decides
    assert lanes.region("US-NJ", {"US-NJ": "northeast"}) == "northeast"
    assert lanes.region("DE", {}) == "DE"


QUIET = settings(database=None, max_examples=200)  # no example database in the checkout
SPECS = st.sampled_from([GROUND, USPS, EVERY_DAY, CalendarSpec("0111110", "major")])
DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))


@QUIET
@given(DAYS, st.integers(-15, 15), SPECS)
def test_scalar_business_days_agree_with_numpy(day, n, spec):
    expected = calendars.add_business_days(np.array([day], "datetime64[D]"), n, spec)[0]
    assert calendars.add_days(day, n, spec) == expected.astype(date)


@QUIET
@given(DAYS, DAYS, SPECS)
def test_scalar_offsets_agree_with_numpy(a, b, spec):
    expected = calendars.business_day_offsets(
        np.array([a], "datetime64[D]"), np.array([b], "datetime64[D]"), spec
    )[0]
    assert calendars.offset(a, b, spec) == expected


@QUIET
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31),
                    timezones=st.just(CHICAGO)), st.floats(0, 300), SPECS)  # fmt: skip
def test_fast_business_hours_are_within_the_dst_hour(start, hours, spec):
    end = start + timedelta(hours=hours)
    exact = calendars.business_hours(start, end, CHICAGO, spec)
    assert abs(calendars.business_hours_approx(start, end, CHICAGO, spec) - exact) <= 1.0 + 1e-6
