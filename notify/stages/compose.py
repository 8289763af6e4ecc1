"""Compose: one facts object per notice, everything the templates may print.

Templates only print these facts; a missing fact is an error at render time, never a
fallback. Items are only those carried by the delayed parcels of the customer's own orders.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, Engine

from carriers import registry
from notify.config import Settings
from notify.contacts import email_address, region_of, sms_number
from notify.next_steps import next_steps
from notify.store import schema

IN_CHUNK = 500


@dataclass
class ComposeResult:
    notices: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"notices": self.notices}


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(values), IN_CHUNK):
        yield values[i : i + IN_CHUNK]


def _fetch(conn: Connection, column: Any, values: Iterable[str], *cols: Any) -> list[Any]:
    rows: list[Any] = []
    for chunk in _chunks(sorted(set(values))):
        rows.extend(conn.execute(select(*cols).where(column.in_(chunk))).all())
    return rows


def carrier_title(name: str) -> str:
    try:
        return registry.get(name).title
    except KeyError:
        return name.upper()


def _localize(value: Any, zone: str | None) -> str | None:
    if value is None:
        return None
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(ZoneInfo(zone or "UTC")).isoformat(timespec="minutes")


def message_locale(locale: str | None, settings: Settings) -> str:
    """The customer's locale when we have wording in its language, else the default one."""
    from notify.render import supported_languages

    language = (locale or "").replace("_", "-").split("-")[0].lower()
    if language in supported_languages(settings.templates_dir):
        return str(locale)
    return settings.default_locale


def build_facts(
    notice_id: str,
    stored: dict[str, Any],
    customer: Any,
    orders: dict[str, Any],
    lines: dict[str, list[Any]],
    shipments: dict[str, Any],
    settings: Settings,
) -> dict[str, Any]:
    by_order: dict[str, list[str]] = defaultdict(list)
    for order_id, shipment_id, _episode in stored["core"]["parcels"]:
        by_order[order_id].append(shipment_id)
    return {
        "notice_id": notice_id,
        "customer_id": customer.customer_id,
        "shipment_ids": sorted({sid for ids in by_order.values() for sid in ids}),
        "kind": "delay",
        "locale": message_locale(customer.locale, settings),
        "timezone": customer.timezone or "UTC",
        "brand": settings.brand_name,
        "customer": {
            "first_name": customer.first_name,
            "email": email_address(customer.email),
            "phone": sms_number(customer.phone, region_of(customer.locale)),
        },
        "orders": [
            {
                "order_id": order_id,
                "tracking_url": settings.tracking_url_template.format(order_id=order_id),
                "promised_by": orders[order_id].promised_by[:10],
                "items": [
                    {"title": line.title, "quantity": line.quantity}
                    for sid in sorted(set(shipment_ids))
                    for line in lines.get(sid, [])
                ],
                "shipments": [
                    {
                        "carrier": shipments[sid].carrier,
                        "carrier_title": carrier_title(shipments[sid].carrier),
                        "tracking_number": shipments[sid].tracking_number,
                    }
                    for sid in sorted(set(shipment_ids))
                ],
            }
            for order_id, shipment_ids in sorted(by_order.items())
        ],
        "eta": stored["eta"],
        "next_update_by": _localize(stored["next_update_by"], customer.timezone),
        "cause": stored["cause"],
        "next_steps": next_steps(stored["cause"]),
        "contact": settings.support_contact,
    }


def compose(engine: Engine, *, run_id: str, settings: Settings) -> ComposeResult:
    n, rn = schema.notices, schema.run_notices
    with engine.connect() as conn:
        stored = conn.execute(
            select(n.c.notice_id, n.c.customer_id, n.c.plan)
            .join(rn, rn.c.notice_id == n.c.notice_id)
            .where(rn.c.run_id == run_id)
        ).all()
        facts_in = {r.notice_id: json.loads(r.plan) for r in stored}
        parcels = [p for f in facts_in.values() for p in f["core"]["parcels"]]
        c, o, s, ol = schema.customers, schema.orders, schema.shipments, schema.order_lines
        customer_ids = [r.customer_id for r in stored]
        customers = {r.customer_id: r for r in _fetch(conn, c.c.customer_id, customer_ids, c)}
        orders = {r.order_id: r for r in _fetch(conn, o.c.order_id, (p[0] for p in parcels), o)}
        shipment_ids = [p[1] for p in parcels]
        ships = {r.shipment_id: r for r in _fetch(conn, s.c.shipment_id, shipment_ids, s)}
        lines: dict[str, list[Any]] = defaultdict(list)
        order_lines = _fetch(conn, ol.c.shipment_id, shipment_ids, ol)
        for line in sorted(order_lines, key=lambda r: (r.order_id, r.line_id)):
            lines[line.shipment_id].append(line)
    updates = []
    for r in stored:
        customer = customers[r.customer_id]
        plan = facts_in[r.notice_id]
        facts = build_facts(r.notice_id, plan, customer, orders, lines, ships, settings)
        updates.append({"nid": r.notice_id, "facts": json.dumps(facts)})
    if updates:
        with engine.begin() as conn:
            conn.execute(
                update(n).where(n.c.notice_id == bindparam("nid")).values(facts=bindparam("facts")),
                updates,
            )
    return ComposeResult(notices=len(updates))
