"""Vectorised time for the simulator: instants, local wall clocks, calendars, ISO text.

Instants are int64 seconds since the Unix epoch (UTC); ``NEVER`` marks something that does
not happen. Local days are int64 days since the epoch. Zone offsets come from ``zoneinfo``
once per zone and hour over the world's span, so converting millions of instants is a
table lookup (every zone used changes offset on a whole UTC hour). A wall-clock time in a
DST gap or fold is resolved deterministically; text is always written with the offset in
force at the instant, so it is exact. Business days come from numpy busday calendars with
US federal holidays from the ``holidays`` package.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import numpy as np
from numpy.typing import NDArray

from notify.simulate.catalog import MAJOR_HOLIDAYS, SERVICES

Arr = NDArray[Any]
NEVER = np.int64(2**62)  # an instant that never comes; sorts after every real one
DAY = 86_400
HOUR = 3_600
MINUTE = 60


class Clock:
    """UTC offsets of a fixed set of zones over a span, and conversions using them."""

    def __init__(self, zones: Sequence[str], t_from: int, t_to: int) -> None:
        self.zones = tuple(zones)
        self.t0 = (t_from // HOUR) * HOUR
        hours = (t_to - self.t0) // HOUR + 1
        self.offsets = np.empty((len(self.zones), hours), np.int64)
        for z, name in enumerate(self.zones):
            self.offsets[z] = _hourly_offsets(ZoneInfo(name), self.t0, hours)
        self._base = self.offsets[:, 0]

    def zone_index(self, name: str) -> int:
        return self.zones.index(name)

    def offset(self, zone: Arr | int, t: Arr) -> Arr:
        """UTC offset (seconds) in force at instant ``t`` in each zone."""
        hour = np.clip((t - self.t0) // HOUR, 0, self.offsets.shape[1] - 1)
        return self.offsets[zone, hour]

    def at(self, zone: Arr | int, day: Arr, seconds: Arr | int) -> Arr:
        """The instant of local wall-clock ``day`` + ``seconds`` in each zone."""
        naive = np.asarray(day, np.int64) * DAY + seconds
        guess = naive - self._base[zone]
        first = self.offset(zone, guess)
        return naive - self.offset(zone, naive - first)

    def day(self, zone: Arr | int, t: Arr) -> Arr:
        """Local calendar day of instant ``t`` (days since the epoch)."""
        return (t + self.offset(zone, t)) // DAY

    def seconds(self, zone: Arr | int, t: Arr) -> Arr:
        """Local seconds since midnight of instant ``t``."""
        return (t + self.offset(zone, t)) % DAY

    def iso(self, zone: Arr | int, t: Arr) -> Arr:
        """ISO 8601 text with the local offset; "" where ``t`` is NEVER."""
        t = np.asarray(t, np.int64)
        if not t.size:
            return np.empty(t.shape, dtype=object)
        real = t < NEVER
        safe = np.where(real, t, self.t0)
        off = self.offset(zone, safe)
        text = np.datetime_as_string((safe + off).astype("datetime64[s]"), unit="s")
        values, inverse = np.unique(off, return_inverse=True)
        suffix = np.array([offset_text(int(v)) for v in values])[inverse.reshape(-1)]
        out = np.strings.add(text.astype(str), suffix.reshape(np.shape(text)))
        return np.where(real, out, "")


def _hourly_offsets(zone: ZoneInfo, t0: int, hours: int) -> Arr:
    out = np.empty(hours, np.int64)
    for h in range(hours):
        moment = datetime.fromtimestamp(t0 + h * HOUR, UTC).astimezone(zone)
        delta = moment.utcoffset()
        out[h] = int(delta.total_seconds()) if delta is not None else 0
    return out


def offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // MINUTE
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def date_text(day: Arr) -> Arr:
    """YYYY-MM-DD for local days (days since the epoch)."""
    return np.datetime_as_string(np.asarray(day, np.int64).astype("datetime64[D]"), unit="D")


def to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    return int(moment.timestamp())


class Calendars:
    """Business-day calendars: one per service, and the warehouses' (Monday-Friday)."""

    def __init__(self, first_year: int, last_year: int) -> None:
        federal = holidays.country_holidays("US", years=range(first_year, last_year + 1))
        every = sorted(np.datetime64(d, "D") for d in federal)
        major = sorted(
            np.datetime64(d, "D")
            for d, name in federal.items()
            if any(name.startswith(h) for h in MAJOR_HOLIDAYS)
        )
        self.services = tuple(
            np.busdaycalendar(weekmask=s.weekmask, holidays=every if s.all_holidays else major)
            for s in SERVICES
        )
        self.warehouse = np.busdaycalendar(weekmask="1111100", holidays=major)

    def add(self, day: Arr, n: Arr | int, service: Arr) -> Arr:
        """Business day ``n`` service days after ``day`` (rolled forward to a service day)."""
        day = np.asarray(day, np.int64)
        n = np.broadcast_to(np.asarray(n, np.int64), day.shape)
        out = np.empty_like(day)
        for s in np.unique(service):
            pick = service == s
            out[pick] = _offset(day[pick], n[pick], self.services[int(s)])
        return out

    def ship_day(self, day: Arr) -> Arr:
        """The warehouse business day on or after ``day``."""
        return _offset(np.asarray(day, np.int64), np.zeros(len(day), np.int64), self.warehouse)


def _offset(day: Arr, n: Arr, calendar: np.busdaycalendar) -> Arr:
    dates = day.astype("datetime64[D]")
    moved = np.busday_offset(dates, n, roll="forward", busdaycal=calendar)
    return moved.astype(np.int64)
