"""The walking limit as a rule: who has a candidate site in reach, and what serves those who have none.

A building with no candidate site within the limit is not sent further: buildings out of reach
are grouped so that every member is within the limit of the group's weighted centre, and each
group gets a mobile site (流动采样点) there, or home sampling (上门采样) when it is small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.config import Settings
from sweep.optimize import highs
from sweep.optimize.geo import DETOUR, M_PER_DEG_LAT, M_PER_DEG_LON_EQUATOR
from sweep.plan.inputs import MOBILE_KIND, Registry
from sweep.registry.models import CandidateSite


@dataclass(frozen=True)
class Outreach:
    """What serves the buildings out of reach of every candidate site."""

    mobile_groups: list[np.ndarray]  # building indices, one array per mobile site
    home_buildings: np.ndarray  # building indices whose walk-in people are sampled at home instead
    nearest_m: np.ndarray  # per building: walking distance to the nearest candidate site (0 where not computed)
    nearest_site: np.ndarray  # per building: that candidate's index (-1 where not computed)
    crowded: np.ndarray | None = None  # buildings in reach of sites too small for all who need them

    def with_crowded(self, buildings: np.ndarray, reg: Registry, *, limit_m: float) -> Outreach:
        """Mobile sites also for buildings whose sites in reach are full (grouped as those out of reach)."""
        groups = [buildings[g] for g in groups_in_reach(reg.building_x[buildings], reg.building_y[buildings],
                                                         reg.walk_in[buildings].astype(float), limit_m=limit_m)]
        return replace(self, mobile_groups=self.mobile_groups + groups, crowded=np.sort(buildings))

    @property
    def out_of_reach(self) -> np.ndarray:
        return np.sort(np.concatenate([*self.mobile_groups, self.home_buildings])).astype(np.int64)


def nearest(x: np.ndarray, y: np.ndarray, sx: np.ndarray, sy: np.ndarray, *, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Walking distance from each point to its nearest site, and that site."""
    dist = np.full(len(x), math.inf)
    site = np.full(len(x), -1, dtype=np.int64)
    if len(sx) == 0:
        return dist, site
    for lo in range(0, len(x), chunk):
        hi = min(len(x), lo + chunk)
        d = np.hypot(x[lo:hi, None] - sx[None, :], y[lo:hi, None] - sy[None, :]) * DETOUR
        site[lo:hi] = np.argmin(d, axis=1)
        dist[lo:hi] = d[np.arange(hi - lo), site[lo:hi]]
    return dist, site


def groups_in_reach(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, limit_m: float) -> list[np.ndarray]:
    """Points grouped so that each is within ``limit_m`` walking of its group's weighted centre.

    The heaviest point left seeds a group of every point left within half the limit of it (as the
    crow flies, before the detour); the weighted centre lies among them, so within the limit of each.
    """
    radius = limit_m / DETOUR / 2
    cell = np.floor(np.column_stack([x, y]) / max(radius, 1e-9)).astype(np.int64)
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, (cx, cy) in enumerate(cell.tolist()):
        buckets.setdefault((cx, cy), []).append(i)
    left = np.ones(len(x), dtype=bool)
    groups = []
    for seed in np.lexsort((np.arange(len(x)), -w)).tolist():
        if not left[seed]:
            continue
        cx, cy = cell[seed]
        near = [j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in buckets.get((int(cx) + dx, int(cy) + dy), ())]
        near_a = np.array(near, dtype=np.int64)
        near_a = near_a[left[near_a] & (np.hypot(x[near_a] - x[seed], y[near_a] - y[seed]) <= radius)]
        left[near_a] = False
        groups.append(np.sort(near_a))
    return groups


def short_of_room(demand: np.ndarray, arc_client: np.ndarray, arc_site: np.ndarray, capacity: np.ndarray, *,
                  time_limit: float = 10.0) -> np.ndarray:
    """Clients (positions) that the sites within their reach cannot hold, all together: the
    transportation LP with a slack per client, minimising the slack. Empty when everyone fits."""
    n, a = len(demand), len(arc_client)
    model = highs.Model(n_cols=a + n, cost=np.concatenate([np.zeros(a), np.ones(n)]), lower=np.zeros(a + n),
                        upper=np.full(a + n, np.inf))
    first = model.add_rows(demand.astype(float), demand.astype(float))
    model.add_entries(first + arc_client, np.arange(a), np.ones(a))
    model.add_entries(first + np.arange(n), a + np.arange(n), np.ones(n))
    first = model.add_rows(np.full(len(capacity), -np.inf), capacity.astype(float))
    model.add_entries(first + arc_site, np.arange(a), np.ones(a))
    result = highs.run(model, time_limit=time_limit, mip=False)
    if result.x is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(result.x[a:] > 1e-6)


def plan_outreach(reg: Registry, *, settings: Settings) -> Outreach:
    """Buildings with walk-in people and no candidate site within the limit, grouped and given their service."""
    clients = np.flatnonzero(reg.walk_in > 0)
    d, s = nearest(reg.building_x[clients], reg.building_y[clients], reg.site_x, reg.site_y)
    nearest_m = np.zeros(len(reg.building_id))
    nearest_site = np.full(len(reg.building_id), -1, dtype=np.int64)
    nearest_m[clients], nearest_site[clients] = d, s
    out = clients[d > settings.max_walk_m]
    mobile, home = [], []
    for g in groups_in_reach(reg.building_x[out], reg.building_y[out], reg.walk_in[out].astype(float), limit_m=settings.max_walk_m):
        members = out[g]
        if reg.walk_in[members].sum() < settings.home_sampling_max_people and len(reg.site_id):
            home.append(members)
        else:
            mobile.append(members)
    home_b = np.sort(np.concatenate(home)).astype(np.int64) if home else np.zeros(0, dtype=np.int64)
    return Outreach(mobile, home_b, nearest_m, nearest_site)


def with_outreach(reg: Registry, outreach: Outreach, *, session: Session, settings: Settings,
                  desk_capacity: float) -> Registry:
    """The registry as the plan sees it: home-sampled groups moved to home sampling, and one more
    candidate site per mobile group, at its weighted centre (a mobile site registered in an earlier
    plan under the same code keeps its id)."""
    walk_in, key, home = reg.walk_in.copy(), reg.key_people.copy(), reg.home_people.copy()
    hb = outreach.home_buildings
    home[hb] += walk_in[hb]
    walk_in[hb] = 0
    key[hb] = 0
    if not outreach.mobile_groups:
        return replace(reg, walk_in=walk_in, key_people=key, home_people=home, site_mobile=np.zeros(len(reg.site_id), dtype=bool))
    codes, names, comm, xs, ys, desks = [], [], [], [], [], []
    used: dict[str, int] = {}
    for members in outreach.mobile_groups:
        w = reg.walk_in[members].astype(float)
        head = int(members[np.lexsort((members, -w))[0]])
        grid = reg.grid_name.get(int(reg.building_grid[head]), "")
        used[grid] = used.get(grid, 0) + 1
        codes.append(f"{reg.building_code[head]}M")
        names.append(f"{grid}流动采样点" + (str(used[grid]) if used[grid] > 1 else ""))
        comm.append(int(reg.building_community[head]))
        xs.append(float(np.average(reg.building_x[members], weights=w)))
        ys.append(float(np.average(reg.building_y[members], weights=w)))
        desks.append(max(settings.mobile_site_max_desks, math.ceil(float(w.sum()) / desk_capacity)))
    known = dict(session.execute(select(CandidateSite.code, CandidateSite.id).where(CandidateSite.code.in_(codes))).all())
    n = len(codes)
    return replace(
        reg, walk_in=walk_in, key_people=key, home_people=home,
        site_id=np.concatenate([reg.site_id, [known.get(c, -1) for c in codes]]).astype(np.int64),
        site_code=reg.site_code + codes, site_name=reg.site_name + names,
        site_community=np.concatenate([reg.site_community, comm]).astype(np.int64),
        site_x=np.concatenate([reg.site_x, xs]), site_y=np.concatenate([reg.site_y, ys]),
        site_max_desks=np.concatenate([reg.site_max_desks, desks]).astype(np.int64),
        site_area=reg.site_area + [None] * n,
        site_mobile=np.concatenate([np.zeros(len(reg.site_id), dtype=bool), np.ones(n, dtype=bool)]),
    )


def register_mobile_sites(*, session: Session, reg: Registry, opened: np.ndarray) -> Registry:
    """Each opened mobile site as a candidate site of kind ``mobile`` (site accounts, scans and maps
    then treat it as any site); the registry's ids filled in. The planner never offers these rows as
    candidates: a later plan places its own mobile sites."""
    assert reg.site_mobile is not None
    site_id = reg.site_id.copy()
    for s in opened.tolist():
        if not reg.site_mobile[s]:
            continue
        lon, lat = _lonlat(reg, float(reg.site_x[s]), float(reg.site_y[s]))
        values = {"name": reg.site_name[s], "kind": MOBILE_KIND, "community_id": int(reg.site_community[s]),
                  "lon": lon, "lat": lat, "max_desks": int(reg.site_max_desks[s]), "area_m2": None}
        row = session.get(CandidateSite, int(site_id[s])) if site_id[s] >= 0 else None
        if row is None:
            row = CandidateSite(code=reg.site_code[s], **values)
            session.add(row)
            session.flush()
        else:
            for k, v in values.items():
                setattr(row, k, v)
        site_id[s] = row.id
    return replace(reg, site_id=site_id)


def _lonlat(reg: Registry, x: float, y: float) -> tuple[float, float]:
    return (round(reg.lon0 + x / (M_PER_DEG_LON_EQUATOR * math.cos(math.radians(reg.lat0))), 7),
            round(reg.lat0 + y / M_PER_DEG_LAT, 7))


def walk_summary(walk_m: np.ndarray, people: np.ndarray, *, limit_m: float) -> dict[str, float | int]:
    """Mean, 95th percentile (of people) and longest walk, and the buildings beyond the limit."""
    if len(walk_m) == 0 or people.sum() == 0:
        return {"mean_walk_m": 0.0, "walk_p95_m": 0.0, "max_walk_m": 0.0, "beyond_limit": 0}
    order = np.argsort(walk_m, kind="stable")
    cum = np.cumsum(people[order])
    p95 = float(walk_m[order][int(np.searchsorted(cum, 0.95 * cum[-1]))])
    return {"mean_walk_m": float(np.average(walk_m, weights=people)), "walk_p95_m": p95, "max_walk_m": float(walk_m.max()),
            "beyond_limit": int((walk_m > limit_m + 1e-6).sum())}
