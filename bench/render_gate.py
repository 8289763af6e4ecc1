"""Render and gate benchmark: N notices rendered in every channel, then gated.

    python -m bench.render_gate [--notices 100000] [--seed 7]

Notices are generated from a seed with the variety real runs have: four locales (en-US,
en-GB, de-DE, es-MX), every cause the taxonomy knows plus unstated causes with the
carrier's evidence, one or two orders with one to four items, a day, a window or no ETA,
second delays, long and non-Latin titles. Each notice is rendered as email (subject,
inlined HTML, text) and SMS; then the Great Expectations row suite and batch suite run on
the staged rows (two per notice). Prints a table and writes
``bench/results/render_gate-<notices>.json`` (seconds, rows/s, peak resident memory).
No store and no network: this measures rendering and gating only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import Step, measured

RESULTS = Path(__file__).resolve().parent / "results"
console = Console(width=130)

AS_OF = date(2026, 11, 22)
LOCALES = (
    ("en-US", "America/Chicago"),
    ("en-US", "America/New_York"),
    ("en-GB", "Europe/London"),
    ("de-DE", "Europe/Berlin"),
    ("es-MX", "America/Mexico_City"),
)
NAMES = ("Ana", "Bo", "Jürgen", "Lucía", "Zoë", "Mohammed", "Siobhán", "Kai", "Émile", "Nguyễn")
TITLES = (
    "Wool socks",
    "Merino scarf",
    "Rain jacket",
    "Stainless Water Bottle 750 ml",
    "Ultra-light Trekking Backpack 45 L, forest green",
    "Board Game: Über Quest",
    "Desk lamp",
    "Calcetines de lana",
    "Tea kettle",
    "USB-C Charger 65 W",
)
CARRIERS = (("fedex", "FedEx"), ("ups", "UPS"), ("usps", "USPS"), ("dhl", "DHL"))
UNSTATED = ("exception", "failed_attempt", "promise_breached", "stalled", "late_eta")
CONTACT = {
    "route": "support@example.com, +1 555 0100",
    "hours": [{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "08:00", "closes": "20:00"}],
    "timezone": "America/New_York",
}


def _eta(rng: random.Random, promised: date) -> dict[str, Any] | None:
    if rng.random() < 0.2:
        return None
    first = max(promised + timedelta(days=1), AS_OF) + timedelta(days=rng.randint(0, 4))
    last = first + timedelta(days=rng.choice((0, 0, 1, 2)))
    confidence = rng.choice((None, round(rng.uniform(0.6, 0.95), 2)))
    return {
        "earliest": first.isoformat(),
        "latest": last.isoformat(),
        "most_likely": first.isoformat(),
        "confidence": confidence,
    }


def _order(rng: random.Random, n: int, k: int) -> dict[str, Any]:
    order_id = f"O{n:07d}{k}"
    carrier, title = rng.choice(CARRIERS)
    return {
        "order_id": order_id,
        "tracking_url": f"https://shop.example.com/orders/{order_id}/tracking",
        "promised_by": (AS_OF - timedelta(days=rng.randint(0, 3))).isoformat(),
        "items": [
            {"title": t, "quantity": rng.randint(1, 3)}
            for t in rng.sample(TITLES, rng.randint(1, 4 if k == 0 else 2))
        ],
        "shipments": [
            {
                "carrier": carrier,
                "carrier_title": title,
                "tracking_number": f"{rng.randrange(10**11, 10**12)}",
            }
        ],
    }


def make_facts(n: int, rng: random.Random) -> dict[str, Any]:
    """One notice's facts, as compose builds them."""
    from carriers.taxonomy import Reason
    from notify.next_steps import next_steps

    locale, zone = rng.choice(LOCALES)
    orders = [_order(rng, n, k) for k in range(1 if rng.random() < 0.9 else 2)]
    promised = min(date.fromisoformat(o["promised_by"]) for o in orders)
    eta = _eta(rng, promised)
    cause = rng.choice([r.value for r in Reason])
    evidence = None
    if cause == Reason.UNKNOWN.value:
        kind = rng.choice(UNSTATED)
        evidence = {
            "kind": kind,
            "carrier": orders[0]["shipments"][0]["carrier"],
            "carrier_title": orders[0]["shipments"][0]["carrier_title"],
            "at": f"{(AS_OF - timedelta(days=1)).isoformat()}T0{rng.randint(1, 9)}:15:00+00:00",
            "place": rng.choice(("Dallas, TX", "Memphis, TN", None)),
        }
    previous = None
    if rng.random() < 0.1:
        previous = {
            "sent_on": (AS_OF - timedelta(days=2)).isoformat(),
            "eta": None,
            "next_update_by": f"{(AS_OF - timedelta(days=1)).isoformat()}T18:00:00+00:00",
        }
    return {
        "notice_id": f"n_{n:08d}",
        "customer_id": f"C{n:08d}",
        "shipment_ids": [f"S{n:08d}"],
        "kind": "delay",
        "locale": locale,
        "timezone": zone,
        "brand": "Oasis Demo Shop",
        "customer": {
            "first_name": rng.choice(NAMES),
            "email": f"customer{n}@example.com",
            "phone": f"+1312{n % 10_000_000:07d}",
        },
        "orders": orders,
        "eta": eta,
        "next_update_by": None
        if eta
        else f"{(AS_OF + timedelta(days=1)).isoformat()}T12:00:00+00:00",
        "cause": cause,
        "cause_evidence": evidence,
        "next_steps": next_steps(cause),
        "contact": CONTACT,
        "previous_notice": previous,
    }


def staged_row(facts: dict[str, Any], channel: str, message: Any) -> dict[str, Any]:
    """The gate's view of one staged message (what notify.stages.gating builds from the store)."""
    from notify.stages.gating import cause_groups, date_windows, item_count

    eta = facts["eta"] or {}
    customer = facts["customer"]
    return {
        "row_id": f"{facts['notice_id']}:{channel}",
        "notice_id": facts["notice_id"],
        "customer_id": facts["customer_id"],
        "channel": channel,
        "recipient": customer["email"] if channel == "email" else customer["phone"],
        "subject": message.subject,
        "body_text": message.text,
        "body_html": message.html,
        "sms_segments": message.sms_segments,
        "eta_earliest": eta.get("earliest"),
        "eta_latest": eta.get("latest"),
        "next_update_by": facts["next_update_by"],
        "cause": facts["cause"],
        "order_ids": ",".join(o["order_id"] for o in facts["orders"]),
        "item_titles": " | ".join(
            i["title"] for o in facts["orders"] if "problem" not in o for i in o["items"]
        ),
        "promised_by": min(o["promised_by"] for o in facts["orders"]),
        "as_of_date": AS_OF.isoformat(),
        "max_window_days": 3,
        "recipient_is_customer": True,
        "consent": True,
        "evidence_age_hours": 2.0,
        "freshness_limit_hours": 72.0,
        "episode_open": True,
        "locale": facts["locale"],
        "timezone": facts["timezone"],
        "next_steps": "|".join(facts["next_steps"]),
        "cause_evidence": json.dumps(facts["cause_evidence"]) if facts["cause_evidence"] else None,
        "customer_name": customer["first_name"],
        "causes": cause_groups(facts),
        "item_count": item_count(facts),
        "dates": date_windows(facts),
    }


@contextmanager
def cpu_measured(name: str) -> Iterator[Step]:
    """``measured`` plus the process's CPU seconds (``detail["cpu_seconds"]``): on a shared
    machine the wall time says as much about the neighbours as about the code."""
    started = time.process_time()
    with measured(name) as step:
        yield step
    step.detail["cpu_seconds"] = round(time.process_time() - started, 3)


def _sum(name: str, rows: int, parts: list[Step]) -> Step:
    total = Step(name, rows=rows)
    total.seconds = sum(s.seconds for s in parts)
    total.peak_rss_mb = max(s.peak_rss_mb for s in parts)
    total.detail["cpu_seconds"] = round(sum(s.detail["cpu_seconds"] for s in parts), 3)
    return total


def run(notices: int, seed: int) -> tuple[list[Step], dict[str, Any]]:
    import pandas as pd

    from notify.gate import check_batch, check_rows
    from notify.render import render

    rng = random.Random(seed)
    steps: list[Step] = []
    with cpu_measured("generate facts") as step:
        all_facts = [make_facts(n, rng) for n in range(notices)]
    step.rows = notices
    steps.append(step)
    render(all_facts[0], "email")  # templates parsed, wording loaded: not part of the timing
    messages: dict[str, list[Any]] = {}
    for channel in ("email", "sms"):
        with cpu_measured(f"render {channel}") as step:
            messages[channel] = [render(f, channel) for f in all_facts]
        step.rows = notices
        steps.append(step)
    steps.append(_sum("render, all channels (notices)", notices, steps[-2:]))
    with cpu_measured("stage rows (frame)") as step:
        frame = pd.DataFrame(
            [
                staged_row(f, channel, messages[channel][i])
                for i, f in enumerate(all_facts)
                for channel in ("email", "sms")
            ]
        )
    step.rows = len(frame)
    steps.append(step)
    del messages
    with cpu_measured("gate: row suite (GX)") as step:
        rows = check_rows(frame)
    step.rows = len(frame)
    step.detail |= {"failures_by_rule": rows.failures_by_rule(), **rows.summary}
    steps.append(step)
    with cpu_measured("gate: batch suite (GX)") as step:
        batch = check_batch(
            frame,
            open_shipments=notices * 4,
            history_same_hour=[notices] * 7,
            max_notices=notices * 2,
            feed_age_hours={c: 1.0 for c, _ in CARRIERS},
            freshness_limit_hours=72.0,
            row_report=rows,
        )
    step.rows = len(frame)
    step.detail["batch_failures"] = batch.batch_failures
    steps.append(step)
    steps.append(_sum("gate, rows + batch (notices)", notices, steps[-2:]))
    verdict = {
        "rows": len(frame),
        "rows_failed": len(rows.row_failures),
        "failures_by_rule": rows.failures_by_rule(),
        "batch_failures": batch.batch_failures,
    }
    return steps, verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.render_gate", description=__doc__)
    parser.add_argument("--notices", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    steps, verdict = run(args.notices, args.seed)
    table = Table(title=f"Oasis render + gate, {args.notices:,} notices")
    columns = ("step", "rows", "seconds", "rows/s", "CPU s", "rows/CPU s", "peak RSS MB")
    for column in columns:
        table.add_column(column, justify="left" if column == "step" else "right")
    for s in steps:
        cpu = s.detail.get("cpu_seconds", 0.0)
        table.add_row(s.name, f"{s.rows:,}", f"{s.seconds:.2f}", f"{s.rows_per_second:,.0f}",
                      f"{cpu:.2f}", f"{s.rows / cpu if cpu else 0:,.0f}",
                      f"{s.peak_rss_mb:,.0f}")  # fmt: skip
    console.print(table)
    console.print(f"gate: {verdict['rows_failed']:,} of {verdict['rows']:,} rows failed "
                  f"{verdict['failures_by_rule']}; batch {verdict['batch_failures']}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"render_gate-{args.notices}.json"
    out.write_text(json.dumps({"notices": args.notices, "seed": args.seed, "verdict": verdict,
                               "steps": [s.to_dict() for s in steps]}, indent=2))  # fmt: skip
    console.print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
