"""Round over round: missed twice, buildings staying low, late sites, and the list carried into the next call-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sweep.auth.scope import Scope
from sweep.coverage import followup, rounds
from sweep.errors import NotFound
from sweep.plan.models import ReadinessItem
from sweep.registry.models import Building, Person
from tests.factories import people, planned_campaign, two_sites
from tests.lab.helpers import sample_tube


@pytest.fixture
def two_rounds(session, settings, start):  # type: ignore[no-untyped-def]
    first = planned_campaign(session, settings, start)
    second = planned_campaign(session, settings, start + timedelta(days=3))
    return first, second


def test_compare_finds_the_missed_twice_the_low_buildings_and_the_late_sites(session, two_rounds, start, district_loaded):
    first, second = two_rounds
    ids = people(session, 40)
    a, b, c, d = ids[0], ids[1], ids[2], ids[3]
    site1, _ = two_sites(session, first)
    site2, other2 = two_sites(session, second)
    # Round 1: a and c sampled, d away; the site's last swab seven hours in: late against six.
    sample_tube(session, first, site1.id, "R1T00001", [a, c], start + timedelta(hours=7))
    followup.add_exemption(session=session, scope=Scope.system(), campaign=first, person_id=d, reason="away", at=start)
    session.execute(update(ReadinessItem).where(ReadinessItem.campaign_id == first.id)
                    .values(done_at=ReadinessItem.due_at - timedelta(minutes=5)))
    # Round 2: a sampled on time; b, c and d missed. One readiness item of another site checked in late.
    later = start + timedelta(days=3)
    sample_tube(session, second, site2.id, "R2T00001", [a], later + timedelta(hours=1))
    item = session.scalar(select(ReadinessItem).where(ReadinessItem.plan_site_id == other2.id).order_by(ReadinessItem.id).limit(1))
    session.execute(update(ReadinessItem).where(ReadinessItem.id == item.id).values(done_at=item.due_at + timedelta(minutes=20)))
    # The smallest building, fully sampled in round 2, is not low any more.
    small = session.scalar(select(Person.building_id).group_by(Person.building_id).order_by(func.count(), Person.building_id).limit(1))
    residents = list(session.scalars(select(Person.id).where(Person.building_id == small, Person.id.not_in([a]))))
    for n in range(0, len(residents), 10):
        sample_tube(session, second, site2.id, f"R2S{n:05d}", residents[n : n + 10], later + timedelta(hours=2))

    result = rounds.compare_rounds(session=session, scope=Scope.system(), campaign=second, now=later - timedelta(hours=3))
    assert result.previous_id == first.id
    twice = {m.person_id for m in result.missed_twice}
    assert b in twice and c not in twice and d not in twice and a not in twice
    assert len(twice) == session.scalar(select(func.count()).select_from(Person)) - len({a, c, d} | set(residents))
    low = {t.code for t in result.buildings_low}
    small_code = session.get(Building, small).code
    assert small_code not in low and len(low) > 0
    assert all(t.previous < rounds.LOW_COVERAGE and t.current < rounds.LOW_COVERAGE for t in result.buildings_low)
    late = {s.code: s for s in result.sites_late}
    mine = late[site1.candidate.code]
    assert mine.previous_late and not mine.current_late and mine.previous_finish == pytest.approx(420, abs=1)
    assert late[other2.candidate.code].current_readiness_late == 1
    assert set(late) == {site1.candidate.code, other2.candidate.code}

    with pytest.raises(NotFound):
        rounds.compare_rounds(session=session, scope=Scope.system(), campaign=first, now=start)


def test_the_missing_are_carried_into_the_next_call_up(session, two_rounds, start, district_loaded):
    first, second = two_rounds
    ids = people(session, 10)
    a, b, c, d, e = ids[:5]
    site1, _ = two_sites(session, first)
    site2, _ = two_sites(session, second)
    sample_tube(session, first, site1.id, "C1T00001", [a, c], start)
    followup.add_exemption(session=session, scope=Scope.system(), campaign=first, person_id=e, reason="deceased", at=start)
    later = start + timedelta(days=3)
    assert rounds.carry_exemptions(session=session, source=first, target=second, at=later) == 1
    sample_tube(session, second, site2.id, "C2T00001", [a], later)
    followup.add_exemption(session=session, scope=Scope.system(), campaign=second, person_id=d, reason="away", at=later)

    carried = {c_.person_id: c_ for c_ in rounds.carry_over(session=session, scope=Scope.system(), campaign=second)}
    assert a not in carried and e not in carried
    assert carried[b].reason == "missing" and carried[b].rounds_missed == 2
    assert carried[c].reason == "missing" and carried[c].rounds_missed == 1
    assert carried[d].reason == "away" and carried[d].rounds_missed == 2
    total = session.scalar(select(func.count()).select_from(Person))
    assert len(carried) == total - 2  # everyone but the sampled a and the deceased e
    assert next(iter(carried.values())).rounds_missed == 2  # the longest missed come first
    flagged = set(session.scalars(select(Person.id).where(Person.home_sampling.is_(True))))
    assert {p for p, c_ in carried.items() if c_.home_sampling} == flagged - {a, e}
    assert rounds.missed_before(session=session, campaign=second, person_ids=[a, b, c, e]) == {b}


def test_a_round_not_yet_started_is_not_compared(session, settings, start, district_loaded):
    from sweep.errors import InvalidInput

    first = planned_campaign(session, settings, start)
    site1, _ = two_sites(session, first)
    sample_tube(session, first, site1.id, "NS000001", people(session, 3), start + timedelta(hours=1))
    # The next round is planned for three days on and nobody has been swabbed in it yet: compared now,
    # everyone would be "missed twice".
    upcoming = planned_campaign(session, settings, start + timedelta(days=3))
    now = start + timedelta(days=1)
    assert rounds.has_started(session=session, campaign=first, now=now)
    assert not rounds.has_started(session=session, campaign=upcoming, now=now)
    with pytest.raises(InvalidInput) as err:
        rounds.compare_rounds(session=session, scope=Scope.system(), campaign=upcoming, now=now)
    assert err.value.field == "campaign" and "尚未开始" in err.value.reason and f"round {first.id}" in err.value.reason
    with pytest.raises(InvalidInput) as err:
        rounds.compare_rounds(session=session, scope=Scope.system(), campaign=first, previous=upcoming, now=now)
    assert err.value.field == "previous"
    # Once its day has come it is compared as usual.
    assert rounds.compare_rounds(session=session, scope=Scope.system(), campaign=upcoming, now=start + timedelta(days=3, hours=1)).previous_id == first.id


def test_the_carry_over_file_names_who_and_where_for_the_grid_worker(session, two_rounds, start, district_loaded):
    import csv
    import io

    from openpyxl import load_workbook

    from sweep.auth.models import AuditEntry, User
    from sweep.coverage.carryover import HEADERS, carry_over_file
    from sweep.errors import Forbidden, InvalidInput

    first, second = two_rounds
    ids = people(session, 10)
    site1, _ = two_sites(session, first)
    site2, _ = two_sites(session, second)
    sample_tube(session, first, site1.id, "CF1T0001", ids[:5], start)
    sample_tube(session, second, site2.id, "CF2T0001", ids[:3], start + timedelta(days=3))
    made = carry_over_file(session=session, campaign=second, fmt="csv", scope=Scope.system())
    rows = list(csv.reader(io.StringIO(made.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == HEADERS == (
        "办事处 office", "社区 community", "网格 grid", "楼栋 building", "楼栋编码 building code", "单元 unit", "房号 room", "姓名 name",
        "证件号码 ID number (masked)", "电话 phone", "原因 reason", "连续未检轮数 rounds missed in a row", "上门采样 home sampling")
    body = rows[1:]
    total = session.scalar(select(func.count()).select_from(Person))
    assert made.rows == len(body) == total - 3 and made.phones
    # Missed in both rounds first; ids[3] and ids[4] were sampled in the first round only.
    assert [r[11] for r in body] == sorted((r[11] for r in body), key=int, reverse=True) and body[0][11] == "2"
    p = session.get(Person, ids[3])
    mine = next(r for r in body if r[7] == p.name and r[8] == p.id_masked)
    building = session.get(Building, p.building_id)
    assert (mine[3], mine[4], mine[6], mine[9], mine[10], mine[11]) == (building.name, building.code, p.room or "", p.phone or "",
                                                                        "未检 missing", "1")
    assert all("*" in r[8] for r in body) and not any(str(p.id) == r[8] for r in body)
    xlsx = carry_over_file(session=session, campaign=second, fmt="xlsx", scope=Scope.system())
    sheet = list(load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert sheet[0] == HEADERS and len(sheet) - 1 == made.rows and sheet[1][7] == body[0][7]
    # A role without the export right gets nothing; an office user gets only its own people; every export is audited.
    lab = User(username="carry-lab", display_name="lab", role="lab", active=True)
    office = User(username="carry-office", display_name="office", role="office", office_id=p.office_id, active=True)
    session.add_all([lab, office])
    session.flush()
    with pytest.raises(Forbidden):
        carry_over_file(session=session, campaign=second, fmt="csv", scope=Scope.of(lab))
    own = carry_over_file(session=session, campaign=second, fmt="csv", scope=Scope.of(office))
    assert 0 < own.rows < made.rows and own.phones
    with pytest.raises(InvalidInput) as err:
        carry_over_file(session=session, campaign=second, fmt="pdf", scope=Scope.system())
    assert err.value.field == "format"
    logged = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "coverage.export_carry_over",
                                                             AuditEntry.campaign_id == second.id)).all()
    assert [d["format"] for d in logged] == ["csv", "xlsx", "csv"]
