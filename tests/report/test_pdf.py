"""The Chinese report prints with a CJK font embedded, or not at all; and every label of it is Chinese."""

from __future__ import annotations

import re
import subprocess
import zlib
from dataclasses import replace
from datetime import datetime

import pytest
from typer.testing import CliRunner

from sweep.report.pdf import NO_CJK_FONT, html_to_pdf
from sweep.report.render import write_html
from sweep.report.service import FindingRow, build_report
from tests.factories import planned_campaign


@pytest.fixture
def report(session, settings, start, district_loaded):  # type: ignore[no-untyped-def]
    campaign = planned_campaign(session, settings, start)
    made = build_report(session=session, campaign=campaign, wait_limit_minutes=120, transit_limit_minutes=120)
    return replace(made, findings=[FindingRow("S01", "major", "消毒记录缺失", "open", datetime(2026, 12, 1, 12, 0)),
                                   FindingRow("S02", "minor", "引导标识不清", "rectified", None)])


def test_the_chinese_report_has_chinese_labels(report, tmp_path):
    html = write_html(report, tmp_path / "report.html", lang="zh").read_text(encoding="utf-8")
    findings = html[html.index("七、督导发现"):]
    assert "较重" in findings and "一般" in findings and "未整改" in findings and "已整改" in findings
    for english in (">major<", ">minor<", ">open<", ">rectified<"):
        assert english not in findings
    assert "四、样本转运时效" in html and "在途最长(分)" in html
    english = write_html(report, tmp_path / "en.html", lang="en").read_text(encoding="utf-8")
    assert ">Major<" in english and ">Open<" in english and "Samples to the lab" in english


def test_the_pdf_embeds_a_cjk_font(report, tmp_path):
    html = write_html(report, tmp_path / "report.html", lang="zh")
    pdf = html_to_pdf(html, tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    # The first page's fonts, as pdffonts reads them: every one embedded. Chromium draws the CJK
    # font's glyphs as Type 3 fonts, which pdffonts lists without a name ...
    listed = subprocess.run(["pdffonts", "-f", "1", "-l", "1", str(pdf)], capture_output=True, text=True, check=True).stdout
    fonts = listed.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), listed  # the "emb" column
    # ... and the PDF's own font descriptors name it.
    names = _font_names(pdf.read_bytes())
    assert any("CJK" in n for n in names), names


def _font_names(data: bytes) -> set[str]:
    """Every /FontName in the PDF, in plain objects and in compressed object streams."""
    chunks = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            chunks.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    return {n.decode("latin-1") for c in chunks for n in re.findall(rb"/FontName\s*/([^\s/>\]]+)", c)}


def test_without_a_cjk_font_the_pdf_is_refused(report, tmp_path, monkeypatch):
    # A fontconfig that knows only an empty folder: no font for Chinese on this "machine".
    (tmp_path / "fonts").mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?><fontconfig><dir>{tmp_path / "fonts"}</dir><cachedir>{tmp_path / "cache"}</cachedir></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    html = write_html(report, tmp_path / "report.html", lang="zh")
    with pytest.raises(Exception) as err:
        html_to_pdf(html, tmp_path / "report.pdf")
    assert getattr(err.value, "field", None) == "pdf" and err.value.reason == NO_CJK_FONT
    assert not (tmp_path / "report.pdf").exists()


def test_the_report_command_refuses_the_pdf_before_writing_anything(tmp_path, monkeypatch):
    from sweep import migrate
    from sweep.cli import app

    (tmp_path / "fonts").mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?><fontconfig><dir>{tmp_path / "fonts"}</dir></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    migrate.upgrade(url)
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "r"), "--pdf", "--database", url])
    assert result.exit_code == 2 and "fonts-noto-cjk" in result.output
    assert not (tmp_path / "r").exists()
