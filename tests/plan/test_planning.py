"""The optimal plan on the shared district, on SQLite and PostgreSQL: what is stored obeys every rule."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sweep.errors import Conflict, InvalidInput
from sweep.optimize import materials as mat
from sweep.plan.models import Campaign, PlanBuilding, PlanRun, PlanSite, ReadinessItem, Shift
from sweep.plan.planning import make_plan
from sweep.plan.service import choose_campaign, create_campaign
from sweep.registry.models import CandidateSite, KeyGroup, Person, Staff


@pytest.fixture
def planned(session, settings, district_loaded, start):
    campaign = create_campaign(session=session, settings=settings, name="测试轮", starts_at=start)
    outcome = make_plan(session=session, settings=settings, campaign=campaign, time_limit=10)
    return campaign, outcome


def test_every_building_has_a_site_and_a_slot_before_the_deadline(session, planned):
    campaign, outcome = planned
    with_people = session.scalar(select(func.count(func.distinct(Person.building_id))))
    rows = session.execute(select(PlanBuilding).where(PlanBuilding.campaign_id == campaign.id)).scalars().all()
    assert len(rows) == with_people and outcome.unassigned_buildings == 0
    assert all(r.slot_start_minute + r.slot_minutes <= campaign.deadline_minutes for r in rows)
    people = session.scalar(select(func.count()).select_from(Person).where(Person.home_sampling.is_(False)))
    assert sum(r.people for r in rows) == people


def test_sites_hold_their_people_within_desks_and_space(session, planned, settings):
    campaign, outcome = planned
    sites = session.execute(
        select(PlanSite, CandidateSite.max_desks).join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .where(PlanSite.campaign_id == campaign.id)
    ).all()
    assert len(sites) == outcome.sites and sum(ps.desks for ps, _ in sites) == outcome.desks
    window = campaign.deadline_minutes - settings.slot_minutes
    for ps, max_desks in sites:
        assert 1 <= ps.desks <= max_desks
        assert ps.expected_people <= ps.desks * settings.desk_people_per_hour * window / 60
        assert ps.mean_wait_minutes <= settings.wait_target_minutes


def test_the_gap_is_reported_against_a_real_bound(session, planned):
    campaign, outcome = planned
    run = session.scalar(select(PlanRun).where(PlanRun.campaign_id == campaign.id))
    assert run is not None and run.bound <= run.objective and 0 <= run.gap < 0.01
    report = json.loads(run.report)
    for key in ("sites", "desks", "samplers", "mean_walk_m", "max_walk_m", "objective", "bound", "gap",
                "predicted_finish_minutes", "unassigned_buildings"):
        assert key in report
    assert outcome.predicted_finish_minutes <= campaign.deadline_minutes


def test_samplers_are_medical_staff_rotating_every_two_hours(session, planned):
    campaign, _ = planned
    rows = session.execute(
        select(Shift.role, Shift.starts_minute, Shift.ends_minute, Staff.kind).join(Staff, Staff.id == Shift.staff_id)
        .where(Shift.campaign_id == campaign.id)
    ).all()
    samplers = [r for r in rows if r.role == "sampler"]
    assert samplers and all(r.kind == "medical" for r in samplers)
    assert all(r.ends_minute - r.starts_minute <= 120 for r in samplers)
    roles = {r.role for r in rows}
    assert roles == {"site_leader", "guide", "registrar", "sampler", "order_keeper", "disinfector", "courier"}


def test_readiness_items_carry_their_deadlines(session, planned):
    campaign, outcome = planned
    items = session.scalars(select(ReadinessItem).where(ReadinessItem.campaign_id == campaign.id)).all()
    by_kind = defaultdict(list)
    for item in items:
        by_kind[item.kind].append(item)
    assert set(by_kind) == {"materials", "staff", "disinfection", "waste"}
    assert {i.due_at for i in by_kind["materials"]} == {campaign.starts_at - timedelta(minutes=campaign.ready_before_minutes)}
    pooled = [i for i in by_kind["materials"] if i.label == mat.TUBES_POOLED]
    assert len(pooled) == outcome.sites and all(i.quantity_planned > 0 for i in pooled)
    # Single tubes for the key groups sampled one to a tube, as many as their members (with the spare), never pooled.
    members = session.scalar(select(func.count()).select_from(Person).join(KeyGroup, KeyGroup.id == Person.key_group_id)
                             .where(KeyGroup.single_tube.is_(True), Person.home_sampling.is_(False), Person.building_id.is_not(None)))
    single = [i.quantity_planned for i in by_kind["materials"] if i.label == mat.TUBES_SINGLE]
    assert members > 0 and single and 0 < sum(single) <= members * 1.5 + len(single)


def test_planning_again_replaces_the_plan(session, settings, planned):
    campaign, first = planned
    again = make_plan(session=session, settings=settings, campaign=campaign, time_limit=10)
    assert session.scalar(select(func.count()).select_from(PlanSite).where(PlanSite.campaign_id == campaign.id)) == again.sites
    assert again.objective == pytest.approx(first.objective, rel=1e-3)


def test_a_started_round_is_not_replanned(session, settings, planned):
    campaign, _ = planned
    session.execute(update(Campaign).where(Campaign.id == campaign.id).values(status="running"))
    session.refresh(campaign)
    with pytest.raises(Conflict) as err:
        make_plan(session=session, settings=settings, campaign=campaign)
    assert "--new-round" in err.value.reason


def test_the_next_round_keeps_the_sites_and_shows_the_differences(session, settings, planned):
    first, _outcome = planned
    nxt, created = choose_campaign(session=session, settings=settings, new_round=True)
    assert created and nxt.round_no == first.round_no + 1 and nxt.starts_at > first.starts_at
    second = make_plan(session=session, settings=settings, campaign=nxt, time_limit=10)
    before = set(session.scalars(select(PlanSite.candidate_site_id).where(PlanSite.campaign_id == first.id)))
    after = set(session.scalars(select(PlanSite.candidate_site_id).where(PlanSite.campaign_id == nxt.id)))
    assert before <= after
    assert second.diff["previous_campaign"] == first.id and second.diff["sites_dropped"] == []
    assert second.diff["sites_kept"] == len(before)
    fixed = session.scalars(select(PlanSite.fixed).where(PlanSite.campaign_id == nxt.id)).all()
    assert sum(fixed) == len(before)


def test_too_few_sites_is_answered_with_what_to_change(session, settings, district_loaded, start):
    campaign = create_campaign(session=session, settings=settings, name="测试轮", starts_at=start)
    people = session.scalar(select(func.count()).select_from(Person).where(Person.home_sampling.is_(False)))
    biggest = session.scalar(select(func.max(CandidateSite.max_desks)))
    # Slow desks: the biggest site alone holds only 80% of the people, so one site cannot do.
    slow = settings.model_copy(update={"desk_people_per_hour": max(1, int(0.8 * people / (biggest * 5.5 * 0.9)))})
    with pytest.raises(InvalidInput) as err:
        make_plan(session=session, settings=slow, campaign=campaign, max_sites=1, time_limit=5)
    assert err.value.field == "max_sites" and "at least" in err.value.reason
    with pytest.raises(InvalidInput) as err:
        make_plan(session=session, settings=settings, campaign=campaign, max_samplers=2, time_limit=5)
    assert err.value.field == "max_samplers" and "at least" in err.value.reason
    assert session.scalar(select(func.count()).select_from(PlanSite).where(PlanSite.campaign_id == campaign.id)) == 0
