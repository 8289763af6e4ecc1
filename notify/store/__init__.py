"""Opening the store and bringing its schema up to date."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

_engines: dict[str, Engine] = {}
_migrating = threading.Lock()  # Alembic's command API keeps module-level state


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL may wait for a lock
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache per connection (the default is 2 MiB): bulk upserts into tables
    # with a million rows keep their index pages cached (ADR 0011 has the measurements).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def engine_for(url: str) -> Engine:
    """One engine per URL per process; SQLite files get their folder created."""
    if url not in _engines:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        _engines[url] = engine
    return _engines[url]


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration to the database behind ``engine``.

    ``heads``: every branch of the revision graph, so a migration added on a feature branch
    applies even before the branches are joined into one line.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _migrating, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def open_store(url: str) -> Engine:
    """The engine for ``url`` with the schema migrated to the newest version."""
    engine = engine_for(url)
    migrate(engine)
    return engine
