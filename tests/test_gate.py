"""Tests for notify.gate: every rule passes on good rows and fails on a made-to-fail row,
the "CX mirage" notice fails by name, batches pass or halt with reasons.

GX is slow to set up, so the row cases share one validation run (module fixture): every case
is its own notice inside one staged frame, and each test reads its rows from the one report.
"""

from __future__ import annotations

import copy
import json
import zlib
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from notify import gate
from notify.gate import BATCH_RULES, ROW_COLUMNS, ROW_RULES, GateReport, check_batch, check_rows
from notify.render import render
from notify.stages.gating import cause_groups, date_windows, item_count
from tests.test_render import CASES, HOSTILE_NAME, attention, base_facts, follow_up

AS_OF = "2026-11-22"
Row = dict[str, Any]


def stage(
    notice_id: str, facts: dict[str, Any], channels: tuple[str, ...] = ("email", "sms")
) -> list[Row]:
    """Staged rows for one notice, as the composer builds them (one per channel)."""
    facts = {**facts, "notice_id": notice_id}
    eta = facts["eta"]
    rows = []
    for channel in channels:
        message = render(facts, channel)
        rows.append(
            {
                "row_id": f"{notice_id}:{channel}",
                "notice_id": notice_id,
                "customer_id": f"c_{notice_id}",
                "channel": channel,
                "recipient": f"{notice_id}@example.com"
                if channel == "email"
                else _phone(notice_id),
                "subject": message.subject,
                "body_text": message.text,
                "body_html": message.html,
                "sms_segments": message.sms_segments,
                "eta_earliest": eta["earliest"] if eta else None,
                "eta_latest": eta["latest"] if eta else None,
                "next_update_by": facts["next_update_by"],
                "cause": facts["cause"],
                "order_ids": ",".join(o["order_id"] for o in facts["orders"]),
                "item_titles": " | ".join(
                    i["title"] for o in facts["orders"] if "problem" not in o for i in o["items"]
                ),
                "promised_by": min(o["promised_by"] for o in facts["orders"]),
                "as_of_date": AS_OF,
                "max_window_days": 3,
                "recipient_is_customer": True,
                "consent": True,
                "evidence_age_hours": 3.5,
                "freshness_limit_hours": 72.0,
                "episode_open": facts["kind"] in ("delay", "attention"),
                "episodes_closed": facts["kind"] in ("delivered", "resolved"),
                "kind": facts["kind"],
                "locale": facts["locale"],
                "timezone": facts["timezone"],
                "next_steps": "|".join(facts["next_steps"]),
                "cause_evidence": (
                    json.dumps(facts["cause_evidence"]) if facts["cause_evidence"] else None
                ),
                "customer_name": facts["customer"]["first_name"],
                "causes": cause_groups(facts),
                "item_count": item_count(facts),
                "dates": date_windows(facts),
            }
        )
    return rows


def _phone(notice_id: str) -> str:
    return "+1312" + str(zlib.crc32(notice_id.encode()) % 10_000_000).zfill(7)


MIRAGE_TEXT = (
    "Hello,\n\nThere has been a carrier delay in your delivery area. Some packages may arrive a "
    "few days later than expected. We are sorry for any inconvenience with your order(s).\n\n"
    "If your package has arrived, please disregard this message.\n"
)


def mirage_row() -> Row:
    """The retail "CX mirage" email: vague, no ETA, no order number, to an unaffected customer."""
    row = stage("n_mirage", base_facts(), ("email",))[0]
    row.update(
        subject="Update on your delivery",
        body_text=MIRAGE_TEXT,
        body_html="<html><body><p>" + MIRAGE_TEXT.replace("\n\n", "</p><p>") + "</p></body></html>",
        eta_earliest=None,
        eta_latest=None,
        next_update_by=None,
        cause="unknown",
        recipient_is_customer=False,
        episode_open=False,
    )
    return row


# Each case: (rule, name, channels changed, change, the channels whose rows fail that rule
# alone, or {channel: rules} when a change breaks more than one rule).
Mutation = Callable[[Row], None]
Expected = tuple[str, ...] | dict[str, list[str]]


def _set(**values: Any) -> Mutation:
    return lambda row: row.update(values)


def _append(column: str, text: str) -> Mutation:
    return lambda row: row.update({column: row[column] + text})


def _replace(old: str, new: str, *columns: str) -> Mutation:
    return lambda row: row.update({c: row[c].replace(old, new) for c in columns})


STEPS_SAID = ("You don't need to do anything.", "We will message you again when the carrier")

FAILING: list[tuple[str, str, tuple[str, ...], Mutation, Expected]] = [
    ("content_complete", "html_missing", ("email",), _set(body_html=""), ("email",)),
    ("content_complete", "html_null", ("email",), _set(body_html=None), ("email",)),
    (
        "subject_single_line",
        "crlf",
        ("email",),
        _append("subject", "\r\nBcc: x@example.com"),
        ("email",),
    ),
    (
        "eta_or_next_update",
        "both",
        ("email", "sms"),
        _set(next_update_by="2026-11-23T12:00:00-06:00"),
        ("email", "sms"),
    ),
    ("eta_or_next_update", "half_eta", ("email", "sms"), _set(eta_latest=None), ("email", "sms")),
    ("eta_in_future", "past", ("email", "sms"), _set(as_of_date="2026-11-25"), ("email", "sms")),
    (
        "eta_after_promise",
        "not_late",
        ("email", "sms"),
        _set(promised_by="2026-11-24"),
        ("email", "sms"),
    ),
    (
        "eta_window_within_limit",
        "wide",
        ("email", "sms"),
        _set(max_window_days=0),
        ("email", "sms"),
    ),
    (
        "eta_window_within_limit",
        "reversed",
        ("email", "sms"),
        _set(eta_earliest="2026-11-25", eta_latest="2026-11-24"),
        ("email", "sms"),
    ),
    ("cause_known", "invented", ("email", "sms"), _set(cause="sunspots"), ("email", "sms")),
    ("next_step_given", "none", ("email", "sms"), _set(next_steps=""), ("email", "sms")),
    ("next_step_given", "unknown_step", ("email",), _set(next_steps="call_us_maybe"), ("email",)),
    (
        "next_step_given",
        "not_in_email",
        ("email",),
        lambda row: [_replace(said, "", "body_text")(row) for said in STEPS_SAID],
        ("email",),
    ),
    (
        "eta_and_cause_in_text",
        "other_day",
        ("email",),
        _replace("24", "26", "subject", "body_text"),
        ("email",),
    ),
    (
        "eta_and_cause_in_text",
        "other_cause",
        ("sms",),
        _replace("weather", "traffic", "body_text"),
        ("sms",),
    ),
    (
        "order_numbers_in_text",
        "subject",
        ("email",),
        _set(subject="Your order is late"),
        ("email",),
    ),
    (
        "order_numbers_in_text",
        "other_order",
        ("email", "sms"),
        _set(order_ids="O000123,O999"),
        ("email", "sms"),
    ),
    (
        "order_numbers_in_text",
        "prefix",
        ("email", "sms"),
        _set(order_ids="O00012"),
        ("email", "sms"),
    ),
    (
        "item_titles_in_text",
        "missing_item",
        ("email", "sms"),
        _append("item_titles", " | Teapot"),
        ("email", "sms"),
    ),
    (
        "item_titles_in_text",
        "not_in_sms",
        ("sms",),
        _replace("Wool socks", "", "body_text"),
        ("sms",),
    ),
    (
        "channels_agree",
        "cause",
        ("sms",),
        _set(cause="customs"),  # the SMS text still says weather: it states another cause
        {"email": ["channels_agree"], "sms": ["channels_agree", "eta_and_cause_in_text"]},
    ),
    (
        "channels_agree",
        "eta",
        ("sms",),
        _set(eta_latest="2026-11-26"),
        {"email": ["channels_agree"], "sms": ["channels_agree", "eta_and_cause_in_text"]},
    ),
    (
        "no_vague_phrasing",
        "text",
        ("email",),
        _append("body_text", "Some Packages MAY ARRIVE later."),
        ("email",),
    ),
    (
        "no_vague_phrasing",
        "html",
        ("email",),
        _append("body_html", "<p>order<b>(s)</b></p>"),
        ("email",),
    ),
    (
        "no_vague_phrasing",
        "sms",
        ("sms",),
        _append("body_text", " If your package has arrived, ok."),
        ("sms",),
    ),
    ("no_template_syntax", "text", ("email",), _append("body_text", "{{ eta }}"), ("email",)),
    (
        "no_template_syntax",
        "html",
        ("email",),
        _append("body_html", "<a href='{{ url }}'>x</a>"),
        ("email",),
    ),
    ("recipient_is_customer", "other", ("email",), _set(recipient_is_customer=False), ("email",)),
    ("recipient_is_customer", "unknown", ("sms",), _set(recipient_is_customer=None), ("sms",)),
    ("consent_given", "no", ("sms",), _set(consent=False), ("sms",)),
    ("consent_given", "string", ("email",), _set(consent="true"), ("email",)),
    ("recipient_valid", "email", ("email",), _set(recipient="ana@@example"), ("email",)),
    (
        "recipient_valid",
        "header",
        ("email",),
        _set(recipient="ana@example.com\r\nBcc: x@y.z"),
        ("email",),
    ),
    ("recipient_valid", "phone", ("sms",), _set(recipient="312-555-0123"), ("sms",)),
    ("sms_within_two_segments", "three", ("sms",), _set(sms_segments=3), ("sms",)),
    ("notice_current", "closed", ("email", "sms"), _set(episode_open=False), ("email", "sms")),
    ("notice_current", "stale", ("email", "sms"), _set(evidence_age_hours=80.0), ("email", "sms")),
    ("notice_current", "no_age", ("email",), _set(evidence_age_hours=None), ("email",)),
]


def _follow_up_rows(name: str, change: Mutation) -> list[Row]:
    staged = stage(name, follow_up("delivered", "2026-11-21"))
    for row in staged:
        change(row)
    return staged


# Follow-up rows changed after rendering: (rule, name, change, the rules both channels fail).
FOLLOW_UP_FAILING: list[tuple[str, str, Mutation, list[str]]] = [
    # a kind nobody wrote rules for is judged as a delay too: a past day is not a new date
    ("content_complete", "unknown_kind", _set(kind="apology", episode_open=True),
     ["content_complete", "eta_in_future"]),
    ("notice_current", "episode_open_again", _set(episodes_closed=False, episode_open=True),
     ["notice_current"]),
    ("eta_or_next_update", "update_instead_of_day", _set(eta_earliest=None, eta_latest=None,
     next_update_by="2026-11-23T12:00:00-06:00"), ["eta_or_next_update"]),
]  # fmt: skip


# Attention notices (the carrier reported a problem; promised Nov 25) rendered with a window
# that does not end by the promise: an attention notice says nothing is late.
def _attention_window(earliest: str, latest: str) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        facts = attention("address_issue", ["confirm_address"], earliest)
        facts["eta"]["latest"] = latest
        return facts

    return build


ATTENTION_FAILING: list[tuple[str, str, Callable[[], dict[str, Any]], list[str]]] = [
    ("eta_after_promise", "attention_window_past_promise",
     _attention_window("2026-11-24", "2026-11-26"), ["eta_after_promise"]),
    ("eta_after_promise", "attention_late_day", _attention_window("2026-11-26", "2026-11-26"),
     ["eta_after_promise"]),
]  # fmt: skip

UPDATE_FAILING: list[tuple[str, str, Mutation]] = [
    ("eta_or_next_update", "neither", _set(next_update_by=None)),
    ("eta_or_next_update", "no_offset", _set(next_update_by="2026-11-23T12:00:00")),
]


def _facts(change: Callable[[dict[str, Any]], Any], base: Callable[[], Any] = base_facts) -> Any:
    def build() -> dict[str, Any]:
        facts = base()
        change(facts)
        return facts

    return build


def _no_scan() -> dict[str, Any]:
    return CASES["no_scan_unknown_eta"]()


# Notices rendered from facts that break a rule: (rule, name, facts, {channel: rules}).
FACT_FAILING: list[tuple[str, str, Callable[[], dict[str, Any]], dict[str, list[str]]]] = [
    (
        "cause_known",
        "unknown_without_evidence",
        _facts(lambda f: f.update(cause="unknown")),
        {"email": ["cause_known"], "sms": ["cause_known"]},
    ),
    (
        "cause_known",
        "unknown_exception_without_time",
        _facts(
            lambda f: f.update(
                cause="unknown",
                cause_evidence={
                    "kind": "exception",
                    "carrier_title": "UPS",
                    "at": None,
                    "place": "Dallas, TX",
                },
            )
        ),
        {"email": ["cause_known"], "sms": ["cause_known"]},
    ),
    (
        "eta_in_future",
        "delivered_tomorrow",  # a delivery day after the as-of date (+1 for zones ahead)
        lambda: follow_up("delivered", "2026-11-24"),
        {"email": ["eta_in_future"], "sms": ["eta_in_future"]},
    ),
    (
        "eta_after_promise",
        "resolved_still_late",  # "resolved" while the carrier's date is after the promise
        lambda: follow_up("resolved", "2026-11-24", "2026-11-26"),
        {"email": ["eta_after_promise"], "sms": ["eta_after_promise"]},
    ),
    (
        "next_update_upcoming",
        "far",
        _facts(lambda f: f.update(next_update_by="2026-12-30T12:00:00-06:00"), _no_scan),
        {"email": ["next_update_upcoming"], "sms": ["next_update_upcoming"]},
    ),
    (
        "next_update_upcoming",
        "past",
        _facts(lambda f: f.update(next_update_by="2026-11-20T12:00:00-06:00"), _no_scan),
        {"email": ["next_update_upcoming"], "sms": ["next_update_upcoming"]},
    ),
]

# Every representative notice passes; the hostile one is checked on its own below.
GOOD_CASES = [case for case in CASES if case != "hostile_name"]


def _unknown_eta_facts() -> dict[str, Any]:
    return CASES["no_scan_unknown_eta"]()


def _build_frame() -> pd.DataFrame:
    rows: list[Row] = []
    for case in GOOD_CASES:
        rows += stage(f"good_{case}", CASES[case]())
    rows += stage("hostile", CASES["hostile_name"]())
    for rule, name, channels, change, _ in FAILING:
        staged = stage(f"{rule}__{name}", base_facts())
        for row in staged:
            if row["channel"] in channels:
                change(row)
        rows += staged
    for rule, name, build, _ in FACT_FAILING:
        rows += stage(f"{rule}__{name}", build())
    for rule, name, change in UPDATE_FAILING:
        staged = stage(f"{rule}__{name}", _unknown_eta_facts())
        for row in staged:
            change(row)
        rows += staged
    for rule, name, change, _ in FOLLOW_UP_FAILING:
        rows += _follow_up_rows(f"{rule}__{name}", change)
    for rule, name, build, _ in ATTENTION_FAILING:
        rows += stage(f"{rule}__{name}", build())
    rows.append(mirage_row())
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _build_frame()


@pytest.fixture(scope="module")
def report(frame: pd.DataFrame) -> GateReport:
    return check_rows(frame)


def _failures(report: GateReport, notice_id: str) -> dict[str, list[str]]:
    return {
        row_id.split(":")[1]: rules
        for row_id, rules in report.row_failures.items()
        if row_id.split(":")[0] == notice_id
    }


# --------------------------------------------------------------------------- row suite


@pytest.mark.parametrize("case", GOOD_CASES)
def test_good_notices_pass_every_rule(report: GateReport, case: str) -> None:
    assert _failures(report, f"good_{case}") == {}


@pytest.mark.parametrize(
    ("rule", "name", "channels", "change", "failing"),
    FAILING,
    ids=[f"{rule}-{name}" for rule, name, *_ in FAILING],
)
def test_each_rule_fails_by_name(
    report: GateReport, rule: str, name: str, channels: Any, change: Any, failing: Expected
) -> None:
    expected = failing if isinstance(failing, dict) else {channel: [rule] for channel in failing}
    assert _failures(report, f"{rule}__{name}") == expected


@pytest.mark.parametrize(
    ("rule", "name", "build", "expected"),
    FACT_FAILING,
    ids=[f"{rule}-{name}" for rule, name, *_ in FACT_FAILING],
)
def test_rendered_notices_with_bad_facts_fail_by_name(
    report: GateReport, rule: str, name: str, build: Any, expected: dict[str, list[str]]
) -> None:
    assert _failures(report, f"{rule}__{name}") == expected


@pytest.mark.parametrize(
    ("rule", "name", "change"), UPDATE_FAILING, ids=[f"{r}-{n}" for r, n, _ in UPDATE_FAILING]
)
def test_next_update_rules_fail_by_name(
    report: GateReport, rule: str, name: str, change: Any
) -> None:
    assert _failures(report, f"{rule}__{name}") == {"email": [rule], "sms": [rule]}


KIND_FAILING = [(rule, name, rules) for rule, name, _, rules in FOLLOW_UP_FAILING] + [
    (rule, name, rules) for rule, name, _, rules in ATTENTION_FAILING
]


@pytest.mark.parametrize(
    ("rule", "name", "rules"), KIND_FAILING, ids=[f"{r}-{n}" for r, n, _ in KIND_FAILING]
)
def test_follow_up_and_attention_rules_fail_by_name(
    report: GateReport, rule: str, name: str, rules: list[str]
) -> None:
    assert _failures(report, f"{rule}__{name}") == {"email": rules, "sms": rules}


def test_an_unknown_channel_has_no_complete_content_and_no_valid_recipient() -> None:
    rows = stage("n_push", base_facts())
    rows[1]["channel"] = "push"
    result = check_rows(pd.DataFrame(rows))
    assert result.row_failures == {"n_push:sms": ["content_complete", "recipient_valid"]}


def test_every_row_rule_has_a_failing_example() -> None:
    covered = {case[0] for case in (*FAILING, *UPDATE_FAILING, *FACT_FAILING, *FOLLOW_UP_FAILING)}
    assert covered == {rule.name for rule in ROW_RULES}


def test_the_mirage_email_fails_row_by_row_with_the_right_names(report: GateReport) -> None:
    assert _failures(report, "n_mirage") == {
        "email": [
            "eta_or_next_update",
            "cause_known",
            "next_step_given",
            "order_numbers_in_text",
            "item_titles_in_text",
            "no_vague_phrasing",
            "recipient_is_customer",
            "notice_current",
        ]
    }


def test_hostile_input_is_shop_data_printed_literally_not_a_template_left_unrendered(
    report: GateReport,
) -> None:
    # "{{7*7}}", "<img onerror>", bidi controls and CR/LF in the name, "<script>" and
    # "{% if 1 %}" in titles: escaped or literal, and never mistaken for template syntax.
    # The Hebrew title would make the SMS UCS-2 and three segments: it states the number of
    # items instead (the email names them), and passes like the email.
    assert _failures(report, "hostile") == {}


def test_a_hostile_name_alone_passes_every_rule() -> None:
    facts = base_facts()
    facts["customer"]["first_name"] = HOSTILE_NAME
    assert check_rows(pd.DataFrame(stage("n_hostile_name", facts))).passed


def test_a_name_or_title_that_reads_vague_is_data() -> None:
    facts = base_facts()
    facts["customer"]["first_name"] = "Dear Customer"
    facts["orders"][0]["items"][0]["title"] = "Some Packages May Arrive (s) {{ boxed set }}"
    assert check_rows(pd.DataFrame(stage("n_data", facts))).passed
    rows = stage("n_template_left", facts)
    rows[0]["body_text"] += "{{ eta }}"  # but the template's own leftovers are still found
    assert check_rows(pd.DataFrame(rows)).row_failures == {
        "n_template_left:email": ["no_template_syntax"]
    }


def test_row_report_summary_and_verdict(report: GateReport, frame: pd.DataFrame) -> None:
    assert not report.passed and not report.halted and report.batch_failures == []
    assert report.summary["rows"] == len(frame)
    assert report.summary["rows_failed"] == len(report.row_failures)
    assert report.summary["failures_by_rule"]["no_vague_phrasing"] == 4  # 3 cases + the mirage


def test_item_titles_are_compared_as_displayed() -> None:
    facts = base_facts()
    facts["orders"][0]["items"][0]["title"] = "Very long title " * 20
    rows = stage("n_long", facts)
    assert len(rows[0]["item_titles"]) > 300  # the composer stages the raw title
    assert check_rows(pd.DataFrame(rows)).passed


def test_a_banned_phrase_inside_an_item_title_is_not_vague() -> None:
    facts = base_facts()
    facts["orders"][0]["items"][0]["title"] = "A Few Days in Paris (paperback)"
    assert check_rows(pd.DataFrame(stage("n_book", facts))).passed


def test_missing_columns_are_a_programming_error() -> None:
    frame = pd.DataFrame(stage("n_x", base_facts())).drop(columns=["consent"])
    with pytest.raises(ValueError, match="consent"):
        check_rows(frame)


def test_empty_batch_passes_without_running_gx() -> None:
    result = check_rows(pd.DataFrame(columns=list(ROW_COLUMNS)))
    assert result.passed and result.row_failures == {} and result.summary["rows"] == 0


def test_an_expectation_that_raised_fails_and_halts(monkeypatch: pytest.MonkeyPatch) -> None:
    real = gate.derive_row_checks
    monkeypatch.setattr(
        gate, "derive_row_checks", lambda staged: real(staged).drop(columns=["consent_given"])
    )
    result = check_rows(pd.DataFrame(stage("n_ok", base_facts())))
    assert not result.passed and result.halted
    assert len(result.batch_failures) == 1 and result.batch_failures[0].startswith(
        "consent_given: the expectation raised"
    )


# --------------------------------------------------------------------------- batch suite


def _batch(n_notices: int) -> pd.DataFrame:
    """n good notices (email + sms each) with distinct recipients, cheap to build."""
    template = pd.DataFrame(stage("n_template", base_facts()))
    frames = []
    for i in range(n_notices):
        copy_ = template.copy()
        copy_["notice_id"] = f"n{i}"
        copy_["customer_id"] = f"c{i}"
        copy_["row_id"] = [f"n{i}:email", f"n{i}:sms"]
        copy_["recipient"] = [f"user{i}@example.com", f"+1312{i:07d}"]
        frames.append(copy_)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def good_batch() -> pd.DataFrame:
    return _batch(40)


@pytest.fixture(scope="module")
def good_rows(good_batch: pd.DataFrame) -> GateReport:
    return check_rows(good_batch)


GOOD_SETTINGS: dict[str, Any] = {
    "open_shipments": 2_000,
    "history_same_hour": [30, 42, 35, 38, 51, 29, 40],
    "max_notices": 1_000,
    "feed_age_hours": {"fedex": 0.5, "ups": 1.2, "usps": 3.0},
    "freshness_limit_hours": 6.0,
}


def _check(batch: pd.DataFrame, rows: GateReport | None, **changes: Any) -> GateReport:
    return check_batch(batch, **{**copy.deepcopy(GOOD_SETTINGS), **changes}, row_report=rows)


def _rules(report: GateReport) -> list[str]:
    return [reason.split(":")[0] for reason in report.batch_failures]


def test_a_good_batch_passes_untouched(good_batch: pd.DataFrame, good_rows: GateReport) -> None:
    before = good_batch.copy()
    result = _check(good_batch, good_rows)
    assert good_rows.passed
    assert result.passed and not result.halted and result.batch_failures == []
    assert result.row_failures == {}
    assert result.summary["notices"] == 40 and result.summary["history_checked"] is True
    pd.testing.assert_frame_equal(good_batch, before)


def test_a_volume_spike_halts(good_rows: GateReport) -> None:
    spike = _batch(300)
    result = _check(spike, GateReport(True, {}, [], False), history_same_hour=[10, 12, 9, 11])
    assert result.halted and not result.passed
    assert _rules(result) == ["volume_within_history"]
    assert result.batch_failures[0] == (
        "volume_within_history: 300 notices > 81.5 (3 x same-hour median 10.5 of 4 earlier "
        "runs + 50)"
    )


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"max_notices": 39}, "volume_within_max"),
        ({"open_shipments": 60}, "volume_within_open_shipments"),
        ({"open_shipments": 0}, "volume_within_open_shipments"),
        ({"feed_age_hours": {"fedex": 0.5, "ups": 9.0, "dhl": float("nan")}}, "feeds_fresh"),
        ({"feed_age_hours": {}}, "feeds_reported"),
    ],
)
def test_batch_breakers_halt_with_their_name(
    good_batch: pd.DataFrame, good_rows: GateReport, changes: dict[str, Any], rule: str
) -> None:
    result = _check(good_batch, good_rows, **changes)
    assert result.halted and _rules(result) == [rule]


def test_stale_feeds_are_named(good_batch: pd.DataFrame, good_rows: GateReport) -> None:
    result = _check(
        good_batch, good_rows, feed_age_hours={"fedex": 0.5, "ups": 9.0, "dhl": float("nan")}
    )
    assert result.batch_failures == ["feeds_fresh: feeds older than 6 h: dhl, ups"]


def test_quarantine_share_breaker(good_batch: pd.DataFrame) -> None:
    failing = {f"n{i}:email": ["consent_given"] for i in range(20)}  # 20 of 80 rows
    rows = GateReport(False, failing, [], False)
    result = _check(good_batch, rows)
    assert result.halted and _rules(result) == ["quarantine_share_within_limit"]
    assert result.batch_failures == [
        "quarantine_share_within_limit: 20 rows quarantined (0 at render), share 0.25 > 0.2"
    ]
    assert _check(good_batch, rows, max_quarantine_share=0.25).passed


def test_a_few_quarantined_rows_in_a_small_batch_do_not_halt(good_batch: pd.DataFrame) -> None:
    small = good_batch.iloc[:6]  # 3 notices, 6 rows; 2 quarantined is a share of 0.33
    rows = GateReport(False, {"n0:email": ["cause_known"], "n1:sms": ["consent_given"]}, [], False)
    result = _check(small, rows)
    assert result.passed and result.summary["quarantine_checked"] is False
    assert _rules(_check(small, rows, min_quarantined_to_halt=2)) == [
        "quarantine_share_within_limit"
    ]


def test_rows_refused_at_render_count_towards_the_quarantine_share(
    good_batch: pd.DataFrame, good_rows: GateReport
) -> None:
    """A template broken for everyone leaves nothing to gate, and must still halt."""
    result = _check(good_batch.iloc[:0], GateReport(True, {}, [], False), refused_before_gate=80)
    assert _rules(result) == ["quarantine_share_within_limit"]
    assert result.summary["quarantine_share"] == 1.0
    assert _check(good_batch, good_rows, refused_before_gate=4).passed  # 4 of 84 rows


def test_the_same_customer_twice_on_one_channel_halts(
    good_batch: pd.DataFrame, good_rows: GateReport
) -> None:
    batch = good_batch.copy()
    twice = batch["row_id"] == "n7:email"
    batch.loc[twice, ["recipient", "customer_id"]] = ["USER3@example.com ", "c3"]
    batch.loc[batch["row_id"] == "n8:sms", "recipient"] = "user3@example.com"  # other channel
    result = _check(batch, good_rows)
    assert _rules(result) == ["recipient_unique_per_channel"]
    assert result.row_failures == {
        "n3:email": ["recipient_unique_per_channel"],
        "n7:email": ["recipient_unique_per_channel"],
    }


def test_a_row_an_earlier_run_sent_is_no_second_message(
    good_batch: pd.DataFrame, good_rows: GateReport
) -> None:
    """A notice still current is staged again in later runs and the ledger does not send it
    twice: beside it, the customer's follow-up is their one message of the batch."""
    batch = good_batch.copy()
    twice = batch["row_id"] == "n7:email"
    batch.loc[twice, ["recipient", "customer_id"]] = ["user3@example.com", "c3"]
    batch["already_sent"] = twice
    assert _check(batch, good_rows).passed
    batch["already_sent"] = False
    assert _rules(_check(batch, good_rows)) == ["recipient_unique_per_channel"]


def test_two_customers_sharing_an_address_each_get_their_own_message(
    good_batch: pd.DataFrame, good_rows: GateReport
) -> None:
    """Bad input 18: a couple sharing one email address is not a mass mis-send."""
    batch = good_batch.copy()
    batch.loc[batch["row_id"] == "n7:email", "recipient"] = "user3@example.com"
    assert _check(batch, good_rows).passed


def test_an_address_shared_by_more_customers_than_allowed_is_quarantined(
    good_batch: pd.DataFrame, good_rows: GateReport
) -> None:
    """Three customers on one address: those rows wait for a person, the rest go out."""
    batch = good_batch.copy()
    shared = batch["row_id"].isin([f"n{i}:email" for i in range(3)])
    batch.loc[shared, "recipient"] = "family@example.com"
    result = _check(batch, good_rows)
    assert result.passed is False and result.halted is False and result.batch_failures == []
    assert result.row_failures == {
        f"n{i}:email": ["recipient_customers_within_limit"] for i in range(3)
    }
    assert result.summary["quarantined"] == 3
    assert _check(batch, good_rows, max_customers_per_recipient=3).passed


def test_a_placeholder_address_on_many_accounts_halts(
    good_batch: pd.DataFrame, good_rows: GateReport
) -> None:
    """One address on 30 accounts would mail strangers each other's orders."""
    batch = good_batch.copy()
    shared = batch["row_id"].isin([f"n{i}:email" for i in range(30)])
    batch.loc[shared, "recipient"] = "noreply@shop.example"
    result = _check(batch, good_rows)
    assert result.halted and _rules(result) == ["quarantine_share_within_limit"]
    assert len(result.row_failures) == 30


def test_history_is_skipped_only_when_there_is_none(
    good_batch: pd.DataFrame, good_rows: GateReport
) -> None:
    result = _check(good_batch, good_rows, history_same_hour=[])
    assert result.passed and result.summary["history_checked"] is False


def test_check_batch_runs_the_row_suite_when_not_given(good_batch: pd.DataFrame) -> None:
    batch = good_batch.copy()
    batch.loc[batch.index < 20, "consent"] = False
    result = _check(batch, None)
    assert _rules(result) == ["quarantine_share_within_limit"]


def test_every_batch_rule_is_exercised() -> None:
    exercised = {
        "volume_within_history",
        "volume_within_max",
        "volume_within_open_shipments",
        "feeds_fresh",
        "feeds_reported",
        "quarantine_share_within_limit",
        "recipient_unique_per_channel",
        "recipient_customers_within_limit",
    }
    assert exercised == {rule.name for rule in BATCH_RULES}


def test_report_html_is_readable_and_escaped() -> None:
    result = GateReport(
        passed=False,
        row_failures={"n<1>:email": ["no_vague_phrasing", "consent_given"]},
        batch_failures=["volume_within_max: 5 notices > max_notices 4 <b>"],
        halted=True,
        summary={"rows": 2, "note": "<script>"},
    )
    page = result.to_html()
    assert "<h1>Gate report: HALTED</h1>" in page
    assert "n&lt;1&gt;:email" in page and "&lt;script&gt;" in page and "4 &lt;b&gt;" in page
    assert "<h3>consent_given (1)</h3>" in page and "the customer consented" in page
    assert "<script>" not in page


def test_an_sms_with_many_items_names_each_by_a_shortened_title() -> None:
    facts = base_facts()
    facts["orders"][0]["items"] = [
        {"title": f"{name} with a long descriptive title", "quantity": 1}
        for name in ("Ergonomic Office Chair", "Standing Desk Converter", "Cast Iron Skillet")
    ]
    rows = stage("n_many", facts)
    sms = rows[1]["body_text"]
    assert "Standing Desk Converter..." in sms and rows[1]["sms_segments"] <= 2
    assert check_rows(pd.DataFrame(rows)).passed
    rows[1]["body_text"] = sms.replace("Standing Desk Converter...", "")
    assert check_rows(pd.DataFrame(rows)).row_failures == {"n_many:sms": ["item_titles_in_text"]}


def test_tiny_titles_are_the_last_resort_and_still_name_every_item() -> None:
    facts = CASES["carrier_volume_two_orders"]()
    facts["orders"][0]["items"] = [
        {"title": "Ergonomic Office Chair Deluxe", "quantity": 1},
        {"title": "Pour-Over Coffee Kettle", "quantity": 1},
    ]
    facts["orders"][1]["items"] = [{"title": "Standing Desk Converter", "quantity": 1}]
    rows = stage("n_tiny", facts)
    sms = rows[1]["body_text"]
    assert "1x Ergonomic..." in sms and "Help:" not in sms and rows[1]["sms_segments"] <= 2
    assert check_rows(pd.DataFrame(rows)).passed


def test_an_sms_with_no_room_for_titles_states_how_many_items_and_nothing_less() -> None:
    facts = CASES["carrier_volume_two_orders"]()
    facts["orders"][0]["items"] = [
        {"title": "Ergonomic Office Chair Deluxe", "quantity": 1},
        {"title": "Pour-Over Coffee Kettle", "quantity": 2},
    ]
    facts["orders"][1]["items"] = [
        {"title": "Standing Desk Converter", "quantity": 1},
        {"title": "Wireless Keyboard", "quantity": 1},
    ]
    rows = stage("n_count", facts)
    sms = rows[1]["body_text"]
    assert "Late: 5 items." in sms and "Ergonomic" not in sms and rows[1]["sms_segments"] <= 2
    assert check_rows(pd.DataFrame(rows)).passed
    # The count must be the number of delayed items, in the customer's language.
    wrong = [dict(rows[1], row_id="n_count_wrong:sms", notice_id="n_count_wrong")]
    wrong[0]["body_text"] = sms.replace("5 items", "4 items")
    assert check_rows(pd.DataFrame(wrong)).row_failures == {
        "n_count_wrong:sms": ["item_titles_in_text"]
    }
    email = [dict(rows[0], row_id="n_count_email:email", notice_id="n_count_email")]
    email[0]["body_text"] = rows[0]["body_text"].replace("Wireless Keyboard", "5 items")
    assert check_rows(pd.DataFrame(email)).row_failures == {
        "n_count_email:email": ["item_titles_in_text"]  # an email names every item
    }


def _mixed_rows(notice_id: str) -> list[Row]:
    return stage(notice_id, CASES["mixed_causes_stopped_hub_and_missed_delivery"]())


def test_a_notice_whose_orders_are_late_for_different_reasons_states_each_reason() -> None:
    rows = _mixed_rows("n_mixed")
    assert check_rows(pd.DataFrame(rows)).passed
    said = {
        "email": "Order O000456: The carrier tried to deliver, but nobody was available to "
        "receive the parcel.",
        "sms": "O000456: nobody was in at delivery.",
    }
    for row in rows:
        assert said[row["channel"]] in row["body_text"]
        row["body_text"] = row["body_text"].replace(said[row["channel"]], "")
    report = check_rows(pd.DataFrame(rows))
    assert report.row_failures == {
        "n_mixed:email": ["eta_and_cause_in_text"],
        "n_mixed:sms": ["eta_and_cause_in_text"],
    }


def test_each_orders_date_must_be_stated_when_they_differ() -> None:
    rows = stage("n_dates", CASES["two_orders_one_without_a_date"]())
    assert check_rows(pd.DataFrame(rows)).passed
    said = {"email": "Order O000456: Tuesday, November 24", "sms": "O000456: Tue, Nov 24; "}
    for row in rows:
        assert said[row["channel"]] in row["body_text"]
        row["body_text"] = row["body_text"].replace(said[row["channel"]], "")
        row["subject"] = (row["subject"] or "").replace("Nov 24", "")
    assert check_rows(pd.DataFrame(rows)).row_failures == {
        "n_dates:email": ["eta_and_cause_in_text"],
        "n_dates:sms": ["eta_and_cause_in_text"],
    }


def test_a_follow_up_must_state_the_day_each_order_arrived() -> None:
    rows = stage("n_arrived", CASES["follow_up_delivered_two_orders_two_days"]())
    assert check_rows(pd.DataFrame(rows)).passed
    said = {"email": "Order O000456: Friday, November 20", "sms": "O000456: Fri, Nov 20; "}
    for row in rows:
        assert said[row["channel"]] in row["body_text"]
        row["body_text"] = row["body_text"].replace(said[row["channel"]], "")
        # and where the day stands for something else (the promised day)
        row["body_text"] = row["body_text"].replace("Friday, November 20", "")
        row["subject"] = (row["subject"] or "").replace("Nov 20", "")
    assert check_rows(pd.DataFrame(rows)).row_failures == {
        "n_arrived:email": ["eta_and_cause_in_text"],
        "n_arrived:sms": ["eta_and_cause_in_text"],
    }


def test_each_cause_of_a_mixed_notice_must_be_a_reason_and_agree_across_channels() -> None:
    unknown = _mixed_rows("n_unknown")
    groups = json.loads(unknown[0]["causes"])
    groups[1] = {"cause": "unknown", "evidence": None}  # no reason and nothing the carrier did
    for row in unknown:
        row["causes"] = json.dumps(groups)
    unreadable = _mixed_rows("n_unreadable")
    for row in unreadable:
        row["causes"] = "[not json"
    differ = _mixed_rows("n_differ")
    differ[1]["causes"] = json.dumps(list(reversed(json.loads(differ[1]["causes"]))))
    failures = check_rows(pd.DataFrame(unknown + unreadable + differ)).row_failures
    assert failures["n_unknown:email"] == ["cause_known", "eta_and_cause_in_text"]
    assert failures["n_unreadable:sms"] == ["cause_known", "eta_and_cause_in_text"]
    assert failures["n_differ:email"] == ["channels_agree"]
    assert failures["n_differ:sms"] == ["channels_agree"]


@pytest.mark.parametrize(
    ("earliest", "latest", "ok"),
    [
        ("2026-11-20", "2026-11-24", True),  # Fri..Tue: Fri, Mon, Tue
        ("2026-11-20", "2026-11-25", False),  # Fri..Wed: four delivery days
        ("2026-11-25", "2026-11-30", True),  # Wed..Mon around Thanksgiving: Wed, Fri, Mon
        ("2026-11-16", "2026-11-19", False),  # Mon..Thu
        ("2026-11-21", "2026-11-22", True),  # a weekend only
        ("2026-11-25", "2026-11-24", False),  # reversed
    ],
)
def test_the_window_limit_counts_delivery_days_like_the_eta_stage(
    earliest: str, latest: str, ok: bool
) -> None:
    df = pd.DataFrame({"eta_earliest": [earliest], "eta_latest": [latest], "max_window_days": [3]})
    parsed = gate._Parsed(
        df=df, kind=pd.Series(["delay"]), follow_up=pd.Series([False]),
        is_email=df.index.to_series() >= 0, is_sms=df.index.to_series() < 0,
        earliest=pd.to_datetime(df["eta_earliest"]), latest=pd.to_datetime(df["eta_latest"]),
        eta_any=pd.Series([True]), update_given=pd.Series([False]),
        update_day=pd.Series([pd.NaT]), update_valid=pd.Series([False]),
        as_of=pd.to_datetime(pd.Series(["2026-11-16"])), subject=[""], body=[""], page=[""],
        said=[""],
    )  # fmt: skip
    assert bool(gate._eta_window_within_limit(parsed).iloc[0]) is ok
