"""A lower bound for the placement by Lagrangian relaxation of "every client served once".

With multipliers u on the assignment rows the problem falls apart by site: each site takes
the clients whose reduced cost is negative, best ratio first, up to its capacity (a
continuous knapsack), and the sites are then chosen by their value under the site-count
rule. Any u gives a valid bound; subgradient steps raise it towards the LP bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sweep.optimize.placement import PlacementProblem


@dataclass(frozen=True)
class LagrangeResult:
    value: float
    multipliers: np.ndarray
    open_hint: np.ndarray | None  # sites open in the subproblem at the best multipliers
    iterations: int
    open_share: np.ndarray  # how often each site was open in the subproblem, recent steps weighted more
    site_values: np.ndarray | None = None  # each site's relaxed value at the best multipliers (lower: more useful)


def _site_values(problem: PlacementProblem, reduced: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site, the best value of the continuous knapsack, and the arcs' fractions."""
    x = (reduced < 0).astype(float)
    if problem.capacity is not None:
        # Only sites whose takers overflow their capacity need the knapsack's ordering.
        taken = np.bincount(problem.arc_site, weights=x * problem.demand[problem.arc_client], minlength=problem.n_sites)
        cap = np.asarray(problem.capacity, dtype=float)
        over = taken > cap + 1e-9
        if over.any():
            idx = np.flatnonzero((reduced < 0) & over[problem.arc_site])
            w = problem.demand[problem.arc_client[idx]]
            site = problem.arc_site[idx]
            order = np.lexsort((reduced[idx] / np.maximum(w, 1e-12), site))
            s, ws, arcs = site[order], w[order], idx[order]
            cum = np.cumsum(ws)
            first = np.searchsorted(s, s)  # start of each site's run in the sorted order
            before = cum - ws - (cum[first] - ws[first])
            x[arcs] = np.clip((cap[s] - before) / np.maximum(ws, 1e-12), 0.0, 1.0)
    rho = np.bincount(problem.arc_site, weights=x * np.minimum(reduced, 0.0), minlength=problem.n_sites)
    return rho, x


def _choose_sites(problem: PlacementProblem, rho: np.ndarray) -> tuple[np.ndarray, float]:
    """Open the sites that lower the relaxed cost most, under the site-count rule."""
    fixed = problem.fixed_mask()
    chosen = fixed.copy()
    total = float(rho[fixed].sum())
    free = np.flatnonzero(~fixed & (rho < 0))
    free = free[np.argsort(rho[free], kind="stable")]
    if problem.max_sites is None:
        take = free
    else:
        room = max(0, problem.max_sites - int(fixed.sum()))
        take = free[:room]
        if problem.extra_site_cost is not None:
            beyond = free[room:]
            take = np.concatenate([take, beyond[rho[beyond] < -problem.extra_site_cost]])
            extra = max(0, int(fixed.sum()) + len(take) - problem.max_sites)
            total += problem.extra_site_cost * extra
    chosen[take] = True
    total += float(rho[take].sum())
    return chosen, total


def bound(problem: PlacementProblem, *, upper: float, deadline: float, max_iterations: int = 3000,
          gap_target: float = 1e-4, start: np.ndarray | None = None) -> LagrangeResult:
    c = problem.arc_total_cost()
    if start is not None:
        u = start.copy()
    else:
        # Start from "everyone at their cheapest arc": already a valid bound.
        u = np.full(problem.n_clients, np.inf)
        np.minimum.at(u, problem.arc_client, c)
        u = u + 1e-9
    best_value, best_u, best_open, best_rho = -math.inf, u.copy(), None, None
    step, stall, it = 2.0, 0, 0
    target = upper if math.isfinite(upper) else None
    share = np.zeros(problem.n_sites)
    for it in range(1, max_iterations + 1):  # noqa: B007 - the count is reported after the loop
        reduced = c - u[problem.arc_client]
        rho, x = _site_values(problem, reduced)
        chosen, sites_total = _choose_sites(problem, rho)
        value = float(u.sum()) + sites_total
        share = 0.95 * share + 0.05 * chosen
        if value > best_value + 1e-9 * max(1.0, abs(value)):
            best_value, best_u, best_open, best_rho, stall = value, u.copy(), np.flatnonzero(chosen), rho, 0
        else:
            stall += 1
            if stall >= 25:
                step, stall = step / 2, 0
        served = np.bincount(problem.arc_client, weights=x * chosen[problem.arc_site], minlength=problem.n_clients)
        g = 1.0 - served
        norm = float(g @ g)
        if norm < 1e-12:
            break  # the relaxed solution is feasible: the bound is the optimum of the relaxation
        if target is not None and (target - best_value) <= gap_target * abs(target):
            break
        if step < 1e-5 or time.perf_counter() > deadline:
            break
        goal = target if target is not None else best_value + 0.05 * abs(best_value) + 1.0
        t = step * max(goal - value, 1e-9 * max(1.0, abs(goal))) / norm
        u = u + t * g
    return LagrangeResult(value=best_value, multipliers=best_u, open_hint=best_open, iterations=it, site_values=best_rho,
                          open_share=share)
