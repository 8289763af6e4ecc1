"""``oasis explain ORDER_ID``: the story of one order, as a support agent needs it.

Top to bottom: the order and its customer (how we may reach them), the items and which
parcel carries each, every parcel with all its labels, events, delay episodes and the ETA
we computed, every decision about the order with its reason, every message sent with its
text, and the cases a person holds. Other customers' orders never appear: a tracking
number shared with another order is mentioned, not shown.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from notify.cases import messages_sent, order_decisions, parcel_story
from notify.policy import choose_channels, recipient_of, recipient_zones
from notify.store import schema


def _customer_lines(customer: Any, shipment: Any) -> list[str]:
    if customer is None:
        return ["Customer: not in the store"]
    recipient = recipient_of(customer, shipment)
    choice = choose_channels(recipient)
    zones, source = recipient_zones(recipient)
    where = ", ".join(zones) if zones else "unknown"
    reach = ", ".join(choice.channels) or "none"
    lines = [
        f"Customer {customer.customer_id}: {customer.first_name} {customer.last_name or ''}",
        f"  locale {customer.locale}; zone {where} (from {source})",
        f"  reachable by: {reach}" + (f" (not: {choice.reason})" if choice.refused else ""),
    ]
    return lines


def _order_lines(order: Any) -> list[str]:
    extra = ""
    if order.need_by:
        extra += f", needed by {order.need_by}"
    if order.order_value is not None:
        extra += f", value {order.order_value:,.2f}"
    return [
        f"Order {order.order_id}, status {order.status} (order system), placed "
        f"{order.placed_at:%Y-%m-%d %H:%M} UTC, promised by {order.promised_by}{extra}"
    ]


def _shared(conn: Connection, order_id: str, parcel: dict[str, Any]) -> str | None:
    s = schema.shipments
    others = conn.execute(
        select(func.count())
        .select_from(s)
        .where(
            s.c.carrier == parcel["carrier"],
            s.c.tracking_number == parcel["tracking_number"],
            s.c.order_id != order_id,
        )
    ).scalar_one()
    if not others:
        return None
    return f"  this tracking number also carries {others} other order(s), not shown here"


def _place(event: dict[str, Any]) -> str:
    """Where the carrier scanned it, as it gave it: " at Memphis, TN 38118, US" (or nothing)."""
    area = " ".join(str(x) for x in (event.get("region"), event.get("postal_code")) if x)
    place = ", ".join(str(x) for x in (event.get("city"), area, event.get("country")) if x)
    return f" at {place}" if place else ""


def _parcel_lines(conn: Connection, order_id: str, shipment: Any) -> list[str]:
    p = parcel_story(conn, shipment)
    lines = [f"\nParcel {p['shipment_id']}: {p['carrier']} {p['tracking_number']} ({p['service']})"]
    if len(p["labels"]) > 1:
        earlier = ", ".join(f"{x['carrier']} {x['tracking_number']}" for x in p["labels"][:-1])
        lines.append(f"  relabelled; earlier labels: {earlier}")
    shared = _shared(conn, order_id, p)
    if shared:
        lines.append(shared)
    for e in p["events"]:
        why = f" [{e['reason']}]" if e["reason"] else ""
        left = " (departed)" if e.get("departed") else ""
        lines.append(
            f"  #{e['event_id']} {e['local_time']} {e['status']}{why}{left} {e['description']}"
            + _place(e)
        )
    for e in p["episodes"]:
        state = f"closed {e['closed_at']} ({e['close_reason']})" if e["closed_at"] else "open"
        lines.append(
            f"  episode {e['episode_id']}: {e['kind']}, cause {e['cause']}, opened "
            f"{e['opened_at']}, {state}, evidence events {e['evidence']}"
        )
        eta = e["eta"]
        if eta:
            window = (f"{eta['earliest']}..{eta['latest']}" if eta["latest"] else "unknown") + (
                f", next update by {eta['next_update_by']}" if eta["next_update_by"] else ""
            )
            lines.append(f"    ETA (run {eta['run_id']}): {window} [{eta['method']}]")
    return lines


def _decision_lines(conn: Connection, order_id: str) -> list[str]:
    lines = ["\nDecisions (oldest first):"]
    rows = order_decisions(conn, order_id)
    if not rows:
        lines.append("  none yet")
    for row in rows:
        eta = f"ETA {row['eta_earliest']}..{row['eta_latest']}" if row["eta_latest"] else "ETA -"
        where = f" -> {row['message_path']}" if row["message_path"] else ""
        lines.append(
            f"  run {row['run_id']}: {row['decision']} ({row['channel'] or '-'}) "
            f"{row['reason']}; {eta}; cause {row['cause']}{where}"
        )
    return lines


def _message_lines(conn: Connection, order_id: str) -> list[str]:
    lines = ["\nMessages sent:"]
    sent = messages_sent(conn, order_id)
    if not sent:
        lines.append("  none")
    for m in sent:
        lines.append(f"  [{m['channel']}] run {m['run_id']} notice {m['notice_id']}")
        if m["subject"]:
            lines.append(f"    Subject: {m['subject']}")
        text = m["text"] or f"(text not in the outbox; file {m['message_path']})"
        lines.extend(f"    {t}" for t in text.splitlines())
    return lines


def _case_lines(conn: Connection, order_id: str) -> list[str]:
    t = schema.cases
    lines = ["\nCases:"]
    cases = conn.execute(select(t).where(t.c.order_id == order_id).order_by(t.c.opened_at)).all()
    if not cases:
        lines.append("  none")
    for c in cases:
        why = "; ".join(f"{x['kind']}: {x['detail']}" for x in json.loads(c.triggers))
        desk = f", {c.helpdesk} #{c.external_id}" if c.external_id else ""
        state = (
            "OPEN (automated notices paused)"
            if c.status == "open"
            else f"closed ({c.close_reason})"
        )
        lines.append(
            f"  {c.case_id} {state}, {c.priority}, opened {c.opened_at:%Y-%m-%d %H:%M} UTC{desk}"
        )
        lines.append(f"    why: {why}")
        lines.append(f"    suggested: {c.suggested_resolution}")
        if c.export_error:
            lines.append(f"    not yet in the help desk: {c.export_error}")
    return lines


def explain(engine: Engine, order_id: str) -> str:
    o, s, c, ol = schema.orders, schema.shipments, schema.customers, schema.order_lines
    with engine.connect() as conn:
        order = conn.execute(select(o).where(o.c.order_id == order_id)).first()
        if order is None:
            return f"no order {order_id!r} in the store"
        customer = conn.execute(select(c).where(c.c.customer_id == order.customer_id)).first()
        shipments = conn.execute(
            select(s).where(s.c.order_id == order_id).order_by(s.c.shipment_id)
        ).all()
        items = conn.execute(
            select(ol).where(ol.c.order_id == order_id).order_by(ol.c.line_id)
        ).all()
        lines = _order_lines(order) + _customer_lines(customer, shipments[0] if shipments else None)
        lines.append("Items:")
        lines.extend(
            f"  {i.line_id}: {i.quantity} x {i.title} "
            f"({'parcel ' + i.shipment_id if i.shipment_id else 'not shipped yet'})"
            for i in items
        )
        for sh in shipments:
            lines.extend(_parcel_lines(conn, order_id, sh))
        lines.extend(_decision_lines(conn, order_id))
        lines.extend(_message_lines(conn, order_id))
        lines.extend(_case_lines(conn, order_id))
    return "\n".join(lines)
