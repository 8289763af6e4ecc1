"""Set-based writes that behave the same on SQLite and PostgreSQL.

Rows come as dicts (one key per column); they are written through ``notify.store.bulk``,
the one implementation of upsert and insert-if-new.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from notify.store import bulk

CHUNK = 10_000


def _chunks(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _tuples(
    table: Table, chunk: list[Mapping[str, Any]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The first row's keys as the column list, every row as a tuple in that order."""
    columns = list(chunk[0])
    try:
        return columns, [tuple(row[c] for c in columns) for row in chunk]
    except KeyError as exc:
        raise ValueError(
            f"{table.name}: every row needs the same columns; one has no {exc.args[0]!r}"
        ) from None


def upsert(
    conn: Connection,
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> int:
    """Insert rows; on a key conflict overwrite ``update`` columns (default: all non-key)."""
    count = 0
    for chunk in _chunks(rows, CHUNK):
        columns, values = _tuples(table, chunk)
        count += bulk.upsert(conn, table, columns, values, key, update)
    return count


def insert_new(
    conn: Connection, table: Table, rows: Iterable[Mapping[str, Any]], key: Sequence[str]
) -> int:
    """Insert rows whose key is not there yet; returns how many were new."""
    new = 0
    for chunk in _chunks(rows, CHUNK):
        columns, values = _tuples(table, chunk)
        new += bulk.insert_new(conn, table, columns, values, key)
    return new
