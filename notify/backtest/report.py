"""The backtest report: one JSON file with every number, and a small HTML page with plots.

``summary.json`` holds the headline (ETA accuracy of the model, the carrier's own ETA and
the naive baseline on the same samples; detection precision and recall), calibration by
stated confidence, accuracy per carrier and per lane, the rules check (observed normal gaps
between scans per service against the stall thresholds) and the per-run counts.
``report.html`` shows the same with matplotlib plots (PNG files beside it), and
``samples.csv.gz`` holds every scored (run, parcel) sample for a closer look
(``on_their_way.csv.gz`` the daily samples of every parcel on its way).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from notify.backtest.metrics import Accuracy, Detection, accuracy

PLOTS = ("calibration", "by_carrier", "widths", "over_time")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def calibration(s: pd.DataFrame) -> list[dict[str, Any]]:
    """Stated confidence in bins against the observed share of deliveries inside."""
    told = s[s["delivered_day"].notna() & s["earliest"].notna() & s["confidence"].notna()]
    bins = [0.0, 0.8, 0.9, 0.95, 0.97, 0.99, 1.0001]
    out = []
    for lo, hi in pairwise(bins):
        part = told[(told["confidence"] >= lo) & (told["confidence"] < hi)]
        if len(part):
            out.append({"from": lo, "to": min(hi, 1.0), "samples": len(part),
                        "stated": float(part["confidence"].mean()),
                        "observed": float(part["model_in"].mean())})  # fmt: skip
    return out


def by_group(s: pd.DataFrame, column: str, least: int = 30) -> dict[str, dict[str, Any]]:
    out = {}
    for name, part in s.groupby(column):
        a = accuracy(part)
        if a.samples >= least:
            out[str(name)] = asdict(a)
    return out


def _region_lane(s: pd.DataFrame) -> pd.Series:
    return s["lane"].fillna("?")


def summarize(
    s: pd.DataFrame,
    headline: Accuracy,
    told: Detection,
    window_rule: Detection,
    extra: dict[str, Any],
) -> dict[str, Any]:
    s = s.assign(region_lane=_region_lane(s))
    return _clean(
        {
            "eta": asdict(headline),
            "eta_when_told_late": extra.pop("eta_when_told"),
            "calibration": calibration(s),
            "by_carrier": by_group(s, "carrier"),
            "by_lane": by_group(s, "region_lane"),
            "by_kind": by_group(s, "kind"),
            "detection": asdict(told),
            "detection_window_rule": asdict(window_rule),
            **extra,
        }
    )


def _plots(s: pd.DataFrame, summary: dict[str, Any], folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cal = summary["calibration"]
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot([0.8, 1], [0.8, 1], color="grey", linestyle="--", linewidth=1)
    ax.scatter([c["stated"] for c in cal], [c["observed"] for c in cal],
               s=[max(10, min(300, c["samples"] / 20)) for c in cal])  # fmt: skip
    ax.set(xlabel="stated confidence", ylabel="deliveries inside the window",
           title="Calibration", xlim=(0.78, 1.01), ylim=(0.78, 1.01))  # fmt: skip
    fig.tight_layout()
    fig.savefig(folder / "calibration.png", dpi=110)
    plt.close(fig)

    carriers = summary["by_carrier"]
    names = sorted(carriers)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.27
    for i, (label, key) in enumerate((("model window", "coverage"),
                                      ("carrier ETA", "carrier_coverage"),
                                      ("promise + N", "naive_coverage"))):  # fmt: skip
        ax.bar([j + (i - 1) * width for j in range(len(names))],
               [carriers[n][key] or 0 for n in names], width, label=label)  # fmt: skip
    ax.set_xticks(range(len(names)), names)
    ax.set(ylabel="deliveries inside", ylim=(0, 1.05), title="Accuracy per carrier")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "by_carrier.png", dpi=110)
    plt.close(fig)

    told = s[s["earliest"].notna()]
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    counts = told["model_span"].value_counts().sort_index()
    ax.bar([int(x) for x in counts.index], counts.values)
    ax.set(xlabel="window width (business days after the first)", ylabel="samples",
           title="Window widths")  # fmt: skip
    fig.tight_layout()
    fig.savefig(folder / "widths.png", dpi=110)
    plt.close(fig)

    done = s[s["delivered_day"].notna()].assign(day=lambda f: f["as_of"].dt.date)
    daily = done.groupby("day").agg(
        coverage=("model_in", lambda x: x[done.loc[x.index, "earliest"].notna()].mean()),
        unknown=("earliest", lambda x: x.isna().mean()),
    )
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.plot(daily.index, daily["coverage"], label="inside the window")
    ax.plot(daily.index, daily["unknown"], label="unknown (no window shown)")
    ax.set(ylim=(0, 1.02), title="Over the replay")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(folder / "over_time.png", dpi=110)
    plt.close(fig)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _row(label: str, cells: list[str]) -> str:
    return f"<tr><th>{html.escape(label)}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _accuracy_rows(eta: dict[str, Any]) -> list[str]:
    return [
        _row("deliveries inside the stated window", [_pct(eta["coverage"]),
             _pct(eta["carrier_coverage"]), _pct(eta["naive_coverage"])]),
        _row("exact day (most likely / carrier / naive)", [_pct(eta["model_point"]),
             _pct(eta["carrier_point"]), _pct(eta["naive_coverage"])]),
        _row("stated confidence (mean)", [_pct(eta["stated_confidence"]), "-", "-"]),
        _row("median window width, business days", [str(eta["median_span"]), "0", "0"]),
        _row("samples without a window (unknown)", [_pct(eta["unknown_share"]),
             _pct(1 - eta["carrier_answered"] / max(eta["samples"], 1)), "0%"]),
    ]  # fmt: skip


def _html(summary: dict[str, Any]) -> str:
    eta, det, win = summary["eta"], summary["detection"], summary["detection_window_rule"]
    everyone = summary.get("eta_all_on_their_way") or {}
    rows = _accuracy_rows(eta)
    others = _accuracy_rows(everyone) if everyone.get("samples") else []
    detection = [
        _row("told late when P(late) is high", [_pct(det["precision"]), _pct(det["recall"]),
             str(det["told"]), str(det["observable"])]),
        _row("told on any unknown or late window", [_pct(win["precision"]), _pct(win["recall"]),
             str(win["told"]), str(win["observable"])]),
    ]  # fmt: skip
    images = "".join(f'<img src="{name}.png" alt="{name}">' for name in PLOTS)
    meta = html.escape(json.dumps(summary.get("config", {})))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Oasis backtest</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;
text-align:right}}th{{text-align:left}}img{{margin:.5em;border:1px solid #eee}}</style></head>
<body><h1>Oasis backtest</h1><p><code>{meta}</code></p>
<h2>ETA on parcels in a delay episode ({eta["samples"]} run x parcel samples)</h2>
<table><tr><th></th><th>model</th><th>carrier's ETA</th><th>promise + N</th></tr>
{"".join(rows)}</table>
<h2>Every parcel on its way, once a day ({everyone.get("samples", 0)} samples)</h2>
<table><tr><th></th><th>model</th><th>carrier's ETA</th><th>promise + N</th></tr>
{"".join(others)}</table>
<h2>Detection against the world's truth</h2>
<table><tr><th></th><th>precision</th><th>recall</th><th>parcels told</th>
<th>customer-relevant delays</th></tr>{"".join(detection)}</table>
{images}
<p>Every number, per carrier, lane and delay kind: <a href="summary.json">summary.json</a></p>
</body></html>
"""


def write(s: pd.DataFrame, summary: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    s.to_csv(folder / "samples.csv.gz", index=False)
    (folder / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n",
                                         "utf-8")  # fmt: skip
    _plots(s, summary, folder)
    page = folder / "report.html"
    page.write_text(_html(summary), "utf-8")
    return page
