"""Two real server processes (``sweep serve``) on 127.0.0.1 against one database: one log-in limit
between them, and a user disabled on one refused by the other within seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.fieldkit import Server
from sweep import migrate
from sweep.auth.service import create_user
from sweep.db import make_engine, make_session_factory, unit_of_work

PASSWORD = "two servers password"
POLL_SECONDS = 1


@pytest.fixture(params=["sqlite", "postgresql"])
def servers(request, tmp_path) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from tests.conftest import scratch_postgres

    if request.param == "sqlite":
        yield from _started(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path)
    else:
        with scratch_postgres(request) as url:
            yield from _started(url, tmp_path)


def _started(url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    migrate.upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        create_user(session=session, username="admin", display_name="管理员", role="admin", password=PASSWORD)
        create_user(session=session, username="desk", display_name="登记员", role="lab", password=PASSWORD)
    engine.dispose()
    env = {"SWEEP_SECRET_KEY": "two-servers-secret", "SWEEP_LOGIN_ATTEMPTS": "4", "SWEEP_AUTH_POLL_SECONDS": str(POLL_SECONDS)}
    pair = [Server(url, serve=True, env=env, log=tmp_path / f"server-{i}.log") for i in (1, 2)]
    try:
        for server in pair:
            server.start(timeout=30)
        yield pair[0].base, pair[1].base
    finally:
        for server in pair:
            server.stop()


def _log_in(base: str, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}/api/auth/token", json={"username": username, "password": password}, timeout=10)


def test_two_servers_share_one_log_in_limit(servers):
    one, two = servers
    # Four failures allowed per account and address: two on each server use them all up.
    for base in (one, two, one, two):
        assert _log_in(base, "desk", "wrong password").status_code == 401
    for base in (one, two):
        refused = _log_in(base, "desk", PASSWORD)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1


def test_a_user_disabled_on_one_server_is_refused_by_the_other_within_seconds(servers):
    one, two = servers
    admin = {"authorization": f"Bearer {_log_in(one, 'admin', PASSWORD).json()['token']}"}
    desk = {"authorization": f"Bearer {_log_in(two, 'desk', PASSWORD).json()['token']}"}
    me = httpx.get(f"{two}/api/auth/me", headers=desk, timeout=10)
    assert me.status_code == 200  # cached on server two
    assert httpx.get(f"{one}/api/auth/me", headers=desk, timeout=10).status_code == 200  # and on server one
    disabled = httpx.post(f"{one}/api/users/{me.json()['id']}/disable", headers=admin, timeout=10)
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    started = time.monotonic()
    # At once on the server that disabled the user.
    assert httpx.get(f"{one}/api/auth/me", headers=desk, timeout=10).status_code == 401
    # Within a few seconds on the other one, which polls the revocations.
    while httpx.get(f"{two}/api/auth/me", headers=desk, timeout=10).status_code == 200:
        assert time.monotonic() - started < POLL_SECONDS + 4, "server two still accepts a disabled user"
        time.sleep(0.1)
    lag = time.monotonic() - started
    print(f"refused by the other server after {lag:.2f} s")
    assert lag < POLL_SECONDS + 4
    assert _log_in(two, "desk", PASSWORD).status_code == 401
