"""``oasis preview ORDER_ID``: the messages from the latest run, or why there are none."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from notify.cli import main
from notify.config import Settings
from notify.preview import format_preview, preview
from notify.stages import gating
from tests.notify.gateworld import (  # noqa: F401 (fixtures)
    prepare,
    settings_fixture,
    world_fixture,
)


@pytest.fixture
def gated(world: Engine, settings: Settings) -> Engine:
    run = prepare(world, settings)
    gating.gate(world, run=run, settings=settings, open_shipments=12)
    return world


def test_preview_shows_every_channel_with_the_gates_verdict(
    gated: Engine, settings: Settings
) -> None:
    result = preview(gated, "O1", settings=settings)
    assert result.run_id == "r1" and result.customer_id == "C1" and result.locale == "en-US"
    assert [(c.channel, c.verdict) for c in result.channels] == [
        ("email", "published"),
        ("sms", "published"),
    ]
    email = result.channels[0].message
    assert email is not None and email.subject is not None
    assert email.subject.startswith("Order O1 is running late") and "Wool socks" in email.text
    assert result.nothing_because == []
    printed = format_preview(result)
    assert "== sms (published)" in printed and "SMS segments: 2 (GSM-7)" in printed


def test_preview_in_another_language_and_one_channel(gated: Engine, settings: Settings) -> None:
    result = preview(gated, "O1", settings=settings, channel="email", locale="de-DE")
    assert [c.channel for c in result.channels] == ["email"]
    message = result.channels[0].message
    assert message is not None and "Bestellung O1 verspätet sich" in str(message.subject)
    sms_only = preview(gated, "O2", settings=settings, channel="sms")  # Bo has no phone
    assert sms_only.channels == []
    assert sms_only.nothing_because == ["no sms message: this customer is reached by email only"]


@pytest.mark.parametrize(
    ("order_id", "why"),
    [
        ("O3", ["suppressed: order_cancelled"]),
        ("O8", ["no delay episode open as of 2026-11-19T18:00:00+00:00 touches this order: "
                "nobody is told anything"]),
        ("O404", ["no order 'O404' in the store"]),
    ],
)  # fmt: skip
def test_preview_says_why_nothing_would_be_sent(
    gated: Engine, settings: Settings, order_id: str, why: list[str]
) -> None:
    result = preview(gated, order_id, settings=settings)
    assert result.channels == [] and result.nothing_because == why
    assert "Nothing is sent for this order:" in format_preview(result)


def test_preview_of_an_unreachable_customer_with_a_damaged_parcel_names_the_case(
    gated: Engine, settings: Settings
) -> None:
    # No consent on any channel: nothing is sent, and because the parcel is damaged a person
    # takes it over (a case), which the preview says first.
    result = preview(gated, "O4", settings=settings)
    assert result.channels == []
    escalated, no_channel = result.nothing_because
    assert escalated.startswith("escalated: case ") and "damaged (parcel S5: damaged)" in escalated
    assert no_channel == "no_channel: email: no email consent; sms: no SMS consent"


def test_preview_shows_a_message_that_cannot_be_rendered_and_why(
    gated: Engine, settings: Settings
) -> None:
    result = preview(gated, "O7", settings=settings)  # Gus: no time zone
    [email] = result.channels
    assert email.message is None and "timezone" in str(email.error)
    assert email.verdict.startswith("quarantined (render_error: RenderError:")


def test_the_cli_writes_the_files_and_refuses_bad_options(
    gated: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("OASIS_DATABASE_URL", gated.url.render_as_string(hide_password=False))
    out = tmp_path / "preview"
    assert main(["preview", "O1", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["O1.email.html", "O1.email.subject.txt", "O1.email.txt", "O1.sms.txt"]
    assert '<html lang="en" dir="ltr">' in (out / "O1.email.html").read_text("utf-8")
    assert "wrote " in capsys.readouterr().out
    assert main(["preview", "O3"]) == 1
    assert "suppressed: order_cancelled" in capsys.readouterr().out
    assert main(["preview", "O1", "--locale", "fr-FR"]) == 2
    assert "no wording for locale 'fr-FR' (have: de, en, es)" in capsys.readouterr().err
