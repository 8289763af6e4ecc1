"""The extraction benchmark's shop is a valid Magento shop: every row it generates extracts,
nothing is rejected, the second extraction writes nothing and the changes arrive."""

from __future__ import annotations

from bench import extract
from tests.sources.conftest import MARIADB_ADMIN_URL


def test_benchmarked_shop_extracts_cleanly(mariadb_admin, tmp_path):
    store = f"sqlite:///{tmp_path / 'o.db'}"
    steps = {s.name: s for s in extract.run(400, store, 100, False, MARIADB_ADMIN_URL)}
    generated = steps["generate shop rows (TSV)"].detail
    first = steps["first extraction (full)"].detail["tables"]
    assert first["orders"]["new"] == generated["sales_order"] == 400
    assert first["shipments"]["new"] == generated["sales_shipment_track"]
    assert first["customers"]["new"] == generated["customer_entity"] + 120  # 30% guests
    assert all(t["rejected"] == 0 for t in first.values())
    second = steps["second extraction (incremental, nothing new)"].detail
    assert second["mode"] == "incremental" and second["changed"] == 0
    third = steps["incremental after 1,000 orders changed"].detail["tables"]
    assert third["orders"]["updated"] == 10  # of the 20 "new" orders: 10 cancelled
    assert third["shipments"]["new"] == 10  # and 10 shipped
