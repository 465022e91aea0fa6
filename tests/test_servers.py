"""Two servers on one database, as a city runs them behind its load balancer: any request may
land on either, so whatever must agree between them is kept in the database.

Each server is a real ``sweep serve`` process on 127.0.0.1; nothing is shared between them but
the database and the settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bench.fieldkit import Server
from sweep.auth.accounts import account, set_active
from sweep.auth.models import User
from sweep.auth.service import issue_token
from sweep.db import make_session_factory, unit_of_work
from sweep.field.models import Sample
from sweep.plan.models import Campaign
from tests.factories import uid
from tests.field.conftest import Round, committed_round, numbers_of  # noqa: F401 - committed_round is a fixture

KEY = "test-secret"
LOGIN_ATTEMPTS = 6
# Each server polls the revocations this often (SWEEP_AUTH_POLL_SECONDS); a user disabled, or a
# log-in revoked, on one server is refused by every other within that, give or take a request.
POLL_SECONDS = 2
REFUSED_WITHIN_S = POLL_SECONDS + 1.5


def _server(db_url: str) -> Server:
    return Server(db_url, serve=True, env={"SWEEP_SECRET_KEY": KEY, "SWEEP_LOGIN_ATTEMPTS": str(LOGIN_ATTEMPTS),
                                           "SWEEP_AUTH_POLL_SECONDS": str(POLL_SECONDS)})


@pytest.fixture(scope="module")
def servers(db_url: str, committed_round: Round) -> Iterator[tuple[Server, Server]]:  # noqa: F811
    pair = (_server(db_url), _server(db_url))
    try:
        for server in pair:
            server.start(timeout=60)
        yield pair
    finally:
        for server in pair:
            server.stop()


def _token(engine, username: str) -> str:  # type: ignore[no-untyped-def]
    """A bearer token issued in the database, as a log-in on any server would."""
    with unit_of_work(make_session_factory(engine)) as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return issue_token(session=session, user=user, kind="api", label="two servers")


def test_a_batch_resent_to_the_other_server_answers_as_the_first_would(engine, servers, committed_round):  # noqa: F811
    a, b = servers
    headers = {"authorization": f"Bearer {_token(engine, committed_round.users['staff_a'])}"}
    with unit_of_work(make_session_factory(engine)) as session:
        people = numbers_of(session, KEY, 3, skip=2900)
        starts_at = session.get(Campaign, committed_round.campaign_id).starts_at  # type: ignore[union-attr]
    tube = f"TWO-{uid()[:8]}"
    at = (starts_at + timedelta(hours=1)).isoformat()
    body = {"tubes": [{"code": tube}],
            "scans": [{"client_uuid": uid(), "tube_code": tube, "id_number": number, "sampled_at": at} for _pid, number in people]}
    path = f"/api/campaigns/{committed_round.campaign_id}/sites/{committed_round.site_a}/scans/batch"

    first = httpx.post(a.base + path, json=body, headers=headers, timeout=30)
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == ["ok"] * 3
    # The terminal lost the answer and its queue sends the batch again; the balancer picks the other server.
    on_b = httpx.post(b.base + path, json=body, headers=headers, timeout=30)
    on_a = httpx.post(a.base + path, json=body, headers=headers, timeout=30)
    assert on_b.status_code == on_a.status_code == 200
    assert [r["status"] for r in on_b.json()["results"]] == ["replayed"] * 3
    assert on_b.json() == on_a.json()
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Sample).where(Sample.client_uuid.in_([s["client_uuid"] for s in body["scans"]])))
    assert stored == 3


def _refused_by(server: Server, headers: dict[str, str]) -> float:
    """Seconds until ``server`` answers 401 to these credentials (fails past REFUSED_WITHIN_S)."""
    started = time.monotonic()
    while True:
        status = httpx.get(server.base + "/api/auth/me", headers=headers, timeout=5).status_code
        waited = time.monotonic() - started
        if status == 401:
            return waited
        assert status == 200, status
        assert waited < REFUSED_WITHIN_S, f"still let in by {server.base} after {waited:.1f} s"
        time.sleep(0.1)


def test_a_log_out_on_one_server_is_refused_by_the_other(engine, servers, committed_round):  # noqa: F811
    a, b = servers
    headers = {"authorization": f"Bearer {_token(engine, committed_round.users['command'])}"}
    assert httpx.get(b.base + "/api/auth/me", headers=headers, timeout=5).status_code == 200
    assert httpx.post(a.base + "/api/auth/logout", headers=headers, timeout=5).status_code == 204
    _refused_by(b, headers)


def test_a_disabled_user_is_refused_by_both_servers_within_seconds(engine, servers, committed_round):  # noqa: F811
    a, b = servers
    name = committed_round.users["courier"]
    headers = {"authorization": f"Bearer {_token(engine, name)}"}
    for server in servers:
        assert httpx.get(server.base + "/api/auth/me", headers=headers, timeout=5).status_code == 200
    with unit_of_work(make_session_factory(engine)) as session:
        set_active(session=session, user=account(session=session, username=name), active=False, by=None)
    try:
        for server in (b, a):
            _refused_by(server, headers)
    finally:
        with unit_of_work(make_session_factory(engine)) as session:
            set_active(session=session, user=account(session=session, username=name), active=True, by=None)


# Last in the module: once the limit is shared, this address has used it up on both servers.
def test_one_log_in_limit_across_both_servers(servers, committed_round):  # noqa: F811
    """Guesses spread over the servers meet one limit: at most SWEEP_LOGIN_ATTEMPTS in all."""
    a, b = servers
    guess = {"username": committed_round.users["leader_a"], "password": "not the password"}
    answers = [httpx.post((a, b)[k % 2].base + "/api/auth/token", json=guess, timeout=10).status_code for k in range(LOGIN_ATTEMPTS + 1)]
    assert set(answers[:-1]) <= {401, 429}
    assert answers[-1] == 429, answers
