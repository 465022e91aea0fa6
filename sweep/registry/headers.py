"""Which spreadsheet column is which: the header table, and finding the header row.

Communities name their columns as they please (姓名 or 名字, 身份证号 or 公民身份号码) and often
put a title row or two above them. The table below is the documented mapping
(docs/registry.md repeats it; a test keeps the two in step). Earlier aliases win when a
sheet has two columns for the same field (a building's code before its name).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from sweep.errors import InvalidInput
from sweep.registry.fields import BadCell
from sweep.registry.report import ImportReport

T = TypeVar("T")
Row = tuple[int, list[str]]  # (row number as the spreadsheet shows it, cells)

HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "people": {
        "name": ("姓名", "名字", "人员姓名", "居民姓名", "name", "full_name"),
        "id_number": (
            "身份证号", "身份证号码", "公民身份号码", "证件号码", "证件号", "身份证", "id_number", "id_no", "id_card",
            "document_number",
        ),
        "doc_type": ("证件类型", "doc_type", "document_type"),
        "phone": ("手机号", "手机号码", "联系电话", "电话", "联系方式", "phone", "mobile", "tel"),
        "building": ("楼栋编码", "楼栋", "楼栋号", "楼号", "所在楼栋", "楼栋名称", "building_code", "building"),
        "unit": ("单元", "单元号", "unit"),
        "room": ("房号", "房间号", "门牌号", "户号", "room"),
        "community": ("社区编码", "社区", "所属社区", "community_code", "community"),
        "grid": ("网格编码", "网格", "所属网格", "grid_code", "grid"),
        "key_group": ("人员类别", "重点人群", "人群类别", "key_group", "category"),
        "home_sampling": ("上门采样", "是否上门采样", "需上门采样", "home_sampling"),
        "sex": ("性别", "sex", "gender"),
        "birth_date": ("出生日期", "birth_date", "date_of_birth", "dob"),
    },
    "buildings": {
        "code": ("楼栋编码", "编码", "building_code", "code"),
        "name": ("楼栋名称", "楼栋", "名称", "building_name", "building", "name"),
        "grid": ("网格编码", "网格", "grid_code", "grid"),
        "grid_name": ("网格名称", "grid_name"),
        "community": ("社区编码", "社区", "community_code", "community"),
        "community_name": ("社区名称", "community_name"),
        "office": ("办事处编码", "办事处", "街道", "office_code", "office"),
        "office_name": ("办事处名称", "街道名称", "office_name"),
        "kind": ("楼栋类型", "类型", "kind", "type"),
        "lon": ("经度", "lon", "lng", "longitude"),
        "lat": ("纬度", "lat", "latitude"),
        "households": ("户数", "households"),
    },
    "grids": {
        "code": ("网格编码", "编码", "grid_code", "code"),
        "name": ("网格名称", "名称", "网格", "grid_name", "name"),
        "community": ("社区编码", "社区", "community_code", "community"),
        "community_name": ("社区名称", "community_name"),
        "office": ("办事处编码", "办事处", "街道", "office_code", "office"),
        "office_name": ("办事处名称", "街道名称", "office_name"),
        "geometry": ("边界", "geometry"),
    },
    "sites": {
        "code": ("采样点编码", "点位编码", "编码", "site_code", "code"),
        "name": ("采样点名称", "采样点", "点位名称", "名称", "site_name", "name"),
        "community": ("社区编码", "社区", "community_code", "community"),
        "kind": ("场地类型", "类型", "kind", "type"),
        "lon": ("经度", "lon", "lng", "longitude"),
        "lat": ("纬度", "lat", "latitude"),
        "max_desks": ("最多采样台", "可设采样台", "采样台数", "max_desks", "desks"),
        "area_m2": ("面积", "场地面积", "面积平方米", "area_m2", "area"),
    },
    "staff": {
        "name": ("姓名", "名字", "name"),
        "phone": ("手机号", "手机号码", "联系电话", "电话", "phone", "mobile"),
        "community": ("社区编码", "社区", "所属社区", "community_code", "community"),
        "kind": ("人员类型", "类别", "类型", "kind", "type"),
    },
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "people": ("name", "id_number", "building"),
    "buildings": ("code", "grid", "lon", "lat"),
    "grids": ("code", "community"),
    "sites": ("code", "name", "community", "lon", "lat", "max_desks"),
    "staff": ("name", "community", "kind"),
}

LABELS: dict[str, str] = {
    "name": "姓名", "id_number": "身份证号", "building": "楼栋", "code": "编码", "grid": "网格", "community": "社区",
    "lon": "经度", "lat": "纬度", "max_desks": "最多采样台", "kind": "类型",
}

# How far down a title block may push the header row.
SCAN_ROWS = 20
_BRACKETS = re.compile(r"[(（\[【].*?[)）\]】]")


def normalise_header(text: str) -> str:
    """Fold width and case; drop spaces, '_', '-', '*' marks and bracketed notes.

    '*身份证号（必填）' → '身份证号'; 'ID Number', 'id_number' and 'ID-Number' all → 'idnumber'.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _BRACKETS.sub("", text)
    return re.sub(r"[\s*:：_\-]", "", text).lower()


@dataclass
class Header:
    row: int
    columns: dict[str, int]  # field -> column index
    ignored: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)

    def get(self, cells: list[str], name: str) -> str:
        i = self.columns.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""


def _alias_index(kind: str, table: dict[str, tuple[str, ...]] | None = None) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for name, aliases in (table or HEADERS[kind]).items():
        for rank, alias in enumerate(aliases):
            out.setdefault(normalise_header(alias), (name, rank))
    return out


def match_header(cells: list[str], kind: str, table: dict[str, tuple[str, ...]] | None = None) -> Header:
    index = _alias_index(kind, table)
    best: dict[str, tuple[int, int]] = {}  # field -> (rank, column)
    ignored: list[str] = []
    for col, cell in enumerate(cells):
        key = normalise_header(cell)
        if not key:
            continue
        hit = index.get(key)
        if hit is None:
            ignored.append(cell)
            continue
        name, rank = hit
        if name not in best or rank < best[name][0]:
            best[name] = (rank, col)
    return Header(row=0, columns={name: col for name, (_r, col) in best.items()}, ignored=ignored, cells=list(cells))


def find_header(
    rows: Iterable[Row],
    kind: str,
    *,
    table: dict[str, tuple[str, ...]] | None = None,
    required: tuple[str, ...] | None = None,
    labels: dict[str, str] | None = None,
) -> tuple[Header, Iterator[Row]]:
    """The first row within SCAN_ROWS that names every required column, and the rows after it.

    Another area's sheets (key groups) pass their own ``table`` of aliases, ``required`` and ``labels``.
    """
    need_fields = required if required is not None else REQUIRED[kind]
    names = {**LABELS, **(labels or {})}
    it = iter(rows)
    seen: list[str] = []
    for _ in range(SCAN_ROWS):
        try:
            number, cells = next(it)
        except StopIteration:
            break
        if not any(c.strip() for c in cells):
            continue
        header = match_header(cells, kind, table)
        if all(name in header.columns for name in need_fields):
            header.row = number
            return header, it
        if len(header.columns) > len(seen):
            seen = list(header.columns)
    need = "、".join(names.get(n, n) for n in need_fields if n not in seen)
    need_en = ", ".join(n for n in need_fields if n not in seen)
    raise InvalidInput(
        "header",
        f"前{SCAN_ROWS}行中找不到表头，缺少列：{need} (no header row in the first {SCAN_ROWS} rows; missing columns: {need_en})",
    )


__all__ = ["HEADERS", "REQUIRED", "Header", "Row", "find_header", "match_header", "normalise_header"]


def data_rows(rows: Iterable[Row], kind: str, report: ImportReport) -> tuple[Header, Iterable[Row]]:
    """The header of a file of ``kind``, written on the report, and the rows below it that are not blank."""
    header, rest = find_header(rows, kind)
    report.header_row, report.header, report.ignored_columns = header.row, header.cells, header.ignored
    return header, (r for r in rest if "".join(r[1]).strip())


def parsed_rows(header: Header, data: Iterable[Row], report: ImportReport,
                parse: Callable[[int, Callable[[str], str]], T]) -> Iterator[tuple[Callable[[str], str], T]]:
    """Each data row, counted on the report, with what ``parse`` made of its number and its cells by column name.

    A row that ``parse`` refuses (``BadCell``) goes on the report's rejected rows instead.
    """
    for number, cells in data:
        report.rows += 1
        get = partial(header.get, cells)
        try:
            parsed = parse(number, get)
        except BadCell as exc:
            report.refuse(number, cells, exc.field or "row", exc.reason)
            continue
        yield get, parsed
