"""Candidate sampling sites and the staff pool into the registry, matched so a re-import is a no-op.

Sites are matched by their code. Staff have no code of their own: a person is matched by phone
number, or failing that by name within the community.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.registry.fields import BadCell, fold, parse_float, parse_int, parse_phone
from sweep.registry.headers import Row, data_rows, parsed_rows
from sweep.registry.importer_areas import _record, parse_kind, parse_lon_lat, unique_code
from sweep.registry.lookup import Areas, load_areas
from sweep.registry.models import CandidateSite, Community, Staff
from sweep.registry.report import ImportReport

SITE_KINDS = {
    "广场": "square", "square": "square",
    "停车场": "car_park", "car_park": "car_park",
    "学校": "school", "school": "school",
    "社区服务中心": "community_centre", "党群服务中心": "community_centre", "社区中心": "community_centre",
    "community_centre": "community_centre",
    "厂区": "factory_yard", "工厂": "factory_yard", "factory_yard": "factory_yard",
    "其他": "other", "其它": "other", "other": "other",
}
STAFF_KINDS = {
    "医护": "medical", "医护人员": "medical", "医务人员": "medical", "医生": "medical", "护士": "medical",
    "采样人员": "medical", "medical": "medical",
    "一般": "general", "工作人员": "general", "社区工作者": "general", "志愿者": "general", "网格员": "general",
    "general": "general",
}


def _scoped_community(areas: Areas, text: str, community: Community | None) -> int:
    cid = areas.community_id(text) if text else (community.id if community else None)
    if cid is None:
        raise BadCell("缺少社区 (community missing)", field="community")
    if community is not None and cid != community.id:
        raise BadCell(f"不属于社区 {community.code} (not in community {community.code}): {text}", field="community")
    return cid


def import_sites(*, session: Session, rows: Iterable[Row], report: ImportReport, community: Community | None,
                 user_id: int | None) -> ImportReport:
    header, data = data_rows(rows, "sites", report)
    areas = load_areas(session, buildings=False)
    existing = {s.code: s for s in session.scalars(select(CandidateSite))}
    seen: dict[str, int] = {}

    def parse(number: int, get: Callable[[str], str]) -> tuple[str, str, int, float, float, int, float | None, str]:
        code = unique_code(get("code"), seen=seen, row=number, longest=48, what="采样点", what_en="site")
        name = fold(get("name"))
        if not name:
            raise BadCell("采样点名称为空 (site name missing)", field="name")
        cid = _scoped_community(areas, get("community"), community)
        lon, lat = parse_lon_lat(get("lon"), get("lat"))
        desks = parse_int(get("max_desks"), what="最多采样台", what_en="max desks", field="max_desks")
        if not desks or desks <= 0:
            raise BadCell("最多采样台应为正整数 (max desks must be a positive whole number)", field="max_desks")
        area = parse_float(get("area_m2"), what="面积", what_en="area", field="area_m2") if get("area_m2") else None
        return code, name, cid, lon, lat, desks, area, parse_kind(get("kind"), SITE_KINDS, default="other")

    for _, (code, name, cid, lon, lat, desks, area, kind) in parsed_rows(header, data, report, parse):
        values = {"name": name[:100], "community_id": cid, "kind": kind, "lon": lon, "lat": lat, "max_desks": desks,
                  "area_m2": area}
        site = existing.get(code)
        _record(session, report, user_id, "candidate_site", site or CandidateSite(code=code, **values), values)
    session.flush()
    return report


def import_staff(*, session: Session, rows: Iterable[Row], report: ImportReport, community: Community | None,
                 user_id: int | None) -> ImportReport:
    header, data = data_rows(rows, "staff", report)
    areas = load_areas(session, buildings=False)
    by_phone: dict[str, Staff] = {}
    by_name: dict[tuple[int, str], list[Staff]] = {}
    for s in session.scalars(select(Staff)):
        if s.phone:
            by_phone[s.phone] = s
        by_name.setdefault((s.community_id, s.name), []).append(s)
    seen: dict[str, int] = {}

    def parse(number: int, get: Callable[[str], str]) -> tuple[str, str | None, int, str]:
        name = fold(get("name"))
        if not name or len(name) > 50:
            raise BadCell("姓名为空或超过50个字 (name missing or longer than 50 characters)", field="name")
        phone = parse_phone(get("phone")) if get("phone") else None
        cid = _scoped_community(areas, get("community"), community)
        kind = parse_kind(get("kind"), STAFF_KINDS, default="general")
        key = phone or f"{cid}:{name}"
        if key in seen:
            raise BadCell(f"与第{seen[key]}行重复 (duplicate of row {seen[key]})", field="phone" if phone else "name")
        seen[key] = number
        return name, phone, cid, kind

    for _, (name, phone, cid, kind) in parsed_rows(header, data, report, parse):
        # One namesake in the community with another phone is the same person with a new number.
        same_name = [s for s in by_name.get((cid, name), []) if s.id is not None]
        match = by_phone.get(phone) if phone else None
        if match is None and len(same_name) == 1:
            match = same_name[0]
        values = {"name": name, "community_id": cid, "kind": kind}
        if phone:
            values["phone"] = phone
        if match is None:
            staff = Staff(**{"phone": phone, **values})
            by_name.setdefault((cid, name), []).append(staff)
            if phone:
                by_phone[phone] = staff
            _record(session, report, user_id, "staff", staff, values)
        else:
            _record(session, report, user_id, "staff", match, values)
    session.flush()
    return report


__all__ = ["SITE_KINDS", "STAFF_KINDS", "import_sites", "import_staff"]
