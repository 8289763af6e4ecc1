"""Settings that come from Airflow Connections: the store as ``oasis_store``."""

from __future__ import annotations

import json

from notify.config import load_settings

STORE = {"conn_type": "postgres", "host": "db.internal", "port": 5433, "login": "oasis",
         "password": "s3cret", "schema": "oasis_store"}  # fmt: skip


def test_the_store_can_be_an_airflow_connection(monkeypatch):
    monkeypatch.delenv("OASIS_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_OASIS_STORE", json.dumps(STORE))
    url = load_settings().database_url
    assert url == "postgresql+psycopg2://oasis:s3cret@db.internal:5433/oasis_store"


def test_oasis_database_url_wins_over_the_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OASIS_STORE", json.dumps(STORE))
    monkeypatch.setenv("OASIS_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert load_settings().database_url == "sqlite:////tmp/elsewhere.db"


def test_without_either_the_store_is_sqlite_under_oasis_home(monkeypatch, tmp_path):
    monkeypatch.delenv("OASIS_DATABASE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_OASIS_STORE", raising=False)
    monkeypatch.setenv("OASIS_HOME", str(tmp_path))
    assert load_settings().database_url == f"sqlite:///{tmp_path / 'oasis.db'}"
