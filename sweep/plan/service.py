"""Make and store the plan of a round. The algorithms live in ``sweep.optimize``; this keeps the result."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sweep.config import Settings
from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.field.models import ReadinessItem
from sweep.optimize.naive import NaiveInput, NoSiteWithRoom, plan_naive
from sweep.plan.models import Campaign, PlanBuilding, PlanRun, PlanSite, Shift
from sweep.plan.roles import SiteRole
from sweep.registry.models import Building, CandidateSite, Community, Person, Staff

# A sampler works at most two hours in protective gear, then rotates (practice in heat, 2022).
SAMPLER_SHIFT_MINUTES = 120
# Tubes and swabs are planned with a tenth spare for breakage and re-swabs.
SPARE_FRACTION = 0.10


@dataclass(frozen=True)
class PlanSummary:
    campaign_id: int
    sites: int
    desks: int
    people: int
    home_sampling: int
    max_walk_m: float
    staff_short: dict[str, int]


def create_campaign(
    *, session: Session, settings: Settings, name: str, starts_at: datetime, round_no: int = 1
) -> Campaign:
    if not name.strip():
        raise InvalidInput("name", "名称不能为空 (name must not be empty)")
    campaign = Campaign(
        name=name,
        round_no=round_no,
        starts_at=starts_at,
        deadline_minutes=settings.deadline_minutes,
        ready_before_minutes=settings.ready_before_minutes,
        pool_size=settings.pool_size,
        box_size=settings.box_size,
        status="planned",
    )
    session.add(campaign)
    session.flush()
    return campaign


def parse_campaign_ref(ref: str) -> int | None:
    """``latest`` or a campaign number, as URLs and the CLI name a round."""
    if ref == "latest":
        return None
    if not ref.isdigit():
        raise InvalidInput("campaign", f"应为轮次编号或 latest (a campaign number or 'latest'), got {ref!r}")
    return int(ref)


def campaign_by_ref(*, session: Session, ref: str) -> Campaign:
    """The campaign a URL or a command names: its number, or ``latest``."""
    return get_campaign(session=session, campaign_id=parse_campaign_ref(ref))


def get_campaign(*, session: Session, campaign_id: int | None = None) -> Campaign:
    """The campaign named, or the latest one."""
    if campaign_id is None:
        campaign = session.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))
    else:
        campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("campaign", "没有这一轮检测 (no such campaign)" if campaign_id else "还没有任何一轮检测 (no campaign yet)")
    return campaign


def choose_campaign(
    *, session: Session, settings: Settings, ref: str = "latest", new_round: bool = False, starts_at: datetime | None = None
) -> tuple[Campaign, bool]:
    """The campaign a plan is for, and whether it was created: the named or latest one, or a new round.

    A new round starts the day after the latest (07:00 unless ``starts_at``); the first round tomorrow.
    """
    wanted = parse_campaign_ref(ref)
    latest = session.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))
    if wanted is not None and new_round:
        raise InvalidInput("new_round", "不能同时指定轮次和新一轮 (name a campaign or ask for a new round, not both)")
    if wanted is not None:
        return get_campaign(session=session, campaign_id=wanted), False
    if latest is not None and not new_round:
        return latest, False
    round_no = 1 if latest is None else latest.round_no + 1
    if starts_at is None:
        tomorrow = datetime.now().replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)
        starts_at = tomorrow if latest is None else max(tomorrow, latest.starts_at + timedelta(days=1))
    name = f"第{round_no}轮全员核酸检测"
    return create_campaign(session=session, settings=settings, name=name, starts_at=starts_at, round_no=round_no), True


def make_naive_plan(*, session: Session, settings: Settings, campaign: Campaign) -> PlanSummary:
    """Open the nearest candidate sites with room, size desks by rule, call buildings by slot."""
    if session.scalar(select(func.count()).select_from(PlanSite).where(PlanSite.campaign_id == campaign.id)):
        raise Conflict("campaign", "这一轮已有方案 (this campaign already has a plan)")
    walk_in = (
        select(Person.building_id, func.count().label("n"))
        .where(Person.home_sampling.is_(False))
        .group_by(Person.building_id)
        .subquery()
    )
    rows = session.execute(
        select(Building.id, Building.lon, Building.lat, Building.grid_id, walk_in.c.n).join(
            walk_in, walk_in.c.building_id == Building.id
        ).order_by(Building.id)
    ).all()
    sites = session.scalars(select(CandidateSite).order_by(CandidateSite.id)).all()
    if not rows:
        raise InvalidInput("registry", "登记册中没有人员 (the registry has no people to plan for)")
    if not sites:
        raise InvalidInput("candidate_sites", "没有候选采样点 (no candidate sites in the registry)")
    b = np.array([(r[1], r[2], r[3], r[4]) for r in rows], dtype=float)
    data = NaiveInput(
        building_lon=b[:, 0],
        building_lat=b[:, 1],
        building_people=b[:, 3].astype(np.int64),
        building_grid=b[:, 2].astype(np.int64),
        site_lon=np.array([s.lon for s in sites]),
        site_lat=np.array([s.lat for s in sites]),
        site_max_desks=np.array([s.max_desks for s in sites], dtype=np.int64),
        deadline_minutes=campaign.deadline_minutes,
        slot_minutes=settings.slot_minutes,
        desk_people_per_hour=settings.desk_people_per_hour,
        people_per_desk=settings.people_per_desk,
    )
    try:
        result = plan_naive(data)
    except NoSiteWithRoom as exc:
        building_id = rows[exc.building][0]
        raise InvalidInput(
            "candidate_sites",
            f"楼栋 {building_id} 的 {exc.people} 人找不到有余量的采样点，请增加候选点或上门采样 "
            f"(building {building_id} with {exc.people} people fits no site: add a candidate site or sample at home)",
        ) from exc

    office_of: dict[int, int] = {cid: oid for cid, oid in session.execute(select(Community.id, Community.office_id))}
    plan_sites: list[PlanSite] = []
    for k, s in enumerate(result.open_sites):
        cand = sites[int(s)]
        ps = PlanSite(
            campaign_id=campaign.id,
            candidate_site_id=cand.id,
            office_id=office_of[cand.community_id],
            code=cand.code,
            desks=int(result.desks[k]),
            expected_people=int(result.expected[k]),
        )
        plan_sites.append(ps)
    session.add_all(plan_sites)
    session.flush()
    session.execute(
        PlanBuilding.__table__.insert(),
        [
            {
                "campaign_id": campaign.id,
                "building_id": rows[i][0],
                "plan_site_id": plan_sites[int(result.building_site[i])].id,
                "slot_start_minute": int(result.building_slot_start[i]),
                "slot_minutes": int(result.building_slot_minutes[i]),
                "people": int(data.building_people[i]),
                "walk_m": float(round(result.building_walk_m[i], 1)),
            }
            for i in range(len(rows))
        ],
    )
    short = _roster(session=session, campaign=campaign, plan_sites=plan_sites, sites=sites)
    _readiness(session=session, campaign=campaign, plan_sites=plan_sites)
    home = session.scalar(select(func.count()).select_from(Person).where(Person.home_sampling.is_(True))) or 0
    return PlanSummary(
        campaign_id=campaign.id,
        sites=len(plan_sites),
        desks=int(result.desks.sum()),
        people=int(data.building_people.sum()),
        home_sampling=int(home),
        max_walk_m=float(result.building_walk_m.max()),
        staff_short=short,
    )


def _roster(
    *, session: Session, campaign: Campaign, plan_sites: list[PlanSite], sites: list[CandidateSite]
) -> dict[str, int]:
    """A site leader and the six roles per site, from the staff pool, home community first."""
    community_of = {s.id: s.community_id for s in sites}
    pools: dict[str, dict[int, list[int]]] = {"medical": defaultdict(list), "general": defaultdict(list)}
    for staff_id, community_id, kind in session.execute(select(Staff.id, Staff.community_id, Staff.kind).order_by(Staff.id)):
        pools[kind][community_id].append(staff_id)

    def take(kind: str, community_id: int) -> int | None:
        own = pools[kind][community_id]
        if own:
            return own.pop()
        for other in pools[kind].values():
            if other:
                return other.pop()
        return None

    end = campaign.deadline_minutes
    short: dict[str, int] = defaultdict(int)
    shifts: list[dict] = []
    for ps in plan_sites:
        home = community_of[ps.candidate_site_id]
        needs: list[tuple[SiteRole, str, int | None, int, int]] = [(SiteRole.SITE_LEADER, "general", None, 0, end)]
        for desk in range(1, ps.desks + 1):
            needs.append((SiteRole.REGISTRAR, "general", desk, 0, end))
            # Two samplers per desk take turns of two hours, so no one stays in gear longer.
            for turn in range(math.ceil(end / SAMPLER_SHIFT_MINUTES)):
                needs.append((SiteRole.SAMPLER, "medical", desk, turn * SAMPLER_SHIFT_MINUTES, min(end, (turn + 1) * SAMPLER_SHIFT_MINUTES)))
        helpers = max(1, math.ceil(ps.desks / 2))
        needs += [(SiteRole.GUIDE, "general", None, 0, end)] * helpers
        needs += [(SiteRole.ORDER_KEEPER, "general", None, 0, end)] * helpers
        needs += [(SiteRole.DISINFECTOR, "general", None, 0, end), (SiteRole.COURIER, "general", None, 0, end)]
        samplers_at_desk: dict[int, list[int]] = defaultdict(list)
        for role, kind, desk, start, stop in needs:
            staff_id = None
            if role is SiteRole.SAMPLER and desk is not None and len(samplers_at_desk[desk]) >= 2:
                staff_id = samplers_at_desk[desk][len(samplers_at_desk[desk]) % 2]
                samplers_at_desk[desk].append(staff_id)
            else:
                staff_id = take(kind, home)
                if role is SiteRole.SAMPLER and desk is not None and staff_id is not None:
                    samplers_at_desk[desk].append(staff_id)
            if staff_id is None:
                short[role.value] += 1
                continue
            shifts.append(
                {
                    "campaign_id": campaign.id,
                    "plan_site_id": ps.id,
                    "staff_id": staff_id,
                    "role": role.value,
                    "desk_no": desk,
                    "starts_minute": start,
                    "ends_minute": stop,
                }
            )
    if shifts:
        session.execute(Shift.__table__.insert(), shifts)
    return dict(short)


def _readiness(*, session: Session, campaign: Campaign, plan_sites: list[PlanSite]) -> None:
    """The four things in place on time (四个到位), each with its deadline."""
    t0 = campaign.starts_at
    items = []
    for ps in plan_sites:
        tubes = math.ceil(ps.expected_people / campaign.pool_size * (1 + SPARE_FRACTION))
        staff = session.scalar(select(func.count(func.distinct(Shift.staff_id))).where(Shift.plan_site_id == ps.id)) or 0
        for kind, label, due, qty in (
            ("materials", "采样管 tubes", t0 - timedelta(minutes=campaign.ready_before_minutes), tubes),
            ("materials", "拭子 swabs", t0 - timedelta(minutes=campaign.ready_before_minutes), math.ceil(ps.expected_people * (1 + SPARE_FRACTION))),
            ("materials", "转运箱 boxes", t0 - timedelta(minutes=campaign.ready_before_minutes), math.ceil(tubes / campaign.box_size) + 1),
            ("staff", "医护人员到位 medical staff in place", t0 - timedelta(minutes=30), int(staff)),
            ("disinfection", "点位消杀 site disinfection", t0 - timedelta(minutes=30), None),
            ("waste", "医废清运 medical waste collected", t0 + timedelta(minutes=campaign.deadline_minutes + 60), None),
        ):
            items.append(
                {
                    "campaign_id": campaign.id,
                    "plan_site_id": ps.id,
                    "kind": kind,
                    "label": label,
                    "due_at": due,
                    "quantity_planned": qty,
                }
            )
    session.execute(ReadinessItem.__table__.insert(), items)


def delete_plan(*, session: Session, campaign: Campaign) -> None:
    for table in (ReadinessItem, Shift, PlanBuilding, PlanSite, PlanRun):
        session.execute(delete(table).where(table.campaign_id == campaign.id))
