"""Order files: the optional need-by date and order value, and lines kept to their own order."""

from __future__ import annotations

from sqlalchemy import select

from notify.orders import load_order_files
from notify.store import schema
from tests.notify.targetworld import World


def test_optional_need_by_and_value_are_read_and_checked(engine, tmp_path):
    w = World().customer("C1")
    w.order("O1", "C1", need_by="2026-11-22", order_value="1299.50")
    w.order("O2", "C1")  # both optional: empty
    w.order("O3", "C1", need_by="next week", order_value="-4")
    result = load_order_files(engine, w.write(tmp_path / "o"))
    assert result.rejected == {"orders": 1}
    with engine.connect() as conn:
        rows = {r.order_id: r for r in conn.execute(select(schema.orders))}
        reason = conn.execute(select(schema.rejected_rows.c.reason)).scalar_one()
    assert rows["O1"].need_by == "2026-11-22" and rows["O1"].order_value == 1299.5
    assert rows["O2"].need_by is None and rows["O2"].order_value is None
    assert "need_by is not a date (YYYY-MM-DD)" in reason
    assert "order_value is not a non-negative number" in reason


def test_files_without_the_optional_columns_still_load(engine, tmp_path):
    from tests.notify.orderfiles import write_order_files

    result = load_order_files(engine, write_order_files(tmp_path / "o"))
    assert result.rejected == {} and result.loaded["orders"] == 4


def test_a_line_in_another_orders_parcel_is_rejected(engine, tmp_path):
    w = World().customer("C1").customer("C2").order("O1", "C1").order("O2", "C2")
    w.parcel("S1", "O1", "111", "Socks").parcel("S2", "O2", "222", "Mug")
    w.lines.append({"order_id": "O2", "line_id": "L9", "sku": "X", "title": "Gift",
                    "quantity": "1", "shipment_id": "S1"})  # fmt: skip
    result = load_order_files(engine, w.write(tmp_path / "o"))
    assert result.rejected == {"order_lines": 1}
    with engine.connect() as conn:
        reason = conn.execute(select(schema.rejected_rows.c.reason)).scalar_one()
        titles = (
            conn.execute(
                select(schema.order_lines.c.title).where(schema.order_lines.c.shipment_id == "S1")
            )
            .scalars()
            .all()
        )
    assert reason.startswith("shipment_id names a parcel of another order")
    assert titles == ["Socks"]


def _stored(engine) -> dict[str, list[tuple]]:
    tables = [schema.customers, schema.orders, schema.order_lines, schema.shipments]
    with engine.connect() as conn:
        out = {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in tables}
        out["rejected"] = sorted(
            (r.source, r.row_ref, r.reason, r.raw)
            for r in conn.execute(select(schema.rejected_rows))
        )
    return out


def test_chunked_reading_checks_rows_against_every_chunk_of_the_files_before(
    engine, tmp_path, monkeypatch
):
    """Read two rows at a time, the same rows load and the same rows are rejected as when
    each file is one chunk: references reach across chunks, duplicates keep the last row."""
    import notify.orders
    from notify.store import migrate

    w = World()
    for c in ("C1", "C2", "C3", "C4", "C5"):
        w.customer(c)
    w.order("O1", "C5").order("O2", "C1").order("O3", "C9").order("O4", "C4")
    w.order("O5", "C2", need_by="soon")
    w.parcel("S1", "O4", "111", "Socks").parcel("S2", "O1", "222", "Mug")
    w.parcel("S3", "O3", "333", "Lamp")  # its order was rejected: an orphan
    w.lines.append(
        {
            "order_id": "O1",
            "line_id": "L9",
            "sku": "X",
            "title": "Gift",
            "quantity": "1",
            "shipment_id": "S1",
        }
    )  # another order's parcel
    w.lines.append(
        {
            "order_id": "O4",
            "line_id": "L1",
            "sku": "Y",
            "title": "Socks again",
            "quantity": "3",
            "shipment_id": "S1",
        }
    )  # a repeated key: the last wins
    folder = w.write(tmp_path / "o")
    whole = load_order_files(engine, folder, "r1")
    expected = _stored(engine)
    monkeypatch.setattr(notify.orders, "CHUNK_ROWS", 2)
    with engine.begin() as conn:  # empty the store, then load again in chunks of two rows
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(table.delete())
    migrate(engine)
    chunked = load_order_files(engine, folder, "r1")
    assert chunked == whole
    assert whole.rejected == {"orders": 2, "shipments": 1, "order_lines": 2}  # L3: O3 is gone
    assert _stored(engine) == expected
    with engine.connect() as conn:
        title = conn.execute(select(schema.order_lines.c.title).where(
            schema.order_lines.c.order_id == "O4", schema.order_lines.c.line_id == "L1")).scalar_one()  # fmt: skip
    assert title == "Socks again"
