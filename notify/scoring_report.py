"""``oasis score-targeting``: generate or read worlds, replay them, print the table."""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from notify.config import load_settings
from notify.scoring import Score, default_times, replay


def _current(folder: Path) -> bool:
    """A cached world from this generator: its truth and scans have every column the scorer
    reads (an older world, without ``outcome_known`` or departure scans say, would be scored
    on a different truth, or show the carriers' scans without their departures)."""
    from notify.simulate.emit import SCAN_COLUMNS
    from notify.simulate.truth import TRUTH_COLUMNS

    files = {folder / "truth" / "shipments.csv": TRUTH_COLUMNS,
             folder / "tracking" / "scans.csv": SCAN_COLUMNS}  # fmt: skip
    if not (folder / "world.json").exists():
        return False
    for path, columns in files.items():
        if not path.exists():
            return False
        with path.open(encoding="utf-8") as handle:
            if not set(columns) <= set(handle.readline().strip().split(",")):
                return False
    return True


def worlds_from_args(args: argparse.Namespace, console: Console) -> list[Path]:
    """The worlds ``--world`` names, and those ``--seeds`` asks for (generated under OASIS_HOME
    when missing or from an older generator); ``oasis score-runs`` reads the same options."""
    worlds = [Path(w) for w in args.world or []]
    if args.seeds:
        from notify.simulate import generate_world

        home = load_settings().home
        for seed in (int(s) for s in args.seeds.split(",") if s.strip()):
            folder = home / f"world-{args.orders}-{seed}"
            if not _current(folder):
                with console.status(f"Simulating {args.orders} orders, seed {seed}..."):
                    shutil.rmtree(folder, ignore_errors=True)
                    generate_world(folder, orders=args.orders, seed=seed)
            worlds.append(folder)
    if not worlds:
        raise SystemExit("give --world DIR (a generated world) or --seeds 1,2,3 to generate some")
    for w in worlds:
        if not (w / "truth" / "shipments.csv").exists():
            raise SystemExit(f"{w} is not a generated world (no truth/shipments.csv)")
    return worlds


def _times(args: argparse.Namespace, world: Path) -> list[datetime]:
    if not args.as_of:
        return default_times(world)
    out = []
    for value in args.as_of:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise SystemExit(f"--as-of {value!r} has no UTC offset; write e.g. {value}+00:00")
        out.append(at)
    return out


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(scores: list[tuple[str, Score]]) -> Table:
    t = Table(title="Targeting vs truth (unit: order x parcel); baseline = everyone in the region")
    columns = ("mode", "seed", "as of (UTC)", "relevant", "targeted", "precision", "recall",
               "baseline sent", "baseline precision", "baseline recall")  # fmt: skip
    for column in columns:
        t.add_column(column, justify="left" if column == "mode" else "right")
    for mode, s in scores:
        t.add_row(mode, str(s.seed), s.as_of[:16], str(s.relevant), str(s.targeted),
                  pct(s.precision), pct(s.recall), str(s.baseline_targeted),
                  pct(s.baseline_precision), pct(s.baseline_recall))  # fmt: skip
    return t


def notes(scores: list[tuple[str, Score]]) -> list[str]:
    """Why each miss was missed and each false positive was wrong."""
    out = []
    for mode, s in scores:
        for label, counts in (("missed", s.misses), ("wrong", s.wrong)):
            for why, n in counts.items():
                out.append(f"{mode} seed {s.seed} {s.as_of[:16]}: {n} {label}: {why}")
    return out


def totals(scores: list[tuple[str, Score]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for mode in sorted({m for m, _ in scores}):
        mine = [s for m, s in scores if m == mode]
        targeted = sum(s.targeted for s in mine)
        wrong = sum(s.false_positives for s in mine)
        relevant = sum(s.relevant for s in mine)
        found = sum(s.true_positives for s in mine)
        base = sum(s.baseline_targeted for s in mine)
        undecided = sum(s.undecided for s in mine)
        not_late = sum(s.not_late for s in mine)
        out[mode] = {
            "precision": (targeted - wrong) / targeted if targeted else 1.0,
            "recall": found / relevant if relevant else 1.0,
            "baseline_precision": sum(s.baseline_correct for s in mine) / base if base else 1.0,
            "relevant": relevant, "targeted": targeted, "false_positives": wrong,
            "missed": relevant - found, "undecided": undecided,
            "late_precision": (targeted - not_late) / targeted if targeted else 1.0,
            "attention": sum(s.attention for s in mine), "not_late": not_late,
        }  # fmt: skip
    return out


def score_command(args: argparse.Namespace, console: Console) -> int:
    scored: list[tuple[str, Score]] = []
    modes = ["chain", "oracle"] if args.oracle else ["chain"]
    for world in worlds_from_args(args, console):
        for mode in modes:
            with console.status(f"Replaying {world.name} ({mode})..."):
                for s in replay(world, _times(args, world), oracle=mode == "oracle"):
                    scored.append((mode, s))
    console.print(table(scored))
    for line in notes(scored):
        console.print(line)
    summary = totals(scored)
    for mode, t in summary.items():
        console.print(
            f"{mode}: precision {pct(t['precision'])}, recall {pct(t['recall'])} over "
            f"{t['relevant']} relevant rows ({t['false_positives']} wrong of {t['targeted']} "
            f"targeted, {t['missed']} missed; {t['undecided']} more targeted whose outcome falls "
            f"after the world ends); baseline precision {pct(t['baseline_precision'])}"
        )
        console.print(
            f"{mode}: {t['attention']} rows told as attention notices (the carrier reported a "
            f"problem; not told late); counting every row whose parcel is not late as wrong, "
            f"precision is {pct(t['late_precision'])} ({t['not_late']} not late)"
        )
    console.print("chain = ingest, detect, eta, target as they run; oracle = targeting alone, "
                  "on episodes and ETAs taken from truth")  # fmt: skip
    if args.json:
        payload = {"scores": [{"mode": m, **s.to_dict()} for m, s in scored], "totals": summary}
        Path(args.json).write_text(json.dumps(payload, indent=2), "utf-8")
        console.print(f"saved {args.json}")
    return 0
