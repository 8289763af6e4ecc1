"""Order data files in, validated rows upserted into the store, bad rows kept with a reason.

Reads ``customers``, ``orders``, ``order_lines`` and ``shipments`` as CSV or Parquet from a
folder (the file contract in ARCHITECTURE.md). Every row that breaks the contract is stored
in ``rejected_rows`` with the reason and its raw values; the rest is upserted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from notify.store import bulk, schema

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
CHUNK_ROWS = 50_000  # rows read, checked and written at a time
BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


class OrderFileError(ValueError):
    """A whole file is unusable (missing, unreadable, or without required columns)."""


@dataclass
class OrderLoadResult:
    loaded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)


Check = tuple[str, Callable[[pd.DataFrame], "pd.Series[bool]"]]


def _path(directory: Path, name: str) -> Path:
    for suffix in (".csv", ".parquet"):
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    raise OrderFileError(
        f"{directory / (name + '.csv')} not found: the order folder needs {name}.csv "
        f"or {name}.parquet with columns {', '.join(COLUMNS[name])}"
    )


def _frames(path: Path) -> Iterator[pd.DataFrame]:
    """The file in chunks of ``CHUNK_ROWS`` rows, every value a string ("" when empty)."""
    if path.suffix == ".csv":
        yield from pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS)
        return
    whole = pd.read_parquet(path).astype(str).replace({"None": "", "nan": ""})
    for start in range(0, len(whole), CHUNK_ROWS):
        yield whole.iloc[start : start + CHUNK_ROWS]


def _columns(path: Path) -> list[str]:
    if path.suffix == ".csv":
        return list(pd.read_csv(path, dtype=str, nrows=0).columns)
    return list(pd.read_parquet(path).columns)


def _checked(directory: Path, name: str) -> Path:
    """The file for ``name``, after checking it is there, readable and has its columns."""
    path = _path(directory, name)
    try:
        found = _columns(path)
    except (ValueError, OSError) as exc:
        raise OrderFileError(f"{path}: cannot be read ({exc}); expected CSV or Parquet") from exc
    missing = [c for c in COLUMNS[name] if c not in found]
    if missing:
        raise OrderFileError(f"{path}: missing columns {', '.join(missing)}")
    return path


def _read(path: Path, name: str) -> Iterator[pd.DataFrame]:
    """The contract's columns of the file, chunk by chunk, values stripped."""
    frames = _frames(path)
    wanted = COLUMNS[name] + OPTIONAL_COLUMNS.get(name, [])
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            return
        except (ValueError, OSError) as exc:
            raise OrderFileError(
                f"{path}: cannot be read ({exc}); expected CSV or Parquet"
            ) from exc
        for column in OPTIONAL_COLUMNS.get(name, []):
            if column not in frame.columns:
                frame = frame.assign(**{column: ""})
        yield frame[wanted].apply(lambda c: c.str.strip())


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


Rows = tuple[list[str], list[tuple[object, ...]]]  # column names, one tuple per row


def _values(series: pd.Series) -> list[object]:
    """A column's values with empty strings as None."""
    values = series.to_numpy(dtype=object, copy=True)
    values[values == ""] = None
    return list(values.tolist())


def _times(series: pd.Series) -> list[object]:
    """ISO 8601 times with offsets as aware UTC datetimes (None where empty)."""
    index = pd.DatetimeIndex(_utc(series.replace("", None)))
    return [None if at is pd.NaT else at for at in index.to_pydatetime().tolist()]


def _rows(columns: dict[str, list[object]]) -> Rows:
    return list(columns), list(zip(*columns.values(), strict=True))


def _customers_rows(f: pd.DataFrame) -> Rows:
    columns = {name: _values(f[name]) for name in f.columns}
    for flag in ("email_opt_in", "sms_opt_in"):
        columns[flag] = f[flag].str.lower().map(BOOLEANS).tolist()
    return _rows(columns)


def _orders_rows(f: pd.DataFrame, zones: dict[str, str]) -> Rows:
    columns = {name: _values(f[name]) for name in f.columns}
    columns["status"] = f["status"].str.lower().tolist()
    columns["placed_at"] = _times(f["placed_at"])
    customer_zones = f["customer_id"].map(zones.get).fillna("")
    columns["promised_by_utc"] = list(_promise_end_utc(f["promised_by"], customer_zones))
    columns["order_value"] = [None if v is None else float(str(v)) for v in columns["order_value"]]
    return _rows(columns)


def _lines_rows(f: pd.DataFrame) -> Rows:
    columns = {name: _values(f[name]) for name in f.columns}
    columns["quantity"] = [int(str(v)) for v in columns["quantity"]]
    return _rows(columns)


def _shipments_rows(f: pd.DataFrame) -> Rows:
    columns = {name: _values(f[name]) for name in f.columns}
    columns["shipped_at"] = _times(f["shipped_at"])
    country = f["destination_country"].replace("", "US").str[:2].str.upper()
    columns["destination_country"] = country.tolist()
    return _rows(columns)


def _reject_orphans(
    frame: pd.DataFrame, column: str, known: set[str], what: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    # Look each value up in the set: ``isin`` would rebuild a hash table of every known id
    # for each chunk, which at a million orders costs more than the rest of the chunk.
    orphan = ~frame[column].map(known.__contains__).astype(bool)
    return frame[~orphan], frame[orphan].assign(_reason=f"{column} names no valid {what}")


def _reject_foreign_parcels(
    lines: pd.DataFrame, owner: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A line may only sit in a parcel (shipment row) of its own order: a line pointing at
    another order's shipment row would put one customer's item in another's notice.
    ``owner``: shipment_id -> order_id of the valid shipment rows."""
    named = lines["shipment_id"] != ""
    parcel_order = lines["shipment_id"].map(owner.get)  # a function: the dict is not copied
    foreign = named & parcel_order.notna()
    foreign &= parcel_order != lines["order_id"]
    reason = (
        "shipment_id names a parcel of another order (a line belongs to its own order's parcel)"
    )
    return lines[~foreign], lines[foreign].assign(_reason=reason)


@dataclass
class _Known:
    """What the files loaded so far make valid: rows of later files are checked against it."""

    customers: set[str] = field(default_factory=set)
    zones: dict[str, str] = field(default_factory=dict)  # customer_id -> timezone
    orders: set[str] = field(default_factory=set)
    parcels: dict[str, str] = field(default_factory=dict)  # shipment_id -> order_id


def _valid_chunk(
    name: str, frame: pd.DataFrame, known: _Known
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The chunk's valid rows, and its rejected rows (``_reason`` set), in the order the
    checks run: the file contract, then references to rows of the files before it."""
    valid, bad = _split_valid(name, frame)
    rejected = [bad]
    if name == "orders":
        valid, bad = _reject_orphans(valid, "customer_id", known.customers, "customer")
        rejected.append(bad)
    elif name in ("order_lines", "shipments"):
        valid, bad = _reject_orphans(valid, "order_id", known.orders, "order")
        rejected.append(bad)
    if name == "order_lines":
        valid, bad = _reject_foreign_parcels(valid, known.parcels)
        rejected.append(bad)
    return valid, rejected


def _remember(name: str, valid: pd.DataFrame, known: _Known) -> None:
    if name == "customers":
        known.customers.update(valid["customer_id"])
        known.zones.update(zip(valid["customer_id"], valid["timezone"], strict=True))
    elif name == "orders":
        known.orders.update(valid["order_id"])
    elif name == "shipments":
        known.parcels.update(zip(valid["shipment_id"], valid["order_id"], strict=True))


def _write_valid(conn: Connection, name: str, valid: pd.DataFrame, known: _Known) -> int:
    if valid.empty:
        return 0
    if name == "customers":
        return bulk.upsert(conn, schema.customers, *_customers_rows(valid), ["customer_id"])
    if name == "orders":
        return bulk.upsert(conn, schema.orders, *_orders_rows(valid, known.zones), ["order_id"])
    if name == "order_lines":
        return bulk.upsert(conn, schema.order_lines, *_lines_rows(valid), ["order_id", "line_id"])
    return bulk.upsert(conn, schema.shipments, *_shipments_rows(valid), ["shipment_id"])


def _write_rejected(
    conn: Connection, bad: pd.DataFrame, name: str, source: str, run_id: str | None, now: datetime
) -> int:
    if bad.empty:
        return 0
    conn.execute(
        schema.rejected_rows.insert(),
        [
            {
                "run_id": run_id,
                "source": source,
                "row_ref": str(row.get(COLUMNS[name][0], "")),
                "reason": row["_reason"],
                "raw": json.dumps({k: v for k, v in row.items() if k != "_reason"}),
                "created_at": now,
            }
            for row in bad.to_dict(orient="records")
        ],
    )
    return len(bad)


# Files in the order their rows are checked against each other: an order needs its customer,
# a line or a parcel its order, a line a parcel of its own order.
LOAD_ORDER = ("customers", "orders", "shipments", "order_lines")


def load_order_files(engine: Engine, directory: Path, run_id: str | None = None) -> OrderLoadResult:
    """Validate and upsert the four order files; store rejected rows with their reasons.

    The files are read in chunks of ``CHUNK_ROWS`` rows and each chunk is written as it is
    checked, so memory holds one chunk plus the ids later files are checked against. All
    four files are written in one transaction: a file that fails half way writes nothing.
    """
    paths = {name: _checked(directory, name) for name in COLUMNS}
    result = OrderLoadResult()
    known = _Known()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for name in LOAD_ORDER:
            result.loaded[name] = 0
            for frame in _read(paths[name], name):
                valid, rejected = _valid_chunk(name, frame, known)
                _remember(name, valid, known)
                result.loaded[name] += _write_valid(conn, name, valid, known)
                for bad in rejected:
                    count = _write_rejected(
                        conn, bad, name, f"{directory.name}/{name}", run_id, now
                    )
                    if count:
                        result.rejected[name] = result.rejected.get(name, 0) + count
    result.loaded = {name: result.loaded[name] for name in COLUMNS}
    return result
