"""Order data files in, validated rows upserted into the store, bad rows kept with a reason.

Reads ``customers``, ``orders``, ``order_lines`` and ``shipments`` as CSV or Parquet from a
folder (the file contract in ARCHITECTURE.md). Every row that breaks the contract is stored
in ``rejected_rows`` with the reason and its raw values; the rest is upserted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd
from sqlalchemy.engine import Engine

from notify.store import schema
from notify.store.ops import upsert

ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"
DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"

COLUMNS: dict[str, list[str]] = {
    "customers": [
        "customer_id", "first_name", "last_name", "email", "phone", "locale", "timezone",
        "email_opt_in", "sms_opt_in",
    ],
    "orders": ["order_id", "customer_id", "placed_at", "promised_by", "status", "channel"],
    "order_lines": ["order_id", "line_id", "sku", "title", "quantity", "shipment_id"],
    "shipments": [
        "shipment_id", "order_id", "carrier", "tracking_number", "service", "shipped_at",
        "origin_postal_code", "destination_postal_code", "destination_country",
    ],
}  # fmt: skip
# Optional columns: read when the file has them (ARCHITECTURE-compatible additions).
# orders.need_by: the date the customer said they need the order by (YYYY-MM-DD);
# orders.order_value: the order total in the shop's currency (for the high-value rule).
OPTIONAL_COLUMNS: dict[str, list[str]] = {"orders": ["need_by", "order_value"]}
ORDER_STATUSES = {"open", "cancelled", "refunded", "delivered"}
BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


class OrderFileError(ValueError):
    """A whole file is unusable (missing, unreadable, or without required columns)."""


@dataclass
class OrderLoadResult:
    loaded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)


Check = tuple[str, Callable[[pd.DataFrame], "pd.Series[bool]"]]


def _read(directory: Path, name: str) -> pd.DataFrame:
    for suffix in (".csv", ".parquet"):
        path = directory / f"{name}{suffix}"
        if path.exists():
            break
    else:
        raise OrderFileError(
            f"{directory / (name + '.csv')} not found: the order folder needs {name}.csv "
            f"or {name}.parquet with columns {', '.join(COLUMNS[name])}"
        )
    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            frame = pd.read_parquet(path).astype(str).replace({"None": "", "nan": ""})
    except (ValueError, OSError) as exc:
        raise OrderFileError(f"{path}: cannot be read ({exc}); expected CSV or Parquet") from exc
    missing = [c for c in COLUMNS[name] if c not in frame.columns]
    if missing:
        raise OrderFileError(f"{path}: missing columns {', '.join(missing)}")
    for column in OPTIONAL_COLUMNS.get(name, []):
        if column not in frame.columns:
            frame[column] = ""
    wanted = COLUMNS[name] + OPTIONAL_COLUMNS.get(name, [])
    return frame[wanted].map(lambda v: v.strip() if isinstance(v, str) else v)


def _nonempty(column: str) -> Check:
    return (f"{column} is empty", lambda f: f[column] != "")


def _matches(column: str, pattern: str, what: str, optional: bool = False) -> Check:
    def check(f: pd.DataFrame) -> pd.Series[bool]:
        ok = f[column].str.match(pattern)
        return (ok | (f[column] == "")) if optional else ok

    return (f"{column} is not {what}", check)


def _in(column: str, allowed: set[str], optional: bool = False) -> Check:
    def check(f: pd.DataFrame) -> pd.Series[bool]:
        ok = f[column].str.lower().isin(allowed)
        return (ok | (f[column] == "")) if optional else ok

    return (f"{column} is not one of {', '.join(sorted(allowed))}", check)


_ZONES = available_timezones()

CHECKS: dict[str, list[Check]] = {
    "customers": [
        _nonempty("customer_id"),
        _nonempty("first_name"),
        _nonempty("locale"),
        _in("email_opt_in", set(BOOLEANS)),
        _in("sms_opt_in", set(BOOLEANS)),
        (
            "timezone is not an IANA zone",
            lambda f: f["timezone"].isin(_ZONES) | (f["timezone"] == ""),
        ),
    ],
    "orders": [
        _nonempty("order_id"),
        _nonempty("customer_id"),
        _matches("placed_at", ISO_WITH_OFFSET, "an ISO 8601 time with offset"),
        (
            "promised_by is not a date (YYYY-MM-DD) or an ISO 8601 time with offset",
            lambda f: f["promised_by"].str.match(DATE_ONLY)
            | f["promised_by"].str.match(ISO_WITH_OFFSET),
        ),
        _in("status", ORDER_STATUSES),
        _matches("need_by", DATE_ONLY, "a date (YYYY-MM-DD)", optional=True),
        _matches("order_value", r"^\d+(\.\d+)?$", "a non-negative number", optional=True),
    ],
    "order_lines": [
        _nonempty("order_id"),
        _nonempty("line_id"),
        _nonempty("title"),
        _matches("quantity", r"^[1-9]\d*$", "a positive whole number"),
    ],
    "shipments": [
        _nonempty("shipment_id"),
        _nonempty("order_id"),
        _matches("carrier", r"^[a-z][a-z0-9_]*$", "a lower-case carrier name"),
        _nonempty("tracking_number"),
        _matches("shipped_at", ISO_WITH_OFFSET, "an ISO 8601 time with offset", optional=True),
    ],
}  # fmt: skip


def _split_valid(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    for message, check in CHECKS[name]:
        bad = ~check(frame).fillna(False).astype(bool)
        reasons[bad] = reasons[bad].where(reasons[bad] == "", reasons[bad] + "; ") + message
    rejected = frame[reasons != ""].assign(_reason=reasons[reasons != ""])
    return frame[reasons == ""], rejected


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, format="ISO8601")


def _promise_end_utc(promised: pd.Series, zones: pd.Series) -> list[datetime]:
    """A date promise means the end of that day in the customer's zone (UTC if unknown)."""
    out: list[datetime] = []
    for value, zone in zip(promised, zones, strict=True):
        if len(value) == 10:
            tz = ZoneInfo(zone) if zone else UTC
            local = datetime.fromisoformat(value).replace(hour=23, minute=59, second=59, tzinfo=tz)
            out.append(local.astimezone(UTC))
        else:
            out.append(datetime.fromisoformat(value).astimezone(UTC))
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {k: (None if v == "" else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _customers_rows(f: pd.DataFrame) -> list[dict[str, object]]:
    f = f.assign(
        email_opt_in=f["email_opt_in"].str.lower().map(BOOLEANS),
        sms_opt_in=f["sms_opt_in"].str.lower().map(BOOLEANS),
    )
    return _records(f)


def _orders_rows(f: pd.DataFrame, zones: dict[str, str]) -> list[dict[str, object]]:
    rows = _records(f.assign(status=f["status"].str.lower()))
    customer_zones = f["customer_id"].map(zones).fillna("")
    promised = _promise_end_utc(f["promised_by"], customer_zones)
    placed = _utc(f["placed_at"])
    for row, end, at in zip(rows, promised, placed, strict=True):
        row["promised_by_utc"] = end
        row["placed_at"] = at.to_pydatetime()
        value = row.get("order_value")
        row["order_value"] = None if value is None else float(str(value))
    return rows


def _lines_rows(f: pd.DataFrame) -> list[dict[str, object]]:
    rows = _records(f)
    for row in rows:
        row["quantity"] = int(str(row["quantity"]))
    return rows


def _shipments_rows(f: pd.DataFrame) -> list[dict[str, object]]:
    rows = _records(f)
    shipped = _utc(f["shipped_at"].replace("", None))
    for row, at in zip(rows, shipped, strict=True):
        row["shipped_at"] = None if pd.isna(at) else at.to_pydatetime()
        row["destination_country"] = str(row["destination_country"] or "US")[:2].upper()
    return rows


def _reject_orphans(
    frame: pd.DataFrame, column: str, known: set[str], what: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    orphan = ~frame[column].isin(known)
    return frame[~orphan], frame[orphan].assign(_reason=f"{column} names no valid {what}")


def _reject_foreign_parcels(
    lines: pd.DataFrame, shipments: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A line may only sit in a parcel (shipment row) of its own order: a line pointing at
    another order's shipment row would put one customer's item in another's notice."""
    owner = dict(zip(shipments["shipment_id"], shipments["order_id"], strict=True))
    named = lines["shipment_id"] != ""
    foreign = named & lines["shipment_id"].map(owner).notna()
    foreign &= lines["shipment_id"].map(owner) != lines["order_id"]
    reason = (
        "shipment_id names a parcel of another order (a line belongs to its own order's parcel)"
    )
    return lines[~foreign], lines[foreign].assign(_reason=reason)


def load_order_files(engine: Engine, directory: Path, run_id: str | None = None) -> OrderLoadResult:
    """Validate and upsert the four order files; store rejected rows with their reasons."""
    frames = {name: _read(directory, name) for name in COLUMNS}
    result = OrderLoadResult()
    rejected: list[tuple[str, pd.DataFrame]] = []
    valid: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        valid[name], bad = _split_valid(name, frame)
        rejected.append((name, bad))
    valid["orders"], bad = _reject_orphans(
        valid["orders"], "customer_id", set(valid["customers"]["customer_id"]), "customer"
    )
    rejected.append(("orders", bad))
    order_ids = set(valid["orders"]["order_id"])
    for name in ("order_lines", "shipments"):
        valid[name], bad = _reject_orphans(valid[name], "order_id", order_ids, "order")
        rejected.append((name, bad))
    valid["order_lines"], bad = _reject_foreign_parcels(valid["order_lines"], valid["shipments"])
    rejected.append(("order_lines", bad))
    customers = valid["customers"]
    zones = dict(zip(customers["customer_id"], customers["timezone"], strict=True))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        result.loaded["customers"] = upsert(
            conn, schema.customers, _customers_rows(valid["customers"]), ["customer_id"]
        )
        result.loaded["orders"] = upsert(
            conn, schema.orders, _orders_rows(valid["orders"], zones), ["order_id"]
        )
        result.loaded["order_lines"] = upsert(
            conn, schema.order_lines, _lines_rows(valid["order_lines"]), ["order_id", "line_id"]
        )
        result.loaded["shipments"] = upsert(
            conn, schema.shipments, _shipments_rows(valid["shipments"]), ["shipment_id"]
        )
        for name, bad in rejected:
            if bad.empty:
                continue
            result.rejected[name] = result.rejected.get(name, 0) + len(bad)
            conn.execute(
                schema.rejected_rows.insert(),
                [
                    {
                        "run_id": run_id,
                        "source": f"{directory.name}/{name}",
                        "row_ref": str(row.get(COLUMNS[name][0], "")),
                        "reason": row["_reason"],
                        "raw": json.dumps({k: v for k, v in row.items() if k != "_reason"}),
                        "created_at": now,
                    }
                    for row in bad.to_dict(orient="records")
                ],
            )
    return result
