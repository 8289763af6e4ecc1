"""A third shop schema, mapped by writing SQL files only (no Python, no mapping.toml).

The shop is a home-grown one in MariaDB; the mapping is a temporary folder holding the four
queries the README tells users to write.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from notify.sources import SourceError, SqlSource, load_mapping
from notify.store import schema
from tests.sources.conftest import shop_admin

SHOP_DDL = """
CREATE TABLE shop_customers (id INT PRIMARY KEY, name_first VARCHAR(100), name_last VARCHAR(100),
  mail VARCHAR(200), mobile VARCHAR(50), lang VARCHAR(10), tz VARCHAR(64), sms_ok TINYINT(1),
  modified DATETIME NOT NULL);
CREATE TABLE shop_orders (id INT PRIMARY KEY, customer INT NOT NULL, created DATETIME NOT NULL,
  deliver_by DATE, state VARCHAR(20) NOT NULL, modified DATETIME NOT NULL);
CREATE TABLE shop_order_items (order_id INT NOT NULL, pos INT NOT NULL, article VARCHAR(50),
  label VARCHAR(200) NOT NULL, qty INT NOT NULL, parcel_id INT NULL, PRIMARY KEY (order_id, pos));
CREATE TABLE shop_parcels (id INT PRIMARY KEY, order_id INT NOT NULL, courier VARCHAR(50),
  code VARCHAR(50), sent DATETIME, zip VARCHAR(10), country CHAR(2), modified DATETIME NOT NULL)
"""
SHOP_ROWS = """
INSERT INTO shop_customers VALUES
  (1, 'Søren', 'Østergaard', 'soren@example.dk', '+45 20 12 34 56', 'da_DK', 'Europe/Copenhagen', 1, '2026-11-01 10:00:00'),
  (2, 'Noémie', 'Dubois', 'noemie@example.fr', NULL, 'fr_FR', 'Europe/Paris', 0, '2026-11-01 10:00:00');
INSERT INTO shop_orders VALUES
  (501, 1, '2026-11-02 09:00:00', '2026-11-06', 'paid', '2026-11-02 12:00:00'),
  (502, 2, '2026-11-02 10:00:00', NULL, 'storniert', '2026-11-02 12:00:00');
INSERT INTO shop_order_items VALUES
  (501, 1, 'LEGO-1', 'Brick set', 1, 9001), (501, 2, 'LEGO-2', 'Minifigure', 3, NULL),
  (502, 1, 'BOOK-1', 'Kogebog', 1, NULL);
INSERT INTO shop_parcels VALUES
  (9001, 501, 'DHL Paket', '00340434161094042557', '2026-11-03 08:00:00', '8000', 'DK', '2026-11-03 08:00:00')
"""

MAPPING = {
    "customers.sql": """
        -- Our own shop: every customer changed since :since.
        SELECT CONCAT('', id) AS customer_id, name_first AS first_name, name_last AS last_name,
               mail AS email, mobile AS phone, lang AS locale, tz AS timezone,
               NULL AS email_opt_in, sms_ok AS sms_opt_in
        FROM shop_customers WHERE modified >= :since
    """,
    "orders.sql": """
        SELECT CONCAT('', id) AS order_id, CONCAT('', customer) AS customer_id,
               created AS placed_at, deliver_by AS promised_by,
               CASE state WHEN 'storniert' THEN 'cancelled' ELSE 'open' END AS status,
               NULL AS channel
        FROM shop_orders WHERE modified >= :since
    """,
    "order_lines.sql": """
        SELECT CONCAT('', i.order_id) AS order_id, CONCAT('', i.pos) AS line_id,
               i.article AS sku, i.label AS title, i.qty AS quantity,
               CONCAT('P', i.parcel_id) AS shipment_id
        FROM shop_order_items i JOIN shop_orders o ON o.id = i.order_id
        WHERE o.modified >= :since
    """,
    "shipments.sql": """
        SELECT CONCAT('P', p.id) AS shipment_id, CONCAT('', p.order_id) AS order_id,
               p.courier AS carrier, p.code AS tracking_number, NULL AS service,
               p.sent AS shipped_at, NULL AS origin_postal_code,
               p.zip AS destination_postal_code, p.country AS destination_country
        FROM shop_parcels p WHERE p.modified >= :since
    """,
}


@pytest.fixture
def home_shop(mariadb_url, tmp_path):
    admin = shop_admin(mariadb_url)
    with admin.begin() as conn:
        for statement in (SHOP_DDL + ";" + SHOP_ROWS).split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    folder = tmp_path / "homeshop"
    folder.mkdir()
    for name, sql in MAPPING.items():
        (folder / name).write_text(sql, "utf-8")
    yield mariadb_url, admin, folder
    admin.dispose()


def test_a_third_shop_is_mapped_with_sql_files_only(home_shop, engine):
    url, admin, folder = home_shop
    src = SqlSource("homeshop", url, load_mapping(str(folder)))
    first = src.extract(engine)
    t = first.counts.tables
    assert [t[n].new for n in ("customers", "orders", "order_lines", "shipments")] == [2, 2, 3, 1]
    assert sum(c.rejected for c in t.values()) == 0
    with engine.connect() as conn:
        customers = {r.customer_id: r for r in conn.execute(select(schema.customers))}
        orders = {r.order_id: r for r in conn.execute(select(schema.orders))}
        lines = {(r.order_id, r.line_id): r for r in conn.execute(select(schema.order_lines))}
        parcel = conn.execute(select(schema.shipments)).one()
    assert (customers["1"].first_name, customers["1"].locale) == ("Søren", "da-DK")
    assert customers["1"].sms_opt_in is True and customers["2"].sms_opt_in is False
    assert customers["2"].email_opt_in is True  # NULL in the query: the built-in default
    assert orders["501"].promised_by == "2026-11-06"  # the shop's own promise date
    assert orders["502"].promised_by == "2026-11-09"  # none: order date + 7 days
    assert orders["502"].status == "cancelled"
    assert lines[("501", "1")].shipment_id == "P9001" and lines[("501", "2")].shipment_id is None
    assert (parcel.carrier, parcel.tracking_number) == ("dhl", "00340434161094042557")

    assert src.extract(engine).changed == 0
    with admin.begin() as conn:
        conn.execute(text(
            "INSERT INTO shop_parcels VALUES (9002, 501, 'PostNord', '00370712345678901234', "
            "UTC_TIMESTAMP(), '8000', 'DK', UTC_TIMESTAMP())"))  # fmt: skip
        conn.execute(
            text("UPDATE shop_order_items SET parcel_id = 9002 WHERE order_id = 501 AND pos = 2")
        )
        conn.execute(text("UPDATE shop_orders SET modified = UTC_TIMESTAMP() WHERE id = 501"))
    third = src.extract(engine)
    t = third.counts.tables
    assert (t["shipments"].new, t["order_lines"].updated, third.changed) == (1, 1, 2)
    with engine.connect() as conn:
        new = conn.execute(
            select(schema.shipments).where(schema.shipments.c.shipment_id == "P9002")
        ).one()
    assert new.carrier == "postnord"  # unknown to us: kept under its own name


def test_a_query_missing_a_contract_column_is_named(home_shop, sqlite_engine):
    url, _admin, folder = home_shop
    (folder / "shipments.sql").write_text(
        "SELECT CONCAT('P', id) AS shipment_id, CONCAT('', order_id) AS order_id, courier AS carrier "
        "FROM shop_parcels WHERE modified >= :since"
    )
    src = SqlSource("homeshop", url, load_mapping(str(folder)))
    with pytest.raises(
        SourceError, match=r"shipments.sql: the query returns no column tracking_number, service"
    ):
        src.extract(sqlite_engine)
    with sqlite_engine.connect() as conn:
        run = conn.execute(select(schema.source_extractions)).one()
        assert conn.execute(select(schema.source_state)).first() is None  # no watermark moved
    assert run.status == "failed" and "tracking_number" in run.error


def test_a_query_the_shop_refuses_is_named(home_shop, sqlite_engine):
    url, _admin, folder = home_shop
    (folder / "orders.sql").write_text("SELECT * FROM shop_orderz WHERE modified >= :since")
    src = SqlSource("homeshop", url, load_mapping(str(folder)))
    with pytest.raises(
        SourceError, match=r"orders.sql: the shop database refused the query .*shop_orderz"
    ):
        src.extract(sqlite_engine)


def test_a_sqlite_shop_is_read_only_too(tmp_path, sqlite_engine):
    """The SQL source also reads a SQLite shop file (no server needed), under query_only."""
    import sqlite3

    from notify.sources.sql import shop_engine

    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.executescript(SHOP_DDL + ";" + SHOP_ROWS)
    folder = tmp_path / "sqliteshop"
    folder.mkdir()
    for name, sql in MAPPING.items():
        # SQLite before 3.44 has no CONCAT(): the same queries with ||
        sql = sql.replace("CONCAT('', ", "('' || ").replace("CONCAT('P', ", "('P' || ")
        (folder / name).write_text(sql, "utf-8")
    src = SqlSource("sqliteshop", f"sqlite:///{path}", load_mapping(str(folder)))
    first = src.extract(sqlite_engine)
    assert [
        first.counts.tables[n].new for n in ("customers", "orders", "order_lines", "shipments")
    ] == [2, 2, 3, 1]
    assert src.extract(sqlite_engine).changed == 0
    engine = shop_engine(f"sqlite:///{path}")
    with engine.connect() as conn, pytest.raises(Exception, match="readonly"):
        conn.execute(text("DELETE FROM shop_orders"))
    engine.dispose()
