"""The missing list as XLSX: masked ID numbers unless the role may see them in full, and every export audited."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from sweep.auth.models import AuditEntry
from sweep.auth.scope import Scope
from sweep.auth.service import create_user
from sweep.coverage import export
from sweep.coverage.service import missing_list
from sweep.errors import Forbidden
from sweep.registry.idcrypt import encrypt_id_number
from sweep.registry.models import Community, Person
from tests.factories import people, planned_campaign, two_sites
from tests.lab.helpers import sample_tube

NUMBER = "11010519491231002X"


def _rows(content: bytes, sheet: int = 0) -> list[tuple]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(r) for r in book.worksheets[sheet].iter_rows(values_only=True)]


@pytest.fixture
def round_missing(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    sample_tube(session, campaign, site.id, "EXP00001", people(session, 10), start)
    first_missing = people(session, 11)[-1]
    session.execute(update(Person).where(Person.id == first_missing).values(id_encrypted=encrypt_id_number(NUMBER, key=settings.secret_key)))
    return campaign, first_missing


def test_masked_by_default_and_scoped_to_the_office(session, settings, round_missing):
    campaign, first_missing = round_missing
    person = session.get(Person, first_missing)
    office = create_user(session=session, username="office-exp", display_name="办事处", role="office", office_id=person.office_id)
    made = export.missing_workbook(session=session, campaign=campaign, key=settings.secret_key, scope=Scope.of(office))
    rows = _rows(made.content)
    assert rows[0] == export.HEADERS
    expected = missing_list(session=session, campaign=campaign, scope=Scope(role='office', office_id=person.office_id))
    assert made.rows == len(rows) - 1 == len(expected) > 0
    assert {r[7] for r in rows[1:]} == {m.id_masked for m in expected}
    assert all("*" in r[7] for r in rows[1:]) and NUMBER not in {r[7] for r in rows[1:]}
    assert sum(r[3] for r in _rows(made.content, 1)[1:]) == made.rows
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "coverage.export_missing").order_by(AuditEntry.id.desc()))
    assert entry.user_id == office.id and entry.detail["rows"] == made.rows


def test_full_numbers_only_for_roles_allowed_and_audited(session, settings, round_missing):
    campaign, first_missing = round_missing
    for role in ("lab", "inspector", "site_leader"):
        extra = {"plan_site_id": two_sites(session, campaign)[0].id} if role == "site_leader" else {}
        user = create_user(session=session, username=f"no-{role}", display_name=role, role=role, **extra)
        with pytest.raises(Forbidden):
            export.missing_workbook(session=session, campaign=campaign, key=settings.secret_key, scope=Scope.of(user), full_ids=True)
    hq = create_user(session=session, username="hq-exp", display_name="指挥部", role="command")
    code = session.scalar(select(Community.code).join(Person, Person.community_id == Community.id).where(Person.id == first_missing))
    made = export.missing_workbook(session=session, campaign=campaign, key=settings.secret_key, scope=Scope.of(hq), full_ids=True, community_code=code)
    rows = _rows(made.content)[1:]
    assert made.full_ids and made.rows == len(rows)
    assert NUMBER in {r[7] for r in rows}
    assert all((len(r[7]) == 18 and "*" not in r[7]) or export.NOT_STORED in r[7] for r in rows)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "coverage.export_missing_full_ids"))
    assert entry.user_id == hq.id and entry.detail["full_ids"] is True and entry.detail["community"] == code
    # A role without the right to see full numbers gets none, whoever asks on its behalf (the CLI asks --as a user).
    with pytest.raises(Forbidden):
        export.missing_workbook(session=session, scope=Scope(role="site_leader", candidate_site_id=1), campaign=campaign,
                                key=settings.secret_key, full_ids=True, community_code=code)
