"""Named set-based queries from the top-level ``sql/`` folder (portable SQLite/PostgreSQL)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import TextClause, bindparam, text

from notify.store.types import UTCDateTime

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@cache
def query(name: str) -> TextClause:
    """The query in ``sql/<name>.sql``; parameters named ``as_of`` or ``*_at`` are times."""
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"no query {name!r}: expected {path}")
    clause = text(path.read_text("utf-8"))
    # Times are bound as UTC datetimes, so they compare correctly with stored ones on SQLite.
    timed = [name for name in clause._bindparams if name == "as_of" or name.endswith("_at")]
    return clause.bindparams(*(bindparam(name, type_=UTCDateTime) for name in timed))
