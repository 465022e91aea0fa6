"""The placement as a mixed-integer program for HiGHS (strong formulation: x_ij <= z_j per arc)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sweep.optimize.highs import Model, run

if TYPE_CHECKING:
    from sweep.optimize.placement import PlacementProblem


@dataclass(frozen=True)
class MipResult:
    client_arc: np.ndarray | None
    objective: float
    bound: float
    optimal: bool
    infeasible: bool
    message: str


def build(problem: PlacementProblem) -> tuple[Model, dict[str, int]]:
    """The model and where each block of columns starts."""
    p, a, m, n = problem, problem.n_arcs, problem.n_sites, problem.n_clients
    desks = p.max_desks_total is not None and p.desk_capacity is not None and p.capacity is not None
    soft = p.max_sites is not None and p.extra_site_cost is not None
    at = {"x": 0, "z": a, "y": a + m, "e": a + m + (m if desks else 0)}
    n_cols = at["e"] + (1 if soft else 0)
    cost = np.zeros(n_cols)
    cost[:a] = p.arc_total_cost()
    lower, upper = np.zeros(n_cols), np.ones(n_cols)
    lower[at["z"] + np.flatnonzero(p.fixed_mask())] = 1.0
    integer = np.zeros(n_cols, dtype=bool)
    integer[at["z"]:at["z"] + m] = True
    if p.capacity is not None:
        integer[:a] = True  # one site per client: no splitting a building
    if soft:
        cost[at["e"]] = p.extra_site_cost
        upper[at["e"]] = np.inf
    model = Model(n_cols=n_cols, cost=cost, lower=lower, upper=upper, integer=integer)
    arcs = np.arange(a)
    r = model.add_rows(np.ones(n), np.ones(n))
    model.add_entries(r + p.arc_client, arcs, np.ones(a))
    r = model.add_rows(np.full(a, -np.inf), np.zeros(a))
    model.add_entries(r + arcs, arcs, np.ones(a))
    model.add_entries(r + arcs, at["z"] + p.arc_site, -np.ones(a))
    if p.capacity is not None:
        cap = np.asarray(p.capacity, dtype=float)
        r = model.add_rows(np.full(m, -np.inf), np.zeros(m))
        model.add_entries(r + p.arc_site, arcs, p.demand[p.arc_client])
        sites = np.arange(m)
        if desks:
            assert p.desk_capacity is not None and p.max_desks_total is not None  # what ``desks`` says
            k = float(p.desk_capacity)
            most = np.floor(cap / k + 1e-9)
            upper[at["y"]:at["y"] + m] = most
            integer[at["y"]:at["y"] + m] = True
            model.add_entries(r + sites, at["y"] + sites, -np.full(m, k))
            r = model.add_rows(np.full(m, -np.inf), np.zeros(m))  # y <= most * z
            model.add_entries(r + sites, at["y"] + sites, np.ones(m))
            model.add_entries(r + sites, at["z"] + sites, -most)
            r = model.add_rows(np.full(m, -np.inf), np.zeros(m))  # z <= y
            model.add_entries(r + sites, at["z"] + sites, np.ones(m))
            model.add_entries(r + sites, at["y"] + sites, -np.ones(m))
            r = model.add_rows(np.array([-np.inf]), np.array([float(p.max_desks_total)]))
            model.add_entries(np.full(m, r), at["y"] + sites, np.ones(m))
        else:
            model.add_entries(r + sites, at["z"] + sites, -cap)
    if p.max_sites is not None:
        r = model.add_rows(np.array([-np.inf]), np.array([float(p.max_sites)]))
        model.add_entries(np.full(m, r), at["z"] + np.arange(m), np.ones(m))
        if soft:
            model.add_entries(np.array([r]), np.array([at["e"]]), np.array([-1.0]))
    return model, at


def _start(problem: PlacementProblem, at: dict[str, int], n_cols: int, client_arc: np.ndarray) -> np.ndarray:
    x = np.zeros(n_cols)
    x[client_arc] = 1.0
    opened = np.zeros(problem.n_sites, dtype=bool)
    opened[problem.arc_site[client_arc]] = True
    opened |= problem.fixed_mask()
    x[at["z"]:at["z"] + problem.n_sites] = opened
    if at["y"] != at["e"]:
        assert problem.desk_capacity is not None  # desk columns exist only when desks are counted
        load = np.bincount(problem.arc_site[client_arc], weights=problem.demand, minlength=problem.n_sites)
        x[at["y"]:at["y"] + problem.n_sites] = np.where(opened, np.maximum(1, np.ceil(load / problem.desk_capacity - 1e-9)), 0)
    if problem.max_sites is not None and problem.extra_site_cost is not None:
        x[at["e"]] = max(0, int(opened.sum()) - problem.max_sites)
    return x


def solve_mip(problem: PlacementProblem, *, deadline: float, start: np.ndarray | None = None,
              gap_target: float = 1e-4) -> MipResult:
    """Solve by HiGHS, stopping by ``deadline`` (a perf_counter time): building the model counts too."""
    model, at = build(problem)
    begin = _start(problem, at, model.n_cols, start) if start is not None else None
    # HiGHS checks its clock between steps; half a second of margin keeps the deadline.
    result = run(model, time_limit=deadline - time.perf_counter() - 0.5, mip=True, start=begin, gap=gap_target)
    if result.status == "infeasible":
        return MipResult(None, math.inf, math.inf, False, True, result.message)
    client_arc = None
    if result.x is not None:
        xa = result.x[: problem.n_arcs]
        order = np.lexsort((-xa, problem.arc_client))
        client_arc = order[np.searchsorted(problem.arc_client[order], np.arange(problem.n_clients))]
        if not np.allclose(xa[client_arc], 1.0, atol=1e-5):
            client_arc = None
    bound = result.bound if math.isfinite(result.bound) else -math.inf
    return MipResult(client_arc, result.objective, bound, result.status == "optimal", False, result.message)
