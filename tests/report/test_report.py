"""`sweep report` on a finished round writes an HTML report and an XLSX workbook, on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sweep.cli import app
from sweep.demo.run import run_demo


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_report_of_a_played_round(empty_database, tmp_path):
    summary = run_demo(url=empty_database, people=2000, seed=4, day=date(2026, 12, 1))
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--out", str(out), "--database", empty_database])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "工作报告" in html and f"{summary['sampled']:,}" in html
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    wb = load_workbook(out / "report.xlsx")
    assert wb.sheetnames[:3] == ["概况 summary", "社区覆盖 coverage", "采样点时效 sites"]
    summary_rows = {row[0]: row[1] for row in wb["概况 summary"].iter_rows(min_row=2, values_only=True)}
    assert summary_rows["已检 sampled"] == summary["sampled"]
    assert wb["采样点时效 sites"].max_row - 1 == summary["sites"]
    assert wb["阳性管 positives"].max_row - 1 == summary["positives"]
    coverage_rows = list(wb["社区覆盖 coverage"].iter_rows(min_row=2, values_only=True))
    assert sum(r[3] for r in coverage_rows) == summary["sampled"]

    english = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "en"), "--lang", "en", "--database", empty_database])
    assert english.exit_code == 0, english.output
    assert "Coverage by community" in (tmp_path / "en" / "report.html").read_text(encoding="utf-8")


def test_report_errors_name_the_field(tmp_path):
    from sweep import migrate

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    migrate.upgrade(url)
    runner = CliRunner()
    none = runner.invoke(app, ["report", "--out", str(tmp_path / "r"), "--database", url])
    assert none.exit_code == 2 and "campaign" in none.output
    bad = runner.invoke(app, ["report", "--out", str(tmp_path / "r"), "--lang", "fr", "--database", url])
    assert bad.exit_code == 2 and "lang" in bad.output
