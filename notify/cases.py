"""Escalation cases: a person takes over an order's delay, with the whole story.

Targeting opens a case when a trigger fires (``notify.escalation``) and records an
``escalated`` decision; while the case is open, automated notices for that order pause.
The ``escalate`` step builds each case's context (order, items, parcels with their events,
episodes and ETA, every message sent with its text, the decisions, a suggested resolution),
exports it through the configured help desk (``notify.helpdesk``) and closes cases the help
desk reports solved. ``oasis cases`` lists them; ``oasis cases close`` closes one by hand.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection, Engine

from notify.audience import digest
from notify.escalation import Trigger, priority, suggested_resolution
from notify.store import schema
from notify.store.ops import upsert

log = logging.getLogger(__name__)
IN_CHUNK = 500


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for i in range(0, len(ordered), IN_CHUNK):
        yield ordered[i : i + IN_CHUNK]


@dataclass
class CaseOutcome:
    case_id: str | None = None  # the order's open case after this run's triggers
    changed: bool = False  # opened or given new triggers in this run: an "escalated" decision
    paused: bool = False  # open since an earlier run: automated notices wait
    notice_id: str | None = None  # the notice that went alongside when it opened
    reason: str = ""
    pause_reason: str = ""


@dataclass
class CaseBook:
    """The cases of the orders targeting looks at, and what this run changes in them."""

    run_id: str
    as_of: datetime
    by_order: dict[str, list[dict[str, Any]]]
    dirty: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {c["case_id"]: c for cases in self.by_order.values() for c in cases}

    @classmethod
    def load(
        cls, conn: Connection, orders: Iterable[str], *, run_id: str, as_of: datetime
    ) -> CaseBook:
        t = schema.cases
        by_order: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(orders):
            for r in conn.execute(select(t).where(t.c.order_id.in_(chunk))):
                case = dict(r._mapping)
                case["triggers"] = json.loads(case["triggers"])
                by_order.setdefault(case["order_id"], []).append(case)
        return cls(run_id=run_id, as_of=as_of, by_order=by_order)

    def consider(self, order_id: str, customer_id: str, found: list[Trigger]) -> CaseOutcome:
        cases = self.by_order.get(order_id, [])
        covered = {t["key"] for c in cases for t in c["triggers"]}
        new = [
            {**t.to_dict(), "run_id": self.run_id, "at": self.as_of.isoformat()}
            for t in found
            if t.key not in covered
        ]
        open_case = next((c for c in cases if c["status"] == "open"), None)
        if open_case is None and not new:
            return CaseOutcome()
        if open_case is None:
            open_case = self._open(order_id, customer_id, new)
        elif new:
            open_case["triggers"] = open_case["triggers"] + new
            self._refresh(open_case)
        added = [t for t in open_case["triggers"] if t.get("run_id") == self.run_id]
        opened_here = open_case["opened_run_id"] == self.run_id
        out = CaseOutcome(
            case_id=open_case["case_id"], changed=bool(added), notice_id=open_case["notice_id"]
        )
        if added:
            verb = "opened" if opened_here else "updated"
            details = "; ".join(f"{t['kind']} ({t['detail']})" for t in added)
            out.reason = f"case {open_case['case_id']} {verb}: {details}"
        if not opened_here:
            out.paused = True
            out.pause_reason = (
                f"paused: case {open_case['case_id']} is open since "
                f"{open_case['opened_at']:%Y-%m-%d %H:%M} UTC; a person handles this order"
            )
        return out

    def _open(self, order_id: str, customer_id: str, new: list[dict[str, Any]]) -> dict[str, Any]:
        case = {
            "case_id": digest([order_id, sorted(t["key"] for t in new)], "case_", 20),
            "order_id": order_id,
            "customer_id": customer_id,
            "status": "open",
            "triggers": new,
            "notice_id": None,
            "opened_run_id": self.run_id,
            "opened_at": self.as_of,
            "context": None,
            "helpdesk": None,
            "external_id": None,
            "exported_at": None,
            "export_error": None,
            "closed_at": None,
            "close_reason": None,
        }
        self._refresh(case)
        self.by_order.setdefault(order_id, []).append(case)
        self.by_id[str(case["case_id"])] = case
        return case

    def _refresh(self, case: dict[str, Any]) -> None:
        found = [Trigger(t["key"], t["kind"], t["detail"]) for t in case["triggers"]]
        case["priority"] = priority(found)
        case["suggested_resolution"] = suggested_resolution(found)
        case["updated_at"] = self.as_of
        self.dirty[case["case_id"]] = case

    def attach_notice(self, case_id: str, notice_id: str) -> None:
        """The automated notice that goes alongside a case opened in this run."""
        case = self.by_id.get(case_id)
        opened_here = case is not None and case["opened_run_id"] == self.run_id
        if case is not None and opened_here and case["notice_id"] != notice_id:
            case["notice_id"] = notice_id
            self.dirty[case_id] = case

    def save(self, conn: Connection) -> None:
        rows = [{**c, "triggers": json.dumps(c["triggers"])} for c in self.dirty.values()]
        upsert(conn, schema.cases, rows, ["case_id"])


# --- the agent's view: a case's whole context --------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row(r: Any, *skip: str) -> dict[str, Any]:
    return {k: _iso(v) for k, v in r._mapping.items() if k not in skip}


def parcel_story(conn: Connection, shipment: Any) -> dict[str, Any]:
    """A parcel's labels, events, delay episodes and latest ETA."""
    lab, ev, ep, p = (
        schema.shipment_labels,
        schema.tracking_events,
        schema.delay_episodes,
        schema.eta_predictions,
    )
    labels = [(shipment.carrier, shipment.tracking_number)]
    for r in conn.execute(
        select(lab).where(lab.c.shipment_id == shipment.shipment_id).order_by(lab.c.first_seen_at)
    ):
        if (r.carrier, r.tracking_number) not in labels:
            labels.insert(len(labels) - 1, (r.carrier, r.tracking_number))
    on_labels = or_(*((ev.c.carrier == c) & (ev.c.tracking_number == n) for c, n in labels))
    events = conn.execute(select(ev).where(on_labels).order_by(ev.c.occurred_at)).all()
    ep_labels = or_(*((ep.c.carrier == c) & (ep.c.tracking_number == n) for c, n in labels))
    episodes = conn.execute(select(ep).where(ep_labels).order_by(ep.c.opened_at)).all()
    story = {
        **_row(shipment),
        "labels": [{"carrier": c, "tracking_number": n} for c, n in labels],
        "events": [_row(e, "payload_id", "first_seen_at") for e in events],
        "episodes": [],
    }
    for e in episodes:
        runs = schema.runs
        eta = conn.execute(
            select(p)
            .join(runs, runs.c.run_id == p.c.run_id)
            .where(p.c.episode_id == e.episode_id)
            .order_by(runs.c.as_of.desc(), p.c.run_id.desc())
            .limit(1)
        ).first()
        story["episodes"].append(
            {
                **_row(e, "facts_hash"),
                "evidence": json.loads(e.evidence),
                "eta": _row(eta) if eta else None,
            }
        )
    return story


def messages_sent(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """Every message sent about this order, with its text (from the outbox of that run)."""
    d, ob, n = schema.decisions, schema.outbox, schema.notices
    rows = conn.execute(
        select(d, ob.c.subject, ob.c.body_text, n.c.facts)
        .outerjoin(n, n.c.notice_id == d.c.notice_id)
        .outerjoin(
            ob,
            (ob.c.run_id == d.c.run_id)
            & (ob.c.notice_id == d.c.notice_id)
            & (ob.c.channel == d.c.channel),
        )
        .where(d.c.decision == "sent", d.c.order_ids.like(f'%"{order_id}"%'))
        .order_by(d.c.created_at)
    ).all()
    return [
        {
            "run_id": r.run_id,
            "notice_id": r.notice_id,
            "channel": r.channel,
            "sent_at": _iso(r.created_at),
            "subject": r.subject,
            "text": r.body_text,
            "message_path": r.message_path,
            "eta_latest": r.eta_latest,
            "cause": r.cause,
            "next_update_by": json.loads(r.facts).get("next_update_by") if r.facts else None,
        }
        for r in rows
        if f'"{order_id}"' in r.order_ids
    ]


def order_decisions(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    d = schema.decisions
    rows = conn.execute(
        select(d).where(d.c.order_ids.like(f'%"{order_id}"%')).order_by(d.c.created_at)
    ).all()
    return [_row(r, "decision_id") for r in rows if order_id in json.loads(r.order_ids)]


def case_context(conn: Connection, case: Any) -> dict[str, Any]:
    o, c, ol, s = schema.orders, schema.customers, schema.order_lines, schema.shipments
    order = conn.execute(select(o).where(o.c.order_id == case.order_id)).first()
    customer = conn.execute(select(c).where(c.c.customer_id == case.customer_id)).first()
    lines = conn.execute(
        select(ol).where(ol.c.order_id == case.order_id).order_by(ol.c.line_id)
    ).all()
    shipments = conn.execute(
        select(s).where(s.c.order_id == case.order_id).order_by(s.c.shipment_id)
    ).all()
    return {
        "case_id": case.case_id,
        "triggers": json.loads(case.triggers),
        "priority": case.priority,
        "suggested_resolution": case.suggested_resolution,
        "order": _row(order) if order else None,
        "customer": _row(customer) if customer else None,
        "items": [_row(x) for x in lines],
        "parcels": [parcel_story(conn, sh) for sh in shipments],
        "messages_sent": messages_sent(conn, case.order_id),
        "decisions": order_decisions(conn, case.order_id),
    }


def ticket_body(ctx: dict[str, Any]) -> str:
    """The case as text a support agent reads top to bottom."""
    order = ctx["order"] or {}
    lines = [
        f"Escalation {ctx['case_id']} ({ctx['priority']})",
        "Why: " + "; ".join(f"{t['kind']}: {t['detail']}" for t in ctx["triggers"]),
        f"Suggested resolution: {ctx['suggested_resolution']}",
        "",
        f"Order {order.get('order_id')} placed {order.get('placed_at')}, status "
        f"{order.get('status')}, promised by {order.get('promised_by')}"
        + (f", needed by {order['need_by']}" if order.get("need_by") else "")
        + (f", value {order['order_value']}" if order.get("order_value") is not None else ""),
        "Items:",
        *(
            f"  {i['quantity']} x {i['title']} (parcel {i['shipment_id'] or 'not shipped'})"
            for i in ctx["items"]
        ),
    ]
    for p in ctx["parcels"]:
        labels = ", ".join(f"{x['carrier']} {x['tracking_number']}" for x in p["labels"])
        lines.append(f"Parcel {p['shipment_id']}: {labels}")
        lines.extend(
            f"  {e['local_time']} {e['status']}{' [' + e['reason'] + ']' if e['reason'] else ''}"
            f" {e['description']}"
            for e in p["events"]
        )
        for e in p["episodes"]:
            eta = e["eta"] or {}
            lines.append(
                f"  delay {e['kind']} ({e['cause']}) opened {e['opened_at']}"
                f"{', closed ' + str(e['closed_at']) if e['closed_at'] else ', open'}; "
                f"ETA {eta.get('earliest') or '?'}..{eta.get('latest') or '?'}"
            )
    promised = [m["next_update_by"] for m in ctx["messages_sent"] if m.get("next_update_by")]
    if promised:
        lines.append(
            f"The customer was told to expect an update by {promised[-1]}. No automated "
            "message follows while this case is open: the update is yours to send."
        )
    lines.append("Messages sent to the customer:")
    for m in ctx["messages_sent"] or [{"channel": "-", "sent_at": "none yet", "text": ""}]:
        lines.append(f"  [{m['channel']}] {m['sent_at']}: {(m.get('subject') or '').strip()}")
        lines.extend(f"    {t}" for t in (m.get("text") or "").splitlines())
    return "\n".join(lines)


# --- the escalate step: context, export, sync ---------------------------------------------


@dataclass
class EscalateResult:
    open_cases: int = 0
    contexts_built: int = 0
    exported: int = 0
    commented: int = 0
    export_errors: int = 0
    closed_in_helpdesk: int = 0
    helpdesk: str = "none"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _ticket(ctx: dict[str, Any]) -> Any:
    from notify.helpdesk import Ticket

    order = ctx["order"] or {}
    customer = ctx["customer"] or {}
    kinds = sorted({t["kind"] for t in ctx["triggers"]})
    return Ticket(
        case_id=ctx["case_id"],
        subject=f"Order {order.get('order_id')}: {', '.join(kinds).replace('_', ' ')}",
        body=ticket_body(ctx),
        priority=ctx["priority"],
        tags=("oasis", *kinds),
        requester_name=" ".join(
            x for x in (customer.get("first_name"), customer.get("last_name")) if x
        )
        or None,
        requester_email=customer.get("email") or None,
    )


def escalate(engine: Engine, *, run_id: str, helpdesk: Any = None) -> EscalateResult:
    """Build the context of every open case, export new ones, comment updates, sync status."""
    from notify.helpdesk import HelpdeskAuthError, HelpdeskError

    out = EscalateResult(helpdesk=getattr(helpdesk, "name", "none"))
    t = schema.cases
    with engine.connect() as conn:
        cases = conn.execute(select(t).where(t.c.status == "open").order_by(t.c.case_id)).all()
    out.open_cases = len(cases)
    for case in cases:
        with engine.connect() as conn:
            ctx = case_context(conn, case)
        changes: dict[str, Any] = {"context": json.dumps(ctx, default=str)}
        out.contexts_built += 1
        if helpdesk is not None:
            try:
                changes.update(_sync_one(helpdesk, case, ctx, run_id, out))
            except HelpdeskAuthError:
                raise
            except HelpdeskError as exc:
                out.export_errors += 1
                changes["export_error"] = str(exc)
                log.warning("case %s not exported: %s", case.case_id, exc)
        with engine.begin() as conn:
            conn.execute(update(t).where(t.c.case_id == case.case_id).values(**changes))
    return out


def _sync_one(
    helpdesk: Any, case: Any, ctx: dict[str, Any], run_id: str, out: EscalateResult
) -> dict[str, Any]:
    now = datetime.now(UTC)
    if case.external_id is None:
        external_id = helpdesk.export(_ticket(ctx))
        out.exported += 1
        return {
            "helpdesk": helpdesk.name,
            "external_id": external_id,
            "exported_at": now,
            "export_error": None,
        }
    added = [x for x in ctx["triggers"] if x.get("run_id") == run_id]
    if added and case.opened_run_id != run_id:
        body = "New triggers: " + "; ".join(f"{x['kind']}: {x['detail']}" for x in added)
        helpdesk.comment(case.external_id, body + "\n\n" + ticket_body(ctx))
        out.commented += 1
    status = helpdesk.status(case.external_id)
    if helpdesk.is_solved(status):
        out.closed_in_helpdesk += 1
        return {
            "status": "closed",
            "closed_at": now,
            "close_reason": f"help desk: {status}",
            "export_error": None,
        }
    return {"export_error": None}


def close_case(engine: Engine, case_id: str, reason: str) -> bool:
    """Close a case by hand; automated notices for its order resume with the next run."""
    t = schema.cases
    with engine.begin() as conn:
        done = conn.execute(
            update(t)
            .where(t.c.case_id == case_id, t.c.status == "open")
            .values(status="closed", closed_at=datetime.now(UTC), close_reason=reason)
        ).rowcount
    return bool(done)


def list_cases(engine: Engine, status: str | None = "open") -> list[Any]:
    t = schema.cases
    stmt = select(t).order_by(t.c.opened_at, t.c.case_id)
    if status:
        stmt = stmt.where(t.c.status == status)
    with engine.connect() as conn:
        return list(conn.execute(stmt).all())
