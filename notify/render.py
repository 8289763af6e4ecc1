"""Message rendering: notice facts in, email and SMS out.

The composer hands over one JSON-serialisable facts mapping per notice (orders with their
delayed items and shipments, the ETA or the next update time, cause, next steps, contact;
``tests/test_render.py`` has complete examples). This module

1. reads the facts strictly (a missing key is a ``RenderError``, never a fallback),
2. cleans every string that came from data (bidi controls, control characters, CR/LF,
   over-long names and titles),
3. prepares every display value in Python with Babel, in the customer's locale and zone
   (CLDR plurals, dates, percentages, lists), using the sentences in
   ``templates/wording/<language>.json``,
4. renders ``templates/<channel>/<kind>...`` in a sandboxed Jinja2 environment with
   ``StrictUndefined`` and autoescaping for ``.html``. Templates only print what step 3 made;
   data is never a template, so ``{{7*7}}`` in a name stays literal text,
5. inlines the email CSS (``css_inline``) and fits the SMS into two segments by dropping
   optional parts in a fixed order (see ``SMS_LEVELS``), never cutting into a date, an order
   number or a link.

``template_version`` is the SHA-256 of every template source and the wording file used, so a
send key changes when the words a customer reads change.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    UndefinedError,
    meta,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
CHANNELS = ("email", "sms")
SMS_MAX_SEGMENTS = 2

# Longest display length of strings that come from shop data (code points, before "…").
NAME_LIMIT = 40
TITLE_LIMIT = 80
SHORT_LIMIT = 60  # brand, carrier title
CONTACT_LIMIT = 160
ID_LIMIT = 64  # order ids and tracking numbers are never shortened: longer is an error

_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_LINE_BREAKS = frozenset("\r\n\t\v\f\x85\u2028\u2029")
_DANGLING = frozenset("\u200d\ufe0e\ufe0f")  # joiners / variation selectors left after a cut
_ELLIPSIS = "…"
_READ_FACTOR = 8  # clean_text reads at most this many times its limit

# GSM 03.38: the basic table (one septet each; ESC excluded) and the extension table (two).
_GSM_BASIC = frozenset(
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
_GSM_EXTENDED = frozenset("\f^{}\\[~]|€")
# Typography that has a GSM-7 equivalent; applied to SMS text only (Twilio calls this
# "smart encoding"): one curly quote would otherwise halve the room of the whole message.
_SMS_PLAIN = str.maketrans(
    {
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00d7": "x",
    }
)
_URL_RE = re.compile(r"https?://[^\s<>\"'`{}|\\^]+\Z")
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/#-]*\Z")
_KIND_RE = re.compile(r"[a-z][a-z_]*\Z")  # names templates and a wording section
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
_ISOLATED = frozenset({"name", "title"})  # placeholders holding free text typed by people


class RenderError(ValueError):
    """The facts cannot be rendered: a key is missing or a value is unusable.

    Messages name the key path, never the value (values may be personal data).
    """


@dataclass(frozen=True)
class RenderedMessage:
    """One rendered message for one channel."""

    channel: str
    subject: str | None  # None for sms
    html: str | None  # None for sms
    text: str
    sms_segments: int  # 0 for email
    encoding: str | None  # "GSM-7" | "UCS-2" for sms, None for email
    template_version: str


@dataclass(frozen=True)
class Phrase:
    """A sentence with data in it: ``parts`` are (text, is_data) so HTML can isolate data."""

    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(part for part, _ in self.parts)


# --------------------------------------------------------------------------- cleaning


def clean_text(value: str, limit: int) -> str:
    """Shop data made safe to print: no bidi controls, no control characters, one line.

    Line breaks and tabs become spaces, runs of whitespace collapse, and a value longer than
    ``limit`` code points is cut (never inside an emoji sequence) and ends with "…". Only the
    first ``8 * limit`` code points are read, so a megabyte-long name costs no more than a
    long one. The function is idempotent, so the gate can apply it to staged values.
    """
    window = limit * _READ_FACTOR
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", value[:window]):
        if char in _BIDI_CONTROLS:
            continue
        if char in _LINE_BREAKS:
            kept.append(" ")
        elif unicodedata.category(char) != "Cc":
            kept.append(char)
    text = " ".join("".join(kept).split())
    if len(text) <= limit and len(value) <= window:
        return text
    cut = text[: limit - 1]
    while cut and (cut[-1] in _DANGLING or unicodedata.combining(cut[-1]) or cut[-1].isspace()):
        cut = cut[:-1]
    return cut + _ELLIPSIS


def clean_title(title: str) -> str:
    """An item title as the customer sees it (the gate looks for exactly this)."""
    return clean_text(title, TITLE_LIMIT)


def clean_name(name: str) -> str:
    """A customer's first name as the customer sees it."""
    return clean_text(name, NAME_LIMIT)


# --------------------------------------------------------------------------- SMS counting


def sms_encoding(text: str) -> str:
    """ "GSM-7" when every character is in the GSM 03.38 tables, else "UCS-2"."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        return "GSM-7"
    return "UCS-2"


def sms_segments(text: str) -> tuple[int, str]:
    """Exact segment count and encoding of an SMS body.

    GSM-7: 160 septets in one part, 153 per part when concatenated; extension-table
    characters take two septets and are never split across parts. UCS-2: 70 UTF-16 units in
    one part, 67 per part; a surrogate pair (emoji) is never split.
    """
    encoding = sms_encoding(text)
    if encoding == "GSM-7":
        units = [2 if c in _GSM_EXTENDED else 1 for c in text]
        single, per_part = 160, 153
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, per_part = 70, 67
    if sum(units) <= single:
        return 1, encoding
    parts, room = 1, per_part
    for unit in units:
        if unit > room:
            parts, room = parts + 1, per_part
        room -= unit
    return parts, encoding


# --------------------------------------------------------------------------- facts


def _get(mapping: Any, key: str, path: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise RenderError(f"facts{path} must be an object")
    if key not in mapping:
        raise RenderError(f"facts{path} has no key {key!r}")
    return mapping[key]


def _str(mapping: Any, key: str, path: str) -> str:
    value = _get(mapping, key, path)
    if not isinstance(value, str):
        raise RenderError(f"facts{path}[{key!r}] must be a string")
    return value


def _list(mapping: Any, key: str, path: str) -> Sequence[Any]:
    value = _get(mapping, key, path)
    if not isinstance(value, list | tuple) or not value:
        raise RenderError(f"facts{path}[{key!r}] must be a non-empty list")
    return value


def _date(mapping: Any, key: str, path: str) -> date:
    try:
        return date.fromisoformat(_str(mapping, key, path))
    except ValueError as exc:
        raise RenderError(f"facts{path}[{key!r}] must be a date YYYY-MM-DD") from exc


def _number(mapping: Any, key: str, path: str) -> float:
    value = _get(mapping, key, path)
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        raise RenderError(f"facts{path}[{key!r}] must be a number")
    return float(value)


def _identifier(mapping: Any, key: str, path: str) -> str:
    value = _str(mapping, key, path)
    if len(value) > ID_LIMIT or not _ID_RE.match(value):
        raise RenderError(f"facts{path}[{key!r}] is not a printable identifier")
    return value


def _url(mapping: Any, key: str, path: str) -> str:
    value = _str(mapping, key, path)
    if not _URL_RE.match(value):
        raise RenderError(f"facts{path}[{key!r}] must be an http(s) URL without spaces")
    return value


@dataclass(frozen=True)
class _Item:
    title: str
    quantity: int


@dataclass(frozen=True)
class _Shipment:
    carrier_title: str
    tracking_number: str


@dataclass(frozen=True)
class _Order:
    order_id: str
    tracking_url: str
    promised_by: date
    items: tuple[_Item, ...]
    shipments: tuple[_Shipment, ...]


@dataclass(frozen=True)
class _Eta:
    earliest: date
    latest: date
    most_likely: date
    confidence: float | None  # None: too little history to claim one, so none is stated


@dataclass(frozen=True)
class _Notice:
    kind: str
    locale: Locale
    zone: ZoneInfo
    brand: str
    first_name: str
    orders: tuple[_Order, ...]
    eta: _Eta | None
    next_update_by: datetime | None
    cause: str
    next_steps: tuple[str, ...]
    contact: str


def _read_item(raw: Any, path: str) -> _Item:
    quantity = _get(raw, "quantity", path)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise RenderError(f"facts{path}['quantity'] must be a positive integer")
    return _Item(title=clean_title(_str(raw, "title", path)), quantity=quantity)


def _read_order(raw: Any, path: str) -> _Order:
    items = _list(raw, "items", path)
    shipments = _list(raw, "shipments", path)
    return _Order(
        order_id=_identifier(raw, "order_id", path),
        tracking_url=_url(raw, "tracking_url", path),
        promised_by=_date(raw, "promised_by", path),
        items=tuple(_read_item(it, f"{path}['items'][{i}]") for i, it in enumerate(items)),
        shipments=tuple(
            _Shipment(
                carrier_title=clean_text(
                    _str(s, "carrier_title", f"{path}['shipments'][{i}]"), SHORT_LIMIT
                ),
                tracking_number=_identifier(s, "tracking_number", f"{path}['shipments'][{i}]"),
            )
            for i, s in enumerate(shipments)
        ),
    )


def _read_eta(raw: Any) -> _Eta | None:
    if raw is None:
        return None
    eta = _Eta(
        earliest=_date(raw, "earliest", "['eta']"),
        latest=_date(raw, "latest", "['eta']"),
        most_likely=_date(raw, "most_likely", "['eta']"),
        confidence=_confidence(raw),
    )
    in_range = eta.confidence is None or 0.0 <= eta.confidence <= 1.0
    if not eta.earliest <= eta.most_likely <= eta.latest or not in_range:
        raise RenderError(
            "facts['eta'] needs earliest <= most_likely <= latest, 0 <= confidence <= 1"
        )
    return eta


def _confidence(raw: Any) -> float | None:
    """The key must be there; ``None`` is the composer saying it has no measured confidence."""
    if _get(raw, "confidence", "['eta']") is None:
        return None
    return _number(raw, "confidence", "['eta']")


def _read_next_update(raw: Any, zone: ZoneInfo) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RenderError("facts['next_update_by'] must be an ISO 8601 time with an offset")
    return moment.astimezone(zone)


def _read_locale(facts: Mapping[str, Any]) -> tuple[Locale, ZoneInfo]:
    try:
        locale = Locale.parse(_str(facts, "locale", ""), sep="-")
    except (ValueError, UnknownLocaleError) as exc:
        raise RenderError("facts['locale'] is not a BCP 47 locale Babel knows") from exc
    try:
        zone = ZoneInfo(_str(facts, "timezone", ""))
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise RenderError("facts['timezone'] is not an IANA time zone") from exc
    return locale, zone


def _read_facts(facts: Mapping[str, Any]) -> _Notice:
    locale, zone = _read_locale(facts)
    customer = _get(facts, "customer", "")
    for key in ("email", "phone"):  # part of the contract even though no message prints them
        _get(customer, key, "['customer']")
    orders = _list(facts, "orders", "")
    eta = _read_eta(_get(facts, "eta", ""))
    next_update_by = _read_next_update(_get(facts, "next_update_by", ""), zone)
    if (eta is None) == (next_update_by is None):
        raise RenderError("facts need exactly one of 'eta' and 'next_update_by'")
    steps = _list(facts, "next_steps", "")
    if not all(isinstance(step, str) for step in steps):
        raise RenderError("facts['next_steps'] must be a list of strings")
    kind = _str(facts, "kind", "")
    if not _KIND_RE.match(kind):
        raise RenderError("facts['kind'] must be a lower-case word such as 'delay'")
    return _Notice(
        kind=kind,
        locale=locale,
        zone=zone,
        brand=clean_text(_str(facts, "brand", ""), SHORT_LIMIT),
        first_name=clean_name(_str(customer, "first_name", "['customer']")),
        orders=tuple(_read_order(o, f"['orders'][{i}]") for i, o in enumerate(orders)),
        eta=eta,
        next_update_by=next_update_by,
        cause=_str(facts, "cause", ""),
        next_steps=tuple(steps),
        contact=clean_text(_str(facts, "contact", ""), CONTACT_LIMIT),
    )


# --------------------------------------------------------------------------- wording


@dataclass(frozen=True)
class _Wording:
    """One language's sentences, with the locale used to format numbers and dates."""

    data: Mapping[str, Any]
    locale: Locale

    def section(self, name: str) -> Mapping[str, Any]:
        section = self.data.get(name)
        if not isinstance(section, Mapping):
            raise RenderError(f"wording for {self.locale.language!r} has no section {name!r}")
        return section

    def pattern(self, section: str, key: str, plural: int | None = None) -> str:
        entry = self.section(section).get(key)
        if isinstance(entry, Mapping) and plural is not None:
            entry = entry.get(self.locale.plural_form(plural))
        if not isinstance(entry, str):
            raise RenderError(f"wording {self.locale.language}:{section}.{key} is missing")
        return entry

    def fill(self, section: str, key: str, plural: int | None = None, **values: str) -> str:
        return self.phrase(section, key, plural, **values).text

    def phrase(self, section: str, key: str, plural: int | None = None, **values: str) -> Phrase:
        """The sentence with its ``{placeholders}`` replaced; data stays marked as data.

        ``plural`` picks the CLDR plural category of that number when the entry has forms.
        """
        pattern = self.pattern(section, key, plural)
        parts: list[tuple[str, bool]] = []
        position = 0
        for match in _PLACEHOLDER_RE.finditer(pattern):
            name = match.group(1)
            if name not in values:
                raise RenderError(f"wording {section}.{key} uses unknown {{{name}}}")
            parts += [(pattern[position : match.start()], False), (values[name], name in _ISOLATED)]
            position = match.end()
            if values[name].endswith(".") and pattern.startswith(".", position):
                position += 1  # "12:00 p.m." ends the sentence itself: no second full stop
        parts.append((pattern[position:], False))
        return Phrase(parts=tuple(p for p in parts if p[0]))

    def keyed(self, section: str, key: str, length: str) -> str:
        entry = self.section(section).get(key)
        text = entry.get(length) if isinstance(entry, Mapping) else None
        if not isinstance(text, str):
            raise RenderError(f"wording {self.locale.language}:{section}.{key}.{length} is missing")
        return text


def _wording_path(language: str, templates_dir: Path) -> Path:
    return templates_dir / "wording" / f"{language}.json"


def supported_languages(templates_dir: Path = TEMPLATES_DIR) -> tuple[str, ...]:
    """Languages that have a wording file (the composer picks a locale among these)."""
    return tuple(sorted(p.stem for p in (templates_dir / "wording").glob("*.json")))


@functools.lru_cache(maxsize=32)
def _load_wording(path: Path, mtime_ns: int) -> Mapping[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise RenderError(f"{path.name} must hold a JSON object")
    return data


def _wording(locale: Locale, templates_dir: Path) -> tuple[_Wording, Path]:
    path = _wording_path(locale.language, templates_dir)
    if not path.is_file():
        known = ", ".join(supported_languages(templates_dir))
        raise RenderError(f"no wording for language {locale.language!r} (have: {known})")
    return _Wording(data=_load_wording(path, path.stat().st_mtime_ns), locale=locale), path


# --------------------------------------------------------------------------- display values


_YEAR_RE = re.compile(r"[\s,.]*(?:'[^']*'\s*)?y+\.?")


def _strip_year(pattern: str) -> str:
    """A CLDR full-date pattern without its year ("EEEE, MMMM d, y" -> "EEEE, MMMM d")."""
    return _YEAR_RE.sub("", pattern).strip(" ,")


class _Formatter:
    """Dates, numbers and lists in the customer's locale and zone."""

    def __init__(self, locale: Locale, zone: ZoneInfo) -> None:
        self.locale = locale
        self.zone = zone
        self._long = _strip_year(locale.date_formats["full"].pattern)

    def long_date(self, day: date) -> str:
        return format_date(day, self._long, locale=self.locale)

    def short_date(self, day: date) -> str:
        return format_skeleton("MMMEd", day, locale=self.locale)

    def moment(self, when: datetime, *, short: bool) -> str:
        day = self.short_date(when.date()) if short else self.long_date(when.date())
        clock = format_time(when, "short", tzinfo=self.zone, locale=self.locale)
        return str(self.locale.datetime_formats["medium"]).replace("{1}", day).replace("{0}", clock)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float) -> str:
        return format_percent(round(value, 2), locale=self.locale)

    def join(self, values: Iterable[str]) -> str:
        return format_list(list(values), locale=self.locale)


def _eta_values(notice: _Notice, w: _Wording, fmt: _Formatter) -> dict[str, str]:
    """ETA strings: the day or window (long and short) with confidence, or the update time."""
    eta = notice.eta
    if eta is None:
        assert notice.next_update_by is not None
        return {
            "eta_text": w.fill("phrases", "no_eta"),
            "eta_detail": w.fill(
                "phrases", "next_update", time=fmt.moment(notice.next_update_by, short=False)
            ),
            "eta_short": "",
            "update_short": fmt.moment(notice.next_update_by, short=True),
        }
    sure = fmt.percent(eta.confidence) if eta.confidence is not None else None
    if eta.earliest == eta.latest:
        text = w.fill("phrases", "eta_day", date=fmt.long_date(eta.earliest))
        short = fmt.short_date(eta.earliest)
        detail = w.fill("phrases", "confidence_day", percent=sure) if sure else ""
    else:
        text = w.fill(
            "phrases",
            "eta_window",
            earliest=fmt.long_date(eta.earliest),
            latest=fmt.long_date(eta.latest),
        )
        short = w.fill(
            "phrases",
            "eta_window_inline",
            earliest=fmt.short_date(eta.earliest),
            latest=fmt.short_date(eta.latest),
        )
        detail = w.fill("phrases", "eta_most_likely", date=fmt.long_date(eta.most_likely))
        if sure:
            detail += " " + w.fill("phrases", "confidence_window", percent=sure)
    return {"eta_text": text, "eta_detail": detail, "eta_short": short, "update_short": ""}


def _order_values(order: _Order, w: _Wording, fmt: _Formatter) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "heading": w.fill("phrases", "order_heading", id=order.order_id),
        "promised": w.fill("phrases", "promised", date=fmt.long_date(order.promised_by)),
        "items": [
            w.phrase("phrases", "item_line", quantity=fmt.number(it.quantity), title=it.title)
            for it in order.items
        ],
        "shipments": [
            w.fill("phrases", "shipment_line", carrier=s.carrier_title, number=s.tracking_number)
            for s in order.shipments
        ],
        "tracking_url": order.tracking_url,
        "track_label": w.fill("phrases", "track_link", id=order.order_id),
    }


def _display(notice: _Notice, w: _Wording) -> dict[str, Any]:
    """Everything the templates print, as finished strings."""
    fmt = _Formatter(notice.locale, notice.zone)
    ids = [o.order_id for o in notice.orders]
    n_orders = len(ids)
    ids_text = fmt.join(ids)
    n_items = sum(it.quantity for o in notice.orders for it in o.items)
    eta = _eta_values(notice, w, fmt)
    cause = w.keyed("causes", notice.cause, "long")
    greeting = (
        w.phrase("phrases", "greeting", name=notice.first_name)
        if notice.first_name
        else w.phrase("phrases", "greeting_no_name")
    )
    if notice.eta is not None:
        subject = w.fill(notice.kind, "subject", n_orders, ids=ids_text, eta=eta["eta_short"])
        preheader = w.fill(notice.kind, "preheader", eta=eta["eta_short"], cause=cause)
    else:
        update = eta["update_short"]
        subject = w.fill(notice.kind, "subject_no_eta", n_orders, ids=ids_text, update=update)
        preheader = w.fill(notice.kind, "preheader_no_eta", update=update, cause=cause)
    return {
        "lang": notice.locale.language,
        "dir": w.data.get("direction", "ltr"),
        "brand": notice.brand,
        "subject": subject,
        "preheader": preheader,
        "greeting": greeting,
        "headline": w.fill(notice.kind, "headline", n_orders, ids=ids_text),
        "intro": w.fill(
            notice.kind,
            "intro",
            n_items,
            items=w.fill("phrases", "item_count", n_items, count=fmt.number(n_items)),
            orders=w.fill("phrases", "order_ids_ref", n_orders, ids=ids_text),
        ),
        "labels": w.section("labels"),
        "orders": [_order_values(o, w, fmt) for o in notice.orders],
        "cause": cause,
        "next_steps": [w.keyed("next_steps", key, "long") for key in notice.next_steps],
        "contact": w.fill("phrases", "contact", contact=notice.contact),
        "footer": w.fill("phrases", "footer", brand=notice.brand),
        **eta,
    }


# --------------------------------------------------------------------------- SMS shortening


@dataclass(frozen=True)
class _SmsLevel:
    greeting: bool
    items: bool
    long_cause: bool
    next_steps: bool
    promised: bool


# Dropped in this order until the message fits in two segments: the item list, the long cause
# (for its short form), the greeting, the next steps, and last the promised date (the customer
# knows it; the email states it). The brand, order numbers, new date or update time, cause,
# links and contact always stay, and nothing is ever cut mid-word.
SMS_LEVELS = (
    _SmsLevel(greeting=True, items=True, long_cause=True, next_steps=True, promised=True),
    _SmsLevel(greeting=True, items=False, long_cause=True, next_steps=True, promised=True),
    _SmsLevel(greeting=True, items=False, long_cause=False, next_steps=True, promised=True),
    _SmsLevel(greeting=False, items=False, long_cause=False, next_steps=True, promised=True),
    _SmsLevel(greeting=False, items=False, long_cause=False, next_steps=False, promised=True),
    _SmsLevel(greeting=False, items=False, long_cause=False, next_steps=False, promised=False),
)


def _sms_eta(notice: _Notice, w: _Wording, fmt: _Formatter) -> str:
    kind, eta = notice.kind, notice.eta
    if eta is None:
        assert notice.next_update_by is not None
        return w.fill(kind, "sms_no_eta", update=fmt.moment(notice.next_update_by, short=True))
    if eta.earliest == eta.latest:
        return w.fill(kind, "sms_eta", eta=fmt.short_date(eta.earliest))
    window = w.fill(
        "phrases",
        "eta_window_sms",
        earliest=fmt.short_date(eta.earliest),
        latest=fmt.short_date(eta.latest),
    )
    return w.fill(kind, "sms_eta", eta=window)


def _sms_parts(notice: _Notice, w: _Wording) -> dict[str, str]:
    """Every part an SMS may contain, formatted once; the levels choose among them."""
    fmt = _Formatter(notice.locale, notice.zone)
    kind = notice.kind
    items = fmt.join(
        w.fill("phrases", "item_line_sms", quantity=fmt.number(it.quantity), title=it.title)
        for o in notice.orders
        for it in o.items
    )
    promised = fmt.short_date(min(o.promised_by for o in notice.orders))
    return {
        "brand": notice.brand,
        "greeting": (
            w.fill(kind, "sms_greeting", name=notice.first_name) if notice.first_name else ""
        ),
        "headline": w.fill(
            kind,
            "sms_headline",
            len(notice.orders),
            ids=fmt.join(o.order_id for o in notice.orders),
        ),
        "eta": _sms_eta(notice, w, fmt),
        "promised": w.fill(kind, "sms_promised", promised=promised),
        "items": w.fill(kind, "sms_items", items=items),
        "cause_long": w.fill(kind, "sms_cause", cause=w.keyed("causes", notice.cause, "long")),
        "cause_short": w.fill(kind, "sms_cause", cause=w.keyed("causes", notice.cause, "short")),
        "next_steps": " ".join(w.keyed("next_steps", key, "short") for key in notice.next_steps),
        "track": w.fill(kind, "sms_track", urls=" ".join(o.tracking_url for o in notice.orders)),
        "help": w.fill(kind, "sms_help", contact=notice.contact),
    }


def _sms_context(parts: Mapping[str, str], level: _SmsLevel) -> dict[str, str]:
    return {
        "brand": parts["brand"],
        "greeting": parts["greeting"] if level.greeting else "",
        "headline": parts["headline"],
        "eta": parts["eta"],
        "promised": parts["promised"] if level.promised else "",
        "items": parts["items"] if level.items else "",
        "cause": parts["cause_long"] if level.long_cause else parts["cause_short"],
        "next_steps": parts["next_steps"] if level.next_steps else "",
        "track": parts["track"],
        "help": parts["help"],
    }


# --------------------------------------------------------------------------- templates


@functools.lru_cache(maxsize=4)
def _environment(templates_dir: Path) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
    )


@functools.lru_cache(maxsize=256)
def _references(templates_dir: Path, name: str, mtime_ns: int) -> tuple[str, ...]:
    """The templates one template extends, includes or imports (parsed once per version)."""
    env = _environment(templates_dir)
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, name)
    return tuple(ref for ref in meta.find_referenced_templates(env.parse(source)) if ref)


def _template_files(templates_dir: Path, names: Iterable[str]) -> list[str]:
    """The named templates and everything they pull in, sorted."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            mtime = (templates_dir / name).stat().st_mtime_ns
            pending += _references(templates_dir, name, mtime)
    return sorted(seen)


@functools.lru_cache(maxsize=64)
def _hash_files(files: tuple[tuple[str, Path, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, path, _ in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _template_version(templates_dir: Path, names: Iterable[str], wording: Path) -> str:
    """SHA-256 over the template names and sources used plus the wording file.

    Names are relative ("email/delay.html", "wording/en.json"), so the version is the same
    wherever the templates are installed. Recomputed only when a file's mtime changes.
    """
    files = [(name, templates_dir / name) for name in _template_files(templates_dir, names)]
    files.append((f"wording/{wording.name}", wording))
    return _hash_files(tuple((name, path, path.stat().st_mtime_ns) for name, path in files))


def _template(templates_dir: Path, name: str) -> Template:
    try:
        return _environment(templates_dir).get_template(name)
    except TemplateNotFound as exc:
        raise RenderError(f"no template {name!r} in {templates_dir}") from exc


def _run(template: Template, context: Mapping[str, Any]) -> str:
    try:
        return template.render(context)
    except SecurityError as exc:
        raise RenderError(f"template {template.name!r} tried unsafe access: {exc}") from exc
    except UndefinedError as exc:
        raise RenderError(f"template {template.name!r}: {exc.message}") from exc


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tidy_text(text: str) -> str:
    """Plain-text body: no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _inline_css(html: str) -> str:
    import css_inline

    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
    return str(inliner.inline(html))


def _render_email(
    notice: _Notice, w: _Wording, wording_path: Path, templates_dir: Path
) -> RenderedMessage:
    names = [f"email/{notice.kind}.{part}" for part in ("subject.txt", "html", "txt")]
    context = _display(notice, w)
    subject = _one_line(_run(_template(templates_dir, names[0]), context))
    context["subject"] = subject
    return RenderedMessage(
        channel="email",
        subject=subject,
        html=_inline_css(_run(_template(templates_dir, names[1]), context)),
        text=_tidy_text(_run(_template(templates_dir, names[2]), context)),
        sms_segments=0,
        encoding=None,
        template_version=_template_version(templates_dir, names, wording_path),
    )


def _render_sms(
    notice: _Notice, w: _Wording, wording_path: Path, templates_dir: Path
) -> RenderedMessage:
    name = f"sms/{notice.kind}.txt"
    template = _template(templates_dir, name)
    parts = _sms_parts(notice, w)
    text, segments, encoding = "", 0, "GSM-7"
    for level in SMS_LEVELS:
        text = _one_line(_run(template, _sms_context(parts, level)).translate(_SMS_PLAIN))
        segments, encoding = sms_segments(text)
        if segments <= SMS_MAX_SEGMENTS:
            break
    return RenderedMessage(
        channel="sms",
        subject=None,
        html=None,
        text=text,
        sms_segments=segments,
        encoding=encoding,
        template_version=_template_version(templates_dir, [name], wording_path),
    )


_RENDERERS: dict[str, Callable[[_Notice, _Wording, Path, Path], RenderedMessage]] = {
    "email": _render_email,
    "sms": _render_sms,
}


def render(
    facts: Mapping[str, Any], channel: str, *, templates_dir: Path = TEMPLATES_DIR
) -> RenderedMessage:
    """Render one notice for one channel ("email" or "sms").

    Raises RenderError when the facts, the wording or the templates cannot make a complete
    message. An SMS that still needs more than two segments after every shortening step is
    returned with its true ``sms_segments``: the gate refuses it, nothing is cut silently.
    """
    if channel not in _RENDERERS:
        raise RenderError(f"unknown channel {channel!r} (have: {', '.join(CHANNELS)})")
    notice = _read_facts(facts)
    wording, wording_path = _wording(notice.locale, templates_dir)
    if notice.cause not in wording.section("causes"):
        raise RenderError(f"facts['cause'] {notice.cause!r} has no wording")
    return _RENDERERS[channel](notice, wording, wording_path, templates_dir)


def render_preview(
    facts: Mapping[str, Any], *, templates_dir: Path = TEMPLATES_DIR
) -> dict[str, RenderedMessage]:
    """Every message the customer would get: email if they have an address, SMS if a phone."""
    customer = _get(facts, "customer", "")
    channels = [
        channel
        for channel, key in (("email", "email"), ("sms", "phone"))
        if _get(customer, key, "['customer']")
    ]
    return {channel: render(facts, channel, templates_dir=templates_dir) for channel in channels}
