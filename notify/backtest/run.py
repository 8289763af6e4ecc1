"""``oasis backtest --world DIR``: replay, score, and write the report."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from carriers.models import Location
from carriers.timezones import zone_for
from notify import calendars
from notify.backtest import metrics, report
from notify.backtest.replay import BacktestConfig, replay, write_runs
from notify.config import Settings
from notify.rules import DetectionRules, load_rules, rules_for

SAMPLE_COLUMNS = (
    "episode_id", "carrier", "tracking_number", "kind", "cause", "version", "incident_id",
    "opened_at", "earliest", "latest", "most_likely", "confidence", "method", "p_late",
    "promised_day", "basis", "history", "carrier_earliest", "carrier_latest", "as_of",
)  # fmt: skip
MOVING = ("in_transit", "out_for_delivery")


def gap_check(world: Path, rules: DetectionRules) -> dict[str, dict[str, Any]]:
    """Per service: the longest gaps between scans of parcels that had no trouble at all,
    in business hours, against the rules' stall threshold (a threshold below them would
    call normal parcels stalled)."""
    scans = pd.read_csv(world / "tracking" / "scans.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(world / "truth" / "shipments.csv", dtype=str, keep_default_na=False)
    normal = set(truth.loc[truth["carrier_event"] == "", "tracking_number"])
    scans = scans[scans["tracking_number"].isin(normal)].copy()
    scans["at"] = pd.to_datetime(scans["occurred_at"], utc=True, format="ISO8601")
    scans = scans.sort_values(["tracking_number", "at"])
    same = scans["tracking_number"].eq(scans["tracking_number"].shift())
    scans["next_at"] = scans["at"].shift(-1).where(same.shift(-1, fill_value=False))
    gaps = scans[scans["status"].isin(MOVING) & scans["next_at"].notna()]
    out: dict[str, dict[str, Any]] = {}
    for (carrier, service), part in gaps.groupby(["carrier", "service"]):
        spec = rules.calendar(carrier, service)
        limit = rules.stall_hours_for(carrier, service)
        hours = []
        for row in part.itertuples():
            wall = (row.next_at - row.at).total_seconds() / 3600
            if wall <= 12:
                hours.append(wall)
                continue
            zone = zone_for(Location(region=row.region or None, country=row.country or None))
            start = datetime.fromisoformat(row.occurred_at)
            tz = zone or start.tzinfo or UTC
            hours.append(calendars.business_hours(start, row.next_at.to_pydatetime(), tz, spec))
        series = pd.Series(hours)
        out[f"{carrier}:{service}"] = {
            "gaps": len(series),
            "p99_9_business_hours": round(float(series.quantile(0.999)), 1),
            "max_business_hours": round(float(series.max()), 1),
            "stall_threshold": limit,
            "threshold_above_every_normal_gap": bool(series.max() < limit),
        }
    return out


def _samples(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SAMPLE_COLUMNS})
    frame["as_of"] = pd.to_datetime(frame["as_of"], utc=True)
    return frame


def run_backtest(
    config: BacktestConfig, progress: Callable[[int, int, dict[str, Any]], None] | None = None
) -> tuple[dict[str, Any], Path]:
    """Replay ``config.world``, score it, write ``summary.json`` and ``report.html``."""
    rules = config.rules
    replayed = replay(config, progress)
    truth = metrics.parcel_truth(config.world)
    s = metrics.enrich(_samples(replayed.samples), truth, rules, config.naive_days)
    runs = [pd.Timestamp(r["as_of"]) for r in replayed.runs]
    told = metrics.told_late(s, rules)
    detection = metrics.detection(s, truth, runs, told)
    window_rule = metrics.detection(s, truth, runs, metrics.told_by_window(s, rules))
    everyone = metrics.enrich(_samples(replayed.on_their_way), truth, rules, config.naive_days)
    extra = {
        "config": {
            "world": str(config.world),
            "runs": len(runs),
            "every_hours": config.every_hours,
            "warmup_days": config.warmup_days,
            "naive_days": config.naive_days,
            "rules_version": rules.version,
            "confidence": rules.eta.confidence,
            "notify_min_p_late": rules.eta.notify_min_p_late,
            "max_window_days": rules.eta.max_window_days,
        },
        "eta_when_told": asdict(metrics.accuracy(s[told])),
        "eta_all_on_their_way": asdict(metrics.accuracy(everyone)),
        "loaded": asdict(replayed.loaded),
        "rules_check": gap_check(config.world, rules),
    }
    summary = report.summarize(s, metrics.accuracy(s), detection, window_rule, extra)
    page = report.write(s, summary, config.out)
    everyone.to_csv(config.out / "on_their_way.csv.gz", index=False)
    write_runs(replayed.runs, config.out / "runs.json")
    return summary, page


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_summary(console: Console, summary: dict[str, Any], title: str, naive_days: int) -> None:
    eta, det = summary["eta"], summary["detection"]
    table = Table(title=title)
    for column in ("", "model", "carrier ETA", f"promise + {naive_days}"):
        table.add_column(column, justify="right")
    table.add_row("inside the window", _pct(eta["coverage"]), _pct(eta["carrier_coverage"]),
                  _pct(eta["naive_coverage"]))  # fmt: skip
    table.add_row("exact day", _pct(eta["model_point"]), _pct(eta["carrier_point"]),
                  _pct(eta["naive_coverage"]))  # fmt: skip
    table.add_row("stated confidence", _pct(eta["stated_confidence"]), "", "")
    table.add_row("median width (business days)", str(eta["median_span"]), "0", "0")
    table.add_row("no window (unknown)", _pct(eta["unknown_share"]), "", "")
    table.add_row("detection precision", _pct(det["precision"]), "", "")
    table.add_row("detection recall", _pct(det["recall"]), "", "")
    console.print(table)


def command(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """The body of ``oasis backtest``."""
    world = Path(args.world)
    if not (world / "world.json").exists():
        console.print(f"{world} is not a simulated world (no world.json): run oasis simulate")
        return 2
    rules = rules_for(settings)
    if args.rules:
        rules = load_rules(args.rules).with_settings(
            stall_hours=settings.stall_hours, max_window_days=settings.max_eta_window_days
        )
    config = BacktestConfig(
        world=world,
        out=Path(args.out) if args.out else world / "backtest",
        every_hours=args.every_hours,
        warmup_days=args.warmup_days,
        naive_days=args.naive_days,
        database_url=args.database_url,
        rules=rules,
    )
    with console.status("Replaying the world through detect and ETA...") as status:
        summary, page = run_backtest(
            config, lambda i, n, _: status.update(f"Replaying run {i} of {n}...")
        )
    print_summary(console, summary, f"Backtest of {world}", args.naive_days)
    console.print(f"Report: {page}")
    return 0
