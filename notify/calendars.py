"""Carrier business days: which days a service moves and delivers parcels.

A calendar is a numpy ``busdaycalendar``: a weekmask (Monday first) and the public
holidays the carrier observes, taken from the ``holidays`` package. Which weekmask and
holiday set each carrier/service uses is data in the rules file (``[calendars]``).

Everything here is pure and vectorisable: ETA residuals are counted in the service's
business days, and stall detection counts only the hours that fall on business days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache

import holidays
import numpy as np
from numpy.typing import NDArray

# The holidays every private US carrier observes (names as the holidays package gives them).
MAJOR_HOLIDAYS = (
    "New Year's Day",
    "Memorial Day",
    "Independence Day",
    "Labor Day",
    "Thanksgiving",
    "Christmas Day",
)
HOLIDAY_SETS = ("federal", "major", "none")
YEARS = range(2015, 2041)
UNIX_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class CalendarSpec:
    weekmask: str = "1111100"
    holidays: str = "major"  # federal | major | none
    country: str = "US"

    def __post_init__(self) -> None:
        if len(self.weekmask) != 7 or set(self.weekmask) - {"0", "1"} or "1" not in self.weekmask:
            raise ValueError(f"weekmask {self.weekmask!r} must be 7 digits 0/1, Monday first")
        if self.holidays not in HOLIDAY_SETS:
            raise ValueError(f"holidays {self.holidays!r} must be one of {HOLIDAY_SETS}")


@cache
def _holiday_days(kind: str, country: str) -> tuple[np.datetime64, ...]:
    if kind == "none":
        return ()
    observed = holidays.country_holidays(country, years=YEARS)
    keep = (
        observed.items()
        if kind == "federal"
        else [(d, n) for d, n in observed.items() if any(n.startswith(h) for h in MAJOR_HOLIDAYS)]
    )
    return tuple(sorted(np.datetime64(d, "D") for d, _ in keep))


@cache
def busday_calendar(spec: CalendarSpec) -> np.busdaycalendar:
    return np.busdaycalendar(
        weekmask=spec.weekmask, holidays=list(_holiday_days(spec.holidays, spec.country))
    )


def is_business_day(day: date, spec: CalendarSpec) -> bool:
    return bool(np.is_busday(np.datetime64(day, "D"), busdaycal=busday_calendar(spec)))


def roll_forward(days: NDArray[np.datetime64], spec: CalendarSpec) -> NDArray[np.datetime64]:
    """Each day, or the next business day when it is not one."""
    cal = busday_calendar(spec)
    return np.busday_offset(days, 0, roll="forward", busdaycal=cal)


def add_business_days(
    days: NDArray[np.datetime64], n: NDArray[np.int64] | int, spec: CalendarSpec
) -> NDArray[np.datetime64]:
    """Business day ``n`` after each (rolled-forward) day; negative ``n`` goes back."""
    cal = busday_calendar(spec)
    return np.busday_offset(roll_forward(days, spec), n, roll="forward", busdaycal=cal)


def business_day_offsets(
    anchor: NDArray[np.datetime64], day: NDArray[np.datetime64], spec: CalendarSpec
) -> NDArray[np.int64]:
    """Signed business days from each (rolled-forward) anchor to each (rolled-forward) day.

    The inverse of :func:`add_business_days`: ``add_business_days(a, offsets(a, d)) == d``
    whenever ``d`` is a business day.
    """
    cal = busday_calendar(spec)
    a = roll_forward(anchor, spec)
    d = roll_forward(day, spec)
    return np.busday_count(a, d, busdaycal=cal).astype(np.int64)


def _forward(day: date, spec: CalendarSpec) -> date:
    for _ in range(3660):
        if open_on(day, spec):
            return day
        day += timedelta(days=1)
    raise ValueError("calendar without business days")


def add_days(day: date, n: int, spec: CalendarSpec) -> date:
    """Business day ``n`` after ``day`` rolled forward (the scalar :func:`add_business_days`)."""
    day = _forward(day, spec)
    step = timedelta(days=1 if n >= 0 else -1)
    for _ in range(abs(n)):
        day += step
        while not open_on(day, spec):
            day += step
    return day


def offset(anchor: date, day: date, spec: CalendarSpec) -> int:
    """Signed business days from ``anchor`` to ``day``, both rolled forward (the scalar
    :func:`business_day_offsets`)."""
    a, b = _forward(anchor, spec), _forward(day, spec)
    if abs((b - a).days) > 400:
        return int(business_day_offsets(np.array([a], "datetime64[D]"),
                                        np.array([b], "datetime64[D]"), spec)[0])  # fmt: skip
    sign, count = (1, 0) if b >= a else (-1, 0)
    lo, hi = (a, b) if b >= a else (b, a)
    while lo < hi:
        count += open_on(lo, spec)
        lo += timedelta(days=1)
    return sign * count


def _midnight(day: date, zone: tzinfo) -> datetime:
    """Local midnight as a UTC instant (aware arithmetic in one zone would ignore DST)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def business_hours(start: datetime, end: datetime, zone: tzinfo, spec: CalendarSpec) -> float:
    """Hours between two instants that fall on business days of ``spec`` in ``zone``.

    Exact across DST changes: each local day counts its real length (23, 24 or 25 hours).
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    cal = busday_calendar(spec)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    seconds = 0.0
    day = first
    while day <= last:
        lo = max(start, _midnight(day, zone))
        hi = min(end, _midnight(day + timedelta(days=1), zone))
        if hi > lo and np.is_busday(np.datetime64(day, "D"), busdaycal=cal):
            seconds += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return seconds / 3600.0


def business_deadline(start: datetime, hours: float, zone: tzinfo, spec: CalendarSpec) -> datetime:
    """The instant when ``hours`` business hours have passed since ``start``."""
    cal = busday_calendar(spec)
    left = hours * 3600.0
    at = start.astimezone(UTC)
    for _ in range(3660):  # ten years of days: a calendar always has business days
        day = at.astimezone(zone).date()
        day_end = _midnight(day + timedelta(days=1), zone)
        if np.is_busday(np.datetime64(day, "D"), busdaycal=cal):
            span = (day_end - at).total_seconds()
            if span >= left:
                return at + timedelta(seconds=left)
            left -= span
        at = day_end
    raise ValueError("calendar without business days")


@cache
def _closed_days(spec: CalendarSpec) -> frozenset[int]:
    return frozenset(int(d.astype("int64")) for d in _holiday_days(spec.holidays, spec.country))


def open_on(day: date, spec: CalendarSpec) -> bool:
    """Whether ``day`` is a business day (pure Python: fast for one day at a time)."""
    if spec.weekmask[day.weekday()] != "1":
        return False
    return day.toordinal() - UNIX_ORDINAL not in _closed_days(spec)


def hours_into_day(moment: datetime) -> float:
    return moment.hour + moment.minute / 60 + (moment.second + moment.microsecond / 1e6) / 3600


def business_hours_approx(
    start: datetime, end: datetime, zone: tzinfo, spec: CalendarSpec
) -> float:
    """:func:`business_hours` to within the hour a DST change may add or take (fast)."""
    a, b = start.astimezone(zone), end.astimezone(zone)
    if b <= a:
        return 0.0
    d0, d1 = a.date(), b.date()
    if d0 == d1:
        return (b - a).total_seconds() / 3600 if open_on(d0, spec) else 0.0
    first = 24 - hours_into_day(a) if open_on(d0, spec) else 0.0
    last = hours_into_day(b) if open_on(d1, spec) else 0.0
    middle, day = 0, d0 + timedelta(days=1)
    while day < d1:
        middle += open_on(day, spec)
        day += timedelta(days=1)
    return first + last + 24.0 * middle
