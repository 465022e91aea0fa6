"""Read a stored plan and the day's scans into the simulation's plain inputs.

The adapter between the stored plan and the pure simulation (``sweep.simulate``).
It reads the plan's tables (sites, call-up per building, sampler shifts) and the registry, never
the planner's code, so a new planner that fills the same tables is simulated unchanged.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sweep.errors import InvalidInput
from sweep.plan.models import Campaign, PlanBuilding, PlanSite, Shift
from sweep.registry.models import CandidateSite, Person
from sweep.roles import SiteRole
from sweep.simulate.model import DayInput, SiteInput


def day_input(*, session: Session, campaign: Campaign) -> DayInput:
    """The plan of a round as the simulation's input, sites in the order of their ids."""
    sites = session.execute(
        select(PlanSite.id, PlanSite.code, PlanSite.desks, CandidateSite.max_desks)
        .join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .where(PlanSite.campaign_id == campaign.id)
        .order_by(PlanSite.id)
    ).all()
    if not sites:
        raise InvalidInput("campaign", "这一轮还没有方案 (this campaign has no plan yet): run `sweep plan` first")
    residents = (
        select(
            Person.building_id,
            func.count().filter(Person.home_sampling.is_(False)).label("walk"),
            func.count().filter(Person.home_sampling.is_(True)).label("home"),
        )
        .group_by(Person.building_id)
        .subquery()
    )
    groups: dict[int, list[tuple[int, int, int, int, float]]] = defaultdict(list)
    for site_id, start, length, planned, walk, home, walk_m in session.execute(
        select(
            PlanBuilding.plan_site_id, PlanBuilding.slot_start_minute, PlanBuilding.slot_minutes, PlanBuilding.people,
            func.coalesce(residents.c.walk, 0), func.coalesce(residents.c.home, 0), PlanBuilding.walk_m,
        )
        .outerjoin(residents, residents.c.building_id == PlanBuilding.building_id)
        .where(PlanBuilding.campaign_id == campaign.id)
        .order_by(PlanBuilding.plan_site_id, PlanBuilding.slot_start_minute, PlanBuilding.id)
    ):
        # Those sampled at home never queue; a plan that counted them in ``people`` is capped here.
        groups[site_id].append((int(start), int(length), min(int(planned), int(walk)), int(home), float(walk_m or 0.0)))
    shifts: dict[int, list[tuple[int | None, int, int]]] = defaultdict(list)
    for site_id, desk_no, start, end in session.execute(
        select(Shift.plan_site_id, Shift.desk_no, Shift.starts_minute, Shift.ends_minute)
        .where(Shift.campaign_id == campaign.id, Shift.role == SiteRole.SAMPLER.value)
        .order_by(Shift.plan_site_id, Shift.starts_minute, Shift.id)
    ):
        shifts[site_id].append((desk_no, int(start), int(end)))

    out = []
    for site_id, code, desks, max_desks in sites:
        rows = np.array(groups.get(site_id, []), dtype=float).reshape(-1, 5)
        g = rows[:, :4].astype(np.int64)
        out.append(
            SiteInput(
                code=code,
                desks=int(desks),
                slot_start=g[:, 0],
                slot_minutes=g[:, 1],
                people=g[:, 2],
                max_desks=int(max_desks),
                sampler_shifts=_at_desks(shifts.get(site_id, [])),
                home_people=int(g[:, 3].sum()),
                walk_m=rows[:, 4],
            )
        )
    return DayInput(
        sites=tuple(out), deadline_minutes=campaign.deadline_minutes, pool_size=campaign.pool_size, box_size=campaign.box_size
    )


def _at_desks(shifts: list[tuple[int | None, int, int]]) -> tuple[tuple[int, int, int], ...]:
    """Sampler shifts at a desk; a sampler with no desk works elsewhere (a home-sampling team)."""
    return tuple((int(desk_no), start, end) for desk_no, start, end in shifts if desk_no is not None)
