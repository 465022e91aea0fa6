"""Header rows: found below a title block, in Chinese or English, by the documented table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sweep.errors import InvalidInput
from sweep.registry.headers import HEADERS, REQUIRED, find_header, match_header, normalise_header

ROOT = Path(__file__).resolve().parents[2]


def test_normalise_header_folds_marks_width_and_notes():
    assert normalise_header("*身份证号（必填）") == "身份证号"
    assert normalise_header(" Phone ") == "phone"
    assert normalise_header("ＩＤ-No") == normalise_header("id_no") == "idno"
    assert normalise_header("楼栋：") == "楼栋"


@pytest.mark.parametrize(
    "cells",
    [
        ["序号", "姓名", "公民身份号码", "联系电话", "楼栋", "单元", "房号"],
        ["Name", "ID Number", "Phone", "Building", "Unit", "Room"],
        ["名字", "证件号码", "手机号码", "楼栋号", "", "门牌号"],
    ],
)
def test_people_headers_in_chinese_and_english(cells):
    header = match_header(cells, "people")
    assert cells[header.columns["name"]].lower() in ("姓名", "name", "名字")
    assert {"name", "id_number", "phone", "building", "room"} <= set(header.columns)


def test_the_header_is_found_below_a_title_and_blank_rows():
    rows = [(1, ["某某社区全员核酸检测人员登记表"]), (2, ["", ""]), (3, ["填报日期：2022-09-01"]),
            (4, ["姓名", "身份证号", "楼栋", "备注"]), (5, ["张三", "x", "1号楼", ""])]
    header, rest = find_header(rows, "people")
    assert header.row == 4
    assert header.columns == {"name": 0, "id_number": 1, "building": 2}
    assert header.ignored == ["备注"]
    assert next(rest) == (5, ["张三", "x", "1号楼", ""])


def test_a_building_code_column_wins_over_its_name():
    header = match_header(["楼栋名称", "楼栋编码", "姓名", "身份证号"], "people")
    assert header.columns["building"] == 1


def test_missing_required_columns_are_named():
    with pytest.raises(InvalidInput) as err:
        find_header([(1, ["姓名", "手机号"])], "people")
    assert err.value.field == "header"
    assert "身份证号" in err.value.reason and "id_number" in err.value.reason


def test_every_alias_is_documented():
    doc = (ROOT / "docs" / "registry.md").read_text(encoding="utf-8")
    for kind, fields in HEADERS.items():
        section = doc.split(f"### {kind}", 1)[1].split("###", 1)[0]
        for name, aliases in fields.items():
            line = next((ln for ln in section.splitlines() if re.match(rf"\|\s*`{name}`", ln)), None)
            assert line is not None, f"{kind}.{name} is not in docs/registry.md"
            for alias in aliases:
                assert alias in line, f"{kind}.{name}: alias {alias!r} is not documented"
            assert ("required" in line) == (name in REQUIRED[kind]), f"{kind}.{name}: required marker"
