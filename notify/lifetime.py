"""What customers were told over a deployment's lifetime, measured against a world's truth.

``oasis score-targeting`` scores single runs: whom targeting would tell at a few moments.
A deployment runs every hour for weeks, and what a customer lives with is every message
they got over that time: a second "delivered" about the same parcel, a delay notice that
says nothing new, a window that did not hold, a render error that kept one customer's
message back run after run. None of that shows in one run. So :func:`replay_runs` runs the
whole pipeline (every DAG stage, the library steps the tasks call: orders, ingest from the
carrier sandbox on loopback, detect, ETA, target, compose, render, gate, release, send
through the file channel, escalate, record) at regular as-of times over a simulated world,
in a scratch store, and :func:`score_runs` reads what was sent:

* **Told late** (shipment rows in a sent delay notice, not as a problem parcel): wrong when
  the parcel arrived by its promised day, was already delivered, or its order was not open.
  Rows whose outcome falls after the world's end are left out.
* **Attention** rows (a problem told as a problem, or as a promise at risk): unfounded when
  the problem told did not happen (``Truth.founded``) and the parcel was on time.
* **Relevant** rows (truth's ``customer_relevant``, order open, evidence within the replayed
  span): told before delivery, or missed. A customer with no channel (no consent, no valid
  address) cannot be told; those rows are counted apart (``unreachable``), they go to a
  person.
* **Windows**: every window a sent delay notice stated for a row, against the day it was
  delivered in the customer's zone (held, delivered before it, after it).
* **Follow-ups**: parcels named in more than one sent follow-up; "delivered" said of a parcel
  not delivered by then.
* **Volume**: messages per channel, notices by kind, promised updates ("still no date",
  rounds after the first), notices per customer; halted runs and quarantined rows.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from notify.config import overridden
from notify.scoring import Pair, Truth
from notify.store import schema
from notify.store.types import as_utc

CARRIERS = ("fedex", "ups", "usps", "dhl")
FOLLOW_UPS = ("delivered", "resolved")


@dataclass
class LifetimeScore:
    world: str
    seed: int
    runs: int
    every_hours: float
    halted_runs: int = 0
    quarantined_rows: int = 0
    messages: dict[str, int] = field(default_factory=dict)  # sent, per channel
    notices: dict[str, int] = field(default_factory=dict)  # sent notices, per kind
    updates: int = 0  # promised updates sent with still no date (rounds after the first)
    customers: int = 0  # customers who got at least one message
    most_notices: int = 0  # the most notices one customer got
    mean_notices: float = 0.0
    told_late: int = 0
    told_late_wrong: int = 0
    wrong: dict[str, int] = field(default_factory=dict)
    attention: int = 0
    attention_unfounded: int = 0
    relevant: int = 0
    unreachable: int = 0  # relevant rows of customers with no channel (a person has them)
    told_in_time: int = 0  # relevant reachable rows told before delivery
    hours_to_tell_median: float = 0.0  # from the carrier's evidence to our first message
    hours_to_tell_p90: float = 0.0
    windows: dict[str, int] = field(default_factory=dict)  # held / before / after / open
    follow_ups_repeated: int = 0  # parcels named in more than one sent follow-up
    follow_ups_wrong: int = 0  # "delivered" of a parcel not delivered by then
    seconds: float = 0.0

    @property
    def precision(self) -> float:
        n = self.told_late + self.attention
        bad = self.told_late_wrong + self.attention_unfounded
        return (n - bad) / n if n else 1.0

    @property
    def recall(self) -> float:
        reachable = self.relevant - self.unreachable
        return self.told_in_time / reachable if reachable else 1.0

    @property
    def window_coverage(self) -> float:
        known = sum(v for k, v in self.windows.items() if k != "open")
        return self.windows.get("held", 0) / known if known else 1.0

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.update(
            precision=round(self.precision, 4),
            recall=round(self.recall, 4),
            window_coverage=round(self.window_coverage, 4),
        )
        return out


def run_times(
    world: Path, every_hours: float, first_day: float, days: float | None
) -> list[datetime]:
    """As-of times from ``first_day`` days after the world's start, every ``every_hours``,
    for ``days`` days (default: to the world's end)."""
    from notify.simulate import load_meta

    meta = load_meta(world)
    start = datetime.fromisoformat(meta["start"]) + timedelta(days=first_day)
    end = datetime.fromisoformat(meta["end"])
    if days is not None:
        end = min(end, start + timedelta(days=days))
    out, at = [], start
    while at <= end:
        out.append(at)
        at += timedelta(hours=every_hours)
    return out


def replay_runs(
    world: Path,
    *,
    every_hours: float = 6.0,
    first_day: float = 3.0,
    days: float | None = None,
    keep: Path | None = None,
) -> LifetimeScore:
    """Run the pipeline over ``world`` at regular as-of times and score what was sent. The
    store and outbox live in a scratch folder, removed afterwards unless ``keep`` names a
    folder to leave them in."""
    from carriers.sandbox import SandboxServer, SandboxWorld
    from notify import pipeline

    times = run_times(world, every_hours, first_day, days)
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="oasis-lifetime-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'oasis.db'}"
    started = time.perf_counter()
    try:
        env = {
            "OASIS_HOME": str(workdir),
            "OASIS_DATABASE_URL": url,
            "OASIS_EMAIL_PROVIDER": "file",
            "OASIS_SMS_PROVIDER": "file",
        }
        with overridden(env), SandboxServer(SandboxWorld.load(world)) as server:
            conf = {
                "orders_dir": str(world / "orders"),
                "sandbox_url": server.base_url,
                "carriers": list(CARRIERS),
            }
            for k, at in enumerate(times):
                run_id = f"lifetime-{k:04d}"
                pipeline.begin(run_id, {**conf, "as_of": at.isoformat()}, None, "manual")
                for step in pipeline.STEPS:  # every stage, in the DAG's order
                    pipeline.run_step(step, run_id)
        engine = create_engine(url)
        try:
            score = score_runs(engine, world, every_hours)
        finally:
            engine.dispose()
        score.seconds = round(time.perf_counter() - started, 1)
        return score
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class _Sent:
    at: pd.Timestamp
    customer_id: str
    plan: dict[str, Any]


def _sent(engine: Engine) -> tuple[list[_Sent], Counter[str]]:
    """Each notice that went out, once (when it first went, on whichever channel), oldest
    first; and the messages per channel."""
    d, n, r = schema.decisions, schema.notices, schema.runs
    query = (
        select(r.c.as_of, d.c.customer_id, d.c.notice_id, d.c.channel, n.c.plan)
        .join(n, n.c.notice_id == d.c.notice_id)
        .join(r, r.c.run_id == d.c.run_id)
        .where(d.c.decision == "sent")
        .order_by(r.c.as_of)
    )
    seen: set[str] = set()
    out, channels = [], Counter[str]()
    with engine.connect() as conn:
        for row in conn.execute(query):
            channels[row.channel] += 1
            if row.notice_id in seen:
                continue
            seen.add(row.notice_id)
            at = pd.Timestamp(as_utc(row.as_of))
            out.append(_Sent(at, row.customer_id, json.loads(row.plan)))
    return out, channels


def _rows_of(engine: Engine, decision: str) -> set[Pair]:
    d = schema.decisions
    out: set[Pair] = set()
    with engine.connect() as conn:
        for r in conn.execute(
            select(d.c.order_ids, d.c.shipment_ids).where(d.c.decision == decision)
        ):
            out.update(zip(json.loads(r.order_ids), json.loads(r.shipment_ids), strict=False))
    return out


def _unreachable(engine: Engine) -> set[Pair]:
    """(order, parcel) rows of customers no channel reaches (no consent, or no valid address
    or mobile number for it; ``policy.choose_channels``), whatever decision a run recorded:
    an order a person already has (a case open, automated notices paused) is recorded as
    deferred, not as ``no_channel``, and its customer is no more reachable for that."""
    from notify.policy import choose_channels, recipient_of

    c, o, s = schema.customers, schema.orders, schema.shipments
    query = select(
        c.c.customer_id, c.c.email, c.c.phone, c.c.locale, c.c.timezone, c.c.email_opt_in,
        c.c.sms_opt_in, s.c.destination_postal_code, s.c.destination_country, o.c.order_id,
        s.c.shipment_id,
    ).select_from(c.join(o, o.c.customer_id == c.c.customer_id).join(
        s, s.c.order_id == o.c.order_id))  # fmt: skip
    with engine.connect() as conn:
        return {
            (r.order_id, r.shipment_id)
            for r in conn.execute(query)
            if not choose_channels(recipient_of(r, r)).channels
        }


def _outbox_and_runs(engine: Engine, score: LifetimeScore) -> None:
    o, r = schema.outbox, schema.runs
    with engine.connect() as conn:
        states = Counter(s for (s,) in conn.execute(select(o.c.state)))
        summaries = [json.loads(s) for s in conn.execute(select(r.c.summary)).scalars() if s]
    score.quarantined_rows = states.get("quarantined", 0)
    score.halted_runs = sum(1 for s in summaries if (s.get("gate") or {}).get("halted"))


def score_runs(engine: Engine, world: Path, every_hours: float) -> LifetimeScore:
    """Score every message a store's runs sent against the world's truth."""
    from notify.simulate import load_meta

    truth = Truth.load(world)
    f = truth.frame
    sent, channels = _sent(engine)
    with engine.connect() as conn:
        times = sorted(as_utc(t) for t in conn.execute(select(schema.runs.c.as_of)).scalars())
    score = LifetimeScore(str(world), int(load_meta(world)["seed"]), len(times), every_hours)
    score.messages = dict(channels)
    _outbox_and_runs(engine, score)
    late: dict[Pair, list[tuple[pd.Timestamp, Any, Any]]] = {}
    attention: dict[Pair, str] = {}
    first_told: dict[Pair, pd.Timestamp] = {}
    follow_ups: Counter[Pair] = Counter()
    kinds: Counter[str] = Counter()
    per_customer: Counter[str] = Counter()
    for s in sent:
        kind = s.plan.get("kind", "delay")
        kinds[kind] += 1
        per_customer[s.customer_id] += 1
        score.updates += 1 if kind in ("delay", "attention") and s.plan.get("round") else 0
        for p in s.plan.get("parcel_facts", []):
            pair = (p["order_id"], p["shipment_id"])
            if kind in FOLLOW_UPS:
                follow_ups[pair] += 1
                if kind == "delivered" and not _delivered_by(f, pair, s.at):
                    score.follow_ups_wrong += 1
                continue
            first_told.setdefault(pair, s.at)
            if kind == "delay" and not p.get("problem"):
                late.setdefault(pair, []).append((s.at, p.get("eta_earliest"), p.get("eta_latest")))
            else:
                attention.setdefault(pair, p.get("cause") or "")
    score.notices = dict(kinds)
    score.customers = len(per_customer)
    if per_customer:
        score.most_notices = max(per_customer.values())
        score.mean_notices = round(statistics.mean(per_customer.values()), 2)
    score.follow_ups_repeated = sum(1 for v in follow_ups.values() if v > 1)
    _score_late(score, f, late)
    _score_attention(score, truth, attention)
    unreachable = _rows_of(engine, "no_channel") | _unreachable(engine)
    _score_relevant(score, f, first_told, unreachable, times)
    return score


def _delivered_by(f: pd.DataFrame, pair: Pair, at: pd.Timestamp) -> bool:
    if pair not in f.index:
        return False
    delivered = f.loc[pair]["delivered_at"]
    return bool(pd.notna(delivered) and delivered <= at)


def _score_late(score: LifetimeScore, f: pd.DataFrame, late: dict[Pair, list[Any]]) -> None:
    wrong: Counter[str] = Counter()
    windows: Counter[str] = Counter()
    for pair, tells in late.items():
        if pair not in f.index:
            score.told_late += 1
            wrong["not in truth"] += 1
            continue
        row = f.loc[pair]
        if not row["outcome_known"]:
            continue
        score.told_late += 1
        first = tells[0][0]
        if row["status"] != "open":
            wrong[f"order {row['status']}"] += 1
        elif pd.notna(row["delivered_at"]) and row["delivered_at"] <= first:
            wrong["already delivered"] += 1
        elif not row["delayed"]:
            wrong[f"arrived on time ({row['carrier_event'] or 'no event'})"] += 1
        _count_windows(windows, row["delivered_local"] or None, tells)
    score.wrong = dict(wrong)
    score.told_late_wrong = sum(wrong.values())
    score.windows = dict(windows)


def _count_windows(windows: Counter[str], day: str | None, tells: list[Any]) -> None:
    """Each window told for a row against the day it was delivered (customer's zone)."""
    for _at, earliest, latest in tells:
        if not latest:
            continue
        first_day, last_day = str(earliest or latest)[:10], str(latest)[:10]
        if not day:
            windows["open"] += 1
        elif day < first_day:
            windows["before"] += 1
        elif day > last_day:
            windows["after"] += 1
        else:
            windows["held"] += 1


def _score_attention(score: LifetimeScore, truth: Truth, attention: dict[Pair, str]) -> None:
    f = truth.frame
    for pair, cause in attention.items():
        if pair not in f.index or not f.loc[pair]["outcome_known"]:
            continue
        score.attention += 1
        if not truth.founded(pair, cause) and not f.loc[pair]["delayed"]:
            score.attention_unfounded += 1


def _score_relevant(
    score: LifetimeScore,
    f: pd.DataFrame,
    first_told: dict[Pair, pd.Timestamp],
    unreachable: set[Pair],
    times: list[datetime],
) -> None:
    if not times:
        return
    span = (f["evidence_at"] >= pd.Timestamp(times[0])) & (
        f["evidence_at"] <= pd.Timestamp(times[-1])
    )
    relevant = f[f["customer_relevant"] & (f["status"] == "open") & span]
    hours: list[float] = []
    for pair, row in relevant.iterrows():
        score.relevant += 1
        told = first_told.get(pair)
        if told is None or (pd.notna(row["delivered_at"]) and told > row["delivered_at"]):
            score.unreachable += 1 if pair in unreachable else 0
            continue
        score.told_in_time += 1
        hours.append(max(0.0, (told - row["evidence_at"]).total_seconds() / 3600))
    if hours:
        score.hours_to_tell_median = round(statistics.median(hours), 1)
        score.hours_to_tell_p90 = round(float(pd.Series(hours).quantile(0.9)), 1)


# --------------------------------------------------------------------------- the command


def table(scores: list[LifetimeScore]) -> Any:
    from rich.table import Table

    from notify.scoring_report import pct

    t = Table(title="What customers were told over the replayed runs, vs truth")
    t.add_column("measure")
    for s in scores:
        t.add_column(f"seed {s.seed}", justify="right")

    def row(label: str, value: Any) -> None:
        t.add_row(label, *(str(value(s)) for s in scores))

    def both(table: str, a: str, b: str) -> Any:
        return lambda s: f"{getattr(s, table).get(a, 0)} / {getattr(s, table).get(b, 0)}"

    row("runs (every N h)", lambda s: f"{s.runs} ({s.every_hours:g} h)")
    row("halted runs / quarantined rows", lambda s: f"{s.halted_runs} / {s.quarantined_rows}")
    row(
        "messages (email / sms)",
        lambda s: f"{s.messages.get('email', 0)} / {s.messages.get('sms', 0)}",
    )
    row(
        "notices: delay / attention",
        lambda s: f"{s.notices.get('delay', 0)} / {s.notices.get('attention', 0)}",
    )
    row("  of which promised updates", lambda s: s.updates)
    row(
        "notices: delivered / resolved",
        lambda s: f"{s.notices.get('delivered', 0)} / {s.notices.get('resolved', 0)}",
    )
    row(
        "customers told / mean / most",
        lambda s: f"{s.customers} / {s.mean_notices} / {s.most_notices}",
    )
    row("rows told late / wrong", lambda s: f"{s.told_late} / {s.told_late_wrong}")
    row("attention rows / unfounded", lambda s: f"{s.attention} / {s.attention_unfounded}")
    row("precision", lambda s: pct(s.precision))
    row(
        "relevant / unreachable / told in time",
        lambda s: f"{s.relevant} / {s.unreachable} / {s.told_in_time}",
    )
    row("recall (reachable)", lambda s: pct(s.recall))
    row(
        "hours to tell (median / p90)",
        lambda s: f"{s.hours_to_tell_median} / {s.hours_to_tell_p90}",
    )
    row("windows told: held / before / after", lambda s: "{held} / {before} / {after}".format(
        **{k: s.windows.get(k, 0) for k in ("held", "before", "after")}))  # fmt: skip
    row("window coverage", lambda s: pct(s.window_coverage))
    row("parcels in 2+ follow-ups", lambda s: s.follow_ups_repeated)
    row("'delivered' too early", lambda s: s.follow_ups_wrong)
    row("seconds", lambda s: s.seconds)
    return t


def score_runs_command(args: Any, console: Any) -> int:
    """``oasis score-runs``: replay each world run after run and print what was told."""
    from notify.scoring_report import worlds_from_args

    scores = []
    for world in worlds_from_args(args, console):
        with console.status(f"Running the pipeline every {args.every:g} h over {world}..."):
            scores.append(
                replay_runs(
                    world,
                    every_hours=args.every,
                    first_day=args.first_day,
                    days=args.days,
                    keep=Path(args.keep) if args.keep else None,
                )
            )
    console.print(table(scores))
    if args.json:
        Path(args.json).write_text(json.dumps([s.to_dict() for s in scores], indent=2) + "\n")
        console.print(f"Scores: {args.json}")
    return 0
