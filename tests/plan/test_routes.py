"""The work plan over HTTP: the printable page, the summary, and the workbooks behind their permissions."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from sweep.api import create_app
from sweep.auth.service import create_user
from sweep.config import Settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.run import run_demo


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('plan-api') / 'plan.db'}"
    summary = run_demo(url=url, people=1500, seed=8, day=date(2026, 12, 1))
    with unit_of_work(make_session_factory(make_engine(url))) as session:
        create_user(session=session, username="inspector1", display_name="督导", role="inspector", password="inspect-pass-123")
    app = create_app(settings=Settings(database_url=url, secret_key="test-secret"))
    with TestClient(app) as c:
        token = c.post("/api/auth/token", json=summary["login"]).json()["token"]
        c.headers["authorization"] = f"Bearer {token}"
        yield c, summary


def test_the_work_plan_page_draws_the_map_and_the_tables(client):
    c, _summary = client
    page = c.get("/plans/latest", headers={"accept": "text/html"})
    assert page.status_code == 200
    for part in ("<svg", "采样点与采样台", "人员分工", "物资", "时间安排", "通知时段"):
        assert part in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from outside


def test_the_summary_matches_the_stored_plan(client):
    c, summary = client
    body = c.get("/api/campaigns/latest/plan").json()
    assert body["sites"] == summary["sites"] and body["desks"] == summary["desks"]
    assert body["bound"] <= body["objective"] and body["unassigned_buildings"] == 0


def test_the_roster_workbook_has_a_sheet_a_site_and_needs_the_export_right(client):
    c, summary = client
    r = c.get("/api/campaigns/latest/plan/roster.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    assert len(wb.sheetnames) == summary["sites"]
    other = TestClient(c.app)
    token = other.post("/api/auth/token", json={"username": "inspector1", "password": "inspect-pass-123"}).json()["token"]
    denied = other.get("/api/campaigns/latest/plan/roster.xlsx", headers={"authorization": f"Bearer {token}"})
    assert denied.status_code == 403


def test_a_round_without_a_plan_is_named(client):
    c, _ = client
    r = c.get("/api/campaigns/999/plan")
    assert r.status_code == 404 and r.json()["field"] == "campaign"
