"""Targeting rules on rows: who is affected, which delay spell a parcel is in, notice keys.

* A parcel row is notice-worthy when its order is open in the order system, the parcel
  carries items of that order, and the delay touches the promise: the new ETA is after the
  promised day, or the cause always matters (lost, damaged, an address to confirm, ...), or
  the carrier's own newest ETA statement is after the promised day (or withdraws the ETA),
  or the ETA is unknown and the promise is already close (or past) unless the carrier re-planned
  after the delay and still names a day within the promise, or the carrier reports the parcel
  running late on a schedule that ends on the promised day, or the parcel is held past the
  carrier's day with no day to spare before the promise (an unknown ETA running late on a
  schedule with a day to spare is not told, however near the promise), or the delivery failed
  at the door (the parcel went out for delivery and is held at an exception without a cause).
  Not told as late, whatever the hours left: a parcel held on the last mile (a cause of the
  door, or held at a scan in the destination's postal code) whose carrier has since scheduled
  its next attempt within the promise, and a parcel out for delivery today, by the promise.
  Running late on a schedule that ends on the promised day is told even when our window meets
  the promise. A window of ours that still holds the promised day is not told: such a row is
  held back, or, when notice-worthy for another reason, told with no date and a time by which
  we write again (as is any notice-worthy row whose window of ours does not start after the
  promised day: a delay notice names only days after it).
* A row notice-worthy only because its cause always matters (the carrier reports a problem,
  but nothing says the promise is missed) is told as an *attention* notice, not a delay: what
  happened and what to do, with our window when it ends by the promised day, else the time we
  write again. A customer whose rows are all such gets an attention notice; one with any
  late row gets a delay notice covering them all.
* A delay spell is one delay of one parcel as the customer lives it: normally one episode;
  when the parcel was relabelled (same shipment_id, new tracking number) while delayed, the
  episode on the new label continues the spell of the old one.
* A notice key is (customer, episode set, fact version): the episode set is the sorted
  (order, parcel, spell) triples it covers; the fact version is what the customer is told
  (kind, ETA window, cause) and, for an unknown ETA, which "next update by" round it is.
  The same key always gives the same notice id; a change of told facts gives a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, insert, literal, select
from sqlalchemy.engine import Connection

from notify.calendars import CalendarSpec, add_days
from notify.config import TargetingSettings
from notify.escalation import delay_waves
from notify.rules import EtaRules
from notify.store import schema
from notify.store.types import UTCDateTime, as_utc


def digest(value: Any, prefix: str, size: int = 24) -> str:
    raw = json.dumps(value, sort_keys=True, default=str)
    return prefix + hashlib.sha256(raw.encode()).hexdigest()[:size]


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if name else ZoneInfo("UTC")


def promise_day(row: Any) -> date:
    """The promised day in the customer's own zone."""
    if len(row.promised_by) == 10:
        return date.fromisoformat(row.promised_by)
    return as_utc(row.promised_by_utc).astimezone(_zone(row.timezone)).date()


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def carrier_says_late(row: Any) -> bool:
    """The carrier's newest ETA statement (as of the run) names a day after the promised
    day, or withdraws the ETA. The carrier holds the parcel: its own word that the promise
    will not be kept is evidence of lateness even when our window (learned from history that
    may know nothing of this hold) still meets the promise, or is unknown while the promise
    is days away. A withdrawal while the parcel waits for the customer's answer is not
    (``carrier_awaits_customer``)."""
    if getattr(row, "carrier_eta_stated_at", None) is None:
        return False
    stated = _day(getattr(row, "carrier_eta_latest", None))
    if stated is None:
        return not carrier_awaits_customer(row)
    return stated > promise_day(row)


# Causes the customer clears (confirm the address, pay the duties, send the papers): the
# carrier holds the parcel until they answer, and withdraws its day meanwhile.
AWAITING_CUSTOMER = frozenset({"address_issue", "held_for_payment", "incorrect_documents"})


def carrier_awaits_customer(row: Any) -> bool:
    """The carrier withdrew its day (its newest statement gives none) while the parcel waits
    for the customer (a cause in ``AWAITING_CUSTOMER``). Its silence is about their answer,
    not a day after the promise: whether the promise is kept turns on how soon they act, so
    the notice asks them to act and does not call the parcel late."""
    if row.cause not in AWAITING_CUSTOMER:
        return False
    if getattr(row, "carrier_eta_stated_at", None) is None:
        return False
    return _day(getattr(row, "carrier_eta_latest", None)) is None


def window_of(earliest: Any, latest: Any) -> tuple[str, str] | None:
    """A told parcel's window as (first day, last day); None when it has none."""
    if not latest:
        return None
    return str(earliest or latest)[:10], str(latest)[:10]


def promise_over(row: Any, as_of: datetime) -> bool:
    """The promised day is over (customer's zone) and the parcel not delivered: no window,
    carrier day or redelivery can "still meet" the promise, whatever a stale window shows.
    (Our model's ``p_late`` of 1 is not used: it is also what a thin history where every
    parcel came late gives, and such parcels have arrived on the promised day.)"""
    return as_of > as_utc(row.promised_by_utc)


MOVING = frozenset({"in_transit", "out_for_delivery"})


def moving_again(row: Any) -> bool:
    """The parcel's newest scan came after its delay began and shows it on its way (in
    transit or out for delivery): it is running late, not held where the trouble stopped it
    (a hub stop, a failed delivery at the door), whose end no scan has told yet."""
    status, at = getattr(row, "last_scan_status", None), getattr(row, "last_scan_at", None)
    opened = getattr(row, "episode_opened_at", None)
    if status not in MOVING or at is None or opened is None:
        return False
    return as_utc(at) > as_utc(opened)


def unrevised_day_running_late(row: Any, s: TargetingSettings) -> date | None:
    """The carrier's first scheduled day when it reports the parcel running late (a cause in
    ``s.schedule_delay_causes``, and the parcel moved on after that scan) and still shows
    that day (it has not re-planned); None otherwise."""
    if row.cause not in s.schedule_delay_causes or not moving_again(row):
        return None
    first = _day(getattr(row, "carrier_eta_first", None))
    latest = _day(getattr(row, "carrier_eta_latest", None))
    return first if first is not None and latest == first else None


def delay_on_a_full_schedule(row: Any, s: TargetingSettings) -> bool:
    """The carrier reports the parcel running late (a cause in ``s.schedule_delay_causes``,
    and the parcel moved on after that scan) but still shows the first day it scheduled, and
    that day is the promised day itself: the delay has no room left before the promise. (A
    carrier that re-plans after a delay states a new day; one that has not yet re-planned
    still shows its old schedule.) A scheduled day our window already starts after can no
    longer be met: the schedule has slipped to our first day, which already counts the delay,
    so it is late only when that day is after the promised day. (A day slipped onto the
    promised day itself was told late and arrived that day in 13 of 17 such rows over 39
    days of six-hourly runs on seeds 13 and 29; the window rules judge it.)"""
    first = unrevised_day_running_late(row, s)
    if first is None:
        return False
    earliest = _day(row.eta_earliest)
    if earliest is not None and earliest > first:  # the carrier's day is already out of reach
        return earliest > promise_day(row)
    return first >= promise_day(row)


def delay_with_room_on_schedule(row: Any, as_of: datetime, s: TargetingSettings) -> bool:
    """The mirror of ``delay_on_a_full_schedule``: the carrier reports the parcel running
    late, the parcel moved on after that scan, and the carrier still shows the first day it
    scheduled, which is today or later (customer's zone) and before the promised day. The
    schedule has a day to spare, and a parcel running late on it is usually a day late: that
    day is absorbed before the promise. (A day already past has used up its spare time.)"""
    first = unrevised_day_running_late(row, s)
    if first is None:
        return False
    today = as_of.astimezone(_zone(getattr(row, "timezone", None))).date()
    return today <= first < promise_day(row)


def held_at_exception(row: Any) -> bool:
    """The parcel's newest scan is the exception itself, at or after the delay began: it is
    held where the trouble stopped it."""
    status, at = getattr(row, "last_scan_status", None), getattr(row, "last_scan_at", None)
    opened = getattr(row, "episode_opened_at", None)
    return (
        status == "exception"
        and at is not None
        and opened is not None
        and (as_utc(at) >= as_utc(opened))
    )


def failed_at_the_door(row: Any) -> bool:
    """The parcel was out for delivery when the delay began and is held at an exception the
    carrier gives no cause for: the delivery failed at the door. The carrier's day is lost,
    and a failed delivery it will not explain (an address it cannot find, a refusal, a return)
    may need the customer; a delay on the way would have been scanned before the delivery
    run."""
    out = getattr(row, "status_before_delay", None) == "out_for_delivery"
    return out and row.cause == "unknown" and held_at_exception(row)


def held_past_carrier_day(row: Any, as_of: datetime, s: TargetingSettings) -> bool:
    """The parcel is held where the trouble stopped it (its newest scan is the exception
    itself, at or after the delay began), the carrier has not re-planned since the delay
    began, and the carrier's day is today or tomorrow (customer's zone): a parcel that has not
    moved on by now misses that day, and a hold has no known end. It is told when the promised
    day leaves at most ``s.held_spare_days`` days to spare after the carrier's day (or after
    today, when that day has passed)."""
    if not held_at_exception(row):
        return False
    opened = row.episode_opened_at
    day = _day(getattr(row, "carrier_eta_latest", None))
    since = getattr(row, "carrier_eta_day_since", None)
    if day is None or since is None or as_utc(since) > as_utc(opened):
        return False  # no day, or a day stated knowing of the hold: the carrier re-planned
    today = as_of.astimezone(_zone(getattr(row, "timezone", None))).date()
    if day > today + timedelta(days=1):
        return False  # the carrier's day may still be kept if the hold ends soon
    return (promise_day(row) - max(day, today)).days <= s.held_spare_days


ATTENTION = "attention"  # decide(): told, as a problem to attend to, not as late
# decide(): told as a problem that puts the promise at risk (ADR 0016): the parcel is held or
# has no window of ours and the promise is near, but nothing settles that it is late
PROMISE_AT_RISK = "promise_at_risk"
TOLD = (None, ATTENTION, PROMISE_AT_RISK)  # decide()'s answers for a row that is told


def decide(row: Any, as_of: datetime, s: TargetingSettings) -> str | None:
    """Why this (order, parcel) does not warrant a notice now (the suppression reason), None
    when it is told as late, ``ATTENTION`` when it is told only because its cause always
    matters: the carrier reports a problem (an address to confirm, damage, ...) but nothing
    says the promise is missed, so its notice tells what happened and what to do, not that it
    is late; or ``PROMISE_AT_RISK`` when the promise is near and nothing says when the
    parcel comes (a hold with no end known): told that it could miss the promise, not that
    it does."""
    if row.order_status != "open":
        return f"order_{row.order_status}"
    if not row.parcel_lines and row.shipped_lines:
        return "no_items_of_this_order_in_parcel"
    reason = lateness_reason(row, as_of, s)
    if reason not in TOLD and row.cause in s.always_notify_causes:
        return ATTENTION
    return reason


def tell(
    rows: Iterable[Any], as_of: datetime, s: TargetingSettings
) -> tuple[list[tuple[Any, bool]], list[tuple[Any, str]]]:
    """A customer's rows split by ``decide``: the told ones, each with whether it is told as
    a problem rather than as late (the flag ``shape_told`` takes; a row at risk comes back
    marked, ``at_risk``), and the suppressed ones with their reason."""
    told: list[tuple[Any, bool]] = []
    suppressed: list[tuple[Any, str]] = []
    for row in rows:
        reason = decide(row, as_of, s)
        if reason == PROMISE_AT_RISK:
            told.append((_with(row, at_risk=True), True))
        elif reason in TOLD:
            told.append((row, reason == ATTENTION))
        else:
            suppressed.append((row, str(reason)))
    return told, suppressed


def at_risk(row: Any) -> bool:
    """A row ``tell`` marked as a promise at risk (only a namespace can be one)."""
    return isinstance(row, SimpleNamespace) and bool(getattr(row, "at_risk", False))


def lateness_reason(row: Any, as_of: datetime, s: TargetingSettings) -> str | None:
    """Why nothing says this parcel misses its promise (the suppression reason),
    ``PROMISE_AT_RISK`` when the promise is near and nothing says when it comes, or None when
    it is told as late."""
    if carrier_says_late(row):
        if withdrawn_at_the_door(row) and not promise_over(row, as_of):
            return PROMISE_AT_RISK  # no day since a problem at the door it gives no cause for
        return None  # the carrier itself no longer gives a day within the promise
    if promise_over(row, as_of):
        return None  # the promised day is over and the parcel is not delivered
    if carrier_awaits_customer(row) and row.cause in s.always_notify_causes:
        return "carrier_awaits_customer"  # told as a problem to attend to (decide)
    if redelivery_in_time(row, as_of):
        return "redelivery_meets_promise"
    if out_for_delivery_by_promise(row, as_of):
        return "out_for_delivery_by_promise"
    if next_attempt_by_promise(row, as_of):
        return "next_attempt_meets_promise"
    if failed_at_the_door(row):
        return None  # the carrier's day is lost, for a reason it does not give
    return _window_reason(row, as_of, s)


def shape_told(told: list[tuple[Any, bool]], next_update_by: datetime) -> tuple[list[Any], bool]:
    """A customer's told rows as their one notice states them, and whether it is an
    attention notice. ``told`` pairs each row with whether it is told only because its cause
    always matters (``decide`` gave ``ATTENTION``).

    No row late: an attention notice (``for_attention``). Else a delay notice: the late rows
    keep a window only if it starts after the promise (``without_window``), and each
    attention row rides along as a *problem parcel* (``problem`` set on it): its order is
    listed apart ("the carrier also reported a problem"), with its own cause and steps, and
    neither its window nor its cause is the notice's."""
    if all(flag for _row, flag in told):
        return [for_attention(row, next_update_by) for row, _flag in told], True
    shaped = [
        _as_problem(for_attention(row, next_update_by))
        if flag
        else without_window(row, next_update_by)
        for row, flag in told
    ]
    return shaped, False


def is_problem(row: Any) -> bool:
    """A problem parcel riding along in a delay notice (``shape_told``). Only a shaped row
    (a namespace) can be one; asking a database row for a column it lacks is slow."""
    return isinstance(row, SimpleNamespace) and bool(getattr(row, "problem", False))


def _as_problem(row: Any) -> Any:
    return _with(row, problem=True)


def _with(row: Any, **changes: Any) -> SimpleNamespace:
    """A copy of a row (a database row, or already a namespace) with ``changes``."""
    mapping = getattr(row, "_mapping", None)
    fields = dict(mapping) if mapping is not None else dict(vars(row))
    fields.update(changes)
    return SimpleNamespace(**fields)


def for_attention(row: Any, next_update_by: datetime) -> Any:
    """An attention row keeps our window only when it ends by the promised day (then it is
    good news: still expected then) and the row is not a promise at risk (that window is what
    the carrier's word puts in doubt); any other window is told as the time we write again."""
    latest = _day(row.eta_latest)
    if latest is not None and latest <= promise_day(row) and not at_risk(row):
        return row
    return _no_window(row, next_update_by)


def _window_reason(row: Any, as_of: datetime, s: TargetingSettings) -> str | None:
    """Suppression by our window (or its absence) against the promise."""
    if delay_on_a_full_schedule(row, s):  # running late on a schedule with no room left
        return _full_schedule_reason(row, s)
    latest = _day(row.eta_latest)
    if latest is None:
        return _no_window_reason(row, as_of, s)
    if latest <= promise_day(row):
        return "eta_meets_promise"
    if window_holds_promise(row):  # it may still arrive on the promised day, or after it
        if _hours_left(row, as_of) > s.unknown_eta_notify_hours:
            return "eta_may_meet_promise"
        if carrier_replanned_in_time(row, as_of):
            return "carrier_eta_meets_promise"
        return PROMISE_AT_RISK  # and the promise is near: it could miss it
    if not sure_late(row, s):
        return PROMISE_AT_RISK  # a window after the promise, but not sure enough to say late
    return None  # (a window told: one that starts by the promise goes without it)


def sure_late(row: Any, s: TargetingSettings, *, unknown: bool = True) -> bool:
    """Our model is sure enough to say "late": its chance that the promise is missed
    (``eta_p_late``) is at least the rules' ``notify_min_p_late``; ``unknown`` when it gives
    none."""
    p_late = getattr(row, "eta_p_late", None)
    return unknown if p_late is None else p_late >= s.notify_min_p_late


def _full_schedule_reason(row: Any, s: TargetingSettings) -> str | None:
    """A parcel running late on a schedule with no room left (``delay_on_a_full_schedule``)
    is told late when our model is sure of it (no ``p_late``: only when our window starts
    after the promise, as any such window); otherwise the promise is at risk. Over 40 worlds
    (three moments each) the rule told 674 rows: the 525 it tells late were all late; of the
    149 at risk, 2 came on their promised day (``p_late`` 0.40, and none), told late before."""
    earliest = _day(row.eta_earliest)
    after = earliest is not None and earliest > promise_day(row)
    return None if sure_late(row, s, unknown=after) else PROMISE_AT_RISK


def _no_window_reason(row: Any, as_of: datetime, s: TargetingSettings) -> str | None:
    """Our model gives no window: late when the parcel will not come, else at risk once the
    promise is near (or held past the carrier's day with no day to spare), unless the
    carrier's re-plan or its schedule's spare day still meets the promise."""
    if will_not_come(row):
        return None  # lost, on its way back, refused: it will not come by the promise
    if held_past_carrier_day(row, as_of, s):
        return PROMISE_AT_RISK  # held past the carrier's day, no day to spare
    if _hours_left(row, as_of) > s.unknown_eta_notify_hours:
        return "eta_unknown_promise_not_at_risk_yet"
    if carrier_replanned_in_time(row, as_of):
        return "carrier_eta_meets_promise"
    if delay_with_room_on_schedule(row, as_of, s):
        return "carrier_schedule_has_room"
    return PROMISE_AT_RISK  # we do not know when it arrives and the promise is near


def _hours_left(row: Any, as_of: datetime) -> float:
    """Hours until the promised day ends (customer's zone)."""
    return (as_utc(row.promised_by_utc) - as_of).total_seconds() / 3600


def _replanned_within_promise(row: Any, as_of: datetime) -> bool:
    """The carrier's newest day was first stated after the episode opened (it re-planned
    knowing of the delay), is today or later (customer's zone) and not after the promised day,
    and our model does not already know the promised day to be out of reach."""
    latest = _day(getattr(row, "carrier_eta_latest", None))
    since = getattr(row, "carrier_eta_day_since", None)
    opened = getattr(row, "episode_opened_at", None)
    if latest is None or since is None or opened is None or as_utc(since) <= as_utc(opened):
        return False  # no day, or a day that predates the delay
    p_late = getattr(row, "eta_p_late", None)
    if p_late is not None and p_late >= 1.0:
        return False  # the promised day can no longer be met
    today = as_of.astimezone(_zone(getattr(row, "timezone", None))).date()
    return today <= latest <= promise_day(row)


def carrier_replanned_in_time(row: Any, as_of: datetime) -> bool:
    """The carrier re-planned after the delay began and still keeps the promise (its newest
    day differs from the first day it gave; ``_replanned_within_promise``), and the parcel is
    moving again. The carrier's word, given knowing of the delay, outweighs an ETA of ours
    that is merely unknown (the mirror of ``carrier_says_late``)."""
    first = _day(getattr(row, "carrier_eta_first", None))
    latest = _day(getattr(row, "carrier_eta_latest", None))
    if first is None or latest == first:
        return False
    return _replanned_within_promise(row, as_of) and moving_again(row)


DOOR_CAUSES = frozenset({"address_issue", "recipient_unavailable", "business_closed"})
HELD_AT_THE_DOOR = frozenset({"exception", "attempt_fail"})  # scan statuses of a held parcel


NOT_COMING_CAUSES = EtaRules().not_coming_causes  # the packaged rules' default


def will_not_come(row: Any) -> bool:
    """The parcel will not come (lost, on its way back, refused): the ETA stage said so
    (method ``not_coming``, from the rules' ``not_coming_causes``), or its cause is one of
    the default such causes."""
    if getattr(row, "eta_method", None) == "not_coming":
        return True
    return row.cause in NOT_COMING_CAUSES


def withdrawn_at_the_door(row: Any) -> bool:
    """The carrier withdrew its day after an exception it gives no cause for, on the last
    mile (``at_the_door``). FedEx has no code for an address problem (ADR 0013): its plain
    delay scan at the door with the day withdrawn is often one, which the customer's answer
    or the next attempt clears in time. The promise is at risk, not known to be lost."""
    if row.cause != "unknown" or not at_the_door(row):
        return False
    if getattr(row, "carrier_eta_stated_at", None) is None:
        return False
    return _day(getattr(row, "carrier_eta_latest", None)) is None


def _postal(value: Any) -> str:
    return str(value or "").strip().upper()


def at_the_door(row: Any) -> bool:
    """The trouble is on the last mile: a cause of the door (an address problem, nobody
    home, a closed business), or the parcel was out for delivery when the delay began, or it
    is held at a scan in the destination's postal code (as the ETA model's "local" stage)."""
    if row.cause in DOOR_CAUSES:
        return True
    if getattr(row, "status_before_delay", None) == "out_for_delivery":
        return True
    here = _postal(getattr(row, "last_scan_postal_code", None))
    return bool(here) and here == _postal(getattr(row, "destination_postal_code", None))


def redelivery_in_time(row: Any, as_of: datetime) -> bool:
    """The parcel is held at an exception on the last mile (``at_the_door``) and the carrier
    has since scheduled its next attempt for a day within the promise
    (``_replanned_within_promise``). That day is the carrier's own delivery schedule for a
    parcel it holds in the destination's area, not a guess at the end of a hub's stop."""
    held = _held_at_door_since(row) is not None
    return held and at_the_door(row) and _replanned_within_promise(row, as_of)


def _held_at_door_since(row: Any) -> datetime | None:
    """When the scan holding the parcel was made, if its newest scan is an exception or a
    failed attempt made at or after the delay began; else None."""
    status, at = getattr(row, "last_scan_status", None), getattr(row, "last_scan_at", None)
    opened = getattr(row, "episode_opened_at", None)
    if status not in HELD_AT_THE_DOOR or at is None or opened is None:
        return None
    return as_utc(at) if as_utc(at) >= as_utc(opened) else None


def next_attempt_by_promise(row: Any, as_of: datetime) -> bool:
    """The delivery failed at the door for a cause of the door (an address to confirm, nobody
    home, a closed business: ``DOOR_CAUSES``), the parcel is held there since, and the
    carrier's routine next attempt, the next delivery day after the failed one (Monday to
    Friday), is today or later (customer's zone) and not after the promised day: nothing says
    the promise is missed yet. (An address problem is then told as an attention notice: the
    customer must confirm the address for that attempt to succeed. A next attempt whose day
    has passed without a scan, or that falls after the promise, is not trusted.)"""
    next_try = _next_attempt(row)
    if next_try is None:
        return False
    today = as_of.astimezone(_zone(getattr(row, "timezone", None))).date()
    return today <= next_try <= promise_day(row)


def _next_attempt(row: Any) -> date | None:
    """The carrier's routine next attempt after a failure at the door for a cause of the
    door: the next delivery day after the failed one (Monday to Friday); None otherwise."""
    held = _held_at_door_since(row) if row.cause in DOOR_CAUSES else None
    if held is None:
        return None
    failed_on = held.astimezone(_zone(getattr(row, "timezone", None))).date()
    return add_days(failed_on + timedelta(days=1), 0, CalendarSpec())  # rolled forward


def out_for_delivery_by_promise(row: Any, as_of: datetime) -> bool:
    """The parcel's newest scan is "out for delivery", made today (customer's zone) after
    the delay began, and today is not after the promised day: the courier has it on today's
    run, which delivers it today or fails at the door (a new scan, judged then)."""
    status, at = getattr(row, "last_scan_status", None), getattr(row, "last_scan_at", None)
    opened = getattr(row, "episode_opened_at", None)
    if status != "out_for_delivery" or at is None or opened is None:
        return False
    if as_utc(at) <= as_utc(opened):
        return False
    zone = _zone(getattr(row, "timezone", None))
    today = as_of.astimezone(zone).date()
    return as_utc(at).astimezone(zone).date() == today <= promise_day(row)


def window_holds_promise(row: Any) -> bool:
    """Our window runs past the promised day but also still holds it: "late" and "maybe on
    time" at once, which no delay notice can say (the gate refuses such a window)."""
    earliest, latest = _day(row.eta_earliest), _day(row.eta_latest)
    if earliest is None or latest is None:
        return False
    return earliest <= promise_day(row) < latest


def window_starts_by_promise(row: Any) -> bool:
    """Our window has a day on or before the promised day: a delay notice cannot state it
    (it names only days after the promise; the gate refuses any other)."""
    earliest = _day(row.eta_earliest)
    return earliest is not None and earliest <= promise_day(row)


def without_window(row: Any, next_update_by: datetime) -> Any:
    """A notice-worthy row whose window starts on or before the promised day (the window still
    holds it, or meets it while the carrier says it is late, runs late on a schedule with no
    room, or the cause always matters): the notice states no date, only when we write again."""
    if not window_starts_by_promise(row):
        return row
    return _no_window(row, next_update_by)


def _no_window(row: Any, next_update_by: datetime) -> Any:
    unknown = {"eta_earliest": None, "eta_latest": None, "eta_most_likely": None}
    return _with(row, **unknown, eta_confidence=None, eta_method="unknown",
                 next_update_by=next_update_by)  # fmt: skip


def sync_labels(conn: Connection, as_of: datetime) -> int:
    """Record the current label of every parcel in an open episode, and of every parcel
    we already know under another label (a relabel). Returns how many labels were new."""
    s, lab, ep = schema.shipments, schema.shipment_labels, schema.delay_episodes
    known = exists().where(
        lab.c.shipment_id == s.c.shipment_id,
        lab.c.carrier == s.c.carrier,
        lab.c.tracking_number == s.c.tracking_number,
    )
    seen = literal(as_of, UTCDateTime())
    columns = ["shipment_id", "carrier", "tracking_number", "first_seen_at"]
    in_episode = (
        select(s.c.shipment_id, s.c.carrier, s.c.tracking_number, seen)
        .join(ep, and_(ep.c.carrier == s.c.carrier, ep.c.tracking_number == s.c.tracking_number))
        .where(ep.c.closed_at.is_(None), ep.c.opened_at <= as_of, ~known)
        .distinct()
    )
    older = lab.alias("older")
    relabelled = (
        select(s.c.shipment_id, s.c.carrier, s.c.tracking_number, seen)
        .join(older, older.c.shipment_id == s.c.shipment_id)
        .where(~known)
        .distinct()
    )
    added = conn.execute(insert(lab).from_select(columns, in_episode)).rowcount or 0
    added += conn.execute(insert(lab).from_select(columns, relabelled)).rowcount or 0
    return added


@dataclass(frozen=True)
class OrderHistory:
    spell_of: dict[str, str]  # (shipment_id|episode_id) -> spell id
    waves: int


def _spells(rows: list[Any]) -> tuple[dict[str, str], dict[str, tuple[datetime, datetime | None]]]:
    """Per parcel, chain an episode on a new label to the one open on the old label."""
    spell_of: dict[str, str] = {}
    spans: dict[str, tuple[datetime, datetime | None]] = {}
    by_parcel: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_parcel[r.shipment_id].append(r)
    for shipment_id, episodes in by_parcel.items():
        previous: Any = None
        for r in sorted(episodes, key=lambda e: (as_utc(e.opened_at), e.episode_id)):
            opened = as_utc(r.opened_at)
            closed = as_utc(r.closed_at) if r.closed_at is not None else None
            spell = r.episode_id
            if previous is not None and _continues(previous, r):
                spell = spell_of[f"{shipment_id}|{previous.episode_id}"]
            spell_of[f"{shipment_id}|{r.episode_id}"] = spell
            start, _ = spans.get(spell, (opened, closed))
            spans[spell] = (min(start, opened), None if closed is None else closed)
            previous = r
    return spell_of, spans


def _continues(old: Any, new: Any) -> bool:
    """The new episode is on a newer label and the old one was open when that label came."""
    if (old.carrier, old.tracking_number) == (new.carrier, new.tracking_number):
        return False
    if new.label_seen_at is None:  # a label we never recorded: no time to compare with
        return old.closed_at is None
    if old.closed_at is None:
        return True
    return as_utc(old.closed_at) >= as_utc(new.label_seen_at)


def order_histories(rows: Iterable[Any]) -> dict[str, OrderHistory]:
    """From ``sql/order_history.sql`` rows: each order's spell map and delay waves."""
    by_order: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_order[r.order_id].append(r)
    out = {}
    for order_id, episodes in by_order.items():
        spell_of, spans = _spells(episodes)
        out[order_id] = OrderHistory(spell_of, delay_waves(list(spans.values())))
    return out


def spell_for(history: OrderHistory | None, shipment_id: str, episode_id: str) -> str:
    if history is None:
        return episode_id
    return history.spell_of.get(f"{shipment_id}|{episode_id}", episode_id)


def told_facts(
    kind: str,
    eta: dict[str, Any] | None,
    cause: str | None,
    problems: list[tuple[str, str, str]] | None = None,
    causes: list[tuple[str, str, str]] | None = None,
    windows: list[tuple[str, str, Any]] | None = None,
    at_risk: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """What the customer is told, the part of the key that makes a new version. ``problems``:
    the (order, parcel, cause) of problem parcels in a delay notice (``shape_told``), told
    apart; a parcel turning from a problem into a late one is news. ``causes``: the (order,
    parcel, cause) of the late parcels when their causes differ (each order is told its own,
    ADR 0014); a new cause for any of them is news. With one cause it stays out, so the key of
    such a notice is what it always was. ``windows``: likewise the (order, parcel, window) of
    the late parcels when their windows differ. ``at_risk``: the (order, parcel) told that
    they could miss the promise (ADR 0016); becoming at risk, or late, is news. Each list stays
    out when empty, so the key of a notice without one is what it always was."""
    window = eta and {"earliest": eta["earliest"], "latest": eta["latest"]}
    facts: dict[str, Any] = {
        "kind": kind,
        "eta": window,
        "cause": cause,
        "unknown_eta": eta is None,
    }
    if problems:
        facts["problems"] = [list(p) for p in sorted(problems)]
    if causes and len({c for _o, _s, c in causes}) > 1:
        facts["causes"] = [list(c) for c in sorted(causes)]
    if windows and len({json.dumps(w) for _o, _s, w in windows}) > 1:
        facts["windows"] = sorted([o, s, w] for o, s, w in windows)
    if at_risk:
        facts["at_risk"] = [list(p) for p in sorted(at_risk)]
    return facts


@dataclass(frozen=True)
class NoticeKey:
    customer_id: str
    spells: tuple[tuple[str, str, str], ...]  # (order, parcel, spell), sorted
    facts: dict[str, Any]

    @property
    def thread(self) -> str:
        """The episode set: same customer, same parcels, same delays."""
        return digest([self.customer_id, self.spells], "t_")

    @property
    def version(self) -> str:
        return digest(self.facts, "v_", 16)

    def notice_id(self, round_: int) -> str:
        return digest([self.customer_id, self.spells, self.facts, round_], "n_")


def next_round(previous: list[dict[str, Any]], key: NoticeKey, run_id: str, as_of: datetime) -> int:
    """The "next update by" round: a notice with an unknown ETA promised an update by a time;
    once that time has passed with the same facts, the customer is owed a fresh notice."""
    mine = (key.thread, key.version)
    same = [p for p in previous if (p.get("thread"), p.get("version")) == mine]
    if not same:
        return 0
    last = max(same, key=lambda p: int(p.get("round", 0)))
    due = last.get("next_update_by")
    made_earlier = last.get("run_id") != run_id
    if due and made_earlier and as_utc(due) <= as_of:
        return int(last.get("round", 0)) + 1
    return int(last.get("round", 0))


TOLD_PER_PARCEL = ("cause", "eta_earliest", "eta_latest", "problem", "awaits_customer", "at_risk")


def still_told(
    previous: list[dict[str, Any]],
    plan: dict[str, Any],
    sent_channels: Mapping[str, set[str]],
    channels: Iterable[str],
    as_of: datetime,
) -> str | None:
    """The customer's last delay or attention notice sent, when ``plan`` has only lost
    parcels since (delivered, or no longer late) and tells each remaining one the same, that
    notice went on every channel in ``channels``, and its promised update is not due: ``plan``
    would be no news, so the one sent stays the customer's notice (staged again, the ledger
    sends it no second time). None when ``plan`` is news."""
    sent = [
        p
        for p in previous
        if p.get("kind") in ("delay", "attention") and sent_channels.get(p["notice_id"])
    ]
    if not sent:
        return None
    last = max(sent, key=lambda p: as_utc(p["as_of"]))
    due = last.get("next_update_by")
    if (
        last["kind"] != plan["kind"]
        or not set(channels) <= sent_channels[last["notice_id"]]
        or (due is not None and as_utc(due) <= as_of)
        or not {tuple(x) for x in plan["spells"]} < {tuple(x) for x in last.get("spells", [])}
    ):
        return None
    told = {
        (f["order_id"], f["shipment_id"]): [f.get(k) for k in TOLD_PER_PARCEL]
        for f in last.get("parcel_facts", [])
    }
    for f in plan["parcel_facts"]:
        if told.get((f["order_id"], f["shipment_id"])) != [f.get(k) for k in TOLD_PER_PARCEL]:
            return None
    return str(last["notice_id"])
