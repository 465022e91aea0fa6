"""People imports on SQLite and PostgreSQL: header variants, encodings, XLSX, every rejection reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sweep.auth.models import AuditEntry
from sweep.auth.scope import Scope
from sweep.errors import InvalidInput
from sweep.registry.idnumber import check_digit
from sweep.registry.importer import import_file
from sweep.registry.models import Person, RegistryImport
from sweep.registry.service import id_lookup_hash
from tests.registry.factories import (
    PEOPLE_HEADER_EN,
    PEOPLE_HEADER_ZH,
    TODAY,
    make_area,
    people_rows,
    write_csv,
    write_xlsx,
)

KEY = "test-secret"


def run(session, path: Path, kind: str = "people", **kw):  # type: ignore[no-untyped-def]
    with path.open("rb") as stream:
        return import_file(session=session, scope=Scope.system(), kind=kind, stream=stream, filename=path.name, key=KEY, today=TODAY, **kw)


def person(session, number: str) -> Person | None:  # type: ignore[no-untyped-def]
    return session.scalar(select(Person).where(Person.id_hash == id_lookup_hash(number, key=KEY)))


def in_area(session, area) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(Person).where(Person.office_id == area.office.id))


def codes(area) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.code for b in area.buildings]


@pytest.mark.parametrize(
    ("header", "title", "blank_every"),
    [(PEOPLE_HEADER_ZH, None, 0), (PEOPLE_HEADER_EN, None, 0), (PEOPLE_HEADER_ZH, "龙港社区人员登记表", 0),
     (PEOPLE_HEADER_ZH, "登记表", 3), (["名字", "公民身份号码", "联系电话", "楼号", "单元号", "门牌号", "重点人群", "是否上门采样"], None, 0)],
    ids=["chinese", "english", "title-row", "title-and-blank-rows", "other-chinese-names"],
)
def test_header_variants(session, tmp_path, header, title, blank_every):
    area = make_area(session)
    rows = people_rows(12, seed=1, buildings=codes(area))
    report = run(session, write_csv(tmp_path / "p.csv", header, rows, title=title, blank_every=blank_every))
    assert (report.rows, report.imported, report.rejected) == (12, 12, [])
    assert report.header_row == (3 if title else 1)
    p = person(session, rows[5][1])
    assert p is not None and p.name == rows[5][0] and p.phone == rows[5][2] and p.room == rows[5][5]
    assert p.building_id == area.buildings[5].id and p.grid_id == area.grids[2].id and p.community_id == area.communities[1].id
    assert p.unit == 3 and p.id_masked == rows[5][1][:6] + "********" + rows[5][1][-4:]
    assert person(session, rows[0][1]).key_group_id is not None and person(session, rows[0][1]).home_sampling
    assert in_area(session, area) == 12


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_each_encoding(session, tmp_path, encoding):
    area = make_area(session)
    rows = people_rows(6, seed=2, buildings=codes(area))
    rows[0][0] = "欧阳娜娜"
    report = run(session, write_csv(tmp_path / "p.csv", PEOPLE_HEADER_ZH, rows, encoding=encoding, title="人员登记"))
    assert report.imported == 6 and not report.rejected
    assert person(session, rows[0][1]).name == "欧阳娜娜"


def test_xlsx_with_a_title_row_and_numbers_in_cells(session, tmp_path):
    area = make_area(session)
    rows = people_rows(5, seed=3, buildings=codes(area))
    cells = [[r[0], r[1], int(r[2]), r[3], int(r[4]), r[5], r[6], r[7]] for r in rows]
    report = run(session, write_xlsx(tmp_path / "p.xlsx", PEOPLE_HEADER_ZH, cells, title="人员登记表"))
    assert (report.imported, report.header_row, report.rejected) == (5, 3, [])
    assert person(session, rows[1][1]).phone == rows[1][2]


def _bad(number: str, last: str) -> str:
    return number[:17] + last


def test_each_rejection_reason_names_row_and_field(session, tmp_path):
    area = make_area(session)
    other = make_area(session, prefix="U")
    rows = people_rows(12, seed=4, buildings=[area.buildings[0].code])
    n = rows[1][1]
    rows[1][1] = _bad(n, "X" if n[17] != "X" else "0")  # bad check digit
    impossible = n[:10] + "0230" + n[14:17]
    rows[2][1] = impossible + check_digit(impossible)  # 30 February, with a right check digit
    rows[3][3] = "不存在的楼"  # missing building
    rows[4][2] = "1381234"  # malformed phone
    rows[6][1] = rows[5][1]  # duplicate within the file
    rows[7][3] = ""  # no building at all
    run(session, write_csv(tmp_path / "u.csv", PEOPLE_HEADER_ZH, [[*rows[8][:3], other.buildings[0].code, *rows[8][4:]]]))
    future = n[:6] + "20990101" + n[14:17]
    rows[9][1] = future + check_digit(future)
    rows[10][0] = ""
    rows[11][1] = n[:10]
    report = run(session, write_csv(tmp_path / "p.csv", PEOPLE_HEADER_ZH, rows))
    got = [(r.row, r.field, r.reason.split(" (")[1].rstrip(")").split(")")[0]) for r in sorted(report.rejected)]
    assert got == [
        (3, "id_number", "bad check digit"),
        (4, "id_number", "impossible birth date"),
        (5, "building", "no such building in the registry; import the buildings first"),
        (6, "phone", "phone malformed: 11 digits starting with 1, or a landline such as 0371-12345678"),
        (8, "id_number", "duplicate of row 7"),
        (9, "building", "building missing"),
        (10, "id_number", f"same ID number already registered in building {other.buildings[0].code} of another community"),
        (11, "id_number", "birth date in the future"),
        (12, "name", "name missing"),
        (13, "id_number", "must be 18 characters"),
    ]
    assert report.imported == 2 and report.rejected_rows == 10
    assert in_area(session, area) == 2
    assert person(session, rows[8][1]).building_id == other.buildings[0].id  # untouched by the refused row
    stored = session.get(RegistryImport, report.import_id).report
    bad = dict(stored["bad_rows"])
    assert bad[3][1] == rows[1][1][:6] + "********" + rows[1][1][-4:]  # never a full number at rest
    assert len(bad) == 10


def test_a_whole_file_error_changes_nothing(session, tmp_path):
    area = make_area(session)
    before = session.scalar(select(func.count()).select_from(Person))
    path = write_csv(tmp_path / "p.csv", ["姓名", "手机号"], [["张三", "13800000000"]])
    with pytest.raises(InvalidInput) as err:
        run(session, path)
    assert err.value.field == "header"
    assert session.scalar(select(func.count()).select_from(Person)) == before
    assert in_area(session, area) == 0


def test_re_import_is_idempotent(session, tmp_path):
    area = make_area(session)
    rows = people_rows(30, seed=5, buildings=codes(area))
    rows.append(list(rows[3]))  # a duplicate, reported the same both times
    path = write_csv(tmp_path / "p.csv", PEOPLE_HEADER_ZH, rows)
    first = run(session, path)
    snapshot = sorted(session.execute(select(Person.id, Person.name, Person.building_id, Person.phone, Person.unit,
                                             Person.room, Person.key_group_id, Person.home_sampling, Person.id_encrypted)
                                      .where(Person.office_id == area.office.id)).all())
    audits = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "registry.person.update"))
    second = run(session, path)
    assert (first.imported, first.updated, first.unchanged) == (30, 0, 0)
    assert (second.imported, second.updated, second.unchanged) == (0, 0, 30)
    assert first.as_dict()["rejected"] == second.as_dict()["rejected"] == [
        {"row": 32, "field": "id_number", "reason": "与第5行重复 (duplicate of row 5)"}]
    again = sorted(session.execute(select(Person.id, Person.name, Person.building_id, Person.phone, Person.unit,
                                          Person.room, Person.key_group_id, Person.home_sampling, Person.id_encrypted)
                                   .where(Person.office_id == area.office.id)).all())
    assert again == snapshot
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "registry.person.update")) == audits


def test_a_changed_row_updates_the_person_and_is_audited(session, tmp_path):
    area = make_area(session)
    rows = people_rows(4, seed=6, buildings=[area.buildings[0].code])
    run(session, write_csv(tmp_path / "a.csv", PEOPLE_HEADER_ZH, rows))
    moved = [list(r) for r in rows]
    moved[2][3] = area.buildings[1].code  # moved within the community
    moved[2][2] = "13912345678"  # and a new phone
    moved[3][2] = ""  # a blank cell erases nothing
    report = run(session, write_csv(tmp_path / "b.csv", PEOPLE_HEADER_ZH, moved))
    assert (report.imported, report.updated, report.unchanged, report.rejected) == (0, 1, 3, [])
    p = person(session, rows[2][1])
    assert p.building_id == area.buildings[1].id and p.phone == "13912345678"
    assert person(session, rows[3][1]).phone == rows[3][2]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "registry.person.update", AuditEntry.entity_id == p.id))
    assert entry.detail["changes"] == {"building": [area.buildings[0].code, area.buildings[1].code],
                                       "phone": [rows[2][2], "13912345678"]}
    assert entry.detail["file"] == "b.csv"


def test_community_scope_refuses_other_buildings(session, tmp_path):
    area = make_area(session)
    rows = people_rows(4, seed=7, buildings=codes(area))  # buildings 0-3 in community 1, 4-5 in community 2
    rows[1][3] = area.buildings[4].code
    report = run(session, write_csv(tmp_path / "p.csv", PEOPLE_HEADER_ZH, rows), community_code=area.communities[0].code)
    assert [(r.row, r.field) for r in report.rejected] == [(3, "building")]
    assert area.communities[0].code in report.rejected[0].reason and report.imported == 3


def test_building_names_resolve_within_the_community_column(session, tmp_path):
    area = make_area(session)
    rows = people_rows(3, seed=8, buildings=["1号楼"])
    header = [*PEOPLE_HEADER_ZH, "社区"]
    ambiguous = run(session, write_csv(tmp_path / "a.csv", PEOPLE_HEADER_ZH, rows))
    assert {r.field for r in ambiguous.rejected} == {"building"} and "matches 3 buildings" in ambiguous.rejected[0].reason
    report = run(session, write_csv(tmp_path / "b.csv", header, [[*r, area.communities[1].name] for r in rows]))
    assert report.imported == 3
    assert person(session, rows[0][1]).building_id == area.buildings[4].id


def test_other_documents_legacy_numbers_and_region_warnings(session, tmp_path):
    area = make_area(session)
    header = ["姓名", "证件类型", "证件号码", "楼栋", "性别", "出生日期"]
    legacy = "410184900101123"  # 15 digits: 19 is put in and a check digit added
    unknown_region = "990101199001011230"[:17]
    rows = [
        ["John Smith", "护照", "E12345678", area.buildings[0].code, "男", "1980-05-06"],
        ["陈大文", "", "H12345678", area.buildings[0].code, "", ""],
        ["王五", "身份证", legacy, area.buildings[0].code, "", ""],
        ["赵六", "", unknown_region + check_digit(unknown_region), area.buildings[0].code, "", ""],
        ["钱七", "火星证", "X1", area.buildings[0].code, "", ""],
    ]
    report = run(session, write_csv(tmp_path / "p.csv", header, rows))
    assert report.imported == 4 and [(r.row, r.field) for r in report.rejected] == [(6, "doc_type"), (6, "id_number")]
    passport = session.scalar(select(Person).where(Person.id_hash == id_lookup_hash("passport:E12345678", key=KEY)))
    assert passport.doc_type == "passport" and passport.sex == "M" and passport.birth_date == dt.date(1980, 5, 6)
    assert session.scalar(select(Person.doc_type).where(Person.id_hash == id_lookup_hash("hk_macau:H12345678", key=KEY))) == "hk_macau"
    upgraded = "41018419900101123"
    assert person(session, upgraded + check_digit(upgraded)).birth_date == dt.date(1990, 1, 1)
    warned = {(w.row, w.reason.split(" (")[0]) for w in report.warnings}
    assert (4, "15位旧号码已升级为18位") in warned and any(row == 5 and "地区代码未知" in r for row, r in warned)


def test_ten_thousand_rows_with_three_percent_bad(session, tmp_path):
    """Exactly the good rows land; exactly the bad rows are reported, with their row numbers."""
    import numpy as np

    from sweep.demo.district import generate_district
    from tests.registry.factories import district_tables, ensure_key_groups

    district = generate_district(people=10_000, seed=23)
    b_header, b_rows, p_header, p_rows = district_tables(district, "Q")
    ensure_key_groups(session)
    built = run(session, write_csv(tmp_path / "b.csv", b_header, b_rows), kind="buildings")
    assert built.imported == len(b_rows) and not built.rejected
    rng = np.random.default_rng(99)
    bad = sorted(rng.choice(len(p_rows), size=300, replace=False).tolist())
    expected = []
    for k, i in enumerate(bad):
        row_no = i + 2  # header on row 1
        reason = k % 5
        if reason == 0:
            n = p_rows[i][1]
            p_rows[i][1] = _bad(n, "0" if n[17] != "0" else "1")
            expected.append((row_no, "id_number", "bad check digit"))
        elif reason == 1:
            p_rows[i][3] = "Q-NO-SUCH-BUILDING"
            expected.append((row_no, "building", "no such building"))
        elif reason == 2:
            p_rows[i][2] = "138-1234"
            expected.append((row_no, "phone", "phone malformed"))
        elif reason == 3:
            n = p_rows[i][1]
            bad17 = n[:10] + "13" + n[12:17]
            p_rows[i][1] = bad17 + check_digit(bad17)
            expected.append((row_no, "id_number", "impossible birth date"))
        else:
            p_rows[i][1] = p_rows[0][1]  # a good-looking row repeating the first one
            expected.append((row_no, "id_number", "duplicate of row 2"))
    assert 0 not in bad
    report = run(session, write_csv(tmp_path / "p.csv", p_header, p_rows, encoding="gb18030"))
    assert report.rows == 10_000 and report.imported == 9_700 and report.rejected_rows == 300
    got = [(r.row, r.field, r.reason) for r in sorted(report.rejected)]
    assert [(row, field) for row, field, _ in got] == [(row, field) for row, field, _ in expected]
    assert all(text in reason for (_r, _f, reason), (_r2, _f2, text) in zip(got, expected, strict=False))
    imported = session.scalar(select(func.count()).select_from(Person).where(Person.community_id.in_(_community_ids(session, "Q"))))
    assert imported == 9_700
    bad_set = set(bad)
    for i in (j for j in range(0, 10_000, 997) if j not in bad_set):
        assert person(session, p_rows[i][1]) is not None


def _community_ids(session, prefix: str) -> list[int]:  # type: ignore[no-untyped-def]
    from sweep.registry.models import Community

    return list(session.scalars(select(Community.id).where(Community.code.like(f"{prefix}%"))))
