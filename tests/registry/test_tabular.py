"""Reading what communities keep: CSV in any of Excel's encodings, and XLSX."""

from __future__ import annotations

import io

import pytest

from sweep.errors import InvalidInput
from sweep.registry.tabular import detect_encoding, file_format, read_rows
from tests.registry.factories import csv_bytes, write_xlsx

HEADER = ["姓名", "身份证号", "楼栋"]
ROWS = [["张三", "110105194912310021", "龙翔苑1号楼"], ["李四", "11010519491231002X", "龙翔苑2号楼"]]


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030"), ("utf-16", "utf-16")],
)
def test_each_encoding_is_detected_and_read(encoding, detected):
    data = csv_bytes(HEADER, ROWS, encoding=encoding)
    assert detect_encoding(io.BytesIO(data)) == detected
    rows = list(read_rows(io.BytesIO(data), filename="people.csv"))
    assert rows == [(1, HEADER), (2, ROWS[0]), (3, ROWS[1])]


def test_rows_keep_the_numbers_a_spreadsheet_shows():
    data = csv_bytes(HEADER, ROWS * 3, title="登记表", blank_every=2)
    rows = list(read_rows(io.BytesIO(data), filename="p.csv"))
    # title, blank, header, then data with a blank row after every second one
    assert rows[0] == (1, ["登记表"]) and rows[2][0] == 3
    assert [n for n, cells in rows if not "".join(cells)] == [2, 6, 9, 12]


def test_tab_separated_text_is_read():
    data = "姓名\t身份证号\t楼栋\r\n张三\t110105194912310021\t1号楼\r\n".encode("gb18030")
    assert list(read_rows(io.BytesIO(data), filename="p.txt"))[1] == (2, ["张三", "110105194912310021", "1号楼"])


def test_an_unreadable_encoding_is_refused():
    with pytest.raises(InvalidInput) as err:
        detect_encoding(io.BytesIO(b"\x81\x30\xff\xff\xfe" * 10))
    assert err.value.field == "file"


def test_xlsx_numbers_and_dates_come_out_as_text(tmp_path):
    import datetime as dt

    path = write_xlsx(tmp_path / "p.xlsx", ["姓名", "手机号", "单元", "出生日期"],
                      [["张三", 13812345678, 2.0, dt.datetime(1990, 1, 31)], [None, None, None, None], ["李四", "", 3, None]],
                      title="人员表")
    with path.open("rb") as f:
        rows = list(read_rows(f, filename=path.name))
    assert rows[0] == (1, ["人员表", "", "", ""]) or rows[0][1][0] == "人员表"
    assert rows[3] == (4, ["张三", "13812345678", "2", "1990-01-31"])
    assert rows[4][0] == 5 and not "".join(rows[4][1])
    assert rows[5] == (6, ["李四", "", "3", ""])


def test_unknown_suffixes_are_refused():
    assert file_format("a.CSV") == "csv" and file_format("b.xlsx") == "xlsx" and file_format("c.geojson") == "geojson"
    with pytest.raises(InvalidInput) as err:
        file_format("people.xls")
    assert err.value.field == "file" and ".xls" in err.value.reason
