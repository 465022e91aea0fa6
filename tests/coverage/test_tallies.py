"""The incremental tallies always agree with a count from scratch, whatever came in or went away."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, delete, func, select

from sweep.coverage import tallies
from sweep.coverage.models import CoverageMark
from sweep.field.models import Sample, Tube
from sweep.lab import service as lab
from sweep.lab.models import LabResult
from sweep.registry.models import Person
from tests.factories import people, planned_campaign, two_sites
from tests.lab.helpers import sample_tube, ship


def _from_scratch(session, campaign):  # type: ignore[no-untyped-def]
    rows = session.execute(
        select(Person.building_id, func.count(), func.count(LabResult.id))
        .select_from(Sample).join(Person, Person.id == Sample.person_id)
        .outerjoin(LabResult, LabResult.tube_id == Sample.tube_id)
        .where(and_(Sample.campaign_id == campaign.id, Sample.kind != "retest"))
        .group_by(Person.building_id)
    )
    return {b: [s, r] for b, s, r in rows}


def _nonzero(t):  # type: ignore[no-untyped-def]
    return {b: v[:2] for b, v in t.items() if v[:2] != [0, 0]}


def _missing_agrees(session, campaign) -> bool:  # type: ignore[no-untyped-def]
    sampled = select(Sample.person_id).where(Sample.campaign_id == campaign.id, Sample.kind != "retest")
    truth = set(session.scalars(select(Person.id).where(Person.id.not_in(sampled))))
    return set(session.scalars(tallies.missing_ids(campaign.id))) == truth


def test_tallies_follow_new_samples_results_and_deletions(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    ids = people(session, 60)
    first = tallies.refresh(session=session, campaign=campaign)
    assert _nonzero(first) == {}
    per_building = dict(session.execute(select(Person.building_id, func.count()).group_by(Person.building_id)).all())
    assert {b: v[2] for b, v in first.items()} == per_building
    sample_tube(session, campaign, site.id, "TAL00001", ids[:10], start)
    sample_tube(session, campaign, site.id, "TAL00002", ids[10:20], start)
    assert _nonzero(tallies.refresh(session=session, campaign=campaign)) == _from_scratch(session, campaign)
    assert _missing_agrees(session, campaign)

    received = ship(session, campaign, site.id, "TALB0001", ["TAL00001"], start + timedelta(minutes=30))
    lab.record_result(session=session, campaign=campaign, tube_code="TAL00001", result="negative", at=received + timedelta(hours=1))
    sample_tube(session, campaign, site.id, "TAL00003", ids[20:30], start + timedelta(hours=1))
    sample_tube(session, campaign, site.id, "TAL00004", ids[20:21], start + timedelta(hours=2), kind="retest")
    incremental = _nonzero(tallies.refresh(session=session, campaign=campaign))
    assert incremental == _from_scratch(session, campaign)
    assert sum(s for s, _r in incremental.values()) == 30 and sum(r for _s, r in incremental.values()) == 10
    mark = session.get(CoverageMark, campaign.id)
    assert (mark.sampled, mark.results) == (30, 1)
    assert _missing_agrees(session, campaign)

    # Someone new in the registry is missing from the next look on.
    neighbour = session.get(Person, ids[0])
    newcomer = Person(building_id=neighbour.building_id, grid_id=neighbour.grid_id, community_id=neighbour.community_id,
                      office_id=neighbour.office_id, name="新来", id_hash=b"n" * 32, id_masked="******", home_sampling=False)
    session.add(newcomer)
    session.flush()
    grown = tallies.refresh(session=session, campaign=campaign)
    assert grown[newcomer.building_id][2] == per_building[newcomer.building_id] + 1
    assert newcomer.id in set(session.scalars(tallies.missing_ids(campaign.id)))
    assert _missing_agrees(session, campaign)

    # A tube taken away (its samples cascade): the totals no longer match, so everything is counted again.
    session.execute(delete(Tube).where(Tube.campaign_id == campaign.id, Tube.code == "TAL00002"))
    sample_tube(session, campaign, site.id, "TAL00005", ids[30:40], start + timedelta(hours=3))
    again = _nonzero(tallies.refresh(session=session, campaign=campaign))
    assert again == _from_scratch(session, campaign)
    assert sum(s for s, _r in again.values()) == 30
    assert _missing_agrees(session, campaign)
    assert _nonzero(tallies.refresh(session=session, campaign=campaign, full=True)) == again
