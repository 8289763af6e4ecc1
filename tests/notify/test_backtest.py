"""``oasis backtest`` end to end on a small simulated world: report files and their numbers."""

from __future__ import annotations

import json
import tempfile

import pytest

from notify.cli import main
from notify.simulate import generate_world


@pytest.mark.slow
def test_backtest_replays_a_world_and_writes_the_report(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    world = tmp_path / "world"
    generate_world(world, orders=400, seed=5, days=14)
    out = tmp_path / "report"
    code = main(["backtest", "--world", str(world), "--out", str(out), "--every-hours", "12",
                 "--warmup-days", "4"])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["runs"] == 21
    eta = summary["eta"]
    assert eta["samples"] > 0 and 0 <= eta["unknown_share"] <= 1
    assert {"coverage", "carrier_coverage", "naive_coverage", "median_span"} <= set(eta)
    assert summary["detection"]["relevant"] > 0
    assert summary["eta_all_on_their_way"]["samples"] > eta["samples"]
    assert 0 <= summary["detection"]["recall"] <= 1
    assert summary["rules_check"], "every service's normal gaps are checked"
    assert all("stall_threshold" in v for v in summary["rules_check"].values())
    page = (out / "report.html").read_text()
    assert "Oasis backtest" in page and "calibration.png" in page
    for name in ("calibration", "by_carrier", "widths", "over_time"):
        assert (out / f"{name}.png").stat().st_size > 1000
    assert len(json.loads((out / "runs.json").read_text())) == 21
    assert list(scratch.iterdir()) == []  # the replay's scratch store is removed


def test_backtest_refuses_a_folder_that_is_not_a_world(tmp_path, capsys):
    assert main(["backtest", "--world", str(tmp_path)]) == 2
    assert "oasis simulate" in capsys.readouterr().out
