"""Order sources: where orders, order lines, customers and shipments come from.

Two kinds share one interface (``name``, ``kind``, ``extract(store, run_id=, full_refresh=)``):

- ``files``: the four order files of a folder (:class:`FileSource`, what ``--orders DIR``
  reads);
- ``sql``: a shop database through SQLAlchemy, read-only and incrementally, with a mapping of
  SQL files (:class:`SqlSource`; shipped mappings: ``magento2``, ``woocommerce``).

:func:`configured_source` builds the one the settings name.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from notify.sources.files import FileSource
from notify.sources.mapping import Mapping, MappingError, load_mapping
from notify.sources.sql import ExtractResult, SourceError, SqlSource

__all__ = [
    "ExtractResult",
    "FileSource",
    "Mapping",
    "MappingError",
    "OrderSource",
    "SourceError",
    "SqlSource",
    "configured_source",
    "load_mapping",
]


class OrderSource(Protocol):
    name: str
    kind: str

    def extract(
        self, store: Engine, *, run_id: str | None = None, full_refresh: bool = False
    ) -> Any: ...


def configured_source(
    *,
    kind: str | None = None,
    mapping: str | None = None,
    name: str | None = None,
    orders_dir: str | None = None,
) -> OrderSource | None:
    """The order source the settings name (arguments override them); None when none is set.

    The shop database URL comes from ``OASIS_SHOP_DB_URL`` or the Airflow Connection
    ``oasis_shop_db`` (see :func:`notify.config.shop_database_url`) and is never logged.
    """
    from notify.config import order_source_settings, shop_database_url

    s = order_source_settings()
    kind = kind or s.kind
    if not kind:
        return None
    if kind == "files":
        folder = orders_dir or s.orders_dir
        if not folder:
            raise SourceError("order source 'files' needs a folder: set OASIS_ORDERS_DIR")
        return FileSource(Path(folder), name=name or s.name or "files")
    if kind != "sql":
        raise SourceError(f"OASIS_ORDER_SOURCE={kind!r}: use 'files' or 'sql'")
    mapping_name = mapping or s.mapping
    if not mapping_name:
        raise SourceError(
            "order source 'sql' needs a mapping: set OASIS_ORDER_MAPPING to magento2, "
            "woocommerce or a folder of SQL files"
        )
    url = shop_database_url()
    if not url:
        raise SourceError(
            "order source 'sql' needs the shop database: create the Airflow Connection "
            "oasis_shop_db or set OASIS_SHOP_DB_URL (e.g. mysql+pymysql://reader@shop-db/magento)"
        )
    loaded = load_mapping(mapping_name, s.options)
    return SqlSource(
        name or s.name or loaded.name,
        url,
        loaded,
        overlap=timedelta(minutes=s.overlap_minutes),
        chunk_rows=s.chunk_rows,
    )
