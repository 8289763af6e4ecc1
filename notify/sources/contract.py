"""Chunks of contract rows from a source into the store: validated, compared, upserted.

The validation and the row building are the order-file loader's (:mod:`notify.orders`), so a
shop row is held to exactly the rules a file row is. Two things differ for a source that is
read incrementally:

- references are checked against the store, not only the batch: an order whose customer did
  not change in this extraction still has its customer in the store;
- every row is compared with the stored one, and only new or changed rows are written, so
  re-reading the overlap window (or a full refresh) reports and writes only real changes.

A rejected row is stored in ``rejected_rows`` with its reason and raw values, once: the same
row rejected again for the same reason is counted, not stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Table, delete, select
from sqlalchemy.engine import Connection, Engine

from notify import orders as contract
from notify.sources.values import as_flag, bcp47, carrier_code
from notify.store import schema
from notify.store.ops import insert_new, upsert

KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "orders": ("order_id",),
    "order_lines": ("order_id", "line_id"),
    "shipments": ("shipment_id",),
}
TABLES: dict[str, Table] = {
    "customers": schema.customers,
    "orders": schema.orders,
    "order_lines": schema.order_lines,
    "shipments": schema.shipments,
}
# Reference checks: (column, table it must name, what to call it in the reason).
REFERENCES: dict[str, tuple[str, Table, str]] = {
    "orders": ("customer_id", schema.customers, "customer"),
    "order_lines": ("order_id", schema.orders, "order"),
    "shipments": ("order_id", schema.orders, "order"),
}


@dataclass
class TableCounts:
    read: int = 0  # rows the source returned
    new: int = 0  # written: not in the store before
    updated: int = 0  # written: in the store with other values
    unchanged: int = 0  # identical to the stored row: not written
    rejected: int = 0  # rejected and stored in rejected_rows
    rejected_again: int = 0  # rejected as before (same reason and values): not stored twice
    removed: int = 0  # no longer in the shop (shipments of a complete mapping): deleted, kept

    @property
    def changed(self) -> int:
        return self.new + self.updated

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Counts:
    tables: dict[str, TableCounts] = field(default_factory=lambda: {t: TableCounts() for t in KEYS})

    @property
    def changed(self) -> int:
        return sum(c.changed for c in self.tables.values())

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {t: c.to_dict() for t, c in self.tables.items()}


def _same(stored: Any, new: Any) -> bool:
    if isinstance(stored, datetime) and isinstance(new, datetime):
        return stored.astimezone(UTC) == new.astimezone(UTC)
    return bool(stored == new)


class ContractLoader:
    """Loads chunks of one source's rows (contract columns as text) into the store."""

    def __init__(
        self,
        engine: Engine,
        *,
        source: str,
        run_id: str | None,
        options: Mapping[str, Any],
        carriers: Mapping[str, str] | None = None,
        extraction_id: int | None = None,
    ) -> None:
        self.engine = engine
        self.source = source
        self.run_id = run_id
        self.options = dict(options)
        self.carriers = dict(carriers or {})
        self.counts = Counts()
        # complete_shipments: the mapping returns every shipment of each order it returns a
        # shipment of, so a stored one it no longer returns was removed in the shop.
        self.extraction_id = extraction_id
        self.track_removals = bool(self.options.get("complete_shipments")) and (
            extraction_id is not None
        )
        self.incomplete_orders: set[str] = set()  # a shipment row of theirs was unreadable

    # -- preparing ------------------------------------------------------------------------
    def _prepare(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        o = self.options
        if table == "customers":
            frame["locale"] = frame["locale"].map(bcp47)
            frame.loc[frame["locale"] == "", "locale"] = str(o["default_locale"])
            frame.loc[frame["timezone"] == "", "timezone"] = str(o["default_timezone"])
            for column in ("email_opt_in", "sms_opt_in"):
                frame[column] = frame[column].map(as_flag)
                frame.loc[frame[column] == "", column] = "true" if o[column] else "false"
        elif table == "orders":
            frame["status"] = frame["status"].str.lower()
            frame.loc[frame["channel"] == "", "channel"] = str(o["default_channel"])
            missing = frame["promised_by"] == ""
            if missing.any():
                placed = pd.to_datetime(
                    frame.loc[missing, "placed_at"], utc=True, format="ISO8601", errors="coerce"
                )
                promised = (placed + pd.Timedelta(days=int(o["promise_days"]))).dt.strftime(
                    "%Y-%m-%d"
                )
                frame.loc[missing, "promised_by"] = promised.fillna("")
        elif table == "shipments":
            frame["carrier"] = frame["carrier"].map(lambda v: carrier_code(v, self.carriers))
            frame["destination_country"] = frame["destination_country"].str.upper()
        keys = list(KEYS[table])
        return frame.drop_duplicates(subset=keys, keep="last")

    # -- store lookups --------------------------------------------------------------------
    def _existing(self, conn: Connection, table: str, frame: pd.DataFrame) -> dict[tuple, Any]:
        t = TABLES[table]
        key = KEYS[table]
        first = t.c[key[0]]
        wanted = set(map(tuple, frame[list(key)].itertuples(index=False, name=None)))
        found: dict[tuple, Any] = {}
        for row in conn.execute(select(t).where(first.in_(sorted({k[0] for k in wanted})))):
            k = tuple(getattr(row, c) for c in key)
            if k in wanted:
                found[k] = row._mapping
        return found

    def _referenced(self, conn: Connection, table: str, ids: Iterable[str]) -> dict[str, Any]:
        column, target, _what = REFERENCES[table]
        key = target.c[column]
        extra = [target.c.timezone] if target is schema.customers else []
        rows = conn.execute(select(key, *extra).where(key.in_(sorted(set(ids)))))
        return {r[0]: (r[1] if extra else None) for r in rows}

    # -- loading --------------------------------------------------------------------------
    def load_chunk(self, table: str, rows: Sequence[Mapping[str, str]], label: str) -> None:
        """Validate, compare and upsert one chunk of ``table`` rows read by query ``label``."""
        counts = self.counts.tables[table]
        counts.read += len(rows)
        if not rows:
            return
        # Optional contract columns (orders.need_by, order_value) a mapping may leave out.
        columns = contract.COLUMNS[table] + contract.OPTIONAL_COLUMNS.get(table, [])
        frame = pd.DataFrame.from_records(list(rows), columns=columns).fillna("").astype(str)
        frame = self._prepare(table, frame)
        valid, bad = contract._split_valid(table, frame)
        rejected = [bad]
        zones: dict[str, str] = {}
        with self.engine.begin() as conn:
            if table == "shipments" and self.track_removals:
                self._stage_seen(conn, frame)
            if table in REFERENCES and not valid.empty:
                column, _target, what = REFERENCES[table]
                known = self._referenced(conn, table, valid[column])
                zones = {k: v or "" for k, v in known.items()}
                valid, orphans = contract._reject_orphans(valid, column, set(known), what)
                rejected.append(orphans)
            built = self._build(table, valid, zones)
            self._write(conn, table, valid, built)
            self._store_rejections(conn, table, pd.concat(rejected), label)

    def _stage_seen(self, conn: Connection, frame: pd.DataFrame) -> None:
        seen = frame[(frame["shipment_id"] != "") & (frame["order_id"] != "")]
        insert_new(
            conn,
            schema.source_seen_shipments,
            [
                {"extraction_id": self.extraction_id, "shipment_id": sid, "order_id": oid}
                for sid, oid in zip(seen["shipment_id"], seen["order_id"], strict=True)
            ],
            ["extraction_id", "shipment_id"],
        )

    def remove_missing_shipments(self, label: str) -> None:
        """Delete stored shipments of orders this extraction read shipments of, that the
        shop no longer has; each is kept in ``rejected_rows`` with the reason."""
        if not self.track_removals:
            return
        seen, s = schema.source_seen_shipments, schema.shipments
        of_this = seen.c.extraction_id == self.extraction_id
        stale = select(s).where(
            s.c.order_id.in_(select(seen.c.order_id).where(of_this)),
            s.c.shipment_id.not_in(select(seen.c.shipment_id).where(of_this)),
        )
        if self.incomplete_orders:
            stale = stale.where(s.c.order_id.not_in(sorted(self.incomplete_orders)))
        with self.engine.begin() as conn:
            gone = [dict(r._mapping) for r in conn.execute(stale)]
            if gone:
                records = [
                    {
                        "row_ref": str(row["shipment_id"]),
                        "reason": f"removed in the shop: order {row['order_id']} no longer "
                        f"has tracking number {row['tracking_number']}",
                        "raw": json.dumps(row, default=str, ensure_ascii=False),
                    }
                    for row in gone
                ]
                self.reject(conn, f"{self.source}/{label}"[:100], records)
                ids = [row["shipment_id"] for row in gone]
                for start in range(0, len(ids), 1000):
                    conn.execute(delete(s).where(s.c.shipment_id.in_(ids[start : start + 1000])))
                self.counts.tables["shipments"].removed += len(gone)
            conn.execute(delete(seen).where(of_this))

    def forget_seen(self) -> None:
        """Drop this extraction's staged shipment ids (after a failed extraction)."""
        if self.track_removals:
            seen = schema.source_seen_shipments
            with self.engine.begin() as conn:
                conn.execute(delete(seen).where(seen.c.extraction_id == self.extraction_id))

    def _build(
        self, table: str, valid: pd.DataFrame, zones: dict[str, str]
    ) -> list[dict[str, object]]:
        if valid.empty:
            return []
        if table == "customers":
            columns, rows = contract._customers_rows(valid)
        elif table == "orders":
            columns, rows = contract._orders_rows(valid, zones)
        elif table == "order_lines":
            columns, rows = contract._lines_rows(valid)
        else:
            columns, rows = contract._shipments_rows(valid)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def _write(
        self, conn: Connection, table: str, valid: pd.DataFrame, built: list[dict[str, object]]
    ) -> None:
        counts = self.counts.tables[table]
        if not built:
            return
        existing = self._existing(conn, table, valid)
        key = KEYS[table]
        changed = []
        for row in built:
            stored = existing.get(tuple(row[c] for c in key))
            if stored is None:
                counts.new += 1
            elif all(_same(stored[c], v) for c, v in row.items()):
                counts.unchanged += 1
                continue
            else:
                counts.updated += 1
            changed.append(row)
        upsert(conn, TABLES[table], changed, list(key))

    def _store_rejections(
        self, conn: Connection, table: str, bad: pd.DataFrame, label: str
    ) -> None:
        if bad.empty:
            return
        counts = self.counts.tables[table]
        source = f"{self.source}/{label}"[:100]
        ref_column = contract.COLUMNS[table][0]
        records = [
            {
                "row_ref": str(row.get(ref_column, "")),
                "reason": str(row["_reason"]),
                "raw": json.dumps(
                    {k: v for k, v in row.items() if k != "_reason"}, ensure_ascii=False
                ),
            }
            for row in bad.to_dict(orient="records")
        ]
        self.reject(conn, source, records)
        counts.rejected += sum(1 for r in records if r.get("stored"))
        counts.rejected_again += sum(1 for r in records if not r.get("stored"))

    def reject(self, conn: Connection, source: str, records: list[dict[str, Any]]) -> None:
        """Store rejected rows not already stored for ``source`` with the same reason and raw
        values; marks each record ``stored`` True/False."""
        r = schema.rejected_rows
        refs = sorted({rec["row_ref"] for rec in records})
        known = {
            (row.row_ref, row.reason, row.raw)
            for row in conn.execute(
                select(r.c.row_ref, r.c.reason, r.c.raw).where(
                    r.c.source == source, r.c.row_ref.in_(refs)
                )
            )
        }
        now = datetime.now(UTC)
        fresh = []
        for rec in records:
            identity = (rec["row_ref"], rec["reason"], rec["raw"])
            rec["stored"] = identity not in known
            if rec["stored"]:
                known.add(identity)
                fresh.append(
                    {"run_id": self.run_id, "source": source, "created_at": now}
                    | {k: rec[k] for k in ("row_ref", "reason", "raw")}
                )
        if fresh:
            conn.execute(r.insert(), fresh)

    def reject_raw(self, table: str, label: str, raw: Mapping[str, Any], reason: str) -> None:
        """A row that could not even be turned into contract values (e.g. unreadable meta)."""
        counts = self.counts.tables[table]
        counts.read += 1
        if table == "shipments" and raw.get("order_id") is not None:
            self.incomplete_orders.add(str(raw["order_id"]))
        ref_column = contract.COLUMNS[table][0]
        record = {
            "row_ref": str(raw.get(ref_column) or raw.get("order_id") or ""),
            "reason": reason,
            "raw": json.dumps({k: str(v) for k, v in raw.items()}, ensure_ascii=False),
        }
        with self.engine.begin() as conn:
            self.reject(conn, f"{self.source}/{label}"[:100], [record])
        if record["stored"]:
            counts.rejected += 1
        else:
            counts.rejected_again += 1
