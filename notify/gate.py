"""The send gate: Great Expectations suites over the staged outbox and over the batch.

``check_rows`` decides per row (one row per notice and channel): a failing row is
quarantined with the names of the rules it broke. ``check_batch`` decides for the whole
batch: a failing batch is halted for an operator, with the reasons. The gate only decides;
quarantining, halting and alerting are the caller's separate steps.

How the row suite works: every rule is one boolean column computed with vectorised pandas
(a null or unparseable value counts as a failure, never as a pass) and one GX expectation, a
subclass of ``ExpectColumnValuesToBeInSet`` fixed to that column and ``{True}``, named after
the rule (``expect_consent_given``, ``expect_no_vague_phrasing``, ...). GX runs the suite in
an ephemeral context with the COMPLETE result format and ``row_id`` as the index column, so
each failing row is reported by id. An expectation that raised inside GX counts as failed
and halts the batch, because then nothing is known about its rows.

Great Expectations and pandas are imported inside the functions: importing GX takes
seconds, and DAG files must stay cheap to parse.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carriers.taxonomy import Reason
from notify.render import (
    FOLLOW_UP_KINDS,
    SMS_TINY_TITLE_LIMIT,
    TEMPLATES_DIR,
    RenderError,
    clean_name,
    clean_title,
    comparable,
    sms_plain,
    sms_title,
    stated_in_message,
    stated_item_count,
    stated_next_steps,
    unstated_cause_key,
)

if TYPE_CHECKING:
    import pandas as pd

BANNED_PHRASES_PATH = Path(__file__).resolve().parent / "banned_phrases.txt"
NEXT_UPDATE_MAX_DAYS = 7
HISTORY_FACTOR = 3.0
HISTORY_SLACK = 50
MAX_OPEN_SHARE = 0.5
MAX_QUARANTINE_SHARE = 0.2
MAX_CUSTOMERS_PER_RECIPIENT = 2
MIN_QUARANTINED_TO_HALT = 5
REPORT_ROW_LIMIT = 50

ROW_COLUMNS = (
    "row_id",
    "notice_id",
    "customer_id",
    "channel",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "sms_segments",
    "eta_earliest",
    "eta_latest",
    "next_update_by",
    "cause",
    "order_ids",
    "item_titles",
    "promised_by",
    "as_of_date",
    "max_window_days",
    "recipient_is_customer",
    "consent",
    "evidence_age_hours",
    "freshness_limit_hours",
    "episode_open",
    "episodes_closed",
    "kind",
    "locale",
    "timezone",
    "next_steps",
    "cause_evidence",
    "customer_name",
    "causes",
    "item_count",
    "dates",
)

KNOWN_CAUSES = frozenset(r.value for r in Reason if r is not Reason.UNKNOWN)
KINDS = frozenset({"delay", "attention"} | FOLLOW_UP_KINDS)
UNKNOWN = Reason.UNKNOWN.value
_E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")
_TEMPLATE_TOKENS = ("{{", "}}", "{%", "%}", "{#", "#}")
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Rule:
    """One named check; ``description`` is what a reader of the report sees."""

    name: str
    description: str


ROW_RULES: tuple[Rule, ...] = (
    Rule(
        "content_complete",
        "channel is email or sms, the kind is delay, attention, delivered or resolved, "
        "every part is there",
    ),
    Rule("subject_single_line", "the email subject has no CR or LF"),
    Rule(
        "eta_or_next_update",
        "a concrete ETA or else an explicit next update time (a follow-up: its day, no update)",
    ),
    Rule(
        "eta_in_future",
        "the ETA does not start before the as-of date (delivered: the day is not in the future)",
    ),
    Rule(
        "eta_after_promise",
        "a delay's ETA starts after the promised date; an attention or resolved one's ends by it",
    ),
    Rule("eta_window_within_limit", "the ETA window is ordered and within max_window_days"),
    Rule(
        "next_update_upcoming",
        f"next update is from the as-of date to +{NEXT_UPDATE_MAX_DAYS} days",
    ),
    Rule(
        "cause_known",
        "the cause (each order's, when they differ) is a known Reason, or, when the carrier "
        "gave none, what it did and when",
    ),
    Rule("next_step_given", "at least one next step, and the email states it"),
    Rule("order_numbers_in_text", "every order number is in the text (and email subject)"),
    Rule(
        "item_titles_in_text",
        "every delayed item title is in the text (SMS: short form, or the number of items "
        "when even the shortest titles do not fit)",
    ),
    Rule("channels_agree", "all channels of one notice carry the same ETA and cause"),
    Rule(
        "eta_and_cause_in_text",
        "the text states the ETA days (or the next update day) and the cause (each order's "
        "window and cause, when they differ), as worded",
    ),
    Rule("no_vague_phrasing", "no banned vague phrase (notify/banned_phrases.txt)"),
    Rule("no_template_syntax", "no unrendered template syntax"),
    Rule("recipient_is_customer", "the recipient belongs to the order's customer"),
    Rule("consent_given", "the customer consented to this channel"),
    Rule("recipient_valid", "valid email address syntax, or an E.164 number for sms"),
    Rule("sms_within_two_segments", "an SMS needs at most two segments"),
    Rule(
        "notice_current",
        "the delay episodes are open (a follow-up: all closed) and the evidence is fresh",
    ),
)

BATCH_RULES: tuple[Rule, ...] = (
    Rule("feeds_reported", "at least one carrier feed reported its age"),
    Rule("feeds_fresh", "every carrier feed is within the freshness limit"),
    Rule("volume_within_max", "notices do not exceed max_notices"),
    Rule("volume_within_open_shipments", "notices are a sane share of open shipments"),
    Rule(
        "volume_within_history",
        "notices are within history_factor x the median of earlier same-hour runs + slack",
    ),
    Rule("quarantine_share_within_limit", "the quarantined share of rows is within the limit"),
    Rule(
        "recipient_unique_per_channel",
        "one message per customer and channel to any address or number",
    ),
    Rule(
        "recipient_customers_within_limit",
        "one address or number gets messages for at most max_customers_per_recipient customers",
    ),
)
_DESCRIPTIONS = {rule.name: rule.description for rule in (*ROW_RULES, *BATCH_RULES)}


@dataclass(frozen=True)
class GateReport:
    """What a gate decided and why; ``to_html`` renders it for people."""

    passed: bool
    row_failures: dict[str, list[str]]  # row_id -> failed rule names
    batch_failures: list[str]
    halted: bool
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "HALTED" if self.halted else ("PASSED" if self.passed else "ROWS QUARANTINED")

    def failures_by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rules in self.row_failures.values():
            for rule in rules:
                counts[rule] = counts.get(rule, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (row ids and rule names only, no message content)."""
        return {
            "verdict": self.verdict,
            "passed": self.passed,
            "halted": self.halted,
            "batch_failures": list(self.batch_failures),
            "failures_by_rule": self.failures_by_rule(),
            "rules": {rule.name: rule.description for rule in (*ROW_RULES, *BATCH_RULES)},
            "row_failures": {k: list(v) for k, v in sorted(self.row_failures.items())},
            "summary": self.summary,
        }

    def to_html(self) -> str:
        """A small self-contained HTML report (every value escaped)."""
        return _report_html(self)


def merge_reports(rows: GateReport, batch: GateReport) -> GateReport:
    """The row and batch reports of one batch as one: the gate's whole decision."""
    row_failures = {row_id: list(rules) for row_id, rules in rows.row_failures.items()}
    for row_id, rules in batch.row_failures.items():
        known = row_failures.setdefault(row_id, [])
        known += [rule for rule in rules if rule not in known]
    failures = [*rows.batch_failures, *batch.batch_failures]
    return GateReport(
        passed=not row_failures and not failures,
        row_failures=row_failures,
        batch_failures=failures,
        halted=rows.halted or batch.halted,
        summary={"rows": rows.summary, "batch": batch.summary},
    )


# --------------------------------------------------------------------------- row checks


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna("")


def _present(series: pd.Series) -> pd.Series:
    return _text(series).str.strip().ne("")


def _day(series: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_datetime(_text(series).str.slice(0, 10), format="%Y-%m-%d", errors="coerce")


def _split(value: object, sep: str) -> list[str]:
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(sep) if part.strip()]


@dataclass(frozen=True)
class _Parsed:
    """The staged frame with the parsed columns several rules share."""

    df: pd.DataFrame
    kind: pd.Series  # delay, attention, delivered or resolved
    follow_up: pd.Series  # delivered or resolved
    is_email: pd.Series
    is_sms: pd.Series
    earliest: pd.Series
    latest: pd.Series
    eta_any: pd.Series
    update_given: pd.Series
    update_day: pd.Series
    update_valid: pd.Series
    as_of: pd.Series
    subject: list[str]
    body: list[str]
    page: list[str]  # the HTML without its <style> blocks (CSS braces are not template syntax)
    said: list[str]  # what the customer reads (email: subject and text), ``comparable``


def _parse(df: pd.DataFrame) -> _Parsed:
    import pandas as pd

    update = _text(df["next_update_by"])
    update_at = pd.to_datetime(update, format="ISO8601", utc=True, errors="coerce")
    has_offset = update.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    channel = _text(df["channel"])
    subject, body = _text(df["subject"]).tolist(), _text(df["body_text"]).tolist()
    kind = _text(df["kind"])
    return _Parsed(
        df=df,
        kind=kind,
        follow_up=kind.isin(FOLLOW_UP_KINDS),
        is_email=channel.eq("email"),
        is_sms=channel.eq("sms"),
        earliest=_day(df["eta_earliest"]),
        latest=_day(df["eta_latest"]),
        eta_any=_present(df["eta_earliest"]) | _present(df["eta_latest"]),
        update_given=_present(df["next_update_by"]),
        update_day=_day(update),
        update_valid=update_at.notna() & has_offset,
        as_of=_day(df["as_of_date"]),
        subject=subject,
        body=body,
        page=[_STYLE_BLOCK.sub(" ", page) for page in _text(df["body_html"])],
        said=[
            comparable(f"{s} {b}" if email else b)
            for email, s, b in zip(channel.eq("email"), subject, body, strict=True)
        ],
    )


def _content_complete(p: _Parsed) -> pd.Series:
    text = _present(p.df["body_text"])
    email_parts = _present(p.df["subject"]) & _present(p.df["body_html"])
    return p.kind.isin(KINDS) & text & (p.is_sms | (p.is_email & email_parts))


def _subject_single_line(p: _Parsed) -> pd.Series:
    return ~p.is_email | ~_text(p.df["subject"]).str.contains(r"[\r\n]", regex=True)


def _eta_or_next_update(p: _Parsed) -> pd.Series:
    eta_ok = p.earliest.notna() & p.latest.notna()
    update_ok = ~p.follow_up & ~p.eta_any & p.update_given & p.update_valid
    return (eta_ok & ~p.update_given) | update_ok


# The value rules below judge a value only when it is there and readable; a missing or
# unreadable ETA or update time is eta_or_next_update's finding, so each fault has one name.
# The reference values they compare with (as-of date, promise, limit) must be readable.


def _eta_in_future(p: _Parsed) -> pd.Series:
    """A window starts on or after the as-of date (the run's day in the customer's zone: a
    window told from "today" in Los Angeles at 6 PM starts on a day that is already over in
    UTC). A delivered day is in the past: one day of slack past the as-of date, for a
    staged frame whose as-of date is the UTC day."""
    import pandas as pd

    delivered = p.kind.eq("delivered")
    ahead = p.latest.isna() | (p.latest <= p.as_of + pd.Timedelta(days=1))
    return p.earliest.isna() | (delivered & ahead) | (~delivered & (p.earliest >= p.as_of))


def _eta_after_promise(p: _Parsed) -> pd.Series:
    promise = _day(p.df["promised_by"])
    by_promise = p.kind.eq("resolved") | p.kind.eq("attention")
    late = p.earliest.isna() | (p.earliest > promise)
    in_time = p.latest.notna() & (p.latest <= promise)
    attention_unknown = p.kind.eq("attention") & p.latest.isna()  # no window: the update time
    return (
        p.kind.eq("delivered")
        | (by_promise & in_time)
        | attention_unknown
        | (~p.follow_up & ~by_promise & late)
    )


def _eta_window_within_limit(p: _Parsed) -> pd.Series:
    """Counted in delivery days like the ETA stage: weekdays that are not US federal
    holidays (every carrier delivers on those, so no carrier's count is lower)."""
    import numpy as np
    import pandas as pd

    from notify.calendars import CalendarSpec, busday_calendar

    known = p.earliest.notna() & p.latest.notna()
    start = p.earliest[known].to_numpy(dtype="datetime64[D]")
    end = p.latest[known].to_numpy(dtype="datetime64[D]")
    width = pd.Series(np.nan, index=p.df.index)
    calendar = busday_calendar(CalendarSpec(weekmask="1111100", holidays="federal"))
    ordered = end >= start
    counted = np.busday_count(start, np.where(ordered, end, start) + 1, busdaycal=calendar)
    width[known] = np.where(ordered, counted, -1)
    limit = pd.to_numeric(p.df["max_window_days"], errors="coerce")
    return width.isna() | ((width >= 0) & (width <= limit))


def _next_update_upcoming(p: _Parsed) -> pd.Series:
    days_ahead = (p.update_day - p.as_of).dt.days
    in_range = (days_ahead >= 0) & (days_ahead <= NEXT_UPDATE_MAX_DAYS)
    return ~p.update_valid | in_range


def _evidence(raw: object) -> dict[str, Any] | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _stated_by_carrier(raw: object) -> bool:
    """Whether the evidence makes the sentence that stands in for an unstated cause."""
    evidence = _evidence(raw)
    if evidence is None or not isinstance(evidence.get("carrier_title"), str):
        return False
    return (
        unstated_cause_key(
            evidence.get("kind"), bool(evidence.get("at")), bool(evidence.get("place"))
        )
        is not None
    )


def _groups(raw: object) -> list[tuple[str, str | None]] | None:
    """The ``causes`` column: (cause, evidence JSON) per cause of a notice whose orders are
    late for different reasons (ADR 0014); empty for a notice with one cause; None when it
    cannot be read (the rules that use it then fail)."""
    if not isinstance(raw, str) or not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(
        isinstance(g, dict) and isinstance(g.get("cause"), str) for g in value
    ):
        return None
    return [(g["cause"], json.dumps(g["evidence"]) if g.get("evidence") else None) for g in value]


def _known(cause: object, evidence: object) -> bool:
    if cause == UNKNOWN:
        return _stated_by_carrier(evidence)
    return cause in KNOWN_CAUSES


def _cause_known(p: _Parsed) -> pd.Series:
    """The notice's cause, and each order's when they differ, is a known Reason or the
    sentence of what the carrier did."""
    import pandas as pd

    rows = zip(p.df["cause"], p.df["cause_evidence"], p.df["causes"], strict=True)
    known = []
    for cause, evidence, raw in rows:
        groups = _groups(raw)
        known.append(
            groups is not None and _known(cause, evidence) and all(_known(c, e) for c, e in groups)
        )
    return pd.Series(known, index=p.df.index, dtype=bool)


def _steps_stated(email: bool, steps: object, locale: object, said: str) -> bool:
    keys = _split(steps, "|")
    if not keys:
        return False
    if not email:
        return True  # an SMS may leave the steps out to fit; the email must state one
    try:
        wanted = stated_next_steps(str(locale), keys)
    except RenderError:
        return False
    return any(step in said for step in wanted)


def _next_step_given(p: _Parsed) -> pd.Series:
    import pandas as pd

    rows = zip(p.is_email, p.df["next_steps"], p.df["locale"], p.said, strict=True)
    return pd.Series([_steps_stated(*row) for row in rows], index=p.df.index, dtype=bool)


def _per_row(p: _Parsed, check: Callable[..., bool], *columns: str) -> pd.Series:
    import pandas as pd

    values = zip(p.is_email, *(p.df[c] for c in columns), strict=True)
    return pd.Series([check(*row) for row in values], index=p.df.index, dtype=bool)


def _names(text: object, number: str) -> bool:
    """Whether ``number`` stands in ``text`` on its own ("O12" is not named by "O123")."""
    if not isinstance(text, str):
        return False
    start = text.find(number)
    while start >= 0:
        end = start + len(number)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = text.find(number, start + 1)
    return False


def _orders_named(email: bool, ids: object, text: object, subject: object) -> bool:
    numbers = _split(ids, ",")
    if not numbers or not all(_names(text, n) for n in numbers):
        return False
    return not email or all(_names(subject, n) for n in numbers)


@functools.lru_cache(maxsize=65536)
def _title_forms(title: str) -> tuple[str, ...]:
    """A title as the email shows it, then as an SMS may show it: in full, short or tiny."""
    shown = clean_title(title)
    tiny = sms_title(title, SMS_TINY_TITLE_LIMIT)
    return shown, sms_plain(shown), sms_plain(sms_title(title)), sms_plain(tiny)


def _titles_named(email: bool, titles: object, text: object, count: object, locale: object) -> bool:
    """Every title as displayed; an SMS may carry a shortened form instead or, when even the
    shortest titles do not fit, the number of items ("4 items", in the customer's language):
    the SMS renderer's last resort; the email names them all."""
    wanted = [_title_forms(t) for t in _split(titles, " | ")]
    if not wanted or not isinstance(text, str):
        return False
    if email:
        return all(forms[0] in text for forms in wanted)
    if all(any(form in text for form in forms[1:]) for forms in wanted):
        return True
    if isinstance(count, bool) or not isinstance(count, int | float) or count < len(wanted):
        return False
    try:
        return stated_item_count(str(locale), int(count)) in comparable(text)
    except RenderError:
        return False


def _order_numbers_in_text(p: _Parsed) -> pd.Series:
    return _per_row(p, _orders_named, "order_ids", "body_text", "subject")


def _item_titles_in_text(p: _Parsed) -> pd.Series:
    return _per_row(p, _titles_named, "item_titles", "body_text", "item_count", "locale")


def _channels_agree(p: _Parsed) -> pd.Series:
    columns = ("eta_earliest", "eta_latest", "next_update_by", "cause", "causes", "dates")
    parts = [_text(p.df[c]) for c in columns]
    key = parts[0].str.cat(parts[1:], sep="|")
    variants = key.groupby(p.df["notice_id"]).transform("nunique")
    return variants.eq(1).fillna(False).astype(bool)


_STATED_COLUMNS = (
    "locale",
    "timezone",
    "eta_earliest",
    "eta_latest",
    "next_update_by",
    "cause",
    "cause_evidence",
    "causes",
    "dates",
)


def _optional(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _windows(raw: object) -> list[tuple[str, str]] | None:
    """The ``dates`` column: each order's window when they differ (ADR 0014), those without
    a date left out (the notice's next update covers them); None when unreadable."""
    if not isinstance(raw, str) or not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    out = []
    for w in value:
        if w is None:
            continue
        if not (isinstance(w, list) and len(w) == 2 and all(isinstance(d, str) for d in w)):
            return None
        out.append((w[0], w[1]))
    return out


def _forms(
    locale: object,
    zone: object,
    first: object,
    last: object,
    update: object,
    cause: object,
    evidence: object,
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """(days, causes) as the message must state them (``stated_in_message``)."""
    return stated_in_message(
        locale=str(locale),
        timezone=str(zone),
        eta_earliest=_optional(first),
        eta_latest=_optional(last),
        next_update_by=_optional(update),
        cause=str(cause),
        cause_evidence=_optional(evidence),
        templates_dir=TEMPLATES_DIR,
    )


def _states(said: str, values: tuple[object, ...]) -> bool:
    """The days and the cause are in ``said``; when the orders differ, every order's cause
    and window too."""
    locale, zone, earliest, latest, update, cause, evidence, raw, raw_dates = values
    groups, windows = _groups(raw), _windows(raw_dates)
    if groups is None or windows is None:
        return False
    wanted = groups or [(str(cause), _optional(evidence))]
    try:
        days, _ = _forms(locale, zone, earliest, latest, update, cause, evidence)
        for first, last in windows:
            days += _forms(locale, zone, first, last, None, cause, evidence)[0]
        causes = [_forms(locale, zone, earliest, latest, update, c, e)[1] for c, e in wanted]
    except (RenderError, ValueError, TypeError):
        return False
    days_stated = all(any(form in said for form in day) for day in days)
    return days_stated and all(any(c in said for c in forms) for forms in causes)


def _eta_and_cause_in_text(p: _Parsed) -> pd.Series:
    """Judged only where the ETA or update and the cause are usable (else another rule's)."""
    import pandas as pd

    judged = _eta_or_next_update(p) & _text(p.df["cause"]).isin(KNOWN_CAUSES | {UNKNOWN})
    values = zip(*(p.df[c] for c in _STATED_COLUMNS), strict=True)
    rows = zip(judged, p.said, values, strict=True)
    return pd.Series(
        [not ok or _states(said, vals) for ok, said, vals in rows], index=p.df.index, dtype=bool
    )


@functools.lru_cache(maxsize=4)
def _load_phrases(path: Path, mtime_ns: int) -> tuple[str, ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip().lower() for line in lines if line.strip() and line[0] != "#")


def banned_phrases(path: Path = BANNED_PHRASES_PATH) -> tuple[str, ...]:
    """The maintained banned-phrase list, lower-cased (re-read when the file changes)."""
    return _load_phrases(path, path.stat().st_mtime_ns)


def _readable(subject: str, body: str, page: str) -> str:
    """Subject, text and the words of the HTML, lower-cased with whitespace collapsed.

    Tags are removed without a gap, so "<b>may</b> arrive" still reads "may arrive".
    """
    words = _TAG.sub("", page)
    if "&" in words:
        words = html.unescape(words)
    return " ".join(" ".join((subject, body, words)).split()).lower()


def _data_values(name: object, titles: object) -> list[str]:
    """The customer's name and the item titles in every form a message may print them.

    They are shop data, printed literally: a product called "A Few Days in Paris" or a
    customer named "{{7*7}}" is neither vague wording nor a template left unrendered.
    """
    shown = [clean_name(name)] if isinstance(name, str) else []
    for title in _split(titles, " | "):
        shown += _title_forms(title)
    forms = {form for value in shown if value for form in (value, sms_plain(value))}
    forms |= {html.escape(form, quote=False) for form in forms}
    return sorted(forms, key=len, reverse=True)


def _without(text: str, values: Sequence[str]) -> str:
    for value in values:
        if value in text:
            text = text.replace(value, " ")
    return text


def _vague(
    phrases: tuple[str, ...], name: object, titles: object, subject: str, body: str, page: str
) -> bool:
    """Whether a banned phrase is there once the name and item titles are taken out.

    Plain substring search: a regex alternation of ~60 phrases is 30x slower on 100k rows.
    """
    text = _readable(subject, body, page)
    if not any(phrase in text for phrase in phrases):
        return False
    for value in sorted({v.lower() for v in _data_values(name, titles)}, key=len, reverse=True):
        text = text.replace(value, " ")
    return any(phrase in text for phrase in phrases)


def _no_vague_phrasing(p: _Parsed) -> pd.Series:
    import pandas as pd

    phrases = banned_phrases()
    rows = zip(p.df["customer_name"], p.df["item_titles"], p.subject, p.body, p.page, strict=True)
    return pd.Series([not _vague(phrases, *row) for row in rows], index=p.df.index, dtype=bool)


def _no_template_syntax(p: _Parsed) -> pd.Series:
    import pandas as pd

    found = []
    rows = zip(p.df["customer_name"], p.df["item_titles"], p.subject, p.body, p.page, strict=True)
    for name, titles, *parts in rows:
        if not any(_template_syntax(part) for part in parts):  # the common case
            found.append(False)
            continue
        data = _data_values(name, titles)
        found.append(any(_template_syntax(_without(part, data)) for part in parts))
    return ~pd.Series(found, index=p.df.index, dtype=bool)


def _template_syntax(text: str) -> bool:
    if "{" not in text and "}" not in text:  # the common case, two fast scans
        return False
    return any(token in text for token in _TEMPLATE_TOKENS)


def _recipient_is_customer(p: _Parsed) -> pd.Series:
    return _strict_true(p.df["recipient_is_customer"])


def _consent_given(p: _Parsed) -> pd.Series:
    return _strict_true(p.df["consent"])


def _strict_true(series: pd.Series) -> pd.Series:
    """True only for a real boolean True; None, 1 or "true" count as failures."""
    if series.dtype == bool:
        return series
    return series.map(lambda v: v is True or (type(v).__name__ == "bool_" and bool(v))).astype(bool)


def _valid_address(channel: str, recipient: object) -> bool:
    if not isinstance(recipient, str):
        return False
    if channel == "sms":
        return bool(_E164.match(recipient))
    if channel != "email":
        return False
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(recipient, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _recipient_valid(p: _Parsed) -> pd.Series:
    pairs = list(zip(_text(p.df["channel"]), p.df["recipient"], strict=True))
    verdicts = {pair: _valid_address(*pair) for pair in set(pairs)}
    import pandas as pd

    return pd.Series([verdicts[pair] for pair in pairs], index=p.df.index, dtype=bool)


def _sms_within_two_segments(p: _Parsed) -> pd.Series:
    import pandas as pd

    segments = pd.to_numeric(p.df["sms_segments"], errors="coerce")
    return ~p.is_sms | ((segments >= 1) & (segments <= 2))


def _notice_current(p: _Parsed) -> pd.Series:
    import pandas as pd

    age = pd.to_numeric(p.df["evidence_age_hours"], errors="coerce")
    limit = pd.to_numeric(p.df["freshness_limit_hours"], errors="coerce")
    current = (p.follow_up & _strict_true(p.df["episodes_closed"])) | (
        ~p.follow_up & _strict_true(p.df["episode_open"])
    )
    return current & (age >= 0) & (age <= limit)


_ROW_CHECKS: dict[str, Callable[[_Parsed], pd.Series]] = {
    "content_complete": _content_complete,
    "subject_single_line": _subject_single_line,
    "eta_or_next_update": _eta_or_next_update,
    "eta_in_future": _eta_in_future,
    "eta_after_promise": _eta_after_promise,
    "eta_window_within_limit": _eta_window_within_limit,
    "next_update_upcoming": _next_update_upcoming,
    "cause_known": _cause_known,
    "next_step_given": _next_step_given,
    "order_numbers_in_text": _order_numbers_in_text,
    "item_titles_in_text": _item_titles_in_text,
    "channels_agree": _channels_agree,
    "eta_and_cause_in_text": _eta_and_cause_in_text,
    "no_vague_phrasing": _no_vague_phrasing,
    "no_template_syntax": _no_template_syntax,
    "recipient_is_customer": _recipient_is_customer,
    "consent_given": _consent_given,
    "recipient_valid": _recipient_valid,
    "sms_within_two_segments": _sms_within_two_segments,
    "notice_current": _notice_current,
}


def derive_row_checks(staged: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per row rule, plus ``row_id`` (what the GX suite validates)."""
    import pandas as pd

    missing = [c for c in ROW_COLUMNS if c not in staged.columns]
    if missing:
        raise ValueError(f"staged frame lacks columns: {', '.join(missing)}")
    frame = staged.reset_index(drop=True)
    parsed = _parse(frame)
    checks = {
        rule.name: _ROW_CHECKS[rule.name](parsed).fillna(False).astype(bool) for rule in ROW_RULES
    }
    return pd.DataFrame({"row_id": _text(frame["row_id"]), **checks})


# --------------------------------------------------------------------------- running GX


@dataclass(frozen=True)
class _Outcome:
    rule: str
    success: bool
    unexpected: tuple[str, ...]  # values of the index column of the failing rows
    error: str | None  # set when the expectation raised inside GX


@dataclass(frozen=True)
class _SuiteRun:
    name: str
    frame: pd.DataFrame
    expectations: list[Any]
    index_column: str | None


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@functools.cache
def _fixed_expectation(rule: str, base_name: str, column: str | None) -> type:
    """A GX expectation class named after the rule, with its column fixed as a default.

    ``ExpectConsentGiven`` is ``ExpectColumnValuesToBeInSet`` on column ``consent_given`` with
    value set ``{True}``; batch rules fix their metric column the same way.
    """
    import great_expectations.expectations as gxe

    base = getattr(gxe, base_name)
    attributes: dict[str, Any] = {"description": _DESCRIPTIONS[rule], "__module__": __name__}
    annotations: dict[str, Any] = {}
    if column is not None:
        attributes["column"], annotations["column"] = column, str
    if base_name == "ExpectColumnValuesToBeInSet":
        attributes["value_set"], annotations["value_set"] = [True], list
    attributes["__annotations__"] = annotations
    return type(f"Expect{_camel(rule)}", (base,), attributes)


def _expectation(rule: str, base_name: str, column: str | None = None, **kwargs: Any) -> Any:
    cls = _fixed_expectation(rule, base_name, column)
    return cls(meta={"rule": rule}, **kwargs)


def _raised(info: Any) -> str | None:
    """The message of an exception GX caught while computing an expectation, if any."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "raised")
    for nested in info.values():
        message = _raised(nested)
        if message:
            return message
    return None


def _outcome(result: Any, index_column: str | None) -> _Outcome:
    rule = str(result.expectation_config.meta.get("rule"))
    error = _raised(result.exception_info)
    unexpected: list[str] = []
    for entry in (result.result or {}).get("unexpected_index_list") or []:
        if index_column and isinstance(entry, Mapping):
            unexpected.append(str(entry[index_column]))
    return _Outcome(rule, bool(result.success) and error is None, tuple(unexpected), error)


def _validate(runs: Sequence[_SuiteRun]) -> list[_Outcome]:
    """Run each suite on its frame in one ephemeral GX context."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("oasis_gate")
    outcomes: list[_Outcome] = []
    for run in runs:
        batch = source.add_dataframe_asset(run.name).add_batch_definition_whole_dataframe(run.name)
        suite = context.suites.add(
            gx.ExpectationSuite(name=run.name, expectations=run.expectations)
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=run.name, data=batch, suite=suite)
        )
        result_format: dict[str, Any] = {"result_format": "COMPLETE"}
        if run.index_column:
            result_format["unexpected_index_column_names"] = [run.index_column]
        result = definition.run(
            batch_parameters={"dataframe": run.frame}, result_format=result_format
        )
        outcomes += [_outcome(r, run.index_column) for r in result.results]
    return outcomes


def _failure_counts(outcomes: Iterable[_Outcome]) -> dict[str, int]:
    return {o.rule: len(o.unexpected) or 1 for o in outcomes if not o.success}


# --------------------------------------------------------------------------- row gate


def check_rows(staged: pd.DataFrame) -> GateReport:
    """Validate every staged row; failing rows are listed with the rules they broke."""
    started = time.perf_counter()
    derived = derive_row_checks(staged)
    derive_seconds = time.perf_counter() - started
    outcomes: list[_Outcome] = []
    if len(derived):
        expectations = [
            _expectation(r.name, "ExpectColumnValuesToBeInSet", r.name) for r in ROW_RULES
        ]
        outcomes = _validate([_SuiteRun("oasis_rows", derived, expectations, "row_id")])
    row_failures: dict[str, list[str]] = {}
    for outcome in outcomes:
        for row_id in outcome.unexpected:
            rules = row_failures.setdefault(row_id, [])
            if outcome.rule not in rules:  # a repeated row_id is reported once per rule
                rules.append(outcome.rule)
    raised = [f"{o.rule}: the expectation raised ({o.error})" for o in outcomes if o.error]
    summary = {
        "suite": "oasis_rows",
        "rows": len(derived),
        "rows_failed": len(row_failures),
        "failures_by_rule": _failure_counts(outcomes),
        "seconds_derive": round(derive_seconds, 3),
        "seconds_total": round(time.perf_counter() - started, 3),
    }
    return GateReport(
        passed=not row_failures and not raised,
        row_failures=row_failures,
        batch_failures=raised,
        halted=bool(raised),
        summary=summary,
    )


# --------------------------------------------------------------------------- batch gate


@dataclass(frozen=True)
class _BatchMetrics:
    notices: int
    open_shipments: int
    open_share: float
    history_runs: int
    history_median: float | None
    history_limit: float | None
    quarantined: int
    refused_before_gate: int
    quarantine_share: float
    quarantine_checked: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _batch_metrics(
    staged: pd.DataFrame,
    open_shipments: int,
    history: Sequence[int],
    quarantined: int,
    limits: Mapping[str, float],
) -> _BatchMetrics:
    notices = int(staged["notice_id"].nunique()) if len(staged) else 0
    share = notices / open_shipments if open_shipments > 0 else (math.inf if notices else 0.0)
    median = float(statistics.median(history)) if history else None
    limit = (
        limits["history_factor"] * median + limits["history_slack"] if median is not None else None
    )
    refused = int(limits["refused_before_gate"])
    rows = len(staged) + refused
    return _BatchMetrics(
        notices=notices,
        open_shipments=open_shipments,
        open_share=share,
        history_runs=len(history),
        history_median=median,
        history_limit=limit,
        quarantined=quarantined + refused,
        refused_before_gate=refused,
        quarantine_share=(quarantined + refused) / rows if rows else 0.0,
        quarantine_checked=quarantined + refused >= limits["min_quarantined_to_halt"],
    )


def _recipient_frame(staged: pd.DataFrame) -> pd.DataFrame:
    """Per row: the normalised recipient and how many customers it receives messages for.
    A row an earlier run already sent (``already_sent``: staged again while its notice is
    current; the ledger does not send it twice) is no message of this batch."""
    import pandas as pd

    if "already_sent" in staged:
        staged = staged[~staged["already_sent"].fillna(False).astype(bool)]
    channel = _text(staged["channel"])
    recipient = _text(staged["recipient"]).str.strip()
    key = recipient.where(channel.ne("email"), recipient.str.lower())
    frame = pd.DataFrame(
        {
            "row_id": _text(staged["row_id"]),
            "channel": channel,
            "recipient_key": key,
            "customer_id": _text(staged["customer_id"]),
        }
    )
    customers = frame.groupby(["channel", "recipient_key"])["customer_id"].transform("nunique")
    return frame.assign(customers_at_recipient=customers.astype(int))


def _batch_runs(
    recipients: pd.DataFrame,
    metrics: _BatchMetrics,
    limits: Mapping[str, float],
    feeds: pd.DataFrame,
) -> list[_SuiteRun]:
    import pandas as pd

    between = "ExpectColumnValuesToBeBetween"
    numbers = pd.DataFrame(
        {
            "notices": [metrics.notices],
            "open_share": [metrics.open_share],
            "quarantine_share": [metrics.quarantine_share],
        }
    )
    volume = [
        _expectation("volume_within_max", between, "notices", max_value=limits["max_notices"]),
        _expectation(
            "volume_within_open_shipments",
            between,
            "open_share",
            max_value=limits["max_open_share"],
        ),
    ]
    if metrics.quarantine_checked:
        volume.append(
            _expectation(
                "quarantine_share_within_limit",
                between,
                "quarantine_share",
                max_value=limits["max_quarantine_share"],
            )
        )
    if metrics.history_limit is not None:
        volume.append(
            _expectation(
                "volume_within_history", between, "notices", max_value=metrics.history_limit
            )
        )
    freshness = [
        _expectation("feeds_reported", "ExpectTableRowCountToBeBetween", min_value=1),
        _expectation(
            "feeds_fresh", between, "age_hours", max_value=limits["freshness_limit_hours"]
        ),
    ]
    recipient_rules = [
        _expectation(
            "recipient_unique_per_channel",
            "ExpectCompoundColumnsToBeUnique",
            column_list=["channel", "recipient_key", "customer_id"],
        ),
        _expectation(
            "recipient_customers_within_limit",
            between,
            "customers_at_recipient",
            max_value=limits["max_customers_per_recipient"],
        ),
    ]
    runs = [
        _SuiteRun("oasis_batch_volume", numbers, volume, None),
        _SuiteRun("oasis_batch_feeds", feeds, freshness, "carrier"),
    ]
    if len(recipients):
        runs.append(_SuiteRun("oasis_batch_recipients", recipients, recipient_rules, "row_id"))
    return runs


def _feeds_frame(feed_age_hours: Mapping[str, float]) -> pd.DataFrame:
    import pandas as pd

    ages = {
        carrier: float(age) if age is not None and not math.isnan(float(age)) else math.inf
        for carrier, age in feed_age_hours.items()
    }
    return pd.DataFrame(
        {"carrier": list(ages), "age_hours": list(ages.values())}, dtype=object
    ).astype({"carrier": str, "age_hours": float})


_REASONS: dict[str, Callable[[_Outcome, _BatchMetrics, Mapping[str, float]], str]] = {
    "feeds_reported": lambda o, m, lim: "no carrier feed reported its age",
    "feeds_fresh": lambda o, m, lim: (
        f"feeds older than {lim['freshness_limit_hours']:g} h: {', '.join(sorted(o.unexpected))}"
    ),
    "volume_within_max": lambda o, m, lim: (
        f"{m.notices} notices > max_notices {lim['max_notices']:g}"
    ),
    "volume_within_open_shipments": lambda o, m, lim: (
        f"{m.notices} notices for {m.open_shipments} open shipments "
        f"(share {m.open_share:.2f} > {lim['max_open_share']:g})"
    ),
    "volume_within_history": lambda o, m, lim: (
        f"{m.notices} notices > {m.history_limit:g} ({lim['history_factor']:g} x same-hour "
        f"median {m.history_median:g} of {m.history_runs} earlier runs + "
        f"{lim['history_slack']:g})"
    ),
    "quarantine_share_within_limit": lambda o, m, lim: (
        f"{m.quarantined} rows quarantined ({m.refused_before_gate} at render), share "
        f"{m.quarantine_share:.2f} > {lim['max_quarantine_share']:g}"
    ),
    "recipient_unique_per_channel": lambda o, m, lim: (
        f"{len(o.unexpected)} rows send one customer two messages on one channel"
    ),
    "recipient_customers_within_limit": lambda o, m, lim: (
        f"{len(o.unexpected)} rows go to an address or number shared by more than "
        f"{lim['max_customers_per_recipient']:g} customers"
    ),
}
_ROW_LEVEL_BATCH_RULES = ("recipient_unique_per_channel", "recipient_customers_within_limit")
# Rules whose failing rows are quarantined without halting the batch: an address shared by
# a few more customers than allowed is a data fact about those rows (a family, an office),
# and the rows are not sent either way; a placeholder address on thousands of accounts
# halts through the quarantined share.
_ROWS_ONLY = frozenset({"recipient_customers_within_limit"})


def _batch_reason(outcome: _Outcome, metrics: _BatchMetrics, limits: Mapping[str, float]) -> str:
    """One line a person can act on, built from our own numbers (no personal data)."""
    if outcome.error:
        return f"{outcome.rule}: the expectation raised ({outcome.error})"
    return f"{outcome.rule}: {_REASONS[outcome.rule](outcome, metrics, limits)}"


def check_batch(
    staged: pd.DataFrame,
    *,
    open_shipments: int,
    history_same_hour: list[int],
    max_notices: int,
    max_quarantine_share: float = MAX_QUARANTINE_SHARE,
    feed_age_hours: dict[str, float],
    freshness_limit_hours: float,
    max_open_share: float = MAX_OPEN_SHARE,
    min_quarantined_to_halt: int = MIN_QUARANTINED_TO_HALT,
    history_factor: float = HISTORY_FACTOR,
    history_slack: float = HISTORY_SLACK,
    max_customers_per_recipient: int = MAX_CUSTOMERS_PER_RECIPIENT,
    refused_before_gate: int = 0,
    row_report: GateReport | None = None,
) -> GateReport:
    """Validate the batch as a whole; any failure halts it for an operator's decision.

    ``row_report`` is this batch's ``check_rows`` result (run here when not given; pass it
    to avoid validating the rows twice). The quarantined share counts the rows it failed
    plus ``refused_before_gate`` (rows the renderer could not make, which never reach the
    gate): a template broken for everyone halts the batch. Two breakers are not evaluated
    when they cannot mean anything, and the summary says so: the history breaker without
    same-hour history, and the quarantine-share breaker below ``min_quarantined_to_halt``
    quarantined rows (one bad row of three is a row problem that quarantine already
    handles, not a systemic fault). The recipient rules name their rows, which are
    quarantined; an address shared by more customers than allowed does not halt the batch
    by itself, its rows count towards the quarantined share.
    """
    started = time.perf_counter()
    missing = [
        c
        for c in ("row_id", "notice_id", "customer_id", "channel", "recipient")
        if c not in staged.columns
    ]
    if missing:
        raise ValueError(f"staged frame lacks columns: {', '.join(missing)}")
    rows = row_report if row_report is not None else check_rows(staged)
    limits = {
        "max_notices": float(max_notices),
        "max_open_share": float(max_open_share),
        "max_quarantine_share": float(max_quarantine_share),
        "min_quarantined_to_halt": float(min_quarantined_to_halt),
        "freshness_limit_hours": float(freshness_limit_hours),
        "history_factor": float(history_factor),
        "history_slack": float(history_slack),
        "max_customers_per_recipient": float(max_customers_per_recipient),
        "refused_before_gate": float(refused_before_gate),
    }
    recipients = _recipient_frame(staged)
    shared = recipients["customers_at_recipient"] > max_customers_per_recipient
    quarantined = set(rows.row_failures) | set(recipients.loc[shared, "row_id"])
    metrics = _batch_metrics(staged, open_shipments, history_same_hour, len(quarantined), limits)
    feeds = _feeds_frame(feed_age_hours)
    outcomes = _validate(_batch_runs(recipients, metrics, limits, feeds))
    failed = [o for o in outcomes if not o.success]
    row_failures: dict[str, list[str]] = {}
    for outcome in failed:
        if outcome.rule in _ROW_LEVEL_BATCH_RULES:
            for row_id in outcome.unexpected:
                row_failures.setdefault(row_id, []).append(outcome.rule)
    reasons = [_batch_reason(o, metrics, limits) for o in failed if o.rule not in _ROWS_ONLY]
    summary = {
        "suite": "oasis_batch",
        **metrics.as_dict(),
        "history_checked": metrics.history_limit is not None,
        "feeds": dict(feed_age_hours),
        "limits": limits,
        "seconds_total": round(time.perf_counter() - started, 3),
    }
    return GateReport(
        passed=not reasons and not row_failures,
        row_failures=row_failures,
        batch_failures=reasons,
        halted=bool(reasons),
        summary=summary,
    )


# --------------------------------------------------------------------------- report


def _summary_html(summary: Mapping[str, Any]) -> list[str]:
    esc = html.escape
    parts = ["<dl>"]
    for key, value in summary.items():
        parts.append(f"<dt>{esc(str(key))}</dt>")
        if isinstance(value, Mapping):
            parts += ["<dd>", *_summary_html(value), "</dd>"]
        else:
            parts.append(f"<dd>{esc(str(value))}</dd>")
    parts.append("</dl>")
    return parts


def _report_html(report: GateReport) -> str:
    esc = html.escape
    by_rule: dict[str, list[str]] = {}
    for row_id, rules in sorted(report.row_failures.items()):
        for rule in rules:
            by_rule.setdefault(rule, []).append(row_id)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Oasis gate report</title>',
        "<style>body{font-family:sans-serif;max-width:60em;margin:1em auto;color:#1f2937}"
        "code{word-break:break-all}dd{margin-left:1.5em}</style></head><body>",
        f"<h1>Gate report: {esc(report.verdict)}</h1>",
    ]
    if report.halted:
        parts.append(
            "<p>The batch is halted: nothing in it is sent. Every row that passed is blocked "
            "until an operator approves the batch or it is discarded.</p>"
        )
    if report.batch_failures:
        parts.append("<h2>Batch failures</h2><ul>")
        parts += [f"<li>{esc(reason)}</li>" for reason in report.batch_failures]
        parts.append("</ul>")
    if by_rule:
        parts.append("<h2>Rows that failed (quarantined)</h2>")
        for rule, row_ids in sorted(by_rule.items(), key=lambda item: (-len(item[1]), item[0])):
            shown = ", ".join(esc(r) for r in row_ids[:REPORT_ROW_LIMIT])
            more = (
                f" and {len(row_ids) - REPORT_ROW_LIMIT} more"
                if len(row_ids) > REPORT_ROW_LIMIT
                else ""
            )
            parts.append(
                f"<h3>{esc(rule)} ({len(row_ids)})</h3>"
                f"<p>{esc(_DESCRIPTIONS.get(rule, ''))}</p><p><code>{shown}</code>{esc(more)}</p>"
            )
    parts.append("<h2>Summary</h2>")
    parts += _summary_html(report.summary)
    parts.append("</body></html>")
    return "\n".join(parts)
