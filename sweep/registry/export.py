"""The registry out to a spreadsheet, for a community or the district, ID numbers masked by default.

The columns carry the import's own Chinese headers, so a full export can be corrected and
imported again. Full numbers only for a user whose role may see them; every export is audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.policy import Can, can, require
from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.errors import InvalidInput
from sweep.registry.idcrypt import decrypt_id_number
from sweep.registry.lookup import community_scope
from sweep.registry.models import Building, Community, Grid, KeyGroup, Person
from sweep.registry.reveal import NotAllowed

HEADER = ["姓名", "身份证号", "证件类型", "性别", "出生日期", "手机号", "社区编码", "社区名称", "网格编码", "楼栋编码", "楼栋名称",
          "单元", "房号", "人员类别", "上门采样"]
DOC_NAMES = {"id_card": "身份证", "passport": "护照", "hk_macau": "港澳通行证", "taiwan": "台胞证", "other": "其他"}
SEX_NAMES = {"M": "男", "F": "女"}
_BATCH = 10_000


def _rows(session: Session, community: Community | None, *, scope: Scope, full_ids: bool, key: str) -> Iterator[list[Any]]:
    query = (
        select(Person.id, Person.name, Person.id_masked, Person.id_encrypted, Person.doc_type, Person.sex, Person.birth_date,
               Person.phone, Community.code, Community.name, Grid.code, Building.code, Building.name, Person.unit,
               Person.room, KeyGroup.name, Person.home_sampling)
        .join(Community, Community.id == Person.community_id)
        .join(Grid, Grid.id == Person.grid_id)
        .join(Building, Building.id == Person.building_id)
        .outerjoin(KeyGroup, KeyGroup.id == Person.key_group_id)
        .where(scope.people(None))
        .order_by(Community.code, Building.code, Person.unit, Person.room, Person.id)
    )
    if community is not None:
        query = query.where(Person.community_id == community.id)
    for row in session.execute(query.execution_options(yield_per=_BATCH)):
        (_pid, name, masked, sealed, doc, sex, birth, phone, c_code, c_name, g_code, b_code, b_name, unit, room, group, home) = row
        number = masked
        if full_ids and sealed is not None:
            number = decrypt_id_number(sealed, key=key)
        yield [name, number, DOC_NAMES.get(doc, doc), SEX_NAMES.get(sex or "", ""), birth.isoformat() if birth else "",
               phone or "", c_code, c_name, g_code, b_code, b_name, unit if unit is not None else "", room or "",
               group or "", "是" if home else ""]


def _check(session: Session, community: Community | None, scope: Scope, full_ids: bool) -> None:
    require(scope, Can.EXPORT)
    if full_ids and not can(scope, Can.REVEAL_ID):
        raise NotAllowed("full_ids", f"角色 {scope.role} 无权查看完整证件号码 (role {scope.role} may not see full ID numbers)")
    if community is not None and not scope.may_write_office(community.office_id):
        raise scope.refuse("community", community.code)


def export_people(*, session: Session, path: Path, community_code: str | None, key: str, scope: Scope, full_ids: bool = False) -> int:
    """Write the people of one community (or all) in the scope to ``path`` (.xlsx or .csv); returns how many. Audited."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InvalidInput("output", f"导出文件应为 .xlsx 或 .csv (export to .xlsx or .csv): {path.name}")
    community = community_scope(session, community_code)
    data = export_bytes(session=session, community=community, fmt=suffix[1:], scope=scope, full_ids=full_ids, key=key)
    path.write_bytes(data.content)
    audit(session=session, user_id=scope.user_id, action="registry.export_full" if full_ids else "registry.export", entity="community",
          entity_id=community.id if community else None,
          detail={"people": data.count, "area": scope.area(), "file": path.name, "full_id_numbers": full_ids})
    return data.count


class Exported:
    def __init__(self, content: bytes, count: int) -> None:
        self.content, self.count = content, count


def export_bytes(*, session: Session, community: Community | None, fmt: str, key: str, scope: Scope, full_ids: bool = False) -> Exported:
    """The people of the scope (of one community, or all it reaches) as CSV or XLSX bytes; the caller audits."""
    _check(session, community, scope, full_ids)
    rows = _rows(session, community, scope=scope, full_ids=full_ids, key=key)
    count = 0
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(row)
            count += 1
        # The BOM makes Excel on a Chinese Windows read the file as UTF-8.
        return Exported(buf.getvalue().encode("utf-8-sig"), count)
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("人员 people")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
        count += 1
    out = io.BytesIO()
    book.save(out)
    return Exported(out.getvalue(), count)


__all__ = ["HEADER", "export_bytes", "export_people"]
