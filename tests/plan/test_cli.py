"""`sweep plan` and `sweep plan export` driven in-process, on an SQLite file and a PostgreSQL database."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sweep import migrate
from sweep.cli import app
from sweep.config import get_settings
from sweep.db import make_engine
from sweep.demo.district import generate_district
from sweep.demo.load import load_district

KEYS = ("sites", "desks", "samplers", "mean_walk_m", "max_walk_m", "objective", "bound", "gap",
        "predicted_finish_minutes", "unassigned_buildings")


@pytest.fixture
def district_db(empty_database, monkeypatch):
    migrate.upgrade(empty_database)
    engine = make_engine(empty_database)
    with engine.begin() as conn:
        load_district(conn, generate_district(people=2000, seed=4), key="test-secret")
    engine.dispose()
    monkeypatch.setenv("SWEEP_DATABASE_URL", empty_database)
    monkeypatch.setenv("SWEEP_SECRET_KEY", "test-secret")
    get_settings.cache_clear()
    yield empty_database
    get_settings.cache_clear()


def _json(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_plan_creates_a_round_then_plans_the_next_from_it(district_db, tmp_path):
    runner = CliRunner()
    first = _json(runner.invoke(app, ["plan", "--json", "--time-limit", "10"]))
    assert first["created_campaign"] is True and first["round_no"] == 1
    for key in KEYS:
        assert key in first
    assert first["unassigned_buildings"] == 0 and 0 <= first["gap"] < 0.01 and first["bound"] <= first["objective"]
    assert first["predicted_finish_minutes"] <= first["deadline_minutes"]
    again = _json(runner.invoke(app, ["plan", "--json", "--time-limit", "10"]))
    assert again["campaign"] == first["campaign"] and again["created_campaign"] is False
    nxt = _json(runner.invoke(app, ["plan", "--new-round", "--json", "--time-limit", "10"]))
    assert nxt["round_no"] == 2 and nxt["diff"]["previous_campaign"] == first["campaign"]
    assert nxt["diff"]["sites_dropped"] == [] and nxt["diff"]["sites_kept"] == first["sites"]

    out = tmp_path / "plan"
    done = runner.invoke(app, ["plan", "export", "--out", str(out), "--campaign", str(first["campaign"])])
    assert done.exit_code == 0, done.output
    html = (out / "plan.html").read_text()
    assert "<svg" in html and "工作方案" in html and html.count("<polygon") >= 1
    roster = load_workbook(out / "roster.xlsx", read_only=True)
    assert len(roster.sheetnames) == first["sites"]
    callup = load_workbook(out / "callup.xlsx", read_only=True)
    rows = list(callup.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "网格 grid" and len(rows) > 1
    notices = list((out / "notices").glob("*.txt"))
    assert notices and "全员核酸检测通知" in notices[0].read_text(encoding="utf-8")


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_plan_errors_exit_2_naming_the_field(district_db):
    runner = CliRunner()
    missing = runner.invoke(app, ["plan", "--campaign", "42"])
    assert missing.exit_code == 2 and "campaign" in missing.output
    export = runner.invoke(app, ["plan", "export", "--out", "/nonexistent-dir-for-sweep/x", "--campaign", "42"])
    assert export.exit_code == 2


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_a_cap_below_the_walking_limit_exits_non_zero_unless_accepted(district_db):
    runner = CliRunner()
    refused = runner.invoke(app, ["plan", "--json", "--max-sites", "1", "--time-limit", "5"])
    assert refused.exit_code != 0 and "max_sites" in refused.output and "--accept-beyond-limit" in refused.output
    assert "1,000 m" in refused.output or "1000 m" in refused.output
    accepted = _json(runner.invoke(app, ["plan", "--json", "--max-sites", "1", "--time-limit", "5", "--accept-beyond-limit"]))
    assert accepted["sites"] == 1 and accepted["beyond_limit"] > 0 and accepted["warnings"][0].startswith("采样点上限 1")
    free = _json(runner.invoke(app, ["plan", "--json", "--time-limit", "10"]))
    assert free["beyond_limit"] == 0 and free["max_walk_m"] <= 1000
    for site in free["site_list"]:
        assert set(site) >= {"id", "code", "name", "kind", "mobile", "desks", "people", "mean_walk_m", "max_walk_m"}
    assert free["walk"] == {k: free[k] for k in ("mean_walk_m", "walk_p95_m", "max_walk_m", "beyond_limit")}
