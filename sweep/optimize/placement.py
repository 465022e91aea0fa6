"""Which candidate sites to open and which clients (buildings) each serves.

A capacitated p-median on a sparse set of arcs (client → site within reach): minimise the
demand-weighted cost, every client served by exactly one open site, each site's load within
its capacity, fixed sites kept open, optionally at most ``max_sites`` open (hard, or soft
with a price per extra site) and at most ``max_desks_total`` desks. Without capacities and with
a hard site count, greedy + interchange and then the cut radius model (``radius``), which proves
most instances with many sites. With capacities and a hard site count (no fixed sites, no desk
total), an iterated local search on the groups of clients (``cluster_search``), which needs no
solver. With other capacities and a model small enough for the time limit, HiGHS: the whole MIP for
a few nodes, then exact moves (the MIP over a few sites at a time, ``neighbourhood.descend``), then
the whole MIP with the time left. Otherwise greedy + interchange
(and a capacity-aware repair) under a Lagrangian lower bound. Every answer carries a lower bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from sweep.optimize import cluster_search, interchange, lagrange, neighbourhood, radius

# Above this many arcs HiGHS's root LP alone may eat the time limit; the heuristic takes over.
# Uncapacitated models keep the assignments continuous and solve much faster than capacitated ones.
EXACT_MAX_ARCS = 40_000
EXACT_MAX_ARCS_CAPACITATED = 50_000
ILS_ROUNDS = 60
# With capacities: the whole MIP first gets QUICK_MIP_NODES nodes, at most this share of the time limit
# (a district's plan usually closes in it); if it does not, MIPs over a few sites at a time run until
# LNS_SHARE at the latest, and the whole model gets the rest.
QUICK_MIP_SHARE = 0.15
QUICK_MIP_NODES = 100
LNS_SHARE = 0.85
# Without capacities: the cut radius model gets up to this share; most instances are proven well before.
RADIUS_SHARE = 0.6
ILS_KICKS = 20  # kicks of the uncapacitated interchange when the radius model is not tried
ILS_SHARE = 0.6


@dataclass(frozen=True)
class PlacementProblem:
    demand: np.ndarray  # (n,) demand of each client (people)
    n_sites: int
    arc_client: np.ndarray  # (a,) client of each arc
    arc_site: np.ndarray  # (a,) site of each arc
    arc_cost: np.ndarray  # (a,) cost per unit of demand on this arc (metres, plus any penalty)
    capacity: np.ndarray | None = None  # (m,) most demand a site can take; None: uncapacitated
    desk_capacity: float | None = None  # demand one desk serves; with max_desks_total, desks are counted
    max_desks_total: int | None = None
    fixed: np.ndarray | None = None  # (m,) bool: must stay open
    max_sites: int | None = None
    extra_site_cost: float | None = None  # None: max_sites is hard; else the price of each site above it
    weight: np.ndarray | None = None  # (n,) weight of each client in the objective; default: its demand

    @property
    def n_clients(self) -> int:
        return len(self.demand)

    @property
    def n_arcs(self) -> int:
        return len(self.arc_client)

    def arc_total_cost(self) -> np.ndarray:
        """What each arc adds to the objective when used."""
        w = self.demand if self.weight is None else self.weight
        total: np.ndarray = np.asarray(w, dtype=float)[self.arc_client] * self.arc_cost
        return total

    def fixed_mask(self) -> np.ndarray:
        return np.zeros(self.n_sites, dtype=bool) if self.fixed is None else np.asarray(self.fixed, dtype=bool)


@dataclass(frozen=True)
class Placement:
    open_sites: np.ndarray  # sorted site indices
    client_site: np.ndarray  # (n,) site index of each client
    client_arc: np.ndarray  # (n,) arc index used by each client
    objective: float  # cost of the solution, penalties included
    bound: float  # a proven lower bound on the optimum
    status: str  # 'optimal' | 'time_limit' | 'heuristic'
    method: str
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        if self.objective <= 0:
            return 0.0
        return max(0.0, (self.objective - self.bound) / abs(self.objective))


class PlacementInfeasible(Exception):
    """No placement satisfies the constraints; ``reason`` names which and ``clients`` who."""

    def __init__(self, reason: str, *, kind: str, clients: list[int] | None = None, need: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.clients = clients or []
        self.need = need


def check_feasible(problem: PlacementProblem) -> None:
    """The plain reasons a placement cannot exist, found before any solver runs."""
    p = problem
    reach = np.bincount(p.arc_client, minlength=p.n_clients)
    unreachable = np.flatnonzero(reach == 0)
    if len(unreachable):
        raise PlacementInfeasible(f"{len(unreachable)} clients have no site within reach", kind="unreachable", clients=unreachable.tolist())
    fixed = p.fixed_mask()
    if p.max_sites is not None and p.extra_site_cost is None and fixed.sum() > p.max_sites:
        raise PlacementInfeasible("more fixed sites than max_sites", kind="max_sites", need=float(fixed.sum()))
    if p.capacity is None:
        return
    cap = np.asarray(p.capacity, dtype=float)
    biggest = np.zeros(p.n_clients)
    np.maximum.at(biggest, p.arc_client, cap[p.arc_site])
    too_big = np.flatnonzero(p.demand > biggest + 1e-9)
    if len(too_big):
        raise PlacementInfeasible("clients larger than any site within reach", kind="client_too_big", clients=too_big.tolist())
    total = float(p.demand.sum())
    if cap.sum() < total - 1e-9:
        raise PlacementInfeasible("total capacity below total demand", kind="capacity", need=total - float(cap.sum()))
    if p.max_sites is not None and p.extra_site_cost is None:
        order = np.argsort(-cap, kind="stable")
        best = cap[fixed].sum() + cap[order[~fixed[order]]][: max(0, p.max_sites - int(fixed.sum()))].sum()
        if best < total - 1e-9:
            need = int(np.searchsorted(np.cumsum(cap[order]), total - 1e-9) + 1)
            raise PlacementInfeasible("max_sites too small for the demand", kind="max_sites", need=float(need))
    if p.max_desks_total is not None and p.desk_capacity:
        need = math.ceil(total / p.desk_capacity - 1e-9)
        if need > p.max_desks_total:
            raise PlacementInfeasible("max_desks_total too small for the demand", kind="max_desks", need=float(need))


def solution_cost(problem: PlacementProblem, client_arc: np.ndarray) -> float:
    cost = float(problem.arc_total_cost()[client_arc].sum())
    if problem.max_sites is not None and problem.extra_site_cost is not None:
        opened = set(problem.arc_site[client_arc].tolist()) | set(np.flatnonzero(problem.fixed_mask()).tolist())
        cost += problem.extra_site_cost * max(0, len(opened) - problem.max_sites)
    return cost


def feasible(problem: PlacementProblem, client_arc: np.ndarray | None) -> bool:
    """Whether an assignment keeps every capacity, the desk total and a hard site cap."""
    if client_arc is None or len(client_arc) != problem.n_clients:
        return False
    if not np.array_equal(problem.arc_client[client_arc], np.arange(problem.n_clients)):
        return False
    load = np.bincount(problem.arc_site[client_arc], weights=problem.demand, minlength=problem.n_sites)
    if problem.capacity is not None and (load > np.asarray(problem.capacity) + 1e-6).any():
        return False
    opened = (load > 0) | problem.fixed_mask()
    if problem.max_sites is not None and problem.extra_site_cost is None and opened.sum() > problem.max_sites:
        return False
    if problem.max_desks_total is not None and problem.desk_capacity:
        desks = np.where(opened, np.maximum(1, np.ceil(load / problem.desk_capacity - 1e-9)), 0)
        if desks.sum() > problem.max_desks_total:
            return False
    return True


def solve(problem: PlacementProblem, *, time_limit: float = 30.0, exact_max_arcs: int | None = None,
          gap_target: float = 1e-4) -> Placement:
    """The best placement found within ``time_limit`` seconds, with a lower bound."""
    t0 = time.perf_counter()
    check_feasible(problem)
    deadline = t0 + time_limit
    uncapacitated = problem.capacity is None and problem.max_desks_total is None
    notes: list[str] = []

    if exact_max_arcs is None:
        exact_max_arcs = EXACT_MAX_ARCS if uncapacitated else EXACT_MAX_ARCS_CAPACITATED
    small = problem.n_arcs <= exact_max_arcs
    via_radius = False
    if uncapacitated:
        incumbent, ub, bound, via_radius = _uncapacitated(problem, t0, time_limit, small, gap_target)
        via_mip = False
    else:
        incumbent, ub, bound, via_mip = _capacitated(problem, t0, time_limit, small, gap_target)
    if not feasible(problem, incumbent):
        incumbent, ub = None, math.inf

    status = "heuristic"
    method = ("greedy+interchange" if uncapacitated else "Lagrangian sites, LP assignment, relocation") + "; Lagrangian bound"
    if via_mip:
        method = "HiGHS MIP; start: " + method.split(";")[0]
    if via_radius:
        method = "radius formulation (HiGHS); start: greedy+interchange; bound: radius and Lagrangian"
    if incumbent is not None and _proven(ub, bound, gap_target, problem):
        status = "optimal"
    elif small and time.perf_counter() < deadline - 0.5:
        from sweep.optimize import exact

        result = exact.solve_mip(problem, deadline=deadline, start=incumbent, gap_target=gap_target)
        found = result.client_arc
        if found is not None and feasible(problem, found) and (incumbent is None or result.objective <= ub + 1e-6):
            incumbent, ub = found, solution_cost(problem, found)
        bound = max(bound, result.bound)
        if not via_mip:
            method = "HiGHS MIP; start: " + method.split(";")[0]
        status = "optimal" if result.optimal or _proven(ub, bound, gap_target, problem) else "time_limit"
        if result.infeasible:
            raise PlacementInfeasible("the solver proved the constraints cannot all hold", kind="solver_infeasible")
    elif problem.n_arcs > exact_max_arcs:
        notes.append(f"{problem.n_arcs:,} arcs: above the exact limit of {exact_max_arcs:,}, heuristic with a Lagrangian bound")
    if incumbent is None:
        raise PlacementInfeasible("no feasible placement found within the time limit", kind="not_found")
    opened = np.unique(np.concatenate([problem.arc_site[incumbent], np.flatnonzero(problem.fixed_mask())]))
    return Placement(
        open_sites=opened,
        client_site=problem.arc_site[incumbent].astype(np.int64),
        client_arc=incumbent.astype(np.int64),
        objective=ub,
        bound=min(bound, ub),
        status=status,
        method=method,
        seconds=time.perf_counter() - t0,
        notes=notes,
    )


def _proven(ub: float, bound: float, gap_target: float, problem: PlacementProblem) -> bool:
    if not (math.isfinite(ub) and math.isfinite(bound)):
        return False
    if ub - bound <= gap_target * max(abs(ub), 1e-9):
        return True
    # Integer data: a bound within one unit of the solution proves it optimal.
    return bool(_integral(problem) and math.ceil(bound - 1e-6) >= ub - 1e-6)


def _integral(problem: PlacementProblem) -> bool:
    c = problem.arc_total_cost()
    return bool(np.allclose(c, np.round(c)))


def _uncapacitated(problem: PlacementProblem, t0: float, limit: float, small: bool,
                   gap_target: float) -> tuple[np.ndarray | None, float, float, bool]:
    """Greedy and interchange, then the cut radius model to prove it or better it; if the clock stops that,
    the Lagrangian bound and interchange with restarts from the sites the bound likes; HiGHS after, if small."""
    # A bounded number of kicks (the same answer run after run): with few medians this finds the optimum,
    # which the radius model then has only to bound.
    # Where the radius model will run, its first round mends a greedy descent's few wrong medians for less than
    # the kicks would cost (pmed40: 1.3 CPU s in all against 4.2 with 20 kicks), so there are none.
    # Without it, the kicks are what finds the optimum (pmed32 needs about 20 of them, 1.8 CPU s), so on a busy
    # machine they may take up to ILS_SHARE of the clock.
    kicks, share = (0, 0.2) if radius.worth_trying(problem) else (ILS_KICKS, ILS_SHARE)
    incumbent = interchange.solve_uncapacitated(problem, deadline=t0 + share * limit, restarts=True, rounds=kicks)
    ub = solution_cost(problem, incumbent) if incumbent is not None else math.inf
    bound, via_radius = -math.inf, False
    if incumbent is not None and radius.worth_trying(problem):
        found = radius.solve(problem, incumbent, deadline=t0 + RADIUS_SHARE * limit, integral=_integral(problem))
        via_radius = True
        if solution_cost(problem, found.client_arc) < ub:
            incumbent, ub = found.client_arc, solution_cost(problem, found.client_arc)
        bound = found.bound
        if found.optimal or _proven(ub, bound, gap_target, problem):
            return incumbent, ub, bound, via_radius
    lag = lagrange.bound(problem, upper=ub, deadline=t0 + (RADIUS_SHARE + 0.15) * limit, gap_target=gap_target)
    bound = max(bound, lag.value)
    if not _proven(ub, bound, gap_target, problem) and lag.open_hint is not None:
        floor_ = math.ceil(bound - 1e-6) if _integral(problem) else bound
        better = interchange.solve_uncapacitated(problem, deadline=t0 + (0.75 if small else 0.95) * limit,
                                                 start=lag.open_hint, restarts=True, good_enough=floor_)
        if better is not None and solution_cost(problem, better) < ub:
            incumbent, ub = better, solution_cost(problem, better)
    return incumbent, ub, bound, via_radius


def _capacitated(problem: PlacementProblem, t0: float, limit: float, small: bool,
                 gap_target: float) -> tuple[np.ndarray | None, float, float, bool]:
    """Greedy start; Lagrangian bound; sites the relaxation likes, repaired, trimmed and relocated."""
    from sweep.optimize.relocate import relocate

    best = greedy = interchange.capacitated_start(problem)
    if not feasible(problem, best):
        best = None
    ub = solution_cost(problem, best) if best is not None else math.inf

    def improve(sites: np.ndarray | None, until: float) -> None:
        nonlocal best, ub
        if sites is None or time.perf_counter() > until:
            return
        trial = interchange.capacitated_from_sites(problem, sites)
        if trial is None:
            return
        trial = relocate(problem, interchange.drop_surplus(problem, trial), deadline=until)
        if feasible(problem, trial) and solution_cost(problem, trial) < ub:
            best, ub = trial, solution_cost(problem, trial)

    # Small instances stop the subgradient by count, not by clock, so that a plan is the same run after run.
    steps = 300 if small else 100_000
    lag = lagrange.bound(problem, upper=ub, deadline=t0 + (0.08 if small else 0.15) * limit, gap_target=gap_target,
                         max_iterations=steps)
    bound = lag.value
    if not _proven(ub, bound, gap_target, problem):
        share = lag.open_share if lag.open_share is not None else np.zeros(problem.n_sites)
        p = problem.max_sites or int(np.count_nonzero(share > 0.5))
        improve(np.argsort(-share, kind="stable")[:p], t0 + (0.15 if small else 0.4) * limit)
        lag = lagrange.bound(problem, upper=ub, deadline=t0 + (0.2 if small else 0.6) * limit, gap_target=gap_target,
                             start=lag.multipliers, max_iterations=steps)
        bound = max(bound, lag.value)
    grouped = best is not None and cluster_search.applies(problem)
    if grouped and not _proven(ub, bound, gap_target, problem):
        # Hard number of medians: iterated local search on the groups, from the greedy and the relaxation's sites.
        share = lag.open_share if lag.open_share is not None else np.zeros(problem.n_sites)
        starts = [s for s in (interchange.capacitated_from_sites(problem, np.argsort(-share, kind="stable")[:problem.max_sites]),
                              greedy) if s is not None and feasible(problem, s)]
        floor_ = math.ceil(bound - 1e-6) if _integral(problem) else bound
        found = cluster_search.search(problem, starts, deadline=t0 + LNS_SHARE * limit, good_enough=floor_)
        if found is not None and feasible(problem, found) and solution_cost(problem, found) < ub:
            best, ub = found, solution_cost(problem, found)
    if small and best is not None and not grouped:
        # Perturb the open set and descend again, a bounded number of times (the same plan run after run).
        rng = np.random.default_rng(0)
        fixed = problem.fixed_mask()
        for _ in range(ILS_ROUNDS):
            if _proven(ub, bound, gap_target, problem) or time.perf_counter() > t0 + 0.3 * limit:
                break
            is_open = np.zeros(problem.n_sites, dtype=bool)
            is_open[problem.arc_site[best]] = True
            movable, closed = np.flatnonzero(is_open & ~fixed), np.flatnonzero(~is_open)
            if len(movable) == 0 or len(closed) == 0:
                break
            k = int(rng.integers(1, 3))
            is_open[rng.choice(movable, size=min(k, len(movable)), replace=False)] = False
            is_open[rng.choice(closed, size=min(k, len(closed)), replace=False)] = True
            improve(np.flatnonzero(is_open), t0 + 0.3 * limit)
    via_mip = False
    if small and best is not None and not _proven(ub, bound, gap_target, problem):
        # The whole MIP, briefly (by a node count, so the same run after run): most plans close here.
        from sweep.optimize import exact

        quick = exact.solve_mip(problem, deadline=min(t0 + LNS_SHARE * limit, time.perf_counter() + QUICK_MIP_SHARE * limit),
                                start=best, gap_target=gap_target, node_limit=QUICK_MIP_NODES)
        if quick.client_arc is not None and feasible(problem, quick.client_arc) and solution_cost(problem, quick.client_arc) <= ub:
            best, ub = quick.client_arc, solution_cost(problem, quick.client_arc)
        bound, via_mip = max(bound, quick.bound), True
    if small and best is not None and not grouped and not _proven(ub, bound, gap_target, problem):
        # Exact moves (a MIP over the open sites and one site's alternatives), then seeded kicks: the same
        # plan run after run; the whole MIP (in solve) then gets what time is left, for the bound.
        def cost_of(arcs: np.ndarray) -> float:
            return solution_cost(problem, arcs) if feasible(problem, arcs) else math.inf

        floor_ = math.ceil(bound - 1e-6) if _integral(problem) else bound
        trial = neighbourhood.descend(problem, best, deadline=t0 + LNS_SHARE * limit, cost_of=cost_of, good_enough=floor_)
        if cost_of(trial) < ub:
            best, ub = trial, cost_of(trial)
    if not small and not _proven(ub, bound, gap_target, problem):
        improve(lag.open_hint, t0 + 0.8 * limit)
        share = lag.open_share if lag.open_share is not None else np.zeros(problem.n_sites)
        p = problem.max_sites or int(np.count_nonzero(share > 0.5))
        improve(np.argsort(-share, kind="stable")[:p], t0 + 0.95 * limit)
    return best, ub, bound, via_mip
