"""The results-and-coverage commands, driven in-process over a played demo round, on both backends."""

from __future__ import annotations

import json
from datetime import date

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sweep.config import get_settings
from sweep.demo.run import run_demo


def _json(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_the_commands_over_a_played_round(empty_database, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_DATABASE_URL", empty_database)
    get_settings.cache_clear()
    try:
        summary = run_demo(url=empty_database, people=800, seed=2, day=date(2026, 12, 1))
        from sweep.cli import app

        runner = CliRunner()
        # Commands that show names and phones run as a user, with that user's password.
        hq, password = ["--as", summary["login"]["username"]], summary["login"]["password"] + "\n"
        areas = _json(runner.invoke(app, ["coverage", "table", "--by", "grid", "--json"]))
        assert sum(a["sampled"] for a in areas) == summary["sampled"]
        assert sum(a["missing"] for a in areas) == summary["people"] - summary["sampled"]
        refused = runner.invoke(app, ["coverage", "missing", "--out", str(tmp_path / "m.xlsx")])
        assert refused.exit_code == 2 and "--as" in refused.output
        r = runner.invoke(app, ["coverage", "missing", "--out", str(tmp_path / "m.xlsx"), *hq], input=password)
        assert r.exit_code == 0, r.output
        rows = list(load_workbook(tmp_path / "m.xlsx", read_only=True).worksheets[0].iter_rows(values_only=True))[1:]
        assert len(rows) == summary["people"] - summary["sampled"] and all("********" in row[7] for row in rows)
        assert runner.invoke(app, ["coverage", "missing", "--community", "NOPE", *hq], input=password).exit_code == 2
        assert runner.invoke(app, ["coverage", "refresh", "--full"]).exit_code == 0

        board = _json(runner.invoke(app, ["lab", "alerts", "--json", *hq], input=password))
        assert len(board) == summary["positives"] and all(a["open"] == len(a["retests"]) for a in board)
        traced = _json(runner.invoke(app, ["lab", "trace", board[0]["tube_code"], "--json", *hq], input=password))
        assert len(traced["people"]) == len(board[0]["retests"])
        csv = tmp_path / "plate.csv"
        csv.write_text(f"tube_code,result\n{board[0]['tube_code']},positive\nNOPE0001,negative\n", encoding="utf-8")
        report = _json(runner.invoke(app, ["lab", "import-results", str(csv), "--json"]))
        assert (report["unchanged"], report["rejected"]) == (1, 1) and report["errors"][0]["row"] == 3
        strict = runner.invoke(app, ["lab", "import-results", str(csv), "--strict"])
        assert strict.exit_code == 2 and "file" in strict.output

        compare = runner.invoke(app, ["rounds", "compare", *hq], input=password)
        assert compare.exit_code == 2 and "previous" in compare.output
        carried = _json(runner.invoke(app, ["rounds", "carry-over", "--json"]))
        assert len(carried) == summary["people"] - summary["sampled"]
        for suffix in ("csv", "xlsx"):
            r = runner.invoke(app, ["rounds", "carry-over", "--out", str(tmp_path / f"carry.{suffix}"), *hq], input=password)
            assert r.exit_code == 0, r.output
        listed = (tmp_path / "carry.csv").read_text(encoding="utf-8-sig").splitlines()
        assert listed[0].split(",")[7:10] == ["姓名 name", "证件号码 ID number (masked)", "电话 phone"]
        assert len(listed) - 1 == len(carried) and all("********" in line for line in listed[1:])
        sheet = list(load_workbook(tmp_path / "carry.xlsx", read_only=True).worksheets[0].iter_rows(values_only=True))
        assert len(sheet) - 1 == len(carried) and sheet[0][11] == "连续未检轮数 rounds missed in a row"
        assert runner.invoke(app, ["rounds", "carry-over", "--out", str(tmp_path / "carry.txt"), *hq], input=password).exit_code == 2
        groups = _json(runner.invoke(app, ["keygroups", "schedules", "--json"]))
        employers = _json(runner.invoke(app, ["keygroups", "compliance", "--as-of", "2027-01-01T00:00:00", "--json", *hq], input=password))
        assert sum(e["members"] for e in employers) == sum(g["members"] for g in groups)
        assert runner.invoke(app, ["inspect", "templates"]).exit_code == 0
        # The demo's supervision team visits up to three sites; each visit opens a failed item and a finding.
        findings = _json(runner.invoke(app, ["inspect", "findings", "--json"]))
        assert sum(len(s["findings"]) for s in findings) == 2 * min(3, summary["sites"])
        # The next round, planned but not begun: compared now it would have everyone missed twice.
        r = runner.invoke(app, ["plan", "--new-round", "--starts-at", "2027-03-01 07:00", "--json"])
        assert r.exit_code == 0, r.output
        ahead = runner.invoke(app, ["rounds", "compare", *hq], input=password)
        assert ahead.exit_code == 2 and "campaign" in ahead.output and "has not started" in ahead.output
    finally:
        get_settings.cache_clear()
