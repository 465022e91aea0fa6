"""`sweep simulate`, the simulation and forecast API and the chart page, on a played demo round."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sweep.api import create_app
from sweep.cli import app as cli
from sweep.config import Settings, get_settings
from sweep.demo.run import START_OF_SAMPLING, run_demo
from sweep.plan.clock import running_clock

DAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('sim') / 'sim.db'}"
    summary = run_demo(url=url, people=3000, seed=9, day=DAY)
    return url, summary


@pytest.fixture(scope="module")
def client(demo):
    url, summary = demo
    with TestClient(create_app(settings=Settings(database_url=url, secret_key="test-secret"))) as c:
        token = c.post("/api/auth/token", json=summary["login"]).json()["token"]
        c.headers["authorization"] = f"Bearer {token}"
        yield c, summary


def test_the_simulation_answers_the_distribution(client):
    c, summary = client
    body = c.get("/api/campaigns/latest/simulation", params={"runs": 24, "seed": 3}).json()
    assert body["runs"] == 24 and len(body["finish_by_run"]) == 24
    on_time = sum(f is not None and f <= body["deadline_minutes"] for f in body["finish_by_run"]) / 24
    assert body["p_on_time"] == pytest.approx(on_time)
    assert len(body["sites"]) == summary["sites"] and sum(s["desks"] for s in body["sites"]) == summary["desks"]
    assert body["finish"]["p5"] <= body["finish"]["p50"] <= body["finish"]["p95"]
    assert body["sample_to_result"]["mean"] > body["sample_to_lab"]["mean"] > 0
    assert set(body["late_sites"]) <= {s["code"] for s in body["sites"] if s["p_late"] > 0}
    grid = body["grid"]
    assert len(body["series"]["sampled"]) == len(grid) == len(body["series"]["planned"])
    assert body["series"]["planned"][-1] == pytest.approx(sum(s["called"] for s in body["sites"]), abs=1)
    assert all(s["series"] is None for s in body["sites"])
    again = c.get("/api/campaigns/latest/simulation", params={"runs": 24, "seed": 3, "series": True}).json()
    assert again["finish_by_run"] == body["finish_by_run"]
    assert len(again["sites"][0]["series"]["queue"]) == len(grid)


def test_the_forecast_after_the_day_is_the_days_own_finish(client):
    c, summary = client
    body = c.get("/api/campaigns/latest/forecast", params={"now": 720, "runs": 20}).json()
    figures = c.get("/api/campaigns/latest/figures").json()
    assert body["now"] == 720 and all(s["finished"] for s in body["sites"])
    # Every desk scan counts, the walk-ins' too (the model has them): the home visits do not.
    assert sum(s["sampled"] for s in body["sites"]) == summary["sampled"] + summary["walk_ins"] - summary["home_sampling"]
    # The last desk scan; the round's own last sample may be a home visit, never earlier.
    assert body["finish"]["p50"] == body["finish"]["p95"] <= figures["finish_minutes"] + 0.01
    with running_clock(lambda: datetime.combine(DAY, START_OF_SAMPLING)):  # the server's clock still before the day's last scan
        by_clock = c.get("/api/campaigns/latest/forecast", params={"runs": 20}).json()
    assert by_clock["now"] == pytest.approx(max(s["finish"]["p5"] for s in body["sites"]), abs=0.01)


def test_errors_name_the_field_and_a_login_is_needed(client):
    c, _ = client
    r = c.get("/api/campaigns/latest/simulation", params={"runs": 0})
    assert r.status_code == 422 and r.json()["field"] == "runs"
    r = c.get("/api/campaigns/999/forecast")
    assert r.status_code == 404 and r.json()["field"] == "campaign"
    anonymous = TestClient(c.app).get("/api/campaigns/latest/simulation")
    assert anonymous.status_code == 401


def test_the_chart_page_draws_inline_svg(client):
    c, _summary = client
    page = c.get("/rounds/latest/simulation", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.text.count("<svg") == 2 and "<polyline" in page.text and "时限 deadline" in page.text
    assert "<script" not in page.text and "http://" not in page.text.replace("http://www.w3.org", "")


def test_cli_prints_the_distribution_as_json(demo, monkeypatch):
    url, summary = demo
    monkeypatch.setenv("SWEEP_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["simulate", "--runs", "12", "--seed", "4", "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout.strip().splitlines()[-1])
        assert body["runs"] == 12 and len(body["finish_by_run"]) == 12 and len(body["sites"]) == summary["sites"]
        assert 0.0 <= body["p_on_time"] <= 1.0 and "grid" not in body
        table = CliRunner().invoke(cli, ["simulate", "--runs", "5"])
        assert table.exit_code == 0 and "P(on time)" in table.stdout
        bad = CliRunner().invoke(cli, ["simulate", "--campaign", "abc"])
        assert bad.exit_code == 2 and "campaign" in bad.output
    finally:
        get_settings.cache_clear()


def test_a_large_district_gets_fewer_runs_by_default_over_http():
    import numpy as np

    from sweep.report.simulation_routes import default_runs
    from sweep.simulate.model import DayInput, SiteInput

    def day(people: int) -> DayInput:
        return DayInput(sites=(SiteInput(code="S", desks=1, slot_start=np.array([0]), slot_minutes=np.array([30]),
                                         people=np.array([people])),))

    assert default_runs(day(3_000), 200) == 200
    assert default_runs(day(100_000), 200) == 100
    assert default_runs(day(1_000_000), 200) == 20
    assert default_runs(day(1_000_000), 5) == 5
