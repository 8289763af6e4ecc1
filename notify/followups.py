"""Follow-ups: a customer told about a delay hears once more when it is over.

"Delivered after all" when the parcels they were told about have been delivered since (the
message states the day), or "resolved" when the trouble cleared without a delivery yet and
the carrier's newest date is back within the promise (the message states that date). A
parcel whose delay cleared without a carrier date gets no "resolved" message: "it is fine
now" with no day to show for it is the vague message Oasis exists to avoid; its customer
hears "delivered" if it arrives while the episode's close is within ``follow_up_hours``.

Only parcels whose episode closed within ``follow_up_hours`` of the run, of orders that are
still wanted (not cancelled or refunded) and without an open case, and not in a new delay.
One follow-up per told set of parcels: the notice key's facts are the same for both kinds,
so a customer who heard "resolved" does not hear "delivered" about the same delay too. A
parcel is told in one follow-up only: once a follow-up naming it has gone out, a parcel of
the customer's that ends later gets a follow-up of its own, not one that names the first
again (the earlier one is planned again unchanged while it lasts, so a channel it deferred
may still go; the ledger sends nothing twice).
When some of a customer's parcels arrived and others only cleared, the delivered ones are
told now and the others wait for their delivery. ``OASIS_FOLLOW_UPS`` turns it off.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from notify import decisions
from notify.audience import NoticeKey
from notify.policy import choose_channels, recipient_of, recipient_zones
from notify.sql import query
from notify.stages.compose import customer_zone
from notify.stages.target import _emit, _plan
from notify.store import schema
from notify.store.types import as_utc

ENDED = {"delivered", "resolved"}
FOLLOW_UP = {"kind": "follow_up"}  # the notice key's facts: one follow-up per told set


def _day(value: Any, zone: str) -> str:
    """An instant's day in the customer's zone (YYYY-MM-DD)."""
    return as_utc(value).astimezone(ZoneInfo(zone)).date().isoformat()


def _outcome(t: Any, zone: str, today: str) -> tuple[str, str, str] | None:
    """("delivered" or "resolved", first day, last day) for one told parcel; None when there
    is nothing definite to say yet (cleared, but no carrier date within the promise)."""
    if t.delivered_at is not None:
        day = _day(t.delivered_at, zone)
        return "delivered", day, day
    if t.close_reason != "resolved" or not (t.carrier_earliest and t.carrier_latest):
        return None
    first, last = str(t.carrier_earliest)[:10], str(t.carrier_latest)[:10]
    if first < today or last > str(t.promised_by)[:10]:
        return None  # a date already gone, or still after the promise: not "resolved"
    return "resolved", first, last


def _parcel(told: Any, customer: Any, shipment: Any, days: tuple[str, str]) -> SimpleNamespace:
    return SimpleNamespace(
        customer_id=told.customer_id,
        order_id=told.order_id,
        shipment_id=told.shipment_id,
        episode_id=told.episode_id,
        kind=told.close_reason,
        cause=told.cause,
        eta_earliest=days[0],
        eta_latest=days[1],
        eta_most_likely=days[1],
        eta_confidence=None,
        eta_method="carrier",
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


Spell = tuple[str, str, str]  # (order, parcel, episode)


@dataclass
class _Told:
    late: list[Any]  # one row per parcel told it was late (``_told_late``)
    customers: dict[str, Any]
    shipments: dict[str, Any]
    paused: set[str]  # orders with an open case
    earlier: dict[tuple[str, Spell], str]  # (customer, spell) -> the sent follow-up naming it
    spells: dict[str, frozenset[Spell]]  # each such follow-up's parcels


def _load(engine: Engine, ctx: Any) -> _Told:
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
        delay, ended = _told_notices(conn, sorted({t.notice_id for t in told}))
        # What went out on which channel, for customers with no delay candidate this run too:
        # a follow-up staged again is no new message on a channel it went on.
        for nid, sent in decisions.sent_channels(conn, "customer_id", ids).items():
            ctx.sent_channels.setdefault(nid, set()).update(sent)
    earlier = {
        (t.customer_id, (t.order_id, t.shipment_id, t.episode_id)): t.notice_id
        for t in told
        if t.notice_id in ended
    }
    return _Told(_told_late(told, delay), customers, shipments, paused, earlier, ended)


def _told_notices(
    conn: Any, ids: list[str]
) -> tuple[dict[str, set[tuple[str, str]]], dict[str, frozenset[Spell]]]:
    """The notices among ``ids`` that told a delay (not an attention notice), each with the
    (order, parcel) pairs it told apart as problem parcels, not as late (ADR 0013); and the
    follow-ups among them, each with the parcels it named."""
    n = schema.notices
    delay: dict[str, set[tuple[str, str]]] = {}
    ended: dict[str, frozenset[Spell]] = {}
    for r in conn.execute(select(n.c.notice_id, n.c.plan).where(n.c.notice_id.in_(ids))):
        plan = json.loads(r.plan)
        kind = plan.get("kind", "delay")
        if kind == "delay":
            delay[r.notice_id] = {(o, s) for o, s, _c in plan.get("problem_parcels", [])}
        elif kind in ENDED:
            ended[r.notice_id] = frozenset(tuple(x) for x in plan.get("spells", []))
    return delay, ended


def _told_late(told: Any, delay: dict[str, set[tuple[str, str]]]) -> list[Any]:
    """One row per parcel told it was late: "delivered after all" follows a delay notice only
    (an attention notice, or a problem parcel told apart in a delay notice, said nothing
    about lateness)."""
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for t in told:
        key = (t.customer_id, t.order_id, t.shipment_id, t.episode_id)
        late = t.notice_id in delay and (t.order_id, t.shipment_id) not in delay[t.notice_id]
        if late and key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _ended(group: Any, still: set[tuple[str, str]], paused: set[str]) -> list[Any]:
    return [
        t
        for t in group
        if (t.order_id, t.shipment_id) not in still
        and t.close_reason in ENDED
        and t.order_status not in ("cancelled", "refunded")
        and t.order_id not in paused
    ]


def follow_ups(engine: Engine, ctx: Any, rows: list[Any]) -> None:
    """Plan one follow-up notice per customer whose told delays have ended."""
    still = {(r.order_id, r.shipment_id) for r in rows}
    told = _load(engine, ctx)
    for customer_id, group in groupby(told.late, key=lambda t: t.customer_id):
        ended = _ended(group, still, told.paused)
        if not ended:
            continue
        customer = told.customers[customer_id]
        shipments = told.shipments
        zone = customer_zone(customer, [s for t in ended if (s := shipments.get(t.shipment_id))])
        if zone is None:
            continue  # no day can be stated without the customer's zone
        today = ctx.as_of.astimezone(ZoneInfo(zone)).date().isoformat()
        outcomes = [(t, o) for t in ended if (o := _outcome(t, zone, today)) is not None]
        delivered = [(t, o) for t, o in outcomes if o[0] == "delivered"]
        chosen = delivered or outcomes  # parcels that arrived first; cleared ones wait
        kind = "delivered" if delivered else "resolved"
        for parts in _by_follow_up(customer_id, chosen, told):
            parcels = [_parcel(t, customer, shipments.get(t.shipment_id), o[1:]) for t, o in parts]
            _follow_up(customer_id, kind, parcels, ctx)


def _by_follow_up(
    customer_id: str, chosen: list[tuple[Any, Any]], told: _Told
) -> list[list[tuple[Any, Any]]]:
    """The ended parcels as follow-ups: those a sent follow-up named, as that follow-up again
    (only while it names them all; its key, and so its notice, is the same), then the rest
    as a new one. A parcel is never named in two follow-ups."""
    groups: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    fresh: list[tuple[Any, Any]] = []
    for t, o in chosen:
        nid = told.earlier.get((customer_id, (t.order_id, t.shipment_id, t.episode_id)))
        (groups[nid] if nid else fresh).append((t, o))
    again = [
        parts
        for nid, parts in sorted(groups.items())
        if frozenset((t.order_id, t.shipment_id, t.episode_id) for t, _o in parts)
        == told.spells[nid]
    ]
    return again + ([fresh] if fresh else [])


def _follow_up(customer_id: str, kind: str, parcels: list[SimpleNamespace], ctx: Any) -> None:
    spells = tuple(sorted((p.order_id, p.shipment_id, p.episode_id) for p in parcels))
    key = NoticeKey(customer_id, spells, dict(FOLLOW_UP))
    recipient = recipient_of(parcels[0], parcels[0])
    choice = choose_channels(recipient, ctx.channels_enabled)
    zones, source = recipient_zones(recipient)
    if not choice.channels:
        return  # nothing more to say to someone we cannot reach
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
    window = {
        "earliest": min(p.eta_earliest for p in parcels),
        "latest": max(p.eta_latest for p in parcels),
    }
    plan["core"]["eta"] = window
    plan["eta"] = {**window, "most_likely": window["latest"], "confidence": None}
    plan["eta"]["method"] = "delivery scan" if kind == "delivered" else "carrier"
    plan["kind"] = kind
    ctx.out.follow_ups += 1
    _emit(key.notice_id(0), plan, parcels, choice, zones, False, ctx)
