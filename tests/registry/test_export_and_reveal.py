"""Exports masked by default; full ID numbers only to roles allowed to see them, each reveal audited."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from sweep.auth.models import AuditEntry
from sweep.auth.scope import OutOfScope, Scope
from sweep.auth.service import create_user
from sweep.errors import NotFound
from sweep.registry.export import HEADER, export_people
from sweep.registry.idcrypt import decrypt_id_number
from sweep.registry.importer import import_file
from sweep.registry.models import Person
from sweep.registry.reveal import NotAllowed, reveal_id_number
from sweep.registry.service import id_lookup_hash
from tests.registry.factories import PEOPLE_HEADER_ZH, TODAY, make_area, people_rows, write_csv

KEY = "test-secret"


def _load(session, tmp_path, area, n=8):  # type: ignore[no-untyped-def]
    rows = people_rows(n, seed=31, buildings=[b.code for b in area.buildings])
    path = write_csv(tmp_path / "p.csv", PEOPLE_HEADER_ZH, rows)
    with path.open("rb") as f:
        import_file(session=session, scope=Scope.system(), kind="people", stream=f, filename="p.csv", key=KEY, today=TODAY)
    return rows


def _audits(session, action: str) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_csv_export_is_masked_and_audited(session, tmp_path):
    area = make_area(session, prefix="X")
    rows = _load(session, tmp_path, area)
    before = _audits(session, "registry.export")
    n = export_people(session=session, scope=Scope.system(), path=tmp_path / "out.csv", community_code=area.communities[0].code, key=KEY)
    text = (tmp_path / "out.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    table = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert table[0] == HEADER and n == len(table) - 1 == sum(1 for i in range(8) if i % 6 < 4)
    numbers = {r[1] for r in table[1:]}
    assert all("********" in x for x in numbers)
    assert {r[1][:6] + "********" + r[1][-4:] for i, r in enumerate(rows) if i % 6 < 4} == numbers
    assert _audits(session, "registry.export") == before + 1


def test_full_export_for_a_permitted_user_imports_back_unchanged(session, tmp_path):
    area = make_area(session, prefix="Y")
    rows = _load(session, tmp_path, area)
    hq = create_user(session=session, username="hq-yy", display_name="指挥部", role="command")
    n = export_people(session=session, scope=Scope.of(hq), path=tmp_path / "full.xlsx", community_code=None, key=KEY, full_ids=True)
    sheet = load_workbook(tmp_path / "full.xlsx", read_only=True).worksheets[0]
    values = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADER and n == len(values) - 1
    assert {r[1] for r in rows} <= {str(v[1]) for v in values[1:]}
    assert _audits(session, "registry.export_full") == 1
    with (tmp_path / "full.xlsx").open("rb") as f:
        again = import_file(session=session, scope=Scope.system(), kind="people", stream=f, filename="full.xlsx", key=KEY, today=TODAY)
    assert (again.imported, again.updated, again.rejected) == (0, 0, []) and again.unchanged == n


def test_an_office_user_cannot_export_another_office_in_full(session, tmp_path):
    area = make_area(session, prefix="Z")
    other = make_area(session, prefix="ZZ")
    _load(session, tmp_path, area)
    office = create_user(session=session, username="office-zz", display_name="另一办事处", role="office", office_id=other.office.id)
    with pytest.raises(OutOfScope) as err:
        export_people(session=session, scope=Scope.of(office), path=tmp_path / "x.csv", community_code=area.communities[0].code, key=KEY,
                      full_ids=True)
    assert err.value.status_code == 403 and err.value.field == "community"
    # Without naming a community, an office's export holds its own people only.
    assert export_people(session=session, scope=Scope.of(office), path=tmp_path / "y.csv", community_code=None, key=KEY) == 0


def test_reveal_by_role_and_office(session, tmp_path):
    area = make_area(session, prefix="R")
    other = make_area(session, prefix="RR")
    rows = _load(session, tmp_path, area)
    p = session.scalar(select(Person).where(Person.id_hash == id_lookup_hash(rows[0][1], key=KEY)))
    admin = create_user(session=session, username="adm-r", display_name="管理员", role="admin")
    own = create_user(session=session, username="off-r", display_name="本办事处", role="office", office_id=area.office.id)
    foreign = create_user(session=session, username="off-rr", display_name="外办事处", role="office", office_id=other.office.id)
    lab = create_user(session=session, username="lab-r", display_name="实验室", role="lab")
    assert reveal_id_number(session=session, person_id=p.id, user=admin, key=KEY) == rows[0][1]
    assert reveal_id_number(session=session, person_id=p.id, user=own, key=KEY) == rows[0][1]
    for user in (foreign, lab):
        with pytest.raises(NotAllowed):
            reveal_id_number(session=session, person_id=p.id, user=user, key=KEY)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "registry.reveal_id", AuditEntry.entity_id == p.id)).all()
    assert sorted(e.user_id for e in entries) == sorted([admin.id, own.id])
    with pytest.raises(NotFound):
        reveal_id_number(session=session, person_id=p.id, user=admin, key="another-key")


def test_the_demo_loader_seals_every_number(session, district_loaded, settings):
    people = session.execute(select(Person.id_hash, Person.id_encrypted).limit(200)).all()
    assert len(people) == 200
    for h, sealed in people:
        number = decrypt_id_number(sealed, key=settings.secret_key)
        assert id_lookup_hash(number, key=settings.secret_key) == bytes(h)
