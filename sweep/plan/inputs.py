"""What the plan is made from: the registry read into arrays, and the placement problem built on them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sweep.optimize.geo import DETOUR, M_PER_DEG_LAT, M_PER_DEG_LON_EQUATOR
from sweep.optimize.placement import PlacementProblem
from sweep.registry.models import Building, CandidateSite, Community, Grid, KeyGroup, Person, Staff

# Under a cap on sites or samplers a building may be pushed past the walking limit, to one of its
# nearest eight candidates, counted as if its people walked 5 km more: the solver does it only when
# the cap leaves no site within reach. Without a cap there are no such arcs: the limit is a rule.
BEYOND_PENALTY_M = 5_000.0
FALLBACK_SITES = 8
# The kind of a candidate site the planner registered for a mobile site (流动采样点); never offered
# as a candidate again, since each plan places its own.
MOBILE_KIND = "mobile"


@dataclass(eq=False)
class Registry:
    building_id: np.ndarray
    building_code: list[str]
    building_name: list[str]
    building_grid: np.ndarray  # grid id
    building_community: np.ndarray  # community id
    building_x: np.ndarray  # metres east of the district's centre
    building_y: np.ndarray
    walk_in: np.ndarray  # people who come to a site
    key_people: np.ndarray  # of them, key-group members
    single_people: np.ndarray  # of those, sampled one to a tube (their group's schedule says so)
    group_pooled_people: np.ndarray  # of those, pooled at a size of their group's own (5混1, say)
    group_pooled_tubes: np.ndarray  # their tubes: the sum of 1 / their group's pool size
    home_people: np.ndarray  # sampled at home
    site_id: np.ndarray
    site_code: list[str]
    site_name: list[str]
    site_community: np.ndarray
    site_x: np.ndarray
    site_y: np.ndarray
    site_max_desks: np.ndarray
    site_area: list[float | None]
    community_id: np.ndarray
    community_name: dict[int, str]
    grid_name: dict[int, str]
    staff_id: np.ndarray
    staff_community: np.ndarray
    staff_kind: np.ndarray
    lon0: float
    lat0: float
    site_mobile: np.ndarray | None = None  # per candidate: a mobile site the plan placed


def _xy(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    return (lon - lon0) * M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)), (lat - lat0) * M_PER_DEG_LAT


def load_registry(*, session: Session) -> Registry:
    counts = (
        select(
            Person.building_id,
            func.sum(case((Person.home_sampling.is_(False), 1), else_=0)).label("walk_in"),
            func.sum(case(((Person.home_sampling.is_(False)) & (Person.key_group_id.is_not(None)), 1), else_=0)).label("key"),
            func.sum(case(((Person.home_sampling.is_(False)) & KeyGroup.single_tube.is_(True), 1), else_=0)).label("single"),
            func.sum(case(((Person.home_sampling.is_(False)) & KeyGroup.pool_size.is_not(None), 1), else_=0)).label("grouped"),
            func.sum(case(((Person.home_sampling.is_(False)) & KeyGroup.pool_size.is_not(None), 1.0 / KeyGroup.pool_size),
                          else_=0.0)).label("group_tubes"),
            func.sum(case((Person.home_sampling.is_(True), 1), else_=0)).label("home"),
        )
        .outerjoin(KeyGroup, KeyGroup.id == Person.key_group_id)
        .group_by(Person.building_id)
        .subquery()
    )
    rows = session.execute(
        select(Building.id, Building.code, Building.name, Building.grid_id, Building.community_id, Building.lon, Building.lat,
               counts.c.walk_in, counts.c.key, counts.c.home, counts.c.single, counts.c.grouped, counts.c.group_tubes)
        .join(counts, counts.c.building_id == Building.id)
        .order_by(Building.id)
    ).all()
    sites = session.execute(
        select(CandidateSite.id, CandidateSite.code, CandidateSite.name, CandidateSite.community_id, CandidateSite.lon,
               CandidateSite.lat, CandidateSite.max_desks, CandidateSite.area_m2)
        .where(CandidateSite.kind != MOBILE_KIND).order_by(CandidateSite.id)
    ).all()
    staff = session.execute(select(Staff.id, Staff.community_id, Staff.kind).order_by(Staff.id)).all()
    communities = session.execute(select(Community.id, Community.name).order_by(Community.id)).all()
    grids = session.execute(select(Grid.id, Grid.name, Community.name).join(Community, Community.id == Grid.community_id)).all()
    b_lon = np.array([r[5] for r in rows], dtype=float)
    b_lat = np.array([r[6] for r in rows], dtype=float)
    lon0 = float(b_lon.mean()) if len(rows) else 0.0
    lat0 = float(b_lat.mean()) if len(rows) else 0.0
    bx, by = _xy(b_lon, b_lat, lon0, lat0)
    sx, sy = _xy(np.array([s[4] for s in sites], dtype=float), np.array([s[5] for s in sites], dtype=float), lon0, lat0)
    return Registry(
        building_id=np.array([r[0] for r in rows], dtype=np.int64),
        building_code=[r[1] for r in rows],
        building_name=[r[2] for r in rows],
        building_grid=np.array([r[3] for r in rows], dtype=np.int64),
        building_community=np.array([r[4] for r in rows], dtype=np.int64),
        building_x=bx,
        building_y=by,
        walk_in=np.array([int(r[7] or 0) for r in rows], dtype=np.int64),
        key_people=np.array([int(r[8] or 0) for r in rows], dtype=np.int64),
        home_people=np.array([int(r[9] or 0) for r in rows], dtype=np.int64),
        single_people=np.array([int(r[10] or 0) for r in rows], dtype=np.int64),
        group_pooled_people=np.array([int(r[11] or 0) for r in rows], dtype=np.int64),
        group_pooled_tubes=np.array([float(r[12] or 0) for r in rows], dtype=float),
        site_id=np.array([s[0] for s in sites], dtype=np.int64),
        site_code=[s[1] for s in sites],
        site_name=[s[2] for s in sites],
        site_community=np.array([s[3] for s in sites], dtype=np.int64),
        site_x=sx,
        site_y=sy,
        site_max_desks=np.array([s[6] for s in sites], dtype=np.int64),
        site_area=[s[7] for s in sites],
        community_id=np.array([c[0] for c in communities], dtype=np.int64),
        community_name={c[0]: c[1] for c in communities},
        grid_name={g[0]: f"{g[2]}{g[1]}" for g in grids},
        staff_id=np.array([s[0] for s in staff], dtype=np.int64),
        staff_community=np.array([s[1] for s in staff], dtype=np.int64),
        staff_kind=np.array([s[2] for s in staff], dtype=object),
        lon0=lon0,
        lat0=lat0,
    )


@dataclass(frozen=True)
class Arcs:
    client: np.ndarray  # position among the clients (buildings with walk-in people)
    site: np.ndarray
    walk_m: np.ndarray
    cost: np.ndarray  # metres, with the beyond-limit penalty where it applies
    reachable: np.ndarray  # per client: some candidate within the walking limit
    nearest_m: np.ndarray  # per client: walking distance to the nearest candidate
    nearest_site: np.ndarray  # per client


def build_arcs(x: np.ndarray, y: np.ndarray, sx: np.ndarray, sy: np.ndarray, *, limit_m: float, fallback: bool = False,
               chunk: int = 2048) -> Arcs:
    """Arcs to every candidate within the limit; with ``fallback``, also each building's nearest few beyond it."""
    client, site, walk, cost = [], [], [], []
    reach = np.zeros(len(x), dtype=bool)
    nearest_m = np.zeros(len(x))
    nearest_site = np.zeros(len(x), dtype=np.int64)
    k = min(FALLBACK_SITES, len(sx))
    for lo in range(0, len(x), chunk):
        hi = min(len(x), lo + chunk)
        d = np.hypot(x[lo:hi, None] - sx[None, :], y[lo:hi, None] - sy[None, :]) * DETOUR
        within = d <= limit_m + 1e-6  # a mobile site at a group's centre may sit exactly at the limit
        reach[lo:hi] = within.any(axis=1)
        nearest_site[lo:hi] = np.argmin(d, axis=1)
        nearest_m[lo:hi] = d[np.arange(hi - lo), nearest_site[lo:hi]]
        beyond = np.zeros_like(within)
        if fallback:
            near = np.argpartition(d, k - 1, axis=1)[:, :k] if k < len(sx) else np.tile(np.arange(len(sx)), (hi - lo, 1))
            np.put_along_axis(beyond, near, True, axis=1)
            beyond &= ~within
        for mask, penalty in ((within, 0.0), (beyond, 1.0)):
            r, c = np.nonzero(mask)
            dist = d[r, c]
            client.append(r + lo)
            site.append(c)
            walk.append(dist)
            # Out of reach of every candidate: the distance is unavoidable, so no penalty.
            cost.append(dist + penalty * BEYOND_PENALTY_M * reach[r + lo])
    def cat(parts, dt):
        return (np.concatenate(parts).astype(dt) if parts else np.zeros(0, dtype=dt))
    c_client, c_site, c_walk, c_cost = cat(client, np.int64), cat(site, np.int64), cat(walk, float), cat(cost, float)
    order = np.lexsort((c_site, c_client))
    return Arcs(c_client[order], c_site[order], c_walk[order], c_cost[order], reach, nearest_m, nearest_site)


def placement_problem(*, demand: np.ndarray, arcs: Arcs, n_sites: int, capacity: np.ndarray, fixed: np.ndarray,
                      max_sites: int | None, site_target: int, extra_site_cost: float, desk_capacity: float,
                      max_desks_total: int | None) -> PlacementProblem:
    """The p-median: a hard ``max_sites`` when given, else the guideline's site count with a price per extra site."""
    hard = max_sites is not None
    return PlacementProblem(
        demand=demand.astype(float),
        n_sites=n_sites,
        arc_client=arcs.client,
        arc_site=arcs.site,
        arc_cost=arcs.cost,
        capacity=capacity.astype(float),
        desk_capacity=desk_capacity,
        max_desks_total=max_desks_total,
        fixed=fixed,
        max_sites=max_sites if hard else max(site_target, int(fixed.sum())),
        extra_site_cost=None if hard else extra_site_cost,
    )


__all__ = ["MOBILE_KIND", "Arcs", "Registry", "build_arcs", "load_registry", "placement_problem"]
