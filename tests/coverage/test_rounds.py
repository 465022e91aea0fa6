"""Round over round: missed twice, buildings staying low, late sites, and the list carried into the next call-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sweep.auth.scope import Scope
from sweep.coverage import followup, rounds
from sweep.errors import NotFound
from sweep.field.models import ReadinessItem
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
    assert list(carried.values())[0].rounds_missed == 2  # the longest missed come first
    flagged = set(session.scalars(select(Person.id).where(Person.home_sampling.is_(True))))
    assert {p for p, c_ in carried.items() if c_.home_sampling} == flagged - {a, e}
    assert rounds.missed_before(session=session, campaign=second, person_ids=[a, b, c, e]) == {b}
