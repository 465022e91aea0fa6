"""The whole API, property-tested from its own OpenAPI description (schemathesis): no answer is a
server error (5xx) and every documented answer matches its schema. Each backend gets a round of
its own, and the requests are logged in as an admin so that they reach past the log-in."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy import create_engine, make_url, text

from sweep import migrate
from sweep.api import create_app
from sweep.auth.service import create_user
from sweep.config import Settings
from sweep.db import make_session_factory, unit_of_work
from sweep.demo.district import generate_district
from sweep.demo.load import load_district
from sweep.plan.planning import make_plan
from sweep.plan.service import create_campaign
from tests.conftest import _admin_url

PASSWORD = "schema test password"
KEY = "schema-test-secret"
# Enough to find the edges of each operation and still finish in a minute or two on two cores.
EXAMPLES_PER_OPERATION = 30
CHECKS = [not_a_server_error, response_schema_conformance]

# The schema is read when the module loads; the databases behind the apps are filled by fixtures.
SQLITE_URL = f"sqlite:///{tempfile.mkdtemp(prefix='sweep-schema-')}/schema.db"
PG_NAME = f"sweep_schema_{uuid.uuid4().hex[:10]}"
PG_URL = make_url(_admin_url()).set(database=PG_NAME).render_as_string(hide_password=False)


def _app(url: str) -> FastAPI:
    return create_app(settings=Settings(database_url=url, secret_key=KEY, login_attempts=10_000))


SQLITE_APP, PG_APP = _app(SQLITE_URL), _app(PG_URL)


def _prepare(app: FastAPI, url: str) -> dict[str, str]:
    """Schema, a small district, a planned round that started an hour ago, and an admin's token."""
    migrate.upgrade(url)
    engine = app.state.engine
    with engine.begin() as conn:
        load_district(conn, generate_district(people=400, seed=3), key=KEY)
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = create_campaign(session=session, settings=app.state.settings, name="接口测试轮", starts_at=datetime.now() - timedelta(hours=1))
        make_plan(session=session, settings=app.state.settings, campaign=campaign)
        create_user(session=session, username="fuzz-admin", display_name="fuzz", role="admin", password=PASSWORD)
    with TestClient(app) as client:
        token = client.post("/api/auth/token", json={"username": "fuzz-admin", "password": PASSWORD}).json()["token"]
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def sqlite_headers() -> Iterator[dict[str, str]]:
    yield _prepare(SQLITE_APP, SQLITE_URL)
    SQLITE_APP.state.engine.dispose()


@pytest.fixture(scope="module")
def pg_headers(pg_url) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    try:
        yield _prepare(PG_APP, PG_URL)
    finally:
        PG_APP.state.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        admin.dispose()


FUZZ = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
on_sqlite = schemathesis.openapi.from_asgi("/openapi.json", SQLITE_APP)
on_postgresql = schemathesis.openapi.from_asgi("/openapi.json", PG_APP)


@on_sqlite.parametrize()
@FUZZ
def test_the_api_on_sqlite(case, sqlite_headers):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=sqlite_headers, checks=CHECKS)


@on_postgresql.parametrize()
@FUZZ
def test_the_api_on_postgresql(case, pg_headers):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=pg_headers, checks=CHECKS)
