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

from sweep.auth.models import User
from sweep.auth.service import audit
from sweep.errors import InvalidInput, NotFound
from sweep.registry.idcrypt import decrypt_id_number
from sweep.registry.lookup import community_scope
from sweep.registry.models import Building, Community, Grid, KeyGroup, Person
from sweep.registry.reveal import NotAllowed, can_reveal

HEADER = ["姓名", "身份证号", "证件类型", "性别", "出生日期", "手机号", "社区编码", "社区名称", "网格编码", "楼栋编码", "楼栋名称",
          "单元", "房号", "人员类别", "上门采样"]
DOC_NAMES = {"id_card": "身份证", "passport": "护照", "hk_macau": "港澳通行证", "taiwan": "台胞证", "other": "其他"}
SEX_NAMES = {"M": "男", "F": "女"}
_BATCH = 10_000


def _rows(session: Session, community: Community | None, *, full_for: User | None, key: str) -> Iterator[list[Any]]:
    query = (
        select(Person.id, Person.name, Person.id_masked, Person.id_encrypted, Person.doc_type, Person.sex, Person.birth_date,
               Person.phone, Community.code, Community.name, Grid.code, Building.code, Building.name, Person.unit,
               Person.room, KeyGroup.name, Person.home_sampling, Person.office_id)
        .join(Community, Community.id == Person.community_id)
        .join(Grid, Grid.id == Person.grid_id)
        .join(Building, Building.id == Person.building_id)
        .outerjoin(KeyGroup, KeyGroup.id == Person.key_group_id)
        .order_by(Community.code, Building.code, Person.unit, Person.room, Person.id)
    )
    if community is not None:
        query = query.where(Person.community_id == community.id)
    for row in session.execute(query.execution_options(yield_per=_BATCH)):
        (pid, name, masked, sealed, doc, sex, birth, phone, c_code, c_name, g_code, b_code, b_name, unit, room, group, home,
         office_id) = row
        number = masked
        if full_for is not None and sealed is not None:
            if not can_reveal(user=full_for, office_id=office_id):
                raise NotAllowed("reveal_as", f"用户 {full_for.username} 无权查看 {c_code} 的完整证件号码 "
                                 f"(user {full_for.username} may not see full ID numbers in {c_code})")
            number = decrypt_id_number(sealed, key=key)
        yield [name, number, DOC_NAMES.get(doc, doc), SEX_NAMES.get(sex or "", ""), birth.isoformat() if birth else "",
               phone or "", c_code, c_name, g_code, b_code, b_name, unit if unit is not None else "", room or "",
               group or "", "是" if home else ""]


def export_people(*, session: Session, path: Path, community_code: str | None, key: str, reveal_as: str | None = None,
                  user_id: int | None = None) -> int:
    """Write the people of one community (or all) to ``path`` (.xlsx or .csv); returns how many."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InvalidInput("output", f"导出文件应为 .xlsx 或 .csv (export to .xlsx or .csv): {path.name}")
    community = community_scope(session, community_code)
    full_for = None
    if reveal_as is not None:
        full_for = session.scalar(select(User).where(User.username == reveal_as))
        if full_for is None:
            raise NotFound("reveal_as", f"没有这个用户 (no such user): {reveal_as}")
    data = export_bytes(session=session, community=community, fmt=suffix[1:], full_for=full_for, key=key)
    path.write_bytes(data.content)
    audit(session=session, user_id=full_for.id if full_for else user_id,
          action="registry.export_full" if full_for else "registry.export", entity="community",
          entity_id=community.id if community else None,
          detail={"people": data.count, "file": path.name, "full_id_numbers": full_for is not None})
    return data.count


class Exported:
    def __init__(self, content: bytes, count: int) -> None:
        self.content, self.count = content, count


def export_bytes(*, session: Session, community: Community | None, fmt: str, key: str, full_for: User | None = None) -> Exported:
    rows = _rows(session, community, full_for=full_for, key=key)
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
