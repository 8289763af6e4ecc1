"""Normalized tracking, the one shape every carrier parser returns.

Times are always timezone-aware. An estimated delivery keeps the carrier's precision: a
``date`` when the carrier gave a day, an aware ``datetime`` when it gave a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from carriers.taxonomy import Reason, Status


class ProblemKind(StrEnum):
    NOT_FOUND = "not_found"  # carrier has no record (yet): not the same as lost
    INVALID_NUMBER = "invalid_number"  # the number is malformed for this carrier
    REQUEST_ERROR = "request_error"  # auth, quota, empty request, server-side error
    PARSE_ERROR = "parse_error"  # this item could not be read; the raw payload is kept
    UNKNOWN_CODE = "unknown_code"  # an event code not in our tables (event status unknown)
    TIME_WITHOUT_ZONE = "time_without_zone"  # local time with no resolvable zone


class PayloadError(ValueError):
    """The payload as a whole cannot be read (not JSON/XML, truncated, wrong format).

    Raised by parsers for systemic faults; the caller keeps the raw payload and records the
    message. One bad tracking number inside a good payload is a :class:`Problem` instead.
    """


@dataclass(frozen=True, slots=True)
class Location:
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "city": self.city,
            "region": self.region,
            "postal_code": self.postal_code,
            "country": self.country,
        }


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    occurred_at: datetime  # aware; the carrier's own offset kept
    status: Status
    reason: Reason | None
    code: str  # the carrier's code as sent (joined with "/" when it has several parts)
    description: str
    location: Location = field(default_factory=Location)
    # The carrier's code says the parcel left this place (a departure scan): it is no longer
    # there, whatever happens at that place afterwards. False when the code does not say so.
    departed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "status": self.status.value,
            "reason": self.reason.value if self.reason else None,
            "code": self.code,
            "description": self.description,
            "location": self.location.to_dict(),
            "departed": self.departed,
        }


@dataclass(frozen=True, slots=True)
class EstimatedDelivery:
    earliest: date | datetime
    latest: date | datetime

    def to_dict(self) -> dict[str, str]:
        return {"earliest": self.earliest.isoformat(), "latest": self.latest.isoformat()}


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class TrackingResult:
    """Everything one payload says about one tracking number."""

    carrier: str
    tracking_number: str
    status: Status
    reason: Reason | None = None
    estimated_delivery: EstimatedDelivery | None = None
    delivered_at: datetime | None = None
    events: tuple[TrackingEvent, ...] = ()  # newest first
    problems: tuple[Problem, ...] = ()
    service: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "status": self.status.value,
            "reason": self.reason.value if self.reason else None,
            "estimated_delivery": (
                self.estimated_delivery.to_dict() if self.estimated_delivery else None
            ),
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "events": [e.to_dict() for e in self.events],
            "problems": [p.to_dict() for p in self.problems],
        }

    @property
    def unknown_codes(self) -> list[str]:
        return [e.code for e in self.events if e.status is Status.UNKNOWN]
