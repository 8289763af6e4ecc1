"""Targeting measured against a simulated world's ground truth.

Replays a world at one or more as-of times (ingest what the carriers showed by then through
the real parsers, detect, ETA, target: the library stages, in process) and compares who
targeting judged affected with ``truth/shipments.csv``. The unit is a shipment row (one
order x one parcel), the unit a notice names.

* Relevant at T (the positives): truth says ``customer_relevant`` (late against the promise,
  and the carrier showed it before delivery), the carrier had shown it by T
  (``evidence_at <= T``), it is not delivered by T, and the order is open in the order
  system (a cancelled or refunded order's customer is not told about its parcels).
* Late, not yet shown: truly late and undelivered at T on an open order, but the carrier's
  evidence comes later (or never: a lost parcel whose scans just stop). Telling these
  customers is right (their parcel is late), so they count as correct in precision, and
  are not required for recall.
* An attention notice (the carrier reported a problem: an address to confirm, damage, a
  hold that puts the promise at risk, ...; the notice does not say it is late) is right when
  truth's ``carrier_event`` for that row is the problem it names: what it says happened. A
  problem told without a cause ("the carrier has not told us the cause") is right when the
  carrier had any event on that parcel.
* Everything else targeted is a false positive: the parcel arrives on time, was already
  delivered, or belongs to an order that is not open.
* Undecided: the world ends before the parcel is delivered and before its promised day is
  over (truth's ``outcome_known`` is false), so nobody can say whether telling its customer
  was right. Such rows are left out of precision (counted in ``undecided``); they cannot be
  relevant either.

Precision = targeted that are relevant, late-not-yet-shown or a founded attention notice /
targeted; recall = relevant targeted / relevant. ``late_precision`` is the stricter share that
is late (relevant or late-not-yet-shown): it counts every attention row of a parcel that
arrives in time as wrong. The baseline is the "carrier delay in your area" email: every open,
shipped, undelivered shipment row whose destination is in the incident's region; a row of it
is right when late, or when the carrier had any problem with the parcel (the same yardstick
as a problem told without a cause).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from notify.config import TargetingSettings, load_targeting_settings
from notify.orders import load_order_files
from notify.runs import begin_run
from notify.sql import query
from notify.store import migrate, schema

Pair = tuple[str, str]
POLL_HOURS = 6.0  # carriers polled this often before the scored times (warm-up)
WARMUP_DAYS = 3.0


@dataclass
class Score:
    world: str
    seed: int
    as_of: str
    relevant: int
    late_not_yet_shown: int
    targeted: int
    true_positives: int
    false_positives: int
    baseline_targeted: int
    baseline_correct: int
    baseline_true_positives: int
    undecided: int = 0  # targeted rows whose outcome falls after the world's end
    attention: int = 0  # targeted rows told as an attention notice (not as late)
    not_late: int = 0  # targeted rows not late (false positives plus founded attention rows)
    misses: dict[str, int] = field(default_factory=dict)  # why relevant rows were not targeted
    wrong: dict[str, int] = field(default_factory=dict)  # why false positives were wrong
    customers_notified: int = 0
    stage_seconds: float = 0.0

    @property
    def precision(self) -> float:
        return (self.targeted - self.false_positives) / self.targeted if self.targeted else 1.0

    @property
    def late_precision(self) -> float:
        return (self.targeted - self.not_late) / self.targeted if self.targeted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.relevant if self.relevant else 1.0

    @property
    def baseline_precision(self) -> float:
        b = self.baseline_targeted
        return self.baseline_correct / b if b else 1.0

    @property
    def baseline_recall(self) -> float:
        return self.baseline_true_positives / self.relevant if self.relevant else 1.0

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.update(
            precision=round(self.precision, 4),
            late_precision=round(self.late_precision, 4),
            recall=round(self.recall, 4),
            baseline_precision=round(self.baseline_precision, 4),
            baseline_recall=round(self.baseline_recall, 4),
        )
        return out


@dataclass(frozen=True)
class Truth:
    frame: pd.DataFrame  # one row per shipment row, indexed by (order_id, shipment_id)
    region: str  # the incident's region
    end_day: str  # the day after the world's span ends (YYYY-MM-DD)

    @classmethod
    def load(cls, world: Path) -> Truth:
        from notify.simulate import load_incidents, load_meta, load_truth

        truth = load_truth(world)
        raw = pd.read_csv(world / "truth" / "shipments.csv", dtype=str, keep_default_na=False)
        truth["delivered_local"] = raw["delivered_at"].str[:10]  # the day in the customer's zone
        orders = pd.read_csv(world / "orders" / "orders.csv", dtype=str, keep_default_na=False)
        frame = truth.merge(orders[["order_id", "status"]], on="order_id", how="left")
        frame["dest_region"] = frame["lane"].str.split("->").str[-1]
        incidents = load_incidents(world)
        end = datetime.fromisoformat(load_meta(world)["end"]) + timedelta(days=1)
        return cls(
            frame.set_index(["order_id", "shipment_id"]),
            str(incidents["region"].iloc[0]),
            end.date().isoformat(),
        )

    def sets(self, at: datetime) -> tuple[set[Pair], set[Pair], set[Pair]]:
        """Relevant at ``at``, late-not-yet-shown at ``at``, and the region baseline."""
        f = self.frame
        moment = pd.Timestamp(at)
        undelivered = f["delivered_at"].isna() | (f["delivered_at"] > moment)
        open_ = f["status"] == "open"
        relevant = f["customer_relevant"] & (f["evidence_at"] <= moment) & undelivered & open_
        late = f["delayed"] & undelivered & open_ & ~relevant
        shipped = f["shipped_at"] <= moment
        region = (f["dest_region"] == self.region) & shipped & undelivered & open_
        return _pairs(f[relevant]), _pairs(f[late]), _pairs(f[region])

    def undecided(self) -> set[Pair]:
        """Rows whose outcome the world does not know (undelivered, promise after its end)."""
        return _pairs(self.frame[~self.frame["outcome_known"]])

    def event(self, pair: Pair) -> str:
        """What happened to the parcel (truth's carrier_event), even when it arrived in time."""
        return str(self.frame.loc[pair]["carrier_event"]) if pair in self.frame.index else ""

    def founded(self, pair: Pair, cause: str) -> bool:
        """A problem told as ``cause`` really happened to the parcel: truth's carrier event is
        that cause, or, for a problem told without a cause ("the carrier has not told us the
        cause"), the carrier had any event on it."""
        event = self.event(pair)
        return event == cause or (cause == "unknown" and event != "")

    def with_event(self) -> set[Pair]:
        """Rows the carrier had a problem with (truth's carrier_event), late or not."""
        return _pairs(self.frame[self.frame["carrier_event"] != ""])

    def why_wrong(self, pair: Pair, at: datetime) -> str:
        if pair not in self.frame.index:
            return "not in truth"
        row = self.frame.loc[pair]
        if row["status"] != "open":
            return f"order {row['status']}"
        if pd.notna(row["delivered_at"]) and row["delivered_at"] <= pd.Timestamp(at):
            return "already delivered"
        return f"arrives on time ({row['carrier_event'] or 'no event'})"


def _pairs(frame: pd.DataFrame) -> set[Pair]:
    return {(str(o), str(s)) for o, s in frame.index}


def _payloads(world: Any, engine: Engine, as_of: datetime) -> Iterator[Any]:
    """What each carrier shows at ``as_of`` for the parcels we would poll, in its format."""
    from carriers import registry
    from carriers.fedex.client import MAX_NUMBERS_PER_REQUEST
    from notify.stages.ingest import Payload, active_tracking

    for carrier, numbers in active_tracking(engine, as_of).items():
        spec = registry.get(carrier)
        if spec.sandbox is None:
            continue
        size = MAX_NUMBERS_PER_REQUEST if carrier == "fedex" else 1
        for i in range(0, len(numbers), size):
            found = [world.tracking(carrier, n, as_of) for n in numbers[i : i + size]]
            results = [r for r in found if r is not None]
            if results:
                _status, body = spec.sandbox.respond(results, [])
                yield Payload(body, "api", f"{carrier}:score", carrier)


def targeted_pairs(engine: Engine, run_id: str, as_of: datetime) -> set[Pair]:
    """Shipment rows targeting judged affected in a run: candidates not suppressed."""
    d = schema.decisions
    with engine.connect() as conn:
        rows = conn.execute(query("affected"), {"run_id": run_id, "as_of": as_of}).all()
        refused = conn.execute(
            select(d.c.order_ids, d.c.shipment_ids).where(
                d.c.run_id == run_id, d.c.decision == "suppressed"
            )
        ).all()
    out = {(r.order_id, r.shipment_id) for r in rows}
    for r in refused:
        out -= set(zip(json.loads(r.order_ids), json.loads(r.shipment_ids), strict=False))
    return out


def attention_pairs(
    engine: Engine, run_id: str, as_of: datetime, settings: TargetingSettings
) -> dict[Pair, str]:
    """Shipment rows told as a problem, not as late, in a run, with the problem each names:
    the target stage's own rules on its candidates (an attention notice when none of the
    customer's told rows is late, else the problem parcels riding along in the delay notice)."""
    from itertools import groupby

    from notify.audience import is_problem, shape_told, tell

    with engine.connect() as conn:
        rows = conn.execute(query("affected"), {"run_id": run_id, "as_of": as_of}).all()
    out: dict[Pair, str] = {}
    for _customer, group in groupby(rows, key=lambda r: r.customer_id):
        flagged, _suppressed = tell(group, as_of, settings)
        if not flagged:
            continue
        shaped, attention = shape_told(flagged, as_of)
        out.update(
            {(r.order_id, r.shipment_id): r.cause for r in shaped if attention or is_problem(r)}
        )
    return out


def _miss_reasons(engine: Engine, run_id: str, missed: set[Pair]) -> Counter[str]:
    d = schema.decisions
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.c.order_ids, d.c.shipment_ids, d.c.reason).where(
                d.c.run_id == run_id, d.c.decision == "suppressed"
            )
        ).all()
    why: dict[Pair, str] = {}
    for r in rows:
        for pair in zip(json.loads(r.order_ids), json.loads(r.shipment_ids), strict=False):
            why[pair] = f"suppressed: {r.reason}"
    return Counter(why.get(p, "no delay episode (detection)") for p in missed)


def _oracle_stages(engine: Engine, truth: Truth, run_id: str, at: datetime) -> None:
    """Delay episodes and ETAs as perfect detection and ETA would give them at ``at``.

    An episode per tracking number whose parcel is truly late and whose evidence the carrier
    has shown by ``at``, opened at that evidence, with truth's cause; closed once delivered.
    The ETA is the real delivery day in the customer's zone, unknown if never delivered.
    """
    from notify.audience import digest

    f = truth.frame.reset_index()
    moment = pd.Timestamp(at)
    shown = f["delayed"] & f["evidence_at"].notna() & (f["evidence_at"] <= moment)
    f = f[shown].drop_duplicates(["carrier", "tracking_number"])
    episodes, etas = [], []
    for r in f.itertuples():
        opened = r.evidence_at.to_pydatetime()
        delivered = pd.notna(r.delivered_at) and r.delivered_at <= moment
        episode_id = digest([r.carrier, r.tracking_number, opened.isoformat()], "ep_")
        episodes.append({
            "episode_id": episode_id, "carrier": r.carrier, "tracking_number": r.tracking_number,
            "kind": "exception", "cause": r.cause, "opened_at": opened, "updated_at": at,
            "closed_at": at if delivered else None,
            "close_reason": "delivered" if delivered else None,
            "version": 1, "facts_hash": "", "evidence": "[]",
        })  # fmt: skip
        # Never delivered in the world's span: an arrival after its end, unless nothing is
        # coming (lost, returned to sender), which no ETA can give.
        coming = r.cause not in ("lost", "returning_to_sender", "returned_to_sender")
        day = r.delivered_local or (truth.end_day if coming else None)
        etas.append({
            "run_id": run_id, "episode_id": episode_id, "earliest": day, "latest": day,
            "most_likely": day, "confidence": 1.0 if day else None,
            "method": "oracle" if day else "unknown",
            "next_update_by": None if day else at + timedelta(hours=24),
        })  # fmt: skip
    from notify.store.ops import upsert

    with engine.begin() as conn:
        upsert(conn, schema.delay_episodes, episodes, ["episode_id"])
        upsert(conn, schema.eta_predictions, etas, ["run_id", "episode_id"])


def _poll_and_detect(sandbox: Any, engine: Engine, run_id: str, at: datetime) -> None:
    """What the carriers show at ``at``, ingested through the real parsers, then detect."""
    from notify.stages import detect, ingest

    items = list(_payloads(sandbox, engine, at))
    ingest.ingest_payloads(engine, items, run_id=run_id, stated_at=at)
    detect.detect(engine, run_id=run_id, as_of=at)


def warmup_times(first: datetime, hours: float, days: float) -> list[datetime]:
    """Poll instants every ``hours`` over the ``days`` before ``first`` (``first`` excluded)."""
    if hours <= 0 or days <= 0:
        return []
    count = int(days * 24 / hours)
    return [first - timedelta(hours=hours * k) for k in range(count, 0, -1)]


def replay(
    world: Path,
    times: Sequence[datetime],
    *,
    database_url: str | None = None,
    settings: TargetingSettings | None = None,
    oracle: bool = False,
    poll_hours: float = POLL_HOURS,
    warmup_days: float = WARMUP_DAYS,
) -> list[Score]:
    """Run the stages at each time (in order) and score each run.

    ``oracle=False``: ingest -> detect -> eta -> target, the whole chain as it runs. Before
    the first scored time the carriers are polled every ``poll_hours`` for ``warmup_days``
    (ingest and detect, not scored), as a deployment that has been running polls them: what
    the store knows, and when it learned it (the first ETA a carrier gave, a revision), is
    then what a running deployment would know, not three cold snapshots.
    ``oracle=True``: delay episodes and ETAs from truth, then target: targeting alone.
    """
    import time

    from carriers.sandbox import SandboxWorld
    from notify.simulate import load_meta
    from notify.stages import eta, target

    settings = settings or load_targeting_settings()
    seed = int(load_meta(world)["seed"])
    truth = Truth.load(world)
    sandbox = None if oracle else SandboxWorld.load(world)
    workdir = Path(tempfile.mkdtemp(prefix="oasis-score-"))
    try:  # the store is a scratch copy: removed afterwards (it grows to ~50 MB a world)
        engine = create_engine(database_url or f"sqlite:///{workdir / 'score.db'}")
        migrate(engine)
        load_order_files(engine, world / "orders")
        scores = []
        ordered = sorted(times)
        if sandbox is not None and ordered:
            for k, at in enumerate(warmup_times(ordered[0], poll_hours, warmup_days)):
                run_id = f"score-{seed}-warmup-{k}"
                begin_run(engine, run_id=run_id, as_of=at, mode="replay", params={})
                _poll_and_detect(sandbox, engine, run_id, at)
        for i, at in enumerate(ordered):
            run_id = f"score-{seed}-{i}"
            begin_run(engine, run_id=run_id, as_of=at, mode="replay", params={})
            started = time.perf_counter()
            if sandbox is None:
                _oracle_stages(engine, truth, run_id, at)
            else:
                _poll_and_detect(sandbox, engine, run_id, at)
                eta.predict(engine, run_id=run_id, as_of=at)
            result = target.target(engine, run_id=run_id, as_of=at, settings=settings)
            seconds = time.perf_counter() - started
            attention = attention_pairs(engine, run_id, at, settings)
            scores.append(
                _score(engine, truth, world, seed, run_id, at, result, seconds, attention)
            )
        engine.dispose()
        return scores
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _score(
    engine: Engine,
    truth: Truth,
    world: Path,
    seed: int,
    run_id: str,
    at: datetime,
    result: Any,
    seconds: float,
    attention: dict[Pair, str] | None = None,
) -> Score:
    relevant, late, region = truth.sets(at)
    undecided = truth.undecided()
    targeted = targeted_pairs(engine, run_id, at)
    chosen, region = targeted - undecided, region - undecided
    right = relevant | late
    told_problem = {p for p in (attention or {}) if p in chosen}
    founded = {p for p in told_problem if truth.founded(p, (attention or {})[p])}
    wrong = chosen - right - founded
    return Score(
        world=str(world),
        seed=seed,
        as_of=at.isoformat(),
        relevant=len(relevant),
        late_not_yet_shown=len(late),
        targeted=len(chosen),
        true_positives=len(chosen & relevant),
        false_positives=len(wrong),
        baseline_targeted=len(region),
        baseline_correct=len(region & (right | truth.with_event())),
        baseline_true_positives=len(region & relevant),
        undecided=len(targeted & undecided),
        attention=len(told_problem),
        not_late=len(chosen - right),
        misses=dict(_miss_reasons(engine, run_id, relevant - chosen)),
        wrong=dict(Counter(truth.why_wrong(p, at) for p in wrong)),
        customers_notified=result.affected_customers,
        stage_seconds=round(seconds, 2),
    )


def default_times(world: Path, hours: Sequence[float] = (-24.0, 0.0, 24.0)) -> list[datetime]:
    """As-of times around the world's demo moment (inside its incident)."""
    from notify.simulate import load_meta

    demo = datetime.fromisoformat(load_meta(world)["demo_as_of"])
    return [demo + timedelta(hours=h) for h in hours]
