"""The results-and-coverage API over a played demo round, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from sweep.api import create_app
from sweep.auth.scope import Scope
from sweep.auth.service import create_user
from sweep.config import Settings, get_settings
from sweep.coverage.service import missing_list
from sweep.db import make_session_factory, unit_of_work
from sweep.demo.district import generate_district
from sweep.demo.run import run_demo
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import Person
from tests.conftest import database, drop
from tests.lab.helpers import sample_tube, ship

PEOPLE, SEED = 1500, 5
PASSWORD = "results api password"



@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    url, cleanup = database(request, tmp_path_factory)
    summary = run_demo(url=url, people=PEOPLE, seed=SEED, day=date(2026, 12, 1))
    key = get_settings().secret_key
    app = create_app(settings=Settings(database_url=url, secret_key=key, resident_attempts=3))
    with unit_of_work(make_session_factory(app.state.engine)) as session:
        campaign = session.get(Campaign, summary["campaign"])
        site = session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)).first()
        stragglers = [m.person_id for m in missing_list(session=session, scope=Scope.system(), campaign=campaign, limit=3)]
        late = campaign.starts_at + timedelta(hours=5)
        sample_tube(session, campaign, site.id, "APIT0001", stragglers[:2], late)
        ship(session, campaign, site.id, "APIB0001", ["APIT0001"], late + timedelta(minutes=10))
        person = session.get(Person, 1)
        office_id = person.office_id
        for username, role, extra in (("lab1", "lab", {}), ("office1", "office", {"office_id": office_id}),
                                      ("insp1", "inspector", {}), ("leader1", "site_leader", {"plan_site_id": site.id})):
            create_user(session=session, username=username, display_name=username, role=role, password=PASSWORD, **extra)
        site_id = site.id
    district = generate_district(people=PEOPLE, seed=SEED)
    with TestClient(app) as client:
        tokens = {
            name: client.post("/api/auth/token", json={"username": name, "password": pw}).json()["token"]
            for name, pw in ((summary["login"]["username"], summary["login"]["password"]), ("lab1", PASSWORD),
                             ("office1", PASSWORD), ("insp1", PASSWORD), ("leader1", PASSWORD))
        }
        headers = {("hq" if n == summary["login"]["username"] else n): {"authorization": f"Bearer {t}"} for n, t in tokens.items()}
        yield client, headers, summary, {"office_id": office_id, "site_id": site_id, "id_number": district.people.id_number[0],
                                         "phone": district.people.phone[0], "stragglers": stragglers}
    app.state.engine.dispose()
    drop(cleanup)


def test_the_alert_board_and_the_trace_follow_the_roles(api):
    client, headers, summary, _ctx = api
    board = client.get("/api/campaigns/latest/alerts", headers=headers["hq"]).json()
    assert len(board) == summary["positives"] == 2
    assert all(a["result"] == "positive" and a["open"] == len(a["retests"]) for a in board)
    assert all(r["name"] and r["contacts_shown"] for a in board for r in a["retests"])
    lab = client.get("/api/campaigns/latest/alerts", headers=headers["lab1"]).json()
    assert all(r["name"] is None and r["phone"] is None for a in lab for r in a["retests"])
    office = client.get("/api/campaigns/latest/alerts", headers=headers["office1"]).json()
    hq_people = {r["person_id"] for a in board for r in a["retests"]}
    assert {r["person_id"] for a in office for r in a["retests"]} <= hq_people

    tube = board[0]["tube_code"]
    traced = client.get(f"/api/campaigns/latest/tubes/{tube}/trace", headers=headers["hq"]).json()
    assert len(traced["people"]) == len(board[0]["retests"]) and traced["result"] == "positive"
    assert all(p["phone"] and p["building"] for p in traced["people"])
    hidden = client.get(f"/api/campaigns/latest/tubes/{tube}/trace", headers=headers["lab1"]).json()
    assert all(p["phone"] is None and p["name"] is None for p in hidden["people"])
    assert client.get(f"/api/campaigns/latest/tubes/{tube}/trace", headers=headers["insp1"]).status_code == 403
    order = board[0]["retests"][0]["order_id"]
    closed = client.post(f"/api/campaigns/latest/retests/{order}/close", json={"result": "negative"}, headers=headers["lab1"])
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_an_instrument_file_is_loaded_with_its_bad_rows_named(api):
    client, headers, _summary, _ctx = api
    csv = "管码,结果,ORF1ab,N基因,检测时间\nAPIT0001,阳性,30.1,28.7,2026-12-01 15:00\nNOPE0001,阴性,,,\n".encode()
    r = client.post("/api/campaigns/latest/results/import", files={"file": ("plate1.csv", csv, "text/csv")}, headers=headers["lab1"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["imported"], body["rejected"], body["positive_tubes"]) == (1, 1, ["APIT0001"])
    assert body["errors"] == [{"row": 3, "field": "tube_code", "reason": body["errors"][0]["reason"]}]
    assert body["retests_ordered"] == 2
    again = client.post("/api/campaigns/latest/results/import", files={"file": ("plate1.csv", csv, "text/csv")}, headers=headers["lab1"])
    assert again.json()["unchanged"] == 1 and again.json()["imported"] == 0
    r = client.post("/api/campaigns/latest/results/import", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}, headers=headers["lab1"])
    assert r.status_code == 422 and r.json()["field"] == "columns"
    assert client.post("/api/campaigns/latest/results/import", files={"file": ("x.csv", csv, "text/csv")}, headers=headers["insp1"]).status_code == 403
    manual = client.post("/api/campaigns/latest/results", json={"tube_code": "NOPE0001", "result": "negative"}, headers=headers["lab1"])
    assert manual.status_code == 404 and manual.json()["field"] == "tube_code"


def test_coverage_by_area_person_by_person_and_the_follow_up(api):
    client, headers, summary, ctx = api
    for by in ("office", "community", "grid", "building"):
        areas = client.get(f"/api/campaigns/latest/coverage?by={by}", headers=headers["hq"]).json()
        assert sum(a["expected"] for a in areas) == summary["people"]
        assert sum(a["sampled"] for a in areas) == summary["sampled"] + 2
    straggler = ctx["stragglers"][2]
    r = client.post("/api/campaigns/latest/exemptions", json={"person_id": straggler, "reason": "sampled_elsewhere"}, headers=headers["hq"])
    assert r.status_code == 422 and r.json()["field"] == "proof"
    r = client.post("/api/campaigns/latest/exemptions", json={"person_id": straggler, "reason": "hospital", "note": "市一院"}, headers=headers["hq"])
    assert r.status_code == 201 and r.json()["reason"] == "hospital"
    status = client.get(f"/api/campaigns/latest/people/{straggler}/status", headers=headers["hq"]).json()
    assert status["status"] == "exempt" and status["exemption"] == "hospital"
    missing = client.get("/api/campaigns/latest/missing", params={"limit": 100000}, headers=headers["hq"]).json()
    assert straggler not in {m["person_id"] for m in missing}
    assert client.post("/api/campaigns/latest/exemptions", json={"person_id": straggler, "reason": "away"}, headers=headers["insp1"]).status_code == 403

    xlsx = client.get("/api/campaigns/latest/missing.xlsx", headers=headers["office1"])
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0].iter_rows(values_only=True))[1:]
    assert len(rows) == int(xlsx.headers["x-rows"]) and all("*" in r[7] for r in rows)
    full = client.get("/api/campaigns/latest/missing.xlsx", params={"full_ids": "true"}, headers=headers["hq"])
    full_rows = list(load_workbook(io.BytesIO(full.content), read_only=True).worksheets[0].iter_rows(values_only=True))[1:]
    assert full_rows and all("*" not in r[7] for r in full_rows)
    assert client.get("/api/campaigns/latest/missing.xlsx", headers=headers["lab1"]).status_code == 403
    r = client.get("/api/campaigns/latest/compare", headers=headers["hq"])
    assert r.status_code == 404 and r.json()["field"] == "previous"
    carried = client.get("/api/campaigns/latest/carry-over", headers=headers["hq"]).json()
    assert straggler in {c["person_id"] for c in carried}


def test_inspections_and_key_groups_over_the_api(api):
    client, headers, _summary, ctx = api
    templates = client.get("/api/inspection-templates", headers=headers["insp1"]).json()
    site_items = next(t for t in templates if t["code"] == "site")["items"]
    checks = [{"item_no": i["no"], "passed": i["no"] != 2, "note": "医务人员迟到20分钟" if i["no"] == 2 else None} for i in site_items]
    r = client.post("/api/campaigns/latest/inspections", json={"plan_site_id": ctx["site_id"], "checks": checks}, headers=headers["insp1"])
    assert r.status_code == 201 and r.json()["findings"] == 1 and r.json()["status"] == "open"
    # The demo's own supervision team left findings too: look for this visit's one.
    board = client.get("/api/campaigns/latest/findings", headers=headers["hq"]).json()
    mine = [f for s in board if s["plan_site_id"] == ctx["site_id"] for f in s["findings"] if f["inspection_id"] == r.json()["id"]]
    assert len(mine) == 1 and mine[0]["severity"] == "critical"
    done = client.post(f"/api/findings/{mine[0]['id']}/rectify", json={"rectification": "已增派医务人员"}, headers=headers["leader1"])
    assert done.status_code == 200 and done.json()["status"] == "rectified"
    after = client.get("/api/campaigns/latest/findings", headers=headers["hq"]).json()
    assert mine[0]["id"] not in {f["id"] for s in after for f in s["findings"]}

    groups = {g["code"]: g for g in client.get("/api/key-groups", headers=headers["hq"]).json()}
    assert groups["cold_chain"]["test_every_days"] == 1
    r = client.put("/api/key-groups/airport/schedule", json={"test_every_days": 2}, headers=headers["hq"])
    assert r.status_code == 200 and r.json()["test_every_days"] == 2
    assert client.put("/api/key-groups/airport/schedule", json={"test_every_days": 2}, headers=headers["office1"]).status_code == 403
    overdue = client.get("/api/key-groups/compliance", params={"as_of": (datetime(2026, 12, 20)).isoformat()}, headers=headers["hq"]).json()
    assert sum(e["members"] for e in overdue) == sum(g["members"] for g in groups.values())
    assert sum(len(e["overdue"]) for e in overdue) == sum(e["members"] for e in overdue)


def test_a_resident_looks_up_their_own_result_and_guessing_is_stopped(api):
    client, _headers, _summary, ctx = api
    page = client.get("/resident")
    assert page.status_code == 200 and "身份证号码" in page.text
    ok = client.post("/api/resident/result", json={"id_number": ctx["id_number"], "phone_last4": ctx["phone"][-4:]})
    assert ok.status_code == 200 and ok.json()["status"] in ("negative", "pending", "retest", "not_sampled")
    wrong_digits = "0000" if ctx["phone"][-4:] != "0000" else "1111"
    wrong = client.post("/api/resident/result", json={"id_number": ctx["id_number"], "phone_last4": wrong_digits})
    unknown = client.post("/api/resident/result", json={"id_number": "110105194912310038", "phone_last4": ctx["phone"][-4:]})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json() == unknown.json()
    # Three look-ups per address and per ID number in the window (this app's setting): the fourth is refused, right or wrong.
    blocked = client.post("/api/resident/result", json={"id_number": ctx["id_number"], "phone_last4": ctx["phone"][-4:]})
    assert blocked.status_code == 429 and blocked.json()["field"] == "id_number"
    form = client.post("/resident", data={"id_number": ctx["id_number"], "phone_last4": ctx["phone"][-4:]})
    assert form.status_code == 429 and "尝试次数过多" in form.text


def test_a_site_lists_its_open_retest_orders_for_its_terminal(api):
    """APIT0001 was loaded positive above: its two people are expected back at the site that sampled them."""
    client, headers, summary, ctx = api
    base = f"/api/campaigns/{summary['campaign']}/sites"
    answer = client.get(f"{base}/{ctx['site_id']}/retests", headers=headers["leader1"])
    assert answer.status_code == 200, answer.text
    mine = [r for r in answer.json() if r["source_tube_code"] == "APIT0001"]
    assert len(mine) == 2 and {r["status"] for r in mine} == {"open"}
    assert all("*" in r["id_masked"] for r in mine)
    assert [r["due_at"] for r in answer.json()] == sorted(r["due_at"] for r in answer.json())
    # Another site's list is not this leader's; the lab does not scan.
    with unit_of_work(make_session_factory(client.app.state.engine)) as session:
        other = session.scalar(select(PlanSite.id).where(PlanSite.campaign_id == summary["campaign"], PlanSite.id != ctx["site_id"]))
    assert client.get(f"{base}/{other}/retests", headers=headers["leader1"]).status_code == 403
    assert client.get(f"{base}/{ctx['site_id']}/retests", headers=headers["lab1"]).status_code == 403
