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

import dataclasses
import functools
import hashlib
import json
import math
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time, get_timezone_name
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

from notify.next_steps import PERSON, WAIT, next_steps

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
# Typography, and accented letters GSM-7 lacks, replaced by their nearest GSM-7 character;
# applied to SMS text only (Twilio calls this "smart encoding"): one curly quote or one
# Spanish "á" would otherwise switch the whole message to UCS-2 and halve its room.
# The GSM-7 letters (é, ñ, ü, ö, ä, à, è, ì, ò, ù, ß, ...) stay as they are.
_SMS_PLAIN = str.maketrans(
    {
        **dict(zip("áíóúâêîôûãõçëïÁÍÓÚÂÊÎÔÛÃÕËÏ", "aiouaeiouaoceiAIOUAEIOUAOEI", strict=True)),
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
        "\u00ab": '"',
        "\u00bb": '"',
        "\u201e": '"',
        "\u201a": "'",
        "\u2039": "'",
        "\u203a": "'",
    }
)
_SMS_PLAIN_PAIRS = tuple((chr(code), str(plain)) for code, plain in _SMS_PLAIN.items())
_URL_RE = re.compile(r"https?://[^\s<>\"'`{}|\\^]+\Z")
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/#-]*\Z")
_KIND_RE = re.compile(r"[a-z][a-z_]*\Z")  # names templates and a wording section
# Follow-ups to a delay notice: the parcels arrived after all, or the trouble cleared and the
# carrier's date is back within the promise. Their 'eta' is that day (or days), never an
# update time: a follow-up only goes out when there is a date to state.
FOLLOW_UP_KINDS = frozenset({"delivered", "resolved"})
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
# Placeholders holding free text typed by people (shop data, carrier scan locations).
_ISOLATED = frozenset({"name", "title", "place"})
SMS_TITLE_LIMIT = 24  # an item title in an SMS that cannot fit the full titles
SMS_TINY_TITLE_LIMIT = 14  # the last resort before an SMS is refused for its length
_SMS_DROPPED = frozenset({"So", "Sk", "Cf", "Mn"})  # symbols, emoji modifiers and joiners
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]\Z")


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


def sms_title(title: str, limit: int = SMS_TITLE_LIMIT) -> str:
    """An item title in its short SMS form (used when the full titles do not fit).

    Symbols such as emoji are left out first (one of them would switch the whole SMS to
    UCS-2 and halve its room), unless nothing else is left; then the title is cut, at a
    word boundary when there is one in its second half.
    """
    plain = "".join(c for c in title if unicodedata.category(c) not in _SMS_DROPPED)
    full = clean_title(plain) or clean_title(title)
    if len(full) <= limit:
        return full
    head = full[: limit - 1]
    space = head.rfind(" ")
    if not full[len(head)].isspace() and space >= limit // 2:
        head = head[:space]  # the cut fell inside a word: end at the word before
    return clean_text(head.rstrip(" ,;:-") + _ELLIPSIS, limit)


def sms_plain(text: str) -> str:
    """Text with the typography SMS replaces by GSM-7 equivalents already replaced.

    Chained ``str.replace`` of the few characters present: ``str.translate`` with a table is
    ~20x slower on the long, mostly ASCII texts the gate compares.
    """
    for char, plain in _SMS_PLAIN_PAIRS:
        if char in text:
            text = text.replace(char, plain)
    return text


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
class _Problem:
    """A problem the carrier reported on parcels a delay notice tells apart (not late)."""

    cause: str
    next_steps: tuple[str, ...]
    awaits_customer: bool = False  # held for the customer's answer, no day until then
    at_risk: bool = False  # could miss the promised day (held, no end known; ADR 0016)


@dataclass(frozen=True)
class _Order:
    order_id: str
    tracking_url: str
    promised_by: date
    items: tuple[_Item, ...]
    shipments: tuple[_Shipment, ...]
    problem: _Problem | None = None


@dataclass(frozen=True)
class _Eta:
    earliest: date
    latest: date
    most_likely: date
    confidence: float | None  # None: too little history to claim one, so none is stated


@dataclass(frozen=True)
class _Hours:
    days: tuple[int, ...]  # 0 = Monday
    opens: time
    closes: time


@dataclass(frozen=True)
class _Contact:
    route: str  # how to reach a person: address, phone number
    hours: tuple[_Hours, ...]
    zone: ZoneInfo  # the zone the hours are given in


@dataclass(frozen=True)
class _Evidence:
    """What the carrier did, for a delay whose cause it did not state."""

    kind: str  # the delay episode's kind (exception, late_eta, stalled, ...)
    carrier_title: str
    at: datetime | None  # the carrier's event (or last scan), in the customer's zone
    place: str | None
    stop_place: str | None = None  # the stopped hub behind the cause (an incident), if any
    stop_since: datetime | None = None  # when that stop began, in the customer's zone


@dataclass(frozen=True)
class _CauseGroup:
    """One cause of a notice whose orders are late for different reasons, and its orders."""

    cause: str
    order_ids: tuple[str, ...]
    evidence: _Evidence | None
    next_steps: tuple[str, ...]
    items: tuple[str, ...] = ()  # the titles, when an order is split across causes

    def named(self, fmt: _Formatter, sms: bool, bare: bool = False) -> str:
        return _named(self.order_ids, () if bare else self.items, fmt, sms)


@dataclass(frozen=True)
class _DateGroup:
    """One window of a notice whose orders have different ones, and its orders."""

    order_ids: tuple[str, ...]
    eta: _Eta | None  # None: no date yet (the notice's next update says when we write)
    items: tuple[str, ...] = ()  # the titles, when an order is split across windows

    def named(self, fmt: _Formatter, sms: bool, bare: bool = False) -> str:
        return _named(self.order_ids, () if bare else self.items, fmt, sms)


def _named(order_ids: Sequence[str], items: Sequence[str], fmt: _Formatter, sms: bool) -> str:
    """Orders as a line names them, with the items when an order is split: "O1 (Desk lamp)"."""
    ids = fmt.join(order_ids)
    if not items:
        return ids
    titles = [sms_title(t, SMS_TINY_TITLE_LIMIT) if sms else t for t in items]
    return f"{ids} ({fmt.join(titles)})"


@dataclass(frozen=True)
class _Previous:
    """The last notice we sent about these parcels (this one is a second delay)."""

    sent_on: date
    eta: _Eta | None
    next_update_by: datetime | None


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
    cause_evidence: _Evidence | None
    next_steps: tuple[str, ...]
    contact: _Contact
    previous: _Previous | None
    causes: tuple[_CauseGroup, ...] = ()  # each order's own cause, when they differ
    escalated: tuple[str, ...] = ()  # the late orders a person now holds (a case)
    not_coming: bool = False  # every late parcel is lost, on its way back, refused, ...
    dates: tuple[_DateGroup, ...] = ()  # each order's own window, when they differ
    awaits_customer: bool = False  # the carrier holds every parcel for the customer's answer
    at_risk: bool = False  # an attention notice whose parcels could miss the promised day

    def key(self, w: _Wording, key: str) -> str:
        """The kind's wording key, or its ``_gone`` form for parcels that will not come, or its
        ``_at_risk`` form for parcels that could miss the promised day."""
        for flag, form in ((self.not_coming, f"{key}_gone"), (self.at_risk, f"{key}_at_risk")):
            if flag and w.has(self.kind, form):
                return form
        return key

    orders_url: str | None = None  # the page of all the customer's orders (the shop's)

    @property
    def told(self) -> tuple[_Order, ...]:
        """The orders the notice is about (a delay notice: the late ones)."""
        return tuple(o for o in self.orders if o.problem is None)

    @property
    def problems(self) -> tuple[_Order, ...]:
        """Orders with a problem parcel told apart in a delay notice."""
        return tuple(o for o in self.orders if o.problem is not None)


def _read_item(raw: Any, path: str) -> _Item:
    quantity = _get(raw, "quantity", path)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise RenderError(f"facts{path}['quantity'] must be a positive integer")
    return _Item(title=clean_title(_str(raw, "title", path)), quantity=quantity)


def _read_problem(raw: Any, path: str) -> _Problem | None:
    """An order entry's optional ``problem``: its cause and next steps."""
    if not isinstance(raw, Mapping) or "problem" not in raw:
        return None
    problem = raw["problem"]
    steps = _list(problem, "next_steps", f"{path}['problem']")
    if not steps or not all(isinstance(step, str) for step in steps):
        raise RenderError(
            f"facts{path}['problem']['next_steps'] must be a non-empty list of strings"
        )
    return _Problem(
        cause=_str(problem, "cause", f"{path}['problem']"),
        next_steps=tuple(steps),
        awaits_customer=_flag(problem, "awaits_customer", f"{path}['problem']"),
        at_risk=_flag(problem, "at_risk", f"{path}['problem']"),
    )


def _flag(raw: Mapping[str, Any], key: str, path: str) -> bool:
    """An optional true/false fact (absent: false)."""
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise RenderError(f"facts{path}['{key}'] must be true or false")
    return value


def _read_order(raw: Any, path: str) -> _Order:
    items = _list(raw, "items", path)
    shipments = _list(raw, "shipments", path)
    return _Order(
        problem=_read_problem(raw, path),
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


def _read_eta(raw: Any, path: str = "['eta']") -> _Eta | None:
    if raw is None:
        return None
    eta = _Eta(
        earliest=_date(raw, "earliest", path),
        latest=_date(raw, "latest", path),
        most_likely=_date(raw, "most_likely", path),
        confidence=_confidence(raw, path),
    )
    in_range = eta.confidence is None or 0.0 <= eta.confidence <= 1.0
    if not eta.earliest <= eta.most_likely <= eta.latest or not in_range:
        raise RenderError(
            f"facts{path} needs earliest <= most_likely <= latest, 0 <= confidence <= 1"
        )
    return eta


def _confidence(raw: Any, path: str) -> float | None:
    """The key must be there; ``None`` is the composer saying it has no measured confidence."""
    if _get(raw, "confidence", path) is None:
        return None
    return _number(raw, "confidence", path)


def _moment(raw: Any, zone: ZoneInfo, path: str) -> datetime | None:
    """An ISO 8601 time with an offset (or None), shown in ``zone``."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RenderError(f"facts{path} must be an ISO 8601 time with an offset")
    return moment.astimezone(zone)


def _zone(raw: Any, path: str) -> ZoneInfo:
    if not isinstance(raw, str) or not raw:
        raise RenderError(f"facts{path} must be an IANA time zone (it is missing)")
    try:
        return ZoneInfo(raw)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise RenderError(f"facts{path} is not an IANA time zone") from exc


@functools.lru_cache(maxsize=256)
def _parse_locale(tag: str) -> Locale:
    return Locale.parse(tag, sep="-")


def _read_locale(facts: Mapping[str, Any]) -> tuple[Locale, ZoneInfo]:
    try:
        locale = _parse_locale(_str(facts, "locale", ""))
    except (ValueError, UnknownLocaleError) as exc:
        raise RenderError("facts['locale'] is not a BCP 47 locale Babel knows") from exc
    return locale, _zone(_get(facts, "timezone", ""), "['timezone']")


def _clock(raw: Any, key: str, path: str) -> time:
    value = _str(raw, key, path)
    if not _CLOCK_RE.match(value):
        raise RenderError(f"facts{path}[{key!r}] must be a time HH:MM")
    return time.fromisoformat(value)


def _read_hours(raw: Any, path: str) -> _Hours:
    days = _list(raw, "days", path)
    if not all(isinstance(d, str) and d in _WEEKDAYS for d in days):
        raise RenderError(f"facts{path}['days'] must list weekdays as mon, tue, ... sun")
    opens, closes = _clock(raw, "opens", path), _clock(raw, "closes", path)
    if opens >= closes:
        raise RenderError(f"facts{path} must open before it closes")
    return _Hours(
        days=tuple(sorted({_WEEKDAYS.index(d) for d in days})), opens=opens, closes=closes
    )


def _read_contact(raw: Any) -> _Contact:
    """How to reach a person, and when: a route without opening hours is incomplete."""
    path = "['contact']"
    route = clean_text(_str(raw, "route", path), CONTACT_LIMIT)
    if not route:
        raise RenderError(f"facts{path}['route'] is empty")
    hours = _list(raw, "hours", path)
    return _Contact(
        route=route,
        hours=tuple(_read_hours(h, f"{path}['hours'][{i}]") for i, h in enumerate(hours)),
        zone=_zone(_get(raw, "timezone", path), f"{path}['timezone']"),
    )


def _read_evidence(raw: Any, zone: ZoneInfo, path: str = "['cause_evidence']") -> _Evidence | None:
    if raw is None:
        return None
    kind = _str(raw, "kind", path)
    place = _get(raw, "place", path)
    if place is not None and not isinstance(place, str):
        raise RenderError(f"facts{path}['place'] must be a string or null")
    stop = raw.get("stop")  # optional: facts composed before stops were named lack it
    stop_place = stop_since = None
    if stop is not None:
        stop_place = clean_text(_str(stop, "place", f"{path}['stop']"), SHORT_LIMIT) or None
        stop_since = _moment(_get(stop, "since", f"{path}['stop']"), zone, f"{path}['stop']")
    return _Evidence(
        kind=kind,
        carrier_title=clean_text(_str(raw, "carrier_title", path), SHORT_LIMIT),
        at=_moment(_get(raw, "at", path), zone, f"{path}['at']"),
        place=(clean_text(place, SHORT_LIMIT) if place else "") or None,
        stop_place=stop_place,
        stop_since=stop_since,
    )


def _read_causes(
    raw: Any, zone: ZoneInfo, cause: str, told: Sequence[_Order]
) -> tuple[_CauseGroup, ...]:
    """``facts['causes']``: optional (facts composed before it lack it); when given, two or
    more causes that between them cover every late order, the notice's ``cause`` among them."""
    if raw is None or raw == []:
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        raise RenderError("facts['causes'] must list two or more causes, or be empty")
    groups = []
    for i, entry in enumerate(raw):
        path = f"['causes'][{i}]"
        ids = _list(entry, "order_ids", path)
        steps = _list(entry, "next_steps", path)
        if not ids or not all(isinstance(x, str) for x in ids):
            raise RenderError(f"facts{path}['order_ids'] must be a non-empty list of order ids")
        if not steps or not all(isinstance(x, str) for x in steps):
            raise RenderError(f"facts{path}['next_steps'] must be a non-empty list of strings")
        items = _read_items(entry, path)
        groups.append(
            _CauseGroup(
                cause=_str(entry, "cause", path),
                order_ids=tuple(ids),
                evidence=_read_evidence(_get(entry, "evidence", path), zone, f"{path}['evidence']"),
                next_steps=tuple(steps),
                items=items,
            )
        )
    named = {i for g in groups for i in g.order_ids}
    if named != {o.order_id for o in told}:
        raise RenderError(
            "facts['causes'] must name exactly the late orders (those without a 'problem')"
        )
    if cause not in {g.cause for g in groups}:
        raise RenderError(f"facts['cause'] {cause!r} is not one of facts['causes']")
    return tuple(groups)


def _read_items(entry: Any, path: str) -> tuple[str, ...]:
    items = entry.get("items") or []
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise RenderError(f"facts{path}['items'] must be a list of item titles")
    return tuple(clean_title(t) for t in items)


def _read_dates(raw: Any, told: Sequence[_Order], eta: _Eta | None) -> tuple[_DateGroup, ...]:
    """``facts['dates']``: optional; when given, two or more windows (or none: no date yet)
    that between them cover every late order; a notice with a date has no group without."""
    if raw is None or raw == []:
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        raise RenderError("facts['dates'] must list two or more windows, or be empty")
    groups = []
    for i, entry in enumerate(raw):
        path = f"['dates'][{i}]"
        ids = _list(entry, "order_ids", path)
        if not ids or not all(isinstance(x, str) for x in ids):
            raise RenderError(f"facts{path}['order_ids'] must be a non-empty list of order ids")
        window = _get(entry, "eta", path)
        group_eta = None
        if window is not None:
            first = _date(window, "earliest", f"{path}['eta']")
            last = _date(window, "latest", f"{path}['eta']")
            if last < first:
                raise RenderError(f"facts{path}['eta'] ends before it starts")
            group_eta = _Eta(earliest=first, latest=last, most_likely=first, confidence=None)
        groups.append(_DateGroup(tuple(ids), group_eta, _read_items(entry, path)))
    if {i for g in groups for i in g.order_ids} != {o.order_id for o in told}:
        raise RenderError(
            "facts['dates'] must name exactly the late orders (those without a 'problem')"
        )
    if eta is not None and any(g.eta is None for g in groups):
        raise RenderError("facts['dates'] has an order without a date, but facts['eta'] is set")
    return tuple(groups)


def _read_attention_flag(facts: Mapping[str, Any], kind: str, name: str) -> bool:
    """``facts['awaits_customer']``, ``facts['at_risk']``: optional; only an attention notice
    can say them (a delay notice already says the parcel is late)."""
    value = _flag(facts, name, "")
    if value and kind != "attention":
        raise RenderError(f"facts[{name!r}] is true only in an attention notice")
    return value


def _read_not_coming(raw: Any, kind: str, eta: _Eta | None) -> bool:
    """``facts['not_coming']``: optional; only a delay notice without a date can say it."""
    if raw is None or raw is False:
        return False
    if raw is not True or kind != "delay" or eta is not None:
        raise RenderError(
            "facts['not_coming'] is true only in a delay notice without an 'eta' (a parcel"
            " that will not come has no delivery date)"
        )
    return True


def _read_escalated(raw: Any, told: Sequence[_Order]) -> tuple[str, ...]:
    """``facts['escalated_orders']``: optional; late orders of this notice, when given."""
    if raw is None:
        return ()
    ids = {o.order_id for o in told}
    if not isinstance(raw, list) or not all(isinstance(x, str) and x in ids for x in raw):
        raise RenderError("facts['escalated_orders'] must list late orders of this notice")
    return tuple(raw)


def _read_previous(raw: Any, zone: ZoneInfo) -> _Previous | None:
    if raw is None:
        return None
    path = "['previous_notice']"
    previous = _Previous(
        sent_on=_date(raw, "sent_on", path),
        eta=_read_eta(_get(raw, "eta", path), f"{path}['eta']"),
        next_update_by=_moment(
            _get(raw, "next_update_by", path), zone, f"{path}['next_update_by']"
        ),
    )
    if (previous.eta is None) == (previous.next_update_by is None):
        raise RenderError(f"facts{path} needs exactly one of 'eta' and 'next_update_by'")
    return previous


def _read_facts(facts: Mapping[str, Any]) -> _Notice:
    locale, zone = _read_locale(facts)
    customer = _get(facts, "customer", "")
    for key in ("email", "phone"):  # part of the contract even though no message prints them
        _get(customer, key, "['customer']")
    first_name = clean_name(_str(customer, "first_name", "['customer']"))
    if not first_name:
        raise RenderError("facts['customer']['first_name'] is empty once cleaned")
    orders = _list(facts, "orders", "")
    eta = _read_eta(_get(facts, "eta", ""))
    next_update_by = _moment(_get(facts, "next_update_by", ""), zone, "['next_update_by']")
    if (eta is None) == (next_update_by is None):
        raise RenderError("facts need exactly one of 'eta' and 'next_update_by'")
    steps = _list(facts, "next_steps", "")
    if not all(isinstance(step, str) for step in steps):
        raise RenderError("facts['next_steps'] must be a list of strings")
    kind = _str(facts, "kind", "")
    if not _KIND_RE.match(kind):
        raise RenderError("facts['kind'] must be a lower-case word such as 'delay'")
    if kind in FOLLOW_UP_KINDS and eta is None:
        raise RenderError(f"a {kind!r} follow-up needs the day in facts['eta']")
    read = tuple(_read_order(o, f"['orders'][{i}]") for i, o in enumerate(orders))
    if any(o.problem for o in read) and (kind != "delay" or all(o.problem for o in read)):
        raise RenderError(
            "facts['orders'] entries with a 'problem' ride along in a delay notice that has"
            " late orders too; a notice of problems only is kind 'attention'"
        )
    cause = _str(facts, "cause", "")
    told = [o for o in read if o.problem is None]
    return _Notice(
        kind=kind,
        locale=locale,
        zone=zone,
        brand=clean_text(_str(facts, "brand", ""), SHORT_LIMIT),
        first_name=first_name,
        orders=read,
        eta=eta,
        next_update_by=next_update_by,
        cause=cause,
        cause_evidence=_read_evidence(_get(facts, "cause_evidence", ""), zone),
        next_steps=tuple(steps),
        contact=_read_contact(_get(facts, "contact", "")),
        previous=_read_previous(_get(facts, "previous_notice", ""), zone),
        causes=_read_causes(facts.get("causes"), zone, cause, told),
        orders_url=_url(facts, "orders_url", "") if facts.get("orders_url") else None,
        escalated=_read_escalated(facts.get("escalated_orders"), told),
        not_coming=_read_not_coming(facts.get("not_coming"), kind, eta),
        awaits_customer=_read_attention_flag(facts, kind, "awaits_customer"),
        at_risk=_read_attention_flag(facts, kind, "at_risk"),
        dates=_read_dates(facts.get("dates"), told, eta),
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
        return self._fill_pattern(f"{section}.{key}", self.pattern(section, key, plural), values)

    def _fill_pattern(self, name: str, pattern: str, values: Mapping[str, str]) -> Phrase:
        parts: list[tuple[str, bool]] = []
        position = 0
        for match in _PLACEHOLDER_RE.finditer(pattern):
            placeholder = match.group(1)
            if placeholder not in values:
                raise RenderError(f"wording {name} uses unknown {{{placeholder}}}")
            value = values[placeholder]
            parts += [(pattern[position : match.start()], False), (value, placeholder in _ISOLATED)]
            position = match.end()
            if value.endswith((".", _ELLIPSIS)) and pattern.startswith(".", position):
                position += 1  # "12:00 p.m." or "Wool so…" ends the sentence itself
        parts.append((pattern[position:], False))
        return Phrase(parts=tuple(p for p in parts if p[0]))

    def keyed(self, section: str, key: str, length: str, **values: str) -> str:
        """The ``long`` or ``short`` form of a keyed entry, placeholders filled."""
        entry = self.section(section).get(key)
        text = entry.get(length) if isinstance(entry, Mapping) else None
        if not isinstance(text, str):
            raise RenderError(f"wording {self.locale.language}:{section}.{key}.{length} is missing")
        return self._fill_pattern(f"{section}.{key}.{length}", text, values).text

    def has(self, section: str, key: str) -> bool:
        return isinstance(self.data.get(section), Mapping) and key in self.data[section]


@functools.lru_cache(maxsize=64)
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
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        known = ", ".join(supported_languages(templates_dir))
        raise RenderError(f"no wording for language {locale.language!r} (have: {known})") from None
    return _Wording(data=_load_wording(path, mtime), locale=locale), path


# --------------------------------------------------------------------------- display values


_YEAR_RE = re.compile(r"[\s,.]*(?:'[^']*'\s*)?y+\.?")


def _strip_year(pattern: str) -> str:
    """A CLDR full-date pattern without its year ("EEEE, MMMM d, y" -> "EEEE, MMMM d")."""
    return _YEAR_RE.sub("", pattern).strip(" ,")


class _Formatter:
    """Dates, numbers and lists in the customer's locale and zone (dates memoised)."""

    def __init__(self, locale: Locale, zone: ZoneInfo) -> None:
        self.locale = locale
        self.zone = zone
        self._long = _strip_year(locale.date_formats["full"].pattern)
        self._days: dict[tuple[date, bool], str] = {}

    def _remember(self, key: tuple[date, bool], text: str) -> str:
        if len(self._days) > 4096:
            self._days.clear()
        self._days[key] = text
        return text

    def long_date(self, day: date) -> str:
        key = (day, True)
        found = self._days.get(key)
        return found or self._remember(key, format_date(day, self._long, locale=self.locale))

    def short_date(self, day: date) -> str:
        key = (day, False)
        found = self._days.get(key)
        return found or self._remember(key, format_skeleton("MMMEd", day, locale=self.locale))

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

    def zone_name(self, zone: ZoneInfo) -> str:
        return str(get_timezone_name(zone, width="long", locale=self.locale))

    def days(self, days: Sequence[int], w: _Wording) -> str:
        """Weekdays as short names, three or more consecutive days as a range ("Mon–Fri")."""
        names = self.locale.days["format"]["abbreviated"]
        runs: list[list[int]] = []
        for day in days:
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        shown: list[str] = []
        for run in runs:
            if len(run) >= 3:
                shown.append(
                    w.fill("phrases", "day_range", first=names[run[0]], last=names[run[-1]])
                )
            else:
                shown += [names[day] for day in run]
        return self.join(shown)

    def hours(self, contact: _Contact, w: _Wording) -> str:
        """Opening hours in the customer's language, in the zone the team works in."""
        entries = [
            w.fill(
                "phrases",
                "hours_entry",
                days=self.days(h.days, w),
                opens=format_time(h.opens, "short", locale=self.locale),
                closes=format_time(h.closes, "short", locale=self.locale),
            )
            for h in contact.hours
        ]
        return w.fill(
            "phrases", "contact_hours", hours=self.join(entries), zone=self.zone_name(contact.zone)
        )


# Delay kinds whose carrier-side fact can stand in for a cause the carrier did not state,
# each with whether the sentence needs the time of the carrier's event (or last scan).
# "FedEx reported a delay in Dallas, TX on Fri, Nov 20, 1:43 AM and has not said why" is
# a fact the customer can check; "the carrier has not told us the cause" alone is not.
UNSTATED_CAUSE_KINDS: Mapping[str, bool] = {
    "exception": True,
    "failed_attempt": True,
    "promise_breached": True,
    "stalled": True,
    "late_eta": False,
    "not_picked_up": False,
}
UNKNOWN_CAUSE = "unknown"
MISSED_PICKUP = "missed_pickup"


def unstated_cause_key(kind: object, has_time: bool, has_place: bool) -> str | None:
    """The ``cause_unstated`` wording key for what the carrier did when it gave no reason.

    None when the evidence cannot make an honest, specific sentence (an unknown kind, or a
    kind that needs the time of the carrier's event without one).
    """
    if not isinstance(kind, str) or kind not in UNSTATED_CAUSE_KINDS:
        return None
    needs_time = UNSTATED_CAUSE_KINDS[kind]
    if needs_time and not has_time:
        return None
    return f"{kind}_place" if needs_time and has_place else kind


def _cause_text(
    cause: str, evidence: _Evidence | None, w: _Wording, fmt: _Formatter, length: str
) -> str:
    """The cause sentence: the carrier's reason (with the hub and since when, for a stop at a
    hub), or else what the carrier did and when."""
    since = evidence.stop_since if evidence is not None else None
    if evidence is not None and evidence.stop_place and since and w.has("cause_stop", cause):
        # An SMS names the day only: the hour is in the email, and it costs a segment.
        time = fmt.short_date(since.date()) if length == "short" else fmt.moment(since, short=False)
        return w.keyed("cause_stop", cause, length, carrier=evidence.carrier_title,
                       place=evidence.stop_place, time=time)  # fmt: skip
    if cause == MISSED_PICKUP and evidence is not None and evidence.kind == "not_picked_up":
        # Still not collected: the carrier's plain fact ("UPS has not yet collected your
        # parcel from our warehouse"), not a pickup that happened late.
        return w.keyed("cause_unstated", "not_picked_up", length, carrier=evidence.carrier_title)
    if cause == UNKNOWN_CAUSE and evidence is not None:
        key = unstated_cause_key(evidence.kind, evidence.at is not None, evidence.place is not None)
        if key is not None:
            values = {"carrier": evidence.carrier_title}
            if evidence.at is not None:
                # An SMS names the day only: the hour is in the email, and it costs a segment.
                values["time"] = (
                    fmt.short_date(evidence.at.date())
                    if length == "short"
                    else fmt.moment(evidence.at, short=False)
                )
            if evidence.place is not None:
                values["place"] = evidence.place
            return w.keyed("cause_unstated", key, length, **values)
    return w.keyed("causes", cause, length)


def _plain_cause(cause: str, evidence: _Evidence | None, w: _Wording, fmt: _Formatter) -> str:
    """The shortest true cause for an SMS that does not fit otherwise: the reason without the
    hub and day of a stop; for a cause the carrier did not state, what it did and when,
    without where."""
    if cause == UNKNOWN_CAUSE:
        placeless = evidence and _Evidence(evidence.kind, evidence.carrier_title, evidence.at, None)
        return _cause_text(cause, placeless or None, w, fmt, "short")
    return w.keyed("causes", cause, "short")


def _cause_lines(
    notice: _Notice, w: _Wording, fmt: _Formatter, length: str, bare: bool = False
) -> list[str]:
    """The cause sentence, or, when the orders are late for different reasons, one per cause
    naming its orders ("Order O1: Severe weather ..."; in an SMS "O1: severe weather ...").
    ``length``: "long", "short", or "plain" (``_plain_cause``); ``bare``: the orders without
    their items (an SMS's last resort)."""

    def text(cause: str, evidence: _Evidence | None) -> str:
        if length == "plain":
            return _plain_cause(cause, evidence, w, fmt)
        return _cause_text(cause, evidence, w, fmt, length)

    if not notice.causes:
        return [text(notice.cause, notice.cause_evidence)]
    key = "for_orders" if length == "long" else "for_orders_sms"
    return [
        w.fill("phrases", key, len(g.order_ids), ids=g.named(fmt, length != "long", bare),
               text=text(g.cause, g.evidence))
        for g in notice.causes
    ]  # fmt: skip


def _step_lines(
    notice: _Notice, w: _Wording, fmt: _Formatter, length: str, acting_only: bool = False
) -> list[str]:
    """The next steps (``acting_only``: of the steps that ask the customer to do something,
    or say what we do for them, the first for each group of orders). A step that concerns
    only some orders names them: when the orders are late for different reasons, each
    cause's steps (ADR 0014); when a person holds some of several orders, "a member of our
    team will contact you" (ADR 0006). One line per step in an email, one per group of
    orders in an SMS; "we will update you" or "nothing to do" follow once."""
    if notice.kind in FOLLOW_UP_KINDS:
        keys = _actions(notice.next_steps)[:1] if acting_only else notice.next_steps
        return [w.keyed("next_steps", key, length) for key in keys]
    told = _ids(notice.told)
    named_person = bool(notice.escalated) and len(told) > 1
    entries: list[tuple[_CauseGroup | None, list[str]]]
    if notice.causes:
        entries = [(g, _actions(g.next_steps)) for g in notice.causes]
    else:
        own = next_steps(notice.cause)  # the cause's own steps concern every order
        keys = [
            k for k in _actions(notice.next_steps) if k != PERSON or k in own or not named_person
        ]
        entries = [(None, keys)]
    covered = {o for g, keys in entries if PERSON in keys for o in (g.order_ids if g else told)}
    if notice.escalated and not set(notice.escalated) <= covered:
        holder = _CauseGroup("", notice.escalated, None, (PERSON,)) if named_person else None
        entries.append((holder, [PERSON]))
    sms = length != "long"
    lines = []
    for who, keys in entries:
        texts = [w.keyed("next_steps", k, length) for k in (keys[:1] if acting_only else keys)]
        for text in [" ".join(texts)] if sms and texts else texts:
            if who is None:
                lines.append(text)
            else:
                key = "for_orders_sms" if sms else "for_orders"
                ids = who.named(fmt, sms=sms)
                lines.append(w.fill("phrases", key, len(who.order_ids), ids=ids, text=text))
    if acting_only:
        return lines
    waiting = [k for k in notice.next_steps if k in PASSIVE_STEPS]
    return lines + [w.keyed("next_steps", k, length) for k in waiting]


def _previous_text(previous: _Previous | None, w: _Wording, fmt: _Formatter, kind: str) -> str:
    """What our last message said: for a second delay, so the change is plain; for a
    follow-up, so the customer knows which message it answers (its own wording)."""
    if previous is None:
        return ""
    section = kind if w.has(kind, "previous_eta") else "phrases"
    sent = fmt.long_date(previous.sent_on)
    if previous.eta is None:
        return w.fill(section, "previous_no_eta", sent=sent)
    eta = previous.eta
    said = (
        w.fill("phrases", "previous_on_day", date=fmt.long_date(eta.earliest))
        if eta.earliest == eta.latest
        else w.fill(
            "phrases",
            "eta_window_inline",
            earliest=fmt.long_date(eta.earliest),
            latest=fmt.long_date(eta.latest),
        )
    )
    return w.fill(section, "previous_eta", sent=sent, eta=said)


def _when(eta: _Eta | None, w: _Wording, fmt: _Formatter) -> str:
    """The ETA (a follow-up's delivery day) as a phrase inside a sentence: "on <day>" or
    "between <day> and <day>", in long dates; empty without an ETA."""
    if eta is None:
        return ""
    if eta.earliest == eta.latest:
        return w.fill("phrases", "previous_on_day", date=fmt.long_date(eta.earliest))
    return w.fill(
        "phrases",
        "eta_window_inline",
        earliest=fmt.long_date(eta.earliest),
        latest=fmt.long_date(eta.latest),
    )


@functools.lru_cache(maxsize=256)
def _formatter(locale: Locale, zone: ZoneInfo) -> _Formatter:
    return _Formatter(locale, zone)


def _no_eta_key(notice: _Notice) -> str:
    if notice.not_coming:
        return "no_delivery_date"
    return "no_date_until_answer" if notice.awaits_customer else "no_eta"


def _eta_values(notice: _Notice, w: _Wording, fmt: _Formatter) -> dict[str, str]:
    """ETA strings: the day or window (long and short) with confidence, or the update time."""
    eta = notice.eta
    if eta is None:
        assert notice.next_update_by is not None
        return {
            "eta_text": w.fill("phrases", _no_eta_key(notice)),
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


def _date_lines(
    notice: _Notice, w: _Wording, fmt: _Formatter, sms: bool, bare: bool = False
) -> list[str]:
    """Each window and its orders ("Order O2: Friday, November 21"; in an SMS "O2: Fri,
    Nov 21"), an order without a date as such; empty when the notice has one window."""
    day = fmt.short_date if sms else fmt.long_date
    lines = []
    for g in notice.dates:
        eta = g.eta
        if eta is None:
            text = w.fill("phrases", "no_eta_sms" if sms else "no_eta")
        elif eta.earliest == eta.latest:
            text = (
                day(eta.earliest) if sms else w.fill("phrases", "eta_day", date=day(eta.earliest))
            )
        else:
            window = "eta_window_sms" if sms else "eta_window"
            text = w.fill("phrases", window, earliest=day(eta.earliest), latest=day(eta.latest))
        key = "for_orders_sms" if sms else "for_orders"
        ids = g.named(fmt, sms, bare)
        lines.append(w.fill("phrases", key, len(g.order_ids), ids=ids, text=text))
    return lines


def _span(notice: _Notice) -> _Notice:
    """For the subject: from the first day of any window to the last of the notice's, when
    every order has a date ("now arriving between Nov 21 and Nov 25" holds for all)."""
    if not notice.dates or notice.eta is None:
        return notice
    first = min(g.eta.earliest for g in notice.dates if g.eta is not None)
    eta = _Eta(first, notice.eta.latest, notice.eta.latest, None)
    return dataclasses.replace(notice, eta=eta)


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


def _ids(orders: Sequence[_Order]) -> list[str]:
    """Order numbers once each, in order (a split order may be late and have a problem)."""
    return list(dict.fromkeys(o.order_id for o in orders))


def _problem_values(notice: _Notice, w: _Wording, fmt: _Formatter) -> list[dict[str, Any]]:
    """The problem parcels a delay notice tells apart: what happened and what to do."""
    out = []
    for order in notice.problems:
        assert order.problem is not None
        n_items = sum(it.quantity for it in order.items)
        out.append({
            "intro": w.fill(
                "delay",
                _also_intro_key(order.problem),
                n_items,
                items=w.fill("phrases", "item_count", n_items, count=fmt.number(n_items)),
                orders=w.fill("phrases", "order_ids_ref", 1, ids=order.order_id),
            ),
            "cause": w.keyed("causes", order.problem.cause, "long"),
            "next_steps": [w.keyed("next_steps", k, "long") for k in order.problem.next_steps],
            "order": _order_values(order, w, fmt),
        })  # fmt: skip
    return out


def _also_intro_key(problem: _Problem) -> str:
    if problem.awaits_customer:
        return "also_intro_awaiting"
    return "also_intro_at_risk" if problem.at_risk else "also_intro"


def _intro_key(notice: _Notice, w: _Wording, per_order: bool) -> str:
    """The intro: a follow-up whose orders arrived (or are now due) on different days leaves
    the day out of the sentence and lists each order's day under it."""
    if notice.awaits_customer:
        return "intro_awaiting"
    if per_order and w.has(notice.kind, "intro_dates"):
        return "intro_dates"
    return notice.key(w, "intro")


def _display(notice: _Notice, w: _Wording) -> dict[str, Any]:
    """Everything the templates print, as finished strings."""
    fmt = _formatter(notice.locale, notice.zone)
    ids = _ids(notice.told)
    n_orders = len(ids)
    ids_text = fmt.join(ids)
    n_items = sum(it.quantity for o in notice.told for it in o.items)
    eta = _eta_values(_span(notice), w, fmt)
    lines = _date_lines(notice, w, fmt, sms=False)
    if lines:  # each order's own date: no "most likely" for the one that decides the notice
        eta["eta_detail"] = eta["eta_detail"] if notice.eta is None else ""
    causes = _cause_lines(notice, w, fmt, "long")
    cause = " ".join(causes)
    if notice.eta is not None:
        subject = w.fill(notice.kind, "subject", n_orders, ids=ids_text, eta=eta["eta_short"])
        preheader = w.fill(notice.kind, "preheader", eta=eta["eta_short"], cause=cause)
    else:
        update = eta["update_short"]
        subject = w.fill(
            notice.kind, notice.key(w, "subject_no_eta"), n_orders, ids=ids_text, update=update
        )
        preheader = w.fill(notice.kind, "preheader_no_eta", update=update, cause=cause)
    also = _ids(notice.problems)
    if also:
        subject = w.fill("delay", "subject_also", len(also), subject=subject, ids=fmt.join(also))
    headline = notice.key(w, "headline_again" if notice.previous is not None else "headline")
    labels = dict(w.section("labels"))
    if notice.not_coming:  # not "why it is late", "what is late", "delayed items"
        for key, gone in (("eta_heading", "gone_eta_heading"), ("cause_heading", "problem_heading"),
                          ("orders_heading", "attention_orders_heading"),
                          ("items_heading", "attention_items_heading")):  # fmt: skip
            labels[key] = labels.get(gone, labels.get(key))
    return {
        "lang": notice.locale.language,
        "dir": w.data.get("direction", "ltr"),
        "brand": notice.brand,
        "subject": subject,
        "preheader": preheader,
        "greeting": w.phrase("phrases", "greeting", name=notice.first_name),
        "headline": w.fill(notice.kind, headline, n_orders, ids=ids_text),
        "intro": w.fill(
            notice.kind,
            _intro_key(notice, w, bool(lines)),
            n_items,
            items=w.fill("phrases", "item_count", n_items, count=fmt.number(n_items)),
            orders=w.fill("phrases", "order_ids_ref", n_orders, ids=ids_text),
            when=_when(notice.eta, w, fmt),
        ),
        "previous": _previous_text(notice.previous, w, fmt, notice.kind),
        "labels": labels,
        "orders": [_order_values(o, w, fmt) for o in notice.told],
        "problems": _problem_values(notice, w, fmt),
        "cause": cause,
        "causes": causes,
        "next_steps": _step_lines(notice, w, fmt, "long"),
        "contact": w.fill("phrases", "contact", contact=notice.contact.route),
        "contact_hours": fmt.hours(notice.contact, w),
        "footer": w.fill("phrases", "footer", brand=notice.brand),
        **eta,
        "eta_lines": lines or [eta["eta_text"]],
        "date_lines": lines,
    }


# --------------------------------------------------------------------------- SMS shortening


@dataclass(frozen=True)
class _SmsLevel:
    greeting: bool = True
    full_titles: bool = True
    tiny_titles: bool = False
    long_cause: bool = True
    plain_cause: bool = False  # the reason without the hub and day of a stop (last resort)
    count_items: bool = False  # "Late: 4 items." instead of the titles (last resort)
    one_link: bool = False  # the page of all orders instead of a link per order, if set
    headline: bool = True  # off only where each order's cause line names it (ADR 0014)
    bare_labels: bool = False  # "O1: ..." without the items of an order split across lines
    next_steps: bool = True  # every next step
    next_action: bool = True  # when the steps go: still the one that asks the customer to act
    promised: bool = True  # the promised date and, for a second delay, our last message's date
    help: bool = True


# Shortened in this order until the message fits in two segments: full item titles become
# short ones (SMS_TITLE_LIMIT, symbols left out), the long cause its short form, then the
# greeting goes, the next steps shrink to the one that asks the customer to act (if any: "no
# action needed" and "we'll update you" go), the promised date and the date of our last
# message go (the customer knows them; the email states them), then the contact line (the
# email has it, and a HELP reply gives it), then that action, the titles shrink to
# SMS_TINY_TITLE_LIMIT, the cause loses the hub and day of a stop (or, unstated, the place),
# the titles become their number ("Late: 4 items."), a link per order becomes the page of
# all orders (``orders_url``, when the shop has one), and last, in a notice whose cause lines
# name every order, the headline goes, and then the items naming the parts of an order split
# across its lines ("O1 (Desk lamp): ..."; the email keeps them). The brand, order numbers,
# the new date (each order's, when they differ) or update time, the cause and a link always
# stay, and nothing is cut mid-word. What still does not fit is returned with its true
# segment count and the gate refuses it (ADR 0014).
PASSIVE_STEPS = frozenset(WAIT)
_SHORT = {"full_titles": False, "long_cause": False, "greeting": False, "next_steps": False}
_GONE = {**_SHORT, "next_action": False, "promised": False}
_LAST = {**_GONE, "help": False, "plain_cause": True, "count_items": True, "one_link": True}
SMS_LEVELS = (
    _SmsLevel(),
    _SmsLevel(full_titles=False),
    _SmsLevel(full_titles=False, long_cause=False),
    _SmsLevel(full_titles=False, long_cause=False, greeting=False),
    _SmsLevel(**_SHORT),
    _SmsLevel(**_SHORT, promised=False),
    _SmsLevel(**_SHORT, promised=False, help=False),
    _SmsLevel(**_GONE, help=False),
    _SmsLevel(**_GONE, help=False, tiny_titles=True),
    _SmsLevel(**_GONE, help=False, tiny_titles=True, plain_cause=True),
    _SmsLevel(**_GONE, help=False, plain_cause=True, count_items=True),
    _SmsLevel(**_LAST),
    _SmsLevel(**_LAST, headline=False),
    _SmsLevel(**_LAST, headline=False, bare_labels=True),
)


def _sms_eta(notice: _Notice, w: _Wording, fmt: _Formatter, bare: bool = False) -> str:
    kind, eta = notice.kind, notice.eta
    if notice.dates:
        lines = _date_lines(notice, w, fmt, sms=True, bare=bare)
        said = w.fill(kind, "sms_eta", eta="; ".join(lines))
        if eta is None:
            assert notice.next_update_by is not None
            update = fmt.moment(notice.next_update_by, short=True)
            said += " " + w.fill("phrases", "update_by_sms", update=update)
        return said
    if eta is None:
        assert notice.next_update_by is not None
        update = fmt.moment(notice.next_update_by, short=True)
        return w.fill(kind, notice.key(w, "sms_no_eta"), update=update)
    if eta.earliest == eta.latest:
        return w.fill(kind, "sms_eta", eta=fmt.short_date(eta.earliest))
    window = w.fill(
        "phrases",
        "eta_window_sms",
        earliest=fmt.short_date(eta.earliest),
        latest=fmt.short_date(eta.latest),
    )
    return w.fill(kind, "sms_eta", eta=window)


def _item_count(orders: Sequence[_Order], w: _Wording, fmt: _Formatter) -> str:
    """ "4 items": how many delayed items, for an SMS with no room for their titles."""
    count = sum(it.quantity for o in orders for it in o.items)
    return w.fill("phrases", "item_count", count, count=fmt.number(count))


def _sms_items(orders: Sequence[_Order], w: _Wording, fmt: _Formatter, limit: int | None) -> str:
    return fmt.join(
        w.fill(
            "phrases",
            "item_line_sms",
            quantity=fmt.number(it.quantity),
            title=sms_title(it.title, limit) if limit else it.title,
        )
        for o in orders
        for it in o.items
    )


SMS_TITLE_SIZES = (("full", None), ("short", SMS_TITLE_LIMIT), ("tiny", SMS_TINY_TITLE_LIMIT))


def _sms_also_parts(notice: _Notice, w: _Wording, fmt: _Formatter) -> dict[str, str]:
    """The problem parcels told apart, each at three lengths: at risk or not, what happened,
    its items (in each title size) and what to do (``also_full`` / ``_short`` / ``_tiny``),
    without the items (``also_brief``), and only what to do, else that it is at risk, else
    what happened (``also_least``)."""
    parts: dict[str, list[str]] = defaultdict(list)
    for order in notice.problems:
        assert order.problem is not None
        cause = w.keyed("causes", order.problem.cause, "short")
        action = next((k for k in order.problem.next_steps if k not in PASSIVE_STEPS), None)
        act = w.keyed("next_steps", action, "short") if action else ""
        risk = w.fill("delay", "sms_also_at_risk") if order.problem.at_risk else ""

        def said(*texts: str, order_id: str = order.order_id) -> str:
            text = " ".join(t for t in texts if t)
            return w.fill("delay", "sms_also", ids=order_id, text=text)

        for size, limit in SMS_TITLE_SIZES:
            items = _sms_items((order,), w, fmt, limit)
            parts[f"also_{size}"].append(
                said(risk, cause, w.fill("delay", "sms_also_items", items=items), act)
            )
        parts["also_brief"].append(said(risk, cause, act))
        parts["also_least"].append(said(act or risk or cause))
    keys = [f"also_{size}" for size, _ in SMS_TITLE_SIZES] + ["also_brief", "also_least"]
    return {key: " ".join(parts[key]) for key in keys}


def _sms_parts(notice: _Notice, w: _Wording) -> dict[str, str]:
    """Every part an SMS may contain, formatted once; the levels choose among them."""
    fmt = _formatter(notice.locale, notice.zone)
    kind = notice.kind
    told = notice.told
    urls = list(dict.fromkeys(o.tracking_url for o in notice.orders))
    promised = fmt.short_date(min(o.promised_by for o in told))
    previous = (
        w.fill(kind, "sms_previous", sent=fmt.short_date(notice.previous.sent_on))
        if notice.previous is not None
        else ""
    )
    return {
        "brand": notice.brand,
        "greeting": w.fill(kind, "sms_greeting", name=notice.first_name),
        "previous": previous,
        "headline": w.fill(
            kind, notice.key(w, "sms_headline"), len(_ids(told)), ids=fmt.join(_ids(told))
        ),
        "eta": _sms_eta(notice, w, fmt),
        "eta_bare": _sms_eta(notice, w, fmt, bare=True),
        "promised": w.fill(kind, "sms_promised", promised=promised),
        **{
            f"items_{size}": w.fill(
                kind, notice.key(w, "sms_items"), items=_sms_items(told, w, fmt, limit)
            )
            for size, limit in SMS_TITLE_SIZES
        },
        "named": "yes" if notice.causes else "",  # the cause lines name every late order
        "items_count": w.fill(
            kind,
            "sms_items_count" if w.has(kind, "sms_items_count") else notice.key(w, "sms_items"),
            items=_item_count(told, w, fmt),
        ),
        **_sms_also_parts(notice, w, fmt),
        "cause_long": w.fill(
            kind, "sms_cause", cause=" ".join(_cause_lines(notice, w, fmt, "long"))
        ),
        "cause_short": w.fill(
            kind, "sms_cause", cause=" ".join(_cause_lines(notice, w, fmt, "short"))
        ),
        "cause_plain": w.fill(
            kind, "sms_cause", cause=" ".join(_cause_lines(notice, w, fmt, "plain"))
        ),
        "cause_bare": w.fill(
            kind, "sms_cause", cause=" ".join(_cause_lines(notice, w, fmt, "plain", bare=True))
        ),
        "next_steps": " ".join(_step_lines(notice, w, fmt, "short")),
        "next_action": " ".join(_step_lines(notice, w, fmt, "short", acting_only=True)),
        "track": w.fill(kind, "sms_track", urls=" ".join(urls)),
        "track_all": w.fill(kind, "sms_track", urls=notice.orders_url)
        if notice.orders_url and len(urls) > 1
        else "",
        "help": w.fill(kind, "sms_help", contact=notice.contact.route),
    }


def _actions(steps: Sequence[str]) -> list[str]:
    """The next steps that ask the customer to do something."""
    return [k for k in steps if k not in PASSIVE_STEPS]


def _sms_context(parts: Mapping[str, str], level: _SmsLevel) -> dict[str, str]:
    size = "full" if level.full_titles else "tiny" if level.tiny_titles else "short"
    return {
        "brand": parts["brand"],
        "greeting": parts["greeting"] if level.greeting else "",
        "previous": parts["previous"] if level.promised else "",
        "headline": parts["headline"] if level.headline or not parts["named"] else "",
        "eta": parts["eta_bare"] if level.bare_labels else parts["eta"],
        "promised": parts["promised"] if level.promised else "",
        "items": parts["items_count"] if level.count_items else parts[f"items_{size}"],
        "also": parts[
            f"also_{size}"
            if level.next_steps
            else "also_brief"
            if level.next_action
            else "also_least"
        ],
        "cause": parts["cause_bare"]
        if level.bare_labels
        else parts["cause_plain"]
        if level.plain_cause
        else parts["cause_long"]
        if level.long_cause
        else parts["cause_short"],
        "next_steps": parts["next_steps"]
        if level.next_steps
        else parts["next_action"]
        if level.next_action
        else "",
        "track": parts["track_all"] if level.one_link and parts["track_all"] else parts["track"],
        "help": parts["help"] if level.help else "",
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


def _template_files(templates_dir: Path, names: Iterable[str]) -> dict[str, tuple[str, int]]:
    """The named templates and everything they pull in: name -> (path, mtime)."""
    root = str(templates_dir)
    seen: dict[str, tuple[str, int]] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in seen:
            path = os.path.join(root, name)
            mtime = os.stat(path).st_mtime_ns
            seen[name] = (path, mtime)
            pending += _references(templates_dir, name, mtime)
    return seen


@functools.lru_cache(maxsize=64)
def _hash_files(files: tuple[tuple[str, str, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, path, _ in files:
        with open(path, "rb") as handle:
            digest.update(name.encode() + b"\0" + handle.read() + b"\0")
    return digest.hexdigest()


def _template_version(templates_dir: Path, names: Iterable[str], wording: Path) -> str:
    """SHA-256 over the template names and sources used plus the wording file.

    Names are relative ("email/delay.html", "wording/en.json"), so the version is the same
    wherever the templates are installed. Recomputed only when a file's mtime changes.
    """
    used = _template_files(templates_dir, names)
    files = [(name, *used[name]) for name in sorted(used)]
    files.append((f"wording/{wording.name}", str(wording), os.stat(wording).st_mtime_ns))
    return _hash_files(tuple(files))


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
        text = _one_line(sms_plain(_run(template, _sms_context(parts, level))))
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
    for cause in {notice.cause} | {g.cause for g in notice.causes}:
        if cause not in wording.section("causes"):
            raise RenderError(f"facts['cause'] {cause!r} has no wording")
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


# --------------------------------------------------------------------------- for the gate


def comparable(text: str) -> str:
    """Text as the gate compares it: SMS typography replaced, whitespace collapsed."""
    return " ".join(sms_plain(text).split())


def stated_in_message(
    *,
    locale: str,
    timezone: str,
    eta_earliest: str | None,
    eta_latest: str | None,
    next_update_by: str | None,
    cause: str,
    cause_evidence: str | None,
    templates_dir: Path = TEMPLATES_DIR,
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """What every channel of a notice must state, as it is printed (``comparable`` form).

    Returns (days, causes): every day must appear, in its short form (subjects, SMS) or its
    long one (email text): the ETA's first and last day, or the day of the next update; and
    at least one cause text (its long or short wording, or the sentence stating what the
    carrier did).
    ``cause_evidence`` is the facts' evidence object as JSON. Raises RenderError when the
    values cannot be formatted.
    """
    return _stated(
        locale,
        timezone,
        eta_earliest or None,
        eta_latest or None,
        next_update_by or None,
        cause,
        cause_evidence or None,
        templates_dir,
    )


@functools.lru_cache(maxsize=65536)
def _stated(
    locale_tag: str,
    timezone: str,
    earliest: str | None,
    latest: str | None,
    update: str | None,
    cause: str,
    evidence_json: str | None,
    templates_dir: Path,
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    locale, zone = _read_locale({"locale": locale_tag, "timezone": timezone})
    w, _ = _wording(locale, templates_dir)
    fmt = _formatter(locale, zone)
    if earliest and latest:
        first = date.fromisoformat(earliest[:10])
        last = date.fromisoformat(latest[:10])
        days = [first] if first == last else [first, last]
    else:
        moment = _moment(update, zone, "['next_update_by']")
        if moment is None:
            raise RenderError("neither an ETA nor a next update time")
        days = [moment.date()]
    evidence = _read_evidence(json.loads(evidence_json), zone) if evidence_json else None
    causes = {comparable(_cause_text(cause, evidence, w, fmt, n)) for n in ("long", "short")}
    causes.add(comparable(_plain_cause(cause, evidence, w, fmt)))
    forms = tuple((comparable(fmt.short_date(d)), comparable(fmt.long_date(d))) for d in days)
    return forms, tuple(sorted(causes))


def stated_item_count(locale: str, count: int, templates_dir: Path = TEMPLATES_DIR) -> str:
    """ "4 items" as an SMS states it when the titles do not fit (``comparable`` form)."""
    return _count_text(locale, count, templates_dir)


@functools.lru_cache(maxsize=4096)
def _count_text(locale_tag: str, count: int, templates_dir: Path) -> str:
    try:
        locale = _parse_locale(locale_tag)
    except (ValueError, UnknownLocaleError) as exc:
        raise RenderError("not a BCP 47 locale Babel knows") from exc
    w, _ = _wording(locale, templates_dir)
    fmt = _formatter(locale, ZoneInfo("UTC"))
    return comparable(w.fill("phrases", "item_count", count, count=fmt.number(count)))


def stated_next_steps(
    locale: str, keys: Sequence[str], templates_dir: Path = TEMPLATES_DIR
) -> tuple[str, ...]:
    """The next steps as the email words them (``comparable`` form); RenderError if unknown."""
    return _steps(locale, tuple(keys), templates_dir)


@functools.lru_cache(maxsize=4096)
def _steps(locale_tag: str, keys: tuple[str, ...], templates_dir: Path) -> tuple[str, ...]:
    try:
        locale = _parse_locale(locale_tag)
    except (ValueError, UnknownLocaleError) as exc:
        raise RenderError("not a BCP 47 locale Babel knows") from exc
    w, _ = _wording(locale, templates_dir)
    return tuple(comparable(w.keyed("next_steps", key, "long")) for key in keys)
