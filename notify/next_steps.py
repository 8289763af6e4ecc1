"""What happens next, per cause: keys into the wording files' ``next_steps`` section.

Each cause maps to what the customer can do, or that they need do nothing, and what we do:

- weather, disasters, network delays, stalled tracking: nothing to do; we write again;
- address problem: confirm the address through the tracking link before the carrier's
  deadline (it holds the parcel a few business days, then sends it back);
- failed attempt: the carrier tries again on the new delivery day, or the parcel can be
  collected at the pickup point (opening hours and last day on the tracking page);
- customs: what customs may ask for (an invoice, the value, an ID number), and that the
  carrier contacts them if it does; documents or duties when customs holds it for them;
- damaged, lost, returned: a replacement or a refund, and a person contacts them.

:func:`next_step_dates` gives the dates some steps name (the day of the next attempt,
the last day to confirm an address or collect a parcel), for wording that has a
``long_dated`` / ``short_dated`` form with a ``{date}`` placeholder.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from carriers.taxonomy import Reason
from notify import calendars
from notify.calendars import CalendarSpec

WAIT = ("nothing_to_do", "we_will_update")  # steps that ask nothing of the customer
PERSON = "person_will_contact"
REPLACE = ("replacement_or_refund", PERSON)
NEXT_STEPS: dict[str, tuple[str, ...]] = {
    Reason.WEATHER: WAIT,
    Reason.NATURAL_DISASTER: WAIT,
    Reason.CARRIER_VOLUME: WAIT,
    Reason.TRANSPORT_DELAY: WAIT,
    Reason.MISSORT: WAIT,
    Reason.PROCESSING_DELAY: WAIT,
    Reason.HOLIDAY: WAIT,
    Reason.NO_SCAN: WAIT,
    Reason.MISSED_PICKUP: WAIT,
    Reason.UNKNOWN: WAIT,
    Reason.ADDRESS_ISSUE: ("confirm_address",),
    Reason.RECIPIENT_UNAVAILABLE: ("redelivery_scheduled", "pickup_available"),
    Reason.BUSINESS_CLOSED: ("redelivery_scheduled", "pickup_available"),
    Reason.CUSTOMS: ("customs_may_ask", "we_will_update"),
    Reason.INCORRECT_DOCUMENTS: ("customs_documents", "we_will_update"),
    Reason.HELD_FOR_PAYMENT: ("pay_charges", "we_will_update"),
    Reason.DAMAGED: REPLACE,
    Reason.LOST: REPLACE,
    Reason.RETURNING_TO_SENDER: REPLACE,
    Reason.RETURNED_TO_SENDER: REPLACE,
    Reason.REFUSED: ("person_will_contact",),
    Reason.CANCELLED: ("person_will_contact",),
}
# Business days a carrier keeps a parcel for the customer before it goes back.
HOLD_BUSINESS_DAYS = 5


def next_steps(cause: str) -> list[str]:
    """The next-step keys for a cause (an unknown cause: nothing to do, we will update)."""
    return list(NEXT_STEPS.get(cause, WAIT))


def _local_day(moment: str | datetime, zone: str | None) -> date:
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return at.astimezone(ZoneInfo(zone or "UTC")).date()


def next_step_dates(
    cause: str,
    eta: dict[str, Any] | None,
    as_of: str | datetime,
    timezone: str | None,
    spec: CalendarSpec | None = None,
) -> dict[str, str]:
    """Dates the next steps of ``cause`` can name, per step key (YYYY-MM-DD, local day).

    ``redelivery_scheduled``: the most likely new delivery day; ``confirm_address`` and
    ``pickup_available``: the last day before the carrier sends the parcel back, counted
    from the day we tell the customer (``as_of``).
    """
    spec = spec or CalendarSpec()
    steps = next_steps(cause)
    out: dict[str, str] = {}
    if "redelivery_scheduled" in steps and eta and eta.get("most_likely"):
        out["redelivery_scheduled"] = str(eta["most_likely"])[:10]
    last_day = calendars.add_days(_local_day(as_of, timezone), HOLD_BUSINESS_DAYS, spec)
    for step in ("confirm_address", "pickup_available"):
        if step in steps:
            out[step] = last_day.isoformat()
    return out
