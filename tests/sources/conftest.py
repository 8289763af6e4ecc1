"""Shop databases for the order-source tests: MariaDB (and PostgreSQL) on this machine.

MariaDB on 127.0.0.1:3306 (user root, no password; ``make test`` starts it when it is
installed and down). Each test gets its own throw-away database, dropped afterwards. When no
server answers, the MariaDB tests are skipped and the run says so loudly at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.conftest import PG_ADMIN_URL, _pg_available

MARIADB_ADMIN_URL = os.environ.get(
    "OASIS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
_mariadb_skip_reason: list[str] = []


def _mariadb_available() -> str | None:
    try:
        engine = create_engine(MARIADB_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"MariaDB at {MARIADB_ADMIN_URL} is not reachable ({type(exc).__name__})"


@pytest.fixture(scope="session")
def mariadb_admin() -> Iterator[Engine]:
    reason = _mariadb_available()
    if reason:
        _mariadb_skip_reason.append(reason)
        pytest.skip(reason)
    engine = create_engine(MARIADB_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def mariadb_url(mariadb_admin: Engine) -> Iterator[str]:
    """The URL of a fresh, empty MariaDB database (utf8mb4), dropped after the test."""
    name = f"oasis_shop_{uuid.uuid4().hex[:10]}"
    with mariadb_admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    url = make_url(MARIADB_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False) + "?charset=utf8mb4"
    with mariadb_admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture
def postgres_shop_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for a shop, dropped after the test."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    name = f"oasis_shop_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def shop_admin(url: str) -> Engine:
    """A read-write engine on a test shop database (the tests play the shop)."""
    if url.startswith("postgresql"):
        return create_engine(url, connect_args={"options": "-c timezone=UTC"})
    return create_engine(url, connect_args={"init_command": "SET time_zone = '+00:00'"})


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _mariadb_skip_reason:
        terminalreporter.write_sep("!", "MariaDB TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_mariadb_skip_reason[0], red=True)
        terminalreporter.write_line(
            "Start it with: bash scripts/services.sh (or make services)", red=True
        )
