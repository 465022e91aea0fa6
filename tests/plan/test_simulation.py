"""Reading the stored plan and the day's scans, on SQLite and PostgreSQL; the forecast on a played round."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from sweep.config import get_settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.run import run_demo
from sweep.field import tubes
from sweep.field.models import Sample
from sweep.plan.models import Campaign, PlanBuilding, PlanSite, Shift
from sweep.plan.service import get_campaign
from sweep.plan.simulation import day_input
from sweep.registry.models import Person
from sweep.report.progress import site_progress
from sweep.simulate.forecast import forecast_day
from sweep.simulate.model import DayModel
from sweep.simulate.staffing import site_closures
from tests.factories import planned_campaign, scan_person, uid

# The demo plays its day by the simulation's own model with the settings' figures (sweep/demo/day.py).
DEMO_DAY = DayModel.from_settings(get_settings())


def test_the_stored_plan_is_read_as_it_was_made(session, settings, district_loaded, start):
    campaign = planned_campaign(session, settings, start)
    day = day_input(session=session, campaign=campaign)
    sites = session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)).all()
    assert [s.code for s in day.sites] == [s.code for s in sites]
    assert [s.desks for s in day.sites] == [s.desks for s in sites]
    assert day.deadline_minutes == campaign.deadline_minutes and day.pool_size == campaign.pool_size
    walk_in = session.scalar(select(func.count()).select_from(Person).where(Person.home_sampling.is_(False)))
    home = session.scalar(select(func.count()).select_from(Person).where(Person.home_sampling.is_(True)))
    planned = session.scalar(select(func.sum(PlanBuilding.people)).where(PlanBuilding.campaign_id == campaign.id))
    assert sum(s.called for s in day.sites) == min(walk_in, planned)
    assert sum(s.home_people for s in day.sites) == home
    for site, row in zip(day.sites, sites, strict=False):
        desks_with_samplers = set(
            session.scalars(
                select(Shift.desk_no).where(Shift.plan_site_id == row.id, Shift.role == "sampler", Shift.desk_no.is_not(None))
            ).all()
        )
        assert site_closures(site, DayModel(), day.deadline_minutes)[2] == len(desks_with_samplers)


def test_scans_are_counted_by_site_and_minute(session, settings, district_loaded, start):
    campaign = planned_campaign(session, settings, start)
    day = day_input(session=session, campaign=campaign)
    site = session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)).first()
    people = session.scalars(select(Person.id).where(Person.key_group_id.is_(None)).order_by(Person.id).limit(5)).all()
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="SIMT-0001", at=start)
    for person, seconds, kind in zip(people, (310, 350, 720, 725, 1500), ("pooled", "pooled", "pooled", "home", "pooled"), strict=False):
        scan_person(
            session=session, campaign=campaign, plan_site_id=site.id, tube_code="SIMT-0001", person_id=person,
            client_uuid=uid(), sampled_at=start + timedelta(seconds=seconds), kind=kind,
        )
    progress, now = site_progress(session=session, campaign=campaign, day=day, now=20.0)
    assert now == 20.0
    mine = progress[[s.code for s in day.sites].index(site.code)]
    # Two swabs in minute 5, one in minute 12; the home visit is no desk scan; the last comes after now.
    assert mine.per_minute[5] == 2 and mine.per_minute[12] == 1 and mine.sampled == 3
    assert mine.last_scan == pytest.approx(12.0)
    assert sum(p.sampled for p in progress) == 3
    later, at = site_progress(session=session, campaign=campaign, day=day, clock=start + timedelta(minutes=3))
    # Read by the clock, but never before the latest scan: the day is read to its end.
    assert at == pytest.approx(25.0) and sum(p.sampled for p in later) == 4


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_the_forecast_on_a_played_round(empty_database):
    run_demo(url=empty_database, people=6000, seed=3, day=date(2026, 12, 1))
    engine = make_engine(empty_database)
    with unit_of_work(make_session_factory(engine)) as session:
        campaign: Campaign = get_campaign(session=session)
        day = day_input(session=session, campaign=campaign)
        scans = session.execute(
            select(PlanSite.code, Sample.sampled_at).join(PlanSite, PlanSite.id == Sample.plan_site_id)
            .where(Sample.campaign_id == campaign.id, Sample.kind == "pooled")
        ).all()
        minutes = [(code, (at - campaign.starts_at).total_seconds() / 60) for code, at in scans]
        actual = {s.code: max(m for c, m in minutes if c == s.code) for s in day.sites}

        # The minute counts are the scans' own, whichever backend did the date arithmetic.
        progress, now = site_progress(session=session, campaign=campaign, day=day, now=150.0)
        for p in progress:
            expected = Counter(math.floor(m) for c, m in minutes if c == p.code and m <= 150.0)
            assert {k: int(v) for k, v in enumerate(p.per_minute) if v} == dict(expected)

        # Half-way through the day: each site's real finish lies in its forecast interval (10 min to spare).
        middle = forecast_day(day, progress, now=now, model=DEMO_DAY, runs=200, rng=np.random.default_rng(1))
        for site in middle.sites:
            assert site.finish.p5 - 10 <= actual[site.code] <= site.finish.p95 + 10, site
        assert middle.finish.p5 - 10 <= max(actual.values()) <= middle.finish.p95 + 10

        # Read by a clock still before the day's last scan, the day runs to its last scan.
        early = site_progress(session=session, campaign=campaign, day=day, clock=campaign.starts_at)
        assert early[1] == pytest.approx(max(actual.values()))
        # Long after the day: the forecast is the day itself.
        progress, now = site_progress(session=session, campaign=campaign, day=day, now=720.0)
        end = forecast_day(day, progress, now=now, model=DEMO_DAY, runs=50, rng=np.random.default_rng(2))
        for site in end.sites:
            assert site.finished and site.finish.p50 == pytest.approx(actual[site.code])
            assert site.sampled == sum(1 for c, _m in minutes if c == site.code)
    engine.dispose()
