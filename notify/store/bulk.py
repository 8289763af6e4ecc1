"""Bulk writes with one compiled statement per table (executemany), SQLite and PostgreSQL.

``notify.store.ops.upsert`` builds one multi-VALUES statement per chunk, which SQLAlchemy
compiles anew each time; for the tens of thousands of rows a targeting run writes, one
statement executed over many parameter sets is several times faster. Same semantics: on a
key conflict the ``update`` columns are overwritten (default: every non-key column; an
empty list: the existing row is kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

CHUNK = 10_000


def write_many(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> int:
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(table)
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(table)
    else:
        raise RuntimeError(f"unsupported database {conn.dialect.name!r}: use SQLite or PostgreSQL")
    columns = update if update is not None else [c for c in rows[0] if c not in key]
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    for i in range(0, len(rows), CHUNK):
        conn.execute(stmt, list(rows[i : i + CHUNK]))
    return len(rows)
