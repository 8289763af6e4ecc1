"""Realistic little shop databases (Magento 2.4, WooCommerce HPOS) for the source tests.

Each builder returns a :class:`Shop`: rows per shop table, ready to insert, and the facts the
tests check against (which orders are guests, split over two parcels, share a tracking
number, are cancelled...). Rows are deterministic for a seed. Times are naive UTC, as both
shops store them; most rows were last updated days ago, the newest orders a minute ago.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine

from notify.sources.php import serialize

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shops"

FIRST = ["Ana", "Zoë", "José", "Łukasz", "Ólafur", "Nguyễn", "Søren", "Chloé", "Amélie",
         "Björn", "Çağla", "Dvořák", "Émile", "Fatma", "Grace", "Hiroshi", "Ingrid", "王芳",
         "أحمد", "Mikołaj", "Noémie", "Oğuz", "Paulo", "Renée"]  # fmt: skip
LAST = ["Lima", "Müller", "García", "Kowalski", "Sigurðsson", "Văn An", "Østergaard",
        "Dubois", "Lefèvre", "Šimek", "Yılmaz", "Brontë", "O'Neil", "Nakamura", "Smith",
        "Chen", "Haddad", "Wiśniewska", "Ferreira", "Andersson"]  # fmt: skip
PRODUCTS = [("WS-01", "Wool socks"), ("RJ-02", "Rain jacket"), ("TK-03", "Tea kettle"),
            ("MG-04", "Mug"), ("LP-05", "Desk lamp"), ("BK-06", "Notebook"),
            ("CF-07", "Café au lait bowl"), ("SH-08", "Trail shoes"),
            ("GL-09", "Gloves"), ("UM-10", "Umbrella")]  # fmt: skip


def tracking_number(rng: random.Random, carrier: str) -> str:
    digits = "0123456789"
    if carrier == "ups":
        return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(16))
    if carrier == "fedex":
        return "".join(rng.choice(digits) for _ in range(12))
    if carrier == "usps":
        return "9400" + "".join(rng.choice(digits) for _ in range(18))
    if carrier == "dhl":
        return "".join(rng.choice(digits) for _ in range(10))
    return "".join(rng.choice(digits) for _ in range(16))


@dataclass
class Shop:
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        self.tables.setdefault(table, []).append(row)
        return row

    def count(self, table: str) -> int:
        return len(self.tables.get(table, []))


def create_schema(engine: Engine, name: str) -> None:
    """Create the shop tables of ``name`` (magento2 | woocommerce) from the DDL fixtures."""
    dialect = "postgresql" if engine.dialect.name == "postgresql" else "mysql"
    ddl = (FIXTURES / f"{name}.{dialect}.sql").read_text("utf-8")
    body = "\n".join(line for line in ddl.splitlines() if not line.startswith("--"))
    with engine.begin() as conn:
        for statement in body.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)


def populate(engine: Engine, shop: Shop) -> None:
    """Insert every row of ``shop`` (the tables must exist)."""
    meta = MetaData()
    meta.reflect(engine, only=list(shop.tables))
    with engine.begin() as conn:
        for name, rows in shop.tables.items():
            if rows:
                columns = sorted({c for r in rows for c in r})
                full = [{c: r.get(c) for c in columns} for r in rows]
                conn.execute(meta.tables[name].insert(), full)


def utc_now(engine: Engine) -> datetime:
    """The shop database's clock (naive UTC)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            value = conn.execute(text("SELECT CURRENT_TIMESTAMP AT TIME ZONE 'UTC'")).scalar_one()
        else:
            value = conn.execute(text("SELECT UTC_TIMESTAMP()")).scalar_one()
    return value.replace(tzinfo=None, microsecond=0)


# -- Magento 2.4 ------------------------------------------------------------------------------


def magento2(now: datetime, orders: int = 300, seed: int = 11) -> Shop:
    rng = random.Random(seed)
    shop = Shop()
    shop.add(
        "store",
        {
            "store_id": 1,
            "code": "default",
            "website_id": 1,
            "group_id": 1,
            "name": "Default Store View",
            "sort_order": 0,
            "is_active": 1,
        },
    )
    shop.add("store", {"store_id": 2, "code": "de", "website_id": 2, "group_id": 2,
                       "name": "Deutsch", "sort_order": 1, "is_active": 1})  # fmt: skip
    config = [
        ("default", 0, "general/locale/code", "en_US"),
        ("default", 0, "general/locale/timezone", "America/Chicago"),
        ("default", 0, "shipping/origin/postcode", "60601"),
        ("stores", 2, "general/locale/code", "de_DE"),
        ("websites", 2, "general/locale/timezone", "Europe/Berlin"),
    ]
    for i, (scope, scope_id, path, value) in enumerate(config, start=1):
        shop.add("core_config_data", {"config_id": i, "scope": scope, "scope_id": scope_id,
                                      "path": path, "value": value})  # fmt: skip
    old = now - timedelta(days=3)
    customers = []
    for cid in range(1, 81):
        store = 2 if cid % 5 == 0 else 1
        first, last = FIRST[cid % len(FIRST)], LAST[cid % len(LAST)]
        shop.add("customer_address_entity", {
            "entity_id": cid, "parent_id": cid, "created_at": old, "updated_at": old,
            "city": "Chicago" if store == 1 else "Berlin", "country_id": "US" if store == 1 else "DE",
            "firstname": first, "lastname": last, "postcode": f"{60600 + cid}",
            "street": f"{cid} Main St", "telephone": f"+1 312 555 {1000 + cid}"})  # fmt: skip
        shop.add("customer_entity", {
            "entity_id": cid, "website_id": store, "email": f"c{cid}@example.com",
            "group_id": 1, "store_id": store, "created_at": old, "updated_at": old,
            "firstname": first, "lastname": last, "default_billing": cid,
            "default_shipping": cid})  # fmt: skip
        customers.append(cid)
    item_id = shipment_id = track_id = ssi_id = address_id = 0
    facts: dict[str, Any] = {"guest": [], "registered": [], "cancelled": [], "refunded": [],
                             "delivered": [], "multi_shipment": [], "two_tracks": [],
                             "unshipped_lines": [], "shared_track": [], "open": []}  # fmt: skip
    shared_number = tracking_number(rng, "ups")
    for n in range(1, orders + 1):
        entity = n
        increment = f"{n:09d}"
        guest = n % 3 == 0
        customer = None if guest else customers[n % len(customers)]
        store = 2 if (customer or n) % 5 == 0 else 1
        recent = n > orders - 20
        placed = now - timedelta(minutes=2) if recent else old + timedelta(minutes=n)
        updated = now - timedelta(minutes=1) if recent else old + timedelta(hours=1, minutes=n)
        kind = rng.choices(["new", "processing", "complete", "canceled", "closed", "delivered"],
                           [10, 30, 40, 10, 5, 5])[0]  # fmt: skip
        state, status = {
            "new": ("new", "pending"), "processing": ("processing", "processing"),
            "complete": ("complete", "complete"), "canceled": ("canceled", "canceled"),
            "closed": ("closed", "closed"), "delivered": ("complete", "delivered"),
        }[kind]  # fmt: skip
        first, last = FIRST[(n * 7) % len(FIRST)], LAST[(n * 3) % len(LAST)]
        if customer is not None:
            first, last = FIRST[customer % len(FIRST)], LAST[customer % len(LAST)]
        carrier = rng.choice(["ups", "fedex", "usps", "dhl", "custom"])
        method = {"ups": "ups_GND", "fedex": "fedex_FEDEX_GROUND", "usps": "usps_1",
                  "dhl": "dhl_P", "custom": "flatrate_flatrate"}[carrier]  # fmt: skip
        shop.add("sales_order", {
            "entity_id": entity, "state": state, "status": status, "store_id": store,
            "customer_id": customer, "customer_is_guest": 1 if guest else 0,
            "increment_id": increment, "customer_email": f"o{n}@example.net" if guest else f"c{customer}@example.com",
            "customer_firstname": None if guest and n % 2 else first,
            "customer_lastname": None if guest and n % 2 else last,
            "shipping_method": method, "shipping_description": method,
            "grand_total": 10 + n, "created_at": placed, "updated_at": updated,
            "total_item_count": 0})  # fmt: skip
        for address_type in ("billing", "shipping"):
            address_id += 1
            shop.add("sales_order_address", {
                "entity_id": address_id, "parent_id": entity, "customer_id": customer,
                "address_type": address_type, "firstname": first, "lastname": last,
                "email": f"o{n}@example.net", "telephone": f"+1 (312) 555-{2000 + n}",
                "street": f"{n} Lake Shore Dr", "city": "Chicago" if store == 1 else "München",
                "postcode": f"{60000 + n}" if store == 1 else f"{80000 + n}",
                "country_id": "US" if store == 1 else "DE"})  # fmt: skip
        (facts["guest"] if guest else facts["registered"]).append(increment)
        if kind == "canceled":
            facts["cancelled"].append(increment)
        elif kind == "closed":
            facts["refunded"].append(increment)
        elif kind == "delivered":
            facts["delivered"].append(increment)
        else:
            facts["open"].append(increment)
        items = []
        for k in range(rng.randint(1, 3)):
            item_id += 1
            sku, name = PRODUCTS[(n + k) % len(PRODUCTS)]
            shop.add("sales_order_item", {
                "item_id": item_id, "order_id": entity, "store_id": store,
                "created_at": placed, "updated_at": updated, "product_type": "simple",
                "sku": sku, "name": name, "qty_ordered": rng.randint(1, 3),
                "qty_shipped": 0, "price": 9.5})  # fmt: skip
            items.append(item_id)
        if n % 10 == 1:  # a configurable product: parent line + child item (left out)
            item_id += 1
            shop.add("sales_order_item", {
                "item_id": item_id, "order_id": entity, "store_id": store,
                "created_at": placed, "updated_at": updated, "product_type": "configurable",
                "sku": "TS-11-M", "name": "T-shirt", "qty_ordered": 1, "price": 12})  # fmt: skip
            parent = item_id
            item_id += 1
            shop.add("sales_order_item", {
                "item_id": item_id, "order_id": entity, "parent_item_id": parent,
                "store_id": store, "created_at": placed, "updated_at": updated,
                "product_type": "simple", "sku": "TS-11-M", "name": "T-shirt M",
                "qty_ordered": 1, "price": 0})  # fmt: skip
            items.append(parent)
        if kind not in ("complete", "delivered", "processing"):
            continue
        if kind == "processing" and n % 2:
            facts["unshipped_lines"].append(increment)
            continue
        groups = [items]
        if len(items) >= 2 and (n % 4 == 0 or kind == "processing"):
            groups = [items[:1], items[1:]] if kind != "processing" else [items[:1]]
            if kind == "processing":
                facts["unshipped_lines"].append(increment)
            else:
                facts["multi_shipment"].append(increment)
        for g, group in enumerate(groups):
            shipment_id += 1
            shop.add("sales_shipment", {
                "entity_id": shipment_id, "store_id": store, "order_id": entity,
                "customer_id": customer, "increment_id": f"{shipment_id:09d}",
                "total_qty": len(group), "created_at": placed + timedelta(hours=5 + g),
                "updated_at": updated})  # fmt: skip
            for item in group:
                ssi_id += 1
                shop.add("sales_shipment_item", {
                    "entity_id": ssi_id, "parent_id": shipment_id, "order_item_id": item,
                    "qty": 1})  # fmt: skip
            tracks = 2 if n % 17 == 0 and g == 0 else 1
            if tracks == 2:
                facts["two_tracks"].append(increment)
            for _t in range(tracks):
                track_id += 1
                code = carrier if carrier != "custom" else "custom"
                title = {"ups": "United Parcel Service", "fedex": "Federal Express",
                         "usps": "United States Postal Service", "dhl": "DHL",
                         "custom": rng.choice(["Canada Post", "DHL Express", "La Poste"])}[carrier]  # fmt: skip
                number = tracking_number(rng, "ups" if carrier == "custom" else carrier)
                if len(facts["shared_track"]) < 2 and carrier == "ups" and g == 0 and tracks == 1:
                    number = shared_number
                    facts["shared_track"].append(increment)
                shop.add("sales_shipment_track", {
                    "entity_id": track_id, "parent_id": shipment_id, "order_id": entity,
                    "track_number": number, "title": title, "carrier_code": code,
                    "created_at": placed + timedelta(hours=5 + g), "updated_at": updated})  # fmt: skip
    facts["shared_number"] = shared_number
    facts["next_ids"] = {"order": orders + 1, "item": item_id + 1, "shipment": shipment_id + 1,
                         "track": track_id + 1, "ssi": ssi_id + 1, "address": address_id + 1}  # fmt: skip
    shop.facts = facts
    return shop


# -- WooCommerce 8.x/9.x (HPOS) ----------------------------------------------------------------

WC_PROVIDERS = ["ups", "fedex", "usps", "dhl-us", "canada-post"]


def _track_item(rng: random.Random, provider: str, shipped: datetime) -> dict[str, Any]:
    carrier = {"dhl-us": "dhl", "canada-post": "other"}.get(provider, provider)
    number = tracking_number(rng, carrier)
    custom = provider == "canada-post" and rng.random() < 0.5
    return {
        "tracking_provider": "" if custom else provider,
        "custom_tracking_provider": "Canada Post" if custom else "",
        "custom_tracking_link": "",
        "tracking_number": number,
        "date_shipped": str(int(shipped.replace(tzinfo=UTC).timestamp())),
        "tracking_id": hashlib.md5(number.encode(), usedforsecurity=False).hexdigest(),
    }


def woocommerce(now: datetime, orders: int = 250, seed: int = 23) -> Shop:
    rng = random.Random(seed)
    shop = Shop()
    for i, (name, value) in enumerate([("WPLANG", ""), ("timezone_string", "America/New_York"),
                                       ("woocommerce_store_postcode", "10001")], start=1):  # fmt: skip
        shop.add("wp_options", {"option_id": i, "option_name": name, "option_value": value})
    for user in range(2, 62, 7):
        shop.add("wp_usermeta", {"user_id": user, "meta_key": "locale",
                                 "meta_value": rng.choice(["fr_FR", "es_ES", "de_DE"])})  # fmt: skip
    for p in range(len(PRODUCTS)):
        sku, _name = PRODUCTS[p]
        shop.add("wp_wc_product_meta_lookup", {"product_id": 100 + p, "sku": sku})
        shop.add("wp_wc_product_meta_lookup", {"product_id": 200 + p, "sku": f"{sku}-L"})
    old = now - timedelta(days=2)
    item_id = 0
    facts: dict[str, Any] = {"guest": [], "registered": [], "cancelled": [], "refunded": [],
                             "delivered": [], "trash": [], "drafts": [], "item_meta": [],
                             "extension_one": [], "extension_two": [], "unshipped": [],
                             "shared_track": [], "corrupt": [], "open": []}  # fmt: skip
    shared = None
    next_id = 1001
    for n in range(1, orders + 1):
        oid = next_id
        next_id += 1
        guest = n % 4 == 0
        user = 0 if guest else 2 + (n % 60)
        recent = n > orders - 15
        created = now - timedelta(minutes=2) if recent else old + timedelta(minutes=n)
        updated = now - timedelta(minutes=1) if recent else old + timedelta(hours=2, minutes=n)
        status = rng.choices(
            ["wc-processing", "wc-completed", "wc-on-hold", "wc-pending", "wc-cancelled",
             "wc-refunded", "wc-failed", "trash", "wc-delivered", "wc-checkout-draft"],
            [25, 35, 5, 5, 8, 5, 3, 3, 6, 5])[0]  # fmt: skip
        first, last = FIRST[(n * 5) % len(FIRST)], LAST[(n * 7) % len(LAST)]
        if not guest:
            first, last = FIRST[user % len(FIRST)], LAST[user % len(LAST)]
        email = f"o{oid}@example.org" if guest else f"u{user}@example.org"
        shop.add("wp_wc_orders", {
            "id": oid, "status": status, "currency": "USD", "type": "shop_order",
            "total_amount": 20 + n, "customer_id": user, "billing_email": email,
            "date_created_gmt": created, "date_updated_gmt": updated,
            "payment_method": "stripe"})  # fmt: skip
        shop.add("wp_wc_order_operational_data", {"order_id": oid, "created_via": "checkout",
                                                  "order_key": f"wc_order_{oid}"})  # fmt: skip
        shop.add("wp_wc_order_addresses", {
            "order_id": oid, "address_type": "billing", "first_name": first, "last_name": last,
            "email": email, "phone": f"(212) 555-{1000 + n}", "address_1": f"{n} Broadway",
            "city": "New York", "state": "NY", "postcode": f"{10000 + n}", "country": "US"})  # fmt: skip
        if n % 9:
            shop.add("wp_wc_order_addresses", {
                "order_id": oid, "address_type": "shipping", "first_name": first,
                "last_name": last, "address_1": f"{n} Elm St", "city": "Boston",
                "state": "MA", "postcode": f"0{2100 + n}", "country": "US"})  # fmt: skip
        if status == "wc-checkout-draft":
            facts["drafts"].append(str(oid))
            continue
        (facts["guest"] if guest else facts["registered"]).append(str(oid))
        bucket = {"wc-cancelled": "cancelled", "wc-failed": "cancelled", "trash": "trash",
                  "wc-refunded": "refunded", "wc-delivered": "delivered"}.get(status, "open")  # fmt: skip
        facts[bucket].append(str(oid))
        lines = []
        for k in range(rng.randint(1, 3)):
            item_id += 1
            p = (n + k) % len(PRODUCTS)
            variation = 200 + p if (n + k) % 5 == 0 else 0
            shop.add("wp_woocommerce_order_items", {
                "order_item_id": item_id, "order_id": oid, "order_item_type": "line_item",
                "order_item_name": PRODUCTS[p][1] + (" - L" if variation else "")})  # fmt: skip
            for key, value in (("_product_id", str(100 + p)), ("_variation_id", str(variation)),
                               ("_qty", str(rng.randint(1, 4))), ("_line_total", "9.50")):  # fmt: skip
                shop.add("wp_woocommerce_order_itemmeta", {"order_item_id": item_id,
                                                           "meta_key": key, "meta_value": value})  # fmt: skip
            lines.append(item_id)
        item_id += 1
        shop.add("wp_woocommerce_order_items", {"order_item_id": item_id, "order_id": oid,
                                                "order_item_type": "shipping",
                                                "order_item_name": "Flat rate"})  # fmt: skip
        if status == "wc-refunded":  # a refund record: a row of its own type, not an order
            shop.add("wp_wc_orders", {"id": 900000 + oid, "status": "wc-completed",
                                      "type": "shop_order_refund", "parent_order_id": oid,
                                      "customer_id": 0, "date_created_gmt": updated,
                                      "date_updated_gmt": updated})  # fmt: skip
        if status not in ("wc-completed", "wc-delivered", "wc-processing"):
            continue
        shipped = created + timedelta(hours=6)
        style = n % 6
        if status == "wc-processing" and style != 3:
            facts["unshipped"].append(str(oid))
            continue
        if style == 3 and len(lines) >= 2:  # one tracking number per line (item meta)
            facts["item_meta"].append(str(oid))
            for line in lines:
                provider = rng.choice(["ups", "fedex"])
                for key, value in (("_tracking_number", tracking_number(rng, provider)),
                                   ("_tracking_provider", provider)):  # fmt: skip
                    shop.add("wp_woocommerce_order_itemmeta", {"order_item_id": line,
                                                               "meta_key": key, "meta_value": value})  # fmt: skip
            continue
        count = 2 if style == 4 else 1
        items = [_track_item(rng, rng.choice(WC_PROVIDERS), shipped) for _ in range(count)]
        if count == 1 and items[0]["tracking_provider"] == "ups" and len(facts["shared_track"]) < 2:
            shared = shared or items[0]["tracking_number"]
            items[0]["tracking_number"] = shared
            facts["shared_track"].append(str(oid))
        value = serialize(items)
        if not facts["corrupt"] and count == 1 and str(oid) not in facts["shared_track"]:
            value = value[: len(value) // 2]  # truncated by a plugin bug: rejected, not lost
            facts["corrupt"].append(str(oid))
        else:
            facts["extension_one" if count == 1 else "extension_two"].append(str(oid))
        shop.add("wp_wc_orders_meta", {"order_id": oid, "meta_key": "_wc_shipment_tracking_items",
                                       "meta_value": value})  # fmt: skip
    facts["shared_number"] = shared
    facts["next_ids"] = {"order": next_id, "item": item_id + 1}
    shop.facts = facts
    return shop
