"""Contact policy: which channels a notice may use, and which must wait.

* Channel choice: email needs opt-in and an address email-validator accepts; SMS needs SMS
  consent and a number phonenumbers parses as valid and able to receive SMS (mobile, or the
  "fixed line or mobile" type North American numbers report), sent in E.164. The same
  normalisation as compose and the gate (``notify.contacts``), so all three agree.
* Quiet hours: SMS goes out only inside the local window (08:00-21:00 by default) of the
  recipient's zone: the customer's own zone, else the destination address's, else every zone
  of the destination country (or the locale's region), keeping to the window that is quiet in
  all of them. Outside it the SMS is deferred to the window's next opening, not dropped.
  Email is not held.
* Frequency cap: at most N new notices per customer in 24 hours of world time; a critical
  change (a serious or action-needed cause, a need-by date at risk) goes regardless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from notify.contacts import email_address, region_of, sms_number
from notify.zones import address_zones, country_zones

CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class Recipient:
    """What the policy needs to know about a customer and where their parcels go."""

    customer_id: str
    email: str | None
    phone: str | None
    locale: str | None
    timezone: str | None
    email_opt_in: bool
    sms_opt_in: bool
    destination_postal_code: str | None = None
    destination_country: str | None = None


def recipient_of(customer: Any, shipment: Any = None) -> Recipient:
    """A customers row as a ``Recipient``, with the parcel's destination from ``shipment``
    (any row with ``destination_postal_code`` and ``destination_country``; an affected row
    carries both, so it may be passed as each)."""
    return Recipient(
        customer_id=customer.customer_id,
        email=customer.email,
        phone=customer.phone,
        locale=customer.locale,
        timezone=customer.timezone,
        email_opt_in=bool(customer.email_opt_in),
        sms_opt_in=bool(customer.sms_opt_in),
        destination_postal_code=getattr(shipment, "destination_postal_code", None),
        destination_country=getattr(shipment, "destination_country", None),
    )


@dataclass(frozen=True)
class ChannelChoice:
    channels: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)  # channel -> why not

    @property
    def reason(self) -> str:
        return "; ".join(f"{c}: {why}" for c, why in sorted(self.refused.items()))

    def as_plan(self) -> dict[str, str]:
        return {c: ("ok" if c in self.channels else self.refused.get(c, "off")) for c in CHANNELS}


def _sms_refusal(phone: str | None, region: str) -> str:
    if not phone:
        return "no phone number"
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return "phone number cannot be read"
    if not phonenumbers.is_valid_number(number):
        return "phone number is not valid"
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "landline: cannot receive SMS"
    return "phone number cannot receive SMS"


def choose_channels(r: Recipient, enabled: tuple[str, ...] = CHANNELS) -> ChannelChoice:
    """The channels consent and validity allow, and why each other one is not used."""
    chosen: list[str] = []
    refused: dict[str, str] = {}
    if "email" in enabled:
        if not r.email_opt_in:
            refused["email"] = "no email consent"
        elif email_address(r.email) is None:
            refused["email"] = "no valid email address" if r.email else "no email address"
        else:
            chosen.append("email")
    if "sms" in enabled:
        region = region_of(r.locale)
        if not r.sms_opt_in:
            refused["sms"] = "no SMS consent"
        elif sms_number(r.phone, region) is None:
            refused["sms"] = _sms_refusal(r.phone, region)
        else:
            chosen.append("sms")
    return ChannelChoice(tuple(chosen), refused)


def recipient_zones(r: Recipient) -> tuple[tuple[str, ...], str]:
    """The zones the recipient may be in, and where that came from."""
    if r.timezone:
        try:
            ZoneInfo(r.timezone)
            return (r.timezone,), "customer"
        except (ZoneInfoNotFoundError, ValueError):
            pass
    zones = address_zones(r.destination_postal_code, r.destination_country)
    if zones:
        return zones, "destination address"
    if r.destination_country:
        zones = country_zones(r.destination_country)
        if zones:
            return zones, "destination country (every zone)"
    zones = country_zones(region_of(r.locale))
    if zones:
        return zones, "locale region (every zone)"
    return (), "unknown"


@lru_cache(maxsize=4096)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _inside(zones: tuple[str, ...], at: datetime, window: tuple[int, int]) -> bool:
    for name in zones:
        local = at.astimezone(_zone(name))
        minute = local.hour * 60 + local.minute
        if not window[0] <= minute < window[1]:
            return False
    return True


def sms_opens_at(zones: tuple[str, ...], at: datetime, window: tuple[int, int]) -> datetime | None:
    """``at`` when SMS may go now; else the next instant inside the window in every zone.

    None when no such instant exists within two days (no zone known, or zones so far
    apart that their windows never overlap): the SMS waits for a person or a better zone.
    """
    if not zones:
        return None
    if _inside(zones, at, window):
        return at
    candidates = []
    for name in zones:
        local = at.astimezone(_zone(name))
        for days in range(3):
            day = (local + timedelta(days=days)).date()
            start = datetime(day.year, day.month, day.day, tzinfo=_zone(name))
            start += timedelta(minutes=window[0])
            if start.astimezone(UTC) > at:
                candidates.append(start.astimezone(UTC))
    for moment in sorted(candidates):
        if _inside(zones, moment, window):
            return moment
    return None


def over_cap(sent_in_24h: int, cap: int, critical: bool) -> bool:
    """Whether a new notice must wait: the cap reached and the change is not critical."""
    return cap > 0 and not critical and sent_in_24h >= cap


def describe_window(zones: tuple[str, ...], window: tuple[int, int]) -> str:
    start, end = window
    span = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    where = zones[0] if len(zones) == 1 else f"each of {len(zones)} zones"
    return f"{span} {where}"
