"""Decision rows: every notified / not notified outcome with its reason."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
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
    eta = facts.get("eta") or {}
    return row(
        run_id=run_id,
        notice_id=facts["notice_id"],
        customer_id=facts["customer_id"],
        order_ids=[o["order_id"] for o in facts.get("orders", [])],
        shipment_ids=facts.get("shipment_ids", []),
        channel=channel,
        decision=decision,
        reason=reason,
        eta=eta,
        cause=facts.get("cause"),
        message_path=message_path,
    )


def row(
    *,
    run_id: str,
    notice_id: str,
    customer_id: str,
    order_ids: list[str],
    shipment_ids: list[str],
    channel: str,
    decision: str,
    reason: str,
    eta: dict[str, Any],
    cause: str | None,
    message_path: str | None = None,
) -> dict[str, Any]:
    """The one shape of a ``decisions`` row."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    return {
        "run_id": run_id,
        "notice_id": notice_id,
        "customer_id": customer_id,
        "order_ids": json.dumps(order_ids),
        "shipment_ids": json.dumps(shipment_ids),
        "channel": channel,
        "decision": decision,
        "reason": reason,
        "eta_earliest": eta.get("earliest"),
        "eta_latest": eta.get("latest"),
        "eta_confidence": eta.get("confidence"),
        "cause": cause,
        "message_path": message_path,
        "created_at": datetime.now(UTC),
    }


def record(conn: Connection, rows: list[dict[str, Any]]) -> None:
    upsert(conn, schema.decisions, rows, KEY)


IN_CHUNK = 500  # values per IN (...) list


def sent_channels(
    conn: Connection, by: str, keys: list[str], *, except_run: str | None = None
) -> dict[str, set[str]]:
    """notice id -> the channels a ``sent`` decision records for it, for the notices of the
    given customers (``by="customer_id"``) or the given notices (``by="notice_id"``);
    ``except_run`` leaves out what that run sent."""
    d = schema.decisions
    column = d.c[by]
    ordered = sorted(set(keys))
    out: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(ordered), IN_CHUNK):
        query = select(d.c.notice_id, d.c.channel).where(
            column.in_(ordered[start : start + IN_CHUNK]), d.c.decision == "sent"
        )
        if except_run is not None:
            query = query.where(d.c.run_id != except_run)
        for r in conn.execute(query.distinct()):
            out[r.notice_id].add(r.channel)
    return out
