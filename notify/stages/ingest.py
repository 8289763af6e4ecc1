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
from notify.store import schema
from notify.store.ops import insert_new

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


def _store_raw(conn: Connection, body: bytes, **fields: Any) -> tuple[int, bool]:
    digest = hashlib.sha256(body).hexdigest()
    existing = conn.execute(
        select(schema.raw_payloads.c.payload_id).where(schema.raw_payloads.c.sha256 == digest)
    ).scalar()
    if existing is not None:
        return int(existing), False
    payload_id = conn.execute(
        schema.raw_payloads.insert().values(sha256=digest, body=body, **fields)
    ).inserted_primary_key
    assert payload_id is not None
    return int(payload_id[0]), True


def _event_rows(r: TrackingResult, payload_id: int, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "carrier": r.carrier,
            "tracking_number": r.tracking_number,
            "occurred_at": e.occurred_at,
            "local_time": e.occurred_at.isoformat(),
            "status": e.status.value,
            "reason": e.reason.value if e.reason else None,
            "code": e.code[:60],
            "description": e.description,
            "city": e.location.city,
            "region": e.location.region,
            "postal_code": e.location.postal_code,
            "country": e.location.country,
            "payload_id": payload_id,
            "first_seen_at": now,
        }
        for e in r.events
    ]


def _apply(
    conn: Connection, results: list[TrackingResult], payload_id: int, stated_at: datetime
) -> IngestResult:
    out = IngestResult(results=len(results))
    events: list[dict[str, Any]] = []
    etas: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for r in results:
        events.extend(_event_rows(r, payload_id, stated_at))
        out.unknown_codes.update(f"{r.carrier}:{code}" for code in r.unknown_codes)
        if r.tracking_number and not r.problems:
            eta = r.estimated_delivery
            etas.append(
                {
                    "carrier": r.carrier,
                    "tracking_number": r.tracking_number,
                    "stated_at": stated_at,
                    "earliest": eta.earliest.isoformat() if eta else None,
                    "latest": eta.latest.isoformat() if eta else None,
                    "payload_id": payload_id,
                }
            )
        for p in r.problems:
            out.problems[p.kind.value] += 1
            problems.append(
                {
                    "carrier": r.carrier,
                    "tracking_number": r.tracking_number,
                    "kind": p.kind.value,
                    "code": p.code[:60],
                    "message": p.message,
                    "payload_id": payload_id,
                }
            )
    key = ["carrier", "tracking_number", "occurred_at", "code", "status"]
    out.new_events = insert_new(conn, schema.tracking_events, events, key)
    insert_new(conn, schema.eta_statements, etas, ["carrier", "tracking_number", "stated_at"])
    insert_new(
        conn, schema.tracking_problems, problems, ["payload_id", "tracking_number", "kind", "code"]
    )
    return out


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
    with engine.begin() as conn:
        for item, source, results, error in parsed:
            payload_id, is_new = _store_raw(
                conn,
                item.body,
                source=source,
                origin=item.origin,
                origin_ref=item.origin_ref,
                received_at=stated_at,
                run_id=run_id,
                parse_status="error" if error else "parsed",
                parse_error=error,
            )
            out.new_payloads += int(is_new)
            if error:
                out.parse_errors += 1
                log.warning("payload %s (%s) not parsed: %s", payload_id, item.origin_ref, error)
                continue
            applied = _apply(conn, results, payload_id, stated_at)
            applied.payloads = applied.new_payloads = applied.parse_errors = 0
            out.add(applied)
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
