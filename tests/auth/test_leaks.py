"""Each way personal data used to cross the lines the roles promise, tried as a user of each role would,
on a played round with two offices and two sites (side A: the user's own; side B: the other)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from sweep.auth.models import AuditEntry, User
from sweep.db import make_session_factory, unit_of_work
from sweep.registry.models import Building, Person, RegistryImport
from tests.auth.world import PASSWORD, World, build, database, drop


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    url, cleanup = database(request, tmp_path_factory)
    made = build(url)
    made.url = url  # type: ignore[attr-defined]
    yield made
    made.app.state.engine.dispose()
    drop(cleanup)


@pytest.fixture(scope="module")
def client(world):  # type: ignore[no-untyped-def]
    with TestClient(world.app) as c:
        yield c


def as_(client: TestClient, world: World, who: str) -> dict[str, str]:
    answer = client.post("/api/auth/token", json={"username": world.users[who], "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['token']}"}


def _session(world: World):  # type: ignore[no-untyped-def]
    return unit_of_work(make_session_factory(world.app.state.engine))


def _audits(world: World, action: str) -> list[tuple[int | None, dict]]:
    with _session(world) as session:
        return [(u, d) for u, d in session.execute(select(AuditEntry.user_id, AuditEntry.detail).where(AuditEntry.action == action)
                                                    .order_by(AuditEntry.id))]


def test_an_office_exports_its_own_people_only(client, world):
    office = as_(client, world, "office")
    with _session(world) as session:
        own = session.scalar(select(func.count()).select_from(Person).where(Person.office_id == world.a.office_id))
    whole = client.get("/api/registry/export", params={"format": "csv"}, headers=office)
    assert whole.status_code == 200
    rows = list(csv.reader(io.StringIO(whole.content.decode("utf-8-sig"))))[1:]
    assert len(rows) == own and own < sum(1 for _ in world.id_numbers)
    assert {r[6] for r in rows} <= {world.a.community} | _communities(world, world.a.office_id)
    other = client.get("/api/registry/export", params={"community": world.b.community}, headers=office)
    assert other.status_code == 403 and other.json()["field"] == "community"
    # The export is on the record with the area and the number of people.
    user, detail = _audits(world, "registry.export")[-1]
    assert user == world.ids["office"] and detail["people"] == own and detail["area"] == f"office:{world.a.office_id}"


def _communities(world: World, office_id: int) -> set[str]:
    from sweep.registry.models import Community

    with _session(world) as session:
        return set(session.scalars(select(Community.code).where(Community.office_id == office_id)))


def test_an_office_import_refuses_the_rows_of_another_office_and_names_its_user(client, world):
    office = as_(client, world, "office")
    with _session(world) as session:
        person = session.get(Person, world.b.person)
        building = session.get(Building, person.building_id).code
        phone_before = person.phone
    sheet = f"姓名,身份证号,楼栋编码,手机号\n{person.name},{world.id_numbers[person.id]},{building},13900000000\n".encode()
    answer = client.post("/api/registry/imports/people", files={"file": ("p.csv", sheet, "text/csv")}, headers=office)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["imported"], report["updated"], report["rejected_rows"]) == (0, 0, 1)
    assert report["rejected"][0]["row"] == 2 and report["rejected"][0]["field"] == "building"
    assert "office" in report["rejected"][0]["reason"]
    with _session(world) as session:
        assert session.get(Person, person.id).phone == phone_before
        record = session.get(RegistryImport, report["import_id"])
        assert record.user_id == world.ids["office"] and record.office_id == world.a.office_id
    user, detail = _audits(world, "registry.import")[-1]
    assert user == world.ids["office"] and detail["rejected_rows"] == 1


def test_an_office_sees_its_own_overdue_key_group_members_and_its_own_rejected_rows(client, world):
    office, hq = as_(client, world, "office"), as_(client, world, "command")
    later = {"as_of": "2027-06-01T00:00:00"}  # everyone's last test is long past by then
    mine = client.get("/api/key-groups/compliance", params=later, headers=office).json()
    everyone = client.get("/api/key-groups/compliance", params=later, headers=hq).json()
    seen = {p["person_id"] for e in mine for p in e["overdue"]}
    with _session(world) as session:
        offices = dict(session.execute(select(Person.id, Person.office_id).where(Person.key_group_id.is_not(None))).all())
    assert seen and {offices[p] for p in seen} == {world.a.office_id}
    assert {offices[p["person_id"]] for e in everyone for p in e["overdue"]} >= {world.a.office_id, world.b.office_id}
    refused = client.get(f"/api/registry/imports/{world.b.import_id}/rejected.xlsx", headers=office)
    assert refused.status_code == 403 and refused.json()["field"] == "import_id"
    assert client.get(f"/api/registry/imports/{world.a.import_id}/rejected.xlsx", headers=office).status_code == 200


def test_a_site_leader_reads_its_own_site_only(client, world):
    leader = as_(client, world, "site_leader")
    base = f"/api/campaigns/{world.campaign}"
    missing = client.get(f"{base}/missing", params={"limit": 100_000}, headers=leader).json()
    hq = client.get(f"{base}/missing", params={"limit": 100_000}, headers=as_(client, world, "command")).json()
    assert missing and len(missing) < len(hq)
    with _session(world) as session:
        offices = dict(session.execute(select(Person.id, Person.office_id)).all())
    assert {offices[m["person_id"]] for m in missing} == {world.a.office_id}
    assert world.b.person not in {m["person_id"] for m in missing} and world.a.person in {m["person_id"] for m in missing}
    assert client.get(f"{base}/tubes/{world.b.tube}/trace", headers=leader).status_code == 403
    assert client.get(f"{base}/tubes/{world.a.tube}/trace", headers=leader).status_code == 200
    other = client.get(f"{base}/people/{world.b.person}/status", headers=leader)
    assert other.status_code == 403 and other.json()["field"] == "person_id" and world.id_numbers[world.b.person] not in other.text
    assert client.get(f"{base}/people/{world.a.person}/status", headers=leader).status_code == 200


def test_the_hq_views_of_names_and_phones_are_on_the_record(client, world):
    hq = as_(client, world, "command")
    base = f"/api/campaigns/{world.campaign}"
    traced = client.get(f"{base}/tubes/{world.a.tube}/trace", headers=hq).json()
    assert traced["people"] and traced["people"][0]["phone"]
    user, detail = _audits(world, "personal.trace")[-1]
    assert user == world.ids["command"] and detail["people"] == len(traced["people"]) and detail["area"] == "district"
    board = client.get(f"{base}/alerts", params={"include_closed": "true"}, headers=hq).json()
    shown = {r["person_id"] for a in board for r in a["retests"]}
    assert shown
    user, detail = _audits(world, "personal.alerts")[-1]
    assert user == world.ids["command"] and detail["people"] == len(shown)
    # The lab sees the same board with people masked, and that is no view of personal data.
    before = len(_audits(world, "personal.alerts"))
    masked = client.get(f"{base}/alerts", params={"include_closed": "true"}, headers=as_(client, world, "lab")).json()
    assert all(r["name"] is None and r["phone"] is None for a in masked for r in a["retests"])
    assert len(_audits(world, "personal.alerts")) == before


def test_cli_commands_record_their_operator_and_ask_for_the_password_before_showing_names(world, monkeypatch):
    from sweep.cli import app
    from sweep.config import get_settings

    monkeypatch.setenv("SWEEP_DATABASE_URL", world.url)  # type: ignore[attr-defined]
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        refused = runner.invoke(app, ["lab", "trace", world.a.tube, "--json"])
        assert refused.exit_code == 2 and "--as" in refused.output
        wrong = runner.invoke(app, ["lab", "trace", world.a.tube, "--json", "--as", world.users["command"]], input="wrong password\n")
        assert wrong.exit_code == 2
        shown = runner.invoke(app, ["lab", "trace", world.a.tube, "--json", "--as", world.users["command"]], input=f"{PASSWORD}\n")
        assert shown.exit_code == 0, shown.output
        user, detail = _audits(world, "personal.trace")[-1]
        assert user == world.ids["command"] and detail["via"] == "cli" and detail["os_user"]
        # A command that shows nobody's personal data is recorded under the system account and the OS user.
        done = runner.invoke(app, ["coverage", "refresh"])
        assert done.exit_code == 0, done.output
        status = runner.invoke(app, ["user", "revoke-tokens", world.users["courier_b"]])
        assert status.exit_code == 0, status.output
        with _session(world) as session:
            who, detail = session.execute(select(AuditEntry.user_id, AuditEntry.detail).where(AuditEntry.action == "user.tokens_revoked")
                                          .order_by(AuditEntry.id.desc())).first()
            system = session.scalar(select(User.id).where(User.username == "system"))
        assert who is not None and who == system and detail["os_user"] and detail["via"] == "cli"
        listed = runner.invoke(app, ["audit", "--action", "personal", "--json"])
        lines = json.loads(listed.stdout)
        assert listed.exit_code == 0 and lines and all(a["action"].startswith("personal.") for a in lines)
    finally:
        get_settings.cache_clear()


def test_preregistration_answers_a_registered_and_an_unregistered_number_alike(client, world):
    url = f"/api/campaigns/{world.campaign}/preregistrations"
    registered = client.post(url, json={"id_number": world.id_numbers[world.a.person]})
    stranger = client.post(url, json={"id_number": "11010519491231002X"})
    assert registered.status_code == stranger.status_code == 200
    assert set(registered.json()) == set(stranger.json()) and stranger.json()["code"].startswith("P")
    assert "11010519491231002X" not in stranger.text


def test_error_answers_never_echo_an_id_number(client, world):
    number = world.id_numbers[world.a.person]
    too_long = client.post("/api/resident/result", json={"id_number": number * 2, "phone_last4": "1234"})
    assert too_long.status_code == 422 and number not in too_long.text and "input" not in too_long.json()["errors"][0]
    bad_digit = number[:17] + ("0" if number[17] != "0" else "1")
    refused = client.post(f"/api/campaigns/{world.campaign}/preregistrations", json={"id_number": bad_digit})
    assert refused.status_code == 422 and refused.json()["field"] == "id_number" and bad_digit not in refused.text


def test_a_site_account_keeps_working_at_its_fixed_site_in_the_next_round(client, world):
    from sweep.config import get_settings
    from sweep.plan.models import Campaign, PlanSite
    from sweep.plan.planning import make_plan
    from sweep.plan.service import choose_campaign

    staff = as_(client, world, "site_staff")
    with _session(world) as session:
        settings = get_settings()
        nxt, made = choose_campaign(session=session, settings=settings, new_round=True)
        assert made
        make_plan(session=session, settings=settings, campaign=nxt)
        again = session.scalar(select(PlanSite).where(PlanSite.campaign_id == nxt.id, PlanSite.candidate_site_id == world.a.candidate_site_id))
        other = session.scalar(select(PlanSite).where(PlanSite.campaign_id == nxt.id, PlanSite.candidate_site_id == world.b.candidate_site_id))
        nxt_id, again_id, other_id = nxt.id, again.id, other.id
    try:
        assert again_id != world.a.site_id
        board = client.get(f"/api/campaigns/{nxt_id}/sites/{again_id}/readiness", headers=staff)
        assert board.status_code == 200 and board.json()
        assert client.get(f"/api/campaigns/{nxt_id}/sites/{other_id}/readiness", headers=staff).status_code == 403
        assert client.get(f"/api/campaigns/{nxt_id}/sites/{again_id}/terminal", headers=staff).status_code == 200
    finally:
        with _session(world) as session:
            session.delete(session.get(Campaign, nxt_id))


def test_admins_run_the_accounts_over_the_api(client, world):
    admin = as_(client, world, "admin")
    listed = client.get("/api/users", headers=admin).json()
    assert {a["username"] for a in listed} >= set(world.users.values()) and "system" not in {a["username"] for a in listed}
    courier = as_(client, world, "courier")
    assert client.get("/api/auth/me", headers=courier).status_code == 200
    uid = world.ids["courier"]
    assert client.post(f"/api/users/{uid}/disable", headers=admin).json()["active"] is False
    refused = client.get("/api/auth/me", headers=courier)
    assert refused.status_code == 401
    assert client.post("/api/auth/token", json={"username": world.users["courier"], "password": PASSWORD}).status_code == 401
    assert client.post(f"/api/users/{uid}/enable", headers=admin).json()["active"] is True
    courier = as_(client, world, "courier")
    assert client.post(f"/api/users/{uid}/revoke-tokens", headers=admin).json()["revoked"] >= 1
    assert client.get("/api/auth/me", headers=courier).status_code == 401
    moved = client.put(f"/api/users/{world.ids['site_staff_b']}/scope", json={"site": world.a.site_code}, headers=admin)
    assert moved.status_code == 200 and moved.json()["candidate_site_id"] == world.a.candidate_site_id
    back = client.put(f"/api/users/{world.ids['site_staff_b']}/scope", json={"site": world.b.site_code}, headers=admin)
    assert back.status_code == 200
    bad = client.put(f"/api/users/{uid}/role", json={"role": "office"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "office_id"
    assert client.get("/api/users", headers=as_(client, world, "command")).status_code == 403
    lines = client.get("/api/audit", params={"action": "user"}, headers=admin).json()
    assert {"user.disabled", "user.enabled", "user.tokens_revoked", "user.role_changed"} <= {a["action"] for a in lines}
    assert all(a["username"] == world.users["admin"] for a in lines if a["action"] in ("user.disabled", "user.enabled"))


def test_a_token_lasts_until_the_end_of_the_round_day(client, world):
    answer = client.post("/api/auth/token", json={"username": world.users["lab"], "password": PASSWORD}).json()
    ends = datetime.fromisoformat(answer["expires_at"])
    now = datetime.now()
    assert ends > now and (ends.hour, ends.minute) == (0, 0) and (ends - now).total_seconds() <= 25 * 3600


def test_pages_carry_security_headers_and_the_docs_work_offline(client, world):
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    hq = as_(client, world, "command")
    missing = client.get(f"/api/campaigns/{world.campaign}/missing", params={"limit": 5}, headers=hq)
    assert missing.headers["cache-control"] == "no-store"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "http" not in docs.text and "<script>" not in docs.text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    bundle = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 500_000 and "no-store" not in bundle.headers.get("cache-control", "")
    assert client.get("/redoc").status_code == 404


def test_the_docs_need_a_log_in_in_production(world):
    from sweep.api import create_app
    from sweep.config import Settings

    app = create_app(settings=Settings(database_url=world.url, secret_key="a production secret", environment="production"),  # type: ignore[attr-defined]
                     engine=world.app.state.engine)
    with TestClient(app) as c:
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/docs", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303
        token = c.post("/api/auth/token", json={"username": world.users["lab"], "password": PASSWORD}).json()["token"]
        assert c.get("/openapi.json", headers={"authorization": f"Bearer {token}"}).json()["info"]["title"] == "Sweep"


def test_the_admin_page_lists_the_accounts_and_ends_log_ins(world):
    from sweep.auth.service import csrf_token

    with TestClient(world.app) as page:
        page.post("/login", data={"username": world.users["admin"], "password": PASSWORD, "next": "/admin/users"})
        listed = page.get("/admin/users")
        assert listed.status_code == 200 and world.users["site_staff"] in listed.text and "system" not in listed.text
        staff = as_(page, world, "site_staff")
        session_token = page.cookies.get("sweep_session")
        refused = page.post(f"/admin/users/{world.ids['site_staff']}", data={"action": "revoke"}, follow_redirects=False)
        assert refused.status_code == 403 and refused.json()["field"] == "csrf_token"
        done = page.post(f"/admin/users/{world.ids['site_staff']}", data={"action": "revoke", "csrf_token": csrf_token(
            session_token, key=world.app.state.settings.secret_key)}, follow_redirects=False)
        assert done.status_code == 303
        assert page.get("/api/auth/me", headers=staff).status_code == 401
    with TestClient(world.app) as other:
        other.post("/login", data={"username": world.users["command"], "password": PASSWORD, "next": "/"})
        assert other.get("/admin/users").status_code == 403
