"""Shared fixtures: a fresh store on SQLite and, when the server is up, on PostgreSQL.

PostgreSQL tests use the local server on 127.0.0.1:5432 (user postgres, trust auth), each
session in its own throw-away database. When no server answers, those tests are skipped
and the run says so loudly at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

# Airflow reads its settings when first imported: give the whole test session a private
# AIRFLOW_HOME (SQLite metadata, our dags/ folder, no examples) and a private OASIS_HOME.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="oasis-tests-"))
os.environ["AIRFLOW_HOME"] = str(_SESSION_HOME / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parent.parent / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_SESSION_HOME / 'airflow.db'}"
os.environ.setdefault("OASIS_HOME", str(_SESSION_HOME / "oasis"))

from notify.store import migrate  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "OASIS_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
_pg_skip_reason: list[str] = []


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({type(exc).__name__})"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    reason = _pg_available()
    if reason:
        _pg_skip_reason.append(reason)
        pytest.skip(reason)
    name = f"oasis_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg(pg_url: str) -> Engine:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A migrated, empty store on each backend."""
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path / 'oasis.db'}")
        migrate(eng)
    else:
        eng = _fresh_pg(request.getfixturevalue("pg_url"))
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    eng = create_engine(f"sqlite:///{tmp_path / 'oasis.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _pg_skip_reason:
        terminalreporter.write_sep("!", "PostgreSQL TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_pg_skip_reason[0], red=True)
        terminalreporter.write_line(
            "Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            red=True,
        )


def pytest_unconfigure(config) -> None:
    """The session's private Airflow and Oasis homes go when the session ends."""
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)
