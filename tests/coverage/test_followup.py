"""Person by person: called, sampled, resulted, exempt, missing; exemptions with reasons; home-sampling tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sweep.auth.scope import Scope
from sweep.auth.service import create_user
from sweep.coverage import followup
from sweep.coverage import service as coverage
from sweep.errors import Conflict, Forbidden, InvalidInput, NotFound
from sweep.lab import service as lab
from sweep.registry.models import Building, Office, Person
from tests.factories import planned_campaign, two_sites
from tests.lab.helpers import sample_tube, ship


@pytest.fixture
def building_round(session, settings, start, district_loaded):
    """A planned round and one building of at least a dozen walk-in residents."""
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    building_id = session.scalar(
        select(Person.building_id).where(Person.home_sampling.is_(False), Person.key_group_id.is_(None)).group_by(Person.building_id)
        .having(func.count() >= 12).order_by(Person.building_id).limit(1)
    )
    # Those outside key groups first: the first ones go into pooled tubes.
    ids = list(session.scalars(select(Person.id).where(Person.building_id == building_id)
                               .order_by(Person.key_group_id.is_not(None), Person.id)))
    return campaign, site, session.get(Building, building_id), ids


def test_each_person_stands_in_one_place_and_the_sums_agree(session, building_round, start):
    campaign, site, building, ids = building_round
    sample_tube(session, campaign, site.id, "FOL00001", ids[:5], start)
    sample_tube(session, campaign, site.id, "FOL00002", ids[5:8], start)
    received = ship(session, campaign, site.id, "FOLB0001", ["FOL00001"], start + timedelta(minutes=30))
    lab.record_result(session=session, campaign=campaign, tube_code="FOL00001", result="negative", at=received + timedelta(hours=1))
    followup.add_exemption(session=session, scope=Scope.system(), campaign=campaign, person_id=ids[8], reason="hospital", note="市一院", at=start)
    followup.add_exemption(session=session, scope=Scope.system(), campaign=campaign, person_id=ids[9], reason="sampled_elsewhere",
                           proof="郑州金域 2026-11-30 报告号 A123", at=start)

    roll = {p.person_id: p for p in coverage.people_status(session=session, scope=Scope.system(), campaign=campaign, building_code=building.code)}
    assert len(roll) == len(ids)
    assert [roll[i].status for i in ids[:10]] == ["resulted"] * 5 + ["sampled"] * 3 + ["exempt"] * 2
    assert all(roll[i].status == "missing" for i in ids[10:])
    assert roll[ids[0]].tube_code == "FOL00001" and roll[ids[0]].result == "negative"
    assert roll[ids[8]].exemption == "hospital"
    # Everyone of a planned building who is not flagged for home sampling had a slot.
    assert all(p.called == (p.slot_start is not None) for p in roll.values())
    assert roll[ids[10]].called and roll[ids[10]].slot_site

    for level in coverage.LEVELS:
        areas = coverage.coverage_by(session=session, scope=Scope.system(), campaign=campaign, level=level)
        assert sum(a.expected for a in areas) == session.scalar(select(func.count()).select_from(Person))
        assert (sum(a.sampled for a in areas), sum(a.resulted for a in areas), sum(a.exempt for a in areas)) == (8, 5, 2)
    mine = next(a for a in coverage.coverage_by(session=session, scope=Scope.system(), campaign=campaign, level="building") if a.code == building.code)
    assert (mine.expected, mine.sampled, mine.resulted, mine.exempt, mine.missing) == (len(ids), 8, 5, 2, len(ids) - 10)
    assert mine.fraction == pytest.approx(8 / (len(ids) - 2))

    missing = coverage.missing_list(session=session, scope=Scope.system(), campaign=campaign, building_code=building.code)
    assert sorted(m.person_id for m in missing) == sorted(ids[10:])
    with pytest.raises(NotFound) as err:
        coverage.missing_list(session=session, scope=Scope.system(), campaign=campaign, community_code="NOWHERE")
    assert err.value.field == "community"
    figures = coverage.round_figures(session=session, campaign=campaign)
    assert figures.exempt == 2 and figures.sampled == 8


def test_exemptions_need_a_known_reason_and_proof_for_elsewhere(session, building_round, start):
    campaign, site, _building, ids = building_round
    with pytest.raises(InvalidInput) as err:
        followup.add_exemption(session=session, scope=Scope.system(), campaign=campaign, person_id=ids[0], reason="busy", at=start)
    assert err.value.field == "reason"
    with pytest.raises(InvalidInput) as err:
        followup.add_exemption(session=session, scope=Scope.system(), campaign=campaign, person_id=ids[0], reason="sampled_elsewhere", proof="  ", at=start)
    assert err.value.field == "proof"
    sample_tube(session, campaign, site.id, "FOL00003", ids[:1], start)
    with pytest.raises(Conflict):
        followup.add_exemption(session=session, scope=Scope.system(), campaign=campaign, person_id=ids[0], reason="away", at=start)
    made = followup.add_exemption(session=session, scope=Scope.system(), campaign=campaign, person_id=ids[1], reason="away", at=start)
    with pytest.raises(Conflict):
        followup.add_exemption(session=session, scope=Scope.system(), campaign=campaign, person_id=ids[1], reason="deceased", at=start)
    assert [e.person_id for e in followup.list_exemptions(session=session, scope=Scope.system(), campaign=campaign)] == [ids[1]]
    followup.remove_exemption(session=session, scope=Scope.system(), campaign=campaign, exemption_id=made.id, at=start)
    assert ids[1] in {m.person_id for m in coverage.missing_list(session=session, scope=Scope.system(), campaign=campaign, building_code=_building.code)}


def test_an_office_acts_only_on_its_own_people(session, building_round, start):
    campaign, _site, _building, ids = building_round
    person = session.get(Person, ids[0])
    elsewhere = session.scalar(select(Office.id).where(Office.id != person.office_id).limit(1))
    other = create_user(session=session, username="office-other", display_name="其他办事处", role="office", office_id=elsewhere)
    with pytest.raises(Forbidden):
        followup.add_exemption(session=session, campaign=campaign, person_id=person.id, reason="away", at=start, scope=Scope.of(other))


def test_home_sampling_tasks_are_done_by_the_sample_at_the_door(session, building_round, start):
    campaign, site, _building, ids = building_round
    flagged = session.scalar(select(func.count()).select_from(Person).where(Person.home_sampling.is_(True)))
    made = followup.tasks_from_registry(session=session, scope=Scope.system(), campaign=campaign, due_at=start + timedelta(hours=6), at=start)
    assert made == flagged > 0
    assert followup.tasks_from_registry(session=session, scope=Scope.system(), campaign=campaign, due_at=start + timedelta(hours=6), at=start) == 0
    task = followup.add_home_task(session=session, scope=Scope.system(), campaign=campaign, person_id=ids[0], reason="卧床 bedridden",
                                  due_at=start + timedelta(hours=4), at=start, team="上门一组")
    with pytest.raises(Conflict) as err:
        followup.complete_home_task(session=session, scope=Scope.system(), campaign=campaign, task_id=task.id, at=start)
    assert "scan" in err.value.reason
    sample_tube(session, campaign, site.id, "HOME0001", ids[:1], start + timedelta(hours=1), kind="home")
    done = followup.complete_home_task(session=session, scope=Scope.system(), campaign=campaign, task_id=task.id, at=start + timedelta(hours=1))
    assert done.status == "done" and done.sample_id is not None

    home_people = list(session.scalars(select(Person.id).where(Person.home_sampling.is_(True)).order_by(Person.id).limit(2)))
    sample_tube(session, campaign, site.id, "HOME0002", home_people, start + timedelta(hours=2), kind="home")
    assert followup.sync_home_tasks(session=session, campaign=campaign, at=start + timedelta(hours=2)) == 2
    still_open = followup.list_home_tasks(session=session, scope=Scope.system(), campaign=campaign, status="open")
    assert len(still_open) == flagged - 2 and not {t.person_id for t in still_open} & set(home_people)
    areas = coverage.coverage_by(session=session, scope=Scope.system(), campaign=campaign, level="office")
    assert sum(a.home_open for a in areas) == flagged - 2
    # Exempting someone cancels their visit.
    exempted = still_open[0].person_id
    followup.add_exemption(session=session, scope=Scope.system(), campaign=campaign, person_id=exempted, reason="deceased", at=start)
    assert exempted not in {t.person_id for t in followup.list_home_tasks(session=session, scope=Scope.system(), campaign=campaign, status="open")}
