"""``oasis explain ORDER_ID``: the story of one order, as a support agent needs it."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.engine import Engine

from notify.store import schema


def explain(engine: Engine, order_id: str) -> str:
    o, s, ev, ep, d = (
        schema.orders,
        schema.shipments,
        schema.tracking_events,
        schema.delay_episodes,
        schema.decisions,
    )
    lines: list[str] = []
    with engine.connect() as conn:
        order = conn.execute(select(o).where(o.c.order_id == order_id)).first()
        if order is None:
            return f"no order {order_id!r} in the store"
        lines.append(
            f"Order {order.order_id} (customer {order.customer_id}), status {order.status}, "
            f"promised by {order.promised_by}"
        )
        for sh in conn.execute(select(s).where(s.c.order_id == order_id)).all():
            lines.append(
                f"\nParcel {sh.shipment_id}: {sh.carrier} {sh.tracking_number} ({sh.service})"
            )
            events = conn.execute(
                select(ev)
                .where(ev.c.carrier == sh.carrier, ev.c.tracking_number == sh.tracking_number)
                .order_by(ev.c.occurred_at)
            ).all()
            for e in events:
                why = f" [{e.reason}]" if e.reason else ""
                lines.append(f"  #{e.event_id} {e.local_time} {e.status}{why} {e.description}")
            for episode in conn.execute(
                select(ep).where(
                    ep.c.carrier == sh.carrier, ep.c.tracking_number == sh.tracking_number
                )
            ).all():
                state = (
                    f"closed {episode.closed_at} ({episode.close_reason})"
                    if episode.closed_at
                    else "open"
                )
                lines.append(
                    f"  episode {episode.episode_id}: {episode.kind}, cause {episode.cause}, "
                    f"opened {episode.opened_at}, {state}, "
                    f"evidence events {json.loads(episode.evidence)}"
                )
        lines.append("\nDecisions:")
        for row in conn.execute(
            select(d).where(d.c.order_ids.like(f'%"{order_id}"%')).order_by(d.c.created_at)
        ).all():
            eta = f"ETA {row.eta_earliest}..{row.eta_latest}" if row.eta_latest else "ETA unknown"
            where = f" -> {row.message_path}" if row.message_path else ""
            lines.append(
                f"  run {row.run_id}: {row.decision} ({row.channel or '-'}) {row.reason}; "
                f"{eta}; cause {row.cause}{where}"
            )
    return "\n".join(lines)
