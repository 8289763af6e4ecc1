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
import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carriers.taxonomy import Reason
from notify.render import clean_title

if TYPE_CHECKING:
    import pandas as pd

BANNED_PHRASES_PATH = Path(__file__).resolve().parent / "banned_phrases.txt"
NEXT_UPDATE_MAX_DAYS = 7
HISTORY_FACTOR = 3.0
HISTORY_SLACK = 50
MAX_OPEN_SHARE = 0.5
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
)

KNOWN_CAUSES = frozenset(r.value for r in Reason if r is not Reason.UNKNOWN)
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
    Rule("content_complete", "channel is email or sms and every part is there"),
    Rule("subject_single_line", "the email subject has no CR or LF"),
    Rule("eta_or_next_update", "a concrete ETA or else an explicit next update time"),
    Rule("eta_in_future", "the ETA does not start before the as-of date"),
    Rule("eta_after_promise", "the ETA starts after the promised date"),
    Rule("eta_window_within_limit", "the ETA window is ordered and within max_window_days"),
    Rule(
        "next_update_upcoming",
        f"next update is from the as-of date to +{NEXT_UPDATE_MAX_DAYS} days",
    ),
    Rule("cause_known", "the cause is a known Reason, not unknown"),
    Rule("order_numbers_in_text", "every order number is in the text (and email subject)"),
    Rule("item_titles_in_text", "every delayed item title is in the email text"),
    Rule("channels_agree", "all channels of one notice state the same ETA and cause"),
    Rule("no_vague_phrasing", "no banned vague phrase (notify/banned_phrases.txt)"),
    Rule("no_template_syntax", "no unrendered template syntax"),
    Rule("recipient_is_customer", "the recipient belongs to the order's customer"),
    Rule("consent_given", "the customer consented to this channel"),
    Rule("recipient_valid", "valid email address syntax, or an E.164 number for sms"),
    Rule("sms_within_two_segments", "an SMS needs at most two segments"),
    Rule("notice_current", "the delay episode is open and its evidence is fresh"),
)

BATCH_RULES: tuple[Rule, ...] = (
    Rule("feeds_reported", "at least one carrier feed reported its age"),
    Rule("feeds_fresh", "every carrier feed is within the freshness limit"),
    Rule("volume_within_max", "notices do not exceed max_notices"),
    Rule("volume_within_open_shipments", "notices are a sane share of open shipments"),
    Rule("volume_within_history", "notices are within 3x the same-hour median + 50"),
    Rule("quarantine_share_within_limit", "the quarantined share of rows is within the limit"),
    Rule("recipient_unique_per_channel", "no recipient gets two messages on one channel"),
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

    def to_html(self) -> str:
        """A small self-contained HTML report (every value escaped)."""
        return _report_html(self)


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


def _parse(df: pd.DataFrame) -> _Parsed:
    import pandas as pd

    update = _text(df["next_update_by"])
    update_at = pd.to_datetime(update, format="ISO8601", utc=True, errors="coerce")
    has_offset = update.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    channel = _text(df["channel"])
    return _Parsed(
        df=df,
        is_email=channel.eq("email"),
        is_sms=channel.eq("sms"),
        earliest=_day(df["eta_earliest"]),
        latest=_day(df["eta_latest"]),
        eta_any=_present(df["eta_earliest"]) | _present(df["eta_latest"]),
        update_given=_present(df["next_update_by"]),
        update_day=_day(update),
        update_valid=update_at.notna() & has_offset,
        as_of=_day(df["as_of_date"]),
        subject=_text(df["subject"]).tolist(),
        body=_text(df["body_text"]).tolist(),
        page=[_STYLE_BLOCK.sub(" ", page) for page in _text(df["body_html"])],
    )


def _content_complete(p: _Parsed) -> pd.Series:
    text = _present(p.df["body_text"])
    email_parts = _present(p.df["subject"]) & _present(p.df["body_html"])
    return text & (p.is_sms | (p.is_email & email_parts))


def _subject_single_line(p: _Parsed) -> pd.Series:
    return ~p.is_email | ~_text(p.df["subject"]).str.contains(r"[\r\n]", regex=True)


def _eta_or_next_update(p: _Parsed) -> pd.Series:
    eta_ok = p.earliest.notna() & p.latest.notna()
    return (eta_ok & ~p.update_given) | (~p.eta_any & p.update_given & p.update_valid)


# The value rules below judge a value only when it is there and readable; a missing or
# unreadable ETA or update time is eta_or_next_update's finding, so each fault has one name.
# The reference values they compare with (as-of date, promise, limit) must be readable.


def _eta_in_future(p: _Parsed) -> pd.Series:
    return p.earliest.isna() | (p.earliest >= p.as_of)


def _eta_after_promise(p: _Parsed) -> pd.Series:
    return p.earliest.isna() | (p.earliest > _day(p.df["promised_by"]))


def _eta_window_within_limit(p: _Parsed) -> pd.Series:
    import pandas as pd

    width = (p.latest - p.earliest).dt.days
    limit = pd.to_numeric(p.df["max_window_days"], errors="coerce")
    return width.isna() | ((width >= 0) & (width <= limit))


def _next_update_upcoming(p: _Parsed) -> pd.Series:
    days_ahead = (p.update_day - p.as_of).dt.days
    in_range = (days_ahead >= 0) & (days_ahead <= NEXT_UPDATE_MAX_DAYS)
    return ~p.update_valid | in_range


def _cause_known(p: _Parsed) -> pd.Series:
    return _text(p.df["cause"]).isin(KNOWN_CAUSES)


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


def _titles_named(email: bool, titles: object, text: object) -> bool:
    if not email:
        return True
    wanted = [clean_title(t) for t in _split(titles, " | ")]
    return bool(wanted) and isinstance(text, str) and all(t in text for t in wanted)


def _order_numbers_in_text(p: _Parsed) -> pd.Series:
    return _per_row(p, _orders_named, "order_ids", "body_text", "subject")


def _item_titles_in_text(p: _Parsed) -> pd.Series:
    return _per_row(p, _titles_named, "item_titles", "body_text")


def _channels_agree(p: _Parsed) -> pd.Series:
    parts = [_text(p.df[c]) for c in ("eta_earliest", "eta_latest", "next_update_by", "cause")]
    key = parts[0].str.cat(parts[1:], sep="|")
    variants = key.groupby(p.df["notice_id"]).transform("nunique")
    return variants.eq(1).fillna(False).astype(bool)


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


def _vague(phrases: tuple[str, ...], titles: object, subject: str, body: str, page: str) -> bool:
    """Whether a banned phrase is there once the item titles (free shop text) are taken out.

    Plain substring search: a regex alternation of ~60 phrases is 30x slower on 100k rows.
    """
    text = _readable(subject, body, page)
    if not any(phrase in text for phrase in phrases):
        return False
    for title in _split(titles, " | "):
        text = text.replace(clean_title(title).lower(), " ")
    return any(phrase in text for phrase in phrases)


def _no_vague_phrasing(p: _Parsed) -> pd.Series:
    import pandas as pd

    phrases = banned_phrases()
    rows = zip(p.df["item_titles"], p.subject, p.body, p.page, strict=True)
    return pd.Series([not _vague(phrases, *row) for row in rows], index=p.df.index, dtype=bool)


def _no_template_syntax(p: _Parsed) -> pd.Series:
    import pandas as pd

    rows = zip(p.subject, p.body, p.page, strict=True)
    found = [any(_template_syntax(part) for part in row) for row in rows]
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
    return _strict_true(p.df["episode_open"]) & (age >= 0) & (age <= limit)


_ROW_CHECKS: dict[str, Callable[[_Parsed], pd.Series]] = {
    "content_complete": _content_complete,
    "subject_single_line": _subject_single_line,
    "eta_or_next_update": _eta_or_next_update,
    "eta_in_future": _eta_in_future,
    "eta_after_promise": _eta_after_promise,
    "eta_window_within_limit": _eta_window_within_limit,
    "next_update_upcoming": _next_update_upcoming,
    "cause_known": _cause_known,
    "order_numbers_in_text": _order_numbers_in_text,
    "item_titles_in_text": _item_titles_in_text,
    "channels_agree": _channels_agree,
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
    history_median: float | None
    history_limit: float | None
    quarantined: int
    quarantine_share: float
    quarantine_checked: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _batch_metrics(
    staged: pd.DataFrame,
    open_shipments: int,
    history: Sequence[int],
    quarantined: int,
    min_quarantined: int,
) -> _BatchMetrics:
    notices = int(staged["notice_id"].nunique()) if len(staged) else 0
    share = notices / open_shipments if open_shipments > 0 else (math.inf if notices else 0.0)
    median = float(statistics.median(history)) if history else None
    limit = HISTORY_FACTOR * median + HISTORY_SLACK if median is not None else None
    return _BatchMetrics(
        notices=notices,
        open_shipments=open_shipments,
        open_share=share,
        history_median=median,
        history_limit=limit,
        quarantined=quarantined,
        quarantine_share=quarantined / len(staged) if len(staged) else 0.0,
        quarantine_checked=quarantined >= min_quarantined,
    )


def _recipient_frame(staged: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    channel = _text(staged["channel"])
    recipient = _text(staged["recipient"]).str.strip()
    key = recipient.where(channel.ne("email"), recipient.str.lower())
    return pd.DataFrame(
        {"row_id": _text(staged["row_id"]), "channel": channel, "recipient_key": key}
    )


def _batch_runs(
    staged: pd.DataFrame, metrics: _BatchMetrics, limits: Mapping[str, float], feeds: pd.DataFrame
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
    unique = [
        _expectation(
            "recipient_unique_per_channel",
            "ExpectCompoundColumnsToBeUnique",
            column_list=["channel", "recipient_key"],
        )
    ]
    return [
        _SuiteRun("oasis_batch_volume", numbers, volume, None),
        _SuiteRun("oasis_batch_feeds", feeds, freshness, "carrier"),
        _SuiteRun("oasis_batch_recipients", _recipient_frame(staged), unique, "row_id"),
    ]


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
        f"{m.notices} notices > {m.history_limit:g} "
        f"({HISTORY_FACTOR:g} x same-hour median {m.history_median:g} + {HISTORY_SLACK})"
    ),
    "quarantine_share_within_limit": lambda o, m, lim: (
        f"{m.quarantined} rows quarantined, share {m.quarantine_share:.2f} > "
        f"{lim['max_quarantine_share']:g}"
    ),
    "recipient_unique_per_channel": lambda o, m, lim: (
        f"{len(o.unexpected)} rows share a recipient on one channel"
    ),
}


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
    max_quarantine_share: float = 0.2,
    feed_age_hours: dict[str, float],
    freshness_limit_hours: float,
    max_open_share: float = MAX_OPEN_SHARE,
    min_quarantined_to_halt: int = MIN_QUARANTINED_TO_HALT,
    row_report: GateReport | None = None,
) -> GateReport:
    """Validate the batch as a whole; any failure halts it for an operator's decision.

    ``row_report`` is this batch's ``check_rows`` result (run here when not given; pass it
    to avoid validating the rows twice): the quarantined share is the share of rows it
    failed. Two breakers are not evaluated when they cannot mean anything, and the summary
    says so: the history breaker without same-hour history, and the quarantine-share breaker
    below ``min_quarantined_to_halt`` quarantined rows (one bad row of three is a row problem
    that quarantine already handles, not a systemic fault).
    """
    started = time.perf_counter()
    missing = [
        c for c in ("row_id", "notice_id", "channel", "recipient") if c not in staged.columns
    ]
    if missing:
        raise ValueError(f"staged frame lacks columns: {', '.join(missing)}")
    rows = row_report if row_report is not None else check_rows(staged)
    metrics = _batch_metrics(
        staged,
        open_shipments,
        history_same_hour,
        len(rows.row_failures),
        min_quarantined_to_halt,
    )
    limits = {
        "max_notices": float(max_notices),
        "max_open_share": float(max_open_share),
        "max_quarantine_share": float(max_quarantine_share),
        "freshness_limit_hours": float(freshness_limit_hours),
    }
    outcomes = _validate(_batch_runs(staged, metrics, limits, _feeds_frame(feed_age_hours)))
    failed = [o for o in outcomes if not o.success]
    duplicates = next((o for o in failed if o.rule == "recipient_unique_per_channel"), None)
    row_failures = {
        row_id: ["recipient_unique_per_channel"]
        for row_id in (duplicates.unexpected if duplicates else ())
    }
    reasons = [_batch_reason(o, metrics, limits) for o in failed]
    summary = {
        "suite": "oasis_batch",
        **metrics.as_dict(),
        "history_checked": metrics.history_limit is not None,
        "feeds": dict(feed_age_hours),
        "limits": limits,
        "seconds_total": round(time.perf_counter() - started, 3),
    }
    return GateReport(
        passed=not reasons,
        row_failures=row_failures,
        batch_failures=reasons,
        halted=bool(reasons),
        summary=summary,
    )


# --------------------------------------------------------------------------- report


def _report_html(report: GateReport) -> str:
    esc = html.escape
    verdict = "HALTED" if report.halted else ("PASSED" if report.passed else "ROWS QUARANTINED")
    by_rule: dict[str, list[str]] = {}
    for row_id, rules in sorted(report.row_failures.items()):
        for rule in rules:
            by_rule.setdefault(rule, []).append(row_id)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Oasis gate report</title></head><body>',
        f"<h1>Gate report: {esc(verdict)}</h1>",
    ]
    if report.batch_failures:
        parts.append("<h2>Batch failures</h2><ul>")
        parts += [f"<li>{esc(reason)}</li>" for reason in report.batch_failures]
        parts.append("</ul>")
    if by_rule:
        parts.append("<h2>Rows that failed</h2>")
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
    parts.append("<h2>Summary</h2><dl>")
    for key, value in report.summary.items():
        parts.append(f"<dt>{esc(str(key))}</dt><dd>{esc(str(value))}</dd>")
    parts.append("</dl></body></html>")
    return "\n".join(parts)
