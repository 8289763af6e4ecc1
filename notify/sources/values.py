"""Shop database values turned into the order-file contract's text values.

A SQL mapping returns whatever types the shop's columns have; these functions make them the
strings the contract (and its validation in :mod:`notify.orders`) expects: ids as text, times
ISO 8601 with offset, whole quantities without decimals, booleans ``true``/``false``, locales
in BCP 47 and carrier names in our lower-case codes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

# Shop carrier codes and titles (Magento carrier_code / custom titles, WooCommerce tracking
# provider slugs and names) -> our carrier codes. Keys are normalised: lower case, words
# separated by single spaces. A mapping adds its own in mapping.toml [carriers].
CARRIER_ALIASES: dict[str, str] = {
    "ups": "ups",
    "united parcel service": "ups",
    "ups ground": "ups",
    "ups mail innovations": "ups",
    "fedex": "fedex",
    "federal express": "fedex",
    "fedex ground": "fedex",
    "fedex express": "fedex",
    "fedex sameday": "fedex",
    "fedex smartpost": "fedex",
    "usps": "usps",
    "united states postal service": "usps",
    "us postal service": "usps",
    "u s postal service": "usps",
    "dhl": "dhl",
    "dhl us": "dhl",
    "dhl express": "dhl",
    "dhl ecommerce": "dhl",
    "dhl ecommerce solutions": "dhl",
    "dhl parcel": "dhl",
    "dhl paket": "dhl",
    "deutsche post dhl": "dhl",
    "canada post": "canadapost",
    "postes canada": "canadapost",
    "canadapost": "canadapost",
    "amazon": "amazon",
    "amazon shipping": "amazon",
    "amazon logistics": "amazon",
    "pitney bowes": "pitneybowes",
    "pitneybowes": "pitneybowes",
}

_WORDS = re.compile(r"[^0-9a-z]+")


def _words(text: str) -> str:
    return _WORDS.sub(" ", text.lower()).strip()


def carrier_code(raw: str, aliases: dict[str, str] | None = None) -> str:
    """Our carrier code for a shop's carrier code or title; unknown ones become a slug.

    Exact (normalised) aliases win; otherwise a well-known carrier word at the start of the
    title decides ("UPS 2nd Day Air" -> ups). Anything else keeps its own name as a slug
    (``La Poste`` -> ``la_poste``), so it is stored and visible but never guessed.
    """
    words = _words(raw)
    if not words:
        return ""
    table = {**CARRIER_ALIASES, **{_words(k): v for k, v in (aliases or {}).items()}}
    if words in table:
        return table[words]
    first = words.split(" ")[0]
    if first in ("ups", "fedex", "usps", "dhl"):
        return first
    slug = words.replace(" ", "_")
    return slug if slug[0].isalpha() else f"c_{slug}"


def bcp47(locale: str) -> str:
    """``en_US`` (Magento, WordPress) -> ``en-US``; anything else unchanged."""
    return locale.strip().replace("_", "-")


def as_text(value: Any, zone: ZoneInfo | None = None) -> str:
    """One shop value as contract text; naive times are in ``zone`` (default UTC)."""
    if value.__class__ is str:
        return str(value).strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=zone or UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace").strip()
    return str(value).strip()


def as_time_text(value: Any, zone: ZoneInfo | None = None) -> str:
    """A time column as contract text: like :func:`as_text`, and a time the shop keeps as
    text without an offset ("2026-11-20 15:30:00", SQLite, varchar columns) is read in
    ``zone`` too. Dates and anything unreadable stay as they are (validation names them)."""
    text = as_text(value, zone)
    if isinstance(value, str) and len(text) > 10:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return text
        if parsed.tzinfo is None:
            return as_text(parsed, zone)
    return text


def as_flag(text: str) -> str:
    """Shop yes/no values (1/0, yes/no, true/false, on/off) as ``true``/``false``."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return "true"
    if lowered in ("0", "false", "no", "n", "off"):
        return "false"
    return text
