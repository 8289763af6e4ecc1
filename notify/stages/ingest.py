"""Ingest: carrier payloads in, kept raw, parsed, events upserted.

Every payload is stored exactly as received before it is parsed (``raw_payloads``, unique
on its SHA-256), so parsing can be re-run. A payload that cannot be parsed stays with its
error and the rest of the run goes on; one tracking number with a problem is a row in
``tracking_problems``. Events are inserted once per natural key, whatever the replays.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from carriers import registry
from carriers.models import PayloadError, TrackingResult
from notify.sql import query
from notify.store import bulk, schema

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    payloads: int = 0
    new_payloads: int = 0
    parse_errors: int = 0
    results: int = 0
    new_events: int = 0
    unknown_codes: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)

    def add(self, other: IngestResult) -> None:
        self.payloads += other.payloads
        self.new_payloads += other.new_payloads
        self.parse_errors += other.parse_errors
        self.results += other.results
        self.new_events += other.new_events
        self.unknown_codes.update(other.unknown_codes)
        self.problems.update(other.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payloads": self.payloads,
            "new_payloads": self.new_payloads,
            "parse_errors": self.parse_errors,
            "results": self.results,
            "new_events": self.new_events,
            "unknown_codes": dict(self.unknown_codes),
            "problems": dict(self.problems),
        }


EVENT_COLUMNS = [
    "carrier", "tracking_number", "occurred_at", "local_time", "status", "reason", "code",
    "description", "city", "region", "postal_code", "country", "payload_id", "first_seen_at",
    "departed",
]  # fmt: skip
EVENT_KEY = ["carrier", "tracking_number", "occurred_at", "code", "status"]
ETA_COLUMNS = ["carrier", "tracking_number", "stated_at", "earliest", "latest", "payload_id"]
ETA_KEY = ["carrier", "tracking_number", "stated_at"]
PROBLEM_COLUMNS = ["carrier", "tracking_number", "kind", "code", "message", "payload_id"]
PROBLEM_KEY = ["payload_id", "tracking_number", "kind", "code"]
RAW_COLUMNS = [
    "sha256", "body", "source", "origin", "origin_ref", "received_at", "run_id",
    "parse_status", "parse_error",
]  # fmt: skip
_LOOKUP = 500  # digests per IN (...) query


def _payload_ids(conn: Connection, digests: set[str]) -> dict[str, int]:
    raw = schema.raw_payloads
    found: dict[str, int] = {}
    ordered = sorted(digests)
    for i in range(0, len(ordered), _LOOKUP):
        part = ordered[i : i + _LOOKUP]
        query_ = select(raw.c.sha256, raw.c.payload_id).where(raw.c.sha256.in_(part))
        found.update((digest, int(pid)) for digest, pid in conn.execute(query_))
    return found


def _store_raw_many(conn: Connection, payloads: list[dict[str, Any]]) -> tuple[list[int], int]:
    """Keep every body as received (once per SHA-256): the payload id of each, in order,
    and how many bodies were new. ``payloads``: ``body`` plus the other raw_payloads fields."""
    digests = [hashlib.sha256(p["body"]).hexdigest() for p in payloads]
    ids = _payload_ids(conn, set(digests))
    unseen = [(d, p) for d, p in zip(digests, payloads, strict=True) if d not in ids]
    rows = [(d, *(p.get(c) for c in RAW_COLUMNS[1:])) for d, p in unseen]
    new = bulk.insert_new(conn, schema.raw_payloads, RAW_COLUMNS, rows, ["sha256"])
    if unseen:
        ids.update(_payload_ids(conn, {d for d, _p in unseen}))
    return [ids[d] for d in digests], new


def _store_raw(conn: Connection, body: bytes, **fields: Any) -> tuple[int, bool]:
    """One body kept as received: its payload id, and whether it was new."""
    ids, new = _store_raw_many(conn, [{"body": body, **fields}])
    return ids[0], new == 1


@dataclass
class _Rows:
    """What one batch of parsed payloads says, as rows for the three tables."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    etas: list[tuple[Any, ...]] = field(default_factory=list)
    problems: list[tuple[Any, ...]] = field(default_factory=list)


def _collect(
    rows: _Rows, results: list[TrackingResult], payload_id: int, stated_at: datetime
) -> IngestResult:
    out = IngestResult(results=len(results))
    for r in results:
        rows.events.extend(
            (r.carrier, r.tracking_number, e.occurred_at, e.occurred_at.isoformat(),
             e.status.value, e.reason.value if e.reason else None, e.code[:60], e.description,
             e.location.city, e.location.region, e.location.postal_code, e.location.country,
             payload_id, stated_at, e.departed)
            for e in r.events
        )  # fmt: skip
        out.unknown_codes.update(f"{r.carrier}:{code}" for code in r.unknown_codes)
        if r.tracking_number and not r.problems:
            eta = r.estimated_delivery
            rows.etas.append(
                (r.carrier, r.tracking_number, stated_at,
                 eta.earliest.isoformat() if eta else None,
                 eta.latest.isoformat() if eta else None, payload_id)
            )  # fmt: skip
        for p in r.problems:
            out.problems[p.kind.value] += 1
            rows.problems.append(
                (r.carrier, r.tracking_number, p.kind.value, p.code[:60], p.message, payload_id)
            )
    return out


def _write(conn: Connection, rows: _Rows) -> int:
    """One bulk write per table; returns how many events were new."""
    new_events = bulk.insert_new(
        conn, schema.tracking_events, EVENT_COLUMNS, rows.events, EVENT_KEY
    )
    bulk.insert_new(conn, schema.eta_statements, ETA_COLUMNS, rows.etas, ETA_KEY)
    bulk.insert_new(conn, schema.tracking_problems, PROBLEM_COLUMNS, rows.problems, PROBLEM_KEY)
    return new_events


@dataclass(frozen=True)
class Payload:
    body: bytes
    origin: str  # api | file | webhook
    origin_ref: str
    carrier: str | None = None  # None: recognise the carrier from the content


def _parse(item: Payload) -> tuple[str, list[TrackingResult], str | None]:
    try:
        spec = registry.get(item.carrier) if item.carrier else registry.detect(item.body)
        return spec.name, spec.parse(item.body), None
    except PayloadError as exc:
        return item.carrier or "unknown", [], str(exc)
    except Exception as exc:  # a parser fault on one payload must not stop the run
        log.exception("parser failed on %s", item.origin_ref)
        return item.carrier or "unknown", [], f"parser failed: {type(exc).__name__}: {exc}"


def ingest_payloads(
    engine: Engine,
    payloads: Iterable[Payload],
    *,
    run_id: str | None,
    stated_at: datetime,
    batch: int = 200,
) -> IngestResult:
    """Keep each payload raw, then parse it and apply what it says.

    Payloads are committed in batches (one transaction per ``batch`` payloads); within a
    batch every raw body is stored before anything parsed from it.
    """
    total = IngestResult()
    pending: list[Payload] = []
    for item in payloads:
        pending.append(item)
        if len(pending) >= batch:
            total.add(_ingest_batch(engine, pending, run_id, stated_at))
            pending = []
    if pending:
        total.add(_ingest_batch(engine, pending, run_id, stated_at))
    return total


def _ingest_batch(
    engine: Engine, items: list[Payload], run_id: str | None, stated_at: datetime
) -> IngestResult:
    out = IngestResult(payloads=len(items))
    parsed = [(item, *_parse(item)) for item in items]
    raw = [
        {
            "body": item.body,
            "source": source,
            "origin": item.origin,
            "origin_ref": item.origin_ref,
            "received_at": stated_at,
            "run_id": run_id,
            "parse_status": "error" if error else "parsed",
            "parse_error": error,
        }
        for item, source, _results, error in parsed
    ]
    rows = _Rows()
    with engine.begin() as conn:
        payload_ids, out.new_payloads = _store_raw_many(conn, raw)
        for (item, _source, results, error), payload_id in zip(parsed, payload_ids, strict=True):
            if error:
                out.parse_errors += 1
                log.warning("payload %s (%s) not parsed: %s", payload_id, item.origin_ref, error)
                continue
            out.add(_collect(rows, results, payload_id, stated_at))
        out.new_events = _write(conn, rows)
    return out


def ingest_payload(
    engine: Engine,
    body: bytes,
    *,
    origin: str,
    origin_ref: str,
    run_id: str | None,
    stated_at: datetime,
    carrier: str | None = None,
) -> IngestResult:
    """One payload (a webhook body, an uploaded file): kept raw, parsed, applied."""
    item = Payload(body, origin, origin_ref, carrier)
    return ingest_payloads(engine, [item], run_id=run_id, stated_at=stated_at)


def ingest_tracking_dir(
    engine: Engine, directory: Path, *, run_id: str | None, as_of: datetime
) -> IngestResult:
    """A drop folder: one API response or webhook body per file, carrier from the content."""
    if not directory.is_dir():
        raise FileNotFoundError(f"tracking folder {directory} does not exist")
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    items = (Payload(p.read_bytes(), "file", str(p.relative_to(directory))) for p in files)
    return ingest_payloads(engine, items, run_id=run_id, stated_at=as_of)


def active_tracking(engine: Engine, as_of: datetime) -> dict[str, list[str]]:
    """Tracking numbers of open orders not delivered as of ``as_of``, per carrier."""
    by_carrier: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for carrier, number in conn.execute(query("active_tracking"), {"as_of": as_of}):
            by_carrier.setdefault(carrier, []).append(number)
    return by_carrier


def poll_carriers(
    engine: Engine,
    *,
    run_id: str | None,
    as_of: datetime,
    carriers: Iterable[str],
    client_for: Callable[[str], registry.TrackingClient],
) -> IngestResult:
    """Ask each carrier's API about its active tracking numbers and ingest the answers."""
    wanted = set(carriers)
    total = IngestResult()
    for carrier, numbers in active_tracking(engine, as_of).items():
        if carrier not in wanted:
            continue
        bodies = client_for(carrier).track(numbers)
        items = (Payload(body, "api", f"{carrier}:track", carrier) for body in bodies)
        total.add(ingest_payloads(engine, items, run_id=run_id, stated_at=as_of))
    return total
