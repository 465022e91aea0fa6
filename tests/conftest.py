"""Every database test runs twice: on SQLite and on a real PostgreSQL server.

PostgreSQL comes from SWEEP_TEST_DATABASE_URL (default: the local server's ``test`` database);
a fresh database is created for the session and dropped afterwards. Without a reachable server
the PostgreSQL half fails, unless SWEEP_TEST_WITHOUT_POSTGRESQL=1 says to run SQLite alone; then
it is skipped and the run's summary says so loudly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from sweep import migrate
from sweep.config import Settings
from sweep.db import make_engine, normalise_url

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
_pg_state: dict[str, str] = {}


def _admin_url() -> str:
    return normalise_url(os.environ.get("SWEEP_TEST_DATABASE_URL", DEFAULT_PG))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    admin = _admin_url()
    try:
        admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        _pg_state["missing"] = f"{make_url(admin).render_as_string(hide_password=True)}: {exc.__class__.__name__}"
        if os.environ.get("SWEEP_TEST_WITHOUT_POSTGRESQL") != "1":
            pytest.fail(f"PostgreSQL is not reachable at {_pg_state['missing']} "
                        "(start it, set SWEEP_TEST_DATABASE_URL, or SWEEP_TEST_WITHOUT_POSTGRESQL=1 to run SQLite alone)",
                        pytrace=False)
        pytest.skip(f"PostgreSQL not reachable ({_pg_state['missing']}); SWEEP_TEST_WITHOUT_POSTGRESQL=1")
    name = f"sweep_test_{uuid.uuid4().hex[:10]}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    _pg_state["used"] = make_url(url).render_as_string(hide_password=True)
    migrate.upgrade(url)
    yield url
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sweep-test.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(database_url="sqlite://", secret_key="test-secret")


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session whose every change, commits and savepoints included, is rolled back at the end."""
    with engine.connect() as conn:
        outer = conn.begin()
        if conn.dialect.name == "sqlite":
            # The driver starts SQLite's transaction lazily, at the first write; a SAVEPOINT sent
            # first would open (and its RELEASE commit) a real transaction. Begin it now.
            conn.exec_driver_sql("BEGIN")
        with Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            yield s
        outer.rollback()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with rolled_back_session(engine) as s:
        yield s


@pytest.fixture(scope="session")
def district_loaded(engine: Engine, settings: Settings) -> dict[str, int]:
    """A small district in the registry, committed once per backend and shared read-only."""
    from sweep.demo.district import generate_district
    from sweep.demo.load import load_district

    with engine.begin() as conn:
        return load_district(conn, generate_district(people=3000, seed=7), key=settings.secret_key)


@pytest.fixture
def start() -> datetime:
    return datetime(2026, 12, 1, 7, 0)


def pytest_report_header(config: pytest.Config) -> str:
    return f"sweep database backends: {', '.join(BACKENDS)} (PostgreSQL admin URL from SWEEP_TEST_DATABASE_URL or {DEFAULT_PG})"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if "missing" in _pg_state:
        terminalreporter.section("PostgreSQL", sep="!", red=True, bold=True)
        terminalreporter.line(
            f"PostgreSQL was NOT reachable ({_pg_state['missing']}): only the SQLite half of the database tests ran.",
            red=True,
            bold=True,
        )
    elif "used" in _pg_state:
        terminalreporter.line(f"PostgreSQL: database tests ran on {_pg_state['used']} (dropped afterwards)")


@contextmanager
def scratch_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test or module, dropped afterwards."""
    request.getfixturevalue("pg_url")  # fails when there is no server (skips when told to run SQLite alone)
    admin_engine = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"sweep_empty_{uuid.uuid4().hex[:10]}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, tuple[Engine, str] | None]:
    """A new database for a module's fixture, of the backend its parameter names (``sqlite`` or ``postgresql``):
    its URL, and what ``drop`` needs to remove it afterwards (nothing for SQLite's file)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('module') / 'module.db'}", None
    request.getfixturevalue("pg_url")  # fails when there is no server (skips when told to run SQLite alone)
    name = f"sweep_module_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(_admin_url()).set(database=name).render_as_string(hide_password=False), (admin, name)


def drop(cleanup: tuple[Engine, str] | None) -> None:
    if cleanup:
        admin, name = cleanup
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of the backend named by the test's ``backend`` parameter."""
    backend = request.param if hasattr(request, "param") else "sqlite"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgres(request) as url:
        yield url
