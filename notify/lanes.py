"""Lanes: where a parcel comes from and goes to, at the grain the ETA model learns on.

A lane is (carrier, service, origin, destination). Origin and destination are known at
three grains: the US state (from the first three digits of the ZIP code) or the country
abroad, the region (a group of states served by one regional sort hub; the grouping is
data in the rules file), and nothing (the whole service). The model learns on the finest
grain that has enough delivered history and falls back to coarser ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from zoneinfo import ZoneInfo

from carriers.models import Location
from carriers.timezones import zone_for

# First three ZIP digits (inclusive ranges) -> state. Military and territory prefixes are
# left out on purpose: they fall back to the country.
_ZIP3_RANGES = """
005 005 NY|010 027 MA|028 029 RI|030 038 NH|039 049 ME|050 054 VT|055 055 MA|056 059 VT
060 069 CT|070 089 NJ|100 149 NY|150 196 PA|197 199 DE|200 200 DC|201 201 VA|202 205 DC
206 219 MD|220 246 VA|247 268 WV|270 289 NC|290 299 SC|300 319 GA|320 339 FL|341 349 FL
350 369 AL|370 385 TN|386 397 MS|398 399 GA|400 427 KY|430 459 OH|460 479 IN|480 499 MI
500 528 IA|530 549 WI|550 567 MN|569 569 DC|570 577 SD|580 588 ND|590 599 MT|600 629 IL
630 658 MO|660 679 KS|680 693 NE|700 714 LA|716 729 AR|730 749 OK|750 799 TX|800 816 CO
820 831 WY|832 838 ID|840 847 UT|850 865 AZ|870 884 NM|885 885 TX|889 898 NV|900 961 CA
967 968 HI|970 979 OR|980 994 WA|995 999 AK
"""


@cache
def _zip3_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for part in _ZIP3_RANGES.replace("\n", "|").split("|"):
        if not part.strip():
            continue
        lo, hi, state = part.split()
        for prefix in range(int(lo), int(hi) + 1):
            table[prefix] = state
    return table


def us_state(postal_code: str | None) -> str | None:
    """The US state of a ZIP code (5 digits or ZIP+4), or None when unknown."""
    if not postal_code:
        return None
    digits = postal_code.strip()[:3]
    if len(digits) < 3 or not digits.isdigit():
        return None
    return _zip3_table().get(int(digits))


def place(postal_code: str | None, country: str | None) -> str:
    """A lane end at the finest grain: ``US-<state>`` in the US, else the country code."""
    country = (country or "US").strip().upper()
    if country in ("US", "USA"):
        state = us_state(postal_code)
        return f"US-{state}" if state else "US"
    return country


def region(place_code: str, regions: Mapping[str, str]) -> str:
    """The region of a lane end (``regions`` maps states and countries to region names)."""
    return regions.get(place_code, place_code)


@cache
def zone_of(place_code: str) -> ZoneInfo | None:
    """The dominant time zone of a lane end (``US-<state>`` or a country), or None."""
    if place_code.startswith("US-"):
        return zone_for(Location(region=place_code[3:], country="US"))
    return zone_for(Location(country=place_code))
