"""``oasis cases``, ``oasis explain`` and ``oasis score-targeting`` from the command line."""

from __future__ import annotations

import json

import pytest

from notify.cli import main
from notify.config import load_settings
from notify.store import open_store, schema
from tests.notify.targetworld import AS_OF, World, episode, eta, run


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("OASIS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    return open_store(load_settings().database_url)


def test_cases_are_listed_shown_and_closed(store, tmp_path, capsys):
    w = World().customer("C1").order("O1", "C1").parcel("S1", "O1", "111", "Socks")
    w.load(store, tmp_path / "o")
    with store.begin() as conn:
        conn.execute(schema.tracking_events.insert().values(
            carrier="fedex", tracking_number="111", occurred_at=AS_OF, local_time="2026-11-19T12:00:00-06:00",
            status="exception", reason="lost", code="LST", description="Package [lost] at hub",
            first_seen_at=AS_OF))  # fmt: skip
    eta(store, "r1", episode(store, "111", "lost"), None)
    run(store, "r1")
    assert main(["cases"]) == 0
    listed = capsys.readouterr().out
    assert "O1" in listed and "lost" in listed and "1 open cases" in listed
    assert main(["cases", "--format", "json"]) == 0
    (case,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert case["status"] == "open" and case["triggers"][0]["kind"] == "lost"
    assert main(["cases", "show", case["case_id"]]) == 0
    shown = capsys.readouterr().out
    assert "Suggested resolution: Confirm the loss with the carrier" in shown
    assert "1 x Socks (parcel S1)" in shown
    assert main(["cases", "close", case["case_id"], "--reason", "refunded"]) == 0
    capsys.readouterr()
    assert main(["cases"]) == 0 and "0 open cases" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no open case"):
        main(["cases", "close", case["case_id"]])
    assert main(["explain", "O1"]) == 0
    story = capsys.readouterr().out
    assert "closed (refunded)" in story
    assert "exception [lost] Package [lost] at hub" in story  # printed as is, not as markup


def test_score_targeting_prints_the_table_and_writes_json(store, tmp_path, capsys):
    out = tmp_path / "scores.json"
    assert main(["score-targeting", "--seeds", "3", "--orders", "500", "--oracle",
                 "--as-of", "2025-11-20T12:00:00+00:00", "--json", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "baseline precision" in printed and "oracle: precision 100.0%" in printed
    saved = json.loads(out.read_text())
    assert {s["mode"] for s in saved["scores"]} == {"chain", "oracle"}
    with pytest.raises(SystemExit, match="--world DIR"):
        main(["score-targeting"])
