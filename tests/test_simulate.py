"""The world simulator: determinism, file contract, integrity and ground-truth consistency.

Small worlds, generated once per module; every check reads the files back as a consumer
would (strings, ISO text), not the simulator's internals.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd
import pytest

from carriers.models import Location
from carriers.taxonomy import Reason, Status
from carriers.timezones import zone_for
from notify.simulate import generate_world, load_incidents, load_meta, load_truth

ORDERS = 1500
SEED = 11
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SERVICES = {
    "fedex": {"FedEx Ground", "FedEx Home Delivery", "FedEx 2Day", "FedEx Priority Overnight"},
    "ups": {"UPS Ground", "UPS 2nd Day Air", "UPS Next Day Air"},
    "usps": {"USPS Ground Advantage", "Priority Mail", "Priority Mail Express"},
    "dhl": {"DHL Express Worldwide"},
}
COLUMNS = {
    "orders/customers.csv": [
        "customer_id", "first_name", "last_name", "email", "phone", "locale", "timezone",
        "email_opt_in", "sms_opt_in",
    ],
    "orders/orders.csv": [
        "order_id", "customer_id", "placed_at", "promised_by", "status", "channel",
    ],
    "orders/order_lines.csv": ["order_id", "line_id", "sku", "title", "quantity", "shipment_id"],
    "orders/shipments.csv": [
        "shipment_id", "order_id", "carrier", "tracking_number", "service", "shipped_at",
        "origin_postal_code", "destination_postal_code", "destination_country",
    ],
    "tracking/scans.csv": [
        "carrier", "tracking_number", "service", "occurred_at", "status", "reason",
        "description", "city", "region", "postal_code", "country", "departed",
    ],
    "tracking/etas.csv": ["carrier", "tracking_number", "stated_at", "earliest", "latest"],
    "truth/shipments.csv": [
        "shipment_id", "order_id", "customer_id", "tracking_number", "carrier", "service",
        "lane", "promised_by", "shipped_at", "delivered_at", "delayed", "cause", "evidence_at",
        "customer_relevant", "hub", "carrier_event", "outcome_known",
    ],
    "truth/incidents.csv": ["incident_id", "hub", "cause", "starts_at", "ends_at", "region"],
}  # fmt: skip


def read(world: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(world / name, dtype=str, keep_default_na=False)


def utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.replace("", None), utc=True, format="ISO8601")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world")
    generate_world(root, orders=ORDERS, seed=SEED)
    return root


@pytest.fixture(scope="module")
def frames(world: Path) -> dict[str, pd.DataFrame]:
    return {name: read(world, name) for name in COLUMNS}


# --- determinism --------------------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.*"))}


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate_world(tmp_path / "a", orders=300, seed=5)
    generate_world(tmp_path / "b", orders=300, seed=5)
    generate_world(tmp_path / "c", orders=300, seed=6)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert len(a) == 9
    assert a == b
    assert set(a) == set(c)
    for name in ("orders/orders.csv", "tracking/scans.csv", "truth/shipments.csv"):
        assert a[name] != c[name], name
    assert first.counts["orders"] == 300
    assert 0 < first.relevant_share <= first.delayed_share < 0.3


def test_start_must_be_aware_and_sizes_sane(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_world(tmp_path, orders=10, start=datetime(2025, 10, 20))
    with pytest.raises(ValueError, match="orders must be"):
        generate_world(tmp_path, orders=0)


# --- file contract ------------------------------------------------------------------------


def test_every_file_has_the_contract_columns(world: Path) -> None:
    for name, columns in COLUMNS.items():
        assert list(read(world, name).columns) == columns, name


def test_ids_and_times_are_strings_in_the_contract_formats(frames: dict) -> None:
    customers, orders = frames["orders/customers.csv"], frames["orders/orders.csv"]
    lines, shipments = frames["orders/order_lines.csv"], frames["orders/shipments.csv"]
    assert customers.customer_id.str.fullmatch(r"C\d{6}").all()
    assert orders.order_id.str.fullmatch(r"O\d{6}").all()
    assert shipments.shipment_id.str.fullmatch(r"S\d{7}").all()
    assert lines.line_id.str.fullmatch(r"L\d{7}").all()
    for frame, column in [
        (orders, "placed_at"),
        (shipments, "shipped_at"),
        (frames["tracking/scans.csv"], "occurred_at"),
        (frames["tracking/etas.csv"], "stated_at"),
    ]:
        assert frame[column].str.fullmatch(ISO.pattern).all(), column
    assert orders.promised_by.str.fullmatch(DAY.pattern).all()
    assert lines.quantity.astype(int).between(1, 3).all()
    truth = frames["truth/shipments.csv"]
    for column in ("delivered_at", "evidence_at"):
        filled = truth[column][truth[column] != ""]
        assert filled.str.fullmatch(ISO.pattern).all(), column


def test_enumerations_hold_only_known_values(frames: dict) -> None:
    customers, orders = frames["orders/customers.csv"], frames["orders/orders.csv"]
    shipments, scans = frames["orders/shipments.csv"], frames["tracking/scans.csv"]
    assert set(customers.locale) == {"en-US", "es-US", "de-DE"}
    assert set(customers.timezone) <= available_timezones()
    assert set(customers.email_opt_in) == {"true", "false"}
    assert set(customers.sms_opt_in) == {"true", "false"}
    assert set(orders.status) == {"open", "cancelled", "refunded", "delivered"}
    assert orders.status.value_counts().idxmax() == "open"
    assert set(orders.channel) == {"web", "app", "store"}
    assert set(shipments.carrier) == set(SERVICES)
    for carrier, services in SERVICES.items():
        assert set(shipments.service[shipments.carrier == carrier]) <= services
    assert set(scans.status) <= {s.value for s in Status} - {"unknown"}
    assert set(scans.reason) - {""} <= {r.value for r in Reason}
    truth = frames["truth/shipments.csv"]
    assert set(truth.cause) - {""} <= {r.value for r in Reason}


def test_contacts_use_reserved_domains_and_fictional_numbers(frames: dict) -> None:
    customers = frames["orders/customers.csv"]
    emails = customers.email[customers.email != ""]
    domains = emails.str.extract(r"@+([^@\s]+)$")[0].dropna()
    assert set(domains) <= {"example.com", "example.org", "example.net"}
    assert (customers.email == "").any()
    assert (~emails.str.fullmatch(r"[a-z0-9._]+@example\.(com|org|net)")).any()  # malformed
    assert emails.duplicated().any()  # a household sharing an address
    phones = customers.phone[customers.phone != ""]
    digits = phones.str.replace(r"\D", "", regex=True)
    numbers = digits[digits.str.len() >= 7]  # the rest is text like "call after 5pm"
    assert numbers.str.contains("55501").all()
    assert len(numbers) > 0.9 * len(phones)
    names = customers.first_name + customers.last_name
    assert (~names.map(str.isascii)).any()
    both_missing = (customers.email == "") & (customers.phone == "")
    assert both_missing.any()


def _fedex_ok(number: str) -> bool:
    weights = [1, 3, 7] * 4
    total = sum(int(d) * w for d, w in zip(reversed(number[:-1]), weights, strict=False))
    return total % 11 % 10 == int(number[-1])


def _ups_ok(number: str) -> bool:
    body = number[2:-1]
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body]
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return (10 - total % 10) % 10 == int(number[-1])


def _usps_ok(number: str) -> bool:
    weights = [3, 1] * 11
    total = sum(int(d) * w for d, w in zip(reversed(number[:-1]), weights, strict=False))
    return (10 - total % 10) % 10 == int(number[-1])


def _dhl_ok(number: str) -> bool:
    return int(number[:-1]) % 7 == int(number[-1])


def test_tracking_numbers_follow_each_carriers_format(frames: dict) -> None:
    shipments = frames["orders/shipments.csv"]
    patterns = {
        "fedex": (r"\d{12}", _fedex_ok),
        "ups": (r"1Z[0-9A-Z]{16}", _ups_ok),
        "usps": (r"(9400|9205|9270)\d{18}", _usps_ok),
        "dhl": (r"\d{10}", _dhl_ok),
    }
    for carrier, (pattern, valid) in patterns.items():
        numbers = shipments.tracking_number[shipments.carrier == carrier].unique()
        assert len(numbers), carrier
        assert all(re.fullmatch(pattern, n) for n in numbers), carrier
        assert all(valid(n) for n in numbers), carrier
    owners = shipments.groupby("tracking_number").carrier.nunique()
    assert (owners == 1).all()


# --- integrity ----------------------------------------------------------------------------


def test_references_resolve(frames: dict) -> None:
    customers, orders = frames["orders/customers.csv"], frames["orders/orders.csv"]
    lines, shipments = frames["orders/order_lines.csv"], frames["orders/shipments.csv"]
    scans, etas = frames["tracking/scans.csv"], frames["tracking/etas.csv"]
    truth = frames["truth/shipments.csv"]
    assert orders.customer_id.isin(customers.customer_id).all()
    assert lines.order_id.isin(orders.order_id).all()
    assert shipments.order_id.isin(orders.order_id).all()
    shipped = lines[lines.shipment_id != ""]
    owner = shipped.shipment_id.map(shipments.set_index("shipment_id").order_id)
    assert (owner == shipped.order_id).all()
    assert shipments.shipment_id.isin(shipped.shipment_id).all()  # every parcel carries a line
    assert set(scans.tracking_number) == set(shipments.tracking_number)
    assert set(etas.tracking_number) <= set(shipments.tracking_number)
    assert list(truth.shipment_id) == list(shipments.shipment_id)
    assert (truth.tracking_number == shipments.tracking_number).all()
    cancelled = orders.order_id[orders.status == "cancelled"]
    assert not shipments.order_id.isin(cancelled).any()
    assert orders.order_id.is_unique and lines.line_id.is_unique


def test_split_consolidated_unshipped_and_repeat_customers_exist(frames: dict) -> None:
    orders, lines = frames["orders/orders.csv"], frames["orders/order_lines.csv"]
    shipments = frames["orders/shipments.csv"]
    parcels_per_order = shipments.groupby("order_id").tracking_number.nunique()
    assert (parcels_per_order >= 2).any()
    assert (parcels_per_order <= 3).all()
    split = parcels_per_order[parcels_per_order >= 2].index
    split_lines = lines[lines.order_id.isin(split)]
    assert (split_lines.groupby("order_id").shipment_id.nunique() >= 2).all()
    shared = shipments.groupby("tracking_number").order_id.nunique()
    assert (shared == 2).any()
    customer = orders.set_index("order_id").customer_id
    for number in shared[shared >= 2].index:
        owners = shipments.order_id[shipments.tracking_number == number]
        assert customer[owners].nunique() == 1  # consolidated for the same customer
    assert (lines.shipment_id == "").any()
    assert (orders.customer_id.value_counts() >= 3).any()


def test_international_parcels_go_by_dhl_only(frames: dict) -> None:
    shipments = frames["orders/shipments.csv"]
    abroad = shipments.destination_country != "US"
    assert abroad.any()
    assert (shipments.carrier[abroad] == "dhl").all()
    assert (shipments.destination_country[shipments.carrier == "dhl"] != "US").all()


# --- tracking realism ---------------------------------------------------------------------


def _zone(region: str, country: str) -> ZoneInfo:
    zone = zone_for(Location(region=region or None, country=country))
    assert zone is not None, (region, country)
    return zone


def test_scan_offsets_match_the_zone_of_the_scan_location(frames: dict) -> None:
    scans = frames["tracking/scans.csv"]
    instants = utc(scans.occurred_at)
    written = scans.occurred_at.str[-6:]
    for (region, country), rows in scans.groupby(["region", "country"]).groups.items():
        zone = _zone(region, country)
        expected = instants[rows].dt.tz_convert(zone).map(lambda t: t.strftime("%z"))
        expected = expected.str[:3] + ":" + expected.str[3:]
        assert (expected == written[rows]).all(), (region, country)
    assert written.nunique() >= 4  # several zones and both sides of a DST change


def test_scans_are_in_time_order_and_stop_at_delivery(frames: dict) -> None:
    scans = frames["tracking/scans.csv"].assign(t=lambda f: utc(f.occurred_at))
    for _, group in scans.groupby("tracking_number", sort=False):
        assert group.t.is_monotonic_increasing
        assert group.status.iloc[0] == "info_received"
        delivered = group.status == "delivered"
        assert delivered.sum() <= 1
        if delivered.any():
            assert delivered.iloc[-1]


def test_departure_scans_leave_the_place_of_the_scan_before(frames: dict) -> None:
    """A departure is an in-transit scan at the hub the parcel arrived at just before."""
    scans = frames["tracking/scans.csv"]
    assert set(scans.departed) == {"", "true"}
    previous = scans.groupby("tracking_number", sort=False)[["city", "status"]].shift()
    departed = scans.departed == "true"
    assert departed.sum() > 0
    assert (scans.status[departed] == "in_transit").all()
    moved_on = departed & (previous.city != scans.city)
    assert not moved_on.any(), scans[moved_on].head()
    assert scans.description[departed].str.contains("Depart").all()


def test_sequences_follow_label_pickup_hubs_delivery(frames: dict) -> None:
    scans = frames["tracking/scans.csv"]
    truth = frames["truth/shipments.csv"].drop_duplicates("tracking_number")
    plain = truth.tracking_number[(truth.carrier_event == "") & (truth.delivered_at != "")]
    sample = scans[scans.tracking_number.isin(plain)]
    for _, group in sample.groupby("tracking_number"):
        statuses = list(group.status)
        assert statuses[:2] == ["info_received", "in_transit"]
        assert statuses[-2:] == ["out_for_delivery", "delivered"]
        hub_scans = len(statuses) - 5  # label, pickup, station, out for delivery, delivered
        assert hub_scans in (2, 4, 6, 7)  # 1-3 hubs (arrival + departure), customs clearance
        assert set(group.reason) == {""}


def test_local_times_of_day_are_realistic(frames: dict) -> None:
    scans = frames["tracking/scans.csv"]
    hour = scans.occurred_at.str[11:13].astype(int)
    assert hour[scans.status == "delivered"].between(8, 19).all()
    assert hour[scans.status == "out_for_delivery"].between(6, 9).all()
    assert hour[scans.status == "info_received"].between(9, 18).all()
    hub = scans.description.str.contains("Arrived at|Departed", regex=True)
    assert (hour[hub] >= 20).any() and (hour[hub] <= 5).any()  # night sorting


def test_deliveries_respect_service_calendars(frames: dict) -> None:
    scans = frames["tracking/scans.csv"]
    delivered = scans[scans.status == "delivered"]
    day = pd.to_datetime(delivered.occurred_at.str[:10])
    assert (day.dt.dayofweek != 6).all()  # no Sunday deliveries
    assert (day != "2025-11-27").all()  # Thanksgiving
    usps = delivered.carrier == "usps"
    assert (day[usps] != "2025-11-11").all()  # USPS observes Veterans Day
    weekday_only = delivered.service.isin(["UPS Ground", "FedEx Ground", "UPS 2nd Day Air"])
    assert (day[weekday_only].dt.dayofweek < 5).all()
    assert (day[delivered.service == "FedEx Home Delivery"].dt.dayofweek != 0).all()


def test_carrier_etas_are_dates_windows_or_withdrawn(frames: dict) -> None:
    etas = frames["tracking/etas.csv"]
    withdrawn = (etas.earliest == "") & (etas.latest == "")
    dates = etas.earliest.str.fullmatch(DAY.pattern) & (etas.earliest == etas.latest)
    windows = etas.earliest.str.fullmatch(ISO.pattern) & etas.latest.str.fullmatch(ISO.pattern)
    assert (withdrawn | dates | windows).all()
    assert withdrawn.any() and dates.any() and windows.any()
    timed = etas[windows]
    assert (utc(timed.earliest) < utc(timed.latest)).all()
    assert set(timed.carrier) <= {"fedex", "ups", "usps", "dhl"}
    revised = etas.groupby("tracking_number").size()
    assert (revised >= 2).any()


# --- disruption ---------------------------------------------------------------------------


def test_disruption_hits_only_parcels_at_the_hub_during_the_window(
    world: Path, frames: dict
) -> None:
    incidents = load_incidents(world)
    assert len(incidents) == 1
    incident = incidents.iloc[0]
    meta = load_meta(world)
    hub = meta["hubs"][incident.hub]
    scans = frames["tracking/scans.csv"].assign(t=lambda f: utc(f.occurred_at))
    at_hub = scans[(scans.city == hub["city"]) & (scans.postal_code == hub["postal_code"])]
    arrived = at_hub[at_hub.description.str.contains("Arrived")].groupby("tracking_number").t.min()
    departed = (
        at_hub[at_hub.description.str.contains("Departed")].groupby("tracking_number").t.max()
    )
    inside = arrived.index[
        (arrived < incident.ends_at) & (departed.reindex(arrived.index) > incident.starts_at)
    ]
    weather_scans = scans[scans.reason == "weather"]
    assert len(weather_scans) > 0
    assert set(weather_scans.city) == {hub["city"]}
    assert (weather_scans.t >= incident.starts_at).all()
    assert (weather_scans.t <= incident.ends_at).all()
    truth = frames["truth/shipments.csv"]
    hit = truth[truth.carrier_event == "weather"]
    assert set(hit.tracking_number) == set(weather_scans.tracking_number)
    assert set(hit.tracking_number) <= set(inside)
    assert hit.hub.str.split(">").map(lambda hubs: incident.hub in hubs).all()
    plain_inside = truth[truth.tracking_number.isin(inside)]
    assert set(plain_inside.carrier_event) - {"weather"} <= {
        "recipient_unavailable", "address_issue", "returning_to_sender", "damaged", "lost",
        "no_scan", "missed_pickup",
    }  # fmt: skip
    assert (hit.delayed == "true").any()


# --- ground truth -------------------------------------------------------------------------


def test_delivered_at_is_the_delivered_scan(frames: dict) -> None:
    scans, truth = frames["tracking/scans.csv"], frames["truth/shipments.csv"]
    delivered = scans[scans.status == "delivered"].set_index("tracking_number").occurred_at
    expected = truth.tracking_number.map(delivered).fillna("")
    assert (truth.delivered_at == expected).all()
    labels = scans.groupby("tracking_number").occurred_at.first()
    shipped = frames["orders/shipments.csv"]
    assert (shipped.shipped_at == shipped.tracking_number.map(labels)).all()


def _promise_end(truth: pd.DataFrame, customers: pd.DataFrame, orders: pd.DataFrame) -> list:
    zone = truth.customer_id.map(customers.set_index("customer_id").timezone)
    promised = truth.order_id.map(orders.set_index("order_id").promised_by)
    assert (promised == truth.promised_by).all()
    return [
        datetime.combine(
            date.fromisoformat(p) + timedelta(days=1), datetime.min.time(), ZoneInfo(z)
        )
        for p, z in zip(promised, zone, strict=True)
    ]


def test_delayed_means_after_the_promised_day_in_the_customers_zone(
    world: Path, frames: dict
) -> None:
    truth, customers = frames["truth/shipments.csv"], frames["orders/customers.csv"]
    end = datetime.fromisoformat(load_meta(world)["end"])
    deadline = pd.Series(_promise_end(truth, customers, frames["orders/orders.csv"]))
    outcome = utc(truth.delivered_at).fillna(pd.Timestamp(end))
    delayed = pd.Series([o >= d for o, d in zip(outcome, deadline, strict=True)])
    assert list(delayed) == list(truth.delayed == "true")
    assert ((truth.cause != "") == (truth.delayed == "true")).all()
    share = delayed.mean()
    assert 0.05 < share < 0.2
    on_time_events = truth[(truth.carrier_event != "") & (truth.delayed == "false")]
    assert len(on_time_events)  # carrier trouble that still arrived in time


def _first_evidence(frames: dict) -> pd.Series:
    """Recomputed from the tracking files: first trouble scan or ETA past the promise."""
    scans, etas = frames["tracking/scans.csv"], frames["tracking/etas.csv"]
    truth = frames["truth/shipments.csv"]
    trouble = scans[scans.status.isin(["exception", "attempt_fail"]) | (scans.reason != "")]
    first_scan = utc(trouble.occurred_at).groupby(trouble.tracking_number).min()
    merged = truth[["shipment_id", "tracking_number", "promised_by"]].merge(
        etas, on="tracking_number"
    )
    late = (merged.latest == "") | (merged.latest.str[:10] > merged.promised_by)
    first_eta = utc(merged.stated_at[late]).groupby(merged.shipment_id[late]).min()
    scan_at = truth.tracking_number.map(first_scan)
    eta_at = truth.shipment_id.map(first_eta)
    return pd.concat([scan_at, eta_at], axis=1).min(axis=1)


def test_evidence_is_the_first_trouble_in_tracking_and_relevance_follows(frames: dict) -> None:
    truth = frames["truth/shipments.csv"]
    delayed = truth.delayed == "true"
    evidence = utc(truth.evidence_at)
    recomputed = _first_evidence(frames)
    assert evidence[~delayed].isna().all()
    both = delayed & recomputed.notna()
    assert (evidence[both] == recomputed[both]).all()
    assert evidence[delayed & recomputed.isna()].isna().all()
    delivered = utc(truth.delivered_at)
    relevant = delayed & evidence.notna() & (delivered.isna() | (evidence < delivered))
    assert list(relevant) == list(truth.customer_relevant == "true")
    assert relevant.any()
    assert (delayed & ~relevant).any()  # late, but tracking never said so in time


def test_an_outcome_after_the_worlds_end_is_not_called_on_time(world: Path, frames: dict) -> None:
    """Undelivered when the world ends, with the promised day still ahead: not known. Every
    delivered parcel and every parcel already past its promised day is known."""
    truth = frames["truth/shipments.csv"]
    end = datetime.fromisoformat(load_meta(world)["end"])
    undelivered = truth.delivered_at.isna() | (truth.delivered_at == "")
    known = truth.outcome_known == "true"
    assert known[~undelivered].all()
    assert known[truth.delayed == "true"].all()
    open_ = undelivered & ~known
    assert open_.any()  # parcels still on their way when the world ends
    last_day = end.date() - timedelta(days=1)  # promised days that surely end before the end
    assert (pd.to_datetime(truth.promised_by[open_]).dt.date > last_day).all()
    assert (truth.delayed[open_] == "false").all() and (
        truth.customer_relevant[open_] == "false"
    ).all()


def test_truth_causes_match_what_tracking_shows(world: Path, frames: dict) -> None:
    scans, truth = frames["tracking/scans.csv"], frames["truth/shipments.csv"]
    end = datetime.fromisoformat(load_meta(world)["end"])
    truth = truth[utc(truth.shipped_at) < end - timedelta(days=12)]  # whole story written
    reasons = scans.groupby("tracking_number").reason.agg(set)
    shown = {
        "weather": "weather", "customs": "customs", "damaged": "damaged",
        "recipient_unavailable": "recipient_unavailable", "address_issue": "address_issue",
        "returning_to_sender": "returning_to_sender",
    }  # fmt: skip
    for event, reason in shown.items():
        rows = truth[truth.carrier_event == event]
        assert rows.tracking_number.map(lambda n, r=reason: r in reasons[n]).all(), event
    lost = truth[truth.carrier_event == "lost"]
    assert (lost.delivered_at == "").all()
    last = scans.groupby("tracking_number").status.last()
    assert (lost.tracking_number.map(last) == "in_transit").all()
    never = truth[(truth.carrier_event == "missed_pickup") & (truth.delivered_at == "")]
    counts = scans.groupby("tracking_number").size()
    assert (never.tracking_number.map(counts) == 1).all()


def test_world_json_and_loaders(world: Path, frames: dict) -> None:
    meta = json.loads((world / "world.json").read_text("utf-8"))
    assert meta["seed"] == SEED and meta["orders"] == ORDERS
    start, end = datetime.fromisoformat(meta["start"]), datetime.fromisoformat(meta["end"])
    assert (end - start).days == 42 and start.tzinfo is not None
    demo = datetime.fromisoformat(meta["demo_as_of"])
    incident = load_incidents(world).iloc[0]
    assert incident.starts_at <= demo <= incident.ends_at
    assert meta["counts"]["delays_visible_undelivered_at_demo"] > 0
    assert meta["counts"]["shipments"] == len(frames["orders/shipments.csv"])
    assert meta["counts"]["scans"] == len(frames["tracking/scans.csv"])
    assert set(meta["carriers"]) == set(SERVICES)
    assert incident.hub in meta["hubs"]
    truth = load_truth(world)
    assert truth.delayed.dtype == bool
    assert str(truth.delivered_at.dtype).startswith("datetime64")
    assert truth.delivered_at.dt.tz == UTC or str(truth.delivered_at.dt.tz) == "UTC"
    assert sum(meta["delayed_by_cause"].values()) == truth.delayed.sum()


def test_customer_zone_matches_the_delivery_address(frames: dict) -> None:
    scans, truth = frames["tracking/scans.csv"], frames["truth/shipments.csv"]
    customers = frames["orders/customers.csv"].set_index("customer_id")
    delivered = scans[scans.status == "delivered"].set_index("tracking_number")
    rows = truth[truth.delivered_at != ""]
    places = delivered.loc[rows.tracking_number, ["region", "country"]]
    zones = [_zone(r, c).key for r, c in zip(places.region, places.country, strict=True)]
    assert zones == list(rows.customer_id.map(customers.timezone))


def test_small_chunks_and_chunks_without_shipments_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("notify.simulate.world.CHUNK_ORDERS", 7)
    summary = generate_world(tmp_path, orders=300, seed=5)
    orders, shipments = read(tmp_path, "orders/orders.csv"), read(tmp_path, "orders/shipments.csv")
    assert len(orders) == 300 and orders.order_id.is_unique
    assert shipments.shipment_id.is_unique and shipments.tracking_number.str.len().gt(0).all()
    last = orders.order_id.iloc[-7:]
    assert not shipments.order_id.isin(last).any()  # placed in the last hours: not shipped yet
    assert summary.counts["shipments"] == len(shipments)
