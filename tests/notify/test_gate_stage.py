"""compose -> render -> gate -> record through the store, on SQLite and PostgreSQL.

The world is tests/notify/gateworld.py. Each test checks one promise of these stages: the
facts complete, rows quarantined with their reasons, a halted batch blocked and explained,
the report written, the mirage refused.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from notify.config import Settings
from notify.pipeline import channels
from notify.runs import Run, add_summary, begin_run, finish_run, get_run
from notify.stages import compose, detect, eta, gating, record, send, target
from notify.store import schema
from tests.notify.gateworld import (  # noqa: F401 (fixtures)
    AS_OF,
    add_events,
    prepare,
    settings_fixture,
    world_fixture,
)


def _gate(engine: Engine, run: Run, settings: Settings, open_shipments: int = 12):
    result = gating.gate(engine, run=run, settings=settings, open_shipments=open_shipments)
    add_summary(engine, run.run_id, "gate", result.to_dict())
    return result


def _facts(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.notices.c.customer_id, schema.notices.c.facts)).all()
    return {r.customer_id: json.loads(r.facts) for r in rows if r.facts}


def _outbox(engine: Engine, run_id: str) -> dict[tuple[str, str], Any]:
    ob = schema.outbox
    with engine.connect() as conn:
        rows = conn.execute(select(ob).where(ob.c.run_id == run_id)).all()
    return {(r.customer_id, r.channel): r for r in rows}


def _decisions(engine: Engine, run_id: str) -> dict[tuple[str, str], Any]:
    d = schema.decisions
    with engine.connect() as conn:
        rows = conn.execute(select(d).where(d.c.run_id == run_id)).all()
    return {(r.customer_id, r.channel): r for r in rows if r.channel}


# --------------------------------------------------------------------------- compose


def test_compose_states_every_fact_a_message_needs(world: Engine, settings: Settings) -> None:
    prepare(world, settings)
    facts = _facts(world)
    ana = facts["C1"]
    assert ana["timezone"] == "America/Chicago" and ana["locale"] == "en-US"
    assert ana["customer"]["first_name"] == "Ana"
    assert ana["orders"][0]["order_id"] == "O1" and ana["orders"][0]["promised_by"] == "2026-11-20"
    assert ana["orders"][0]["items"] == [{"title": "Wool socks", "quantity": 2}]
    assert ana["orders"][0]["tracking_url"].endswith("/orders/O1/tracking")
    assert ana["eta"]["earliest"] == "2026-11-23" and ana["cause"] == "weather"
    assert ana["next_steps"] and ana["previous_notice"] is None
    assert ana["contact"] == {
        "route": "support@example.com, +1 555 0100",
        "hours": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "08:00", "closes": "20:00"},
            {"days": ["sat"], "opens": "09:00", "closes": "13:00"},
        ],
        "timezone": "America/New_York",
    }
    assert ana["cause_evidence"]["kind"] == "exception"
    assert ana["cause_evidence"]["at"] == "2026-11-18T06:00:00+00:00"


def test_a_cause_the_carrier_did_not_give_becomes_what_it_did(
    world: Engine, settings: Settings
) -> None:
    run = prepare(world, settings)
    dee = _facts(world)["C4"]
    assert dee["cause"] == "unknown"
    assert dee["cause_evidence"] == {
        "kind": "exception",
        "carrier": "fedex",
        "carrier_title": "FedEx",
        "at": "2026-11-18T07:30:00+00:00",
        "place": "Dallas, TX",
        "stop": None,
    }
    email = _outbox(world, "r1")[("C4", "email")]
    assert "FedEx reported a delay in Dallas, TX on Wednesday, November 18, 1:30" in email.body_text
    _gate(world, run, settings)
    assert _outbox(world, "r1")[("C4", "email")].state == "published"


def _second_order_for_dee(engine: Engine) -> None:
    """Dee's second order, held by weather (ETA Nov 23-24), beside O5 (a delay FedEx gave no
    reason for, Nov 24): one notice, two orders late for different reasons."""
    from datetime import UTC, datetime

    with engine.begin() as conn:
        conn.execute(
            schema.orders.insert().values(
                order_id="O14",
                customer_id="C4",
                placed_at=datetime(2026, 11, 16, 16, tzinfo=UTC),
                promised_by="2026-11-18",
                promised_by_utc=datetime(2026, 11, 19, 6, tzinfo=UTC),
                status="open",
                channel="web",
            )
        )
        conn.execute(
            schema.order_lines.insert().values(
                order_id="O14",
                line_id="L1",
                sku="SKU-14",
                title="Rain boots",
                quantity=1,
                shipment_id="S14",
            )
        )
        conn.execute(schema.shipments.insert().values(
            shipment_id="S14", order_id="O14", carrier="fedex", tracking_number="141414141414",
            service="FedEx Ground", shipped_at=datetime(2026, 11, 16, 21, tzinfo=UTC),
            origin_postal_code="38118", destination_postal_code="75201",
            destination_country="US"))  # fmt: skip
    add_events(engine, "141414141414", (0, "in_transit", None), (30, "exception", "weather"),
               eta_days=("2026-11-23", "2026-11-24"))  # fmt: skip


def test_orders_late_for_different_reasons_are_each_told_their_own(
    world: Engine, settings: Settings
) -> None:
    _second_order_for_dee(world)
    run = prepare(world, settings)
    dee = _facts(world)["C4"]
    assert [o["order_id"] for o in dee["orders"]] == ["O14", "O5"]
    assert dee["cause"] == "unknown"  # O5's window ends last: it decides the notice's
    unknown, weather = dee["causes"]
    assert (unknown["cause"], unknown["order_ids"]) == ("unknown", ["O5"])
    assert (
        unknown["evidence"]["place"] == "Dallas, TX" and unknown["evidence"]["kind"] == "exception"
    )
    assert (weather["cause"], weather["order_ids"]) == ("weather", ["O14"])
    assert weather["evidence"]["at"] == "2026-11-18T06:00:00+00:00"
    email = _outbox(world, "r1")[("C4", "email")]
    assert "Order O5: FedEx reported a delay in Dallas, TX on Wednesday" in email.body_text
    assert "Order O14: Severe weather has stopped the carrier's trucks" in email.body_text
    _gate(world, run, settings)
    assert _outbox(world, "r1")[("C4", "email")].state == "published"


def test_cause_groups_only_for_late_parcels_of_different_causes() -> None:
    def fact(order: str, cause: str, problem: bool = False) -> dict[str, Any]:
        return {"order_id": order, "shipment_id": f"S{order}", "episode_id": f"e{order}",
                "cause": cause, "problem": problem}  # fmt: skip

    one = {"cause": "weather", "parcel_facts": [fact("O1", "weather"), fact("O2", "weather")]}
    assert compose.cause_groups(one, None) == []
    with_problem = {**one, "parcel_facts": [*one["parcel_facts"], fact("O3", "damaged", True)]}
    assert compose.cause_groups(with_problem, None) == []  # a problem parcel is told apart
    assert compose.cause_groups({"cause": "weather"}, None) == []  # a plan from before
    mixed = {
        "cause": "unknown",
        "parcel_facts": [fact("O1", "weather"), fact("O2", "unknown"), fact("O3", "weather")],
    }
    groups = compose.cause_groups(mixed, None)
    assert [(g["cause"], g["order_ids"]) for g in groups] == [
        ("unknown", ["O2"]),  # the notice's own cause first
        ("weather", ["O1", "O3"]),
    ]
    assert groups[1]["next_steps"] == ["nothing_to_do", "we_will_update"]
    assert groups[1]["shipment_ids"] == ["SO1", "SO3"]


def test_an_order_split_across_causes_is_named_with_the_items_of_each() -> None:
    from types import SimpleNamespace as Line

    lines = {
        "S1": [Line(order_id="O1", title="Wool socks")],
        "S2": [Line(order_id="O1", title="Merino scarf")],
        "S3": [Line(order_id="O2", title="Rain jacket")],
    }
    groups = [
        {"cause": "weather", "order_ids": ["O1", "O2"], "shipment_ids": ["S1", "S3"]},
        {"cause": "recipient_unavailable", "order_ids": ["O1"], "shipment_ids": ["S2"]},
    ]
    named = compose._with_items(groups, lines)
    assert [g["items"] for g in named] == [["Wool socks"], ["Merino scarf"]]  # not O2's


def test_date_groups_only_when_the_late_parcels_windows_differ() -> None:
    def fact(order: str, window: tuple[str, str] | None, problem: bool = False) -> dict[str, Any]:
        first, last = window or (None, None)
        return {"order_id": order, "shipment_id": f"S{order}", "episode_id": f"e{order}",
                "cause": "weather", "eta_earliest": first, "eta_latest": last,
                "problem": problem}  # fmt: skip

    day = ("2026-11-24", "2026-11-24")
    same = {"parcel_facts": [fact("O1", day), fact("O2", day), fact("O3", None, True)]}
    assert compose.date_groups(same) == []  # a problem parcel has no date of its own to tell
    mixed = {"parcel_facts": [fact("O1", None), fact("O2", day), fact("O3", day)]}
    assert compose.date_groups(mixed) == [
        {"eta": {"earliest": "2026-11-24", "latest": "2026-11-24"},
         "order_ids": ["O2", "O3"], "shipment_ids": ["SO2", "SO3"]},
        {"eta": None, "order_ids": ["O1"], "shipment_ids": ["SO1"]},
    ]  # fmt: skip


def test_merged_steps_ask_what_any_cause_asks_and_wait_once() -> None:
    def steps(*causes: str) -> list[str]:
        groups = [{"next_steps": compose.next_steps(c)} for c in causes]
        return compose.merged_steps(groups)

    assert steps("weather", "transport_delay") == ["nothing_to_do", "we_will_update"]
    assert steps("weather", "recipient_unavailable") == [
        "redelivery_scheduled", "pickup_available", "we_will_update"
    ]  # fmt: skip
    assert steps("lost", "address_issue") == [
        "replacement_or_refund", "person_will_contact", "confirm_address"
    ]  # fmt: skip


def test_a_stop_is_named_only_when_every_parcel_with_the_cause_shares_it() -> None:
    """The cause sentence names one hub and one carrier: every parcel told with the notice's
    cause must be held by (or heading into) that stop, with that carrier."""
    from datetime import UTC, datetime
    from types import SimpleNamespace as Row

    started = datetime(2026, 11, 19, 11, 10, tzinfo=UTC)
    stop = Row(cause="weather", city="Memphis", region="TN", country="US", starts_at=started)
    stops = {"inc_1": stop, "inc_2": stop}
    a = Row(cause="weather", carrier="fedex", incident_id="inc_1")
    damaged = Row(cause="damaged", carrier="ups", incident_id=None)  # another cause: not counted
    named = {"place": "Memphis, TN", "since": "2026-11-19T11:10:00+00:00"}
    assert compose._stop([a, damaged], stops, "weather") == named
    assert compose._stop([a, a], stops, "weather") == named
    assert compose._stop([a, Row(cause="weather", carrier="ups", incident_id="inc_1")],
                         stops, "weather") is None  # fmt: skip  # two carriers
    assert compose._stop([a, Row(cause="weather", carrier="fedex", incident_id="inc_2")],
                         stops, "weather") is None  # fmt: skip  # two stops
    assert compose._stop([a, Row(cause="weather", carrier="fedex", incident_id=None)],
                         stops, "weather") is None  # fmt: skip  # one not at a stop
    assert compose._stop([a], {"inc_1": Row(**{**vars(stop), "cause": "natural_disaster"})},
                         "weather") is None  # fmt: skip  # a stop of another cause
    assert compose._stop([a], {"inc_1": Row(**{**vars(stop), "city": None})},
                         "weather") is None  # fmt: skip  # no place to name


def test_the_time_zone_comes_from_the_customer_or_a_one_zone_country_never_a_guess(
    world: Engine, settings: Settings
) -> None:
    run = prepare(world, settings)
    facts = _facts(world)
    assert facts["C6"]["timezone"] == "Europe/Berlin"  # no zone given, ships to Germany
    assert facts["C7"]["timezone"] is None  # ships inside the US: which of its zones?
    gus = _outbox(world, "r1")[("C7", "email")]
    assert gus.state == "quarantined"
    assert json.loads(gus.reasons) == [
        "render_error: RenderError: facts['timezone'] must be an IANA time zone (it is missing)"
    ]
    result = _gate(world, run, settings)
    assert result.refused_at_render == 1
    decision = _decisions(world, "r1")[("C7", "email")]
    assert decision.decision == "quarantined" and "timezone" in decision.reason


def test_a_bad_support_hours_setting_fails_compose_naming_it(
    world: Engine, settings: Settings
) -> None:
    begin_run(world, run_id="r1", as_of=AS_OF, mode="send", params={})
    detect.detect(world, run_id="r1", as_of=AS_OF)
    eta.predict(world, run_id="r1", as_of=AS_OF)
    target.target(world, run_id="r1", as_of=AS_OF)
    broken = dataclasses.replace(settings, support_hours="weekdays 9 to 5")
    with pytest.raises(ValueError, match="OASIS_SUPPORT_HOURS entry 'weekdays 9 to 5'"):
        compose.compose(world, run_id="r1", settings=broken)
    assert compose.support_hours("mon,wed-fri 09:00-17:30") == [
        {"days": ["mon", "wed", "thu", "fri"], "opens": "09:00", "closes": "17:30"}
    ]


def test_a_second_delay_names_our_last_message(world: Engine, settings: Settings) -> None:
    run = prepare(world, settings)
    _gate(world, run, settings)
    send.send(world, run=run, channels=channels(settings))
    record.record(world, run=run, settings=settings)
    later = AS_OF + timedelta(days=1)
    add_events(world, "111111111111", eta_days=("2026-11-26", "2026-11-27"), stated_at=later)
    add_events(world, "222222222222", (50, "delivered", None))  # Ana's other parcel arrived
    run2 = prepare(world, settings, "r2", later)
    facts = {
        json.loads(r.facts)["eta"]["latest"]: json.loads(r.facts) for r in _notices_of(world, "C1")
    }
    assert facts["2026-11-24"]["previous_notice"] is None
    second = facts["2026-11-27"]["previous_notice"]
    assert second == {
        "sent_on": "2026-11-19",  # the first run, in Chicago
        "eta": facts["2026-11-24"]["eta"],
        "next_update_by": None,
    }
    text = _outbox(world, "r2")[("C1", "email")].body_text
    assert "In our message of Thursday, November 19 we expected delivery between Monday, " in text
    result = _gate(world, run2, settings)
    assert _outbox(world, "r2")[("C1", "email")].state == "published", result


def _notices_of(engine: Engine, customer_id: str) -> list[Any]:
    n = schema.notices
    with engine.connect() as conn:
        return list(conn.execute(select(n).where(n.c.customer_id == customer_id)).all())


# --------------------------------------------------------------------------- gate


def test_a_good_batch_passes_untouched_and_the_report_is_written(
    world: Engine, settings: Settings
) -> None:
    run = prepare(world, settings)
    before = {k: (r.subject, r.body_text, r.body_html) for k, r in _outbox(world, "r1").items()}
    result = _gate(world, run, settings)
    assert not result.halted and result.batch_failures == []
    states = {k: r.state for k, r in _outbox(world, "r1").items()}
    assert states == {
        ("C1", "email"): "published",
        ("C1", "sms"): "published",
        ("C2", "email"): "published",
        ("C4", "email"): "published",
        ("C6", "email"): "published",
        ("C7", "email"): "quarantined",  # refused at render: no time zone
    }
    after = {k: (r.subject, r.body_text, r.body_html) for k, r in _outbox(world, "r1").items()}
    assert after == before
    report = json.loads(Path(str(result.report_json_path)).read_text("utf-8"))
    assert report["verdict"] == "PASSED" and report["batch_failures"] == []
    assert report["summary"]["refused_at_render"] == {
        "render_error: RenderError: facts['timezone'] must be an IANA time zone (it is missing)": 1
    }
    page = Path(str(result.report_path)).read_text("utf-8")
    assert "<h1>Gate report: PASSED</h1>" in page
    assert Path(str(result.report_path)).parent == settings.runs_dir / "r1"


def test_an_empty_batch_still_writes_its_report_and_a_silent_feed_is_not_success(
    engine: Engine, settings: Settings
) -> None:
    """Bad input 32: no tracking at all is an alert (halt), not a quiet successful run."""
    run = begin_run(engine, run_id="quiet", as_of=AS_OF, mode="send", params={})
    result = _gate(engine, run, settings, open_shipments=0)
    assert result.rows == 0 and result.halted
    assert result.batch_failures == ["feeds_reported: no carrier feed reported its age"]
    report = json.loads((settings.runs_dir / "quiet" / "gate_report.json").read_text())
    assert report["verdict"] == "HALTED" and report["batch_failures"] == result.batch_failures
    assert (settings.runs_dir / "quiet" / "gate_report.html").exists()
    add_events(engine, "123", (40, "in_transit", None))  # a feed that spoke 26 hours ago
    assert not _gate(engine, run, settings, open_shipments=0).halted


def _history(engine: Engine, hours_ago: list[int], notices: int, status: str = "success"):
    for h in hours_ago:
        at = AS_OF - timedelta(hours=h)
        run = begin_run(engine, run_id=f"h{h}-{status}", as_of=at, mode="send", params={})
        add_summary(engine, run.run_id, "gate", {"notices": notices, "rows": 2 * notices})
        finish_run(engine, run.run_id, status)


def test_a_volume_spike_halts_blocks_every_row_and_says_why(
    world: Engine, settings: Settings
) -> None:
    _history(world, [24, 48, 72], notices=0)  # the same hour on three earlier days: quiet
    _history(world, [1, 25], notices=500)  # another hour: not the same-hour history
    _history(world, [96], notices=900, status="halted")  # a halted spike: not history
    strict = dataclasses.replace(settings, volume_history_slack=2)
    run = prepare(world, strict)
    assert gating.same_hour_history(world, run, strict) == [0, 0, 0]
    result = _gate(world, run, strict)
    assert result.halted
    assert result.batch_failures == [
        "volume_within_history: 4 notices > 2 (3 x same-hour median 0 of 3 earlier runs + 2)"
    ]
    rows = _outbox(world, "r1")
    assert rows[("C1", "email")].state == "blocked"
    assert json.loads(rows[("C1", "sms")].reasons) == result.batch_failures
    assert rows[("C7", "email")].state == "quarantined"  # refused at render stays refused
    decision = _decisions(world, "r1")[("C1", "email")]
    assert decision.decision == "blocked" and decision.reason.startswith("volume_within_history")
    done = record.record(world, run=get_run(world, "r1"), settings=strict)
    assert done.status == "halted"
    report = json.loads(Path(done.report_path).read_text("utf-8"))
    assert report["status"] == "halted"
    assert report["stages"]["gate"]["report_path"] == result.report_path
    page = Path(str(result.report_path)).read_text("utf-8")
    assert "<h1>Gate report: HALTED</h1>" in page and "volume_within_history: 4 notices" in page
    sent = send.send(world, run=get_run(world, "r1"), channels=channels(strict))
    assert sent.sent == 0 and sent.deferred == 0
    from notify.summary import run_summary

    notes = run_summary(world, "r1", strict)["notes"]
    assert f"Gate report: {result.report_path}" in notes
    assert "The batch was HALTED, nothing was sent: volume_within_history: 4 notices" in notes[-1]


MIRAGE_SUBJECT = "Update on your delivery"
MIRAGE_TEXT = (
    "Hello,\n\nThere has been a carrier delay in your delivery area. Some packages may arrive "
    "a few days later than expected. We are sorry for any inconvenience with your order(s)."
    "\n\nIf your package has arrived, please disregard this message.\n"
)


def _mirage(engine: Engine, run_id: str) -> list[str]:
    """The retailer's blast: every customer with an email and an open order, one text."""
    c, o, s, ol = schema.customers, schema.orders, schema.shipments, schema.order_lines
    with engine.connect() as conn:
        people = conn.execute(
            select(c, o.c.order_id, o.c.promised_by, s.c.shipment_id)
            .join(o, o.c.customer_id == c.c.customer_id)
            .join(s, s.c.order_id == o.c.order_id)
            .where(o.c.status == "open", c.c.email != "")
            .order_by(c.c.customer_id, s.c.shipment_id)
        ).all()
        titles = {r.shipment_id: r.title for r in conn.execute(select(ol))}
    with engine.begin() as conn:
        for table in (schema.outbox, schema.run_notices):
            conn.execute(table.delete().where(table.c.run_id == run_id))
        ids = []
        first: dict[str, Any] = {}
        for p in people:
            first.setdefault(p.customer_id, p)  # the order's first parcel, delayed or not
        for p in first.values():
            nid = f"m_{p.customer_id}"
            facts = {
                "notice_id": nid, "customer_id": p.customer_id, "shipment_ids": [p.shipment_id],
                "kind": "delay",
                "locale": "en-US", "timezone": "America/Chicago", "eta": None,
                "next_update_by": None, "cause": "unknown", "cause_evidence": None,
                "next_steps": [], "customer": {"first_name": p.first_name},
                "orders": [{"order_id": p.order_id, "promised_by": p.promised_by,
                            "items": [{"title": titles[p.shipment_id], "quantity": 1}]}],
            }  # fmt: skip
            conn.execute(schema.notices.insert().values(
                notice_id=nid, customer_id=p.customer_id, first_run_id=run_id, plan="{}",
                facts=json.dumps(facts), created_at=AS_OF))  # fmt: skip
            conn.execute(schema.run_notices.insert().values(
                run_id=run_id, notice_id=nid, channels='["email"]'))  # fmt: skip
            episode = conn.execute(
                select(schema.delay_episodes.c.episode_id).where(
                    schema.delay_episodes.c.tracking_number == select(s.c.tracking_number)
                    .where(s.c.shipment_id == p.shipment_id).scalar_subquery())
            ).scalar()  # fmt: skip
            conn.execute(schema.notice_parcels.insert().values(
                notice_id=nid, order_id=p.order_id, shipment_id=p.shipment_id,
                episode_id=episode or "ep_none"))  # fmt: skip
            conn.execute(schema.outbox.insert().values(
                run_id=run_id, notice_id=nid, customer_id=p.customer_id, channel="email",
                recipient=p.email, subject=MIRAGE_SUBJECT, body_text=MIRAGE_TEXT,
                body_html="<p>" + MIRAGE_TEXT.replace("\n\n", "</p><p>") + "</p>",
                sms_segments=0, template_version="mirage", state="staged",
                reasons="[]"))  # fmt: skip
            ids.append(p.customer_id)
    return ids


def test_the_cx_mirage_batch_is_refused_row_by_row_with_reasons(
    world: Engine, settings: Settings
) -> None:
    run = prepare(world, settings)
    customers = _mirage(world, "r1")
    assert len(customers) == 9  # affected or not, everyone with an email and an open order
    result = _gate(world, run, settings)
    rows = _outbox(world, "r1")
    assert {r.state for r in rows.values()} == {"quarantined"}
    content = [
        "eta_or_next_update",
        "cause_known",
        "next_step_given",
        "order_numbers_in_text",
        "item_titles_in_text",
        "no_vague_phrasing",
    ]
    for customer in customers:
        reasons = json.loads(rows[(customer, "email")].reasons)
        affected = customer in {"C1", "C2", "C4", "C6", "C7"}
        assert reasons == content + ([] if affected else ["notice_current"]), customer
        decision = _decisions(world, "r1")[(customer, "email")]
        assert decision.decision == "quarantined" and decision.reason == "; ".join(reasons)
    assert result.halted and result.published == 0
    assert [r.split(":")[0] for r in result.batch_failures] == [
        "volume_within_open_shipments",  # 9 notices for 12 open parcels: a blast
        "quarantine_share_within_limit",
    ]
    report = json.loads(Path(str(result.report_json_path)).read_text("utf-8"))
    assert report["failures_by_rule"]["no_vague_phrasing"] == 9
    assert report["failures_by_rule"]["notice_current"] == 4


# --------------------------------------------------------------------------- bad inputs

HOSTILE = "<img src=x onerror=alert(1)>{{7*7}}\u202eevil\u202c\r\nBcc: a@b.c " + "A" * 10_000
BAD_INPUT_CUSTOMERS = [
    ["B1", HOSTILE, "X", "hostile@example.com", "+13125550111", "en-US", "America/Chicago",
     "true", "true"],
    ["B2", "Ana", "Y", "ana@@example", "+13125550112", "en-US", "America/Chicago", "true",
     "false"],
    ["B3", "Ben", "Z", "ben@example.com", "312-555-01", "en-US", "America/Chicago", "false",
     "true"],
    ["B4", "\u202bדנה\u202c 🌷", "W", "hostile@example.com", "", "en-US", "America/Chicago",
     "true", "false"],
    ["B5", "\u202e\u202c", "V", "empty@example.com", "", "en-US", "America/Chicago", "true",
     "false"],
]  # fmt: skip


def test_bad_inputs_end_quarantined_with_their_reason_or_rendered_safely(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Bad inputs 16-23 of notes/reliability.md, through compose, render and gate."""
    from notify.orders import load_order_files
    from tests.notify.orderfiles import write_order_files

    n = range(1, 6)
    extra = {
        "customers": BAD_INPUT_CUSTOMERS,
        "orders": [[f"OB{i}", f"B{i}", "2026-11-16T10:00:00-06:00", "2026-11-18", "open", "web"]
                   for i in n],
        "order_lines": [[f"OB{i}", "L1", "SKU", "Socks {{ size }} <b>", "1", f"SB{i}"]
                        for i in n],
        "shipments": [[f"SB{i}", f"OB{i}", "fedex", f"70000000000{i}", "Ground",
                       "2026-11-16T15:00:00-06:00", "38118", "60601", "US"] for i in n],
    }  # fmt: skip
    load_order_files(engine, write_order_files(tmp_path / "orders", extra))
    for i in n:
        add_events(engine, f"70000000000{i}", (0, "in_transit", None),
                   (30, "exception", "weather"), eta_days=("2026-11-23", "2026-11-24"))  # fmt: skip
    run = prepare(engine, settings)
    _gate(engine, run, settings, open_shipments=10)
    rows = _outbox(engine, "r1")
    decided = {r.customer_id: r for r in _decisions_all(engine, "r1")}
    # 20-23: hostile name and title escaped in HTML, literal in text, never evaluated,
    # bidi controls and CR/LF gone, the name cut; the SMS fits; both go out.
    email, sms = rows[("B1", "email")], rows[("B1", "sms")]
    assert (email.state, sms.state) == ("published", "published")
    assert "<img" not in email.body_html and "&lt;img src=x onerror=alert(1)&gt;{{7*7}}" in (
        email.body_html
    )
    assert "Hello <img src=x onerror=alert(1)>{{7*7}}evil…," in email.body_text  # cut at 40
    assert "1 × Socks {{ size }} <b>" in email.body_text and "49" not in email.body_text
    assert "\r" not in email.subject and "\n" not in email.subject
    assert sms.sms_segments <= 2 and "\u202e" not in sms.body_text
    # 17: an invalid address and a number that is not a phone number: no channel, and why
    assert decided["B2"].decision == "no_channel"
    assert decided["B2"].reason == "email: no valid email address; sms: no SMS consent"
    assert decided["B3"].reason == "email: no email consent; sms: phone number is not valid"
    # 18 and 19: a second customer on the same address gets their own message; an RTL
    # name is isolated, not reordered, and its bidi controls are gone
    b4 = rows[("B4", "email")]
    assert b4.state == "published" and "<bdi>דנה 🌷</bdi>" in b4.body_html
    assert "O" + "B1" not in b4.body_text  # nothing of the other customer's order
    # a name that is nothing but control characters: refused, the reason names the fact
    b5 = rows[("B5", "email")]
    assert b5.state == "quarantined"
    assert json.loads(b5.reasons) == [
        "render_error: RenderError: facts['customer']['first_name'] is empty once cleaned"
    ]


def _decisions_all(engine: Engine, run_id: str) -> list[Any]:
    d = schema.decisions
    with engine.connect() as conn:
        return list(conn.execute(select(d).where(d.c.run_id == run_id)).all())


def test_an_expectation_that_raises_halts_the_stage(
    world: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notify import gate as rules

    real = rules.derive_row_checks
    monkeypatch.setattr(
        rules, "derive_row_checks", lambda staged: real(staged).drop(columns=["consent_given"])
    )
    run = prepare(world, settings)
    result = _gate(world, run, settings)
    assert result.halted and result.published == 0
    assert result.batch_failures[0].startswith("consent_given: the expectation raised")
    assert _outbox(world, "r1")[("C1", "email")].state == "blocked"


def test_the_gate_judges_a_window_against_the_customers_day() -> None:
    """6 PM in Los Angeles is already tomorrow in UTC: a window told from "today" there
    starts on the customer's day, not in the past."""
    from datetime import UTC, datetime

    at = datetime(2025, 11, 20, 2, tzinfo=UTC)
    assert gating._local_day(at, "America/Los_Angeles") == "2025-11-19"
    assert gating._local_day(at, "Europe/Berlin") == "2025-11-20"
    assert gating._local_day(at, None) == gating._local_day(at, "Not/AZone") == "2025-11-20"


def test_a_message_an_earlier_run_sent_is_staged_again_but_not_judged(
    world: Engine, settings: Settings
) -> None:
    """C1's email went out in an earlier run; the notice is still current, so this run
    stages it again and the ledger will not resend it. Whatever the gate would now say of
    that copy (here: its order number is gone), it stays published and is no second message;
    the same change to a message not yet sent is quarantined."""
    from notify import decisions as dec

    run = prepare(world, settings)
    box = _outbox(world, "r1")
    sent_before = box[("C1", "email")]
    begin_run(world, run_id="r0", as_of=AS_OF - timedelta(hours=6), mode="send", params={})
    with world.begin() as conn:
        dec.record(conn, [dec.row(run_id="r0", notice_id=sent_before.notice_id,
                                  customer_id="C1", order_ids=[], shipment_ids=[],
                                  channel="email", decision="sent", reason="sent", eta={},
                                  cause=None)])  # fmt: skip
        ob = schema.outbox
        for key in (("C1", "email"), ("C2", "email")):
            r = box[key]
            order_id = _facts(world)[key[0]]["orders"][0]["order_id"]
            conn.execute(
                ob.update()
                .where(ob.c.run_id == "r1", ob.c.notice_id == r.notice_id, ob.c.channel == "email")
                .values(body_text=r.body_text.replace(order_id, "your order"))
            )
    result = _gate(world, run, settings)
    states = {k: r.state for k, r in _outbox(world, "r1").items()}
    assert states[("C1", "email")] == "published"
    assert states[("C2", "email")] == "quarantined"
    assert not result.halted and result.already_sent == 1
