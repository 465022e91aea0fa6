"""Key groups: schedules per group, workplaces with their employer, environment samples, and who is overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from sweep.auth.scope import Scope
from sweep.errors import Conflict, InvalidInput
from sweep.keygroups import service as keygroups
from sweep.registry.models import KeyGroup, Person
from tests.factories import planned_campaign, two_sites
from tests.lab.helpers import sample_tube

NOW = datetime(2026, 12, 10, 8, 0)


def _members(session, code, n):  # type: ignore[no-untyped-def]
    group = session.scalar(select(KeyGroup).where(KeyGroup.code == code))
    return list(session.scalars(select(Person.id).where(Person.key_group_id == group.id).order_by(Person.id).limit(n)))


def test_schedules_come_per_group_and_can_be_changed(session, district_loaded):
    groups = {g.code: g for g in keygroups.schedules(session=session)}
    assert groups["cold_chain"].test_every_days == 1 and groups["airport"].test_every_days == 2
    total = session.scalar(select(func.count()).select_from(Person).where(Person.key_group_id.is_not(None)))
    assert sum(g.members for g in groups.values()) == total > 0
    keygroups.set_schedule(session=session, key_group="airport", test_every_days=3)
    assert {g.code: g.test_every_days for g in keygroups.schedules(session=session)}["airport"] == 3
    with pytest.raises(InvalidInput) as err:
        keygroups.set_schedule(session=session, key_group="airport", test_every_days=0)
    assert err.value.field == "test_every_days"


def test_overdue_people_are_listed_by_employer(session, settings, district_loaded):
    cold = _members(session, "cold_chain", 4)
    air = _members(session, "airport", 2)
    keygroups.add_workplace(session=session, code="WP-COLD-1", name="一号冷库", employer="郑州冷链物流有限公司", key_group="cold_chain")
    keygroups.add_workplace(session=session, code="WP-AIR-1", name="T2航站楼", employer="机场集团", key_group="airport")
    with pytest.raises(Conflict):
        keygroups.add_workplace(session=session, code="WP-AIR-1", name="x", employer="y", key_group="airport")
    for pid in cold:
        keygroups.assign_member(session=session, scope=Scope.system(), person_id=pid, workplace="WP-COLD-1")
    keygroups.assign_member(session=session, scope=Scope.system(), person_id=air[0], workplace="WP-AIR-1")
    with pytest.raises(InvalidInput) as err:
        keygroups.assign_member(session=session, scope=Scope.system(), person_id=air[1], workplace="WP-COLD-1")
    assert err.value.field == "workplace"

    # Cold chain, daily: cold[0] tested 20 h ago (fine), cold[1] 30 h ago (overdue), cold[2] never,
    # cold[3] swabbed in a district round 10 hours ago (that counts too).
    keygroups.record_test(session=session, scope=Scope.system(), person_id=cold[0], sampled_at=NOW - timedelta(hours=20), result="negative")
    keygroups.record_test(session=session, scope=Scope.system(), person_id=cold[1], sampled_at=NOW - timedelta(hours=30), result="negative")
    campaign = planned_campaign(session, settings, NOW - timedelta(hours=12))
    site, _ = two_sites(session, campaign)
    sample_tube(session, campaign, site.id, "KEY00001", [cold[3]], NOW - timedelta(hours=10), tube="single")
    # Airport, every two days: air[0] tested yesterday.
    keygroups.record_test(session=session, scope=Scope.system(), person_id=air[0], sampled_at=NOW - timedelta(days=1), result="positive")

    report = keygroups.compliance(session=session, scope=Scope.system(), as_of=NOW)
    cold_chain = next(e for e in report if e.employer == "郑州冷链物流有限公司")
    assert cold_chain.members == 4 and cold_chain.test_every_days == 1
    overdue = {p.person_id: p for p in cold_chain.overdue}
    assert set(overdue) == {cold[1], cold[2]}
    assert overdue[cold[2]].last_tested_at is None and overdue[cold[2]].due_at is None
    assert overdue[cold[1]].due_at == NOW - timedelta(hours=6) and overdue[cold[1]].workplace == "一号冷库"
    airport = next(e for e in report if e.employer == "机场集团")
    assert airport.members == 1 and not airport.overdue and airport.positives == 1
    unknown = [e for e in report if e.employer == keygroups.NO_EMPLOYER]
    assert sum(e.members for e in unknown) + 5 == sum(g.members for g in keygroups.schedules(session=session))
    # Only the cold-chain group when asked; a day later everyone tested then is due again.
    later = keygroups.compliance(session=session, scope=Scope.system(), as_of=NOW + timedelta(days=1), key_group="cold_chain")
    assert {p.person_id for e in later if e.employer == "郑州冷链物流有限公司" for p in e.overdue} == set(cold)
    with pytest.raises(InvalidInput):
        keygroups.record_test(session=session, scope=Scope.system(), person_id=cold[0], sampled_at=NOW, result="maybe")


def test_workplace_environment_samples_have_their_own_schedule(session, district_loaded):
    keygroups.add_workplace(session=session, code="WP-COLD-2", name="二号冷库", employer="冷链公司", key_group="cold_chain", env_every_days=2)
    keygroups.add_workplace(session=session, code="WP-HOTEL", name="隔离酒店", employer="酒店", key_group="quarantine_hotel")
    keygroups.record_environment_sample(session=session, workplace="WP-COLD-2", point="冷库门把手", sampled_at=NOW - timedelta(days=1))
    swab = keygroups.record_environment_sample(session=session, workplace="WP-COLD-2", point="进口货物外包装", sampled_at=NOW - timedelta(hours=5))
    keygroups.set_environment_result(session=session, sample_id=swab.id, result="positive", at=NOW - timedelta(hours=1))
    with pytest.raises(Conflict):
        keygroups.set_environment_result(session=session, sample_id=swab.id, result="negative", at=NOW)
    with pytest.raises(InvalidInput) as err:
        keygroups.record_environment_sample(session=session, workplace="WP-HOTEL", point=" ", sampled_at=NOW)
    assert err.value.field == "point"
    places = {w.code: w for w in keygroups.environment_compliance(session=session, as_of=NOW)}
    assert not places["WP-COLD-2"].overdue and places["WP-COLD-2"].positives == 1
    assert places["WP-HOTEL"].overdue and places["WP-HOTEL"].last_sampled_at is None
    assert places["WP-COLD-2"].every_days == 2 and places["WP-HOTEL"].every_days == 1
    assert keygroups.environment_compliance(session=session, as_of=NOW + timedelta(days=3))[0].overdue
