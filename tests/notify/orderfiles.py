"""A tiny hand-written order world for stage tests (no simulator needed)."""

from __future__ import annotations

import csv
from pathlib import Path

CUSTOMERS = [
    ["customer_id", "first_name", "last_name", "email", "phone", "locale", "timezone",
     "email_opt_in", "sms_opt_in"],
    ["C1", "Ana", "Lima", "ana@example.com", "+13125550101", "en-US", "America/Chicago",
     "true", "true"],
    ["C2", "Bo", "Berg", "bo@example.org", "", "en-US", "America/New_York", "true", "false"],
    ["C3", "Cy", "Chen", "", "", "en-US", "America/Los_Angeles", "false", "false"],
]  # fmt: skip
ORDERS = [
    ["order_id", "customer_id", "placed_at", "promised_by", "status", "channel"],
    ["O1", "C1", "2026-11-16T10:00:00-06:00", "2026-11-20", "open", "web"],
    ["O2", "C2", "2026-11-16T11:00:00-05:00", "2026-11-21", "open", "app"],
    ["O3", "C2", "2026-11-16T12:00:00-05:00", "2026-11-20", "cancelled", "web"],
    ["O4", "C3", "2026-11-16T12:00:00-08:00", "2026-11-20", "open", "store"],
]
LINES = [
    ["order_id", "line_id", "sku", "title", "quantity", "shipment_id"],
    ["O1", "L1", "SKU-1", "Wool socks", "2", "S1"],
    ["O1", "L2", "SKU-2", "Rain jacket", "1", "S2"],
    ["O2", "L1", "SKU-3", "Tea kettle", "1", "S3"],
    ["O3", "L1", "SKU-4", "Mug", "1", "S4"],
    ["O4", "L1", "SKU-5", "Lamp", "1", "S5"],
]
SHIPMENTS = [
    ["shipment_id", "order_id", "carrier", "tracking_number", "service", "shipped_at",
     "origin_postal_code", "destination_postal_code", "destination_country"],
    ["S1", "O1", "fedex", "111111111111", "FedEx Ground", "2026-11-16T15:00:00-06:00",
     "38118", "60601", "US"],
    ["S2", "O1", "fedex", "222222222222", "FedEx Ground", "2026-11-16T15:00:00-06:00",
     "38118", "60601", "US"],
    ["S3", "O2", "fedex", "333333333333", "FedEx Ground", "2026-11-16T15:00:00-06:00",
     "38118", "10001", "US"],
    ["S4", "O3", "fedex", "333333333333", "FedEx Ground", "2026-11-16T15:00:00-06:00",
     "38118", "10001", "US"],
    ["S5", "O4", "fedex", "555555555555", "FedEx Ground", "2026-11-16T15:00:00-06:00",
     "38118", "90001", "US"],
]  # fmt: skip


def write_order_files(folder: Path, extra: dict[str, list[list[str]]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables = {"customers": CUSTOMERS, "orders": ORDERS, "order_lines": LINES,
              "shipments": SHIPMENTS}  # fmt: skip
    for name, rows in tables.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerows(rows + (extra or {}).get(name, []))
    return folder
