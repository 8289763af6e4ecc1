"""Named set-based queries from the top-level ``sql/`` folder (portable SQLite/PostgreSQL)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import TextClause, text

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@cache
def query(name: str) -> TextClause:
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"no query {name!r}: expected {path}")
    return text(path.read_text("utf-8"))
