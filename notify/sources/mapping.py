"""A mapping: SQL files that select a shop's rows in the order-file contract.

A mapping is a folder (shipped ones live in ``sql/sources/<name>/``)::

    customers.sql    orders.sql    order_lines.sql    shipments.sql
    <table>.<part>.sql             more queries for the same table (their rows are added)
    mapping.toml                   optional: description, options, carrier aliases

Each query returns the contract columns of its table (ARCHITECTURE.md, README "Order files")
and takes ``:since``: the shop time from which changed rows are wanted (1970-01-01 for a
full refresh). Every option is also a bound parameter (``:promise_days``). ``{prefix}`` in a
query is replaced by the ``table_prefix`` option (WordPress ``wp_``). A comment line
``-- oasis: expand <name>`` hands the query's rows to a built-in expander (see
:mod:`notify.sources.expand`).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notify.orders import COLUMNS
from notify.sources.expand import EXPANDERS

SOURCES_DIR = Path(__file__).resolve().parent.parent.parent / "sql" / "sources"
TABLES = ("customers", "orders", "shipments", "order_lines")  # load order (keys first)

# Options every mapping has; mapping.toml may change their defaults, settings override both.
BUILTIN_OPTIONS: dict[str, Any] = {
    "default_locale": "en-US",  # customers.locale when the shop has none
    "default_timezone": "",  # customers.timezone when the shop has none ("" = unknown)
    "email_opt_in": True,  # customers.email_opt_in when the query returns NULL
    "sms_opt_in": False,  # customers.sms_opt_in when the query returns NULL
    "default_channel": "web",  # orders.channel when the query returns NULL
    "promise_days": 7,  # orders.promised_by = order date + N days when the query gives none
    "table_prefix": "",  # replaces {prefix} in the SQL files
    "shop_timezone": "UTC",  # zone of the shop's naive timestamps
    # True when the shipment queries return every shipment of each order they return one
    # of: a stored shipment of such an order that is no longer returned is removed.
    "complete_shipments": False,
}

_FILE = re.compile(r"^(customers|orders|order_lines|shipments)(\.[a-z0-9_]+)?\.sql$")
_DIRECTIVE = re.compile(r"^\s*--\s*oasis:\s*(\w+)\s*(.*?)\s*$", re.MULTILINE)
_PREFIX = re.compile(r"^[A-Za-z0-9_]*$")


class MappingError(ValueError):
    """A mapping folder or option is unusable; the message names the file and the fix."""


@dataclass(frozen=True)
class Query:
    table: str
    path: Path
    sql: str  # with {prefix} replaced
    expand: str | None = None

    @property
    def label(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Mapping:
    name: str
    folder: Path
    description: str
    queries: tuple[Query, ...]
    options: dict[str, Any]
    carriers: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The shipped mapping's name, or the folder of a custom one."""
        return self.name if self.folder.parent == SOURCES_DIR else str(self.folder)

    def for_table(self, table: str) -> list[Query]:
        return [q for q in self.queries if q.table == table]

    @property
    def digest(self) -> str:
        """Changes when a query, an option or a carrier alias changes (forces a full refresh)."""
        h = hashlib.sha256()
        for q in self.queries:
            h.update(q.path.name.encode() + b"\0" + q.sql.encode() + b"\0")
        h.update(json.dumps([self.options, self.carriers], sort_keys=True, default=str).encode())
        return h.hexdigest()


def resolve(name_or_folder: str) -> Path:
    """A shipped mapping by name (``magento2``), or a folder path."""
    candidate = Path(name_or_folder).expanduser()
    if candidate.is_dir():
        return candidate.resolve()
    shipped = SOURCES_DIR / name_or_folder
    if re.fullmatch(r"[a-z0-9_]+", name_or_folder) and shipped.is_dir():
        return shipped
    known = ", ".join(sorted(p.name for p in SOURCES_DIR.iterdir() if p.is_dir()))
    raise MappingError(
        f"no mapping {name_or_folder!r}: give a shipped mapping ({known}) or a folder of SQL "
        "files (customers.sql, orders.sql, order_lines.sql, shipments.sql)"
    )


def _read_toml(folder: Path) -> dict[str, Any]:
    path = folder / "mapping.toml"
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc})") from exc


def _options(folder: Path, declared: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    options = {**BUILTIN_OPTIONS, **declared}
    unknown = sorted(set(overrides) - set(options))
    if unknown:
        raise MappingError(
            f"{', '.join(unknown)}: not an option of the mapping in {folder}; its options are "
            f"{', '.join(sorted(options))}"
        )
    options.update(overrides)
    prefix = str(options["table_prefix"])
    if not _PREFIX.fullmatch(prefix):
        raise MappingError(f"table_prefix {prefix!r} may hold only letters, digits and underscores")
    try:
        int(options["promise_days"])
    except (TypeError, ValueError):
        raise MappingError(
            f"promise_days {options['promise_days']!r} is not a whole number of days"
        ) from None
    return options


def _query(path: Path, table: str, prefix: str) -> Query:
    sql = path.read_text("utf-8")
    expand = None
    for directive, argument in _DIRECTIVE.findall(sql):
        if directive != "expand" or not argument:
            raise MappingError(
                f"{path}: unknown directive '-- oasis: {directive} {argument}'; the only one "
                "is '-- oasis: expand <name>'"
            )
        expand = argument
    # Whole-line comments go: a ":name" in a comment must not become a bound parameter, and
    # a comment edit is not a mapping change.
    sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    if expand is not None and expand not in EXPANDERS:
        raise MappingError(
            f"{path}: no expander {expand!r}; built-in expanders: {', '.join(sorted(EXPANDERS))}"
        )
    if ":since" not in sql:
        raise MappingError(
            f"{path}: the query never uses :since, so it cannot extract incrementally; filter "
            "on the shop's update time, e.g. WHERE updated_at >= :since"
        )
    return Query(table, path, sql.replace("{prefix}", prefix), expand)


def _check_params(queries: list[Query], options: dict[str, Any]) -> None:
    from sqlalchemy import text

    for q in queries:
        unknown = sorted(set(text(q.sql)._bindparams) - set(options) - {"since"})
        if unknown:
            raise MappingError(
                f"{q.path}: :{', :'.join(unknown)} is neither :since nor an option; add it to "
                "[options] in mapping.toml, or write a literal colon as \\: in the SQL"
            )


def load_mapping(name_or_folder: str, overrides: dict[str, Any] | None = None) -> Mapping:
    """Read a mapping folder; ``overrides`` change its options (settings, CLI)."""
    folder = resolve(name_or_folder)
    meta = _read_toml(folder)
    options = _options(folder, dict(meta.get("options", {})), dict(overrides or {}))
    queries: list[Query] = []
    for path in sorted(folder.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE.match(path.name)
        if not match:
            raise MappingError(
                f"{path}: not a mapping query name; use <table>.sql or <table>.<part>.sql with "
                f"table one of {', '.join(COLUMNS)}"
            )
        queries.append(_query(path, match.group(1), str(options["table_prefix"])))
    _check_params(queries, options)
    missing = [t for t in COLUMNS if not any(q.table == t for q in queries)]
    if missing:
        raise MappingError(
            f"{folder}: no query for {', '.join(missing)}; add "
            + ", ".join(f"{t}.sql" for t in missing)
            + " selecting the contract columns of that table"
        )
    order = {t: i for i, t in enumerate(TABLES)}
    queries.sort(key=lambda q: (order[q.table], q.path.name))
    carriers = {str(k): str(v) for k, v in meta.get("carriers", {}).items()}
    return Mapping(
        name=folder.name,
        folder=folder,
        description=str(meta.get("description", "")),
        queries=tuple(queries),
        options=options,
        carriers=carriers,
    )
