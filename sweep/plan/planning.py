"""``make_plan``: the optimal plan of a round, from the registry to stored sites, slots, roster and items.

Steps: read the registry; place sites (capacitated p-median with the walking limit, fixed sites
of the previous round kept); size desks by queueing; schedule the call-up; fill the roster;
work out materials and the timeline; store it all with the solver's bound and the differences
from the previous round.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sweep.config import Settings
from sweep.errors import Conflict, InvalidInput
from sweep.optimize import callup as callup_mod
from sweep.optimize import queueing
from sweep.optimize import roster as roster_mod
from sweep.optimize.materials import SiteNeeds
from sweep.optimize.placement import Placement, PlacementInfeasible, PlacementProblem, solve
from sweep.plan import store
from sweep.plan.inputs import Arcs, Registry, build_arcs, load_registry, placement_problem
from sweep.plan.models import Campaign, PlanBuilding, PlanSite
from sweep.plan.reach import Outreach, plan_outreach, register_mobile_sites, short_of_room, walk_summary, with_outreach
from sweep.roles import SiteRole
from sweep.schema import schema_table

Progress = Callable[[str], None]
# With the walking limit as a rule a million people make only some 40,000 arcs, under the solver's
# exact limit, yet HiGHS's MIP on 10,000 buildings ends its time 8% from its bound where the
# Lagrangian heuristic ends within 1%: above this many buildings the heuristic plans.
EXACT_MAX_CLIENTS = 5_000


@dataclass
class PlanOutcome:
    campaign_id: int
    round_no: int
    sites: int
    desks: int
    samplers: int
    people: int
    home_sampling: int
    mean_walk_m: float
    max_walk_m: float
    walk_p95_m: float
    beyond_limit: int  # buildings whose people walk beyond the limit (only under an accepted cap)
    mobile_sites: int
    home_sampling_buildings: int  # buildings out of reach of every site whose people are sampled at home
    objective: float
    bound: float
    gap: float
    status: str
    method: str
    seconds: float
    predicted_finish_minutes: float
    deadline_minutes: int
    unassigned_buildings: int
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    staff_short: dict[str, int] = field(default_factory=dict)
    shortfalls: list[dict[str, Any]] = field(default_factory=list)
    diff: dict[str, Any] = field(default_factory=dict)
    site_list: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("mean_walk_m", "max_walk_m", "walk_p95_m", "predicted_finish_minutes", "seconds"):
            out[k] = round(float(out[k]), 1)
        out["objective"], out["bound"] = round(self.objective, 1), round(self.bound, 1)
        out["gap"] = round(self.gap, 6)
        out["beyond_walk_limit"] = self.beyond_limit
        out["walk"] = {k: out[k] for k in ("mean_walk_m", "walk_p95_m", "max_walk_m", "beyond_limit")}
        out["campaign"] = self.campaign_id
        return out


def _previous(session: Session, campaign: Campaign) -> tuple[int | None, dict[int, int], dict[int, str], dict[int, str]]:
    """The last earlier round with a plan: its id, desks and code by candidate site, and building → site code."""
    prev_id = session.scalar(
        select(func.max(PlanSite.campaign_id)).where(PlanSite.campaign_id < campaign.id)
    )
    if prev_id is None:
        return None, {}, {}, {}
    rows = session.execute(select(PlanSite.candidate_site_id, PlanSite.desks, PlanSite.code).where(PlanSite.campaign_id == prev_id)).all()
    desks = {int(c): int(d) for c, d, _ in rows}
    codes = {int(c): str(code) for c, _, code in rows}
    moved = dict(session.execute(
        select(PlanBuilding.building_id, PlanSite.code).join(PlanSite, PlanSite.id == PlanBuilding.plan_site_id)
        .where(PlanBuilding.campaign_id == prev_id)
    ).all())
    return int(prev_id), desks, codes, moved


def _refuse_if_started(session: Session, campaign: Campaign) -> None:
    # The field's tubes, read by name: the plan sits below the field and does not import it.
    tubes = schema_table("tubes")
    if campaign.status != "planned" or session.scalar(select(func.count()).select_from(tubes).where(tubes.c.campaign_id == campaign.id)):
        raise Conflict("campaign", f"第{campaign.round_no}轮已开始，不能重新制定方案；请用 --new-round 开始新一轮 "
                                   "(this round has started: plan a new round with --new-round)")


def _infeasible(exc: PlacementInfeasible, reg: Registry, clients: np.ndarray, settings: Settings) -> InvalidInput:
    if exc.kind == "capacity":
        return InvalidInput("candidate_sites", f"候选采样点按场地最多可设的采样台仍容纳不下全部人员，还差约 {exc.need:,.0f} 人的容量："
                            f"请增加候选点或扩大场地 (the candidate sites, at the most desks their space allows, are "
                            f"{exc.need:,.0f} people short: add candidate sites or space)")
    if exc.kind == "max_sites":
        return InvalidInput("max_sites", f"采样点上限太小，至少需要 {exc.need:.0f} 个点 (max_sites too small: at least "
                            f"{exc.need:.0f} sites are needed for the capacity and the fixed sites)")
    if exc.kind == "max_desks":
        assert exc.need is not None  # a desk cap refused always says how many desks are needed
        return InvalidInput("max_samplers", f"采样人员上限太小，至少需要 {2 * exc.need:.0f} 名采样员 (max_samplers too "
                            f"small: at least {2 * exc.need:.0f} samplers, two a desk in rotation, are needed)")
    if exc.kind == "client_too_big":
        names = ", ".join(reg.building_name[int(clients[i])] for i in exc.clients[:5])
        return InvalidInput("candidate_sites", f"楼栋人数超过附近任何采样点的容量：{names}；请在附近增设候选点或上门采样 "
                            f"(buildings bigger than any site near them: {names}; add a candidate site nearby)")
    return InvalidInput("plan", f"无法满足全部约束：{exc.reason}；请放宽采样点或人员上限 (no plan meets every constraint: "
                        f"{exc.reason}; relax max_sites or max_samplers)")


def calling_window(deadline_minutes: int, settings: Settings) -> int:
    """Minutes from the start in which people are called: calling stops early enough for the last
    slot's late comers (the latest come ``sim_late_max_minutes`` after their slot) and the line
    left then to be swabbed by the deadline, and never later than the last slot."""
    margin = max(settings.slot_minutes, math.ceil(settings.sim_late_max_minutes))
    return deadline_minutes - margin if deadline_minutes >= margin + 2 * settings.slot_minutes else deadline_minutes


def make_plan(*, session: Session, settings: Settings, campaign: Campaign, max_sites: int | None = None,
              max_samplers: int | None = None, time_limit: float | None = None, accept_beyond_limit: bool = False,
              progress: Progress | None = None) -> PlanOutcome:
    """Plan the round and store it, replacing an earlier plan of the same (not yet started) round.

    The walking limit is a rule: no building goes to a site beyond it while a candidate within it
    exists, and groups out of reach of every candidate get a mobile site or home sampling. Only a
    cap (``max_sites``, ``max_samplers``) can push people further, and then the plan is refused,
    naming what the cap costs, unless ``accept_beyond_limit``."""
    say = progress or (lambda _m: None)
    if max_sites is not None and max_sites < 1:
        raise InvalidInput("max_sites", "应为正整数 (must be a positive number)")
    if max_samplers is not None and max_samplers < 2:
        raise InvalidInput("max_samplers", "至少2名采样员 (at least 2 samplers)")
    _refuse_if_started(session, campaign)
    store.delete_plan(session=session, campaign=campaign)
    say("读取登记册 reading the registry")
    reg = load_registry(session=session)
    if not (reg.walk_in > 0).any():
        raise InvalidInput("registry", "登记册中没有人员 (the registry has no people to plan for)")
    if len(reg.site_id) == 0:
        raise InvalidInput("candidate_sites", "没有候选采样点 (no candidate sites in the registry)")
    window = campaign.deadline_minutes
    calling = calling_window(window, settings)
    service = 60.0 / settings.desk_people_per_hour
    desk_capacity = settings.desk_people_per_hour * calling / 60.0 * callup_mod.FILL
    prev_id, prev_desks, prev_codes, prev_site_of = _previous(session, campaign)

    say("步行范围 the walking limit: mobile sites and home sampling")
    registered = reg
    outreach = plan_outreach(registered, settings=settings)
    reg = with_outreach(registered, outreach, session=session, settings=settings, desk_capacity=desk_capacity)
    clients = np.flatnonzero(reg.walk_in > 0)
    fixed = np.isin(reg.site_id, list(prev_desks)) & (reg.site_id >= 0)

    capped = max_sites is not None or max_samplers is not None
    if not capped:
        # Buildings whose sites in reach are too small for all who need them get mobile sites too.
        arcs = build_arcs(reg.building_x[clients], reg.building_y[clients], reg.site_x, reg.site_y, limit_m=settings.max_walk_m)
        crowded = short_of_room(reg.walk_in[clients], arcs.client, arcs.site, reg.site_max_desks * desk_capacity)
        if len(crowded):
            outreach = outreach.with_crowded(clients[crowded], registered, limit_m=settings.max_walk_m)
            reg = with_outreach(registered, outreach, session=session, settings=settings, desk_capacity=desk_capacity)
            clients = np.flatnonzero(reg.walk_in > 0)
            fixed = np.isin(reg.site_id, list(prev_desks)) & (reg.site_id >= 0)

    say("选址 placing sites")
    limit = time_limit or settings.plan_time_limit_seconds
    try:
        placed, arcs, problem = _place(reg, clients, fixed, settings=settings, desk_capacity=desk_capacity,
                                       max_sites=max_sites, max_samplers=max_samplers, fallback=capped, time_limit=limit)
    except PlacementInfeasible as exc:
        if capped or exc.kind not in ("solver_infeasible", "not_found", "client_too_big"):
            raise _infeasible(exc, reg, clients, settings) from exc
        # The sites within reach of some buildings cannot hold them all: the placement allowed past
        # the limit says which, and they get mobile sites too.
        say("步行范围内容量不足 sites in reach too small: mobile sites for the rest")
        soft, soft_arcs, _ = _place(reg, clients, fixed, settings=settings, desk_capacity=desk_capacity, max_sites=None,
                                    max_samplers=None, fallback=True, time_limit=limit / 2)
        pushed = clients[soft_arcs.walk_m[soft.client_arc] > settings.max_walk_m + 1e-6]
        outreach = outreach.with_crowded(pushed, registered, limit_m=settings.max_walk_m)
        reg = with_outreach(registered, outreach, session=session, settings=settings, desk_capacity=desk_capacity)
        clients = np.flatnonzero(reg.walk_in > 0)
        fixed = np.isin(reg.site_id, list(prev_desks)) & (reg.site_id >= 0)
        try:
            placed, arcs, problem = _place(reg, clients, fixed, settings=settings, desk_capacity=desk_capacity,
                                           max_sites=None, max_samplers=None, fallback=False, time_limit=limit / 2)
        except PlacementInfeasible as again:
            raise _infeasible(again, reg, clients, settings) from again
    cap_warning = []
    client_walk = arcs.walk_m[placed.client_arc]
    if (client_walk > settings.max_walk_m + 1e-6).any():
        reason = _cap_cost(reg, clients, client_walk, fixed, settings=settings, desk_capacity=desk_capacity,
                           max_sites=max_sites, max_samplers=max_samplers, time_limit=limit)
        if not accept_beyond_limit:
            raise InvalidInput("max_sites" if max_sites is not None else "max_samplers", reason)
        cap_warning.append(reason)

    opened = placed.open_sites
    reg = register_mobile_sites(session=session, reg=reg, opened=opened)
    pos = np.full(len(reg.site_id), -1)
    pos[opened] = np.arange(len(opened))
    b_site = np.full(len(reg.building_id), -1)
    b_walk = np.zeros(len(reg.building_id))
    b_site[clients] = pos[placed.client_site]
    b_walk[clients] = client_walk
    # Buildings whose people are all sampled at home go with the nearest open site, for its home round.
    home_only = np.flatnonzero((reg.walk_in == 0) & (reg.home_people > 0))
    if len(home_only):
        d = np.hypot(reg.building_x[home_only, None] - reg.site_x[opened][None, :],
                     reg.building_y[home_only, None] - reg.site_y[opened][None, :])
        b_site[home_only] = np.argmin(d, axis=1)
    beyond = np.zeros(len(reg.building_id), dtype=bool)
    beyond[clients] = b_walk[clients] > settings.max_walk_m + 1e-6

    say("采样台与排队 desks by queueing")
    load = np.bincount(b_site[clients], weights=reg.walk_in[clients], minlength=len(opened))
    sizing = [
        queueing.size_desks(people=float(load[k]), window_minutes=calling, service_minutes=service,
                            max_desks=int(reg.site_max_desks[s]), area_m2=reg.site_area[s],
                            wait_target_minutes=settings.wait_target_minutes)
        for k, s in enumerate(opened.tolist())
    ]
    desks = np.array([z.desks for z in sizing], dtype=np.int64)
    warnings = cap_warning + [f"{reg.site_name[int(opened[k])]}: {z.reason}" for k, z in enumerate(sizing) if not z.fits]

    say("通知时段 call-up slots")
    data = callup_mod.CallupInput(
        building_people=reg.walk_in, building_key=reg.key_people, building_home=reg.home_people,
        building_x=reg.building_x, building_y=reg.building_y, building_grid=reg.building_grid, building_site=b_site,
        site_x=reg.site_x[opened], site_y=reg.site_y[opened], site_desks=desks, window_minutes=calling,
        slot_minutes=settings.slot_minutes, service_minutes=service,
    )
    latest = window - settings.slot_minutes if window >= 3 * settings.slot_minutes else window
    calls = _schedule(data, desks, reg.site_max_desks[opened], reg, opened, warnings, latest_window=latest)

    say("分工表 roster")
    comm_index = {int(c): i for i, c in enumerate(reg.community_id)}
    cx, cy = _community_centres(reg, comm_index)
    rost = roster_mod.build(roster_mod.RosterInput(
        site_community=np.array([comm_index[int(c)] for c in reg.site_community[opened]], dtype=np.int64),
        site_desks=desks, site_home_teams=calls.home_teams,
        staff_id=reg.staff_id, staff_community=np.array([comm_index[int(c)] for c in reg.staff_community], dtype=np.int64),
        staff_kind=reg.staff_kind, community_x=cx, community_y=cy, window_minutes=window,
        rotation_minutes=settings.sampler_rotation_minutes,
    ))

    say("写入方案 storing the plan")
    finish = _predicted_finish(calls, desks, service, settings.slot_minutes)
    site_rows = store.write_sites(session=session, campaign=campaign, reg=reg, opened=opened, desks=desks, load=load,
                                  sizing=sizing, calls=calls, b_site=b_site, b_walk=b_walk, fixed=fixed)
    store.write_buildings(session=session, campaign=campaign, reg=reg, site_rows=site_rows, b_site=b_site, b_walk=b_walk,
                          calls=calls, beyond=beyond)
    store.write_roster(session=session, campaign=campaign, site_rows=site_rows, rost=rost)
    needs = _needs(reg, b_site, desks, rost, len(opened))
    store.write_readiness(session=session, campaign=campaign, settings=settings, site_rows=site_rows, needs=needs, calls=calls)
    exceptions = _exceptions(registered, reg, outreach, beyond, b_site, b_walk, site_rows)

    samplers = len({d.staff_id for d in rost.duties if d.post.role is SiteRole.SAMPLER})
    short: dict[str, int] = {}
    shortfalls = []
    for k, roles in sorted(rost.shortfall.items()):
        for role, n in roles.items():
            short[role] = short.get(role, 0) + n
        shortfalls.append({"site": site_rows[k].code, "name": reg.site_name[int(opened[k])], **roles})
    walk = walk_summary(b_walk[clients], reg.walk_in[clients].astype(float), limit_m=settings.max_walk_m)
    diff = _diff(prev_id, prev_desks, prev_codes, prev_site_of, reg, opened, desks, b_site, site_rows)
    outcome = PlanOutcome(
        campaign_id=campaign.id, round_no=campaign.round_no, sites=len(opened), desks=int(desks.sum()), samplers=samplers,
        people=int(reg.walk_in.sum() + reg.home_people.sum()), home_sampling=int(reg.home_people.sum()),
        mean_walk_m=float(walk["mean_walk_m"]), max_walk_m=float(walk["max_walk_m"]), walk_p95_m=float(walk["walk_p95_m"]),
        beyond_limit=int(walk["beyond_limit"]), mobile_sites=int(reg.site_mobile[opened].sum()) if reg.site_mobile is not None else 0,
        home_sampling_buildings=len(outreach.home_buildings),
        objective=placed.objective, bound=placed.bound, gap=placed.gap, status=placed.status, method=placed.method,
        seconds=placed.seconds, predicted_finish_minutes=finish, deadline_minutes=window,
        unassigned_buildings=int(((reg.walk_in + reg.home_people) > 0).sum() - (b_site >= 0).sum()),
        exceptions=exceptions, warnings=warnings + placed.notes, staff_short=short, shortfalls=shortfalls, diff=diff,
        site_list=store.site_list(session=session, reg=reg, opened=opened, site_rows=site_rows),
    )
    store.write_run(session=session, campaign=campaign, outcome=outcome, settings=settings, target_sites=problem.max_sites)
    return outcome


def _place(reg: Registry, clients: np.ndarray, fixed: np.ndarray, *, settings: Settings, desk_capacity: float,
           max_sites: int | None, max_samplers: int | None, fallback: bool,
           time_limit: float) -> tuple[Placement, Arcs, PlacementProblem]:
    """The placement: arcs within the walking limit only, unless a cap asks for arcs beyond it.
    Raises ``PlacementInfeasible``."""
    arcs = build_arcs(reg.building_x[clients], reg.building_y[clients], reg.site_x, reg.site_y, limit_m=settings.max_walk_m,
                      fallback=fallback)
    demand = reg.walk_in[clients]
    # The guideline's number of sites comes free; each further one is priced at a whole guideline site
    # walking the full limit (people_per_site × max_walk_m person-metres). The walking limit opens as
    # many as it needs whatever the price: the count of sites is an outcome.
    target = math.ceil(float(demand.sum()) / settings.people_per_site)
    problem = placement_problem(
        demand=demand, arcs=arcs, n_sites=len(reg.site_id), capacity=reg.site_max_desks * desk_capacity, fixed=fixed,
        max_sites=max_sites, site_target=target, extra_site_cost=settings.people_per_site * settings.max_walk_m,
        desk_capacity=desk_capacity, max_desks_total=None if max_samplers is None else max_samplers // 2,
    )
    if len(clients) <= EXACT_MAX_CLIENTS:
        return solve(problem, time_limit=time_limit, gap_target=1e-3), arcs, problem
    placed = solve(problem, time_limit=time_limit, gap_target=1e-3, exact_max_arcs=0)
    note = f"{len(clients):,} buildings: above {EXACT_MAX_CLIENTS:,}, the Lagrangian heuristic plans, with its bound"
    return replace(placed, notes=[note] + [n for n in placed.notes if "above the exact limit" not in n]), arcs, problem


def _cap_cost(reg: Registry, clients: np.ndarray, walk: np.ndarray, fixed: np.ndarray, *,
              settings: Settings, desk_capacity: float, max_sites: int | None, max_samplers: int | None,
              time_limit: float) -> str:
    """What a cap costs in walking, and what the uncapped plan opens instead."""
    over = walk > settings.max_walk_m + 1e-6
    people = reg.walk_in[clients]
    extra_km = float(((walk - settings.max_walk_m) * people)[over].sum()) / 1000
    try:
        free, _, _ = _place(reg, clients, fixed, settings=settings, desk_capacity=desk_capacity, max_sites=None,
                            max_samplers=None, fallback=False, time_limit=min(time_limit, 10.0))
        load = np.bincount(free.client_site, weights=people, minlength=len(reg.site_id))[free.open_sites]
        need = (f"不设上限的方案开 {len(free.open_sites)} 个采样点、约 {int(np.ceil(load / desk_capacity).sum())} 个采样台 "
                f"(the plan without the cap opens {len(free.open_sites)} sites, about {int(np.ceil(load / desk_capacity).sum())} desks)")
    except PlacementInfeasible as exc:
        need = _infeasible(exc, reg, clients, settings).reason
    cap = f"采样点上限 {max_sites}" if max_sites is not None else f"采样员上限 {max_samplers}"
    cap_en = f"the cap of {max_sites} sites" if max_sites is not None else f"the cap of {max_samplers} samplers"
    return (f"{cap} 使 {int(over.sum())} 栋楼 {int(people[over].sum()):,} 人步行超过 {settings.max_walk_m:.0f} 米"
            f"（最远 {float(walk.max()):,.0f} 米，共多走 {extra_km:,.0f} 人·公里）；{need}；确需接受请加 --accept-beyond-limit "
            f"({cap_en} sends {int(over.sum())} buildings, {int(people[over].sum()):,} people, beyond the "
            f"{settings.max_walk_m:.0f} m walking limit: furthest {float(walk.max()):,.0f} m, {extra_km:,.0f} person-km more "
            "walking; add --accept-beyond-limit to accept it)")


def _schedule(data: callup_mod.CallupInput, desks: np.ndarray, max_desks: np.ndarray, reg: Registry, opened: np.ndarray,
              warnings: list[str], *, latest_window: int) -> callup_mod.Callup:
    """The call-up; a site whose people do not fit before the deadline gets another desk if its space
    allows, and else calls into the hour kept for late comers, a slot at a time, up to the last slot."""
    while True:
        try:
            return callup_mod.schedule(data)
        except callup_mod.CallupOverflow as exc:
            name = reg.site_name[int(opened[exc.site])]
            if desks[exc.site] < max_desks[exc.site]:
                desks[exc.site] += 1
                warnings.append(f"{name}: +1 desk so every slot ends before the deadline")
                continue
            windows = np.full(len(desks), data.window_minutes) if data.site_window_minutes is None else data.site_window_minutes.copy()
            if windows[exc.site] + data.slot_minutes <= latest_window:
                # This site alone calls later: the others keep the hour for their late comers.
                windows[exc.site] += data.slot_minutes
                data = replace(data, site_window_minutes=windows)
                minute = int(windows[exc.site])
                warnings.append(f"{name}: 通知至开始后 {minute} 分钟，最后一批迟到者可能超时 (called until minute "
                                f"{minute}, into the hour kept for late comers: its last slot's late comers may miss the deadline)")
                continue
            raise InvalidInput("candidate_sites", f"{name} 在截止前容纳不下，约 {exc.people_left:.0f} 人无时段；请扩大场地或增设附近候选点 "
                               f"({name}: about {exc.people_left:.0f} people get no slot before the deadline; "
                               "add space or a candidate site nearby)") from exc


def _community_centres(reg: Registry, comm_index: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    n = len(comm_index)
    idx = np.array([comm_index[int(c)] for c in reg.building_community], dtype=np.int64)
    count = np.maximum(np.bincount(idx, minlength=n), 1)
    return np.bincount(idx, reg.building_x, n) / count, np.bincount(idx, reg.building_y, n) / count


def _predicted_finish(calls: callup_mod.Callup, desks: np.ndarray, service: float, slot: int) -> float:
    """The last slot with people in it, plus the line left then (M/M/c at that slot's rate)."""
    finish = 0.0
    for k in range(len(desks)):
        busy = np.flatnonzero(calls.arrivals[k] > 1e-9)
        if len(busy) == 0:
            continue
        last = int(busy[-1])
        lam = calls.arrivals[k, last] / slot
        finish = max(finish, (last + 1) * slot + min(queueing.mean_wait(int(desks[k]), lam, 1 / service), slot) + service)
    return finish


def _needs(reg: Registry, b_site: np.ndarray, desks: np.ndarray, rost: roster_mod.Roster, n: int) -> list[SiteNeeds]:
    has = b_site >= 0
    people = np.bincount(b_site[has], reg.walk_in[has], n).astype(int)
    single = np.bincount(b_site[has], reg.single_people[has], n).astype(int)
    grouped = np.bincount(b_site[has], reg.group_pooled_people[has], n).astype(int)
    group_tubes = np.bincount(b_site[has], reg.group_pooled_tubes[has], n)
    home = np.bincount(b_site[has], reg.home_people[has], n).astype(int)
    shifts = np.zeros(n, dtype=int)
    medical: list[set[int]] = [set() for _ in range(n)]
    general: list[set[int]] = [set() for _ in range(n)]
    for d in rost.duties:
        shifts[d.post.site] += 1
        (medical if d.post.role is SiteRole.SAMPLER else general)[d.post.site].add(d.staff_id)
    return [SiteNeeds(int(people[k]), int(single[k]), int(home[k]), int(desks[k]), int(shifts[k]), len(medical[k]), len(general[k]),
                      group_pooled_people=int(grouped[k]), group_pooled_tubes=float(group_tubes[k]))
            for k in range(n)]


def _exceptions(registered: Registry, reg: Registry, outreach: Outreach, beyond: np.ndarray, b_site: np.ndarray,
                b_walk: np.ndarray, site_rows: list[PlanSite]) -> list[dict[str, Any]]:
    """Each building with no candidate site in reach, by name, and how the plan serves it (a mobile site
    or home sampling); and any building a capped plan sends beyond the limit."""
    out = []
    home = set(outreach.home_buildings.tolist())
    crowded = set() if outreach.crowded is None else set(outreach.crowded.tolist())
    for b in sorted(set(outreach.out_of_reach.tolist()) | set(np.flatnonzero(beyond).tolist())):
        site = site_rows[int(b_site[b])]
        name = reg.site_name[_site_index(reg, site.candidate_site_id)]
        if beyond[b]:
            served, fix = "beyond_limit", f"采样点上限所致，已接受 pushed past the limit by the accepted cap: {name}"
        elif b in home:
            served, fix = "home", f"上门采样 home sampling from {name}"
        else:
            served, fix = "mobile", f"流动采样点 mobile site {name}"
        near = int(outreach.nearest_site[b])
        out.append({
            "building": reg.building_code[b], "name": reg.building_name[b],
            "community": reg.community_name.get(int(reg.building_community[b]), ""),
            "people": int(registered.walk_in[b]), "walk_m": round(float(b_walk[b]), 0) if served != "home" else 0.0,
            "nearest_site": registered.site_name[near] if near >= 0 else "", "nearest_m": round(float(outreach.nearest_m[b]), 0),
            "served_by": served, "site": site.code,
            "reason": ("采样点上限 the cap on sites or samplers" if served == "beyond_limit"
                       else "步行范围内的采样点容纳不下 the sites within the limit are too small" if b in crowded
                       else "步行范围内没有候选点 no candidate site within the limit"),
            "fix": fix,
        })
    return out


def _site_index(reg: Registry, candidate_site_id: int) -> int:
    return int(np.flatnonzero(reg.site_id == candidate_site_id)[0])


def _diff(prev_id: int | None, prev_desks: dict[int, int], prev_codes: dict[int, str], prev_site_of: dict[int, str], reg: Registry,
          opened: np.ndarray, desks: np.ndarray, b_site: np.ndarray, site_rows: list[PlanSite]) -> dict[str, Any]:
    if prev_id is None:
        return {}
    now = {int(reg.site_id[s]): int(desks[k]) for k, s in enumerate(opened.tolist())}
    code_of = {**prev_codes, **{int(i): c for i, c in zip(reg.site_id.tolist(), reg.site_code, strict=True)}}
    moved = 0
    for b, k in enumerate(b_site.tolist()):
        before = prev_site_of.get(int(reg.building_id[b]))
        if k >= 0 and before is not None and before != site_rows[k].code:
            moved += 1
    return {
        "previous_campaign": prev_id,
        "sites_added": sorted(code_of[s] for s in now.keys() - prev_desks.keys()),
        "sites_dropped": sorted(code_of[s] for s in prev_desks.keys() - now.keys()),
        "sites_kept": len(now.keys() & prev_desks.keys()),
        "desks_changed": {code_of[s]: [prev_desks[s], now[s]] for s in now.keys() & prev_desks.keys() if prev_desks[s] != now[s]},
        "buildings_moved": moved,
    }
