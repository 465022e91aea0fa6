"""The API and the round's page, served from a played demo round."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from sweep.api import create_app
from sweep.config import Settings
from sweep.demo.run import run_demo


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}"
    summary = run_demo(url=url, people=1500, seed=5, day=date(2026, 12, 1))
    app = create_app(settings=Settings(database_url=url, secret_key="test-secret"))
    with TestClient(app) as c:
        login = summary["login"]
        token = c.post("/api/auth/token", json=login).json()["token"]
        c.headers["authorization"] = f"Bearer {token}"
        yield c, summary


def test_figures_match_the_summary(client):
    c, summary = client
    body = c.get("/api/campaigns/latest/figures").json()
    for key in ("people", "sampled", "sites", "desks", "tubes", "boxes", "positives"):
        assert body[key] == summary[key], key
    assert body["finish_minutes"] == pytest.approx(summary["finish_minutes"], abs=0.1)


def test_coverage_and_missing(client):
    c, summary = client
    areas = c.get(f"/api/campaigns/{summary['campaign']}/coverage").json()
    assert sum(a["sampled"] for a in areas) == summary["sampled"]
    missing = c.get("/api/campaigns/latest/missing", params={"limit": 100000}).json()
    assert len(missing) == summary["people"] - summary["sampled"]
    assert all("********" in m["id_masked"] for m in missing)


def test_errors_name_the_field(client):
    c, _ = client
    r = c.get("/api/campaigns/abc/figures")
    assert r.status_code == 422 and r.json()["field"] == "campaign"
    r = c.get("/api/campaigns/999/figures")
    assert r.status_code == 404 and r.json()["field"] == "campaign"
    r = c.get("/api/campaigns/latest/missing", params={"limit": 0})
    assert r.status_code == 422 and r.json()["field"] == "limit"
    page = c.get("/rounds/999", headers={"accept": "text/html"})
    assert page.status_code == 404 and "出错了" in page.text


def test_the_round_page_needs_a_login_and_then_shows_the_figures(client):
    c, summary = client
    anonymous = TestClient(c.app)
    first = anonymous.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login")
    login = anonymous.post("/login", data={**summary["login"], "next": "/"}, follow_redirects=False)
    assert login.status_code == 303 and "sweep_session" in login.cookies
    page = anonymous.get("/", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "覆盖率" in page.text and "未检人员名单" in page.text
    assert f"{summary['sampled']:,}" in page.text
    assert c.get("/static/sweep.css").status_code == 200
