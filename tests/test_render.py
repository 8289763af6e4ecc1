"""Tests for notify.render: golden messages, locale formatting, strictness, hostile input.

Regenerate the golden files after an intended change of templates or wording with
``make golden-messages`` (``python -m tests.test_render --regen``; ``make golden`` rewrites
the carrier goldens too) and review the diff before committing.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from carriers.taxonomy import Reason
from notify.next_steps import next_steps
from notify.render import (
    NAME_LIMIT,
    UNSTATED_CAUSE_KINDS,
    RenderError,
    clean_text,
    comparable,
    render,
    render_preview,
    sms_encoding,
    sms_segments,
    sms_title,
    stated_in_message,
)

GOLDEN_DIR = Path(__file__).parent / "fixtures" / "golden_messages"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

HOSTILE_NAME = (
    "<img src=x onerror=alert(1)>{{7*7}}\u202eevil\u202c\u2066x\u2069\r\nBcc: a@b.c 😀"
    + "A" * 10_000
)


def base_facts() -> dict[str, Any]:
    """A one-order weather delay with a two-day window (the reference case)."""
    return {
        "notice_id": "n_ab12cd34",
        "kind": "delay",
        "locale": "en-US",
        "timezone": "America/Chicago",
        "brand": "Oasis Demo Shop",
        "orders_url": "https://shop.example.com/orders",
        "customer": {"first_name": "Ana", "email": "ana@example.com", "phone": "+13125550123"},
        "orders": [
            {
                "order_id": "O000123",
                "tracking_url": "https://shop.example.com/orders/O000123/tracking",
                "promised_by": "2026-11-20",
                "items": [
                    {"title": "Wool socks", "quantity": 2},
                    {"title": "Merino scarf", "quantity": 1},
                ],
                "shipments": [
                    {
                        "carrier": "fedex",
                        "carrier_title": "FedEx",
                        "tracking_number": "123456789012",
                    }
                ],
            }
        ],
        "eta": {
            "earliest": "2026-11-24",
            "latest": "2026-11-25",
            "most_likely": "2026-11-24",
            "confidence": 0.9,
        },
        "next_update_by": None,
        "cause": "weather",
        "cause_evidence": None,
        "next_steps": ["nothing_to_do", "we_will_update"],
        "contact": contact(),
        "previous_notice": None,
    }


def contact(route: str = "support@example.com, +1 555 0100") -> dict[str, Any]:
    """How to reach a person: weekdays 8-20 and Saturday mornings, New York time."""
    return {
        "route": route,
        "hours": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "08:00", "closes": "20:00"},
            {"days": ["sat"], "opens": "09:00", "closes": "13:00"},
        ],
        "timezone": "America/New_York",
    }


def _single_day(facts: dict[str, Any], day: str, confidence: float = 0.8) -> dict[str, Any]:
    facts["eta"] = {"earliest": day, "latest": day, "most_likely": day, "confidence": confidence}
    return facts


def _unknown_eta(
    facts: dict[str, Any], update: str = "2026-11-23T12:00:00-06:00"
) -> dict[str, Any]:
    facts["eta"] = None
    facts["next_update_by"] = update
    return facts


def _cause(cause: str, steps: list[str], day: str | None = None) -> dict[str, Any]:
    facts = base_facts()
    facts["cause"] = cause
    facts["next_steps"] = steps
    return _single_day(facts, day) if day else facts


def _split_shipment() -> dict[str, Any]:
    """Order of three lines in two parcels; only the UPS parcel with the lamp is late."""
    facts = _cause("transport_delay", ["nothing_to_do"], "2026-11-23")
    order = facts["orders"][0]
    order["items"] = [{"title": "Desk lamp", "quantity": 1}]
    order["shipments"] = [
        {"carrier": "ups", "carrier_title": "UPS", "tracking_number": "1Z999AA10123456784"}
    ]
    return facts


def _two_orders() -> dict[str, Any]:
    facts = _cause("carrier_volume", ["nothing_to_do", "we_will_update"])
    facts["orders"].append(
        {
            "order_id": "O000456",
            "tracking_url": "https://shop.example.com/orders/O000456/tracking",
            "promised_by": "2026-11-21",
            "items": [{"title": "Rain jacket", "quantity": 1}],
            "shipments": [
                {
                    "carrier": "usps",
                    "carrier_title": "USPS",
                    "tracking_number": "9400111899223197428490",
                },
                {
                    "carrier": "usps",
                    "carrier_title": "USPS",
                    "tracking_number": "9400111899223197428506",
                },
            ],
        }
    )
    return facts


def _german() -> dict[str, Any]:
    facts = _cause("customs", ["customs_documents", "we_will_update"])
    facts.update(
        locale="de-DE",
        timezone="Europe/Berlin",
        contact=contact("hilfe@example.de, +49 30 1234567"),
    )
    facts["customer"]["first_name"] = "Jürgen"
    facts["orders"][0]["items"] = [{"title": "Wollsocken", "quantity": 3}]
    return facts


def _german_unknown_eta() -> dict[str, Any]:
    facts = _german()
    facts["cause"] = "no_scan"
    facts["next_steps"] = ["person_will_contact", "we_will_update"]
    return _unknown_eta(facts, "2026-11-23T18:00:00+01:00")


def _spanish() -> dict[str, Any]:
    facts = _cause("holiday", ["nothing_to_do"], "2026-11-24")
    facts.update(locale="es-MX", timezone="America/Mexico_City")
    facts["customer"]["first_name"] = "Lucía"
    facts["orders"][0]["items"] = [{"title": "Calcetines de lana", "quantity": 1}]
    return facts


def _british() -> dict[str, Any]:
    facts = _cause("missort", ["nothing_to_do"], "2026-11-24")
    facts.update(locale="en-GB", timezone="Europe/London")
    return facts


def _hostile() -> dict[str, Any]:
    facts = base_facts()
    facts["customer"]["first_name"] = HOSTILE_NAME
    facts["orders"][0]["items"] = [
        {"title": "<script>alert('x')</script> Socks {% if 1 %}", "quantity": 1},
        {"title": "שמיכה \u202bעבה\u202c 🧦🧦", "quantity": 2},
    ]
    return facts


def _unstated(kind: str, at: str | None, place: str | None, carrier: str = "USPS") -> Any:
    """A delay whose carrier gave no reason: the facts say what the carrier did, and when."""

    def build() -> dict[str, Any]:
        facts = _cause("unknown", next_steps("unknown"), "2026-11-25")
        facts["cause_evidence"] = {
            "kind": kind,
            "carrier_title": carrier,
            "at": at,
            "place": place,
        }
        return facts

    return build


def _stopped_hub(cause: str, place: str, since: str, carrier: str = "FedEx") -> Any:
    """A delay at a stopped hub (a derived incident): the facts name the hub and since when."""

    def build() -> dict[str, Any]:
        facts = _cause(cause, next_steps(cause))
        facts["cause_evidence"] = {
            "kind": "exception",
            "carrier_title": carrier,
            "at": since,
            "place": place,
            "stop": {"place": place, "since": since},
        }
        return facts

    return build


def _stopped_hub_german() -> dict[str, Any]:
    facts = _stopped_hub("weather", "Leipzig, SN", "2026-11-19T06:40:00+01:00", "DHL")()
    facts.update(
        locale="de-DE",
        timezone="Europe/Berlin",
        contact=contact("hilfe@example.de, +49 30 1234567"),
    )
    facts["customer"]["first_name"] = "Jürgen"
    return facts


def _stopped_hub_spanish() -> dict[str, Any]:
    facts = _stopped_hub("natural_disaster", "Memphis, TN", "2026-11-19T05:10:00-06:00")()
    facts.update(locale="es-MX", timezone="America/Mexico_City")
    facts["customer"]["first_name"] = "Lucía"
    return _unknown_eta(facts, "2026-11-23T12:00:00-06:00")


def _second_delay() -> dict[str, Any]:
    """We told Ana Nov 24-25 on Nov 21; the carrier now says Nov 27."""
    facts = _cause("weather", next_steps("weather"), "2026-11-27")
    facts["previous_notice"] = {
        "sent_on": "2026-11-21",
        "eta": {
            "earliest": "2026-11-24",
            "latest": "2026-11-25",
            "most_likely": "2026-11-24",
            "confidence": 0.9,
        },
        "next_update_by": None,
    }
    return facts


def _second_delay_after_unknown_eta() -> dict[str, Any]:
    """Our first message had no date, only a promised update time; this is that update."""
    facts = _german()
    facts["previous_notice"] = {
        "sent_on": "2026-11-21",
        "eta": None,
        "next_update_by": "2026-11-22T18:00:00+01:00",
    }
    return facts


def attention(cause: str, steps: list[str], day: str | None) -> dict[str, Any]:
    """The carrier reported a problem (promised Nov 25): a window still in time, or none
    and the time we write again."""
    facts = _cause(cause, steps, day)
    facts["kind"] = "attention"
    facts["orders"][0]["promised_by"] = "2026-11-25"
    return facts if day else _unknown_eta(facts)


def _attention_german_damaged() -> dict[str, Any]:
    facts = attention("damaged", ["person_will_contact", "replacement_or_refund"], None)
    facts.update(locale="de-DE", timezone="Europe/Berlin")
    facts["next_update_by"] = "2026-11-23T12:00:00+01:00"
    facts["customer"]["first_name"] = "Jörg"
    return facts


def _attention_spanish_address() -> dict[str, Any]:
    facts = attention("address_issue", ["confirm_address"], "2026-11-24")
    facts.update(locale="es-ES", timezone="Europe/Madrid")
    facts["customer"]["first_name"] = "Lucía"
    return facts


def attention_awaiting_customer() -> dict[str, Any]:
    """UPS holds the parcel for a complete address and gives no day until it has one: the
    notice asks for the address and says neither "late" nor "nothing says it will be"."""
    facts = attention("address_issue", ["confirm_address"], None)
    facts["awaits_customer"] = True
    return facts


def attention_at_risk() -> dict[str, Any]:
    """FedEx holds the parcel at a Memphis hub stopped by weather, the promise (Nov 25) is
    near and nothing says when the hub moves again: held up, could miss the date, not late
    (ADR 0016)."""
    facts = _stopped_hub("weather", "Memphis, TN", "2026-11-19T05:10:00-06:00")()
    facts.update(kind="attention", at_risk=True)
    facts["orders"][0]["promised_by"] = "2026-11-25"
    return _unknown_eta(facts)


def _attention_at_risk_german_unstated() -> dict[str, Any]:
    """An exception without a cause, the carrier's day gone by: held up, cause not given."""
    facts = _unstated("exception", "2026-11-20T01:43:19-06:00", "Dallas, TX")()
    facts.update(kind="attention", at_risk=True, locale="de-DE", timezone="Europe/Berlin")
    facts["customer"]["first_name"] = "Jörg"
    facts["orders"][0]["promised_by"] = "2026-11-24"
    return _unknown_eta(facts, "2026-11-23T12:00:00+01:00")


def _delay_with_problem_at_risk_spanish() -> dict[str, Any]:
    facts = delay_with_problem()
    facts.update(locale="es-ES", timezone="Europe/Madrid")
    facts["customer"]["first_name"] = "Lucía"
    facts["orders"][1]["problem"] = {
        "cause": "weather",
        "next_steps": ["nothing_to_do", "we_will_update"],
        "at_risk": True,
    }
    return facts


def _delay_with_problem_awaiting_spanish() -> dict[str, Any]:
    facts = delay_with_problem()
    facts.update(locale="es-ES", timezone="Europe/Madrid")
    facts["customer"]["first_name"] = "Lucía"
    facts["orders"][1]["problem"]["awaits_customer"] = True
    return facts


def delay_with_problem() -> dict[str, Any]:
    """Ana's order O000123 is late (weather, Nov 24-25); her order O000456 is not, but the
    carrier could not find its address: told apart, with what to do, in the same notice."""
    facts = _two_orders()
    facts["cause"] = "weather"
    facts["next_steps"] = ["nothing_to_do", "we_will_update"]
    facts["orders"][0]["items"] = facts["orders"][0]["items"][:1]
    facts["orders"][1]["shipments"] = facts["orders"][1]["shipments"][:1]
    facts["orders"][1]["problem"] = {"cause": "address_issue", "next_steps": ["confirm_address"]}
    return facts


def _delay_with_problem_split_german() -> dict[str, Any]:
    """One order, two parcels: the socks are late, the carrier damaged the scarf's parcel."""
    facts = base_facts()
    facts.update(locale="de-DE", timezone="Europe/Berlin")
    late, problem = facts["orders"][0], json.loads(json.dumps(facts["orders"][0]))
    late["items"] = late["items"][:1]
    problem["items"] = problem["items"][1:]
    problem["shipments"][0]["tracking_number"] = "123456789029"
    problem["problem"] = {"cause": "damaged", "next_steps": ["person_will_contact"]}
    facts["orders"].append(problem)
    return facts


def cause_group(cause: str, order_ids: list[str], evidence: Any = None) -> dict[str, Any]:
    return {
        "cause": cause,
        "order_ids": order_ids,
        "evidence": evidence,
        "next_steps": next_steps(cause),
    }


def mixed_causes() -> dict[str, Any]:
    """Ana's order O000123 is held at the FedEx hub in Memphis, stopped by weather; nobody was
    in when USPS brought O000456: each order is told its own reason, and the steps that ask
    something of her name the order they are about (ADR 0014)."""
    facts = _two_orders()
    facts["orders"][1]["shipments"] = facts["orders"][1]["shipments"][:1]
    stop = _stopped_hub("weather", "Memphis, TN", "2026-11-19T05:10:00-06:00")()
    facts["cause"], facts["cause_evidence"] = "weather", stop["cause_evidence"]
    attempt = {
        "kind": "failed_attempt",
        "carrier_title": "USPS",
        "at": "2026-11-20T14:02:00-06:00",
        "place": "Austin, TX",
    }
    facts["causes"] = [
        cause_group("weather", ["O000123"], facts["cause_evidence"]),
        cause_group("recipient_unavailable", ["O000456"], attempt),
    ]
    facts["next_steps"] = ["redelivery_scheduled", "pickup_available", "we_will_update"]
    return facts


def _mixed_causes_german() -> dict[str, Any]:
    """No date yet: USPS reported a delay without a reason for O000123 (which decides the
    notice), a late truck holds O000456."""
    facts = _unknown_eta(mixed_causes(), "2026-11-23T12:00:00+01:00")
    facts.update(locale="de-DE", timezone="Europe/Berlin", cause="unknown")
    facts["customer"]["first_name"] = "Jürgen"
    facts["cause_evidence"] = {
        "kind": "exception",
        "carrier_title": "FedEx",
        "at": "2026-11-20T01:43:00+01:00",
        "place": "Memphis, TN",
    }
    facts["causes"] = [
        cause_group("unknown", ["O000123"], facts["cause_evidence"]),
        cause_group("transport_delay", ["O000456"]),
    ]
    facts["next_steps"] = ["nothing_to_do", "we_will_update"]
    return facts


def _mixed_attention_spanish() -> dict[str, Any]:
    """An attention notice of two problems: a damaged parcel and an address to confirm."""
    facts = _two_orders()
    facts.update(kind="attention", locale="es-ES", timezone="Europe/Madrid", cause="damaged")
    facts["customer"]["first_name"] = "Lucía"
    facts["orders"][1]["shipments"] = facts["orders"][1]["shipments"][:1]
    for order in facts["orders"]:
        order["promised_by"] = "2026-11-25"
    facts["causes"] = [
        cause_group("damaged", ["O000123"]),
        cause_group("address_issue", ["O000456"]),
    ]
    facts["next_steps"] = ["replacement_or_refund", "person_will_contact", "confirm_address"]
    return _unknown_eta(facts, "2026-11-23T12:00:00+01:00")


def _not_collected() -> dict[str, Any]:
    """The label was made, and UPS has not collected the parcel since: not "it left late"."""
    facts = _unknown_eta(_cause("missed_pickup", next_steps("missed_pickup")))
    facts["cause_evidence"] = {
        "kind": "not_picked_up",
        "carrier_title": "UPS",
        "at": "2026-11-17T14:41:00-05:00",
        "place": "Allentown, PA",
    }
    return facts


def _not_coming(cause: str) -> dict[str, Any]:
    """The parcel will not come (lost, on its way back to us): no "running late", no date."""
    facts = _unknown_eta(_cause(cause, next_steps(cause)))
    facts["not_coming"] = True
    return facts


def _returning_german() -> dict[str, Any]:
    facts = _not_coming("returning_to_sender")
    facts.update(locale="de-DE", timezone="Europe/Berlin")
    facts["next_update_by"] = "2026-11-23T12:00:00+01:00"
    facts["customer"]["first_name"] = "Jürgen"
    return facts


def two_dates() -> dict[str, Any]:
    """Ana's O000456 has a day (Nov 24); O000123, held by weather, has none yet: each order
    is told its own, and the time we write again is for the one without (ADR 0014)."""
    facts = _unknown_eta(_two_orders())
    facts["cause"] = "weather"
    facts["orders"][1]["shipments"] = facts["orders"][1]["shipments"][:1]
    facts["dates"] = [
        {"eta": {"earliest": "2026-11-24", "latest": "2026-11-24"}, "order_ids": ["O000456"]},
        {"eta": None, "order_ids": ["O000123"]},
    ]
    return facts


def _two_windows_german() -> dict[str, Any]:
    """Both orders have a date, not the same one: the subject spans both, each order reads
    its own."""
    facts = _two_orders()
    facts.update(locale="de-DE", timezone="Europe/Berlin")
    facts["customer"]["first_name"] = "Jürgen"
    facts["orders"][1]["shipments"] = facts["orders"][1]["shipments"][:1]
    facts["dates"] = [
        {"eta": {"earliest": "2026-11-23", "latest": "2026-11-23"}, "order_ids": ["O000456"]},
        {"eta": {"earliest": "2026-11-24", "latest": "2026-11-25"}, "order_ids": ["O000123"]},
    ]
    return facts


def follow_up(kind: str, first: str, last: str | None = None) -> dict[str, Any]:
    """Ana was told on Nov 19 of a weather delay (Nov 21-22); now it was delivered, or the
    carrier's date is back within the promise (Nov 25 here)."""
    facts = base_facts()
    facts["kind"] = kind
    facts["orders"][0]["promised_by"] = "2026-11-20" if kind == "delivered" else "2026-11-25"
    last = last or first
    facts["eta"] = {"earliest": first, "latest": last, "most_likely": last, "confidence": None}
    facts["next_steps"] = ["check_delivery"] if kind == "delivered" else ["nothing_to_do"]
    facts["previous_notice"] = {
        "sent_on": "2026-11-19",
        "eta": {
            "earliest": "2026-11-21",
            "latest": "2026-11-22",
            "most_likely": "2026-11-21",
            "confidence": 0.8,
        },
        "next_update_by": None,
    }
    return facts


def _delivered_german_two_days() -> dict[str, Any]:
    """One order in two parcels, delivered on two days; our first message gave no date."""
    facts = base_facts()
    facts["orders"][0]["shipments"].append(
        {"carrier": "dhl", "carrier_title": "DHL", "tracking_number": "JD014600006281230704"}
    )
    german = _german()
    facts.update(
        kind="delivered",
        locale=german["locale"],
        timezone=german["timezone"],
        contact=german["contact"],
        next_steps=["check_delivery"],
        eta={
            "earliest": "2026-11-20",
            "latest": "2026-11-21",
            "most_likely": "2026-11-21",
            "confidence": None,
        },
        next_update_by=None,
        previous_notice={
            "sent_on": "2026-11-18",
            "eta": None,
            "next_update_by": "2026-11-19T18:00:00+01:00",
        },
    )
    facts["customer"]["first_name"] = "Jürgen"
    facts["dates"] = [  # as compose gives them: the order is split, each part names its items
        {"eta": _day("2026-11-20"), "order_ids": ["O000123"], "items": ["Wool socks"]},
        {"eta": _day("2026-11-21"), "order_ids": ["O000123"], "items": ["Merino scarf"]},
    ]
    return facts


def _day(day: str) -> dict[str, str]:
    return {"earliest": day, "latest": day}


def follow_up_two_orders(kind: str) -> dict[str, Any]:
    """Ana's two late orders: delivered on two days, or now due in two windows in time. Each
    order reads its own day (ADR 0014); no "between Friday and Saturday" for both."""
    facts = _two_orders()
    facts["orders"][1]["shipments"] = facts["orders"][1]["shipments"][:1]
    one = follow_up(
        kind,
        *(("2026-11-20", "2026-11-21") if kind == "delivered" else ("2026-11-23", "2026-11-25")),
    )
    facts.update({k: one[k] for k in ("kind", "eta", "next_steps", "previous_notice")})
    for order in facts["orders"]:
        order["promised_by"] = one["orders"][0]["promised_by"]
    if kind == "delivered":
        facts["dates"] = [
            {"eta": _day("2026-11-20"), "order_ids": ["O000456"]},
            {"eta": _day("2026-11-21"), "order_ids": ["O000123"]},
        ]
    else:
        facts["dates"] = [
            {"eta": _day("2026-11-23"), "order_ids": ["O000123"]},
            {"eta": {"earliest": "2026-11-24", "latest": "2026-11-25"}, "order_ids": ["O000456"]},
        ]
    return facts


def _resolved_spanish_unstated() -> dict[str, Any]:
    facts = follow_up("resolved", "2026-11-24")
    facts.update(locale="es-MX", timezone="America/Mexico_City", cause="unknown")
    facts["customer"]["first_name"] = "Lucía"
    facts["cause_evidence"] = {
        "kind": "exception",
        "carrier_title": "FedEx",
        "at": "2026-11-19T07:10:00-06:00",
        "place": "Memphis, TN",
    }
    return facts


# One case per cause the taxonomy knows, besides the hand-made ones below.
_MORE_CAUSES = (
    "natural_disaster",
    "business_closed",
    "refused",
    "returning_to_sender",
    "returned_to_sender",
    "held_for_payment",
    "processing_delay",
    "incorrect_documents",
    "missed_pickup",
    "cancelled",
)

CASES: dict[str, Any] = {
    "weather_window": base_facts,
    "customs_single_day": lambda: _cause("customs", ["customs_documents"], "2026-11-26"),
    "address_issue": lambda: _cause("address_issue", ["confirm_address"], "2026-11-25"),
    "recipient_unavailable": lambda: _cause(
        "recipient_unavailable", ["redelivery_scheduled", "pickup_available"], "2026-11-23"
    ),
    "carrier_volume_two_orders": _two_orders,
    "transport_delay_split_shipment": _split_shipment,
    "damaged": lambda: _cause(
        "damaged", ["replacement_or_refund", "person_will_contact"], "2026-11-27"
    ),
    "lost_unknown_eta": lambda: _unknown_eta(
        _cause("lost", ["person_will_contact", "replacement_or_refund"])
    ),
    "no_scan_unknown_eta": lambda: _unknown_eta(_cause("no_scan", ["we_will_update"])),
    "german_customs": _german,
    "german_unknown_eta": _german_unknown_eta,
    "spanish_holiday": _spanish,
    "british_missort": _british,
    "hostile_name": _hostile,
    "second_delay": _second_delay,
    "second_delay_after_unknown_eta_german": _second_delay_after_unknown_eta,
    "unknown_cause_exception": _unstated("exception", "2026-11-20T01:43:19-06:00", "Dallas, TX"),
    "unknown_cause_late_eta": _unstated("late_eta", None, None, "FedEx"),
    "weather_stopped_hub_unknown_eta": lambda: _unknown_eta(
        _stopped_hub("weather", "Memphis, TN", "2026-11-19T05:10:00-06:00")()
    ),
    "weather_stopped_hub_german": _stopped_hub_german,
    "natural_disaster_stopped_hub_spanish": _stopped_hub_spanish,
    "unknown_cause_promise_breached": _unstated(
        "promise_breached", "2026-11-19T09:05:00-05:00", None, "UPS"
    ),
    "follow_up_delivered": lambda: follow_up("delivered", "2026-11-21"),
    "follow_up_delivered_german_two_days": _delivered_german_two_days,
    "follow_up_resolved": lambda: follow_up("resolved", "2026-11-24"),
    "follow_up_delivered_two_orders_two_days": lambda: follow_up_two_orders("delivered"),
    "follow_up_resolved_two_orders_two_windows": lambda: follow_up_two_orders("resolved"),
    "follow_up_resolved_spanish_unstated_cause": _resolved_spanish_unstated,
    "attention_address_in_time": lambda: attention(
        "address_issue", ["confirm_address"], "2026-11-24"
    ),
    "attention_damaged_german_no_eta": _attention_german_damaged,
    "attention_address_spanish": _attention_spanish_address,
    "delay_with_problem_order": delay_with_problem,
    "attention_address_awaiting_customer": attention_awaiting_customer,
    "delay_with_problem_awaiting_customer_spanish": _delay_with_problem_awaiting_spanish,
    "delay_with_problem_parcel_german": _delay_with_problem_split_german,
    "attention_weather_hold_at_risk": attention_at_risk,
    "attention_at_risk_german_unstated_cause": _attention_at_risk_german_unstated,
    "delay_with_problem_at_risk_spanish": _delay_with_problem_at_risk_spanish,
    "missed_pickup_not_collected_yet": _not_collected,
    "lost_will_not_arrive": lambda: _not_coming("lost"),
    "returning_to_sender_will_not_arrive_german": _returning_german,
    "mixed_causes_stopped_hub_and_missed_delivery": mixed_causes,
    "two_orders_one_without_a_date": two_dates,
    "two_orders_two_windows_german": _two_windows_german,
    "mixed_causes_german_unstated_and_transport": _mixed_causes_german,
    "mixed_causes_attention_spanish": _mixed_attention_spanish,
    **{
        f"cause_{cause}": (lambda c=cause: _cause(c, next_steps(c), "2026-11-25"))
        for cause in _MORE_CAUSES
    },
}


def golden_files(case: str) -> dict[str, str]:
    """Every golden file of one case: file name -> rendered content."""
    facts = CASES[case]()
    email, sms = render(facts, "email"), render(facts, "sms")
    assert email.subject is not None and email.html is not None
    return {
        f"{case}.email.subject.txt": email.subject + "\n",
        f"{case}.email.html": email.html,
        f"{case}.email.txt": email.text,
        f"{case}.sms.txt": sms.text + "\n",
    }


def regenerate() -> list[Path]:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for case in CASES:
        for name, content in golden_files(case).items():
            path = GOLDEN_DIR / name
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written


# --------------------------------------------------------------------------- golden


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_messages(case: str) -> None:
    for name, content in golden_files(case).items():
        path = GOLDEN_DIR / name
        assert path.exists(), f"missing {path}; run python -m tests.test_render --regen"
        assert content == path.read_text(encoding="utf-8"), f"{name} differs from golden"


def test_the_golden_cases_cover_every_cause_and_the_hard_shapes() -> None:
    built = {name: CASES[name]() for name in CASES}
    assert {f["cause"] for f in built.values()} == {r.value for r in Reason}
    assert any(len(f["orders"]) == 2 for f in built.values())  # two orders
    assert any(f["eta"] is None for f in built.values())  # unknown ETA
    assert any(f["previous_notice"] for f in built.values())  # second delay
    assert {f["locale"][:2] for f in built.values()} == {"en", "de", "es"}
    assert "transport_delay_split_shipment" in built  # one parcel of two is late


def test_every_golden_file_belongs_to_a_case() -> None:
    expected = {name for case in CASES for name in golden_files(case)}
    assert {p.name for p in GOLDEN_DIR.iterdir()} == expected


# --------------------------------------------------------------------------- content


def test_reference_email_names_everything_the_customer_needs() -> None:
    message = render(base_facts(), "email")
    assert message.subject == (
        "Order O000123 is running late: now arriving between Tue, Nov 24 and Wed, Nov 25"
    )
    text = message.text
    for needed in (
        "O000123",
        "2 × Wool socks",
        "1 × Merino scarf",
        "Promised by Friday, November 20",
        "Between Tuesday, November 24 and Wednesday, November 25",
        "Most likely Tuesday, November 24.",
        "We are 90% confident",
        "Severe weather has stopped",
        "You don't need to do anything.",
        "https://shop.example.com/orders/O000123/tracking",
        "support@example.com, +1 555 0100",
        "FedEx, tracking number 123456789012",
    ):
        assert needed in text, needed
    assert "(s)" not in text and "3 items from your order O000123 are running late." in text
    assert message.channel == "email" and message.sms_segments == 0 and message.encoding is None


def test_plural_rules_follow_cldr() -> None:
    one = _split_shipment()
    assert "1 item from your order O000123 is running late." in render(one, "email").text
    two = _two_orders()
    text = render(two, "email").text
    assert "4 items from your orders O000123 and O000456 are running late." in text
    assert str(render(two, "email").subject).startswith("Orders O000123 and O000456 are running")
    german = _german()
    german["orders"][0]["items"] = [{"title": "Wollsocken", "quantity": 1}]
    assert "1 Artikel aus Ihrer Bestellung O000123 verspätet sich." in render(german, "email").text


def test_single_day_and_locale_date_styles() -> None:
    us = render(_cause("customs", ["nothing_to_do"], "2026-11-24"), "email")
    assert us.subject == "Order O000123 is running late: now arriving Tue, Nov 24"
    assert "\nTuesday, November 24\n" in us.text and "confident it arrives that day" in us.text
    assert "Between" not in us.text
    gb = render(_british(), "email")
    assert gb.subject == "Order O000123 is running late: now arriving Tue 24 Nov"
    assert "Tuesday, 24 November" in gb.text and "Promised by Friday, 20 November" in gb.text
    de = render(_german(), "email")
    assert "Zwischen Dienstag, 24. November und Mittwoch, 25. November" in de.text
    assert de.subject == (
        "Bestellung O000123 verspätet sich: neue Lieferung zwischen Di., 24. Nov. und Mi., 25. Nov."
    )


def test_a_problem_order_in_a_delay_notice_is_told_apart_not_as_late() -> None:
    """O000456 has an address problem and nothing says it is late: the subject, headline and
    "what is late" name only O000123; O000456 comes after, with what happened and what to do."""
    email = render(delay_with_problem(), "email")
    assert email.subject is not None and email.subject.startswith("Order O000123 is running")
    assert email.subject.endswith("; a problem with order O000456")
    late, also = email.text.split("Also reported by the carrier:")
    assert "O000456" not in late.split("What is late:")[0]  # headline and intro
    assert "Rain jacket" not in late and "Wool socks" in late
    assert "Rain jacket" in also and "confirm your delivery address" in also
    assert "Nothing says yet that it will miss the date we promised." in also
    assert "What happens next:\n- You don't need to do anything." in also  # the late order's
    sms = render(delay_with_problem(), "sms")
    assert "Order O000123 is running late." in sms.text and "Late: 2x Wool socks." in sms.text
    assert "Also order O000456: Please confirm your address via the link." in sms.text


def test_an_sms_with_room_says_what_happened_to_the_problem_order() -> None:
    """Shortened in step with the rest: items go with the late order's passive steps, what
    happened with its promised date; what the customer must do stays longest."""
    facts = delay_with_problem()
    facts["brand"] = "Oasis"
    facts["contact"]["route"] = "help@s.example"
    for i, order in enumerate(facts["orders"]):
        order["tracking_url"] = f"https://s.example/{i}"
    text = render(facts, "sms").text
    assert (
        "Also order O000456: the carrier could not find the address. Please confirm your"
        " address via the link. Track:" in text
    )


@pytest.mark.parametrize("kind", ["attention", "delay"])
def test_problem_orders_ride_only_along_late_ones_in_a_delay_notice(kind: str) -> None:
    facts = delay_with_problem()
    facts["kind"] = kind
    if kind == "delay":  # every order a problem: that is an attention notice
        facts["orders"][0]["problem"] = {"cause": "damaged", "next_steps": ["nothing_to_do"]}
    with pytest.raises(RenderError, match="attention"):
        render(facts, "email")


def test_an_eta_without_measured_confidence_states_none() -> None:
    facts = _cause("customs", ["nothing_to_do"], "2026-11-24")
    facts["eta"]["confidence"] = None
    message = render(facts, "email")
    assert "\nTuesday, November 24\n\nWhy it is late:" in message.text
    assert "confident" not in message.text and "confident" not in str(message.html)
    window = base_facts()
    window["eta"]["confidence"] = None
    text = render(window, "email").text
    assert "Most likely Tuesday, November 24.\n" in text and "confident" not in text


def test_unknown_eta_says_when_the_next_update_comes_in_the_customers_zone() -> None:
    message = render(_unknown_eta(_cause("no_scan", ["we_will_update"])), "email")
    # the subject is one plain line: the narrow no-break space CLDR puts before PM is a space
    assert message.subject == "Order O000123 is delayed: next update by Mon, Nov 23, 12:00 PM"
    assert "We will send you an update by Monday, November 23, 12:00\u202fPM." in message.text
    german = render(_german_unknown_eta(), "email")  # 18:00+01:00 shown in Berlin
    assert "Wir melden uns spätestens Montag, 23. November, 18:00 wieder." in german.text
    chicago = _german_unknown_eta()
    chicago["timezone"] = "America/Chicago"
    assert "Montag, 23. November, 11:00" in render(chicago, "email").text


def test_two_orders_each_listed_with_their_own_promise_and_items() -> None:
    text = render(_two_orders(), "email").text
    first, second = text.index("Order O000123\n"), text.index("Order O000456\n")
    assert first < text.index("Promised by Friday, November 20") < second
    assert second < text.index("Promised by Saturday, November 21")
    assert second < text.index("1 × Rain jacket")
    assert text.count("USPS, tracking number") == 2
    sms = render(_two_orders(), "sms")
    assert "O000123 and O000456" in sms.text and "orders/O000456/tracking" in sms.text


def test_contact_names_a_route_and_opening_hours_in_the_customers_language() -> None:
    text = render(base_facts(), "email").text
    assert "Our team can help: support@example.com, +1 555 0100\n" in text
    assert "Open Mon–Fri, 8:00\u202fAM–8:00\u202fPM and Sat, 9:00\u202fAM–1:00\u202fPM " in text
    assert "(Eastern Time)." in text
    german = render(_german(), "email").text
    assert "Erreichbar Mo.–Fr. 08:00–20:00 und Sa. 09:00–13:00" in german
    assert "(Nordamerikanische Ostküstenzeit)." in german
    spanish = _spanish()
    spanish["contact"]["hours"] = [{"days": ["mon", "wed"], "opens": "09:00", "closes": "17:30"}]
    assert "Horario: lun y mié, 9:00\u202fa.m.–5:30\u202fp.m." in render(spanish, "email").text
    assert "Help: support@example.com, +1 555 0100" in render(base_facts(), "sms").text


@pytest.mark.parametrize(
    ("kind", "at", "place", "email_says", "sms_says"),
    [
        (
            "exception",
            "2026-11-20T01:43:19-06:00",
            "Dallas, TX",
            "USPS reported a delay in Dallas, TX on Friday, November 20, 1:43\u202fAM and has "
            "not said why.",
            "USPS reported a delay in Dallas, TX on Fri, Nov 20, no reason given.",
        ),
        (
            "failed_attempt",
            "2026-11-20T14:10:00-06:00",
            None,
            "USPS could not deliver on Friday, November 20, 2:10\u202fPM and has not said why.",
            "USPS could not deliver on Fri, Nov 20, no reason given.",
        ),
        (
            "promise_breached",
            "2026-11-19T09:05:00-05:00",
            "Memphis, TN",
            "Its last scan was in Memphis, TN on Thursday, November 19, 8:05\u202fAM.",
            "Memphis, TN",
        ),
        (
            "stalled",
            "2026-11-18T22:00:00-06:00",
            None,
            "USPS has not scanned your parcel since Wednesday, November 18, 10:00\u202fPM.",
            "since Wed, Nov 18.",
        ),
        (
            "late_eta",
            None,
            None,
            "USPS moved the delivery past the date we promised and has not said why.",
            "USPS moved the",
        ),
        (
            "not_picked_up",
            None,
            None,
            "USPS has not yet collected your parcel from our warehouse.",
            "USPS has not",
        ),
    ],
)
def test_a_cause_the_carrier_did_not_give_is_stated_as_what_it_did(
    kind: str, at: str | None, place: str | None, email_says: str, sms_says: str
) -> None:
    facts = _unstated(kind, at, place)()
    email, sms = render(facts, "email"), render(facts, "sms")
    assert email_says in email.text and "has not told us the cause" not in email.text
    assert sms_says in sms.text and sms.sms_segments <= 2


@pytest.mark.parametrize("locale", ["en-US", "de-DE", "es-ES"])
def test_every_unstated_cause_has_wording_in_every_language(locale: str) -> None:
    wording = json.loads((TEMPLATES / "wording" / f"{locale[:2]}.json").read_text("utf-8"))
    generic = wording["causes"]["unknown"]["long"]
    for kind in UNSTATED_CAUSE_KINDS:
        for place in (None, "Dallas, TX"):
            facts = _unstated(kind, "2026-11-20T01:43:19-06:00", place)()
            facts["locale"] = locale
            email, sms = render(facts, "email"), render(facts, "sms")
            assert "USPS" in email.text and "USPS" in sms.text, (kind, place)
            where = place if place and UNSTATED_CAUSE_KINDS[kind] else "USPS"
            assert where in email.text and sms.sms_segments <= 2, (kind, place, sms.text)
            assert generic not in email.text, (kind, place)


def test_without_evidence_an_unknown_cause_is_printed_as_unknown_for_the_gate_to_refuse() -> None:
    no_time = _unstated("exception", None, "Dallas, TX")()  # the kind needs a time
    assert "The carrier has not told us the cause yet." in render(no_time, "email").text
    odd_kind = _unstated("promise_kept", "2026-11-20T01:43:19-06:00", None)()
    assert "The carrier has not told us the cause yet." in render(odd_kind, "email").text


def test_a_second_delay_says_what_our_last_message_said() -> None:
    email = render(_second_delay(), "email")
    assert email.text.startswith("New update on your late order O000123\n")
    assert (
        "In our message of Saturday, November 21 we expected delivery between Tuesday, "
        "November 24 and Wednesday, November 25. That has changed." in email.text
    )
    assert email.subject == "Order O000123 is running late: now arriving Fri, Nov 27"
    assert "Update to our message of Sat, Nov 21." in render(_second_delay(), "sms").text
    single = _second_delay()
    single["previous_notice"]["eta"] |= {"latest": "2026-11-24"}
    assert "we expected delivery on Tuesday, November 24." in render(single, "email").text
    german = render(_second_delay_after_unknown_eta(), "email").text
    assert "Wie in unserer Nachricht vom Samstag, 21. November angekündigt, melden" in german
    assert "Neues zu Ihrer verspäteten Bestellung O000123" in german


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_the_gate_expects_is_what_every_channel_prints(case: str) -> None:
    facts = CASES[case]()
    eta = facts["eta"] or {}
    evidence = facts["cause_evidence"]
    dates, causes = stated_in_message(
        locale=facts["locale"],
        timezone=facts["timezone"],
        eta_earliest=eta.get("earliest"),
        eta_latest=eta.get("latest"),
        next_update_by=facts["next_update_by"],
        cause=facts["cause"],
        cause_evidence=json.dumps(evidence) if evidence else None,
    )
    email, sms = render(facts, "email"), render(facts, "sms")
    for text in (comparable(f"{email.subject} {email.text}"), comparable(sms.text)):
        assert all(any(form in text for form in day) for day in dates), (dates, text)
        if text.startswith("Oasis Demo Shop:"):  # the SMS: only the short forms
            assert all(day[0] in text for day in dates), (dates, text)
        assert any(cause in text for cause in causes), (causes, text)


def test_a_stop_at_a_hub_is_told_with_the_hub_and_since_when_for_its_causes_only() -> None:
    facts = _stopped_hub("weather", "Memphis, TN", "2026-11-19T05:10:00-06:00")()
    text = render(facts, "email").text
    assert "Severe weather stopped the FedEx hub in Memphis, TN on Thursday, November 19," in text
    assert "on the route to you." in text
    assert "the FedEx hub in Memphis, TN on Thu, Nov 19." in render(facts, "sms").text
    facts["cause"] = "customs"  # a cause a hub stop does not have: its own wording, no hub
    facts["next_steps"] = next_steps("customs")
    assert "Memphis" not in render(facts, "email").text
    facts = _stopped_hub("weather", "Memphis, TN", "2026-11-19T05:10:00-06:00")()
    del facts["cause_evidence"]["stop"]  # facts composed before stops were named
    assert "Severe weather has stopped the carrier's trucks" in render(facts, "email").text
    facts["cause_evidence"]["stop"] = {"since": "2026-11-19T05:10:00-06:00"}
    with pytest.raises(RenderError, match="stop"):
        render(facts, "email")


def test_every_reason_and_next_step_has_wording_in_every_language() -> None:
    steps = [
        "nothing_to_do",
        "we_will_update",
        "confirm_address",
        "pickup_available",
        "redelivery_scheduled",
        "customs_documents",
        "replacement_or_refund",
        "person_will_contact",
    ]
    for locale in ("en-US", "de-DE", "es-ES"):
        for reason in Reason:
            facts = _cause(reason.value, steps)
            facts["locale"] = locale
            assert render(facts, "email").text and render(facts, "sms").text


def test_wording_files_cover_every_plural_category_of_their_language() -> None:
    from babel import Locale

    for path in sorted((TEMPLATES / "wording").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        categories = set(Locale.parse(path.stem).plural_form.tags) | {"other"}
        assert data["language"] == path.stem
        for section in ("phrases", "delay"):
            for key, entry in data[section].items():
                if isinstance(entry, dict):
                    assert set(entry) == categories, (path.name, key)


def test_render_preview_follows_the_customers_contacts() -> None:
    facts = base_facts()
    assert set(render_preview(facts)) == {"email", "sms"}
    facts["customer"]["phone"] = None
    assert set(render_preview(facts)) == {"email"}
    facts["customer"]["email"] = None
    assert render_preview(facts) == {}


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    "path",
    [
        ("kind",),
        ("locale",),
        ("timezone",),
        ("brand",),
        ("customer", "first_name"),
        ("customer", "email"),
        ("orders", 0, "order_id"),
        ("orders", 0, "tracking_url"),
        ("orders", 0, "promised_by"),
        ("orders", 0, "items", 0, "quantity"),
        ("orders", 0, "shipments", 0, "tracking_number"),
        ("eta", "most_likely"),
        ("next_update_by",),
        ("cause",),
        ("cause_evidence",),
        ("next_steps",),
        ("contact",),
        ("contact", "route"),
        ("contact", "hours"),
        ("contact", "timezone"),
        ("contact", "hours", 0, "closes"),
        ("previous_notice",),
    ],
)
def test_a_missing_key_is_an_error_naming_it(path: tuple[Any, ...]) -> None:
    facts = base_facts()
    target = facts
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(RenderError, match=re.escape(repr(path[-1]))):
        render(facts, "email")


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.update(next_update_by="2026-11-23T12:00:00-06:00"),  # both ETA and update
        lambda f: f.update(eta=None),  # neither
        lambda f: f.update(next_update_by="2026-11-23T12:00:00", eta=None),  # no offset
        lambda f: f.update(cause="sunspots"),
        lambda f: f.update(next_steps=["call_us_maybe"]),
        lambda f: f.update(next_steps=[]),
        lambda f: f.update(locale="fr-FR"),  # no French wording
        lambda f: f.update(locale="xx-??"),
        lambda f: f.update(timezone="Mars/Olympus"),
        lambda f: f.update(kind="apology"),  # no templates for that kind
        lambda f: f.update(kind="delivered", eta=None, next_update_by="2026-11-23T12:00:00-06:00"),
        lambda f: f.update(kind="../../etc/passwd"),
        lambda f: f["orders"][0].update(tracking_url="javascript:alert(1)"),
        lambda f: f["orders"][0].update(order_id="O1\r\nBcc: x"),
        lambda f: f["orders"][0].update(promised_by="next week"),
        lambda f: f["orders"][0].update(items=[]),
        lambda f: f["orders"][0]["items"][0].update(quantity=0),
        lambda f: f["eta"].update(most_likely="2026-11-30"),
        lambda f: f["eta"].update(confidence=1.5),
        lambda f: f["eta"].update(confidence="high"),
        lambda f: f.update(timezone=None),  # no zone: never silently UTC
        lambda f: f["customer"].update(first_name="\u202e\u202c\r\n"),  # nothing left to greet
        lambda f: f["contact"].update(hours=[]),  # a person, but never reachable
        lambda f: f["contact"].update(route=" "),
        lambda f: f["contact"]["hours"][0].update(days=["monday"]),
        lambda f: f["contact"]["hours"][0].update(opens="20:00", closes="08:00"),
        lambda f: f["contact"]["hours"][0].update(opens="8am"),
        lambda f: f["contact"].update(timezone="Mars/Olympus"),
        lambda f: f.update(
            cause="unknown",
            cause_evidence={"kind": "exception", "carrier_title": "UPS", "at": "2026-11-20T09:00"},
        ),  # a time without offset (and no place key)
        lambda f: f.update(previous_notice={"sent_on": "2026-11-21", "eta": None}),
        lambda f: f.update(
            previous_notice={"sent_on": "yesterday", "eta": None, "next_update_by": None}
        ),
    ],
)
def test_unusable_facts_are_refused(change: Any) -> None:
    facts = base_facts()
    change(facts)
    with pytest.raises(RenderError):
        render(facts, "email")


def test_unknown_channel_is_refused() -> None:
    with pytest.raises(RenderError, match="push"):
        render(base_facts(), "push")


def _template_copy(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target


def test_templates_are_sandboxed_and_strict(tmp_path: Path) -> None:
    templates = _template_copy(tmp_path)
    subject = templates / "email" / "delay.subject.txt"
    subject.write_text("{{ subject.__class__.__mro__[1].__subclasses__() }}\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"unsafe|access"):
        render(base_facts(), "email", templates_dir=templates)
    subject.write_text("{{ customer_first_name }}\n", encoding="utf-8")
    with pytest.raises(RenderError, match="customer_first_name"):
        render(base_facts(), "email", templates_dir=templates)


def test_template_version_tracks_templates_and_wording(tmp_path: Path) -> None:
    templates = _template_copy(tmp_path)
    email = render(base_facts(), "email", templates_dir=templates).template_version
    assert re.fullmatch(r"[0-9a-f]{64}", email)
    assert render(base_facts(), "email", templates_dir=templates).template_version == email
    sms = render(base_facts(), "sms", templates_dir=templates).template_version
    assert sms != email
    order_partial = templates / "email" / "_order.txt"  # a partial counts too
    order_partial.write_text(order_partial.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    changed = render(base_facts(), "email", templates_dir=templates).template_version
    assert changed != email
    assert render(base_facts(), "sms", templates_dir=templates).template_version == sms
    wording = templates / "wording" / "en.json"
    wording.write_text(wording.read_text(encoding="utf-8").replace("Hello", "Hi"), encoding="utf-8")
    assert render(base_facts(), "sms", templates_dir=templates).template_version != sms


# --------------------------------------------------------------------------- hostile input


def test_hostile_name_is_escaped_in_html_and_literal_in_text() -> None:
    email = render(_hostile(), "email")
    assert email.html is not None and email.subject is not None
    assert "<img" not in email.html and "<script" not in email.html
    assert "&lt;img src=x onerror=alert(1)&gt;{{7*7}}" in email.html
    assert "&lt;script&gt;alert('x')&lt;/script&gt; Socks {% if 1 %}" in email.html
    assert "Hello <img src=x onerror=alert(1)>{{7*7}}evil…," in email.text
    assert "<script>alert('x')</script> Socks {% if 1 %}" in email.text
    assert "49" not in email.text
    for content in (email.subject, email.html, email.text):
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", content)
    assert "\r" not in email.subject and "\n" not in email.subject
    greeting = next(line for line in email.text.splitlines() if line.startswith("Hello"))
    assert len(greeting) == len("Hello ,") + NAME_LIMIT
    assert "<bdi>שמיכה עבה 🧦🧦</bdi>" in email.html  # RTL title isolated, not reordered


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
        ("{{7*7}}", "{{7*7}}"),
        ("{% for x in range(9) %}x{% endfor %}", "{% for x in range(9) %}x{% endfor %}"),
        ("\u202eAna\u202c \u2066Bo\u2069", "Ana Bo"),
        ("Ana\r\nBcc: evil@example.com", "Ana Bcc: evil@example.com"),
        ("A" * 10_000, "A" * (NAME_LIMIT - 1) + "…"),
        ("Zoë 😀 👨\u200d👩\u200d👧", "Zoë 😀 👨\u200d👩\u200d👧"),
        ("محمد", "محمد"),
        ("Ana\x00\x07\x1b", "Ana"),
    ],
)
def test_hostile_names_render_safely(name: str, shown: str) -> None:
    facts = base_facts()
    facts["customer"]["first_name"] = name
    email, sms = render(facts, "email"), render(facts, "sms")
    assert email.html is not None and email.subject is not None
    assert f"Hello {shown}," in email.text  # literal in text, never evaluated
    assert "49" not in email.text and "xxxxxxxxx" not in email.text
    if "<" in name:
        assert "<img" not in email.html and "&lt;img src=x onerror=alert(1)&gt;" in email.html
    for content in (email.subject, email.html, email.text, sms.text):
        assert not re.search("[\u202a-\u202e\u2066-\u2069\x00-\x09\x0b-\x1f]", content)
    assert "\r" not in email.subject and "\n" not in email.subject and "\n" not in sms.text
    assert (sms.sms_segments, sms.encoding) == sms_segments(sms.text)
    assert sms.sms_segments <= 2 and "O000123" in sms.text


def test_clean_text_rules() -> None:
    assert clean_text("a\u202eb\u2067c\u2069d", 40) == "abcd"
    assert clean_text("line1\r\nline2\tx\x00y\x1b", 40) == "line1 line2 xy"
    assert clean_text("x" * 50, 10) == "x" * 9 + "…"
    assert clean_text("ab" + "\x00" * 100, 10) == "ab…"  # cut unread: still marked as cut
    family = "👨\u200d👩\u200d👧"
    assert clean_text("ab" + family * 5, 4) == "ab👨…"  # never ends in a dangling joiner
    cleaned = clean_text(HOSTILE_NAME, NAME_LIMIT)
    assert clean_text(cleaned, NAME_LIMIT) == cleaned  # idempotent (the gate relies on it)


def test_hostile_name_sms_fits_and_counts_true() -> None:
    facts = base_facts()
    facts["customer"]["first_name"] = HOSTILE_NAME  # emoji: UCS-2 until the greeting goes
    sms = render(facts, "sms")
    segments, encoding = sms_segments(sms.text)
    assert (sms.sms_segments, sms.encoding) == (segments, encoding)
    assert sms.sms_segments <= 2 and "O000123" in sms.text and "Nov 24" in sms.text
    assert "Wool socks" in sms.text and "Merino scarf" in sms.text
    assert "\r" not in sms.text and "\n" not in sms.text and "49" not in sms.text


def test_titles_that_cannot_fit_become_the_number_of_items() -> None:
    """A Hebrew title makes the SMS UCS-2 and three segments even with the tiny titles: the
    last resort states how many items are late (the email names them) instead of refusing."""
    facts = _hostile()
    sms = render(facts, "sms")
    assert (sms.sms_segments, sms.encoding) == sms_segments(sms.text) == (2, "GSM-7")
    assert "Late: 3 items. Why: severe weather on the route." in sms.text
    assert "שמיכה" not in sms.text and "<script>" not in sms.text
    email = render(facts, "email")
    assert "שמיכה עבה" in email.text and "&lt;script&gt;" in str(email.html)


def test_sms_titles_shorten_before_anything_else_goes() -> None:
    assert sms_title("Stainless Water Bottle 750 ml") == "Stainless Water Bottle…"
    assert sms_title("Supercalifragilisticexpialidocious") == "Supercalifragilisticexp…"
    assert sms_title("Socks 🧦🧦") == "Socks"
    assert sms_title("🧦") == "🧦"  # nothing but a symbol: kept (and counted)
    facts = base_facts()
    facts["orders"][0]["items"] = [
        {"title": "Ultra-light Trekking Backpack 45 L, forest green", "quantity": 1},
        {"title": "Merino Base Layer Long Sleeve, size M", "quantity": 2},
    ]
    sms = render(facts, "sms")
    assert "Late: 1x Ultra-light Trekking... and 2x Merino Base Layer Long... Why" in sms.text
    assert sms.sms_segments <= 2


def test_emoji_keeps_sms_in_ucs2_and_segments_are_counted_exactly() -> None:
    facts = _unknown_eta(base_facts())
    facts["brand"] = "Oasis 🌴"  # part of every level: the message must stay UCS-2
    sms = render(facts, "sms")
    assert sms.encoding == "UCS-2"
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in sms.text)
    assert sms.sms_segments == sms_segments(sms.text)[0] >= -(-units // 67)
    assert sms.sms_segments > 2  # returned with its true count: the gate refuses it
    for kept in ("O000123", "Mon, Nov 23, 12:00 PM", "orders/O000123/tracking", "3 items"):
        assert kept in sms.text  # never cut, even when it cannot fit two segments
    assert "Was due" not in sms.text and "Hi Ana" not in sms.text  # the shortest level
    assert "Help:" not in sms.text


def _short_links(extra: int = 0) -> dict[str, Any]:
    facts = base_facts()
    facts["orders"][0]["items"] = [{"title": "Wool socks, extra warm (pair)", "quantity": 2}]
    facts["orders"][0]["tracking_url"] = "https://ex.co/t/1" + ("?" + "x" * extra if extra else "")
    facts["contact"] = contact("help@ex.co")
    facts["brand"] = "Oasis"
    return facts


def test_sms_keeps_everything_when_it_fits() -> None:
    sms = render(_short_links(), "sms")
    assert sms.text == (
        "Oasis: Hi Ana. Order O000123 is running late. New date: Tue, Nov 24 - Wed, Nov 25. "
        "Was due Fri, Nov 20. Late: 2x Wool socks, extra warm (pair). Why: Severe weather "
        "has stopped the carrier's trucks or flights on the route to you. No action needed. "
        "We'll update you. Track: https://ex.co/t/1 Help: help@ex.co"
    )
    assert (sms.sms_segments, sms.encoding) == (2, "GSM-7")


def test_sms_shortening_drops_parts_in_a_fixed_order() -> None:
    """Growing the link forces each level in turn; a part only goes after the ones before."""
    order = [
        "Wool socks, extra warm (pair)",
        "Severe weather has stopped",
        "Hi Ana.",
        "No action needed.",
        "Was due",
        "Help: help@ex.co",
        "Wool socks",  # the last resort: "Late: 2 items."
    ]
    seen_levels = set()
    for extra in range(0, 200, 3):
        facts = _short_links(extra)
        sms = render(facts, "sms")
        present = [part in sms.text for part in order]
        assert present == sorted(present), (extra, present)  # False...False, True...True
        seen_levels.add(sum(present))
        for kept in ("O000123", "Tue, Nov 24 - Wed, Nov 25", "https://ex.co/t/1"):
            assert kept in sms.text
        assert "Wool socks" in sms.text or "Late: 2 items." in sms.text
        assert sms.sms_segments <= 2 or not any(present)
    assert seen_levels == {0, 1, 2, 3, 4, 5, 6, 7}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, (1, "GSM-7")),
        ("a" * 161, (2, "GSM-7")),
        ("a" * 306, (2, "GSM-7")),
        ("a" * 307, (3, "GSM-7")),
        ("{" * 80, (1, "GSM-7")),  # extension characters take two septets
        ("{" * 81, (2, "GSM-7")),
        ("a" * 152 + "€" + "a" * 152, (3, "GSM-7")),  # an escape pair is never split
        ("a" * 151 + "€" + "a" * 153, (2, "GSM-7")),
        ("äöüßÄÖÜéà" * 10, (1, "GSM-7")),
        ("ç", (1, "UCS-2")),
        (
            "`",
            (1, "UCS-2"),
        ),  # the back-tick is the one printable ASCII character GSM-7 lacks  # lower-case c-cedilla is not in the basic table
        ("a" * 70 + "ł", (2, "UCS-2")),
        ("ł" * 70, (1, "UCS-2")),
        ("😀" * 35, (1, "UCS-2")),  # 70 UTF-16 units
        ("😀" * 36, (2, "UCS-2")),
        ("a" * 66 + "😀" + "a" * 66, (3, "UCS-2")),  # a surrogate pair is never split
        ("a" * 65 + "😀" + "a" * 67, (2, "UCS-2")),
    ],
)
def test_sms_segment_counting(text: str, expected: tuple[int, str]) -> None:
    assert sms_segments(text) == expected
    assert sms_encoding(text) == expected[1]


# --------------------------------------------------------------------------- HTML quality


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_html_is_accessible_and_inlined() -> None:
    html = render(base_facts(), "email").html
    assert html is not None
    assert '<html lang="en" dir="ltr">' in html
    assert html.count("<h1") == 1 and html.count("<h2") == 5
    assert "<table" not in html or 'role="presentation"' in html
    assert all('alt="' in tag for tag in re.findall(r"<img\b[^>]*>", html))
    assert '<p style="margin: 0 0 12px 0;">' in html  # CSS inlined
    assert "@media (max-width: 480px)" in html  # the responsive rules stay in <style>
    assert re.search(
        r'<a class="button" href="https://shop\.example\.com/orders/O000123/tracking"', html
    )
    css = (TEMPLATES / "email" / "_styles.css").read_text(encoding="utf-8")
    assert "#1f2937" in css and "#4b5563" in css and "#1d4ed8" in css
    for foreground, background in (
        ("#1f2937", "#ffffff"),  # body text on the card
        ("#4b5563", "#ffffff"),  # muted text
        ("#4b5563", "#f3f4f6"),  # footer on the page background
        ("#ffffff", "#1d4ed8"),  # button
        ("#1d4ed8", "#ffffff"),  # links
    ):
        assert _contrast(foreground, background) >= 4.5, (foreground, background)


if __name__ == "__main__":
    if "--regen" not in sys.argv[1:]:
        sys.exit("usage: python -m tests.test_render --regen")
    for written in regenerate():
        print(written.relative_to(Path.cwd()) if written.is_relative_to(Path.cwd()) else written)


def test_orders_late_for_different_reasons_each_read_their_own() -> None:
    facts = mixed_causes()
    email, sms = render(facts, "email"), render(facts, "sms")
    assert (
        "Order O000123: Severe weather stopped the FedEx hub in Memphis, TN on Thursday, "
        "November 19, 5:10 AM, on the route to you. Order O000456: The carrier tried to "
        "deliver, but nobody was available to receive the parcel." in " ".join(email.text.split())
    )
    assert "- Order O000456: If you can't be in, you can collect the parcel" in email.text
    assert "You don't need to do anything" not in email.text  # O000456 has something to do
    assert "Why: O000123: severe weather on the route. O000456: nobody was in" in sms.text
    assert sms.sms_segments == 2
    facts["causes"] = []  # facts composed before ADR 0014: one cause, as before
    assert "Order O000456:" not in render(facts, "email").text


def test_an_sms_of_several_orders_may_link_the_page_of_all_orders_as_a_last_resort() -> None:
    facts = _mixed_causes_german()
    sms = render(facts, "sms")
    assert "Verfolgen: https://shop.example.com/orders" in sms.text
    assert "/orders/O000123/tracking" not in sms.text and sms.sms_segments == 2
    del facts["orders_url"]  # a shop without such a page: a link per order, however long
    sms = render(facts, "sms")
    assert "/orders/O000123/tracking" in sms.text and sms.sms_segments == 3
    facts["orders_url"] = "javascript:alert(1)"
    with pytest.raises(RenderError, match="orders_url"):
        render(facts, "sms")


def test_an_order_split_across_reasons_names_the_items_of_each() -> None:
    """One order, two parcels: the socks are held by weather, nobody was in for the scarf."""
    facts = base_facts()
    facts["causes"] = [
        {**cause_group("weather", ["O000123"]), "items": ["Wool socks"]},
        {**cause_group("recipient_unavailable", ["O000123"]), "items": ["Merino scarf"]},
    ]
    facts["next_steps"] = ["redelivery_scheduled", "pickup_available", "we_will_update"]
    email, sms = render(facts, "email"), render(facts, "sms")
    assert "Order O000123 (Wool socks): Severe weather has stopped" in email.text
    assert "Order O000123 (Merino scarf): The carrier tried to deliver" in email.text
    assert "- Order O000123 (Merino scarf): If you can't be in" in email.text
    assert "O000123 (Merino scarf): nobody was in at delivery." in sms.text
    facts["causes"][0]["items"] = "Wool socks"
    with pytest.raises(RenderError, match="items"):
        render(facts, "email")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f["causes"].pop(), "two or more causes"),
        (lambda f: f["causes"][1]["order_ids"].append("O999"), "exactly the late orders"),
        (lambda f: f["causes"][1].update(order_ids=["O000123"]), "exactly the late orders"),
        (lambda f: f.update(cause="customs"), "is not one of"),
        (lambda f: f["causes"][1].update(cause="gremlins"), "'gremlins' has no wording"),
        (lambda f: f["causes"][0].update(next_steps=[]), "next_steps"),
        (lambda f: f.update(causes="weather"), "two or more causes"),
    ],
)
def test_causes_that_do_not_match_the_orders_are_refused(change: Any, message: str) -> None:
    facts = mixed_causes()
    change(facts)
    with pytest.raises(RenderError, match=message):
        render(facts, "email")


def test_a_parcel_that_will_not_come_is_not_told_as_running_late() -> None:
    facts = _not_coming("lost")
    email, sms = render(facts, "email"), render(facts, "sms")
    assert (
        email.subject
        == "Order O000123 will not arrive as planned: next update by Mon, Nov 23, 12:00 PM"
    )
    assert "Your order O000123 will not arrive as planned" in email.text
    assert "running late" not in email.text + sms.text
    assert "Delivery:\nThere is no delivery date for this parcel." in email.text
    assert "reliable new date" not in email.text
    assert sms.text.startswith("Oasis Demo Shop: Order O000123 will not arrive as planned.")
    assert "Items: 2x Wool socks" in sms.text
    for heading in ("What happened:", "What it concerns:", "Items:"):
        assert heading in email.text
    facts["eta"], facts["next_update_by"] = base_facts()["eta"], None
    with pytest.raises(RenderError, match="not_coming"):
        render(facts, "email")  # a date for a parcel that will not come is a contradiction


def test_a_parcel_held_for_the_customers_answer_asks_for_it_and_is_not_called_late() -> None:
    facts = attention_awaiting_customer()
    email, sms = render(facts, "email"), render(facts, "sms")
    assert "is holding them until this is sorted out" in email.text
    assert "Nothing says yet" not in email.text and "running late" not in email.text
    assert "Expected delivery:\nThe carrier gives no delivery date until this is sorted out.\n" in (
        email.text
    )
    assert "Please confirm your address via the link." in sms.text  # the action stays
    problem = render(_delay_with_problem_awaiting_spanish(), "email").text
    assert "retiene el envío hasta que se resuelva" in problem
    for wrong in ("yes", None):
        facts["awaits_customer"] = wrong
        with pytest.raises(RenderError, match="awaits_customer"):
            render(facts, "email")
    delay = base_facts()
    delay["awaits_customer"] = True
    with pytest.raises(RenderError, match="awaits_customer"):
        render(delay, "email")  # a delay notice already says the parcel is late


def test_a_promise_at_risk_says_held_up_and_could_miss_not_late_nor_nothing_says() -> None:
    """ADR 0016: a hold with no end known near the promise: "held up, could miss the date
    we promised", in every part of the message and in every language."""
    facts = attention_at_risk()
    email, sms = render(facts, "email"), render(facts, "sms")
    assert email.subject is not None and email.subject.startswith("Order O000123 is held up")
    assert "Your order O000123 is held up" in email.text
    assert "could miss the date we promised: we cannot say yet" in email.text
    assert "Nothing says yet" not in email.text and "running late" not in email.text
    assert "held up and could miss its date" in sms.text
    german = render(_attention_at_risk_german_unstated(), "email").text
    assert "wird aufgehalten" in german and "Noch spricht nichts" not in german
    spanish = render(_delay_with_problem_at_risk_spanish(), "email").text
    assert "está retenido y podría no llegar en la fecha prometida" in spanish
    mixed = delay_with_problem()
    mixed["orders"][1]["problem"] = {"cause": "weather", "next_steps": ["nothing_to_do"]}
    assert "could miss" not in render(mixed, "sms").text
    mixed["orders"][1]["problem"]["at_risk"] = True
    assert "Also order O000456: held up, could miss its date." in render(mixed, "sms").text
    delay = base_facts()
    delay["at_risk"] = True
    with pytest.raises(RenderError, match="at_risk"):
        render(delay, "email")  # a delay notice says the parcel is late, not at risk
    facts["at_risk"] = "yes"
    with pytest.raises(RenderError, match="at_risk"):
        render(facts, "email")


def test_each_order_reads_its_own_date_when_they_differ() -> None:
    facts = two_dates()
    email, sms = render(facts, "email"), render(facts, "sms")
    assert "Order O000456: Tuesday, November 24\nOrder O000123: The carrier has not given a " in (
        email.text
    )
    assert "New date: O000456: Tue, Nov 24; O000123: no firm date yet. Update by Mon" in sms.text
    german = render(_two_windows_german(), "email")
    assert german.subject.endswith("neue Lieferung zwischen Mo., 23. Nov. und Mi., 25. Nov.")
    assert "Am wahrscheinlichsten" not in german.text  # no "most likely" of one order for all


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f["dates"].pop(), "two or more windows"),
        (lambda f: f["dates"][0].update(order_ids=["O000123"]), "exactly the late orders"),
        (lambda f: f["dates"][0]["eta"].update(latest="2026-11-20"), "ends before it starts"),
        (
            lambda f: f.update(eta=base_facts()["eta"], next_update_by=None),
            r"facts\['eta'\] is set",
        ),
    ],
)
def test_dates_that_do_not_match_the_orders_are_refused(change: Any, message: str) -> None:
    facts = two_dates()
    change(facts)
    with pytest.raises(RenderError, match=message):
        render(facts, "email")
