"""Carrier parse-throughput benchmark: how fast each parser reads its carrier's wire format.

    python -m bench.parse [--payloads N] [--events-per-parcel K] [--sample-repeats R] [--seed S]

For every carrier with a sandbox codec, deterministic parcels (K events each, statuses and
reasons the codec can express, US locations in their own time zones, an ETA) are encoded
with the codec's ``respond`` into the carrier's real wire format, as many tracking numbers
per body as the carrier's client asks for in one request. Only ``spec.parse(body)`` is timed,
after an untimed warm-up pass that also checks every parsed status and reason against what
was encoded, so a benchmark of failing parses cannot pass unnoticed. File-drop formats
(every sample in tests/fixtures/carrier_samples/, grouped by the carrier ``detect`` finds)
are timed by parsing each sample repeatedly. Prints a table and writes
``bench/results/parse.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from bench.measure import Step, measured
from carriers import registry
from carriers.models import (
    EstimatedDelivery,
    Location,
    PayloadError,
    TrackingEvent,
    TrackingResult,
)
from carriers.registry import CarrierSpec
from carriers.taxonomy import Reason, Status

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SAMPLES = ROOT / "tests" / "fixtures" / "carrier_samples"

Pair = tuple[Status, Reason | None]

# Where a client's batch size lives: (module, constant). Carriers not listed ask one number
# per request (their codec's match() returns at most one number, or one path per number).
_BATCH_CONSTANTS: dict[str, tuple[str, str]] = {
    "fedex": ("carriers.fedex.client", "MAX_NUMBERS_PER_REQUEST"),
    "easypost": ("carriers.easypost.client", "BATCH_SIZE"),
    "aftership": ("carriers.aftership.client", "BATCH_SIZE"),
}
# Aggregators report the carrier that moves the parcel.
_AGGREGATED = ("usps", "ups", "fedex")
_AGGREGATORS = frozenset({"easypost", "aftership"})
_NUMBER_FORMATS: dict[str, str] = {
    "fedex": "77{:010d}",
    "ups": "1ZBENCH{:011d}",
    "usps": "9400{:018d}",
    "dhl": "{:010d}",
}


@dataclass(frozen=True)
class Place:
    location: Location
    zone: ZoneInfo


PLACES: tuple[Place, ...] = tuple(
    Place(Location(city, state, postal, "US"), ZoneInfo(zone))
    for city, state, postal, zone in (
        ("NEW YORK", "NY", "10001", "America/New_York"),
        ("CHICAGO", "IL", "60601", "America/Chicago"),
        ("DENVER", "CO", "80202", "America/Denver"),
        ("PHOENIX", "AZ", "85004", "America/Phoenix"),
        ("LOS ANGELES", "CA", "90012", "America/Los_Angeles"),
        ("ATLANTA", "GA", "30303", "America/New_York"),
        ("DALLAS", "TX", "75201", "America/Chicago"),
        ("SEATTLE", "WA", "98101", "America/Los_Angeles"),
    )
)
_PROBE_STATUSES = tuple(s for s in Status if s not in (Status.PENDING, Status.UNKNOWN))


@dataclass(frozen=True)
class Payload:
    """One encoded response body and the (number, status, reason) each result must parse to."""

    body: bytes
    expected: tuple[tuple[str, Status, Reason | None], ...]


def batch_size(carrier: str) -> int:
    where = _BATCH_CONSTANTS.get(carrier)
    if where is None:
        return 1
    size: int = getattr(importlib.import_module(where[0]), where[1])
    return size


def _event(moment: datetime, pair: Pair, place: Place) -> TrackingEvent:
    status, reason = pair
    text = f"{status.value} {reason.value}" if reason else status.value
    return TrackingEvent(moment, status, reason, "", text, place.location)


def _round_trips(spec: CarrierSpec, result: TrackingResult) -> bool:
    assert spec.sandbox is not None
    code, body = spec.sandbox.respond([result], [])
    if code != 200:
        return False
    try:
        parsed = spec.parse(body)
    except PayloadError:
        return False
    return [(r.status, r.reason, [(e.status, e.reason) for e in r.events]) for r in parsed] == [
        (result.status, result.reason, [(e.status, e.reason) for e in result.events])
    ]


def expressible(spec: CarrierSpec) -> list[Pair]:
    """Every (status, reason) this carrier's codec writes and its parser reads back unchanged."""
    place = PLACES[1]
    older = datetime(2026, 3, 2, 8, 30, tzinfo=place.zone)
    newest = datetime(2026, 3, 3, 14, 5, tzinfo=place.zone)
    carrier = "ups" if spec.name in _AGGREGATORS else spec.name
    pairs: list[Pair] = []
    for status in _PROBE_STATUSES:
        for reason in (None, *Reason):
            events = (_event(newest, (status, reason), place), _event(older, _TRANSIT, place))
            delivered = newest if status is Status.DELIVERED else None
            probe = TrackingResult(
                carrier, "PROBE1", status, reason, delivered_at=delivered, events=events
            )
            if _round_trips(spec, probe):
                pairs.append((status, reason))
    return pairs


_TRANSIT: Pair = (Status.IN_TRANSIT, None)


def _path(final: Pair, count: int, pairs: Sequence[Pair]) -> list[Pair]:
    """Oldest first: label created, moving through the network, then the final state."""
    first: Pair = (Status.INFO_RECEIVED, None)
    body = [first if first in pairs else _TRANSIT] + [_TRANSIT] * max(count - 2, 0)
    ofd: Pair = (Status.OUT_FOR_DELIVERY, None)
    if final[0] is Status.DELIVERED and count >= 4 and ofd in pairs:
        body[-1] = ofd
    return [*body, final] if count > 1 else [final]


def _eta(rng: random.Random, last: datetime, place: Place, kind: int) -> EstimatedDelivery:
    day = (last + timedelta(days=rng.randint(1, 3))).date()
    if kind == 0:
        return EstimatedDelivery(day, day)
    if kind == 1:
        return EstimatedDelivery(day, day + timedelta(days=2))
    start = datetime(day.year, day.month, day.day, 9, tzinfo=place.zone)
    return EstimatedDelivery(start, start + timedelta(hours=4))


def parcel(
    rng: random.Random, carrier: str, number: str, final: Pair, pairs: Sequence[Pair], k: int
) -> TrackingResult:
    """One parcel's tracking: ``k`` events (newest first) ending in ``final``."""
    moment = datetime(2026, 3, 2, 6, 0, tzinfo=PLACES[0].zone) + timedelta(
        minutes=rng.randrange(0, 60 * 24 * 20)
    )
    events: list[TrackingEvent] = []
    place = rng.choice(PLACES)
    for pair in _path(final, k, pairs):
        place = rng.choice(PLACES)
        moment = (moment + timedelta(minutes=rng.randrange(90, 600))).astimezone(place.zone)
        events.append(_event(moment.replace(second=0, microsecond=0), pair, place))
    events.reverse()
    delivered = final[0] is Status.DELIVERED
    eta = None if delivered else _eta(rng, events[0].occurred_at, place, rng.randrange(3))
    return TrackingResult(
        carrier,
        number,
        final[0],
        final[1],
        estimated_delivery=eta,
        delivered_at=events[0].occurred_at if delivered else None,
        events=tuple(events),
    )


def generate(spec: CarrierSpec, payloads: int, k: int, seed: int) -> list[Payload]:
    """``payloads`` encoded bodies of this carrier, deterministic for a seed."""
    assert spec.sandbox is not None
    pairs = expressible(spec)
    if not pairs:
        raise RuntimeError(f"{spec.name}: the sandbox codec round-trips no status at all")
    rng = random.Random(f"{seed}:{spec.name}")
    rng.shuffle(pairs)  # cycled through, so every pair appears once per len(pairs) parcels
    per_body = batch_size(spec.name)
    template = _NUMBER_FORMATS.get(spec.name, "BENCH{:012d}")
    out: list[Payload] = []
    index = 0
    for _ in range(payloads):
        found = []
        for _ in range(per_body):
            carrier = _AGGREGATED[index % 3] if spec.name in _AGGREGATORS else spec.name
            final = pairs[index % len(pairs)]
            found.append(parcel(rng, carrier, template.format(index), final, pairs, k))
            index += 1
        code, body = spec.sandbox.respond(found, [])
        if code != 200:
            raise RuntimeError(f"{spec.name}: the sandbox codec answered HTTP {code}")
        expected = tuple((r.tracking_number, r.status, r.reason) for r in found)
        out.append(Payload(body, expected))
    return out


def mismatches(parse: Callable[[bytes], list[TrackingResult]], payload: Payload) -> list[str]:
    """What in this body does not parse back to the encoded numbers, statuses and reasons."""
    got = sorted((r.tracking_number, r.status, r.reason) for r in parse(payload.body))
    want = sorted(payload.expected)
    if got == want:
        return []
    return [f"sent {w}, parsed {g}" for w, g in zip(want, got, strict=False) if w != g] or [
        f"sent {len(want)} results, parsed {len(got)}"
    ]


def _timed_parse(name: str, parse: Callable[[bytes], list[TrackingResult]], bodies: list[bytes],
                 repeats: int) -> Step:  # fmt: skip
    with measured(name) as step:
        events = 0
        for _ in range(repeats):
            for body in bodies:
                for result in parse(body):
                    events += len(result.events)
    step.rows = len(bodies) * repeats
    step.detail["events"] = events
    return step


def bench_codec(spec: CarrierSpec, payloads: int, k: int, seed: int) -> dict[str, Any]:
    """Generate, verify (untimed warm-up) and time one carrier's parser on codec output."""
    data = generate(spec, payloads, k, seed)
    bad = [m for p in data for m in mismatches(spec.parse, p)]
    if bad:
        raise RuntimeError(f"{spec.name}: {len(bad)} parse mismatches, first: {bad[0]}")
    bodies = [p.body for p in data]
    step = _timed_parse(spec.name, spec.parse, bodies, 1)
    return _row(spec.name, "codec", step, bodies, results=sum(len(p.expected) for p in data))


def _row(
    name: str, source: str, step: Step, bodies: Sequence[bytes], results: int
) -> dict[str, Any]:
    events = int(step.detail["events"])
    return {
        "carrier": name,
        "source": source,
        "payloads": step.rows,
        "results": results,
        "events": events,
        "results_per_payload": round(results / step.rows, 2) if step.rows else 0.0,
        "seconds": round(step.seconds, 4),
        "payloads_per_second": round(step.rows_per_second, 1),
        "events_per_second": round(events / step.seconds, 1) if step.seconds > 0 else 0.0,
        "mean_payload_kb": round(sum(map(len, bodies)) / len(bodies) / 1024, 2),
        "peak_rss_mb": round(step.peak_rss_mb, 1),
    }


def sample_groups(folder: Path = SAMPLES) -> dict[tuple[str, str], list[bytes]]:
    """Every sample payload under ``folder``, by the carrier that recognises it and format."""
    groups: dict[tuple[str, str], list[bytes]] = {}
    for path in sorted(folder.glob("*")):
        if path.suffix not in (".json", ".xml"):
            continue
        body = path.read_bytes()
        try:
            spec = registry.detect(body)
        except PayloadError:
            continue  # not a carrier payload (README-like data); nothing to time
        groups.setdefault((spec.name, path.suffix.lstrip(".")), []).append(body)
    return groups


def bench_samples(repeats: int, folder: Path = SAMPLES) -> Iterator[dict[str, Any]]:
    """Time each carrier's parser on its real samples, each parsed ``repeats`` times."""
    for (name, fmt), bodies in sorted(sample_groups(folder).items()):
        spec = registry.get(name)
        for body in bodies:
            spec.parse(body)  # warm-up; a sample that cannot be read fails loudly here
        step = _timed_parse(f"samples:{name}:{fmt}", spec.parse, bodies, repeats)
        results = sum(len(spec.parse(b)) for b in bodies) * repeats
        plural = "s" if len(bodies) != 1 else ""
        yield _row(name, f"{len(bodies)} {fmt} sample{plural}", step, bodies, results)


def run(payloads: int, k: int, seed: int, sample_repeats: int) -> list[dict[str, Any]]:
    rows = [
        bench_codec(spec, payloads, k, seed)
        for spec in registry.all_carriers()
        if spec.sandbox is not None
    ]
    rows.extend(bench_samples(sample_repeats))
    return rows


def _table(rows: list[dict[str, Any]], k: int) -> Table:
    table = Table(title=f"Carrier parse throughput ({k} events per generated parcel)")
    for column in ("carrier", "source", "payloads", "results/payload", "payloads/s",
                   "events/s", "KB/payload", "peak RSS MB"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("carrier", "source") else "right")
    for row in rows:
        table.add_row(
            row["carrier"],
            row["source"],
            f"{row['payloads']:,}",
            f"{row['results_per_payload']:g}",
            f"{row['payloads_per_second']:,.0f}",
            f"{row['events_per_second']:,.0f}",
            f"{row['mean_payload_kb']:.1f}",
            f"{row['peak_rss_mb']:.0f}",
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parse", description=__doc__)
    parser.add_argument("--payloads", type=int, default=400, help="bodies per codec carrier")
    parser.add_argument("--events-per-parcel", type=int, default=8)
    parser.add_argument("--sample-repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.payloads < 1 or args.events_per_parcel < 1 or args.sample_repeats < 1:
        parser.error("--payloads, --events-per-parcel and --sample-repeats must be at least 1")
    rows = run(args.payloads, args.events_per_parcel, args.seed, args.sample_repeats)
    console = Console(width=120)
    console.print(_table(rows, args.events_per_parcel))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "parse.json"
    settings = {
        "payloads": args.payloads,
        "events_per_parcel": args.events_per_parcel,
        "sample_repeats": args.sample_repeats,
        "seed": args.seed,
    }
    out.write_text(json.dumps({"settings": settings, "rows": rows}, indent=2) + "\n")
    console.print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
