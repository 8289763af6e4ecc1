"""Simulated customers: where they live (drawn once for the whole world) and their rows.

Addresses drive everything downstream (destination, zone, lane), so they are drawn for all
customers up front as small numeric arrays. Contact rows are produced chunk by chunk with
the imperfections a real shop has: missing and malformed emails, phones written in several
styles (some unusable), mixed opt-ins, a few households sharing one email address.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from notify.simulate.geo import Destinations
from notify.simulate.names import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, LOCALES

Arr = NDArray[Any]
CUSTOMER_COLUMNS = (
    "customer_id", "first_name", "last_name", "email", "phone", "locale", "timezone",
    "email_opt_in", "sms_opt_in",
)  # fmt: skip
_FOLD = str.maketrans({"ß": "ss", "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "đ": "d"})


@dataclass(frozen=True)
class Addresses:
    """Per customer: destination city index, postal code and locale index."""

    city: Arr
    postal: Arr
    locale: Arr


def draw_addresses(count: int, places: Destinations, rng: np.random.Generator) -> Addresses:
    weight = np.array(places.weight)
    city = rng.choice(len(weight), size=count, p=weight / weight.sum())
    spread = np.array(places.postal_spread)[city]
    step = (rng.random(count) * (spread + 1)).astype(np.int64)
    base = np.array(places.postal_base, dtype=object)[city]
    numeric = np.array([b.isdigit() for b in places.postal_base])[city]
    postal = np.where(
        numeric,
        np.strings.zfill((np.where(numeric, base, "0").astype(np.int64) + step).astype(str), 5),
        base.astype(str),
    )
    country = np.array(places.country)[city]
    roll = rng.random(count)
    us_locale = np.select([roll < 0.88, roll < 0.98], [0, 1], 2)
    de_locale = np.where(roll < 0.9, 2, 0)
    locale = np.where(country == "US", us_locale, np.where(country == "DE", de_locale, 0))
    return Addresses(city=city, postal=postal.astype(object), locale=locale)


@cache
def _fold(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name.translate(_FOLD))
    return "".join(c for c in plain.lower() if c.isascii() and c.isalnum())


def _pick_names(pool: tuple[str, ...], count: int, rng: np.random.Generator) -> list[str]:
    weight = np.array([1.0 if n.isascii() else 0.3 for n in pool])
    return [pool[i] for i in rng.choice(len(pool), size=count, p=weight / weight.sum())]


def _names(locale: Arr, rng: np.random.Generator) -> tuple[Arr, Arr]:
    first = np.empty(len(locale), dtype=object)
    last = np.empty(len(locale), dtype=object)
    for index, code in enumerate(LOCALES):
        pick = np.flatnonzero(locale == index)
        first[pick] = _pick_names(FIRST_NAMES[code], len(pick), rng)
        last[pick] = _pick_names(LAST_NAMES[code], len(pick), rng)
    return first, last


def _emails(ids: list[str], first: Arr, last: Arr, rng: np.random.Generator) -> list[str]:
    count = len(ids)
    style = rng.integers(0, 4, count)
    suffix = rng.integers(1, 100, count)
    with_number = rng.random(count) < 0.4
    domain = rng.integers(0, len(EMAIL_DOMAINS), count)
    out = []
    for i in range(count):
        f, g = _fold(first[i]), _fold(last[i])
        if not f or not g:
            local = f"customer{ids[i][1:].lstrip('0')}"
        else:
            local = (f"{f}.{g}", f"{f}{g}", f"{f[0]}.{g}", f"{f}_{g}")[style[i]]
        if with_number[i]:
            local += str(suffix[i])
        out.append(f"{local}@{EMAIL_DOMAINS[domain[i]]}")
    return out


def _spoil_emails(emails: list[str], rng: np.random.Generator) -> Arr:
    """Missing, malformed and shared addresses, as a real customer table has."""
    out = np.array(emails, dtype=object)
    roll = rng.random(len(out))
    kinds = rng.integers(0, 3, len(out))
    for i in np.flatnonzero((roll >= 0.04) & (roll < 0.06)):
        e = str(out[i])
        broken = [e.replace("@", " at "), e.split("@")[0] + "@", e.replace("@", "@@")]
        out[i] = broken[kinds[i]]
    shared = np.flatnonzero((roll >= 0.06) & (roll < 0.066))
    shared = shared[shared > 0]
    out[shared] = out[shared - 1]
    out[roll < 0.04] = ""
    return out


def _phones(area: Arr, us: Arr, rng: np.random.Generator) -> tuple[Arr, Arr]:
    """Phones in the fictional 555-01xx range, written in several styles; some unusable."""
    count = len(area)
    line = rng.integers(0, 100, count)
    style = rng.integers(0, 4, count)
    roll = rng.random(count)
    present = np.where(us, roll < 0.65, roll < 0.2)
    invalid = present & (rng.random(count) < 0.03)
    out = np.full(count, "", dtype=object)
    for i in np.flatnonzero(present):
        a, n = area[i] or "212", f"{line[i]:02d}"
        if invalid[i]:
            out[i] = (f"555-01{n}", f"{a}-555-01", "call after 5pm", f"{a}-555-01{n}0")[style[i]]
        else:
            out[i] = (f"({a}) 555-01{n}", f"{a}-555-01{n}", f"+1 {a} 555 01{n}", f"{a}55501{n}")[
                style[i]
            ]
    return out, present & ~invalid


def customer_rows(
    addresses: Addresses,
    places: Destinations,
    id_text: Arr,
    rng: np.random.Generator,
) -> dict[str, Arr]:
    """The customers.csv columns for these customers (``id_text`` their ids)."""
    count = len(addresses.city)
    first, last = _names(addresses.locale, rng)
    emails = _spoil_emails(_emails(list(id_text), first, last, rng), rng)
    area = np.array(places.area_code, dtype=object)[addresses.city]
    us = np.array(places.country)[addresses.city] == "US"
    phones, phone_ok = _phones(area, us, rng)
    has_email = emails != ""
    email_opt = np.where(has_email, rng.random(count) < 0.8, rng.random(count) < 0.1)
    sms_opt = np.where(phone_ok, rng.random(count) < 0.4, rng.random(count) < 0.01)
    return {
        "customer_id": id_text,
        "first_name": first,
        "last_name": last,
        "email": emails,
        "phone": phones,
        "locale": np.array(LOCALES, dtype=object)[addresses.locale],
        "timezone": np.array(places.zone, dtype=object)[addresses.city],
        "email_opt_in": np.where(email_opt, "true", "false"),
        "sms_opt_in": np.where(sms_opt, "true", "false"),
    }
