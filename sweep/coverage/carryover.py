"""The carry-over list as a grid worker can use it (CSV or XLSX): who, where to knock, why, and how
many rounds in a row they were missed. ID numbers masked; phones only for roles that may see them.

Every export is written to the audit log, with whether phones were in it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.policy import Can, can, require
from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.coverage.export import list_sheet
from sweep.coverage.rounds import carry_over
from sweep.db import in_chunks
from sweep.errors import InvalidInput
from sweep.plan.models import Campaign
from sweep.registry.models import Building, Community, Grid, Office, Person

HEADERS = (
    "办事处 office", "社区 community", "网格 grid", "楼栋 building", "楼栋编码 building code", "单元 unit", "房号 room", "姓名 name",
    "证件号码 ID number (masked)", "电话 phone", "原因 reason", "连续未检轮数 rounds missed in a row", "上门采样 home sampling",
)
WIDTHS = (14, 16, 12, 22, 18, 6, 8, 10, 22, 14, 14, 10, 10)
REASONS = {"missing": "未检 missing", "away": "外出 away", "hospital": "住院 hospital"}
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class CarryOverFile:
    content: bytes
    rows: int
    phones: bool
    media_type: str


def carry_over_rows(*, session: Session, campaign: Campaign, scope: Scope, phones: bool) -> list[tuple]:
    """One row a person in HEADERS order, the longest missed first, then by place; only those in the scope."""
    carried = carry_over(session=session, campaign=campaign, scope=scope)
    ids = [c.person_id for c in carried]
    people: dict[int, tuple] = {}
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(Person.id, Office.name, Community.name, Grid.name, Building.name, Building.code, Person.unit, Person.room,
                   Person.name, Person.id_masked, Person.phone)
            .join(Office, Office.id == Person.office_id)
            .join(Community, Community.id == Person.community_id)
            .join(Grid, Grid.id == Person.grid_id)
            .join(Building, Building.id == Person.building_id)
            .where(Person.id.in_(chunk))
        ):
            people[row[0]] = tuple(row[1:])
    out = []
    for c in carried:
        office, community, grid, building, code, unit, room, name, masked, phone = people[c.person_id]
        out.append((office, community, grid, building, code, unit, room, name, masked, phone if phones else None,
                    REASONS.get(c.reason, c.reason), c.rounds_missed, "是 yes" if c.home_sampling else ""))
    out.sort(key=lambda r: (-r[11], r[1], r[4], r[5] is not None, r[5] or 0, r[6] or "", r[7]))
    return out


def carry_over_file(*, session: Session, campaign: Campaign, fmt: str, scope: Scope) -> CarryOverFile:
    """The carry-over list as CSV (UTF-8 with BOM, so that Excel reads the Chinese) or XLSX.

    The scope needs the export right; phones only with the right to see contacts; an office gets
    only its own people. ``Scope.system()`` is the operator at the server.
    """
    if fmt not in FORMATS:
        raise InvalidInput("format", f"格式应为 {'/'.join(FORMATS)} (format must be one of those), got {fmt!r}")
    require(scope, Can.EXPORT)
    phones = can(scope, Can.SEE_CONTACTS)
    office_id = scope.office_id if scope.role == "office" else None
    rows = carry_over_rows(session=session, campaign=campaign, scope=scope, phones=phones)
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(HEADERS)
        writer.writerows(rows)
        content, media = text.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"
    else:
        book = Workbook(write_only=True)
        sheet = list_sheet(book, "带入下一轮 carry-over", HEADERS, WIDTHS)
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        content, media = buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    audit(session=session, user_id=scope.user_id, campaign_id=campaign.id, entity="campaign", entity_id=campaign.id,
          action="coverage.export_carry_over", detail={"rows": len(rows), "phones": phones, "format": fmt, "office_id": office_id})
    return CarryOverFile(content, len(rows), phones, media)


__all__ = ["FORMATS", "HEADERS", "CarryOverFile", "carry_over_file", "carry_over_rows"]
