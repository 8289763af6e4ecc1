"""Order files: valid rows upserted, bad rows kept with a reason that names the fix."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from notify.orders import OrderFileError, load_order_files
from notify.store import schema
from tests.notify.orderfiles import write_order_files


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_loads_all_four_files_and_is_idempotent(engine, tmp_path):
    folder = write_order_files(tmp_path / "orders")
    first = load_order_files(engine, folder)
    second = load_order_files(engine, folder)
    assert first.loaded == second.loaded == {
        "customers": 3, "orders": 4, "order_lines": 5, "shipments": 5
    }  # fmt: skip
    assert first.rejected == {}
    assert _count(engine, schema.orders) == 4


def test_promise_date_is_end_of_day_in_customer_zone(engine, tmp_path):
    load_order_files(engine, write_order_files(tmp_path / "orders"))
    with engine.connect() as conn:
        end = conn.execute(
            select(schema.orders.c.promised_by_utc).where(schema.orders.c.order_id == "O1")
        ).scalar_one()
    # 2026-11-20 23:59:59 in Chicago (UTC-6) is 2026-11-21 05:59:59 UTC
    assert (end.year, end.month, end.day, end.hour, end.minute) == (2026, 11, 21, 5, 59)


def test_bad_rows_are_rejected_with_reasons_and_kept(engine, tmp_path):
    extra = {
        "orders": [
            ["O9", "C1", "2026-11-16 10:00", "2026-11-20", "open", "web"],  # no offset
            ["O10", "C404", "2026-11-16T10:00:00Z", "soon", "lost", "web"],
        ],
        "customers": [["C9", "", "", "", "", "en-US", "Mars/Base", "maybe", "false"]],
    }
    result = load_order_files(engine, write_order_files(tmp_path / "orders", extra))
    assert result.rejected == {"orders": 2, "customers": 1}
    with engine.connect() as conn:
        rows = conn.execute(select(schema.rejected_rows)).all()
    reasons = {r.row_ref: r.reason for r in rows}
    assert "placed_at is not an ISO 8601 time with offset" in reasons["O9"]
    assert "promised_by is not a date" in reasons["O10"]
    assert "status is not one of" in reasons["O10"]
    assert "first_name is empty" in reasons["C9"]
    assert "timezone is not an IANA zone" in reasons["C9"]
    assert json.loads(next(r.raw for r in rows if r.row_ref == "O9"))["order_id"] == "O9"


def test_missing_file_names_the_file_and_the_fix(sqlite_engine, tmp_path):
    folder = write_order_files(tmp_path / "orders")
    (folder / "shipments.csv").unlink()
    with pytest.raises(OrderFileError, match=r"shipments\.csv not found.*tracking_number"):
        load_order_files(sqlite_engine, folder)
