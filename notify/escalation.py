"""When a delay goes to a person: the triggers, as pure functions of one order's facts.

Points of friction where an automated notice is not enough: a parcel lost, damaged or
returned to sender; a second delay of the same order; a delay beyond N days; a need-by date
the customer declared that the new ETA misses; a high-value order; a customer we cannot
reach at all while it matters. Thresholds come from :class:`notify.config.TargetingSettings`.

Each trigger has a key that names the delay it is about (the delay spell), so the same
trouble opens one case, and a new trouble on the same order (a new spell, a new kind) can
open another once the first case is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from notify.config import TargetingSettings

RETURNED = {"returning_to_sender", "returned_to_sender"}

# What a person should do about each kind of trigger (for the agent, not the customer).
RESOLUTIONS: dict[str, str] = {
    "lost": "Confirm the loss with the carrier (open a trace/claim) and offer the customer a "
    "replacement shipped express or a refund, their choice.",
    "damaged": "Ask the carrier for the damage report; offer a replacement shipped express or "
    "a refund; arrange the return of the damaged goods if the carrier delivers them.",
    "returned": "Contact the customer to confirm the address and whether they still want the "
    "items; reship on arrival back at the warehouse or refund.",
    "repeat_delay": "Second delay on this order: call or write personally, offer a goodwill "
    "gesture (shipping refund or voucher) and expedite if anything is still to ship.",
    "late_beyond_days": "Delay far beyond the promise: offer to cancel and refund, or to "
    "reship express now from stock.",
    "need_by_at_risk": "The customer needs this by a date the new ETA misses: offer an "
    "express reshipment that arrives in time, or a refund.",
    "high_value": "High-value order delayed: contact the customer personally and keep them "
    "updated until delivery.",
    "no_channel": "We cannot reach this customer by email or SMS (no consent or no valid "
    "contact): phone them or write through the order account with the delay facts.",
}
PRIORITY: dict[str, int] = {
    "lost": 3, "damaged": 3, "returned": 3, "need_by_at_risk": 3,
    "repeat_delay": 2, "late_beyond_days": 2, "high_value": 2, "no_channel": 1,
}  # fmt: skip
PRIORITY_NAMES = {3: "urgent", 2: "high", 1: "normal"}


@dataclass(frozen=True)
class Trigger:
    key: str  # "<kind>@<spell>": one case per kind of trouble per delay spell
    kind: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class ParcelDelay:
    """One delayed parcel of the order, as targeting sees it."""

    shipment_id: str
    spell: str  # the delay spell (first episode id) this parcel's episode belongs to
    cause: str
    eta_latest: date | None


@dataclass(frozen=True)
class OrderFacts:
    order_id: str
    promise_day: date
    today: date  # the run's date in the customer's zone
    parcels: tuple[ParcelDelay, ...]
    delay_waves: int  # delays of this order one after another (overlapping ones count once)
    need_by: date | None = None
    order_value: float | None = None
    reachable: bool = True


def days_late(o: OrderFacts) -> int:
    """How many days past the promise the order will arrive (unknown ETA: as of today)."""
    known = [p.eta_latest for p in o.parcels if p.eta_latest is not None]
    unknown = len(known) < len(o.parcels)
    latest = max(known) if known else None
    if unknown or latest is None:
        latest = max(o.today, latest or o.today)
    return max(0, (latest - o.promise_day).days)


def _cause_triggers(o: OrderFacts, s: TargetingSettings) -> list[Trigger]:
    out = []
    for p in o.parcels:
        cause = p.cause
        if cause not in s.escalate_causes:
            continue
        kind = "returned" if cause in RETURNED else cause
        out.append(Trigger(f"{kind}@{p.spell}", kind, f"parcel {p.shipment_id}: {cause}"))
    return out


def triggers(o: OrderFacts, s: TargetingSettings) -> list[Trigger]:
    """Every reason this order's delay should go to a person now."""
    out = _cause_triggers(o, s)
    spell = max(p.spell for p in o.parcels)
    late = days_late(o)
    if s.escalate_repeat_delays > 0 and o.delay_waves >= s.escalate_repeat_delays:
        detail = f"delay number {o.delay_waves} of this order"
        out.append(Trigger(f"repeat_delay@{spell}", "repeat_delay", detail))
    if s.escalate_delay_days > 0 and late >= s.escalate_delay_days:
        detail = f"{late} days past the promised {o.promise_day.isoformat()}"
        out.append(Trigger(f"late_beyond_days@{spell}", "late_beyond_days", detail))
    if o.need_by is not None and need_by_at_risk(o, s):
        detail = f"needed by {o.need_by.isoformat()}; the new ETA misses it or is unknown"
        out.append(Trigger(f"need_by_at_risk@{spell}", "need_by_at_risk", detail))
    value = s.escalate_order_value
    if value is not None and o.order_value is not None and o.order_value >= value:
        detail = f"order value {o.order_value:,.2f} >= {value:,.2f}"
        out.append(Trigger(f"high_value@{spell}", "high_value", detail))
    if not o.reachable and no_channel_matters(o, s, late):
        out.append(Trigger(f"no_channel@{spell}", "no_channel", "no usable email or SMS"))
    return out


def need_by_at_risk(o: OrderFacts, s: TargetingSettings) -> bool:
    if o.need_by is None:
        return False
    if any(p.eta_latest is None for p in o.parcels):
        return True
    latest = max(p.eta_latest for p in o.parcels if p.eta_latest is not None)
    return (o.need_by - latest).days < s.need_by_margin_days


def no_channel_matters(o: OrderFacts, s: TargetingSettings, late: int) -> bool:
    """An unreachable customer matters when the delay is serious, open-ended or long."""
    serious = any(p.cause in s.always_notify_causes for p in o.parcels)
    unknown = any(p.eta_latest is None for p in o.parcels)
    return serious or unknown or late >= s.no_channel_escalate_days


def priority(found: list[Trigger]) -> str:
    return PRIORITY_NAMES[max((PRIORITY.get(t.kind, 1) for t in found), default=1)]


def suggested_resolution(found: list[Trigger]) -> str:
    kinds = sorted({t.kind for t in found}, key=lambda k: -PRIORITY.get(k, 1))
    return " ".join(RESOLUTIONS[k] for k in kinds)


def delay_waves(spells: list[tuple[datetime, datetime | None]]) -> int:
    """Delays of one order one after another, from (opened_at, closed_at) per delay spell.

    Spells that overlap in time (two parcels held by the same storm) are one delay for the
    customer; a spell that opens after every earlier one has closed is a new one.
    """
    waves = 0
    until: datetime | None = None  # when every spell of the current wave closed (None: open)
    for opened, closed in sorted(spells, key=lambda s: s[0]):
        if waves == 0 or (until is not None and opened > until):
            waves += 1
            until = closed
        else:
            until = None if until is None or closed is None else max(until, closed)
    return waves
