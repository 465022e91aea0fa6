"""Small builders for registry import tests: an area of our own, people rows, files in every shape."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.demo.district import KEY_GROUPS, District
from sweep.registry.idnumber import ZHENGZHOU_REGION_CODES, make_id_numbers
from sweep.registry.models import Building, Community, Grid, KeyGroup, Office

PEOPLE_HEADER_ZH = ["姓名", "身份证号", "手机号", "楼栋", "单元", "房号", "人员类别", "上门采样"]
PEOPLE_HEADER_EN = ["name", "id_number", "phone", "building", "unit", "room", "key_group", "home_sampling"]
TODAY = dt.date(2026, 12, 1)


@dataclass
class Area:
    office: Office
    communities: list[Community]
    grids: list[Grid]
    buildings: list[Building]  # two per grid; grid 0 and 1 in community 0, grid 2 in community 1


def ensure_key_groups(session: Session) -> dict[str, int]:
    out = {}
    for k in KEY_GROUPS:
        kid = session.scalar(select(KeyGroup.id).where(KeyGroup.code == k.code))
        if kid is None:
            group = KeyGroup(code=k.code, name=k.name_zh, test_every_days=k.test_every_days)
            session.add(group)
            session.flush()
            kid = group.id
        out[k.code] = kid
    return out


def make_area(session: Session, prefix: str = "T") -> Area:
    """An office of our own with two communities, three grids and six buildings; codes start with `prefix`."""
    office = Office(code=f"{prefix}O1", name=f"{prefix}办事处")
    session.add(office)
    session.flush()
    communities = [Community(office_id=office.id, code=f"{prefix}C{i}", name=f"{prefix}第{i}社区") for i in (1, 2)]
    session.add_all(communities)
    session.flush()
    grids = [Grid(community_id=communities[c].id, code=f"{prefix}G{i + 1}", name=f"第{i + 1}网格") for i, c in enumerate((0, 0, 1))]
    session.add_all(grids)
    session.flush()
    buildings = []
    for gi, grid in enumerate(grids):
        for j in (1, 2):
            buildings.append(Building(
                grid_id=grid.id, community_id=grid.community_id, office_id=office.id, code=f"{prefix}B{gi + 1}{j}",
                name=f"{j}号楼", kind="compound", lon=113.8 + gi / 100, lat=34.5 + j / 100, households=10,
            ))
    session.add_all(buildings)
    session.flush()
    ensure_key_groups(session)
    return Area(office, communities, grids, buildings)


def people_rows(n: int, *, seed: int, buildings: list[str]) -> list[list[str]]:
    """Valid rows in PEOPLE_HEADER order, buildings taken in turn."""
    rng = np.random.default_rng(seed)
    days = rng.integers(-15000, 15000, n)
    ids = make_id_numbers(rng, n, ZHENGZHOU_REGION_CODES, days)
    phones = 13000000000 + int(rng.integers(0, 9000)) * 100_000 + np.arange(n) * 7  # distinct
    return [
        [f"测试{i:04d}", ids[i], str(phones[i]), buildings[i % len(buildings)], str(i % 3 + 1), f"{100 + i}",
         "机场工作人员" if i % 10 == 0 else "", "是" if i % 25 == 0 else ""]
        for i in range(n)
    ]


def csv_bytes(header: list[str], rows: list[list[str]], *, encoding: str = "utf-8", title: str | None = None,
              blank_every: int = 0) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if title:
        w.writerow([title])
        w.writerow([])
    w.writerow(header)
    for i, row in enumerate(rows, start=1):
        w.writerow(row)
        if blank_every and i % blank_every == 0:
            w.writerow([""] * len(header))
    return buf.getvalue().encode(encoding)


def write_csv(path: Path, header: list[str], rows: list[list[str]], **kw) -> Path:  # type: ignore[no-untyped-def]
    path.write_bytes(csv_bytes(header, rows, **kw))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]], *, title: str | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def district_tables(district: District, prefix: str) -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
    """The district as a community would keep it: a buildings sheet and a people sheet, codes prefixed."""
    comm = district.communities
    grid_comm = [g.community for g in district.grids]
    b = district.buildings
    b_header = ["办事处", "社区编码", "社区名称", "网格编码", "楼栋编码", "楼栋名称", "类型", "经度", "纬度", "户数"]
    kinds = {"dormitory": "宿舍", "compound": "小区", "village": "村"}
    b_rows = []
    for i in range(len(b.code)):
        c = comm[grid_comm[int(b.grid[i])]]
        b_rows.append([
            prefix + district.offices[c.office].code, prefix + c.code, c.name, prefix + district.grids[int(b.grid[i])].code,
            prefix + b.code[i], b.name[i], kinds[str(b.kind[i])], f"{b.lon[i]:.6f}", f"{b.lat[i]:.6f}", str(int(b.households[i])),
        ])
    p = district.people
    groups = ("", "机场工作人员", "冷链从业人员", "隔离酒店工作人员")
    p_header = ["姓名", "公民身份号码", "联系电话", "楼栋编码", "单元", "房号", "人员类别", "上门采样"]
    p_rows = [
        [p.name[i], p.id_number[i], p.phone[i], prefix + b.code[int(p.building[i])], str(int(p.unit[i])) if p.unit[i] else "",
         p.room[i], groups[int(p.key_group[i])], "是" if p.home_sampling[i] else ""]
        for i in range(len(p.name))
    ]
    return b_header, b_rows, p_header, p_rows
