"""Buildings and grids into the registry (from CSV, XLSX or GeoJSON), matched by their codes.

A buildings file is where a district first describes its areas, so an office, community or
grid it names that the registry does not know yet is created (and counted in the report);
a building that moves to another grid takes its people's area columns with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sweep.auth.service import audit
from sweep.registry.fields import BadCell, fold, parse_float, parse_int
from sweep.registry.headers import Row, data_rows, parsed_rows
from sweep.registry.lookup import Areas, load_areas
from sweep.registry.models import Building, Community, Grid, Office, Person
from sweep.registry.report import ImportReport

BUILDING_KINDS = {
    "宿舍": "dormitory", "集体宿舍": "dormitory", "dormitory": "dormitory",
    "小区": "compound", "住宅": "compound", "住宅小区": "compound", "compound": "compound",
    "村": "village", "村庄": "village", "自然村": "village", "village": "village",
    "其他": "other", "其它": "other", "other": "other",
}


def parse_kind(text: str, table: dict[str, str], *, default: str, field: str = "kind") -> str:
    if not text:
        return default
    value = fold(text).lower()
    if value in table:
        return table[value]
    known = "、".join(k for k in table if not k.isascii())
    raise BadCell(f"未知的类型，可用：{known} (unknown kind): {text}", field=field)


def parse_lon_lat(lon_text: str, lat_text: str) -> tuple[float, float]:
    lon = parse_float(lon_text, what="经度", what_en="longitude", field="lon")
    lat = parse_float(lat_text, what="纬度", what_en="latitude", field="lat")
    if not -180 <= lon <= 180:
        raise BadCell(f"经度应在-180到180之间 (longitude must be within -180..180): {lon_text}", field="lon")
    if not -90 <= lat <= 90:
        raise BadCell(f"纬度应在-90到90之间 (latitude must be within -90..90): {lat_text}", field="lat")
    return lon, lat


class AreaMaker:
    """Finds an office, community or grid by code, creating it when a file names a new one."""

    def __init__(self, session: Session, areas: Areas, report: ImportReport, scope: Community | None) -> None:
        self.session, self.areas, self.report, self.scope = session, areas, report, scope

    def _count(self, what: str) -> None:
        self.report.created[what] = self.report.created.get(what, 0) + 1

    def office(self, code: str, name: str) -> int:
        if code in self.areas.offices:
            return self.areas.offices[code]
        office = Office(code=code[:32], name=(name or code)[:100])
        self.session.add(office)
        self.session.flush()
        self.areas.offices[code] = office.id
        self._count("offices")
        return office.id

    def community(self, code: str, name: str, office: str, office_name: str) -> int:
        if not code:
            if self.scope is not None:
                return self.scope.id
            raise BadCell("缺少社区 (community missing)", field="community")
        if code in self.areas.communities:
            cid = self.areas.communities[code]
            if self.scope is not None and cid != self.scope.id:
                raise BadCell(f"不属于社区 {self.scope.code} (not in community {self.scope.code}): {code}", field="community")
            return cid
        if self.scope is not None:
            raise BadCell(f"不属于社区 {self.scope.code} (not in community {self.scope.code}): {code}", field="community")
        if not office:
            raise BadCell(f"新社区 {code} 需要填办事处 (a new community needs its office): {code}", field="office")
        community = Community(code=code[:32], name=(name or code)[:100], office_id=self.office(office, office_name))
        self.session.add(community)
        self.session.flush()
        self.areas.communities[code] = community.id
        self.areas.community_office[community.id] = community.office_id
        self.areas.community_code[community.id] = code
        self._count("communities")
        return community.id

    def grid(self, code: str, name: str, community_id: int | None) -> int:
        if code in self.areas.grids:
            gid = self.areas.grids[code]
            if community_id is not None and self.areas.grid_community[gid] != community_id:
                raise BadCell(f"网格 {code} 属于另一个社区 (grid {code} belongs to another community)", field="community")
            if self.scope is not None and self.areas.grid_community[gid] != self.scope.id:
                raise BadCell(f"网格 {code} 不属于社区 {self.scope.code} (grid {code} is not in {self.scope.code})", field="grid")
            return gid
        if community_id is None:
            raise BadCell(f"新网格 {code} 需要填社区 (a new grid needs its community): {code}", field="community")
        grid = Grid(code=code[:40], name=(name or code)[:100], community_id=community_id)
        self.session.add(grid)
        self.session.flush()
        self.areas.grids[code] = grid.id
        self.areas.grid_community[grid.id] = community_id
        self._count("grids")
        return grid.id


def _changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [getattr(obj, k), v] for k, v in values.items() if getattr(obj, k) != v}


def unique_code(raw: str, *, seen: dict[str, int], row: int, longest: int, what: str, what_en: str) -> str:
    """A row's code: present, not too long, and not already on an earlier row of the file."""
    code = fold(raw)
    if not code or len(code) > longest:
        raise BadCell(f"{what}编码为空或超过{longest}个字符 ({what_en} code missing or longer than {longest})", field="code")
    if code in seen:
        raise BadCell(f"与第{seen[code]}行重复 (duplicate of row {seen[code]})", field="code")
    seen[code] = row
    return code


def _record(session: Session, report: ImportReport, user_id: int | None, entity: str, obj: Any,
            values: dict[str, Any]) -> None:
    """Insert, update with the change audited, or leave alone: the same row twice changes nothing."""
    if obj.id is None:
        session.add(obj)
        report.imported += 1
        return
    changes = _changes(obj, values)
    if not changes:
        report.unchanged += 1
        return
    for k, v in values.items():
        setattr(obj, k, v)
    report.updated += 1
    audit(session=session, user_id=user_id, action=f"registry.{entity}.update", entity=entity, entity_id=obj.id,
          detail={"changes": changes, "file": report.filename}, at=datetime.now())


def import_buildings(*, session: Session, rows: Iterable[Row], report: ImportReport, community: Community | None,
                     user_id: int | None) -> ImportReport:
    header, data = data_rows(rows, "buildings", report)
    areas = load_areas(session, buildings=False)
    maker = AreaMaker(session, areas, report, community)
    existing = {b.code: b for b in session.scalars(select(Building))}
    seen: dict[str, int] = {}

    def parse(number: int, get: Callable[[str], str]) -> tuple[str, int, float, float, int, str]:
        code = unique_code(get("code"), seen=seen, row=number, longest=48, what="楼栋", what_en="building")
        comm = fold(get("community"))
        community_id = maker.community(comm, fold(get("community_name")), fold(get("office")), fold(get("office_name"))) if comm or community else None
        grid_id = maker.grid(fold(get("grid")), fold(get("grid_name")), community_id)
        lon, lat = parse_lon_lat(get("lon"), get("lat"))
        households = parse_int(get("households"), what="户数", what_en="households", field="households") or 0
        return code, grid_id, lon, lat, households, parse_kind(get("kind"), BUILDING_KINDS, default="other")

    for get, (code, grid_id, lon, lat, households, kind) in parsed_rows(header, data, report, parse):
        cid = areas.grid_community[grid_id]
        values = {"name": (fold(get("name")) or code)[:100], "kind": kind, "lon": lon, "lat": lat, "households": households,
                  "grid_id": grid_id, "community_id": cid, "office_id": areas.community_office[cid]}
        building = existing.get(code)
        moved = building is not None and building.grid_id != grid_id
        _record(session, report, user_id, "building", building or Building(code=code, **values), values)
        if moved and building is not None:
            session.flush()
            session.execute(update(Person).where(Person.building_id == building.id).values(
                grid_id=grid_id, community_id=cid, office_id=areas.community_office[cid]))
    session.flush()
    return report


def import_grids(*, session: Session, rows: Iterable[Row], report: ImportReport, community: Community | None,
                 user_id: int | None) -> ImportReport:
    header, data = data_rows(rows, "grids", report)
    areas = load_areas(session, buildings=False)
    maker = AreaMaker(session, areas, report, community)
    existing = {g.code: g for g in session.scalars(select(Grid))}
    seen: dict[str, int] = {}

    def parse(number: int, get: Callable[[str], str]) -> tuple[str, int, str | None]:
        code = unique_code(get("code"), seen=seen, row=number, longest=40, what="网格", what_en="grid")
        community_id = maker.community(fold(get("community")), fold(get("community_name")), fold(get("office")),
                                       fold(get("office_name")))
        geometry = _geometry(get("geometry"))
        grid = existing.get(code)
        if grid is not None and grid.community_id != community_id:
            raise BadCell(f"网格 {code} 属于另一个社区 (grid {code} belongs to another community)", field="community")
        return code, community_id, geometry

    for get, (code, community_id, geometry) in parsed_rows(header, data, report, parse):
        values: dict[str, Any] = {"name": (fold(get("name")) or code)[:100], "community_id": community_id}
        if geometry is not None:
            values["geometry"] = geometry
        grid = existing.get(code)
        _record(session, report, user_id, "grid", grid or Grid(code=code, **values), values)
    session.flush()
    return report


def _geometry(text: str) -> str | None:
    if not text:
        return None
    try:
        geometry = json.loads(text)
    except ValueError:
        raise BadCell("边界应为 GeoJSON 几何 (geometry must be a GeoJSON geometry)", field="geometry") from None
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise BadCell("边界应为多边形 (geometry must be a Polygon or MultiPolygon)", field="geometry")
    return json.dumps(geometry, separators=(",", ":"))


__all__ = ["BUILDING_KINDS", "AreaMaker", "import_buildings", "import_grids", "parse_kind", "parse_lon_lat"]
