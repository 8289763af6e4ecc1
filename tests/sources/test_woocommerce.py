"""The woocommerce mapping against a real WooCommerce 8.x/9.x HPOS schema subset in MariaDB."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from notify.sources import SqlSource, load_mapping
from notify.sources.php import serialize
from notify.store import schema
from tests.sources.conftest import shop_admin
from tests.sources.shops import create_schema, populate, utc_now, woocommerce


@pytest.fixture
def woo_shop(mariadb_url):
    admin = shop_admin(mariadb_url)
    create_schema(admin, "woocommerce")
    shop = woocommerce(utc_now(admin))
    populate(admin, shop)
    yield mariadb_url, admin, shop
    admin.dispose()


def source(url, options=None):
    return SqlSource("woo", url, load_mapping("woocommerce", options), chunk_rows=40)


def rows(store, table, key):
    with store.connect() as conn:
        return {getattr(r, key): r for r in conn.execute(select(table))}


def lines_by_order(store):
    out: dict[str, list] = {}
    with store.connect() as conn:
        for r in conn.execute(select(schema.order_lines)):
            out.setdefault(r.order_id, []).append(r)
    return out


def meta_items(shop, oid):
    from notify.sources.php import unserialize

    value = next(
        m["meta_value"] for m in shop.tables["wp_wc_orders_meta"] if m["order_id"] == int(oid)
    )
    return list(unserialize(value).values())


def test_first_extraction_loads_the_shop_in_the_contract(woo_shop, engine):
    url, _admin, shop = woo_shop
    facts = shop.facts
    result = source(url).extract(engine, run_id="r1")
    t = result.counts.tables
    real = facts["guest"] + facts["registered"]
    assert t["orders"].new == len(real) and t["orders"].rejected == 0
    orders = rows(engine, schema.orders, "order_id")
    customers = rows(engine, schema.customers, "customer_id")
    shipments = rows(engine, schema.shipments, "shipment_id")
    lines = lines_by_order(engine)

    # Drafts and refund records are not orders.
    assert set(orders) == set(real)
    assert not set(facts["drafts"]) & set(orders)
    assert not any(o.startswith("90") and len(o) > 6 for o in orders)
    # Statuses: cancelled, failed and trashed -> cancelled; refunded; delivered; the rest open.
    for oid in facts["cancelled"] + facts["trash"]:
        assert orders[oid].status == "cancelled"
    assert {orders[o].status for o in facts["refunded"]} == {"refunded"}
    assert {orders[o].status for o in facts["delivered"]} == {"delivered"}
    assert {orders[o].status for o in facts["open"]} == {"open"}
    # Guests: one customer each; registered customers: the user ID, latest billing details.
    for oid in facts["guest"]:
        assert orders[oid].customer_id == f"guest-{oid}"
        assert customers[f"guest-{oid}"].email == f"o{oid}@example.org"
    users = {orders[o].customer_id for o in facts["registered"]}
    assert users <= set(customers) and len(customers) == len(users) + len(facts["guest"])
    # Locale: user meta, else the site language (empty = the mapping default); zone: the site's.
    user_locale = {str(m["user_id"]): m["meta_value"].replace("_", "-")
                   for m in shop.tables["wp_usermeta"]}  # fmt: skip
    for cid, c in customers.items():
        assert c.locale == user_locale.get(cid, "en-US")
        assert c.timezone == "America/New_York"
    assert {"Łukasz", "王芳", "Zoë"} & {c.first_name for c in customers.values()}

    # Tracking numbers on line items: one shipment per number, each line under its own.
    for oid in facts["item_meta"]:
        assert all(ln.shipment_id and ln.shipment_id.startswith(f"{oid}-") for ln in lines[oid])
        assert len({ln.shipment_id for ln in lines[oid]}) == len(lines[oid])
        for ln in lines[oid]:
            assert shipments[ln.shipment_id].carrier in ("ups", "fedex")
    # The Shipment Tracking extension, one item: every line in that one parcel.
    one = facts["extension_one"][0]
    item = meta_items(shop, one)[0]
    parcel = shipments[f"{one}-st1"]
    assert parcel.tracking_number == item["tracking_number"]
    assert parcel.shipped_at is not None and parcel.destination_country == "US"
    assert parcel.origin_postal_code == "10001"
    assert {ln.shipment_id for ln in lines[one]} == {f"{one}-st1"}
    provider = item["tracking_provider"] or item["custom_tracking_provider"]
    assert parcel.carrier == {"dhl-us": "dhl", "canada-post": "canadapost",
                              "Canada Post": "canadapost"}.get(provider, provider)  # fmt: skip
    # Two items and no per-line record: two parcels, lines not assigned (never guessed).
    two = facts["extension_two"][0]
    assert {f"{two}-st1", f"{two}-st2"} <= set(shipments)
    assert {ln.shipment_id for ln in lines[two]} == {None}
    # One tracking number on two orders.
    shared = [s for s in shipments.values() if s.tracking_number == facts["shared_number"]]
    assert sorted(s.order_id for s in shared) == sorted(facts["shared_track"]) and len(shared) == 2
    # SKUs from the product lookup (variations have their own).
    skus = {ln.sku for ls in lines.values() for ln in ls}
    assert "RJ-02" in skus and "WS-01-L" in skus and any(s.endswith("-L") for s in skus)
    # Shipping lines are not order lines.
    assert not any(ln.title == "Flat rate" for ls in lines.values() for ln in ls)

    # A tracking meta value a plugin truncated: that row is rejected with its reason, kept.
    bad = facts["corrupt"][0]
    with engine.connect() as conn:
        rejected = conn.execute(select(schema.rejected_rows)).all()
    assert [(r.source, r.row_ref) for r in rejected] == [
        ("shop:woo/shipments.tracking_extension.sql", bad)
    ]
    assert "_wc_shipment_tracking_items is unreadable" in rejected[0].reason
    assert json.loads(rejected[0].raw)["order_id"] == bad
    assert t["shipments"].rejected == 1


def test_second_extraction_brings_nothing_new_then_only_the_changes(woo_shop, engine):
    url, admin, shop = woo_shop
    facts = shop.facts
    src = source(url)
    src.extract(engine)
    second = src.extract(engine)
    assert second.mode == "incremental" and second.changed == 0
    assert second.counts.tables["orders"].unchanged > 0  # the overlap window, re-read

    shipped = facts["unshipped"][0]  # processing, no tracking yet: ship it with the extension
    trashed = facts["open"][-1] if facts["open"][-1] != shipped else facts["open"][-2]
    item = {"tracking_provider": "usps", "custom_tracking_provider": "", "custom_tracking_link": "",
            "tracking_number": "9400111899223197428490", "date_shipped": "1764892800",
            "tracking_id": "f" * 32}  # fmt: skip
    new_id = facts["next_ids"]["order"]
    with admin.begin() as conn:
        conn.execute(text("INSERT INTO wp_wc_orders_meta (order_id, meta_key, meta_value) "
                          "VALUES (:o, '_wc_shipment_tracking_items', :v)"),
                     {"o": int(shipped), "v": serialize([item])})  # fmt: skip
        conn.execute(text("UPDATE wp_wc_orders SET status = 'wc-completed', "
                          "date_updated_gmt = UTC_TIMESTAMP() WHERE id = :o"), {"o": int(shipped)})  # fmt: skip
        conn.execute(text("UPDATE wp_wc_orders SET status = 'trash', "
                          "date_updated_gmt = UTC_TIMESTAMP() WHERE id = :o"), {"o": int(trashed)})  # fmt: skip
        conn.execute(text(
            "INSERT INTO wp_wc_orders (id, status, type, customer_id, billing_email, "
            "date_created_gmt, date_updated_gmt) VALUES (:o, 'wc-processing', 'shop_order', 0, "
            "'amelie@example.fr', UTC_TIMESTAMP(), UTC_TIMESTAMP())"), {"o": new_id})  # fmt: skip
        conn.execute(text(
            "INSERT INTO wp_wc_order_addresses (order_id, address_type, first_name, last_name, "
            "email, country, postcode) VALUES (:o, 'billing', 'Amélie', 'Lefèvre', "
            "'amelie@example.fr', 'FR', '75001')"), {"o": new_id})  # fmt: skip
        conn.execute(text(
            "INSERT INTO wp_woocommerce_order_items (order_item_id, order_item_name, "
            "order_item_type, order_id) VALUES (:i, 'Café au lait bowl', 'line_item', :o)"),
            {"i": facts["next_ids"]["item"], "o": new_id})  # fmt: skip
        conn.execute(text(
            "INSERT INTO wp_woocommerce_order_itemmeta (order_item_id, meta_key, meta_value) "
            "VALUES (:i, '_qty', '2'), (:i, '_product_id', '106'), (:i, '_variation_id', '0')"),
            {"i": facts["next_ids"]["item"]})  # fmt: skip

    third = src.extract(engine)
    t = third.counts.tables
    assert (t["orders"].new, t["orders"].updated) == (1, 1)  # new order; trash -> cancelled
    assert (t["customers"].new, t["customers"].updated) == (1, 0)
    assert (t["shipments"].new, t["shipments"].updated) == (1, 0)
    shipped_lines = lines_by_order(engine)[shipped]
    assert (t["order_lines"].new, t["order_lines"].updated) == (1, len(shipped_lines))
    assert {ln.shipment_id for ln in shipped_lines} == {f"{shipped}-st1"}
    parcel = rows(engine, schema.shipments, "shipment_id")[f"{shipped}-st1"]
    assert (parcel.carrier, parcel.tracking_number) == ("usps", "9400111899223197428490")
    orders = rows(engine, schema.orders, "order_id")
    assert orders[trashed].status == "cancelled"
    assert orders[str(new_id)].customer_id == f"guest-{new_id}"
    new_lines = lines_by_order(engine)[str(new_id)]
    assert [(ln.title, ln.quantity, ln.sku) for ln in new_lines] == [
        ("Café au lait bowl", 2, "CF-07")
    ]
    assert src.extract(engine).changed == 0


def test_the_table_prefix_and_item_meta_keys_are_options(woo_shop, sqlite_engine):
    url, admin, shop = woo_shop
    with admin.begin() as conn:
        for table in ("options", "usermeta", "wc_orders", "wc_order_addresses",
                      "wc_order_operational_data", "wc_orders_meta", "woocommerce_order_items",
                      "woocommerce_order_itemmeta", "wc_product_meta_lookup"):  # fmt: skip
            conn.exec_driver_sql(f"RENAME TABLE wp_{table} TO shop7_{table}")
        conn.exec_driver_sql("UPDATE shop7_woocommerce_order_itemmeta SET meta_key = "
                             "'tracking_code' WHERE meta_key = '_tracking_number'")  # fmt: skip
    result = SqlSource("woo", url, load_mapping("woocommerce", {
        "table_prefix": "shop7_", "item_tracking_number_key": "tracking_code"})).extract(sqlite_engine)  # fmt: skip
    assert result.counts.tables["orders"].new == len(shop.facts["guest"] + shop.facts["registered"])
    lines = lines_by_order(sqlite_engine)
    oid = shop.facts["item_meta"][0]
    assert all(ln.shipment_id for ln in lines[oid])


def test_a_full_refresh_counts_a_known_rejection_without_storing_it_again(woo_shop, sqlite_engine):
    url, _admin, _shop = woo_shop
    source(url).extract(sqlite_engine)
    again = source(url).extract(sqlite_engine, full_refresh=True)
    assert again.counts.tables["shipments"].rejected == 0
    assert again.counts.tables["shipments"].rejected_again == 1
    assert again.changed == 0
    with sqlite_engine.connect() as conn:
        assert len(conn.execute(select(schema.rejected_rows)).all()) == 1


def test_a_tracking_item_removed_from_the_extension_is_removed(woo_shop, sqlite_engine):
    url, admin, shop = woo_shop
    src = source(url)
    src.extract(sqlite_engine)
    oid = shop.facts["extension_two"][0]
    first = meta_items(shop, oid)[0]
    with admin.begin() as conn:
        conn.execute(text("UPDATE wp_wc_orders_meta SET meta_value = :v WHERE order_id = :o "
                          "AND meta_key = '_wc_shipment_tracking_items'"),
                     {"v": serialize([first]), "o": int(oid)})  # fmt: skip
        conn.execute(text("UPDATE wp_wc_orders SET date_updated_gmt = UTC_TIMESTAMP() "
                          "WHERE id = :o"), {"o": int(oid)})  # fmt: skip
    result = src.extract(sqlite_engine)
    t = result.counts.tables
    assert (t["shipments"].removed, t["shipments"].new, t["shipments"].updated) == (1, 0, 0)
    shipments = rows(sqlite_engine, schema.shipments, "shipment_id")
    assert f"{oid}-st1" in shipments and f"{oid}-st2" not in shipments
    # one parcel left: every line of the order is in it now
    assert {ln.shipment_id for ln in lines_by_order(sqlite_engine)[oid]} == {f"{oid}-st1"}
    assert t["order_lines"].updated == len(lines_by_order(sqlite_engine)[oid])
