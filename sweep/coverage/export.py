"""The missing list as a spreadsheet for door-to-door follow-up, ID numbers masked unless the role allows.

Every export is written to the audit log; one with full ID numbers under its own action.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.policy import Can, require
from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.coverage.rounds import missed_before
from sweep.coverage.service import MissingPerson, missing_rows
from sweep.db import in_chunks
from sweep.plan.models import Campaign
from sweep.registry.models import Person

HEADERS = (
    "办事处 office", "社区 community", "网格 grid", "楼栋 building", "单元 unit", "房号 room", "姓名 name",
    "证件号码 ID number", "电话 phone", "上门采样 home sampling", "上轮也未检 missed last round", "走访结果 outcome",
)
WIDTHS = (14, 16, 12, 22, 6, 8, 10, 22, 14, 10, 12, 24)


def list_sheet(book: Workbook, title: str, headers: Sequence[str], widths: Sequence[int]) -> WriteOnlyWorksheet:
    """A list for the grid workers: a sheet of a write-only workbook with its headers, their widths, the first row frozen."""
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.append(headers)
    return sheet
NOT_STORED = "（完整号码未保存 not stored）"


@dataclass(frozen=True)
class Export:
    content: bytes
    rows: int
    full_ids: bool


def _full_numbers(session: Session, people: list[MissingPerson], key: str) -> dict[int, str]:
    from sweep.registry.idcrypt import decrypt_id_number

    ids = [p.person_id for p in people]
    numbers: dict[int, str] = {}
    for chunk in in_chunks(ids, 500):
        for pid, blob in session.execute(select(Person.id, Person.id_encrypted).where(Person.id.in_(chunk))):
            if blob is not None:
                try:
                    numbers[pid] = decrypt_id_number(blob, key=key)
                except ValueError:
                    continue  # sealed under an earlier secret: shown masked
    return numbers


def missing_workbook(
    *,
    session: Session,
    campaign: Campaign,
    key: str,
    scope: Scope,
    full_ids: bool = False,
    community_code: str | None = None,
    grid_code: str | None = None,
    building_code: str | None = None,
) -> Export:
    """An XLSX of the missing list of the people in the scope: one row a person, and a sheet of counts by building.

    Full ID numbers only for a role allowed to see them; every export is audited, with its area and count.
    """
    require(scope, Can.EXPORT)
    if full_ids:
        require(scope, Can.REVEAL_ID)
    people = missing_rows(
        session=session, campaign=campaign, scope=scope, community_code=community_code, grid_code=grid_code, building_code=building_code,
    )
    numbers = _full_numbers(session, people, key) if full_ids else {}
    twice = missed_before(session=session, campaign=campaign, person_ids=[p.person_id for p in people])

    book = Workbook(write_only=True)
    sheet = list_sheet(book, "未检人员名单 missing", HEADERS, WIDTHS)
    for p in people:
        number = numbers.get(p.person_id, p.id_masked if not full_ids else f"{p.id_masked} {NOT_STORED}")
        sheet.append((
            p.office, p.community, p.grid, p.building, p.unit, p.room, p.name, number, p.phone,
            "是 yes" if p.home_sampling or p.home_task else "", "是 yes" if p.person_id in twice else "", "",
        ))
    summary = book.create_sheet("按楼栋 by building")
    summary.append(("社区 community", "楼栋 building", "楼栋编码 code", "未检人数 missing"))
    for (community, building, code), n in sorted(Counter((p.community, p.building, p.building_code) for p in people).items()):
        summary.append((community, building, code, n))
    buffer = io.BytesIO()
    book.save(buffer)

    audit(
        session=session, user_id=scope.user_id, campaign_id=campaign.id, entity="campaign", entity_id=campaign.id,
        action="coverage.export_missing_full_ids" if full_ids else "coverage.export_missing",
        detail={"rows": len(people), "people": len(people), "area": scope.area(), "full_ids": full_ids, "community": community_code,
                "grid": grid_code, "building": building_code},
    )
    return Export(buffer.getvalue(), len(people), full_ids)


__all__ = ["HEADERS", "Export", "missing_workbook"]
