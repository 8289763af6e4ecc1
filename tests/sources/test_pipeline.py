"""The order-source step in a run (library calls the DAG makes) and ``oasis extract``.

The shop is read with a SELECT-only MariaDB user with a password: the recommended set-up,
and a secret that must never show in logs, run summaries or the store.
"""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from notify import pipeline
from notify.cli import main
from notify.config import shop_database_url
from notify.store import open_store, schema
from tests.sources.conftest import shop_admin
from tests.sources.shops import create_schema, magento2, populate, utc_now

PASSWORD = "Tr0ub4dor-and-3"  # a throw-away test user's password


@pytest.fixture
def reader_url(mariadb_url, mariadb_admin):
    """A populated Magento shop and the URL of a user who may only SELECT from it."""
    admin = shop_admin(mariadb_url)
    create_schema(admin, "magento2")
    populate(admin, magento2(utc_now(admin)))
    admin.dispose()
    url = make_url(mariadb_url)
    user = f"oasis_ro_{uuid.uuid4().hex[:8]}"
    with mariadb_admin.connect() as conn:
        for host in ("%", "localhost"):
            conn.execute(text(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PASSWORD}'"))
            conn.execute(text(f"GRANT SELECT ON `{url.database}`.* TO '{user}'@'{host}'"))
    yield url.set(username=user, password=PASSWORD).render_as_string(hide_password=False)
    with mariadb_admin.connect() as conn:
        for host in ("%", "localhost"):
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'{host}'"))


@pytest.fixture
def configured(reader_url, tmp_path, monkeypatch):
    store_url = f"sqlite:///{tmp_path / 'oasis.db'}"
    monkeypatch.setenv("OASIS_DATABASE_URL", store_url)
    monkeypatch.setenv("OASIS_ORDER_SOURCE", "sql")
    monkeypatch.setenv("OASIS_ORDER_MAPPING", "magento2")
    monkeypatch.setenv("OASIS_SHOP_DB_URL", reader_url)
    monkeypatch.setenv("OASIS_ORDER_SOURCE_OPTIONS", '{"promise_days": 6}')
    return open_store(store_url)


def _orders(store):
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(schema.orders)).scalar_one()


def test_ingest_extracts_from_the_configured_shop_when_the_run_has_no_order_folder(
    configured, caplog
):
    caplog.set_level(logging.DEBUG)
    run_id = pipeline.begin("manual__1", {"as_of": "2026-11-20T12:00:00+00:00"})
    summary = pipeline.ingest_step(run_id)
    assert summary["orders"]["mode"] == "full_refresh"
    assert summary["orders"]["tables"]["orders"]["new"] == 300
    assert _orders(configured) == 300
    run_id = pipeline.begin("manual__2", {"as_of": "2026-11-20T13:00:00+00:00"})
    again = pipeline.ingest_step(run_id)
    assert again["orders"]["mode"] == "incremental" and again["orders"]["changed"] == 0

    with configured.connect() as conn:
        stored = [json.dumps([*r], default=str) for t in (schema.runs, schema.source_state,
                  schema.source_extractions) for r in conn.execute(select(t))]  # fmt: skip
    for text_ in [*stored, caplog.text]:
        assert PASSWORD not in text_
    assert "Łukasz" not in caplog.text and "@example.com" not in caplog.text


def test_an_orders_step_runs_before_ingest_and_ingest_does_not_repeat_it(configured):
    run_id = pipeline.begin("manual__3", {"as_of": "2026-11-20T12:00:00+00:00"})
    assert pipeline.run_step("orders", run_id) == run_id
    summary = pipeline.ingest_step(run_id)
    assert "orders" not in summary
    with configured.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(schema.source_extractions)).scalar() == 1
        )
        run = conn.execute(select(schema.runs.c.summary)).scalar_one()
    assert json.loads(run)["orders"]["tables"]["orders"]["new"] == 300


def test_a_run_can_ask_for_a_full_refresh(configured):
    pipeline.ingest_step(pipeline.begin("manual__4", {}))
    run_id = pipeline.begin("manual__5", {"orders_full_refresh": True})
    summary = pipeline.ingest_step(run_id)
    assert (summary["orders"]["mode"], summary["orders"]["reason"]) == ("full_refresh", "asked for")
    assert summary["orders"]["changed"] == 0


def test_without_a_source_or_folder_nothing_is_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("OASIS_DATABASE_URL", f"sqlite:///{tmp_path / 'oasis.db'}")
    monkeypatch.delenv("OASIS_ORDER_SOURCE", raising=False)
    run_id = pipeline.begin("manual__6", {})
    assert "orders" not in pipeline.ingest_step(run_id)
    assert pipeline.orders_step(run_id)["kind"] is None


def _out(capsys):
    return " ".join(capsys.readouterr().out.split())


def test_oasis_extract_and_its_status(configured, capsys, monkeypatch):
    assert main(["extract"]) == 0
    out = _out(capsys)
    assert "magento2 (magento2): full_refresh" in out and "(first extraction)" in out
    assert main(["extract", "--full-refresh"]) == 0
    assert "asked for" in _out(capsys)
    assert main(["extract", "--status"]) == 0
    status = _out(capsys)
    assert "magento2: mapping magento2; watermark" in status
    assert "last extraction: success full_refresh" in status
    assert PASSWORD not in out + status


def test_oasis_extract_names_a_missing_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OASIS_DATABASE_URL", f"sqlite:///{tmp_path / 'oasis.db'}")
    monkeypatch.delenv("OASIS_SHOP_DB_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_OASIS_SHOP_DB", raising=False)
    assert main(["extract", "--mapping", "magento2"]) == 2
    assert "oasis_shop_db" in _out(capsys)


@pytest.mark.parametrize(
    ("conn_uri", "url"),
    [
        ("mysql://reader:p%40ss@shop-db:3306/magento", "mysql+pymysql://reader:p%40ss@shop-db:3306/magento"),
        ("postgres://reader:pw@pg.internal/shop", "postgresql+psycopg2://reader:pw@pg.internal/shop"),
        ('{"conn_type": "mysql", "host": "db", "login": "ro", "schema": "wp", '
         '"extra": {"drivername": "mysql+mysqldb"}}', "mysql+mysqldb://ro@db/wp"),
    ],
)  # fmt: skip
def test_the_shop_url_comes_from_the_airflow_connection(monkeypatch, conn_uri, url):
    monkeypatch.delenv("OASIS_SHOP_DB_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_OASIS_SHOP_DB", conn_uri)
    assert shop_database_url() == url
    monkeypatch.setenv("OASIS_SHOP_DB_URL", "sqlite:///shop.db")
    assert shop_database_url() == "sqlite:///shop.db"
