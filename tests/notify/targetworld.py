"""A small world builder for targeting tests: order files plus delay episodes and ETAs.

Targeting is tested on the episodes and ETAs it is handed (written here directly, as detect
and eta would write them), so these tests pin the targeting rules, not detection.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from notify.config import TargetingSettings
from notify.orders import load_order_files
from notify.stages import target
from notify.store import schema
from notify.store.ops import upsert

# Thursday 2026-11-19 18:00 UTC = 12:00 in Chicago: inside every US SMS window.
AS_OF = datetime(2026, 11, 19, 18, tzinfo=UTC)
CUSTOMER_COLUMNS = ["customer_id", "first_name", "last_name", "email", "phone", "locale",
                    "timezone", "email_opt_in", "sms_opt_in"]  # fmt: skip
ORDER_COLUMNS = ["order_id", "customer_id", "placed_at", "promised_by", "status", "channel",
                 "need_by", "order_value"]  # fmt: skip
LINE_COLUMNS = ["order_id", "line_id", "sku", "title", "quantity", "shipment_id"]
SHIPMENT_COLUMNS = ["shipment_id", "order_id", "carrier", "tracking_number", "service",
                    "shipped_at", "origin_postal_code", "destination_postal_code",
                    "destination_country"]  # fmt: skip


@dataclass
class World:
    """Rows of the four order files; add to them, then ``load``."""

    customers: list[dict[str, str]] = field(default_factory=list)
    orders: list[dict[str, str]] = field(default_factory=list)
    lines: list[dict[str, str]] = field(default_factory=list)
    shipments: list[dict[str, str]] = field(default_factory=list)

    def customer(self, cid: str, **kw: str) -> World:
        row = {"customer_id": cid, "first_name": f"Name{cid}", "last_name": "Test",
               "email": f"{cid.lower()}@example.com", "phone": "+13125550101",
               "locale": "en-US", "timezone": "America/Chicago", "email_opt_in": "true",
               "sms_opt_in": "true"}  # fmt: skip
        row.update(kw)
        self.customers.append(row)
        return self

    def order(self, oid: str, cid: str, promised: str = "2026-11-20", **kw: str) -> World:
        row = {"order_id": oid, "customer_id": cid, "placed_at": "2026-11-16T10:00:00-06:00",
               "promised_by": promised, "status": "open", "channel": "web", "need_by": "",
               "order_value": ""}  # fmt: skip
        row.update(kw)
        self.orders.append(row)
        return self

    def parcel(self, sid: str, oid: str, number: str, *items: str, **kw: str) -> World:
        row = {"shipment_id": sid, "order_id": oid, "carrier": "fedex",
               "tracking_number": number, "service": "FedEx Ground",
               "shipped_at": "2026-11-16T15:00:00-06:00", "origin_postal_code": "38118",
               "destination_postal_code": "60601", "destination_country": "US"}  # fmt: skip
        row.update(kw)
        self.shipments.append(row)
        for i, title in enumerate(items):
            line = f"L{len(self.lines) + 1}"
            self.lines.append({"order_id": oid, "line_id": line, "sku": f"SKU-{line}",
                               "title": title, "quantity": str(i + 1), "shipment_id": sid})  # fmt: skip
        return self

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"customers": (CUSTOMER_COLUMNS, self.customers),
                  "orders": (ORDER_COLUMNS, self.orders),
                  "order_lines": (LINE_COLUMNS, self.lines),
                  "shipments": (SHIPMENT_COLUMNS, self.shipments)}  # fmt: skip
        for name, (columns, rows) in tables.items():
            with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
        return folder

    def load(self, engine: Engine, folder: Path) -> None:
        result = load_order_files(engine, self.write(folder))
        assert not result.rejected, result.rejected


def episode(
    engine: Engine,
    number: str,
    cause: str = "weather",
    *,
    kind: str = "exception",
    opened: datetime | None = None,
    closed: datetime | None = None,
    close_reason: str | None = None,
    carrier: str = "fedex",
) -> str:
    opened = opened or AS_OF - timedelta(hours=20)
    eid = (
        "ep_" + hashlib.sha256(f"{carrier}|{number}|{opened.isoformat()}".encode()).hexdigest()[:24]
    )
    with engine.begin() as conn:
        upsert(conn, schema.delay_episodes, [{
            "episode_id": eid, "carrier": carrier, "tracking_number": number, "kind": kind,
            "cause": cause, "opened_at": opened, "updated_at": opened, "closed_at": closed,
            "close_reason": close_reason, "version": 1, "facts_hash": "x",
            "evidence": json.dumps([])}], ["episode_id"])  # fmt: skip
    return eid


def close(engine: Engine, eid: str, at: datetime, reason: str = "delivered") -> None:
    t = schema.delay_episodes
    with engine.begin() as conn:
        conn.execute(
            update(t).where(t.c.episode_id == eid).values(closed_at=at, close_reason=reason)
        )


def eta(engine: Engine, run_id: str, eid: str, latest: str | None, earliest: str | None = None,
        next_update_by: datetime | None = None, p_late: float | None = None) -> None:  # fmt: skip
    row = {"run_id": run_id, "episode_id": eid, "earliest": earliest or latest, "p_late": p_late,
           "latest": latest, "most_likely": earliest or latest,
           "confidence": 0.9 if latest else None,
           "method": "carrier_stated" if latest else "unknown",
           "next_update_by": None if latest else (next_update_by or AS_OF + timedelta(hours=24))}  # fmt: skip
    with engine.begin() as conn:
        upsert(conn, schema.eta_predictions, [row], ["run_id", "episode_id"])


def statement(engine: Engine, number: str, latest: str | None, *,
              stated_at: datetime | None = None, carrier: str = "fedex") -> None:  # fmt: skip
    """The carrier's ETA statement for a parcel (``latest`` None: the ETA is withdrawn)."""
    with engine.begin() as conn:
        conn.execute(schema.eta_statements.insert().values(
            carrier=carrier, tracking_number=number,
            stated_at=stated_at or AS_OF - timedelta(hours=6),
            earliest=latest, latest=latest))  # fmt: skip


def scan(engine: Engine, number: str, status: str = "in_transit", *,
         at: datetime | None = None, carrier: str = "fedex", postal: str | None = None,
         reason: str | None = None) -> None:  # fmt: skip
    """A tracking scan of a parcel (default: in transit, 4 h before the run's time; a
    "delivered" scan is a delivery), optionally at a postal code and with a reason."""
    at = at or AS_OF - timedelta(hours=4)
    with engine.begin() as conn:
        conn.execute(schema.tracking_events.insert().values(
            carrier=carrier, tracking_number=number, occurred_at=at,
            local_time=at.isoformat(), status=status, reason=reason, postal_code=postal,
            code="DL" if status == "delivered" else "IT", description=status.replace("_", " "),
            first_seen_at=at))  # fmt: skip


def begin(engine: Engine, run_id: str, as_of: datetime = AS_OF) -> None:
    # started_at is the wall clock, as for a real run (sends expire by it); as_of is world time.
    with engine.begin() as conn:
        upsert(conn, schema.runs, [{"run_id": run_id, "as_of": as_of,
               "started_at": datetime.now(UTC),
               "mode": "send", "status": "running", "params": "{}", "summary": "{}"}],
               ["run_id"])  # fmt: skip


def run(engine: Engine, run_id: str, as_of: datetime = AS_OF,
        settings: TargetingSettings | None = None) -> target.TargetResult:  # fmt: skip
    begin(engine, run_id, as_of)
    return target.target(engine, run_id=run_id, as_of=as_of, settings=settings or SETTINGS)


SETTINGS = TargetingSettings()


def notices(engine: Engine, run_id: str) -> dict[str, dict]:
    """customer -> plan of the notice linked to the run (what compose will get)."""
    n, rn = schema.notices, schema.run_notices
    with engine.connect() as conn:
        rows = conn.execute(
            select(n.c.notice_id, n.c.customer_id, n.c.plan, rn.c.channels)
            .join(rn, rn.c.notice_id == n.c.notice_id)
            .where(rn.c.run_id == run_id)
        ).all()
    out = {}
    for r in rows:
        plan = json.loads(r.plan)
        plan["notice_id"] = r.notice_id
        plan["linked_channels"] = json.loads(r.channels)
        out[r.customer_id] = plan
    return out


def decisions(engine: Engine, run_id: str) -> list[dict]:
    d = schema.decisions
    with engine.connect() as conn:
        rows = conn.execute(select(d).where(d.c.run_id == run_id).order_by(d.c.decision_id)).all()
    out = []
    for r in rows:
        row = dict(r._mapping)
        row["order_ids"] = json.loads(r.order_ids)
        row["shipment_ids"] = json.loads(r.shipment_ids)
        out.append(row)
    return out


def mark_sent(engine: Engine, run_id: str, notice_id: str, customer_id: str, channel: str = "email",
              as_of: datetime = AS_OF, order_ids: tuple[str, ...] = ()) -> None:  # fmt: skip
    """What the send stage records when a notice went out (for cap and follow-up tests)."""
    from notify import decisions as dec

    begin(engine, run_id, as_of)
    row = dec.row(run_id=run_id, notice_id=notice_id, customer_id=customer_id,
                  order_ids=list(order_ids), shipment_ids=[], channel=channel, decision="sent",
                  reason="sent", eta={}, cause=None)  # fmt: skip
    with engine.begin() as conn:
        dec.record(conn, [row])
