"""Decision rows: every notified / not notified outcome with its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from notify.store import schema
from notify.store.ops import upsert

KEY = ["run_id", "customer_id", "notice_id", "channel", "decision"]
DECISIONS = (
    "sent",
    "deferred",
    "suppressed",
    "no_channel",
    "escalated",
    "quarantined",
    "blocked",
)


def for_notice(
    run_id: str,
    facts: dict[str, Any],
    channel: str,
    decision: str,
    reason: str,
    message_path: str | None = None,
) -> dict[str, Any]:
    """A decision row about one rendered notice in one channel."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    eta = facts.get("eta") or {}
    orders = facts.get("orders", [])
    return {
        "run_id": run_id,
        "notice_id": facts["notice_id"],
        "customer_id": facts["customer_id"],
        "order_ids": json.dumps([o["order_id"] for o in orders]),
        "shipment_ids": json.dumps(facts.get("shipment_ids", [])),
        "channel": channel,
        "decision": decision,
        "reason": reason,
        "eta_earliest": eta.get("earliest"),
        "eta_latest": eta.get("latest"),
        "eta_confidence": eta.get("confidence"),
        "cause": facts.get("cause"),
        "message_path": message_path,
        "created_at": datetime.now(UTC),
    }


def record(conn: Connection, rows: list[dict[str, Any]]) -> None:
    upsert(conn, schema.decisions, rows, KEY)
