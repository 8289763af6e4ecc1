"""Target: exactly which customers hear about which delay, and why the others do not.

Set-based in SQL (``sql/affected.sql``: episodes x shipments x orders x customers, one row
per customer x order x delayed parcel), then one pass per customer:

1. each parcel row is kept or suppressed with a reason (order not open, parcel without
   items of the order, ETA still meets the promise, ETA unknown and the promise still far);
2. per order, the escalation triggers (``notify.escalation``) open a case for a person; an
   order whose case is open from an earlier run is paused (no automated notice);
3. the rest becomes ONE notice for the customer, listing each of their affected orders and
   only the delayed parcels; its id is the notice key (customer, episode set, fact version),
   so the customer hears again only when the told facts change (a notice that has only
   lost parcels since the last one sent, each remaining one told the same, is no news: the
   one sent stays the customer's notice);
4. the contact policy (``notify.policy``) picks the channels, defers SMS in quiet hours and
   new notices over the daily cap, and records a customer we cannot reach.

Every outcome is a ``decisions`` row with its reason. Re-running the stage for a run
recomputes the same rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine

from notify import decisions
from notify.audience import (
    NoticeKey,
    OrderHistory,
    at_risk,
    carrier_awaits_customer,
    digest,
    is_problem,
    next_round,
    order_histories,
    promise_day,
    shape_told,
    spell_for,
    still_told,
    sync_labels,
    tell,
    told_facts,
    window_of,
)
from notify.cases import CaseBook
from notify.config import TargetingSettings, load_targeting_settings
from notify.escalation import OrderFacts, ParcelDelay, Trigger, triggers
from notify.policy import (
    ChannelChoice,
    choose_channels,
    describe_window,
    over_cap,
    recipient_of,
    recipient_zones,
    sms_opens_at,
)
from notify.sql import query
from notify.store import schema
from notify.store.ops import upsert
from notify.store.types import as_utc

IN_CHUNK = 500


@dataclass
class TargetResult:
    candidates: int = 0
    notices: int = 0  # notices handed to compose in this run
    affected_customers: int = 0
    affected_parcels: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    no_channel: int = 0
    deferred: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    follow_ups: int = 0
    labels_recorded: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def count(self, table: dict[str, int], reason: str) -> None:
        table[reason] = table.get(reason, 0) + 1


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for i in range(0, len(ordered), IN_CHUNK):
        yield ordered[i : i + IN_CHUNK]


def notice_eta(rows: list[Any]) -> dict[str, Any]:
    """One window for the whole notice: the latest parcel decides; unknown beats known. The
    problem parcels riding along in a delay notice (``is_problem``) do not count: the notice's
    window and cause are those of the late parcels."""
    rows = [r for r in rows if not is_problem(r)] or rows
    unknown = [r for r in rows if r.eta_latest is None]
    if unknown:
        worst = unknown[0]
        nub = as_utc(worst.next_update_by) if worst.next_update_by is not None else None
        return {"eta": None, "next_update_by": nub, "cause": worst.cause}
    worst = max(rows, key=lambda r: (r.eta_latest, r.eta_earliest))
    eta = {
        "earliest": max(r.eta_earliest for r in rows),
        "latest": worst.eta_latest,
        "most_likely": max(r.eta_most_likely or r.eta_earliest for r in rows),
        "confidence": worst.eta_confidence,
        "method": worst.eta_method,
    }
    return {"eta": eta, "next_update_by": None, "cause": worst.cause}


def _parcel_decision(run_id: str, row: Any, decision: str, reason: str) -> dict[str, Any]:
    """A decision about one (order, parcel, episode) that did not become a notice."""
    key = f"{row.customer_id}|{row.order_id}|{row.shipment_id}|{row.episode_id}"
    return decisions.row(
        run_id=run_id,
        notice_id=digest(key, "x_"),
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


def _notice_decision(
    run_id: str, notice_id: str, rows: list[Any], channel: str, decision: str, reason: str
) -> dict[str, Any]:
    eta = notice_eta(rows)
    return decisions.row(
        run_id=run_id,
        notice_id=notice_id,
        customer_id=rows[0].customer_id,
        order_ids=sorted({r.order_id for r in rows}),
        shipment_ids=sorted({r.shipment_id for r in rows}),
        channel=channel,
        decision=decision,
        reason=reason,
        eta=eta["eta"] or {},
        cause=eta["cause"],
    )


@dataclass
class _Context:
    """Everything read once for the run, shared by every customer's pass."""

    run_id: str
    as_of: datetime
    settings: TargetingSettings
    channels_enabled: tuple[str, ...]
    histories: dict[str, OrderHistory]
    sent_24h: dict[str, int]
    previous: dict[str, list[dict[str, Any]]]  # customer -> plans of their stored notices
    sent_channels: dict[str, set[str]]  # notice id -> channels already sent
    cases: CaseBook
    out: TargetResult = field(default_factory=TargetResult)
    decided: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    parcels: list[dict[str, Any]] = field(default_factory=list)
    attention: set[tuple[str, str]] = field(default_factory=set)  # (order, parcel) attention rows
    linked: set[str] = field(default_factory=set)  # customers with a notice going in this run


def _today(zones: tuple[str, ...], as_of: datetime) -> date:
    from zoneinfo import ZoneInfo

    return as_of.astimezone(ZoneInfo(zones[0])).date() if zones else as_of.date()


def _order_facts(rows: list[Any], ctx: _Context, reachable: bool, today: date) -> OrderFacts:
    first = rows[0]
    history = ctx.histories.get(first.order_id)
    parcels = tuple(
        ParcelDelay(
            shipment_id=r.shipment_id,
            spell=spell_for(history, r.shipment_id, r.episode_id),
            cause=r.cause,
            eta_latest=date.fromisoformat(r.eta_latest[:10]) if r.eta_latest else None,
        )
        for r in rows
    )
    need_by = first.need_by
    return OrderFacts(
        order_id=first.order_id,
        promise_day=promise_day(first),
        today=today,
        parcels=parcels,
        delay_waves=history.waves if history else 1,
        need_by=date.fromisoformat(need_by[:10]) if need_by else None,
        order_value=float(first.order_value) if first.order_value is not None else None,
        reachable=reachable,
    )


@dataclass
class _Paused:
    rows: list[Any]
    notice_id: str | None  # the notice that went alongside when the case opened
    reason: str


@dataclass
class _Escalation:
    keep: list[Any] = field(default_factory=list)  # rows for the automated notice
    cases: dict[str, str] = field(default_factory=dict)  # order -> case, for kept orders
    paused: list[_Paused] = field(default_factory=list)  # orders a person holds
    critical: bool = False


def _escalate_orders(
    worthy: list[Any], ctx: _Context, choice: ChannelChoice, today: date
) -> _Escalation:
    """Open or update cases; split the rows into those for a notice and the paused ones."""
    out = _Escalation()
    for order_id, group in groupby(worthy, key=lambda r: r.order_id):
        rows = list(group)
        found: list[Trigger] = triggers(
            _order_facts(rows, ctx, bool(choice.channels), today), ctx.settings
        )
        out.critical = out.critical or any(t.kind == "need_by_at_risk" for t in found)
        outcome = ctx.cases.consider(order_id, rows[0].customer_id, found)
        if outcome.changed and outcome.case_id:
            ctx.out.escalated += 1
            ctx.decided.append(
                _notice_decision(
                    ctx.run_id, outcome.case_id, rows, "helpdesk", "escalated", outcome.reason
                )
            )
        if outcome.paused:
            out.paused.append(_Paused(rows, outcome.notice_id, outcome.pause_reason))
        elif outcome.case_id and ctx.settings.escalation_mode == "instead":
            continue
        else:
            if outcome.case_id:
                out.cases[order_id] = outcome.case_id
            out.keep.extend(rows)
    return out


def _key_for(customer_id: str, rows: list[Any], ctx: _Context) -> tuple[NoticeKey, int, str]:
    spells = tuple(
        sorted(
            (r.order_id, r.shipment_id,
             spell_for(ctx.histories.get(r.order_id), r.shipment_id, r.episode_id))
            for r in rows
        )
    )  # fmt: skip
    eta = notice_eta(rows)
    attention = all((r.order_id, r.shipment_id) in ctx.attention for r in rows)
    kind = "attention" if attention else "delay"
    problems = [(r.order_id, r.shipment_id, r.cause) for r in rows if is_problem(r)]
    late = [r for r in rows if not is_problem(r)]
    causes = [(r.order_id, r.shipment_id, r.cause) for r in late]
    windows = [(r.order_id, r.shipment_id, window_of(r.eta_earliest, r.eta_latest)) for r in late]
    risky = [(r.order_id, r.shipment_id) for r in rows if at_risk(r)]
    facts = told_facts(kind, eta["eta"], eta["cause"], problems, causes, windows, risky)
    key = NoticeKey(customer_id, spells, facts)
    round_ = next_round(ctx.previous.get(customer_id, []), key, ctx.run_id, ctx.as_of)
    return key, round_, key.notice_id(round_)


def _resolve_paused(customer_id: str, esc: _Escalation, ctx: _Context) -> list[Any]:
    """Rows for the notice: paused orders join only if the notice is the very one that went
    alongside their case (nothing changed since; the ledger will not send it twice, and a
    channel deferred then may still go). Otherwise they wait for the person."""
    if not esc.paused:
        return esc.keep
    whole = sorted(
        esc.keep + [r for p in esc.paused for r in p.rows],
        key=lambda r: (r.order_id, r.shipment_id),
    )
    _key, _round, nid = _key_for(customer_id, whole, ctx)
    if all(p.notice_id == nid for p in esc.paused):
        return whole
    for p in esc.paused:
        ctx.out.count(ctx.out.deferred, "case_open")
        ctx.decided.extend(_parcel_decision(ctx.run_id, r, "deferred", p.reason) for r in p.rows)
    return esc.keep


def update_interval(round_: int, s: TargetingSettings) -> timedelta:
    """How far out a notice without a date promises its next update: ``next_update_hours``
    for the first, twice as far for each update sent with still no date, at most
    ``next_update_max_hours``. A parcel held for a week in customs gets four messages, not
    eight that each say "still no date"."""
    hours = s.next_update_hours * 2 ** min(round_, 16)
    return timedelta(hours=min(hours, max(s.next_update_max_hours, s.next_update_hours)))


def _back_off(eta: dict[str, Any], round_: int, ctx: _Context) -> None:
    """A promised update that again has no date promises the next one further out."""
    due = eta["next_update_by"]
    if round_ > 0 and due is not None:
        eta["next_update_by"] = max(due, ctx.as_of + update_interval(round_, ctx.settings))


def _update_when_reachable(eta: dict[str, Any], extra: dict[str, Any], ctx: _Context) -> None:
    """An update promised to a customer we write to by SMS falls inside their SMS window:
    "an update by Sunday, 4:00 AM" would be held until the window opens (quiet hours) and
    arrive hours after the time we named. The notice's key does not hold the time, so the
    move changes nothing else; the next round is owed from the moved time."""
    due = eta["next_update_by"]
    if due is None or extra.get("channels", {}).get("sms") != "ok":
        return
    zones = tuple(extra.get("recipient_zones") or ())
    eta["next_update_by"] = sms_opens_at(zones, due, ctx.settings.sms_window) or due


def _plan(
    key: NoticeKey, round_: int, rows: list[Any], ctx: _Context, extra: dict[str, Any]
) -> dict[str, Any]:
    eta = notice_eta(rows)
    _back_off(eta, round_, ctx)
    _update_when_reachable(eta, extra, ctx)
    core = {
        "customer_id": key.customer_id,
        "parcels": sorted({(r.order_id, r.shipment_id, r.episode_id) for r in rows}),
        "eta": eta["eta"] and {k: eta["eta"][k] for k in ("earliest", "latest")},
        "cause": eta["cause"],
        "unknown_eta": eta["eta"] is None,
    }
    return {
        "core": core,
        "as_of": ctx.as_of.isoformat(),
        **eta,
        "kind": key.facts["kind"],
        "order_ids": sorted({r.order_id for r in rows}),
        "parcel_facts": [
            {
                "order_id": r.order_id,
                "shipment_id": r.shipment_id,
                "episode_id": r.episode_id,
                "kind": r.kind,
                "cause": r.cause,
                "eta_earliest": r.eta_earliest,
                "eta_latest": r.eta_latest,
                "problem": is_problem(r),
                "awaits_customer": carrier_awaits_customer(r),
                "at_risk": at_risk(r),
            }
            for r in rows
        ],
        "problem_parcels": sorted(
            [r.order_id, r.shipment_id, r.cause] for r in rows if is_problem(r)
        ),
        "spells": [list(s) for s in key.spells],
        "thread": key.thread,
        "version": key.version,
        "round": round_,
        "run_id": ctx.run_id,
        **extra,
    }


def _told_rows(rows: list[Any], ctx: _Context) -> list[tuple[Any, bool]]:
    """The rows to tell, each with whether it is told as a problem rather than as late
    (``audience.tell``); the others are recorded as suppressed with their reason."""
    told, suppressed = tell(rows, ctx.as_of, ctx.settings)
    for row, reason in suppressed:
        ctx.out.count(ctx.out.suppressed, reason)
        ctx.decided.append(_parcel_decision(ctx.run_id, row, "suppressed", reason))
    return told


def _customer(customer_id: str, rows: list[Any], ctx: _Context) -> None:
    out, s = ctx.out, ctx.settings
    next_update = ctx.as_of + timedelta(hours=s.next_update_hours)
    told = _told_rows(rows, ctx)
    if not told:
        return
    # One notice per customer: an attention notice when no row is late, else a delay notice
    # that covers every row (a problem parcel among them told apart).
    worthy, attention = shape_told(told, next_update)
    if attention:
        ctx.attention.update((r.order_id, r.shipment_id) for r in worthy)
    out.affected_customers += 1
    out.affected_parcels += len(worthy)
    recipient = recipient_of(worthy[0], worthy[0])
    choice = choose_channels(recipient, ctx.channels_enabled)
    zones, zone_source = recipient_zones(recipient)
    esc = _escalate_orders(worthy, ctx, choice, _today(zones, ctx.as_of))
    if not choice.channels:
        if esc.keep:
            out.no_channel += 1
        ctx.decided.extend(
            _parcel_decision(ctx.run_id, r, "no_channel", choice.reason) for r in esc.keep
        )
        for p in esc.paused:
            out.count(out.deferred, "case_open")
            ctx.decided.extend(
                _parcel_decision(ctx.run_id, r, "deferred", p.reason) for r in p.rows
            )
        return
    affected = _resolve_paused(customer_id, esc, ctx)
    if not affected:
        return
    affected = _reshape(affected, told, next_update, ctx)
    escalated = esc.cases
    critical = esc.critical or any(r.cause in s.critical_causes for r in affected)
    key, round_, nid = _key_for(customer_id, affected, ctx)
    extra = {
        "critical": critical,
        "escalated_orders": escalated,
        "channels": choice.as_plan(),
        "recipient_zones": list(zones),
        "zone_source": zone_source,
    }
    plan = _plan(key, round_, affected, ctx, extra)
    previous = ctx.previous.get(customer_id, [])
    nid = still_told(previous, plan, ctx.sent_channels, choice.channels, ctx.as_of) or nid
    for case_id in escalated.values():
        ctx.cases.attach_notice(case_id, nid)
    _emit(nid, plan, affected, choice, zones, critical, ctx)


def _reshape(
    affected: list[Any], told: list[tuple[Any, bool]], next_update: datetime, ctx: _Context
) -> list[Any]:
    """The notice's rows as told, shaped from what is left once escalation took out paused
    orders (and, in ``instead`` mode, escalated ones): with no late row left, the problem
    parcels are an attention notice (a delay notice of problem parcels only cannot be
    written). With nothing taken out this is the shape escalation saw."""
    kept = {(r.order_id, r.shipment_id) for r in affected}
    shaped, attention = shape_told(
        [(r, flag) for r, flag in told if (r.order_id, r.shipment_id) in kept], next_update
    )
    if attention:
        ctx.attention.update(kept)
    return shaped


def _emit(
    nid: str,
    plan: dict[str, Any],
    rows: list[Any],
    choice: ChannelChoice,
    zones: tuple[str, ...],
    critical: bool,
    ctx: _Context,
) -> None:
    """Store the notice and decide which of its channels go out in this run."""
    out, s = ctx.out, ctx.settings
    customer_id = rows[0].customer_id
    ctx.notices.append(
        {
            "notice_id": nid,
            "customer_id": customer_id,
            "first_run_id": ctx.run_id,
            "plan": json.dumps(plan, default=str),
            "created_at": datetime.now(UTC),
        }
    )
    ctx.parcels.extend(
        {
            "notice_id": nid,
            "order_id": r.order_id,
            "shipment_id": r.shipment_id,
            "episode_id": r.episode_id,
        }
        for r in rows
    )
    already = ctx.sent_channels.get(nid, set())
    if customer_id in ctx.linked:  # a follow-up after this customer's new delay notice
        out.count(out.deferred, "another_notice_this_run")
        reason = (
            "another notice to this customer goes in this run (one message per customer per "
            "run); waits for a later run"
        )
        ctx.decided.append(_notice_decision(ctx.run_id, nid, rows, "", "deferred", reason))
        return
    sent = ctx.sent_24h.get(customer_id, 0)
    if not already and over_cap(sent, s.max_notices_per_day, critical):
        out.count(out.deferred, "frequency_cap")
        reason = (
            f"frequency cap: {sent} notices sent in the last 24 h (cap "
            f"{s.max_notices_per_day}); not critical, waits for a later run"
        )
        ctx.decided.append(_notice_decision(ctx.run_id, nid, rows, "", "deferred", reason))
        return
    channels = list(choice.channels)
    if "sms" in channels and "sms" not in already:
        opens = sms_opens_at(zones, ctx.as_of, s.sms_window)
        if opens != ctx.as_of:
            channels.remove("sms")
            out.count(out.deferred, "quiet_hours")
            when = (
                f"until {opens.astimezone(_zone_of(zones)).isoformat(timespec='minutes')}"
                if opens
                else "no common window in the recipient's zones"
            )
            reason = f"quiet hours: SMS only {describe_window(zones, s.sms_window)}; held {when}"
            ctx.decided.append(_notice_decision(ctx.run_id, nid, rows, "sms", "deferred", reason))
    if not channels:
        return
    out.notices += 1
    if set(channels) - already:  # a message goes (a channel already sent is not sent again)
        ctx.linked.add(customer_id)
    ctx.links.append({"run_id": ctx.run_id, "notice_id": nid, "channels": json.dumps(channels)})


def _zone_of(zones: tuple[str, ...]) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(zones[0]) if len(zones) == 1 else UTC


def _previous_notices(conn: Connection, customers: list[str]) -> dict[str, list[dict[str, Any]]]:
    n = schema.notices
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(customers):
        for r in conn.execute(
            select(n.c.customer_id, n.c.notice_id, n.c.plan, n.c.first_run_id).where(
                n.c.customer_id.in_(chunk)
            )
        ):
            plan = json.loads(r.plan)
            if "thread" in plan:
                plan.setdefault("run_id", r.first_run_id)
                plan.setdefault("notice_id", r.notice_id)
                out[r.customer_id].append(plan)
    return out


def _read(
    engine: Engine, run_id: str, as_of: datetime, s: TargetingSettings
) -> tuple[list[Any], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(query("affected"), {"run_id": run_id, "as_of": as_of}).all()
        customers = sorted({r.customer_id for r in rows})
        orders = sorted({r.order_id for r in rows})
        since = as_of - timedelta(hours=24)
        shared = {
            "histories": order_histories(
                conn.execute(query("order_history"), {"as_of": as_of}).all()
            ),
            "sent_24h": {
                r.customer_id: int(r.notices)
                for r in conn.execute(query("sent_recently"), {"since_at": since, "as_of": as_of})
            },
            "previous": _previous_notices(conn, customers),
            "sent_channels": decisions.sent_channels(conn, "customer_id", customers),
            "cases": CaseBook.load(conn, orders, run_id=run_id, as_of=as_of),
        }
    return list(rows), shared


def target(
    engine: Engine,
    *,
    run_id: str,
    as_of: datetime,
    settings: TargetingSettings | None = None,
    channels: tuple[str, ...] = ("email", "sms"),
) -> TargetResult:
    s = settings or load_targeting_settings()
    with engine.begin() as conn:
        labels = sync_labels(conn, as_of)
    rows, shared = _read(engine, run_id, as_of, s)
    ctx = _Context(run_id=run_id, as_of=as_of, settings=s, channels_enabled=channels, **shared)
    ctx.out.candidates = len(rows)
    ctx.out.labels_recorded = labels
    for customer_id, group in groupby(rows, key=lambda r: r.customer_id):
        _customer(customer_id, list(group), ctx)
    if s.follow_ups:
        from notify.followups import follow_ups

        follow_ups(engine, ctx, rows)
    decided = {tuple(d[k] for k in decisions.KEY): d for d in ctx.decided}
    with engine.begin() as conn:
        for table in (schema.decisions, schema.run_notices):
            conn.execute(delete(table).where(table.c.run_id == run_id))
        upsert(conn, schema.decisions, list(decided.values()), decisions.KEY)
        upsert(conn, schema.notices, ctx.notices, ["notice_id"], update=[])
        upsert(conn, schema.run_notices, ctx.links, ["run_id", "notice_id"])
        upsert(conn, schema.notice_parcels, ctx.parcels, ["notice_id", "order_id", "shipment_id"])
        ctx.cases.save(conn)
    return ctx.out
