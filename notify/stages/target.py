"""Target: exactly which customers hear about which delay, and why the others do not.

Set-based in SQL (``sql/affected.sql``), then one pass per customer: an order that is no
longer open is suppressed; a parcel whose new ETA still meets that order's promise is
suppressed (unless the cause always matters, e.g. lost or damaged); the rest become one
notice per customer listing only their own affected orders and parcels. The notice id is a
hash of the facts the customer would be told, so the same facts never make a second notice
and a changed ETA day or cause makes a new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.engine import Engine

from notify import decisions
from notify.contacts import email_address, region_of, sms_number
from notify.rules import DEFAULT_RULES, DetectionRules
from notify.sql import query
from notify.store import schema
from notify.store.ops import upsert
from notify.store.types import as_utc


@dataclass
class TargetResult:
    candidates: int = 0
    notices: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    no_channel: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if name else ZoneInfo("UTC")


def promise_day(row: Any) -> date:
    """The promised day in the customer's own zone."""
    if len(row.promised_by) == 10:
        return date.fromisoformat(row.promised_by)
    return as_utc(row.promised_by_utc).astimezone(_zone(row.timezone)).date()


def suppression(row: Any, rules: DetectionRules) -> str | None:
    """Why this (order, parcel) does not warrant a notice, or None when it does."""
    if row.order_status != "open":
        return f"order_{row.order_status}"
    if row.eta_latest is None:
        return None  # we do not know when it arrives: say so honestly
    if row.cause in {r.value for r in rules.always_notify_causes}:
        return None
    if date.fromisoformat(row.eta_latest) <= promise_day(row):
        return "eta_meets_promise"
    return None


def channels_for(row: Any) -> tuple[list[str], str]:
    """The channels this customer can be reached on, and why not when there are none."""
    chosen, why = [], []
    if not row.email_opt_in:
        why.append("no email consent")
    elif email_address(row.email) is None:
        why.append("no valid email address" if row.email else "no email address")
    else:
        chosen.append("email")
    if not row.sms_opt_in:
        why.append("no SMS consent")
    elif sms_number(row.phone, region_of(row.locale)) is None:
        why.append("no SMS-capable phone number" if row.phone else "no phone number")
    else:
        chosen.append("sms")
    return chosen, "; ".join(why)


def notice_eta(rows: list[Any]) -> dict[str, Any]:
    """One window for the whole notice: the latest parcel decides; unknown beats known."""
    unknown = [r for r in rows if r.eta_latest is None]
    if unknown:
        worst = unknown[0]
        return {"eta": None, "next_update_by": as_utc(worst.next_update_by), "cause": worst.cause}
    worst = max(rows, key=lambda r: (r.eta_latest, r.eta_earliest))
    eta = {
        "earliest": max(r.eta_earliest for r in rows),
        "latest": worst.eta_latest,
        "most_likely": max(r.eta_most_likely or r.eta_earliest for r in rows),
        "confidence": worst.eta_confidence,
        "method": worst.eta_method,
    }
    return {"eta": eta, "next_update_by": None, "cause": worst.cause}


def notice_id(core: dict[str, Any]) -> str:
    raw = json.dumps(core, sort_keys=True, default=str)
    return "n_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def _core(customer_id: str, rows: list[Any]) -> dict[str, Any]:
    eta = notice_eta(rows)
    return {
        "customer_id": customer_id,
        "parcels": sorted({(r.order_id, r.shipment_id, r.episode_id) for r in rows}),
        "eta": eta["eta"] and {k: eta["eta"][k] for k in ("earliest", "latest")},
        "cause": eta["cause"],
        "unknown_eta": eta["eta"] is None,
    }


def _decision(run_id: str, row: Any, decision: str, reason: str) -> dict[str, Any]:
    """A decision about one (order, parcel, episode) that did not become a notice."""
    key = f"{row.customer_id}|{row.order_id}|{row.shipment_id}|{row.episode_id}"
    return decisions.row(
        run_id=run_id,
        notice_id="x_" + hashlib.sha256(key.encode()).hexdigest()[:24],
        customer_id=row.customer_id,
        order_ids=[row.order_id],
        shipment_ids=[row.shipment_id],
        channel="",
        decision=decision,
        reason=reason,
        eta={
            "earliest": row.eta_earliest,
            "latest": row.eta_latest,
            "confidence": row.eta_confidence,
        },
        cause=row.cause,
    )


def target(
    engine: Engine, *, run_id: str, as_of: datetime, rules: DetectionRules = DEFAULT_RULES
) -> TargetResult:
    out = TargetResult()
    now = datetime.now(UTC)
    refused: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    parcels: list[dict[str, Any]] = []
    with engine.connect() as conn:
        rows = conn.execute(query("affected"), {"run_id": run_id, "as_of": as_of}).all()
    out.candidates = len(rows)
    for customer_id, group in groupby(rows, key=lambda r: r.customer_id):
        affected = []
        for row in group:
            reason = suppression(row, rules)
            if reason:
                out.suppressed[reason] = out.suppressed.get(reason, 0) + 1
                refused.append(_decision(run_id, row, "suppressed", reason))
            else:
                affected.append(row)
        if not affected:
            continue
        channels, why_not = channels_for(affected[0])
        if not channels:
            out.no_channel += 1
            refused.extend(_decision(run_id, r, "no_channel", why_not) for r in affected)
            continue
        core = _core(customer_id, affected)
        nid = notice_id(core)
        facts = {"core": core, "as_of": as_of.isoformat(), **notice_eta(affected)}
        notices.append(
            {
                "notice_id": nid,
                "customer_id": customer_id,
                "first_run_id": run_id,
                "plan": json.dumps(facts, default=str),
                "created_at": now,
            }
        )
        links.append({"run_id": run_id, "notice_id": nid, "channels": json.dumps(channels)})
        parcels.extend(
            {"notice_id": nid, "order_id": o, "shipment_id": s, "episode_id": e}
            for o, s, e in core["parcels"]
        )
    out.notices = len(notices)
    with engine.begin() as conn:
        for table in (schema.decisions, schema.run_notices):
            conn.execute(delete(table).where(table.c.run_id == run_id))
        decisions.record(conn, refused)
        upsert(conn, schema.notices, notices, ["notice_id"], update=[])
        upsert(conn, schema.run_notices, links, ["run_id", "notice_id"])
        upsert(conn, schema.notice_parcels, parcels, ["notice_id", "order_id", "shipment_id"])
    return out
