"""The dashboard's snapshot agrees with the round's own figures, on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, make_url, select

from bench.fieldkit import free_port
from sweep.api import create_app
from sweep.config import Settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.run import run_demo
from sweep.field.models import Sample
from sweep.plan.models import PlanSite, ReadinessItem


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def played(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'dash.db'}"
        yield from _play(url)
        return
    from tests.conftest import scratch_postgres

    with scratch_postgres(request) as url:
        yield from _play(url)


def _play(url):
    summary = run_demo(url=url, people=2000, seed=21, day=date(2026, 12, 1))
    app = create_app(settings=Settings(database_url=url, secret_key="test-secret"))
    with TestClient(app) as client:
        token = client.post("/api/auth/token", json=summary["login"]).json()["token"]
        client.headers["authorization"] = f"Bearer {token}"
        yield client, summary, url
    app.state.engine.dispose()


def test_snapshot_matches_the_round(played):
    client, summary, url = played
    data = client.get("/api/campaigns/latest/dashboard").json()
    assert data["figures"]["sampled"] == summary["sampled"]
    per_site = {s["id"]: s["sampled"] for s in data["sites"]}
    with unit_of_work(make_session_factory(make_engine(url))) as session:
        counted = dict(session.execute(select(Sample.plan_site_id, func.count()).where(Sample.kind != "retest").group_by(Sample.plan_site_id)).all())
    assert per_site == {k: counted.get(k, 0) for k in per_site}
    assert sum(data["states"].values()) == summary["sites"]
    curve = data["curve"]
    # The curve counts every swab at the sites: the registry's people and the walk-ins registered there.
    assert curve["sampled"][-1] == summary["sampled"] + summary["walk_ins"]
    assert curve["sampled"] == sorted(curve["sampled"])
    # Home-sampled people are visited, not called: the plan's line ends at the walk-in count.
    assert curve["called"][-1] == summary["people"] - summary["home_sampling"]


def test_grids_carry_counts(played):
    client, summary, _ = played
    geo = client.get("/api/campaigns/latest/grids").json()
    assert geo["type"] == "FeatureCollection" and geo["features"]
    assert sum(f["properties"]["expected"] for f in geo["features"]) == summary["people"]
    assert sum(f["properties"]["sampled"] for f in geo["features"]) == summary["sampled"]


def test_page_in_both_languages(played):
    client, _, _ = played
    cookie_client = TestClient(client.app)
    login = cookie_client.post("/login", data={"username": "hq", "password": "sweep-demo-2022"}, follow_redirects=False)
    assert login.status_code == 303
    zh = cookie_client.get("/dashboard")
    assert zh.status_code == 200 and "全员核酸检测指挥大屏" in zh.text
    en = cookie_client.get("/dashboard?lang=en")
    assert "Mass testing command dashboard" in en.text and "全员核酸检测指挥大屏" not in en.text
    # The choice is kept in a cookie.
    assert "Mass testing command dashboard" in cookie_client.get("/dashboard").text
    for asset in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/echarts/echarts.min.js", "/static/dashboard.js"):
        assert cookie_client.get(asset).status_code == 200


def test_late_readiness_lists_exactly_the_items_done_after_their_deadline(played):
    client, _, url = played
    data = client.get("/api/campaigns/latest/dashboard").json()
    # The day is over: every item is in, so late means checked in after its deadline.
    with unit_of_work(make_session_factory(make_engine(url))) as session:
        late = session.execute(
            select(PlanSite.code, ReadinessItem.label).join(PlanSite, PlanSite.id == ReadinessItem.plan_site_id)
            .where(ReadinessItem.done_at > ReadinessItem.due_at)
        ).all()
        open_items = session.scalar(select(func.count()).select_from(ReadinessItem).where(ReadinessItem.done_at.is_(None)))
    shown = data["late_items"]
    assert late and open_items == 0
    assert len(shown) == min(len(late), 50)
    assert {(i["site_code"], i["label"]) for i in shown} <= set(late)
    assert all(i["minutes_late"] > 0 for i in shown)
    assert [i["due_at"] for i in shown] == sorted(i["due_at"] for i in shown)


def test_the_dashboard_reads_through_the_read_url_and_says_from_where(played):
    client, summary, url = played
    backend = make_url(url).get_backend_name()
    assert client.get("/api/campaigns/latest/dashboard").json()["database"] == {
        "read_from": "primary" if backend == "postgresql" else "sqlite", "lag_s": None, "streaming": None,
    }
    # A read URL whose only host is down: the dashboard's figures fail (a clear 503) and the
    # round's own figures, on the primary, do not; so the dashboard reads where it is told.
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/sweep"
    app = create_app(settings=Settings(database_url=url, read_database_url=dead, secret_key="test-secret"))
    with TestClient(app, headers=client.headers) as other:
        assert other.get("/api/campaigns/latest/dashboard").status_code == 503
        assert other.get("/api/campaigns/latest/grids").status_code == 503
        assert other.get("/api/campaigns/latest/figures").json()["sampled"] == summary["sampled"]
    app.state.engine.dispose()


# A multi-host read URL is PostgreSQL's own.
@pytest.mark.parametrize("played", ["postgresql"], indirect=True, scope="module")
def test_a_read_url_that_prefers_a_standby_falls_back_to_the_primary(played):
    client, summary, url = played
    u = make_url(url)
    read = f"postgresql://{u.username}@127.0.0.1:{free_port()},{u.host}:{u.port or 5432}/{u.database}?target_session_attrs=prefer-standby"
    app = create_app(settings=Settings(database_url=url, read_database_url=read, secret_key="test-secret"))
    with TestClient(app, headers=client.headers) as other:
        data = other.get("/api/campaigns/latest/dashboard").json()
    app.state.engine.dispose()
    app.state.read_engine.dispose()
    assert data["figures"]["sampled"] == summary["sampled"]
    assert data["database"]["read_from"] == "primary"
