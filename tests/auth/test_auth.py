"""Log-in, tokens, roles, scope, CSRF and the rate limit, over real HTTP routes on both backends."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from typer.testing import CliRunner

from sweep.api import create_app
from sweep.auth.models import AuditEntry, User
from sweep.auth.passwords import hash_password, verify_password
from sweep.auth.policy import Can, can, require_site
from sweep.auth.ratelimit import RateLimiter, TooManyAttempts
from sweep.auth.service import create_user
from sweep.config import Settings
from sweep.db import make_session_factory, unit_of_work
from sweep.errors import InvalidInput, WrongSite

PASSWORD = "correct horse battery"


@pytest.fixture
def app_on(engine, db_url):
    settings = Settings(database_url=db_url, secret_key="test-secret", login_attempts=3, login_window_seconds=60, auth_poll_seconds=30)
    app = create_app(settings=settings, engine=engine)

    def user(role: str, **scope) -> str:
        # Committed (the app reads them over its own connections), under names no other test uses.
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        with unit_of_work(make_session_factory(engine)) as session:
            create_user(session=session, username=name, display_name=name, role=role, password=PASSWORD, **scope)
        return name

    return app, user


def _token(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


def test_passwords_are_hashed_and_short_ones_refused():
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(PASSWORD, stored) and not verify_password("wrong password", stored)
    assert not verify_password(PASSWORD, None)
    with pytest.raises(InvalidInput) as err:
        hash_password("short")
    assert err.value.field == "password"


def test_token_login_me_and_logout(app_on):
    app, user = app_on
    name = user("command")
    with TestClient(app) as client:
        headers = _token(client, name)
        assert client.get("/api/auth/me", headers=headers).json()["role"] == "command"
        assert client.post("/api/auth/logout", headers=headers).status_code == 204
        gone = client.get("/api/auth/me", headers=headers)
        assert gone.status_code == 401 and gone.json()["field"] == "authorization"


def test_wrong_passwords_slow_that_address_for_that_account_only(app_on):
    app, user = app_on  # three failures allowed in the window
    name = user("command")
    here, elsewhere = TestClient(app, client=("10.0.0.7", 5000)), TestClient(app, client=("10.0.0.8", 5000))
    with here, elsewhere:
        for _ in range(3):
            r = here.post("/api/auth/token", json={"username": name, "password": "not the password"})
            assert r.status_code == 401 and r.json()["field"] == "password"
        r = here.post("/api/auth/token", json={"username": name, "password": PASSWORD})
        assert r.status_code == 429 and r.json()["retry_after"] >= 1
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # The same account from another address is not locked out.
        assert elsewhere.post("/api/auth/token", json={"username": name, "password": PASSWORD}).status_code == 200


def test_eleven_wrong_passwords_give_429_there_while_the_right_one_works_elsewhere(engine, db_url):
    app = create_app(settings=Settings(database_url=db_url, secret_key="test-secret"), engine=engine)  # the defaults: 10 in 300 s
    name = f"desk-{uuid.uuid4().hex[:8]}"
    with unit_of_work(make_session_factory(engine)) as session:
        create_user(session=session, username=name, display_name=name, role="lab", password=PASSWORD)
    here, elsewhere = TestClient(app, client=("10.1.0.7", 5000)), TestClient(app, client=("10.1.0.8", 5000))
    with here, elsewhere:
        answers = [here.post("/api/auth/token", json={"username": name, "password": "wrong password"}).status_code for _ in range(11)]
        assert answers == [401] * 10 + [429]
        assert here.post("/api/auth/token", json={"username": name, "password": PASSWORD}).status_code == 429
        assert elsewhere.post("/api/auth/token", json={"username": name, "password": PASSWORD}).status_code == 200


def test_thirty_correct_log_ins_from_one_address_all_succeed(engine, db_url):
    app = create_app(settings=Settings(database_url=db_url, secret_key="test-secret"), engine=engine)
    names = []
    with unit_of_work(make_session_factory(engine)) as session:
        for i in range(3):
            names.append(f"nat-{i}-{uuid.uuid4().hex[:6]}")
            create_user(session=session, username=names[-1], display_name="登记员", role="lab", password=PASSWORD)
    with TestClient(app, client=("10.2.0.1", 5000)) as client:  # one site's phones behind one NAT
        answers = [client.post("/api/auth/token", json={"username": names[i % 3], "password": PASSWORD}).status_code for i in range(30)]
    assert answers == [200] * 30


def test_a_correct_password_forgives_its_own_failures(app_on):
    app, user = app_on
    name = user("lab")
    with TestClient(app, client=("10.3.0.1", 5000)) as client:
        for _ in range(2):
            assert client.post("/api/auth/token", json={"username": name, "password": "typo typo typo"}).status_code == 401
        assert client.post("/api/auth/token", json={"username": name, "password": PASSWORD}).status_code == 200
        for _ in range(3):
            assert client.post("/api/auth/token", json={"username": name, "password": "typo typo typo"}).status_code == 401
        assert client.post("/api/auth/token", json={"username": name, "password": PASSWORD}).status_code == 429


def test_a_revoked_token_stops_at_once_on_the_server_that_revoked_it(app_on):
    app, user = app_on
    admin, staff = user("admin"), user("lab")
    with TestClient(app) as client:
        boss, them = _token(client, admin), _token(client, staff)
        me = client.get("/api/auth/me", headers=them).json()["id"]  # now cached
        # A cached log-in costs no query: the request reads no table to know who calls.
        statements: list[str] = []

        def listen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(app.state.engine, "before_cursor_execute", listen)
        try:
            assert client.get("/api/auth/me", headers=them).status_code == 200
        finally:
            event.remove(app.state.engine, "before_cursor_execute", listen)
        assert statements == []
        assert client.post(f"/api/users/{me}/disable", headers=boss).status_code == 200
        assert client.get("/api/auth/me", headers=them).status_code == 401


def test_roles_decide_who_reads_names(app_on, district_loaded):
    app, user = app_on
    lab_user = user("lab")
    with TestClient(app) as client:
        r = client.get("/api/campaigns/latest/missing", headers=_token(client, lab_user))
        assert r.status_code == 403 and r.json()["field"] == "role"
        anonymous = client.get("/api/campaigns/latest/figures")
        assert anonymous.status_code == 401


def test_only_admins_create_users(app_on):
    app, user = app_on
    admin, office = user("admin"), user("command")
    body = {"username": f"inspector-{uuid.uuid4().hex[:8]}", "display_name": "新登记员", "role": "inspector", "password": PASSWORD}
    with TestClient(app) as client:
        assert client.post("/api/users", json=body, headers=_token(client, office)).status_code == 403
        bad = client.post("/api/users", json={**body, "role": "wizard"}, headers=_token(client, admin))
        assert bad.status_code == 422 and bad.json()["field"] == "role"
        made = client.post("/api/users", json=body, headers=_token(client, admin))
        assert made.status_code == 201
        with unit_of_work(make_session_factory(app.state.engine)) as session:
            assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "user.created", AuditEntry.entity_id == made.json()["id"]))


def test_page_session_needs_the_csrf_token_to_post(app_on):
    app, user = app_on
    name = user("command")
    with TestClient(app) as client:
        r = client.post("/login", data={"username": name, "password": PASSWORD, "next": "//evil.example"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        refused = client.post("/logout", data={}, follow_redirects=False)
        assert refused.status_code == 403 and refused.json()["field"] == "csrf_token"
        page = client.get("/login")
        token = client.cookies.get("sweep_session")
        from sweep.auth.service import csrf_token

        done = client.post("/logout", data={"csrf_token": csrf_token(token, key="test-secret")}, follow_redirects=False)
        assert done.status_code == 303
        assert page.status_code == 200 and re.search(r'name="password"', page.text)


def test_site_scope_and_policy():
    from datetime import datetime

    from sweep.auth.scope import Scope, may_write_site
    from sweep.auth.tokens import Principal

    # A site account is bound to its fixed site: every round's copy of it is its own.
    staff = Principal(id=1, username="s", display_name="s", role="site_staff", office_id=None, candidate_site_id=7, active=True,
                      expires_at=datetime.max, site_ids=frozenset({1, 11}))
    require_site(staff, 1)
    require_site(staff, 11)
    with pytest.raises(WrongSite):
        require_site(staff, 2)

    class Site:
        def __init__(self, office_id: int, candidate_site_id: int) -> None:
            self.office_id, self.candidate_site_id = office_id, candidate_site_id

    assert may_write_site(staff, Site(3, 7)) and not may_write_site(staff, Site(3, 8))
    office = Scope(role="office", user_id=2, office_id=3)
    assert office.may_write_site(Site(3, 8)) and not office.may_write_site(Site(4, 7))
    assert not Scope(role="lab", user_id=3).may_write_site(Site(3, 7))
    assert not Scope(role="office", user_id=2, office_id=None).may_write_site(Site(3, 7))
    assert can(staff, Can.SCAN) and not can(staff, Can.SEE_CONTACTS)
    lab = User(username="l", display_name="l", role="lab", active=True)
    assert can(lab, Can.RESULTS) and not can(lab, Can.SEE_CONTACTS)
    assert not can(User(username="x", display_name="x", role="admin", active=False), Can.SCAN)


def test_rate_limiter_window():
    limiter = RateLimiter(attempts=2, per_seconds=10)
    limiter.hit("k", field="f", now=0)
    limiter.hit("k", field="f", now=1)
    with pytest.raises(TooManyAttempts):
        limiter.hit("k", field="f", now=2)
    limiter.hit("k", field="f", now=10.5)


def test_cli_creates_a_user_and_refuses_a_bad_role(tmp_path, monkeypatch):
    from sweep import migrate
    from sweep.cli import app

    url = f"sqlite:///{tmp_path / 'users.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("SWEEP_DATABASE_URL", url)
    from sweep.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    ok = runner.invoke(app, ["user", "create", "--username", "admin", "--role", "admin", "--password", PASSWORD])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["user", "create", "--username", "x", "--role", "wizard", "--password", PASSWORD])
    assert bad.exit_code == 2 and "role" in bad.output
    get_settings.cache_clear()
