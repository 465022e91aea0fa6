"""Buildings, grids (CSV and GeoJSON), candidate sites and staff: created, matched, updated, refused."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from sweep.auth.models import AuditEntry
from sweep.auth.scope import Scope
from sweep.registry.importer import import_file
from sweep.registry.models import Building, CandidateSite, Community, Grid, Office, Person, Staff
from tests.registry.factories import PEOPLE_HEADER_ZH, TODAY, ensure_key_groups, make_area, people_rows, write_csv, write_xlsx

KEY = "test-secret"
B_HEADER = ["办事处", "办事处名称", "社区编码", "社区名称", "网格编码", "楼栋编码", "楼栋名称", "类型", "经度", "纬度", "户数"]


def run(session, path: Path, kind: str, **kw):  # type: ignore[no-untyped-def]
    with path.open("rb") as stream:
        return import_file(session=session, scope=Scope.system(), kind=kind, stream=stream, filename=path.name, key=KEY, today=TODAY, **kw)


def b_rows() -> list[list[str]]:
    return [
        ["KO1", "空港办事处", "KC1", "龙港社区", "KG1", "KB1", "龙港苑1号楼", "小区", "113.84", "34.52", "40"],
        ["KO1", "空港办事处", "KC1", "龙港社区", "KG1", "KB2", "龙港苑2号楼", "小区", "113.841", "34.521", "36"],
        ["KO1", "空港办事处", "KC2", "张庄社区", "KG2", "KB3", "张庄一组", "村", "113.85", "34.53", "12"],
    ]


def test_buildings_create_their_areas_and_re_import_changes_nothing(session, tmp_path):
    path = write_csv(tmp_path / "b.csv", B_HEADER, b_rows(), title="楼栋清单")
    first = run(session, path, "buildings")
    assert (first.imported, first.rejected, first.created) == (3, [], {"offices": 1, "communities": 2, "grids": 2})
    b = session.scalar(select(Building).where(Building.code == "KB3"))
    grid = session.get(Grid, b.grid_id)
    community = session.get(Community, b.community_id)
    assert (b.kind, b.households, grid.code, community.code, community.name) == ("village", 12, "KG2", "KC2", "张庄社区")
    assert session.get(Office, b.office_id).name == "空港办事处"
    second = run(session, path, "buildings")
    assert (second.imported, second.updated, second.unchanged, second.created) == (0, 0, 3, {})


def test_a_building_moved_to_another_grid_takes_its_people_along(session, tmp_path):
    run(session, write_csv(tmp_path / "b.csv", B_HEADER, b_rows()), "buildings")
    ensure_key_groups(session)
    rows = people_rows(3, seed=9, buildings=["KB2"])
    assert run(session, write_csv(tmp_path / "p.csv", PEOPLE_HEADER_ZH, rows), "people").imported == 3
    moved = b_rows()
    moved[1][2], moved[1][4], moved[1][10] = "KC2", "KG2", "30"
    report = run(session, write_csv(tmp_path / "b2.csv", B_HEADER, moved), "buildings")
    assert (report.updated, report.unchanged) == (1, 2)
    b = session.scalar(select(Building).where(Building.code == "KB2"))
    kg2 = session.scalar(select(Grid).where(Grid.code == "KG2"))
    assert b.grid_id == kg2.id and b.households == 30
    people = session.execute(select(Person.grid_id, Person.community_id).where(Person.building_id == b.id)).all()
    assert people == [(kg2.id, kg2.community_id)] * 3
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "registry.building.update", AuditEntry.entity_id == b.id))
    assert entry.detail["changes"]["households"] == [36, 30]


def test_bad_building_rows_are_refused_with_their_field(session, tmp_path):
    rows = b_rows()
    rows[0][8] = "东经113"
    rows[1][9] = "134.5"
    rows[2][5] = "KB1"  # duplicate code
    rows.append(["", "", "KC9", "", "KG9", "KB9", "", "", "113.8", "34.5", ""])  # a new community with no office
    report = run(session, write_csv(tmp_path / "b.csv", B_HEADER, rows), "buildings")
    assert [(r.row, r.field) for r in report.rejected] == [(2, "lon"), (3, "lat"), (4, "code"), (5, "office")]
    assert report.imported == 0


def test_grids_and_buildings_from_geojson(session, tmp_path):
    area = make_area(session, prefix="J")
    ring = [[113.80, 34.50], [113.81, 34.50], [113.81, 34.51], [113.80, 34.51], [113.80, 34.50]]
    grids = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"网格编码": "JG9", "网格名称": "第九网格", "社区": area.communities[0].code},
         "geometry": {"type": "Polygon", "coordinates": [ring]}},
        {"type": "Feature", "properties": {"网格编码": "JG1", "网格名称": "第一网格", "社区": area.communities[0].code},
         "geometry": {"type": "Polygon", "coordinates": [ring]}},
        {"type": "Feature", "properties": {"网格编码": "JG8", "社区": area.communities[0].code},
         "geometry": {"type": "Point", "coordinates": [113.8, 34.5]}},
    ]}
    (tmp_path / "g.geojson").write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")
    report = run(session, tmp_path / "g.geojson", "grids")
    assert (report.imported, report.updated) == (1, 1)
    assert [(r.row, r.field) for r in report.rejected] == [(3, "geometry")]
    g9 = session.scalar(select(Grid).where(Grid.code == "JG9"))
    assert json.loads(g9.geometry)["coordinates"][0] == ring and g9.name == "第九网格"
    assert json.loads(session.scalar(select(Grid.geometry).where(Grid.code == "JG1")))["type"] == "Polygon"

    buildings = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "JB99", "name": "新楼", "grid": "JG9", "households": 8},
         "geometry": {"type": "Point", "coordinates": [113.805, 34.505]}},
        {"type": "Feature", "properties": {"code": "JB98", "name": "方楼", "grid": "JG9"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}},
    ]}
    (tmp_path / "b.geojson").write_text(json.dumps(buildings, ensure_ascii=False), encoding="utf-8")
    report = run(session, tmp_path / "b.geojson", "buildings")
    assert report.imported == 2 and not report.rejected
    square = session.scalar(select(Building).where(Building.code == "JB98"))
    assert abs(square.lon - 113.805) < 1e-9 and abs(square.lat - 34.505) < 1e-9 and square.grid_id == g9.id


def test_sites_are_matched_by_code(session, tmp_path):
    area = make_area(session, prefix="S")
    header = ["采样点编码", "采样点名称", "社区", "场地类型", "经度", "纬度", "最多采样台", "面积"]
    rows = [["SS1", "文化广场", area.communities[0].code, "广场", "113.8", "34.5", "8", "3200"],
            ["SS2", "第一小学", area.communities[0].name, "学校", "113.81", "34.51", "6", ""],
            ["SS3", "停车场", area.communities[0].code, "停车场", "113.82", "34.52", "0", ""]]
    path = write_xlsx(tmp_path / "s.xlsx", header, rows, title="候选采样点")
    first = run(session, path, "sites")
    assert first.imported == 2 and [(r.row, r.field) for r in first.rejected] == [(6, "max_desks")]
    site = session.scalar(select(CandidateSite).where(CandidateSite.code == "SS1"))
    assert (site.kind, site.max_desks, site.area_m2) == ("square", 8, 3200.0)
    rows[0][6] = "10"
    second = run(session, write_xlsx(tmp_path / "s2.xlsx", header, rows), "sites")
    assert (second.imported, second.updated, second.unchanged) == (0, 1, 1)
    assert session.scalar(select(CandidateSite.max_desks).where(CandidateSite.code == "SS1")) == 10


def test_staff_are_matched_by_phone_then_by_name(session, tmp_path):
    area = make_area(session, prefix="W")
    code = area.communities[0].code
    header = ["姓名", "手机号", "社区", "人员类型"]
    rows = [["周医生", "13700000001", code, "医护人员"], ["吴志愿", "13700000002", code, "志愿者"],
            ["郑网格", "", code, "网格员"], ["王错号", "1370000", code, "一般"], ["孙某", "13700000009", "没有的社区", "一般"]]
    first = run(session, write_csv(tmp_path / "s.csv", header, rows), "staff")
    assert first.imported == 3
    assert [(r.row, r.field) for r in first.rejected] == [(5, "phone"), (6, "community")]
    rows[1][1] = "13700000022"  # a new phone for the same volunteer
    second = run(session, write_csv(tmp_path / "s2.csv", header, rows[:3]), "staff")
    assert (second.imported, second.updated, second.unchanged) == (0, 1, 2)
    staff = session.scalars(select(Staff).where(Staff.community_id == area.communities[0].id).order_by(Staff.name)).all()
    assert sorted((s.name, s.phone, s.kind) for s in staff) == [
        ("吴志愿", "13700000022", "general"), ("周医生", "13700000001", "medical"), ("郑网格", None, "general")]
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "registry.staff.update")) >= 1


def test_a_grid_sent_again_under_another_community_is_refused_and_kept_where_it_is(session, tmp_path):
    area = make_area(session, prefix="M")
    g1 = area.grids[0]  # in the first community
    grids = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"网格编码": g1.code, "网格名称": "改名网格", "社区": area.communities[1].code}, "geometry": None},
        {"type": "Feature", "properties": {"网格编码": "MG9", "网格名称": "新网格", "社区": area.communities[1].code}, "geometry": None},
    ]}
    (tmp_path / "g.geojson").write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")
    report = run(session, tmp_path / "g.geojson", "grids")
    assert [(r.row, r.field) for r in report.rejected] == [(1, "community")]  # a GeoJSON row is its feature
    assert "属于另一个社区" in report.rejected[0].reason and report.imported == 1
    session.refresh(g1)
    assert (g1.community_id, g1.name) == (area.communities[0].id, "第1网格")
