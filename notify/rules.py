"""Delay-detection rules, kept as data and versioned.

A change of any threshold is a new ``version``; every episode records the rules version
that opened it, so a run can always say which rules made a decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carriers.taxonomy import Reason


@dataclass(frozen=True)
class DetectionRules:
    version: str = "2026-11-22.1"
    # No scan for this long while in transit opens a "stalled" episode.
    stall_hours: float = 48.0
    # Label created but no pickup scan for this long opens a "not_picked_up" episode.
    pickup_grace_hours: float = 48.0
    # Per carrier/service overrides of stall_hours (e.g. slower economy services).
    stall_hours_by_service: dict[str, float] = field(default_factory=dict)
    # Causes serious enough to tell the customer even when the ETA still meets the promise.
    always_notify_causes: frozenset[Reason] = frozenset(
        {
            Reason.LOST,
            Reason.DAMAGED,
            Reason.RETURNING_TO_SENDER,
            Reason.RETURNED_TO_SENDER,
            Reason.ADDRESS_ISSUE,
            Reason.HELD_FOR_PAYMENT,
            Reason.INCORRECT_DOCUMENTS,
            Reason.REFUSED,
        }
    )

    def stall_hours_for(self, carrier: str, service: str | None) -> float:
        return self.stall_hours_by_service.get(f"{carrier}:{service}", self.stall_hours)


DEFAULT_RULES = DetectionRules()
