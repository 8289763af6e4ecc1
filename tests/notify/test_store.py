"""The store: migrations, UTC times, upserts — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select

from notify.store import migrate, schema
from notify.store.ops import insert_new, upsert


def test_migrations_create_every_table(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(schema.metadata.tables) <= tables
    migrate(engine)  # a second time changes nothing
    assert set(inspect(engine).get_table_names()) == tables


def test_migrations_match_the_schema_module(engine):
    """The Alembic migrations and ``notify.store.schema`` describe the same database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, schema.metadata)
    assert diff == []


def _customer(cid: str, name: str) -> dict:
    return {
        "customer_id": cid,
        "first_name": name,
        "last_name": None,
        "email": None,
        "phone": None,
        "locale": "en-US",
        "timezone": "America/Chicago",
        "email_opt_in": True,
        "sms_opt_in": False,
    }


def test_upsert_overwrites_and_insert_new_ignores(engine):
    with engine.begin() as conn:
        upsert(conn, schema.customers, [_customer("C1", "Ana")], ["customer_id"])
        upsert(conn, schema.customers, [_customer("C1", "Anaïs")], ["customer_id"])
        assert insert_new(conn, schema.customers, [_customer("C1", "X")], ["customer_id"]) == 0
        assert insert_new(conn, schema.customers, [_customer("C2", "Bo")], ["customer_id"]) == 1
        names = dict(conn.execute(select(schema.customers.c.customer_id,
                                         schema.customers.c.first_name)).all())  # fmt: skip
    assert names == {"C1": "Anaïs", "C2": "Bo"}


def test_times_are_stored_in_utc_and_read_back_aware(engine):
    chicago = timezone(timedelta(hours=-6))
    at = datetime(2026, 11, 20, 9, 30, tzinfo=chicago)
    with engine.begin() as conn:
        conn.execute(
            schema.runs.insert().values(
                run_id="r1", as_of=at, started_at=at, mode="send", status="running",
                params="{}", summary="{}",
            )
        )  # fmt: skip
        stored = conn.execute(select(schema.runs.c.as_of)).scalar_one()
    assert stored == at
    assert stored.utcoffset() == timedelta(0)
    assert stored.astimezone(UTC).hour == 15


def test_naive_times_are_refused(engine):
    with pytest.raises(Exception, match="naive"), engine.begin() as conn:
        conn.execute(
            schema.runs.insert().values(
                run_id="r2", as_of=datetime(2026, 11, 20, 9, 30), started_at=datetime.now(UTC),
                mode="send", status="running", params="{}", summary="{}",
            )
        )  # fmt: skip
