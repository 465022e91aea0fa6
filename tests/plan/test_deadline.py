"""`sweep plan` checks each site against the deadline by simulation and adds desks where it can."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select, update

from sweep.plan.deadline import check_deadline
from sweep.plan.models import PlanSite
from sweep.plan.planning import calling_window, make_plan
from sweep.plan.service import create_campaign


def test_a_site_short_of_desks_gets_more_and_it_is_said(session, settings, district_loaded, start):
    fast = settings.model_copy(update={"sim_runs": 40})
    campaign = create_campaign(session=session, settings=fast, name="测试轮", starts_at=start)
    make_plan(session=session, settings=fast, campaign=campaign, time_limit=10)
    sites = session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.expected_people.desc())).all()
    busiest = sites[0]
    # Take the busiest site down to one desk: it cannot finish its call-up in six hours.
    session.execute(update(PlanSite).where(PlanSite.id == busiest.id).values(desks=1))
    check = check_deadline(session=session, settings=fast, campaign=campaign, rng=np.random.default_rng(3))
    assert set(check.p_by_site) == {s.code for s in sites}
    assert all(0.0 <= p <= 1.0 for p in check.p_by_site.values())
    changed = {c.site: c for c in check.changes}
    assert busiest.code in changed and changed[busiest.code].desks_before == 1
    session.expire_all()
    stored = session.get(PlanSite, busiest.id)
    assert stored.desks == changed[busiest.code].desks_after > 1
    assert changed[busiest.code].p_after > changed[busiest.code].p_before
    summary = check.as_json()
    assert summary["desks_added"] and summary["p_target"] == 0.95


def test_a_busy_plan_passes_its_own_deadline_check(session, settings, district_loaded, start):
    # Few sites for the people and a short day: every site is busy to the end of its call-up, so its
    # last slot's late comers decide whether it finishes in time, not its desks.
    busy = settings.model_copy(update={"sim_runs": 100, "deadline_minutes": 180, "people_per_site": 1500})
    campaign = create_campaign(session=session, settings=busy, name="测试轮", starts_at=start)
    make_plan(session=session, settings=busy, campaign=campaign, time_limit=10)
    check = check_deadline(session=session, settings=busy, campaign=campaign, rng=np.random.default_rng(5))
    assert min(check.p_by_site.values()) >= busy.sim_p_target, check.as_json()
    assert check.as_json()["still_short"] == []


def test_calling_stops_before_the_latest_late_comer_would_miss_the_deadline(settings):
    assert calling_window(360, settings) == 360 - 60
    assert calling_window(360, settings.model_copy(update={"sim_late_max_minutes": 20})) == 360 - settings.slot_minutes
    assert calling_window(60, settings) == 60  # too short a day to keep a margin: call throughout
