"""A parcel's story as of a run: its events, promise, lane and the carrier's ETA statements.

Detection and the ETA model both read parcels this way (``sql/candidate_*.sql`` for every
undelivered parcel of an open order, ``sql/episode_*.sql`` for parcels with an open delay
episode). Events are kept in time order with exact duplicates (the same scan reported
twice, e.g. by the carrier and an aggregator) folded into one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache, cached_property
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from carriers.models import Location
from carriers.taxonomy import Status
from carriers.timezones import zone_for
from notify import lanes
from notify.sql import query
from notify.store.types import as_utc

DONE = frozenset({Status.DELIVERED.value, Status.EXPIRED.value})
WAITING = frozenset({Status.PENDING.value, Status.INFO_RECEIVED.value})
TROUBLE = frozenset({Status.EXCEPTION.value, Status.ATTEMPT_FAIL.value})
UTC_ZONE = ZoneInfo("UTC")


@cache
def _zone(region: str | None, country: str | None) -> ZoneInfo | None:
    return zone_for(Location(region=region, country=country))


@cache
def _facility(
    country: str | None, region: str | None, city: str | None, postal: str | None
) -> str | None:
    c = (country or "").upper()
    if postal:
        return f"{c}|{postal.strip().upper()}"
    if city:
        return f"{c}|{(region or '').upper()}|{city.strip().upper()}"
    return None


class Event(NamedTuple):
    """One tracking scan (a tuple: millions are read per run)."""

    event_id: int
    occurred_at: datetime
    status: str
    reason: str | None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    local_time: str | None = None  # ISO 8601 with the scan location's offset
    departed: bool = False  # a departure scan: the parcel left this place

    @property
    def facility(self) -> str | None:
        """Where the scan happened, as a key: country and postal code (else city)."""
        return _facility(self.country, self.region, self.city, self.postal_code)

    @property
    def is_trouble(self) -> bool:
        """An exception, a failed attempt, or any scan the carrier gave a delay reason."""
        return self.status in TROUBLE or (self.reason is not None and self.status not in DONE)

    def zone(self, fallback: ZoneInfo) -> ZoneInfo | timezone:
        """The scan location's zone; else the offset it was reported with; else ``fallback``."""
        zone = _zone(self.region, self.country)
        if zone is not None:
            return zone
        if self.local_time:
            offset = datetime.fromisoformat(self.local_time).utcoffset()
            if offset is not None:
                return timezone(offset)
        return fallback


@dataclass
class Parcel:
    carrier: str
    tracking_number: str
    events: list[Event] = field(default_factory=list)
    promised_by_utc: datetime | None = None
    shipped_at: datetime | None = None
    eta_latest: str | None = None  # the carrier's newest statement (None: none or withdrawn)
    eta_earliest: str | None = None
    eta_stated_at: datetime | None = None
    eta_statement_id: int | None = None
    first_eta_latest: str | None = None  # the carrier's first dated statement
    service: str | None = None
    origin_postal: str | None = None
    destination_postal: str | None = None
    destination_country: str | None = None
    timezone: str | None = None  # the customer's zone

    @cached_property
    def origin(self) -> str:
        return lanes.place(self.origin_postal, "US")

    @cached_property
    def destination(self) -> str:
        return lanes.place(self.destination_postal, self.destination_country)

    @cached_property
    def dest_zone(self) -> ZoneInfo:
        """The delivery address's zone: the customer's, else the destination's, else UTC."""
        if self.timezone:
            try:
                return ZoneInfo(self.timezone)
            except (ValueError, KeyError):
                pass
        return lanes.zone_of(self.destination) or UTC_ZONE

    @property
    def promised_day(self) -> date | None:
        """The earliest promised day in the destination's zone."""
        if self.promised_by_utc is None:
            return None
        return (self.promised_by_utc - timedelta(seconds=1)).astimezone(self.dest_zone).date()

    @property
    def delivered(self) -> bool:
        return any(e.status in DONE for e in self.events)


def clean_events(events: list[Event]) -> list[Event]:
    """Time order (then id), with the same scan reported twice kept once (lowest id)."""
    seen: set[tuple[datetime, str, str | None, str | None]] = set()
    out: list[Event] = []
    for e in sorted(events, key=lambda x: (x.occurred_at, x.event_id)):
        key = (e.occurred_at, e.status, e.reason, e.facility)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _day(value: str | None) -> str | None:
    return value[:10] if value else None


def new_parcel(key: tuple[str, str], r: Any) -> Parcel:
    p = Parcel(carrier=key[0], tracking_number=key[1])
    if r is None:
        return p
    p.promised_by_utc = as_utc(r.promised_by_utc) if r.promised_by_utc else None
    p.shipped_at = as_utc(r.shipped_at) if r.shipped_at else None
    p.eta_latest, p.eta_earliest = _day(r.eta_latest), _day(r.eta_earliest)
    p.eta_stated_at = as_utc(r.eta_stated_at) if r.eta_stated_at else None
    p.eta_statement_id = r.eta_statement_id
    p.first_eta_latest = _day(r.first_eta_latest)
    p.service = r.service
    p.origin_postal = r.origin_postal_code
    p.destination_postal = r.destination_postal_code
    p.destination_country = r.destination_country
    p.timezone = r.timezone
    return p


def event_from_row(r: Any) -> Event:
    return Event(
        r.event_id,
        as_utc(r.occurred_at),
        r.status,
        r.reason,
        r.city,
        r.region,
        r.postal_code,
        r.country,
        r.local_time,
        bool(r.departed),
    )


def load_parcels(conn: Connection, as_of: datetime, scope: str = "candidate") -> Iterator[Parcel]:
    """Parcels as of ``as_of``: ``candidate`` (undelivered, open orders) or ``episode``."""
    promises = {
        (r.carrier, r.tracking_number): r
        for r in conn.execute(query(f"{scope}_promises"), {"as_of": as_of})
    }
    current: Parcel | None = None
    rows = conn.execute(
        query(f"{scope}_events"), {"as_of": as_of}, execution_options={"yield_per": 5000}
    )
    for r in rows:
        key = (r.carrier, r.tracking_number)
        if current is None or (current.carrier, current.tracking_number) != key:
            if current is not None:
                current.events = clean_events(current.events)
                yield current
            current = new_parcel(key, promises.pop(key, None))
        current.events.append(event_from_row(r))
    if current is not None:
        current.events = clean_events(current.events)
        yield current
    if scope == "candidate":
        for key, promise in promises.items():  # shipped, but no event yet
            yield new_parcel(key, promise)
