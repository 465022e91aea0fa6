"""The demo district's key-group workplaces and who works where, written as the employers' own
sheets and loaded through the same import an operator uses (``sweep keygroups import``)."""

from __future__ import annotations

import csv
import io

import numpy as np
from sqlalchemy.orm import Session

from sweep.demo.district import KEY_GROUP_CODES, District
from sweep.keygroups.importer import import_keygroup_file

# (code, name, employer) by key group; the demo's airport zone has a terminal, a cargo area,
# two cold stores and a quarantine hotel.
WORKPLACES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "airport": (("WP-T2", "T2航站楼", "郑州机场集团"), ("WP-CARGO", "货运区", "郑州机场集团")),
    "cold_chain": (("WP-COLD-1", "一号冷库", "航空港冷链物流有限公司"), ("WP-COLD-2", "二号冷库", "豫鲜冷链仓储有限公司")),
    "quarantine_hotel": (("WP-HOTEL-1", "集中隔离酒店", "航空港区隔离点管理组"),),
}


def _csv(header: list[str], rows: list[list[str]]) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode("utf-8-sig"))


def key_group_sheets(district: District) -> tuple[io.BytesIO, io.BytesIO]:
    """The workplaces sheet and the members sheet, deterministic for the district."""
    names = {k.code: k.name_zh for k in district.key_groups}
    workplaces = [[code, name, employer, names[group]] for group, places in WORKPLACES.items() for code, name, employer in places]
    members = []
    people = district.people
    for i in np.flatnonzero(people.key_group):
        places = WORKPLACES[KEY_GROUP_CODES[int(people.key_group[i])]]
        members.append([people.id_number[i], people.name[i], places[int(i) % len(places)][0]])
    return (_csv(["场所编码", "场所名称", "用人单位", "人员类别"], workplaces),
            _csv(["身份证号", "姓名", "场所编码"], members))


def load_key_group_sheets(*, session: Session, district: District, key: str) -> int:
    """Import the demo's workplaces and members; returns the members imported."""
    places, members = key_group_sheets(district)
    import_keygroup_file(session=session, kind="workplaces", stream=places, filename="workplaces.csv", key=key)
    report = import_keygroup_file(session=session, kind="members", stream=members, filename="members.csv", key=key)
    return report.imported
