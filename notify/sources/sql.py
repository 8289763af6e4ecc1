"""The SQL order source: a shop database read through SQLAlchemy, read-only, incrementally.

One extraction:

1. decides its window: incremental from the stored watermark minus the overlap, or a full
   refresh (asked for, the first extraction, or the mapping changed since the last one);
2. opens one read-only transaction on a consistent snapshot of the shop database (MySQL /
   MariaDB: ``SET SESSION TRANSACTION READ ONLY`` + ``START TRANSACTION WITH CONSISTENT
   SNAPSHOT, READ ONLY``; PostgreSQL: ``default_transaction_read_only`` + REPEATABLE READ;
   SQLite: ``PRAGMA query_only``) and notes the shop's clock;
3. streams every query of the mapping in chunks (server-side cursors), so memory stays
   bounded whatever the shop's size, and loads each chunk through :class:`ContractLoader`;
4. on success, moves the watermark to the shop time noted in step 2.

The overlap window re-reads recent rows on the next extraction, so a transaction that
committed after the snapshot with an earlier update time is not missed; re-read rows that did
not change are compared and not written. Cancellations, refunds and deletions that the shop
records as a status (Magento ``canceled``/``closed``, WooCommerce ``wc-cancelled``,
``wc-refunded``, ``trash``) arrive as changed orders.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, insert, select, text, update
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from notify import orders as contract
from notify.sources.contract import ContractLoader, Counts
from notify.sources.expand import ExpandError, expander
from notify.sources.mapping import Mapping as SourceMapping
from notify.sources.mapping import Query
from notify.sources.values import as_text, as_time_text
from notify.store import schema
from notify.store.ops import upsert

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TIME_COLUMNS = frozenset({"placed_at", "promised_by", "shipped_at"})


class SourceError(RuntimeError):
    """The shop database or a query cannot be used; the message names it and the fix."""


@dataclass
class ExtractResult:
    source: str
    kind: str
    mapping: str
    mode: str  # incremental | full_refresh
    reason: str | None
    since: datetime | None
    until: datetime
    counts: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    extraction_id: int | None = None

    @property
    def changed(self) -> int:
        return self.counts.changed

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "mapping": self.mapping,
            "mode": self.mode,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat(),
            "seconds": round(self.seconds, 3),
            "changed": self.changed,
            "tables": self.counts.to_dict(),
        }


def _session_setup(engine: Engine) -> None:
    """Every connection to the shop is read-only and speaks UTC."""
    dialect = engine.dialect.name

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if dialect in ("mysql", "mariadb"):
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SET SESSION time_zone = '+00:00'")
            # A streamed result waits while we write a chunk: give the server time.
            cursor.execute("SET SESSION net_write_timeout = 3600")
        elif dialect == "postgresql":
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.execute("SET TIME ZONE 'UTC'")
        elif dialect == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()
        if dialect == "postgresql":
            dbapi_connection.commit()


def shop_engine(url: str | URL) -> Engine:
    """An engine on the shop database whose every session is read-only."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("mysql", "mariadb", "postgresql", "sqlite"):
        raise SourceError(
            f"shop database {parsed.get_backend_name()!r} is not supported; use MySQL/MariaDB "
            "(mysql+pymysql://...), PostgreSQL (postgresql+psycopg2://...) or SQLite"
        )
    extra: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        extra["isolation_level"] = "REPEATABLE READ"  # one snapshot for all the queries
    engine = create_engine(parsed, poolclass=NullPool, hide_parameters=True, **extra)
    _session_setup(engine)
    return engine


def _begin_snapshot(conn: Connection) -> datetime:
    """Start the read-only snapshot transaction; returns the shop's clock (UTC)."""
    dialect = conn.dialect.name
    if dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    now = conn.execute(text("SELECT CURRENT_TIMESTAMP")).scalar_one()
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


@dataclass
class _State:
    watermark: datetime | None
    mapping_hash: str | None


def _read_state(store: Engine, source: str) -> _State:
    s = schema.source_state
    with store.connect() as conn:
        row = conn.execute(select(s).where(s.c.source == source)).first()
    if row is None:
        return _State(None, None)
    return _State(row.watermark, row.mapping_hash)


class SqlSource:
    """Orders from a shop database through a mapping (see :mod:`notify.sources.mapping`)."""

    kind = "sql"

    def __init__(
        self,
        name: str,
        url: str | URL,
        mapping: SourceMapping,
        *,
        overlap: timedelta = timedelta(minutes=10),
        chunk_rows: int = 5000,
    ) -> None:
        if overlap < timedelta(0):
            raise ValueError("the overlap window cannot be negative")
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.name = name
        self.url = url
        self.mapping = mapping
        self.overlap = overlap
        self.chunk_rows = chunk_rows
        self.zone = ZoneInfo(str(mapping.options["shop_timezone"]))

    def __repr__(self) -> str:  # never show the URL: it may hold a password
        return f"SqlSource(name={self.name!r}, mapping={self.mapping.name!r})"

    # -- window ---------------------------------------------------------------------------
    def _window(self, store: Engine, full_refresh: bool) -> tuple[str, str | None, Any]:
        state = _read_state(store, self.name)
        if full_refresh:
            return "full_refresh", "asked for", None
        if state.watermark is None:
            return "full_refresh", "first extraction", None
        if state.mapping_hash != self.mapping.digest:
            return "full_refresh", "the mapping's queries or options changed", None
        return "incremental", None, state.watermark - self.overlap

    def _params(self, query: Query, since: datetime | None) -> dict[str, Any]:
        names = set(text(query.sql)._bindparams)
        local = (since or EPOCH).astimezone(self.zone).replace(tzinfo=None)
        values = {**self.mapping.options, "since": local}
        return {k: v for k, v in values.items() if k in names}

    # -- extraction -----------------------------------------------------------------------
    def extract(
        self, store: Engine, *, run_id: str | None = None, full_refresh: bool = False
    ) -> ExtractResult:
        """One extraction into ``store``; see the module docstring."""
        started = time.perf_counter()
        mode, reason, since = self._window(store, full_refresh)
        extraction_id = self._record_start(store, run_id, mode, reason, since)
        loader = ContractLoader(
            store,
            source=f"shop:{self.name}",
            run_id=run_id,
            options=self.mapping.options,
            carriers=self.mapping.carriers,
            extraction_id=extraction_id,
        )
        try:
            engine = shop_engine(self.url)
            try:
                with engine.connect() as conn:
                    until = _begin_snapshot(conn)
                    for query in self.mapping.queries:
                        self._run_query(conn, query, since, loader)
                    conn.rollback()
            finally:
                engine.dispose()
            loader.remove_missing_shipments("shipments")
        except Exception as exc:
            loader.forget_seen()
            self._record_end(store, extraction_id, loader.counts, error=exc)
            raise
        result = ExtractResult(
            source=self.name,
            kind=self.kind,
            mapping=self.mapping.name,
            mode=mode,
            reason=reason,
            since=since,
            until=until,
            counts=loader.counts,
            seconds=time.perf_counter() - started,
            extraction_id=extraction_id,
        )
        self._record_end(store, extraction_id, loader.counts, until=until)
        self._advance(store, until, full=mode == "full_refresh")
        log.info(
            "order source %s (%s): %s since %s, %d rows changed in %.1f s",
            self.name,
            self.mapping.name,
            mode,
            since.isoformat() if since else "the beginning",
            result.changed,
            result.seconds,
        )
        return result

    def _rows(self, conn: Connection, query: Query, since: datetime | None) -> Iterator[Any]:
        streamed = conn.execution_options(stream_results=True, max_row_buffer=self.chunk_rows)
        try:
            result = streamed.execute(text(query.sql), self._params(query, since))
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SourceError(
                f"{self.mapping.folder / query.label}: the shop database refused the query "
                f"({first})"
            ) from exc
        keys = set(result.keys())
        missing = [c for c in contract.COLUMNS[query.table] if c not in keys]
        if query.expand is None and missing:
            result.close()
            raise SourceError(
                f"{self.mapping.folder / query.label}: the query returns no column "
                f"{', '.join(missing)}; select every contract column of {query.table} "
                f"({', '.join(contract.COLUMNS[query.table])}), NULL where the shop has none"
            )
        try:
            yield from result.mappings().partitions(self.chunk_rows)
        finally:
            result.close()

    def _run_query(
        self, conn: Connection, query: Query, since: datetime | None, loader: ContractLoader
    ) -> None:
        columns = contract.COLUMNS[query.table]
        expand = expander(query.expand) if query.expand else None
        for part in self._rows(conn, query, since):
            rows: list[Mapping[str, Any]] = list(part)
            if expand is not None:
                rows = self._expanded(rows, expand, query, loader)
            chunk = [
                {c: (as_time_text if c in TIME_COLUMNS else as_text)(row.get(c), self.zone)
                 for c in columns}
                for row in rows
            ]  # fmt: skip
            loader.load_chunk(query.table, chunk, query.label)

    def _expanded(
        self, rows: list[Mapping[str, Any]], expand: Any, query: Query, loader: ContractLoader
    ) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        for row in rows:
            try:
                out.extend(expand(dict(row)))
            except ExpandError as exc:
                loader.reject_raw(query.table, query.label, row, str(exc))
        missing = [c for c in contract.COLUMNS[query.table] if out and c not in out[0]]
        if missing:
            raise SourceError(
                f"{self.mapping.folder / query.label}: after '{query.expand}' the rows have no "
                f"column {', '.join(missing)}; select them in the query"
            )
        return out

    # -- bookkeeping in the store ---------------------------------------------------------
    def _record_start(
        self,
        store: Engine,
        run_id: str | None,
        mode: str,
        reason: str | None,
        since: datetime | None,
    ) -> int:
        with store.begin() as conn:
            result = conn.execute(
                insert(schema.source_extractions).values(
                    source=self.name,
                    run_id=run_id,
                    mode=mode,
                    reason=reason,
                    since=since,
                    started_at=datetime.now(UTC),
                    status="running",
                    counts="{}",
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def _record_end(
        self,
        store: Engine,
        extraction_id: int,
        counts: Counts,
        *,
        until: datetime | None = None,
        error: BaseException | None = None,
    ) -> None:
        message = None
        if error is not None:
            # First line only: a driver's later lines may echo SQL parameters.
            first = str(error).splitlines()[0] if str(error) else ""
            message = f"{type(error).__name__}: {first}"[:2000]
        e = schema.source_extractions
        with store.begin() as conn:
            conn.execute(
                update(e)
                .where(e.c.extraction_id == extraction_id)
                .values(
                    until=until,
                    finished_at=datetime.now(UTC),
                    status="failed" if error else "success",
                    counts=json.dumps(counts.to_dict()),
                    error=message,
                )
            )

    def _advance(self, store: Engine, until: datetime, *, full: bool) -> None:
        """Move the watermark to ``until`` (never backwards: a concurrent extraction that
        reached further already loaded everything up to its own snapshot)."""
        s = schema.source_state
        now = datetime.now(UTC)
        with store.begin() as conn:
            row = conn.execute(select(s).where(s.c.source == self.name)).first()
            keep = row.watermark if row is not None and row.watermark else None
            last_full = row.last_full_refresh_at if row is not None else None
            values = {
                "source": self.name,
                "kind": self.kind,
                "mapping": self.mapping.label,
                "mapping_hash": self.mapping.digest,
                "watermark": max(until, keep) if keep else until,
                "last_full_refresh_at": now if full else last_full,
                "updated_at": now,
            }
            upsert(conn, s, [values], ["source"])
