"""Delay episodes in the store across runs, on SQLite and PostgreSQL.

One episode per delay, whatever the runs: evidence that comes and goes (a carrier ETA
flapping late, on time, late) reopens the same episode without a new version; a new cause
is a new version; re-running a moment changes nothing; delivery and closed orders close
episodes; hub incidents are derived from many parcels and touch exactly the parcels held
there or routed through it.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from notify.orders import load_order_files
from notify.rules import DEFAULT_RULES
from notify.stages import detect
from notify.store import schema

T0 = datetime(2026, 11, 16, 14, tzinfo=UTC)  # Monday 08:00 in Chicago
HUB = ("Kansas City", "MO", "64153", "US")
HERE = ("Chicago", "IL", "60638", "US")


def _write(folder: Path, parcels: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[list[str]]] = {
        "customers": [["customer_id", "first_name", "last_name", "email", "phone", "locale",
                       "timezone", "email_opt_in", "sms_opt_in"]],
        "orders": [["order_id", "customer_id", "placed_at", "promised_by", "status", "channel"]],
        "order_lines": [["order_id", "line_id", "sku", "title", "quantity", "shipment_id"]],
        "shipments": [["shipment_id", "order_id", "carrier", "tracking_number", "service",
                       "shipped_at", "origin_postal_code", "destination_postal_code",
                       "destination_country"]],
    }  # fmt: skip
    for i, (number, p) in enumerate(parcels.items()):
        c, o, s = f"C{i}", f"O{i}", f"S{i}"
        tables["customers"].append([c, "Ana", "", "", "", "en-US", "America/Chicago",
                                    "false", "false"])  # fmt: skip
        tables["orders"].append([o, c, "2026-11-15T10:00:00-06:00", p.get("promised", "2026-11-20"),
                                 p.get("status", "open"), "web"])  # fmt: skip
        tables["order_lines"].append([o, "L1", "SKU", "Lamp", "1", s])
        tables["shipments"].append([s, o, "fedex", number, "FedEx Ground",
                                    "2026-11-16T08:00:00-06:00", "43217",
                                    p.get("dest", "64105"), "US"])  # fmt: skip
    for name, rows in tables.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    return folder


def _scan(engine, number, hours, status, reason=None, place=HERE, code="X", departed=False):
    at = T0 + timedelta(hours=hours)
    with engine.begin() as conn:
        conn.execute(schema.tracking_events.insert().values(
            carrier="fedex", tracking_number=number, occurred_at=at, local_time=at.isoformat(),
            status=status, reason=reason, code=f"{code}{hours}", description=status,
            city=place[0], region=place[1], postal_code=place[2], country=place[3],
            first_seen_at=at, departed=departed))  # fmt: skip


def _eta(engine, number, hours, day):
    with engine.begin() as conn:
        conn.execute(schema.eta_statements.insert().values(
            carrier="fedex", tracking_number=number, stated_at=T0 + timedelta(hours=hours),
            earliest=day, latest=day))  # fmt: skip


def _run(engine, hours):
    at = T0 + timedelta(hours=hours)
    return detect.detect(engine, run_id=f"r{hours}", as_of=at, rules=DEFAULT_RULES)


def _episodes(engine, number=None):
    t = schema.delay_episodes
    query = select(t).order_by(t.c.opened_at)
    if number is not None:
        query = query.where(t.c.tracking_number == number)
    with engine.connect() as conn:
        return conn.execute(query).all()


def test_a_flapping_carrier_eta_keeps_one_episode_and_one_version(engine, tmp_path):
    load_order_files(engine, _write(tmp_path / "o", {"100": {}}))
    _scan(engine, "100", 0, "in_transit")
    _eta(engine, "100", 1, "2026-11-23")  # A: late
    _eta(engine, "100", 5, "2026-11-20")  # B: on time
    _eta(engine, "100", 9, "2026-11-23")  # A again
    assert _run(engine, 2).opened == 1
    (first,) = _episodes(engine)
    assert (first.kind, first.version, first.closed_at) == ("late_eta", 1, None)
    assert _run(engine, 6).closed == 1
    assert _episodes(engine)[0].close_reason == "resolved"
    again = _run(engine, 10)
    assert (again.opened, again.reopened, again.updated) == (0, 1, 0)
    (episode,) = _episodes(engine)
    assert episode.episode_id == first.episode_id and episode.version == 1
    assert episode.closed_at is None and episode.rules_version == DEFAULT_RULES.version


def test_a_new_cause_is_a_new_version_and_a_rerun_changes_nothing(engine, tmp_path):
    load_order_files(engine, _write(tmp_path / "o", {"200": {}}))
    _scan(engine, "200", 0, "in_transit")
    _scan(engine, "200", 3, "exception", "weather", HUB)
    _run(engine, 4)
    _scan(engine, "200", 6, "exception", "damaged", HUB)
    _run(engine, 7)
    _run(engine, 7)
    (episode,) = _episodes(engine)
    assert (episode.cause, episode.version) == ("damaged", 2)
    assert json.loads(episode.evidence) == [row.event_id for row in _events(engine, "200")][1:]
    assert json.loads(episode.facts) == {"cause": "damaged", "eta": None}


def _events(engine, number):
    t = schema.tracking_events
    with engine.connect() as conn:
        return conn.execute(
            select(t).where(t.c.tracking_number == number).order_by(t.c.occurred_at)
        ).all()


def test_delivery_and_a_closed_order_close_episodes(engine, tmp_path):
    parcels = {"300": {}, "301": {}}
    load_order_files(engine, _write(tmp_path / "o", parcels))
    for number in parcels:
        _scan(engine, number, 0, "in_transit")
        _scan(engine, number, 2, "attempt_fail", "recipient_unavailable")
    _run(engine, 3)
    _scan(engine, "300", 20, "delivered")
    load_order_files(engine, _write(tmp_path / "o2", {"300": {}, "301": {"status": "refunded"}}))
    result = _run(engine, 21)
    assert result.closed == 2
    reasons = {e.tracking_number: e.close_reason for e in _episodes(engine)}
    assert reasons == {"300": "delivered", "301": "order_closed"}


def test_duplicate_and_out_of_order_scans_do_not_change_the_episode(engine, tmp_path):
    load_order_files(engine, _write(tmp_path / "o", {"400": {}}))
    _scan(engine, "400", 5, "exception", "customs", HUB)
    _scan(engine, "400", 0, "in_transit")  # arrives after, happened before
    _run(engine, 6)
    (before,) = _episodes(engine)
    _scan(engine, "400", 5, "exception", "customs", HUB, code="AGG")  # same scan, other feed
    _run(engine, 7)
    (after,) = _episodes(engine)
    assert (after.episode_id, after.version, after.evidence) == (
        before.episode_id, before.version, before.evidence)  # fmt: skip
    assert after.opened_at == T0 + timedelta(hours=5)


def test_an_incident_touches_parcels_held_there_or_routed_through_it(engine, tmp_path):
    """Three parcels show weather at the Kansas City hub within hours: an incident. A parcel
    that reached the hub since (no exception of its own yet) is held by it; one still on its
    way whose lane always passes the hub is touched; one on another lane is not. The first
    held parcel that moves on ends the incident."""
    parcels = {n: {} for n in ("501", "502", "503", "504", "505")}
    parcels["506"] = {"dest": "60601"}  # Chicago: its lane does not pass Kansas City
    history = {f"9{i:02d}": {} for i in range(40)}
    load_order_files(engine, _write(tmp_path / "o", {**parcels, **history}))
    for i, number in enumerate(history):  # delivered parcels of the same lane, via the hub
        _scan(engine, number, -120 + i, "in_transit", place=HUB)
        _scan(engine, number, -100 + i, "delivered", place=("Kansas City", "MO", "64105", "US"))
    for number in parcels:
        _scan(engine, number, 0, "in_transit")
    for i, number in enumerate(("501", "502", "503")):
        _scan(engine, number, 3 + i, "in_transit", place=HUB)
        _scan(engine, number, 6 + i, "exception", "weather", place=HUB)
    _scan(engine, "504", 9, "in_transit", place=HUB)
    result = _run(engine, 10)
    assert result.incidents_active == 1
    with engine.connect() as conn:
        (incident,) = conn.execute(select(schema.incidents)).all()
    assert (incident.postal_code, incident.cause, incident.area) == ("64153", "weather", "plains")
    assert incident.starts_at == T0 + timedelta(hours=6) and incident.ends_at is None
    assert incident.parcels == 3 and len(json.loads(incident.evidence)) == 3
    kinds = {e.tracking_number: (e.kind, e.incident_id) for e in _episodes(engine)}
    assert kinds["504"] == ("incident", incident.incident_id)  # held, no exception yet
    assert kinds["505"] == ("incident", incident.incident_id)  # on its way there
    assert kinds["501"] == ("exception", incident.incident_id)
    assert "506" not in kinds
    _scan(engine, "501", 30, "in_transit", place=HUB)  # the hub works again
    _run(engine, 31)
    with engine.connect() as conn:
        (incident,) = conn.execute(select(schema.incidents)).all()
    assert incident.ends_at == T0 + timedelta(hours=30)
    states = {e.tracking_number: (e.kind, e.closed_at) for e in _episodes(engine)}
    assert states["505"][1] is not None  # no longer at risk: resolved


def test_a_parcel_that_departed_the_hub_before_the_stop_is_not_held_by_it(engine, tmp_path):
    """Both parcels reached the Kansas City hub in the hours before its first weather
    exception (inside the incident's grace window). The one whose newest scan there is a
    departure has left: the stop does not hold it (and, having passed the hub, it is not on
    its way there either). The one still sitting there is held."""
    parcels = {n: {} for n in ("601", "602", "603", "604", "605")}
    history = {f"9{i:02d}": {} for i in range(40)}
    load_order_files(engine, _write(tmp_path / "o", {**parcels, **history}))
    for i, number in enumerate(history):  # delivered parcels of the same lane, via the hub
        _scan(engine, number, -120 + i, "in_transit", place=HUB)
        _scan(engine, number, -100 + i, "delivered", place=("Kansas City", "MO", "64105", "US"))
    for i, number in enumerate(("601", "602", "603")):
        _scan(engine, number, 3 + i, "in_transit", place=HUB)
        _scan(engine, number, 8 + i, "exception", "weather", place=HUB)
    for number in ("604", "605"):
        _scan(engine, number, 0, "in_transit")
        _scan(engine, number, 4, "in_transit", place=HUB)
    _scan(engine, "604", 6, "in_transit", place=HUB, code="DP", departed=True)
    assert _run(engine, 11).incidents_active == 1
    kinds = {e.tracking_number: e.kind for e in _episodes(engine)}
    assert kinds.get("605") == "incident"  # still at the hub
    assert "604" not in kinds  # left it two hours before the first weather scan


def test_a_parcel_silent_since_long_before_the_stop_is_not_on_its_way_to_it(engine, tmp_path):
    """The delivered parcels of the lane reached the Kansas City hub 4-8 hours after pickup.
    A parcel scanned at pickup 2 hours before the stop may be on its way into it; one whose
    newest scan came 3 days before the stop should have been at the hub long before: it
    went silent upstream (its own trouble), and the weather there is not its cause."""
    parcels = {n: {} for n in ("701", "702", "703", "704", "705")}
    history = {f"9{i:02d}": {} for i in range(40)}
    load_order_files(engine, _write(tmp_path / "o", {**parcels, **history}))
    for i, number in enumerate(history):  # pickup, then the hub 4-8 hours later, delivered
        _scan(engine, number, -200 + i, "in_transit")
        _scan(engine, number, -196 + i + (i % 5), "in_transit", place=HUB)
        _scan(engine, number, -180 + i, "delivered", place=("Kansas City", "MO", "64105", "US"))
    for i, number in enumerate(("701", "702", "703")):
        _scan(engine, number, 3 + i, "in_transit", place=HUB)
        _scan(engine, number, 6 + i, "exception", "weather", place=HUB)
    _scan(engine, "704", 4, "in_transit")  # picked up two hours before the first exception
    _scan(engine, "705", -66, "in_transit")  # picked up three days before: silent since
    assert _run(engine, 10).incidents_active == 1
    kinds = {e.tracking_number: (e.kind, e.cause) for e in _episodes(engine)}
    assert kinds["704"] == ("incident", "weather")
    assert kinds.get("705", ("", ""))[1] != "weather"


def test_an_exception_without_a_cause_at_a_stopped_hub_has_the_stops_cause(engine, tmp_path):
    """Three parcels show weather at the Kansas City hub: an incident. A parcel with an
    exception the carrier gives no cause for (USPS code 71) at the hub during the stop is
    held by the weather, and stays so after it moves on; the same exception a day before the
    stop, or elsewhere during it, keeps its unknown cause."""
    parcels = {n: {} for n in ("801", "802", "803", "804", "805", "806")}
    load_order_files(engine, _write(tmp_path / "o", parcels))
    for i, number in enumerate(("801", "802", "803")):
        _scan(engine, number, 3 + i, "in_transit", place=HUB)
        _scan(engine, number, 6 + i, "exception", "weather", place=HUB)
    _scan(engine, "804", 5, "in_transit", place=HUB)
    _scan(engine, "804", 9, "exception", place=HUB)  # no cause given, during the stop
    _scan(engine, "805", -30, "in_transit", place=HUB)
    _scan(engine, "805", -24, "exception", place=HUB)  # a day before the stop
    _scan(engine, "806", 7, "exception")  # in Chicago, during the stop
    assert _run(engine, 10).incidents_active == 1
    causes = {e.tracking_number: e.cause for e in _episodes(engine)}
    assert causes["804"] == "weather"
    assert causes["805"] == causes["806"] == "unknown"
    _scan(engine, "804", 30, "in_transit", place=HUB, code="DP", departed=True)  # moves on
    _run(engine, 31)
    assert {e.tracking_number: e.cause for e in _episodes(engine, "804")}["804"] == "weather"
