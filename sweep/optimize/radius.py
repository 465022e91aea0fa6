"""The uncapacitated p-median by its radius formulation (Elloumi 2010; García, Labbé and Marín 2011).

Each client's distinct arc costs D¹ < D² < … are levels; z_k says "not served at D^k or less", so the
client costs D¹ + Σ (D^{k+1} − D^k) z_k. Rows chain the levels, z_k ≥ z_{k−1} − Σ_{j at D^k} y_j, so
each arc appears once. Cut after a few levels past the incumbent's distance, the model is a
relaxation: a client served beyond its last level is counted at that level. Its optimum is then a
lower bound, and its open sites a placement whose true cost, when it equals that bound, is proven
optimal; otherwise the clients served beyond their last level get more levels and the MIP runs again
from the better of the two placements. Small when p is large (every client is served near by);
for a handful of medians on many clients the levels grow and the clock may stop it first.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sweep.optimize.highs import Model, run

if TYPE_CHECKING:
    from sweep.optimize.placement import PlacementProblem

EXTRA_LEVELS = 10  # levels kept beyond each client's distance in the incumbent
ROUNDS = 6
# With more clients per median than this the LP bound is weak (0.3–1% below on OR-Library's p = 5, 10) and
# HiGHS's tree does not close in seconds: the caller's Lagrangian bound and restarts get the time instead.
MAX_CLIENTS_PER_MEDIAN = 20


@dataclass(frozen=True)
class RadiusResult:
    client_arc: np.ndarray  # the best placement found (the incumbent or better)
    bound: float  # a lower bound on the optimum (-inf when no round finished)
    optimal: bool
    rounds: int


@dataclass(frozen=True)
class _Levels:
    order: np.ndarray  # arcs sorted by (client, cost)
    starts: np.ndarray  # (n+1,) each client's run in ``order``
    level: np.ndarray  # (a,) level of each arc in ``order`` within its client (0-based, by distinct cost)
    n_levels: np.ndarray  # (n,) distinct costs of each client


def _levels(problem: PlacementProblem, cost: np.ndarray) -> _Levels:
    order = np.lexsort((cost, problem.arc_client))
    client, c = problem.arc_client[order], cost[order]
    starts = np.searchsorted(client, np.arange(problem.n_clients + 1))
    new = np.ones(len(order), dtype=bool)
    new[1:] = (client[1:] != client[:-1]) | (c[1:] > c[:-1] + 1e-9)
    counter = np.cumsum(new) - 1
    level = counter - counter[starts[client]]
    n_levels = np.bincount(client, weights=new, minlength=problem.n_clients).astype(np.int64)
    return _Levels(order, starts, level, n_levels)


def _build(problem: PlacementProblem, cost: np.ndarray, lv: _Levels,
           keep: np.ndarray) -> tuple[Model, float, np.ndarray, np.ndarray]:
    """The model with ``keep[i]`` levels for client i, the constant (Σ D¹), and each z column's client and level."""
    m, n = problem.n_sites, problem.n_clients
    client = problem.arc_client[lv.order]
    c = cost[lv.order]
    first = c[lv.starts[:-1]]
    constant = float(first.sum())
    # Distinct cost of each level: the first arc of each (client, level) run.
    run_start = np.ones(len(c), dtype=bool)
    run_start[1:] = (client[1:] != client[:-1]) | (lv.level[1:] != lv.level[:-1])
    d_client, d_level, d_cost = client[run_start], lv.level[run_start], c[run_start]
    full = keep >= lv.n_levels
    # z columns: levels 0..keep-2 of each client (z_k: not served within level k's cost).
    zmask = d_level < (keep[d_client] - 1)
    z_client, z_level = d_client[zmask], d_level[zmask]
    nz = len(z_client)
    step = np.zeros(len(d_cost))
    step[:-1] = d_cost[1:] - d_cost[:-1]
    z_cost = step[zmask]
    cols = m + nz
    col_cost = np.concatenate([np.zeros(m), z_cost])
    lower, upper = np.zeros(cols), np.concatenate([np.ones(m), np.full(nz, np.inf)])
    lower[np.flatnonzero(problem.fixed_mask())] = 1.0
    integer = np.zeros(cols, dtype=bool)
    integer[:m] = True
    model = Model(n_cols=cols, cost=col_cost, lower=lower, upper=upper, integer=integer)
    p = problem.max_sites if problem.max_sites is not None else m
    r = model.add_rows(np.array([-np.inf]), np.array([float(p)]))
    model.add_entries(np.zeros(m, dtype=np.int64) + r, np.arange(m), np.ones(m))
    # Rows: one per (client, level < keep) where the level is constrained: levels 0..keep-2 always,
    # level keep-1 only when it is the client's last (full: it must be served at last).
    rows_level = d_level < keep[d_client] - 1
    rows_level |= full[d_client] & (d_level == keep[d_client] - 1)
    row_client, row_level = d_client[rows_level], d_level[rows_level]
    n_rows = len(row_client)
    row_first = np.searchsorted(row_client, np.arange(n))
    lo = np.where(row_level == 0, 1.0, 0.0)
    r0 = model.add_rows(lo, np.full(n_rows, np.inf))
    # +z_k in row k, −z_{k−1} in row k.
    zcol = m + np.arange(nz)
    z_row = r0 + row_first[z_client] + z_level
    model.add_entries(z_row, zcol, np.ones(nz))
    nxt = z_level + 1 < keep[z_client] - 1
    nxt |= full[z_client] & (z_level + 1 == keep[z_client] - 1)
    model.add_entries(z_row[nxt] + 1, zcol[nxt], -np.ones(int(nxt.sum())))
    # +y_j in the row of the level of arc (i, j).
    amask = lv.level < keep[client]
    amask &= (lv.level < keep[client] - 1) | full[client]
    model.add_entries(r0 + row_first[client[amask]] + lv.level[amask], problem.arc_site[lv.order][amask],
                      np.ones(int(amask.sum())))
    return model, constant, z_client, z_level


def _nearest(problem: PlacementProblem, cost: np.ndarray, is_open: np.ndarray) -> np.ndarray | None:
    c = np.where(is_open[problem.arc_site], cost, np.inf)
    order = np.lexsort((c, problem.arc_client))
    chosen = order[np.searchsorted(problem.arc_client[order], np.arange(problem.n_clients))]
    return chosen if np.isfinite(c[chosen]).all() else None


def worth_trying(problem: PlacementProblem) -> bool:
    """Whether the model is likely to close: a hard number of medians, each for few enough clients."""
    p = problem.max_sites
    return p is not None and problem.extra_site_cost is None and problem.n_clients <= MAX_CLIENTS_PER_MEDIAN * p


def solve(problem: PlacementProblem, incumbent: np.ndarray, *, deadline: float, integral: bool) -> RadiusResult:
    """Prove ``incumbent`` optimal or find better, by rounds of the cut radius model until ``deadline``."""
    cost = problem.arc_total_cost()
    lv = _levels(problem, cost)
    best = incumbent
    best_cost = float(cost[best].sum())
    # Each client's level in the incumbent, plus a margin.
    where = np.empty(problem.n_arcs, dtype=np.int64)
    where[lv.order] = lv.level
    keep = np.minimum(where[best] + 1 + EXTRA_LEVELS, lv.n_levels)
    bound, rounds = -math.inf, 0
    for rounds in range(1, ROUNDS + 1):
        if time.perf_counter() > deadline - 0.5:
            break
        model, constant, z_client, z_level = _build(problem, cost, lv, keep)
        start = np.zeros(model.n_cols)
        start[np.unique(problem.arc_site[best])] = 1.0
        start[: problem.n_sites][problem.fixed_mask()] = 1.0
        start[problem.n_sites:] = z_level < where[best][z_client]
        result = run(model, time_limit=deadline - time.perf_counter() - 0.3, mip=True, start=start, gap=0.0)
        if math.isfinite(result.bound):
            bound = max(bound, result.bound + constant)
        if result.x is not None:
            is_open = result.x[: problem.n_sites] > 0.5
            arcs = _nearest(problem, cost, is_open)
            if arcs is not None and float(cost[arcs].sum()) < best_cost - 1e-9:
                best, best_cost = arcs, float(cost[arcs].sum())
        floor_ = math.ceil(bound - 1e-6) if integral and math.isfinite(bound) else bound
        if best_cost <= floor_ + 1e-6 * max(1.0, abs(best_cost)):
            return RadiusResult(best, bound, True, rounds)
        if result.status != "optimal" or result.x is None:
            break
        # Clients the model counted short (served beyond their last level) get more levels.
        served = where[_nearest(problem, cost, result.x[: problem.n_sites] > 0.5)]
        short = (served >= keep) & (keep < lv.n_levels)
        if not short.any():
            break
        keep = np.where(short, np.minimum(2 * keep + EXTRA_LEVELS, lv.n_levels), keep)
    return RadiusResult(best, bound, False, rounds)
