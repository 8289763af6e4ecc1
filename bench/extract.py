"""Order extraction benchmark: a Magento 2.4 shop of N orders in MariaDB, read by the magento2
mapping into the store, first whole, then incrementally.

    python -m bench.extract [--orders 1000000] [--store-url URL] [--chunk-rows 5000] [--keep]

Builds a throw-away database on the local MariaDB (127.0.0.1:3306, root; ``make services``
starts it) with the Magento schema subset of ``tests/fixtures/shops/magento2.mysql.sql``, fills
it with LOAD DATA LOCAL INFILE (per order: two addresses, 1-3 items; 30% guest checkouts; most
orders shipped, some in two parcels), then times:

1. the first extraction (a full refresh: every row read, validated and written);
2. the second extraction right after (incremental: only the overlap window is re-read);
3. an incremental extraction after 1,000 orders changed in the shop (cancelled or shipped).

Prints a table (rows/s over all rows the queries returned, peak resident memory) and writes
``bench/results/extract-<orders>.json``. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import Step, measured

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
DDL = ROOT / "tests" / "fixtures" / "shops" / "magento2.mysql.sql"
ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
console = Console()

FIRST = ["Ana", "Zoë", "José", "Łukasz", "Ólafur", "Nguyễn", "Søren", "Chloé", "Björn",
         "Grace", "Hiroshi", "王芳", "Fatma", "Mikołaj", "Renée", "Paulo"]  # fmt: skip
LAST = ["Lima", "Müller", "García", "Kowalski", "Dubois", "Yılmaz", "Smith", "Chen",
        "Nakamura", "Ferreira", "Andersson", "Østergaard"]  # fmt: skip
CARRIERS = [("ups", "United Parcel Service", "ups_GND"), ("fedex", "Federal Express",
            "fedex_FEDEX_GROUND"), ("usps", "United States Postal Service", "usps_1"),
            ("dhl", "DHL", "dhl_P"), ("custom", "Canada Post", "flatrate_flatrate")]  # fmt: skip


def _ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _tsv(values: tuple[Any, ...]) -> str:
    return "\t".join("\\N" if v is None else str(v) for v in values) + "\n"


class Writer:
    """One TSV file per table, loaded with LOAD DATA LOCAL INFILE."""

    def __init__(self, folder: Path, columns: dict[str, tuple[str, ...]]) -> None:
        self.columns = columns
        self.paths = {t: folder / f"{t}.tsv" for t in columns}
        self.files = {t: p.open("w", encoding="utf-8") for t, p in self.paths.items()}
        self.rows = dict.fromkeys(columns, 0)

    def add(self, table: str, *values: Any) -> None:
        self.files[table].write(_tsv(values))
        self.rows[table] += 1

    def close(self) -> None:
        for f in self.files.values():
            f.close()


COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_entity": ("entity_id", "website_id", "email", "store_id", "created_at",
                        "updated_at", "firstname", "lastname", "default_billing",
                        "default_shipping"),
    "customer_address_entity": ("entity_id", "parent_id", "created_at", "updated_at", "city",
                                "country_id", "firstname", "lastname", "postcode", "street",
                                "telephone"),
    "sales_order": ("entity_id", "state", "status", "store_id", "customer_id",
                    "customer_is_guest", "increment_id", "customer_email",
                    "customer_firstname", "customer_lastname", "shipping_method",
                    "created_at", "updated_at"),
    "sales_order_address": ("entity_id", "parent_id", "address_type", "firstname", "lastname",
                            "email", "telephone", "street", "city", "postcode", "country_id"),
    "sales_order_item": ("item_id", "order_id", "store_id", "created_at", "updated_at", "sku",
                         "name", "qty_ordered", "price"),
    "sales_shipment": ("entity_id", "store_id", "order_id", "increment_id", "created_at",
                       "updated_at"),
    "sales_shipment_item": ("entity_id", "parent_id", "order_item_id", "qty"),
    "sales_shipment_track": ("entity_id", "parent_id", "order_id", "track_number", "title",
                             "carrier_code", "created_at", "updated_at"),
}  # fmt: skip


def generate(folder: Path, orders: int, now: datetime, seed: int = 7) -> dict[str, int]:
    """TSV files for a Magento shop of ``orders`` orders; returns rows per table."""
    rng = random.Random(seed)
    w = Writer(folder, COLUMNS)
    registered = max(1, int(orders * 0.4))
    old = now - timedelta(days=30)
    for cid in range(1, registered + 1):
        first, last = FIRST[cid % len(FIRST)], LAST[cid % len(LAST)]
        store = 2 if cid % 5 == 0 else 1
        phone = f"+1 312 555 {cid % 10000:04d}"
        w.add("customer_address_entity", cid, cid, _ts(old), _ts(old), "Chicago", "US", first,
              last, 60000 + cid % 1000, f"{cid} Main St", phone)  # fmt: skip
        w.add("customer_entity", cid, store, f"c{cid}@example.com", store, _ts(old), _ts(old),
              first, last, cid, cid)  # fmt: skip
    item = ship = track = ssi = address = 0
    recent_from = orders - 1000
    for n in range(1, orders + 1):
        guest = n % 10 < 3
        customer = None if guest else (n % registered) + 1
        store = 2 if n % 5 == 0 else 1
        placed = old + timedelta(seconds=n * 2)
        updated = now - timedelta(minutes=1) if n > recent_from else placed + timedelta(days=1)
        if updated > now - timedelta(days=2) and n <= recent_from:
            updated = now - timedelta(days=2)
        kind = n % 20
        state, status = (
            ("new", "pending") if kind < 2 else ("processing", "processing") if kind < 8
            else ("canceled", "canceled") if kind == 17 else ("closed", "closed") if kind == 18
            else ("complete", "delivered") if kind == 19 else ("complete", "complete")
        )  # fmt: skip
        first, last = FIRST[n % len(FIRST)], LAST[(n // 7) % len(LAST)]
        code, title, method = CARRIERS[n % len(CARRIERS)]
        increment = f"{n:09d}"
        w.add("sales_order", n, state, status, store, customer, 1 if guest else 0, increment,
              f"o{n}@example.net", first, last, method, _ts(placed), _ts(updated))  # fmt: skip
        for kind_ in ("billing", "shipping"):
            address += 1
            w.add("sales_order_address", address, n, kind_, first, last, f"o{n}@example.net",
                  f"+1 (312) 555-{n % 10000:04d}", f"{n} Lake Shore Dr", "Chicago",
                  f"{60000 + n % 1000}", "US")  # fmt: skip
        items = []
        for k in range(1 + n % 3):
            item += 1
            product = (n + k) % 500
            w.add("sales_order_item", item, n, store, _ts(placed), _ts(updated),
                  f"SKU-{product:03d}", f"Product {product}", 1 + k, "9.5000")  # fmt: skip
            items.append(item)
        shipped = state == "complete" or (state == "processing" and n % 2 == 0)
        if not shipped:
            continue
        groups = [items[:1], items[1:]] if len(items) >= 2 and n % 4 == 0 else [items]
        for g, group in enumerate(groups):
            ship += 1
            at = placed + timedelta(hours=6 + g)
            w.add("sales_shipment", ship, store, n, f"{ship:09d}", _ts(at), _ts(updated))
            for it in group:
                ssi += 1
                w.add("sales_shipment_item", ssi, ship, it, 1)
            track += 1
            number = (
                f"1Z{rng.randrange(10**15, 10**16)}"
                if code == "ups"
                else str(rng.randrange(10**11, 10**12))
            )
            w.add("sales_shipment_track", track, ship, n, number, title, code, _ts(at), _ts(at))
    w.close()
    return dict(w.rows)


def load(url: str, folder: Path, rows: dict[str, int]) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url, connect_args={"local_infile": True})
    with engine.begin() as conn:
        conn.exec_driver_sql("SET time_zone = '+00:00'")
        conn.exec_driver_sql("SET unique_checks = 0")
        conn.exec_driver_sql(
            "INSERT INTO store VALUES (1, 'default', 1, 1, 'Default', 0, 1), "
            "(2, 'de', 2, 2, 'Deutsch', 1, 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO core_config_data (scope, scope_id, path, value) VALUES "
            "('default', 0, 'general/locale/code', 'en_US'), "
            "('default', 0, 'general/locale/timezone', 'America/Chicago'), "
            "('default', 0, 'shipping/origin/postcode', '60601'), "
            "('stores', 2, 'general/locale/code', 'de_DE'), "
            "('websites', 2, 'general/locale/timezone', 'Europe/Berlin')"
        )
        for table, columns in COLUMNS.items():
            path = str(folder / f"{table}.tsv").replace("\\", "/")
            conn.exec_driver_sql(
                f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {table} CHARACTER SET utf8mb4 "
                f"FIELDS TERMINATED BY '\\t' ({', '.join(columns)})"
            )
    engine.dispose()


def change(url: str, orders: int, count: int = 1000) -> None:
    """``count`` orders change the way Magento changes them: half cancelled, half shipped."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET time_zone = '+00:00'")
        new_orders = range(1, orders + 1, 20)  # n % 20 == 1: state "new", not shipped
        step = max(1, len(new_orders) // count)
        picked = list(new_orders[::step])[:count]
        for i, n in enumerate(picked):
            if i % 2:
                conn.exec_driver_sql(
                    "UPDATE sales_order SET state = 'canceled', status = 'canceled', "
                    f"updated_at = CURRENT_TIMESTAMP WHERE entity_id = {n}"
                )
            else:
                ship = 10_000_000 + n
                conn.exec_driver_sql(
                    "INSERT INTO sales_shipment (entity_id, store_id, order_id, increment_id) "
                    f"VALUES ({ship}, 1, {n}, 'B{ship}')"
                )
                conn.exec_driver_sql(
                    "INSERT INTO sales_shipment_item (parent_id, order_item_id, qty) "
                    f"SELECT {ship}, item_id, 1 FROM sales_order_item WHERE order_id = {n}"
                )
                conn.exec_driver_sql(
                    "INSERT INTO sales_shipment_track (parent_id, order_id, track_number, "
                    f"title, carrier_code) VALUES ({ship}, {n}, '7{n:011d}', 'Federal Express', "
                    "'fedex')"
                )
                conn.exec_driver_sql(
                    "UPDATE sales_order SET state = 'complete', status = 'complete', "
                    f"updated_at = CURRENT_TIMESTAMP WHERE entity_id = {n}"
                )
    engine.dispose()


def _read(result: Any) -> int:
    return sum(c["read"] for c in result.to_dict()["tables"].values())


def run(
    orders: int, store_url: str | None, chunk_rows: int, keep: bool, admin_url: str = ADMIN_URL
) -> list[Step]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from notify.sources import SqlSource, load_mapping
    from notify.store import open_store

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"oasis_bench_{uuid.uuid4().hex[:8]}"
    shop_url = make_url(admin_url).set(database=name, query={"charset": "utf8mb4"})
    url = shop_url.render_as_string(hide_password=False)
    steps: list[Step] = []
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    work = Path(tempfile.mkdtemp(prefix="oasis-bench-extract-"))
    try:
        shop = create_engine(url)
        with shop.begin() as conn:
            body = "\n".join(x for x in DDL.read_text().splitlines() if not x.startswith("--"))
            for statement in body.split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement)
            now = conn.exec_driver_sql("SELECT UTC_TIMESTAMP()").scalar_one()
        shop.dispose()
        with measured("generate shop rows (TSV)") as step:
            rows = generate(work, orders, now.replace(tzinfo=None))
        step.rows, step.detail = sum(rows.values()), rows
        steps.append(step)
        with measured("LOAD DATA into MariaDB") as step:
            load(url, work, rows)
        step.rows = sum(rows.values())
        steps.append(step)

        store = open_store(store_url or f"sqlite:///{work / 'oasis.db'}")
        source = SqlSource("bench", url, load_mapping("magento2"), chunk_rows=chunk_rows)
        for label, before in (
            ("first extraction (full)", None),
            ("second extraction (incremental, nothing new)", None),
            ("incremental after 1,000 orders changed", lambda: change(url, orders)),
        ):
            if before:
                before()
            with measured(label) as step:
                result = source.extract(store)
            step.rows, step.detail = _read(result), result.to_dict()
            steps.append(step)
            time.sleep(0.5)
        store.dispose()
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
        else:
            console.print(f"kept shop database {name} and {work}")
        admin.dispose()
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.extract", description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--chunk-rows", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the shop database and files")
    parser.add_argument("--mariadb-url", default=ADMIN_URL, help=f"default: {ADMIN_URL}")
    args = parser.parse_args(argv)
    steps = run(args.orders, args.store_url, args.chunk_rows, args.keep, args.mariadb_url)
    table = Table(title=f"Order extraction, Magento 2.4 on MariaDB, {args.orders:,} orders")
    for column in ("step", "rows", "changed", "seconds", "rows/s", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for s in steps:
        changed = s.detail.get("changed") if isinstance(s.detail, dict) else None
        table.add_row(
            s.name,
            f"{s.rows:,}",
            "" if changed is None else f"{changed:,}",
            f"{s.seconds:.1f}",
            f"{s.rows_per_second:,.0f}",
            f"{s.peak_rss_mb:,.0f}",
        )
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"extract-{args.orders}.json"
    store = "sqlite" if not args.store_url else args.store_url.split(":", 1)[0]
    out.write_text(json.dumps({"orders": args.orders, "store": store,
                               "chunk_rows": args.chunk_rows, "at": datetime.now(UTC).isoformat(),
                               "steps": [s.to_dict() for s in steps]}, indent=2))  # fmt: skip
    console.print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
