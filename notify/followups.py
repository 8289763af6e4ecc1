"""Follow-ups: a customer told about a delay hears once more when it is over.

"Delivered after all" when every parcel they were told about has been delivered since, or
"resolved" when the trouble cleared without a delivery yet (the parcel is moving again on
time). Only parcels whose episode closed within ``follow_up_hours`` of the run, of orders
that are still wanted (not cancelled or refunded) and without an open case, and not in a
new delay. Off unless ``OASIS_FOLLOW_UPS`` is on, because the message kinds ``delivered``
and ``resolved`` need their own templates; the notice plan says its ``kind``.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from notify.audience import NoticeKey
from notify.policy import choose_channels, recipient_zones
from notify.sql import query
from notify.stages.target import _emit, _plan, _recipient
from notify.store import schema

ENDED = {"delivered": "delivered", "resolved": "resolved"}


def _parcel(told: Any, customer: Any, shipment: Any) -> SimpleNamespace:
    return SimpleNamespace(
        customer_id=told.customer_id,
        order_id=told.order_id,
        shipment_id=told.shipment_id,
        episode_id=told.episode_id,
        kind=told.close_reason,
        cause=told.cause,
        eta_earliest=None,
        eta_latest=None,
        eta_most_likely=None,
        eta_confidence=None,
        eta_method=None,
        next_update_by=None,
        email=customer.email,
        phone=customer.phone,
        locale=customer.locale,
        timezone=customer.timezone,
        email_opt_in=customer.email_opt_in,
        sms_opt_in=customer.sms_opt_in,
        destination_postal_code=shipment.destination_postal_code if shipment else None,
        destination_country=shipment.destination_country if shipment else None,
    )


def _load(engine: Engine, ctx: Any) -> tuple[list[Any], dict[str, Any], dict[str, Any], set[str]]:
    since = ctx.as_of - timedelta(hours=ctx.settings.follow_up_hours)
    c, s, k = schema.customers, schema.shipments, schema.cases
    with engine.connect() as conn:
        told = conn.execute(query("told_parcels"), {"since_at": since, "as_of": ctx.as_of}).all()
        ids = sorted({t.customer_id for t in told})
        parcels = sorted({t.shipment_id for t in told})
        orders = sorted({t.order_id for t in told})
        customers = {
            r.customer_id: r for r in conn.execute(select(c).where(c.c.customer_id.in_(ids)))
        }
        shipments = {
            r.shipment_id: r for r in conn.execute(select(s).where(s.c.shipment_id.in_(parcels)))
        }
        open_cases = select(k.c.order_id).where(k.c.order_id.in_(orders), k.c.status == "open")
        paused = set(conn.execute(open_cases).scalars())
    return list(told), customers, shipments, paused  # fmt: skip


def follow_ups(engine: Engine, ctx: Any, rows: list[Any]) -> None:
    """Plan one follow-up notice per customer whose told delays have ended."""
    still = {(r.order_id, r.shipment_id) for r in rows}
    told, customers, shipments, paused = _load(engine, ctx)
    for customer_id, group in groupby(told, key=lambda t: t.customer_id):
        ended = [
            t
            for t in group
            if (t.order_id, t.shipment_id) not in still
            and t.close_reason in ENDED
            and t.order_status not in ("cancelled", "refunded")
            and t.order_id not in paused
        ]
        if not ended:
            continue
        customer = customers[customer_id]
        parcels = [_parcel(t, customer, shipments.get(t.shipment_id)) for t in ended]
        kind = "delivered" if all(t.close_reason == "delivered" for t in ended) else "resolved"
        spells = tuple(sorted((p.order_id, p.shipment_id, p.episode_id) for p in parcels))
        facts = {"kind": kind, "eta": None, "cause": None, "unknown_eta": False}
        key = NoticeKey(customer_id, spells, facts)
        recipient = _recipient(parcels[0])
        choice = choose_channels(recipient, ctx.channels_enabled)
        zones, source = recipient_zones(recipient)
        if not choice.channels:
            continue  # nothing more to say to someone we cannot reach
        plan = _plan(
            key,
            0,
            parcels,
            ctx,
            {
                "channels": choice.as_plan(),
                "critical": False,
                "recipient_zones": list(zones),
                "zone_source": source,
                "escalated_orders": {},
            },
        )
        plan["kind"] = kind
        ctx.out.follow_ups += 1
        _emit(key.notice_id(0), plan, parcels, choice, zones, False, ctx)
