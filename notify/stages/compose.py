"""Compose: one facts object per notice, everything the templates may print.

Templates only print these facts; a missing fact is an error at render time, never a
fallback. Items are only those carried by the delayed parcels of the customer's own orders.

Besides what targeting planned (parcels, ETA or next update, cause), compose adds:

- ``timezone``: the customer's zone, else the zone of the destination country when it has
  one; ``None`` (a render error, so the notice is quarantined) rather than a guess.
- ``contact``: the route to a person and the team's opening hours (settings), structured so
  the hours are printed in the customer's language.
- ``cause_evidence``: what the carrier did for the delay that decides the notice's cause
  (episode kind, carrier, the time and place of its event or last scan). When the carrier
  gave no reason this is what the message states instead (ADR 0007). When that delay is a
  stop at a hub (an incident with the notice's cause), ``stop`` names the hub's place and
  when the stop began, which the cause sentence states.
- ``causes``: when the late parcels of a notice have different causes, one entry per cause
  with its orders, its evidence (as above) and its next steps, so each order is told its
  own reason; the notice's ``next_steps`` are then those of every cause (ADR 0014). Empty
  when they share one cause.
- ``dates``: when the late parcels of a notice have different windows (or some have none),
  one entry per window with its orders, so each order is told its own date; the notice's
  ``eta`` stays the one that decides (ADR 0014). In a follow-up: the day each order arrived
  ("delivered") or its new window ("resolved"). Empty otherwise.
- ``escalated_orders``: the late orders a person now holds (a case opened with this notice);
  the steps then say a member of the team will contact the customer, and, when the person
  holds every order, no longer that we will write again (no automated message follows while
  a case is open).
- ``not_coming``: a delay notice whose every late parcel will not come (lost, on its way
  back, refused, cancelled: the rules' ``not_coming_causes``) says so ("will not arrive as
  planned", no delivery date) instead of "running late".
- ``awaits_customer``: an attention notice whose every parcel the carrier holds for the
  customer's answer (an address to confirm, duties to pay, papers to send) and gives no
  delivery day until then says so, instead of "nothing says yet that it will miss the date";
  ``orders[].problem.awaits_customer`` likewise for a problem parcel (ADR 0013).
- ``at_risk``: an attention notice with a parcel that could miss the promise (held, or no
  window of ours, with the promise near; target's ``tell``) says so: "held up, could miss
  the date we promised", not "nothing says yet"; ``orders[].problem.at_risk`` likewise for
  a problem parcel (ADR 0016).
- ``previous_notice``: the last notice we sent about any of these parcels (a second delay),
  with the day it went out and what it said.
- ``orders[].problem``: on an entry of a delay notice's problem parcels (target's
  ``problem_parcels``: a problem reported, nothing says late), their cause and next steps;
  such an entry follows the order's late entry, if any (ADR 0013).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Connection, Engine

from carriers import registry
from carriers.models import Location
from carriers.timezones import zone_for
from notify.audience import window_of
from notify.config import Settings
from notify.contacts import email_address, region_of, sms_number
from notify.next_steps import PERSON, WAIT, next_step_dates, next_steps
from notify.rules import rules_for
from notify.store import schema
from notify.store.types import as_utc

IN_CHUNK = 500
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"(?P<days>[a-z,-]+)\s+(?P<opens>\d\d:\d\d)-(?P<closes>\d\d:\d\d)\Z")


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


def _weekdays(spec: str) -> list[str]:
    days: list[str] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(part)
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            raise ValueError(part)
        days += [d for d in WEEKDAYS[start : end + 1] if d not in days]
    return days


def support_hours(text: str) -> list[dict[str, Any]]:
    """``OASIS_SUPPORT_HOURS`` as facts: "mon-fri 08:00-20:00; sat 09:00-13:00"."""
    entries = []
    for raw in (part.strip().lower() for part in text.split(";")):
        match = _HOURS_RE.match(raw)
        try:
            if match is None:
                raise ValueError(raw)
            days = _weekdays(match["days"])
        except ValueError:
            raise ValueError(
                f"OASIS_SUPPORT_HOURS entry {raw!r} is not like 'mon-fri 08:00-20:00' "
                "(entries separated by ';', days mon..sun, 24-hour times)"
            ) from None
        entries.append({"days": days, "opens": match["opens"], "closes": match["closes"]})
    return entries


def contact_facts(settings: Settings) -> dict[str, Any]:
    """How to reach a person, and when (the zone the support team works in)."""
    return {
        "route": settings.support_contact,
        "hours": support_hours(settings.support_hours),
        "timezone": settings.support_timezone,
    }


def customer_zone(customer: Any, shipments: Iterable[Any]) -> str | None:
    """The customer's zone, else their destination country's when it has only one zone."""
    if customer.timezone:
        return str(customer.timezone)
    countries = {s.destination_country for s in shipments if s.destination_country}
    zones = {zone_for(Location(country=c)) for c in countries}
    if len(zones) == 1 and None not in zones:
        return str(next(iter(zones)))
    return None


def carrier_title(name: str) -> str:
    try:
        return registry.get(name).title
    except KeyError:
        return name.upper()


def _localize(value: Any, zone: str | None) -> str | None:
    """An instant as ISO 8601 in the customer's zone (UTC offset when the zone is unknown:
    the instant stays exact, and the missing zone is the renderer's error to report)."""
    if value is None:
        return None
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(ZoneInfo(zone) if zone else UTC).isoformat(timespec="minutes")


def message_locale(locale: str | None, settings: Settings) -> str:
    """The customer's locale when we have wording in its language, else the default one."""
    from notify.render import supported_languages

    language = (locale or "").replace("_", "-").split("-")[0].lower()
    if language in supported_languages(settings.templates_dir):
        return str(locale)
    return settings.default_locale


def _place(event: Any) -> str | None:
    if not event.city:
        return None
    where = event.region or event.country
    return f"{event.city}, {where}" if where else str(event.city)


def _last_scans(conn: Connection, parcels: set[tuple[str, str]], as_of: datetime) -> dict[Any, Any]:
    """The newest event up to ``as_of`` of each (carrier, tracking number)."""
    ev = schema.tracking_events
    latest: dict[tuple[str, str], Any] = {}
    for chunk in _chunks(sorted({number for _, number in parcels})):
        rows = conn.execute(
            select(ev).where(ev.c.tracking_number.in_(chunk), ev.c.occurred_at <= as_of)
        ).all()
        for r in rows:
            key = (r.carrier, r.tracking_number)
            if key in parcels and (key not in latest or r.occurred_at > latest[key].occurred_at):
                latest[key] = r
    return latest


class _EvidenceSource:
    """What the carrier did for the notices' delays, read once for a run: their episodes,
    each episode's newest trouble event (else its parcel's last scan), and their incidents."""

    def __init__(self, conn: Connection, plans: dict[str, dict[str, Any]], as_of: datetime):
        ep, ev, inc = schema.delay_episodes, schema.tracking_events, schema.incidents
        ids = {p[2] for plan in plans.values() for p in plan["core"]["parcels"]}
        self.as_of = as_of
        self.episodes = {r.episode_id: r for r in _fetch(conn, ep.c.episode_id, ids, ep)}
        found = self.episodes.values()
        events = {str(ids[-1]) for e in found if (ids := json.loads(e.evidence))}
        self.events = {str(r.event_id): r for r in _fetch(conn, ev.c.event_id, events, ev)}
        bare = {(e.carrier, e.tracking_number) for e in found if e.evidence == "[]"}
        self.scans = _last_scans(conn, bare, as_of)
        incidents = {e.incident_id for e in found if e.incident_id}
        self.stops = {r.incident_id: r for r in _fetch(conn, inc.c.incident_id, incidents, inc)}

    def of(self, episode_ids: Iterable[str], cause: str) -> dict[str, Any] | None:
        """Among these episodes with ``cause`` (else all of them), the one with the newest
        evidence: the carrier's trouble event, or else (late ETA, promise breached) its
        last scan."""
        mine = [self.episodes[i] for i in episode_ids if i in self.episodes]
        candidates = [e for e in mine if e.cause == cause] or mine
        found = []
        for e in candidates:
            ids = json.loads(e.evidence)
            parcel = (e.carrier, e.tracking_number)
            event = self.events.get(str(ids[-1])) if ids else self.scans.get(parcel)
            at = as_utc(event.occurred_at) if event is not None else None
            found.append((at is not None, at, e.episode_id, e, event))
        if not found:
            return None
        _, at, _, episode, event = max(found, key=lambda f: (f[0], f[1] or self.as_of, f[2]))
        return {
            "kind": episode.kind,
            "carrier": episode.carrier,
            "carrier_title": carrier_title(episode.carrier),
            "at": at.isoformat() if at is not None else None,
            "place": _place(event) if event is not None else None,
            "stop": _stop(candidates, self.stops, cause),
        }


def _late_by(plan: dict[str, Any], key: Callable[[dict[str, Any]], Any]) -> dict[Any, Any]:
    """The late parcels of a notice (a problem parcel told apart, ADR 0013, has its own
    entry and is not counted) grouped by ``key``: per value, its orders, parcels and
    episodes. Empty when they all share one value: the notice's own fact says it all."""
    late = [f for f in plan.get("parcel_facts", []) if not f.get("problem")]
    groups: dict[Any, dict[str, set[str]]] = defaultdict(
        lambda: {"order_ids": set(), "shipment_ids": set(), "episode_ids": set()}
    )
    for f in late:
        group = groups[key(f)]
        group["order_ids"].add(f["order_id"])
        group["shipment_ids"].add(f["shipment_id"])
        group["episode_ids"].add(f["episode_id"])
    return groups if len(groups) > 1 else {}


def cause_groups(plan: dict[str, Any], source: _EvidenceSource | None) -> list[dict[str, Any]]:
    """The causes of a notice whose late parcels differ in cause, each with its orders, its
    evidence and its next steps; the notice's own cause first, then by first order."""
    groups = _late_by(plan, lambda f: f["cause"])
    ranked = sorted(groups, key=lambda c: (c != plan["cause"], min(groups[c]["order_ids"]), c))
    return [
        {
            "cause": cause,
            "order_ids": sorted(groups[cause]["order_ids"]),
            "shipment_ids": sorted(groups[cause]["shipment_ids"]),
            "evidence": source.of(sorted(groups[cause]["episode_ids"]), cause) if source else None,
            "next_steps": next_steps(cause),
        }
        for cause in ranked
    ]


def date_groups(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The windows of a notice whose late parcels have different ones, each with its orders:
    earliest first, those without a date last. One window for the notice said "no reliable
    date yet" about an order the carrier had a day for, or a later day than its own (ADR
    0014)."""
    groups = _late_by(plan, lambda f: window_of(f.get("eta_earliest"), f.get("eta_latest")))
    ranked = sorted(groups, key=lambda w: (w is None, w or ("", ""), min(groups[w]["order_ids"])))
    return [
        {
            "eta": {"earliest": w[0], "latest": w[1]} if w else None,
            "order_ids": sorted(groups[w]["order_ids"]),
            "shipment_ids": sorted(groups[w]["shipment_ids"]),
        }
        for w in ranked
    ]


def _with_items(groups: list[dict[str, Any]], lines: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """An order split across causes (one parcel held by weather, the other not delivered), or
    across windows, is named with the items of each: ``items`` lists the titles of a group's
    parcels of such orders, so "Order O1 (Desk lamp): ..." says which part it is about."""
    seen: dict[str, int] = defaultdict(int)
    for g in groups:
        for order_id in g["order_ids"]:
            seen[order_id] += 1
    split = {order_id for order_id, n in seen.items() if n > 1}
    return [
        {
            **g,
            "items": [
                line.title
                for sid in g["shipment_ids"]
                for line in lines.get(sid, [])
                if line.order_id in split
            ],
        }
        for g in groups
    ]


def merged_steps(groups: list[dict[str, Any]]) -> list[str]:
    """The notice's next steps when its orders have different causes: every step that asks
    something of the customer (or says what we do about it), then "we will update you" if
    any cause has it; "nothing to do" only when no cause asks anything."""
    steps = [s for g in groups for s in g["next_steps"]]
    acting = [s for s in dict.fromkeys(steps) if s not in WAIT]
    waiting = [s for s in WAIT if s in steps]
    if acting:
        waiting = [s for s in waiting if s != "nothing_to_do"]
    return acting + waiting


def _stop(episodes: list[Any], stops: dict[str, Any], cause: str) -> dict[str, Any] | None:
    """The hub stop behind a notice's cause: where and since when. Only when every parcel
    told with that cause is held by, or heading into, that one stop, with one carrier (the
    sentence names the hub and its carrier); else None, and the cause is told without a
    place (as for one of another cause, or whose place the carrier's scans did not name)."""
    ids = {e.incident_id for e in episodes if e.cause == cause}
    carriers = {e.carrier for e in episodes if e.cause == cause}
    if len(ids) != 1 or len(carriers) != 1 or None in ids:
        return None
    incident = stops.get(ids.pop())
    if incident is None or incident.cause != cause:
        return None
    place = _place(incident)
    if place is None:
        return None
    return {"place": place, "since": as_utc(incident.starts_at).isoformat()}


def previous_notices(
    conn: Connection, notice_ids: list[str], run_id: str, as_of: datetime
) -> dict[str, dict[str, Any]]:
    """Per notice: the last other notice sent about any of its parcels before this run."""
    np, d, r, n = schema.notice_parcels, schema.decisions, schema.runs, schema.notices
    earlier = np.alias("earlier")
    found: dict[str, tuple[datetime, str, str]] = {}
    for chunk in _chunks(notice_ids):
        rows = conn.execute(
            select(np.c.notice_id, earlier.c.notice_id.label("previous"), r.c.as_of, n.c.facts)
            .join(
                earlier,
                and_(
                    earlier.c.order_id == np.c.order_id,
                    earlier.c.shipment_id == np.c.shipment_id,
                    earlier.c.notice_id != np.c.notice_id,
                ),
            )
            .join(d, and_(d.c.notice_id == earlier.c.notice_id, d.c.decision == "sent"))
            .join(r, r.c.run_id == d.c.run_id)
            .join(n, n.c.notice_id == earlier.c.notice_id)
            .where(np.c.notice_id.in_(chunk), d.c.run_id != run_id, r.c.as_of <= as_of)
        ).all()
        for row in rows:
            sent_at = as_utc(row.as_of)
            best = found.get(row.notice_id)
            if best is None or (sent_at, row.previous) > best[:2]:
                found[row.notice_id] = (sent_at, row.previous, row.facts)
    out = {}
    for notice_id, (sent_at, _, facts_json) in found.items():
        facts = json.loads(facts_json)
        out[notice_id] = {
            "sent_at": sent_at,
            "eta": facts["eta"],
            "next_update_by": facts["next_update_by"],
        }
    return out


def _previous_facts(previous: dict[str, Any] | None, zone: str | None) -> dict[str, Any] | None:
    if previous is None:
        return None
    return {
        "sent_on": previous["sent_at"].astimezone(ZoneInfo(zone or "UTC")).date().isoformat(),
        "eta": previous["eta"],
        "next_update_by": previous["next_update_by"],
    }


# What a follow-up asks of the customer: check the parcel is really there (a delivery scan
# at the wrong door is how a "delivered" parcel goes missing), or nothing at all.
FOLLOW_UP_STEPS = {"delivered": ["check_delivery"], "resolved": ["nothing_to_do"]}


def with_a_person(steps: list[str], everyone: bool) -> list[str]:
    """The steps of a notice some of whose orders a person now holds (a case opened with it,
    ADR 0006): "a member of our team will contact you" joins the steps that ask something.
    While the case is open no automated message follows, so when the person holds every
    order "we will message you again" goes (and "nothing to do", as with any step that
    asks something)."""
    acting = [s for s in steps if s not in WAIT]
    if PERSON not in acting:
        acting.append(PERSON)
    waiting = ["we_will_update"] if "we_will_update" in steps and not everyone else []
    return acting + waiting


def _steps(
    kind: str,
    stored: dict[str, Any],
    zone: str | None,
    groups: list[dict[str, Any]] | None = None,
    escalated: tuple[list[str], bool] = ([], False),
) -> dict[str, Any]:
    if kind in FOLLOW_UP_STEPS:
        return {"next_steps": FOLLOW_UP_STEPS[kind], "next_step_dates": {}}
    causes = [g["cause"] for g in groups] if groups else [stored["cause"]]
    dates: dict[str, str] = {}
    for cause in causes:
        dates.update(next_step_dates(cause, stored["eta"], stored["as_of"], zone))
    steps = merged_steps(groups) if groups else next_steps(stored["cause"])
    orders, everyone = escalated
    return {
        "next_steps": with_a_person(steps, everyone) if orders else steps,
        "next_step_dates": dates,
    }


def _from_planned_day(eta: dict[str, Any] | None, as_of: str, zone: str | None) -> Any:
    """The window as of the day the notice was planned (customer's zone). The ETA stage keeps
    a window told before while it still holds, so its first day can already be past: the
    message states the days still ahead (the notice's identity keeps the window as told, so
    this alone is no news)."""
    if not eta or not eta.get("earliest"):
        return eta
    today = datetime.fromisoformat(as_of).astimezone(ZoneInfo(zone) if zone else UTC).date()
    earliest = date.fromisoformat(str(eta["earliest"])[:10])
    latest = date.fromisoformat(str(eta["latest"])[:10])
    if earliest >= today or latest < today:
        return eta
    likely = eta.get("most_likely")
    ahead = max(date.fromisoformat(str(likely)[:10]), today) if likely else today
    return {**eta, "earliest": today.isoformat(), "most_likely": ahead.isoformat()}


def _told_window(stored: dict[str, Any], eta: Any, zone: str | None) -> Any:
    """A window as the message states it: the days still ahead (``_from_planned_day``),
    except in "delivered", whose days are the past days the parcels arrived."""
    if stored.get("kind") == "delivered":
        return eta
    return _from_planned_day(eta, stored["as_of"], zone)


def _dates(stored: dict[str, Any], lines: dict[str, list[Any]], zone: str | None) -> list[Any]:
    """``dates``: each window and its orders when the late parcels' windows differ (in a
    follow-up: the days they arrived, or their new windows), each stated as the notice's
    window is (``_told_window``)."""
    groups = _with_items(date_groups(stored), lines)
    for g in groups:
        g["eta"] = _told_window(stored, g["eta"], zone)
    return groups


def _problem(
    cause: str, stored: dict[str, Any], zone: str | None, awaits: bool = False, risky: bool = False
) -> dict[str, Any]:
    """An order entry of problem parcels carries their own cause and next steps, whether
    the carrier holds them for the customer's answer with no day until then, and whether they
    could miss the promised day (ADR 0016)."""
    if not cause:
        return {}
    steps = {"cause": cause, "as_of": stored["as_of"], "eta": None}
    problem = {"cause": cause, **_steps("delay", steps, zone)}
    flags = {"awaits_customer": True} if awaits else {}
    flags.update({"at_risk": True} if risky else {})
    return {"problem": {**problem, **flags}}


def _flagged(stored: dict[str, Any], flag: str) -> set[tuple[str, str]]:
    """(order, parcel) pairs whose parcel facts carry ``flag``: ``awaits_customer`` (the
    carrier holds them for the customer's answer and gives no day until then, target's
    ``carrier_awaits_customer``) or ``at_risk`` (they could miss the promise, ``tell``)."""
    return {
        (f["order_id"], f["shipment_id"]) for f in stored.get("parcel_facts", []) if f.get(flag)
    }


def build_facts(
    notice_id: str,
    stored: dict[str, Any],
    customer: Any,
    orders: dict[str, Any],
    lines: dict[str, list[Any]],
    shipments: dict[str, Any],
    settings: Settings,
    *,
    evidence: dict[str, Any] | None = None,
    previous: dict[str, Any] | None = None,
    contact: dict[str, Any] | None = None,
    groups: list[dict[str, Any]] | None = None,
    not_coming_causes: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    # An order's late parcels make one entry; its problem parcels (a delay notice's parcels
    # told apart, target's ``problem_parcels``) one more per cause, listed after the late ones.
    problems = {(o, sid): cause for o, sid, cause in stored.get("problem_parcels", [])}
    by_order: dict[tuple[str, str], list[str]] = defaultdict(list)
    for order_id, shipment_id, _episode in stored["core"]["parcels"]:
        by_order[(order_id, problems.get((order_id, shipment_id), ""))].append(shipment_id)
    shipment_ids = sorted({sid for ids in by_order.values() for sid in ids})
    zone = customer_zone(customer, (shipments[sid] for sid in shipment_ids))
    kind = stored.get("kind", "delay")
    late = {order_id for order_id, problem in by_order if not problem}
    escalated = sorted(set(stored.get("escalated_orders") or {}) & late)
    causes = {f["cause"] for f in stored.get("parcel_facts", []) if not f.get("problem")}
    not_coming = kind == "delay" and stored["eta"] is None
    not_coming = not_coming and (causes or {stored["cause"]}) <= not_coming_causes
    awaiting, risky = _flagged(stored, "awaits_customer"), _flagged(stored, "at_risk")
    told_pairs = {(o, sid) for (o, problem), ids in by_order.items() if not problem for sid in ids}
    awaits_customer = kind == "attention" and bool(told_pairs) and told_pairs <= awaiting
    promise_at_risk = kind == "attention" and bool(told_pairs & risky)
    return {
        "notice_id": notice_id,
        "customer_id": customer.customer_id,
        "shipment_ids": shipment_ids,
        "kind": kind,
        "locale": message_locale(customer.locale, settings),
        "timezone": zone,
        "brand": settings.brand_name,
        "orders_url": settings.orders_url or None,
        "customer": {
            "first_name": customer.first_name,
            "email": email_address(customer.email),
            "phone": sms_number(customer.phone, region_of(customer.locale)),
        },
        "orders": [
            {
                **_problem(
                    problem,
                    stored,
                    zone,
                    all((order_id, sid) in awaiting for sid in shipment_ids),
                    any((order_id, sid) in risky for sid in shipment_ids),
                ),
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
            for (order_id, problem), shipment_ids in sorted(
                by_order.items(), key=lambda kv: (bool(kv[0][1]), kv[0])
            )
        ],
        "eta": _told_window(stored, stored["eta"], zone),
        "next_update_by": _localize(stored["next_update_by"], zone),
        "cause": stored["cause"],
        "cause_evidence": evidence,
        "causes": _with_items(groups, lines) if groups else [],
        "dates": _dates(stored, lines, zone),
        "escalated_orders": escalated,
        "not_coming": not_coming,
        "awaits_customer": awaits_customer,
        "at_risk": promise_at_risk,
        **_steps(kind, stored, zone, groups, (escalated, set(escalated) == late)),
        "contact": contact if contact is not None else contact_facts(settings),
        "previous_notice": _previous_facts(previous, zone),
    }


def _run_as_of(conn: Connection, run_id: str, plans: Iterable[dict[str, Any]]) -> datetime:
    """The run's world time (the plan's when the run row is not there)."""
    found = conn.execute(select(schema.runs.c.as_of).where(schema.runs.c.run_id == run_id))
    value = found.scalar()
    if value is not None:
        return as_utc(value)
    return max(datetime.fromisoformat(plan["as_of"]) for plan in plans)


def compose(engine: Engine, *, run_id: str, settings: Settings) -> ComposeResult:
    n, rn = schema.notices, schema.run_notices
    contact = contact_facts(settings)  # a bad setting fails the stage here, naming it
    gone = rules_for(settings).eta.not_coming_causes
    with engine.connect() as conn:
        stored = conn.execute(
            select(n.c.notice_id, n.c.customer_id, n.c.plan)
            .join(rn, rn.c.notice_id == n.c.notice_id)
            .where(rn.c.run_id == run_id)
        ).all()
        facts_in = {r.notice_id: json.loads(r.plan) for r in stored}
        if not facts_in:
            return ComposeResult()
        as_of = _run_as_of(conn, run_id, facts_in.values())
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
        source = _EvidenceSource(conn, facts_in, as_of)
        evidence = {
            nid: source.of((p[2] for p in plan["core"]["parcels"]), plan["cause"])
            for nid, plan in facts_in.items()
        }
        groups = {nid: cause_groups(plan, source) for nid, plan in facts_in.items()}
        previous = previous_notices(conn, sorted(facts_in), run_id, as_of)
    updates = []
    for r in stored:
        customer = customers[r.customer_id]
        plan = facts_in[r.notice_id]
        facts = build_facts(
            r.notice_id,
            plan,
            customer,
            orders,
            lines,
            ships,
            settings,
            evidence=evidence.get(r.notice_id),
            previous=previous.get(r.notice_id),
            contact=contact,
            groups=groups[r.notice_id],
            not_coming_causes=gone,
        )
        updates.append({"nid": r.notice_id, "facts": json.dumps(facts)})
    with engine.begin() as conn:
        conn.execute(
            update(n).where(n.c.notice_id == bindparam("nid")).values(facts=bindparam("facts")),
            updates,
        )
    return ComposeResult(notices=len(updates))
