"""The database under a failover: multi-host URLs, pooled connections that die, and a clear 503
while no primary can be reached."""

from __future__ import annotations

import contextlib
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, make_url, select, text
from sqlalchemy.exc import OperationalError

from bench.fieldkit import free_port
from sweep.api import create_app
from sweep.auth.models import ApiToken, User
from sweep.auth.service import create_user
from sweep.config import Settings
from sweep.db import make_engine, make_session_factory, normalise_url, read_source, unit_of_work
from sweep.deps import SessionDep


def _with_query(url: str, **query: str) -> str:
    return make_url(url).update_query_dict(query).render_as_string(hide_password=False)


def _hosts_first_dead(url: str, **query: str) -> str:
    """The same database behind a libpq multi-host URL whose first host is down."""
    u = make_url(url)
    live = f"{u.host}:{u.port or 5432}"
    # A port nothing listens on: connecting is refused at once, as to a primary whose PostgreSQL was killed.
    dead = f"127.0.0.1:{free_port()}"
    user = u.username + (f":{u.password}" if u.password else "")
    tail = "&".join(f"{k}={v}" for k, v in query.items())
    return f"postgresql://{user}@{dead},{live}/{u.database}" + (f"?{tail}" if tail else "")


def test_libpq_multi_host_urls_are_read_as_libpq_writes_them():
    url = normalise_url("postgresql://sweep:pw@db1:5432,db2:5433/sweep?target_session_attrs=read-write")
    parsed = make_url(url)
    assert parsed.drivername == "postgresql+psycopg"
    assert parsed.query["host"] == ("db1:5432", "db2:5433")
    assert parsed.query["target_session_attrs"] == "read-write"
    assert parsed.database == "sweep" and parsed.password == "pw"
    # One host, or SQLite: as before.
    assert normalise_url("postgresql://u@db1:5432/sweep") == "postgresql+psycopg://u@db1:5432/sweep"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_multi_host_url_finds_the_server_that_takes_writes(pg_url):
    engine = make_engine(_hosts_first_dead(pg_url, target_session_attrs="read-write"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT NOT pg_is_in_recovery()")).scalar() is True
            assert read_source(conn).read_from == "primary"
    finally:
        engine.dispose()


def test_a_failover_costs_one_request_a_pool_then_new_connections(pg_url):
    """A failover closes every pooled connection at once. The first use of one fails (the request
    answers 503); the pool drops its older connections with it, so the next ones are new."""
    engine = make_engine(pg_url, pool_size=3, max_overflow=0)
    admin = make_engine(pg_url)
    try:
        held = [engine.connect() for _ in range(3)]
        before = {conn.execute(text("SELECT pg_backend_pid()")).scalar() for conn in held}
        for conn in held:
            conn.close()
        with admin.connect() as conn:
            for pid in before:
                assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        failed = 0
        after: set[int] = set()
        for _ in range(3):
            try:
                with engine.connect() as conn:
                    after.add(conn.execute(text("SELECT pg_backend_pid()")).scalar())
            except OperationalError:
                failed += 1
        assert failed == 1
        assert len(after) >= 1 and not after & before
    finally:
        engine.dispose()
        admin.dispose()


def _app(url: str) -> TestClient:
    return TestClient(create_app(settings=Settings(database_url=url, secret_key="test-secret")), raise_server_exceptions=False)


def test_no_primary_reachable_is_a_503_to_retry_not_a_500(pg_url):
    login = {"username": "nobody", "password": "whatever password"}
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/sweep"
    # Every host down; then the only host up is not what the URL asks for (a standby-only state).
    for url in (dead, _with_query(pg_url, target_session_attrs="standby")):
        with _app(url) as client:
            answer = client.post("/api/auth/token", json=login)
            assert answer.status_code == 503, url
            assert answer.json()["error"] == "unavailable" and answer.json()["field"] == "database"
            assert answer.headers["retry-after"] == "1"
            page = client.get("/dashboard", headers={"accept": "text/html", "authorization": "Bearer x"})
            assert page.status_code == 503 and "text/html" in page.headers["content-type"]
        client.app.state.engine.dispose()


def test_a_write_refused_as_read_only_is_a_503(pg_url):
    """A server that turned read-only under a live connection (an old primary demoted) refuses
    writes with SQLSTATE 25006: the request is to be sent again, to the new primary."""
    engine = make_engine(pg_url)
    name = f"hq-{uuid.uuid4().hex[:8]}"
    with unit_of_work(make_session_factory(engine)) as session:
        create_user(session=session, username=name, display_name="指挥部", role="command", password="command password 1")
    read_only = _with_query(pg_url, options="-c default_transaction_read_only=on")
    try:
        with _app(read_only) as client:
            # A log-in writes its token and an audit line.
            answer = client.post("/api/auth/token", json={"username": name, "password": "command password 1"})
        client.app.state.engine.dispose()
        assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
        with engine.connect() as conn:
            tokens = conn.execute(select(func.count()).select_from(ApiToken).join(User).where(User.username == name)).scalar()
        assert tokens == 0
    finally:
        with engine.begin() as conn:
            conn.execute(delete(User).where(User.username == name))
        engine.dispose()


def test_a_connection_lost_midway_is_a_503_even_when_the_route_carried_on(pg_url):
    """The connection dies inside a request (the primary was killed); the code goes on and meets
    SQLAlchemy's "roll back first" error instead of the disconnect itself: still a 503."""
    app = create_app(settings=Settings(database_url=pg_url, secret_key="test-secret"))

    @app.post("/api/lost-midway")
    def lost_midway(session: SessionDep) -> dict[str, str]:
        with contextlib.suppress(OperationalError):  # as a fallback path would: try again another way
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        with session.begin_nested():
            session.execute(text("SELECT 1"))
        return {"status": "saved"}

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/api/lost-midway")
        assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
        # The pool gave the dead connection up: the next request works.
        assert client.post("/api/auth/token", json={"username": "nobody", "password": "whatever password"}).status_code == 401
    app.state.engine.dispose()


def test_other_database_errors_stay_500(tmp_path):
    """A 503 says "send it again": a mistake in the code or the schema must not say so."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    app = create_app(settings=Settings(database_url=url, secret_key="test-secret"))

    @app.get("/api/broken")
    def broken(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT * FROM no_such_table"))  # SQLite: an OperationalError as well
        return {}

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/broken").status_code == 500
    app.state.engine.dispose()


def test_where_a_read_comes_from(engine):
    with engine.connect() as conn:
        source = read_source(conn)
    assert source.lag_s is None and source.streaming is None
    assert source.read_from == ("primary" if engine.dialect.name == "postgresql" else "sqlite")
