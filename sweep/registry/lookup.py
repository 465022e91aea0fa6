"""What the registry already holds, loaded once per import so a million rows resolve without queries.

Communities write a building as its code (O01C02G01B0003) or as its name (龙翔苑3号楼); names
repeat across communities ("1号楼"), so a name is looked up within the row's grid or community.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.errors import NotFound
from sweep.registry.fields import BadCell, fold
from sweep.registry.models import Building, Community, Grid, KeyGroup, Office


@dataclass(frozen=True)
class Place:
    """A building and the areas its people are counted under."""

    building_id: int
    code: str
    grid_id: int
    community_id: int
    office_id: int


@dataclass
class Areas:
    offices: dict[str, int] = field(default_factory=dict)  # code -> id
    communities: dict[str, int] = field(default_factory=dict)  # code or name -> id
    community_office: dict[int, int] = field(default_factory=dict)
    community_code: dict[int, str] = field(default_factory=dict)
    grids: dict[str, int] = field(default_factory=dict)  # code -> id
    grid_community: dict[int, int] = field(default_factory=dict)
    by_code: dict[str, Place] = field(default_factory=dict)
    by_name: dict[str, list[Place]] = field(default_factory=lambda: defaultdict(list))
    grid_of: dict[int, Place] = field(default_factory=dict)  # building id -> place
    key_groups: dict[str, int] = field(default_factory=dict)  # code or name -> id

    def community_id(self, text: str) -> int:
        value = fold(text)
        if value in self.communities:
            return self.communities[value]
        raise BadCell(f"社区不存在 (no such community in the registry): {text}", field="community")

    def grid_id(self, text: str) -> int:
        value = fold(text)
        if value in self.grids:
            return self.grids[value]
        raise BadCell(f"网格不存在 (no such grid in the registry): {text}", field="grid")

    def building(self, text: str, *, grid_id: int | None = None, community_id: int | None = None) -> Place:
        value = fold(text)
        if not value:
            raise BadCell("缺少楼栋 (building missing)")
        place = self.by_code.get(value) or self.by_code.get(value.upper())
        if place is not None:
            return place
        named = self.by_name.get(value, [])
        if grid_id is not None:
            named = [p for p in named if p.grid_id == grid_id]
        elif community_id is not None:
            named = [p for p in named if p.community_id == community_id]
        if len(named) == 1:
            return named[0]
        if not named:
            raise BadCell(f"楼栋不存在，请先导入楼栋 (no such building in the registry; import the buildings first): {text}")
        raise BadCell(
            f"楼栋名称对应多个楼栋，请填楼栋编码或社区 (building name matches {len(named)} buildings; "
            f"give its code or the community): {text}"
        )

    def key_group(self, text: str) -> int | None:
        value = fold(text)
        if value in ("", "无", "否", "一般", "普通", "普通居民", "none"):
            return None
        if value in self.key_groups:
            return self.key_groups[value]
        for name, kid in self.key_groups.items():
            if len(value) >= 2 and (value in name or name in value):
                return kid
        known = "、".join(sorted(k for k in self.key_groups if not k.isascii())) or (
            "(尚无重点人群，请先用 sweep keygroups create 建立 none yet: create it with sweep keygroups create)")
        raise BadCell(f"未知的人员类别，可用：{known} (unknown key group): {text}")


def load_areas(session: Session, *, buildings: bool = True) -> Areas:
    areas = Areas()
    for oid, code in session.execute(select(Office.id, Office.code)):
        areas.offices[code] = oid
    for cid, code, name, oid in session.execute(select(Community.id, Community.code, Community.name, Community.office_id)):
        areas.communities[code] = cid
        areas.communities.setdefault(name, cid)
        areas.community_office[cid] = oid
        areas.community_code[cid] = code
    for gid, code, cid in session.execute(select(Grid.id, Grid.code, Grid.community_id)):
        areas.grids[code] = gid
        areas.grid_community[gid] = cid
    for kid, code, name in session.execute(select(KeyGroup.id, KeyGroup.code, KeyGroup.name)):
        areas.key_groups[code] = kid
        areas.key_groups[name] = kid
    if buildings:
        query = select(Building.id, Building.code, Building.name, Building.grid_id, Building.community_id, Building.office_id)
        for bid, code, name, gid, cid, oid in session.execute(query):
            place = Place(bid, code, gid, cid, oid)
            areas.by_code[code] = place
            areas.by_name[name].append(place)
            areas.grid_of[bid] = place
    return areas


def community_scope(session: Session, code: str | None) -> Community | None:
    """The community an import is limited to (``--community``), or None for the whole district."""
    if code is None:
        return None
    community = session.scalar(select(Community).where(Community.code == code))
    if community is None:
        raise NotFound("community", f"社区不存在 (no such community): {code}")
    return community


__all__ = ["Areas", "Place", "community_scope", "load_areas"]
