"""Next steps per cause: what the customer can do, with wording in every language."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carriers.taxonomy import Reason
from notify.next_steps import next_step_dates, next_steps
from notify.rules import DEFAULT_RULES

WORDING = Path(__file__).resolve().parents[2] / "templates" / "wording"
LANGUAGES = ("en", "de", "es")


@pytest.mark.parametrize(
    ("cause", "steps"),
    [
        ("weather", ["nothing_to_do", "we_will_update"]),
        ("no_scan", ["nothing_to_do", "we_will_update"]),
        ("address_issue", ["confirm_address"]),
        ("recipient_unavailable", ["redelivery_scheduled", "pickup_available"]),
        ("customs", ["customs_may_ask", "we_will_update"]),
        ("held_for_payment", ["pay_charges", "we_will_update"]),
        ("damaged", ["replacement_or_refund", "person_will_contact"]),
        ("lost", ["replacement_or_refund", "person_will_contact"]),
        ("returning_to_sender", ["replacement_or_refund", "person_will_contact"]),
        ("something_new", ["nothing_to_do", "we_will_update"]),
    ],
)
def test_each_cause_has_the_next_steps_that_fit_it(cause, steps):
    assert next_steps(cause) == steps


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_cause_and_step_has_long_and_short_wording(language):
    wording = json.loads((WORDING / f"{language}.json").read_text("utf-8"))
    for reason in Reason:
        assert {"long", "short"} <= set(wording["causes"][reason.value])
        for step in next_steps(reason.value):
            entry = wording["next_steps"][step]
            assert entry["long"] and entry["short"], (language, step)
            assert "{" not in entry["long"] + entry["short"]  # printed as they are
            for dated in ("long_dated", "short_dated"):
                if dated in entry:
                    assert "{date}" in entry[dated], (language, step, dated)


def test_steps_that_name_a_day_get_it():
    eta = {"earliest": "2025-11-20", "latest": "2025-11-21", "most_likely": "2025-11-20"}
    as_of = datetime(2025, 11, 19, 23, tzinfo=UTC)  # Wednesday 17:00 in Chicago
    spec = DEFAULT_RULES.calendar("ups", "UPS Ground")
    dates = next_step_dates("recipient_unavailable", eta, as_of, "America/Chicago", spec)
    assert dates == {"redelivery_scheduled": "2025-11-20", "pickup_available": "2025-11-26"}
    dates = next_step_dates("address_issue", None, as_of.isoformat(), "America/Chicago", spec)
    assert dates == {"confirm_address": "2025-11-26"}  # five business days on
    assert next_step_dates("weather", eta, as_of, "America/Chicago", spec) == {}
