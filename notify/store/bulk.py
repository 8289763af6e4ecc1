"""Bulk writes: many rows (tuples under one column list) in one round per batch.

The one place the store's upsert and insert-if-new are implemented (``ops.upsert`` and
``ops.insert_new`` hand their dict rows here). Both run inside the caller's transaction, on
the raw DBAPI connection under the SQLAlchemy ``Connection``:

- SQLite: one prepared ``INSERT ... ON CONFLICT (key) DO UPDATE | DO NOTHING`` run with the
  cursor's ``executemany``. Rows apply in order, so a key repeated in a batch behaves as it
  would row by row: the last row wins an upsert, the first row wins an insert-if-new.
- PostgreSQL (psycopg2): ``COPY`` into a temporary staging table with the target's column
  types, then one ``INSERT INTO target SELECT ... FROM staging ON CONFLICT ...``. One
  statement may not touch a key twice (``ON CONFLICT DO UPDATE`` refuses), so repeated keys
  are merged first into the row that applying them one by one would leave. Small batches
  skip the staging table and send one multi-row ``VALUES`` statement (same ``ON CONFLICT``).

Values go through each column's SQLAlchemy bind processing (UTC times, booleans), and
Python-side column defaults fill columns the rows leave out, so what is stored is what a
SQLAlchemy ``insert()`` would have stored.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import LargeBinary, Table
from sqlalchemy.engine import Connection

Row = Sequence[Any]

# Below this many rows PostgreSQL gets one multi-row VALUES statement: creating and filling
# a staging table costs more than it saves for a handful of rows.
COPY_MIN_ROWS = 500

# COPY text format: backslash, tab, newline and carriage return are escaped; NULL is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def upsert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> int:
    """Insert ``rows``; on a key conflict overwrite ``update`` (default: every non-key column
    given). A key repeated within ``rows`` ends as if the rows were applied one by one: the
    last row's ``update`` columns win. Returns ``len(rows)``."""
    chosen = [c for c in columns if c not in key] if update is None else list(update)
    _write(conn, table, columns, rows, key, chosen)
    return len(rows)


def insert_new(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row], key: Sequence[str]
) -> int:
    """Insert the rows whose key is not stored yet (a key repeated within ``rows``: the first
    row wins). Returns how many rows were inserted."""
    return _write(conn, table, columns, rows, key, [])


def _write(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    key: Sequence[str],
    update: Sequence[str],
) -> int:
    if not rows:
        return 0
    unknown = [c for c in [*columns, *key, *update] if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    columns, values = _with_defaults(table, list(columns), rows)
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return _sqlite(conn, table, columns, values, key, update)
    if dialect == "postgresql":
        values = _one_row_per_key(columns, values, key, update)
        return _postgresql(conn, table, columns, values, key, update)
    raise RuntimeError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")


def _with_defaults(
    table: Table, columns: list[str], rows: Sequence[Row]
) -> tuple[list[str], Sequence[Row]]:
    """Columns the rows leave out but whose Python-side default SQLAlchemy would fill in."""
    missing = [
        c
        for c in table.c
        if c.name not in columns
        and c.default is not None
        and (c.default.is_scalar or c.default.is_callable)
    ]
    if not missing:
        return columns, rows
    scalars = [(c.default.arg if c.default.is_scalar else None) for c in missing]  # type: ignore[union-attr]
    makers = [c.default.arg if c.default.is_callable else None for c in missing]  # type: ignore[union-attr]

    def extra() -> tuple[Any, ...]:
        return tuple(
            make(None) if make is not None else value
            for make, value in zip(makers, scalars, strict=True)
        )

    return [*columns, *(c.name for c in missing)], [(*row, *extra()) for row in rows]


def _processors(
    conn: Connection, table: Table, columns: Sequence[str], *, for_copy: bool
) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, bind processor) for the columns whose values SQLAlchemy would convert."""
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(columns):
        column_type = table.c[name].type
        if for_copy and isinstance(column_type, LargeBinary):
            continue  # COPY takes bytes as \x hex text, not the DBAPI's Binary wrapper
        process = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            out.append((i, process))
    return out


def _processed(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row], *, for_copy: bool
) -> list[tuple[Any, ...]]:
    processors = _processors(conn, table, columns, for_copy=for_copy)
    if not processors:
        return [tuple(row) for row in rows]
    # Rows of a batch often share one object (the run's time in every row): convert it once.
    last: list[tuple[Any, Any]] = [(object(), None) for _ in processors]
    out = []
    for row in rows:
        values = list(row)
        for n, (i, process) in enumerate(processors):
            value = values[i]
            seen, converted = last[n]
            if value is not seen:
                converted = process(value)
                last[n] = (value, converted)
            values[i] = converted
        out.append(tuple(values))
    return out


def _one_row_per_key(
    columns: Sequence[str], rows: Sequence[Row], key: Sequence[str], update: Sequence[str]
) -> Sequence[Row]:
    """One row per key, as applying the rows one by one would leave it.

    The first row of a key is the one inserted; every later row of that key only overwrites
    the ``update`` columns (none for an insert-if-new). The merged row keeps the first row's
    place. Rows with a NULL in the key never conflict (NULLs are distinct to a unique index),
    so they are all kept, as the database would keep them.
    """
    names = list(columns)
    positions = [names.index(k) for k in key]
    updated = [names.index(c) for c in update]
    first: dict[tuple[Any, ...], int] = {}
    merged: dict[int, list[Any]] = {}
    keep: list[int] = []
    for i, row in enumerate(rows):
        k = tuple(row[p] for p in positions)
        if any(v is None for v in k) or k not in first:
            if not any(v is None for v in k):
                first[k] = i
            keep.append(i)
        elif updated:
            target = merged.setdefault(first[k], list(rows[first[k]]))
            for p in updated:
                target[p] = row[p]
    if len(keep) == len(rows):
        return rows
    return [tuple(merged[i]) if i in merged else rows[i] for i in keep]


def _conflict_clause(conn: Connection, key: Sequence[str], update: Sequence[str]) -> str:
    quote = conn.dialect.identifier_preparer.quote
    target = ", ".join(quote(k) for k in key)
    if not update:
        return f"ON CONFLICT ({target}) DO NOTHING"
    assignments = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
    return f"ON CONFLICT ({target}) DO UPDATE SET {assignments}"


def _sqlite(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    key: Sequence[str],
    update: Sequence[str],
) -> int:
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) {_conflict_clause(conn, key, update)}"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, _processed(conn, table, columns, rows, for_copy=False))
        return max(0, cursor.rowcount)  # summed over the rows; an ignored conflict adds 0
    finally:
        cursor.close()


def _postgresql(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    key: Sequence[str],
    update: Sequence[str],
) -> int:
    if conn.dialect.driver != "psycopg2":
        raise RuntimeError(
            f"bulk writes on PostgreSQL need the psycopg2 driver (postgresql+psycopg2://...), "
            f"not {conn.dialect.driver!r}"
        )
    from psycopg2.extras import execute_values

    quote = conn.dialect.identifier_preparer.quote
    target = quote(table.name)
    names = ", ".join(quote(c) for c in columns)
    conflict = _conflict_clause(conn, key, update)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if len(rows) < COPY_MIN_ROWS:
            values = _processed(conn, table, columns, rows, for_copy=False)
            sql = f"INSERT INTO {target} ({names}) VALUES %s {conflict}"
            execute_values(cursor, sql, values, page_size=len(values))
            return max(0, cursor.rowcount)
        digest = hashlib.sha1(names.encode(), usedforsecurity=False).hexdigest()[:10]
        stage = quote(f"oasis_stage_{table.name[:30]}_{digest}")
        # Same column types as the target, no constraints or defaults; gone at commit, and
        # emptied after each use so one transaction can fill it many times.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
            f"SELECT {names} FROM {target} WITH NO DATA"
        )
        text = _copy_text(_processed(conn, table, columns, rows, for_copy=True))
        cursor.copy_expert(f"COPY {stage} ({names}) FROM STDIN", io.StringIO(text))
        cursor.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage} {conflict}")
        inserted = max(0, cursor.rowcount)
        cursor.execute(f"TRUNCATE {stage}")
        return inserted
    finally:
        cursor.close()


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\\\x" + bytes(value).hex()
    return str(value).translate(_COPY_ESCAPES)


def _copy_text(rows: Sequence[Row]) -> str:
    """Rows in COPY's text format (tab-separated, one line per row)."""
    return "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows)
