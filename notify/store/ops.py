"""Set-based writes that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

CHUNK = 2000


def _chunks(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {conn.dialect.name!r}: use SQLite or PostgreSQL")


def _chunk_size(table: Table) -> int:
    # SQLite allows 32766 bound parameters per statement.
    return max(1, min(CHUNK, 32000 // max(1, len(table.columns))))


def upsert(
    conn: Connection,
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> int:
    """Insert rows; on a key conflict overwrite ``update`` columns (default: all non-key)."""
    count = 0
    for chunk in _chunks(rows, _chunk_size(table)):
        # One statement per chunk, run with executemany: compiled once and cached, instead of
        # a multi-row VALUES statement compiled afresh for every chunk.
        stmt = _insert(conn, table)
        columns = update if update is not None else [c for c in chunk[0] if c not in key]
        if columns:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        if conn.dialect.name == "postgresql":  # RETURNING lets SQLAlchemy batch the VALUES
            stmt = stmt.returning(*(table.c[k] for k in key))
        conn.execute(stmt, list(chunk))
        count += len(chunk)
    return count


def insert_new(
    conn: Connection, table: Table, rows: Iterable[Mapping[str, Any]], key: Sequence[str]
) -> int:
    """Insert rows whose key is not there yet; returns how many were new."""
    new = 0
    for chunk in _chunks(rows, _chunk_size(table)):
        stmt = (
            _insert(conn, table)
            .values(list(chunk))
            .on_conflict_do_nothing(index_elements=list(key))
        )
        new += conn.execute(stmt).rowcount or 0
    return new
