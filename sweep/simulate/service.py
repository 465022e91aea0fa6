"""Read a stored plan and the day's scans into the simulation's plain inputs.

The only part of ``sweep.simulate`` that touches the database; the model itself stays pure.
It reads the plan's tables (sites, call-up per building, sampler shifts) and the registry, never
the planner's code, so a new planner that fills the same tables is simulated unchanged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Float, Integer, bindparam, case, cast, func, literal, select
from sqlalchemy.orm import Session

from sweep.db import is_postgresql
from sweep.errors import InvalidInput
from sweep.field.models import Sample
from sweep.plan.models import Campaign, PlanBuilding, PlanSite, Shift
from sweep.registry.models import CandidateSite, Person
from sweep.roles import SiteRole
from sweep.simulate.forecast import SiteProgress
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


def _minute_of(session: Session, column, t0: datetime):  # type: ignore[no-untyped-def]
    """Whole minutes from ``t0`` to a timestamp column, exact to the microsecond on both backends."""
    if is_postgresql(session):
        return cast(func.floor(func.extract("epoch", column - bindparam("t0", t0)) / 60), Integer)
    # SQLite's date functions round to the millisecond, which moves a scan 0.4 ms before a minute
    # into the next one; the stored text 'YYYY-MM-DD HH:MM:SS[.ffffff]' is read field by field.
    days = cast(func.round(func.julianday(func.date(column)) - func.julianday(literal(t0.date().isoformat()))), Integer)
    clock = cast(func.substr(column, 12, 2), Integer) * 60 + cast(func.substr(column, 15, 2), Integer)
    second = t0.second + t0.microsecond / 1e6
    before = case((cast(func.substr(column, 18), Float) < literal(second), 1), else_=0)
    return days * 1440 + clock - (t0.hour * 60 + t0.minute) - before


def site_progress(
    *, session: Session, campaign: Campaign, day: DayInput, now: float | None = None, clock: datetime | None = None
) -> tuple[list[SiteProgress], float]:
    """Desk scans per site and minute up to ``now``, in the order of ``day.sites``, and ``now``.

    ``now`` is minutes from the start of sampling; by default the clock's, but never before the
    latest scan (a round replayed or played ahead of time is read to its end).
    """
    desk_scans = (Sample.campaign_id == campaign.id) & (Sample.kind == "pooled")
    if now is None:
        latest = session.scalar(select(func.max(Sample.sampled_at)).where(desk_scans))
        wall = ((clock or datetime.now()) - campaign.starts_at).total_seconds() / 60
        now = max(wall, (latest - campaign.starts_at).total_seconds() / 60 if latest else wall)
    if now < 0:
        raise InvalidInput("now", f"采样尚未开始 (sampling has not started: now is {-now:.0f} min before the start)")
    cutoff = campaign.starts_at + timedelta(minutes=now)
    so_far = desk_scans & (Sample.sampled_at <= cutoff)
    minute = _minute_of(session, Sample.sampled_at, campaign.starts_at).label("minute")
    codes = {s.code: i for i, s in enumerate(day.sites)}
    per_minute = np.zeros((len(day.sites), int(math.floor(now)) + 1), dtype=np.int64)
    for code, m, n in session.execute(
        select(PlanSite.code, minute, func.count())
        .join(PlanSite, PlanSite.id == Sample.plan_site_id)
        .where(so_far)
        .group_by(PlanSite.code, minute)
    ):
        if code in codes and m is not None:
            per_minute[codes[code], min(max(int(m), 0), per_minute.shape[1] - 1)] += int(n)
    last = {
        code: (at - campaign.starts_at).total_seconds() / 60
        for code, at in session.execute(
            select(PlanSite.code, func.max(Sample.sampled_at)).join(PlanSite, PlanSite.id == Sample.plan_site_id).where(so_far).group_by(PlanSite.code)
        )
        if at is not None
    }
    progress = [SiteProgress(code=s.code, per_minute=per_minute[i], last_scan=last.get(s.code)) for i, s in enumerate(day.sites)]
    return progress, float(now)
