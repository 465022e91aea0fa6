"""Upper bounds for the placement: greedy opening, then interchange (swap one open site for a
closed one while it pays), and, with capacities, an assignment by LP with a rounding repair.

The swap evaluation is Whitaker's fast interchange in matrix form (as Resende and Werneck
arrange it): gain of each insertion, loss of each removal and their interaction, all swaps
scored at once per pass.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sweep.optimize.placement import PlacementProblem

# A dense cost matrix above this many cells costs more memory than the search is worth.
DENSE_MAX_CELLS = 6_000_000
BIG = 1e13


def _dense(problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray]:
    n, m = problem.n_clients, problem.n_sites
    cost = np.full((n, m), BIG)
    arc = np.full((n, m), -1, dtype=np.int64)
    w = problem.arc_total_cost()
    cost[problem.arc_client, problem.arc_site] = w
    arc[problem.arc_client, problem.arc_site] = np.arange(problem.n_arcs)
    return cost, arc


def _nearest_two(cost: np.ndarray, open_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sub = cost[:, open_idx]
    if sub.shape[1] == 1:
        return sub[:, 0], open_idx[np.zeros(len(sub), dtype=np.int64)], np.full(len(sub), BIG)
    two = np.argpartition(sub, 1, axis=1)[:, :2]
    a, b = sub[np.arange(len(sub)), two[:, 0]], sub[np.arange(len(sub)), two[:, 1]]
    first = np.where(a <= b, two[:, 0], two[:, 1])
    return np.minimum(a, b), open_idx[first], np.maximum(a, b)


def _greedy(cost: np.ndarray, start: np.ndarray, p: int) -> np.ndarray:
    is_open = start.copy()
    c1 = cost[:, is_open].min(axis=1) if is_open.any() else np.full(len(cost), BIG)
    while is_open.sum() < p:
        gain = np.maximum(c1[:, None] - cost, 0.0).sum(axis=0)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0 and is_open.any():
            break
        is_open[j] = True
        c1 = np.minimum(c1, cost[:, j])
    return is_open


def _descend(cost: np.ndarray, is_open: np.ndarray, fixed: np.ndarray, deadline: float) -> np.ndarray:
    """Best-improvement swaps until none pays (or time is up)."""
    is_open = is_open.copy()
    while time.perf_counter() < deadline:
        open_idx = np.flatnonzero(is_open)
        if len(open_idx) == 0 or len(open_idx) == cost.shape[1]:
            break
        c1, phi, c2 = _nearest_two(cost, open_idx)
        gain = np.maximum(c1[:, None] - cost, 0.0).sum(axis=0)
        pos = np.searchsorted(open_idx, phi)
        loss = np.bincount(pos, weights=c2 - c1, minlength=len(open_idx))
        a = np.where(cost < c2[:, None], c2[:, None] - np.maximum(cost, c1[:, None]), 0.0)
        onehot = np.zeros((len(cost), len(open_idx)))
        onehot[np.arange(len(cost)), pos] = 1.0
        profit = gain[:, None] - loss[None, :] + a.T @ onehot
        profit[is_open, :] = -np.inf
        profit[:, fixed[open_idx]] = -np.inf
        j, r = np.unravel_index(int(np.argmax(profit)), profit.shape)
        if profit[j, r] <= 1e-9 * max(1.0, float(c1.sum())):
            break
        is_open[open_idx[r]] = False
        is_open[j] = True
    return is_open


def _assign_nearest(problem: PlacementProblem, cost: np.ndarray, arc: np.ndarray, is_open: np.ndarray) -> np.ndarray | None:
    open_idx = np.flatnonzero(is_open)
    best = open_idx[np.argmin(cost[:, open_idx], axis=1)]
    chosen = arc[np.arange(problem.n_clients), best]
    return None if (chosen < 0).any() else chosen


def _cost_of(cost: np.ndarray, is_open: np.ndarray) -> float:
    return float(cost[:, is_open].min(axis=1).sum())


def solve_uncapacitated(problem: PlacementProblem, *, deadline: float, start: np.ndarray | None = None,
                        rng: np.random.Generator | None = None, restarts: bool = False,
                        good_enough: float | None = None, rounds: int | None = None) -> np.ndarray | None:
    """Client arcs of a good uncapacitated placement, or None when the instance is too big to hold densely.

    With ``restarts``, kicks and descents until ``deadline``, ``good_enough`` or ``rounds`` kicks."""
    if problem.n_clients * problem.n_sites > DENSE_MAX_CELLS:
        return _sparse_nearest(problem, start)
    cost, arc = _dense(problem)
    fixed = problem.fixed_mask()
    if problem.max_sites is None:
        return _assign_nearest(problem, cost, arc, np.ones(problem.n_sites, dtype=bool))
    p = min(problem.max_sites, problem.n_sites)
    seed = fixed.copy()
    if start is not None:
        seed[np.asarray(start)[:p]] = True
    is_open = _descend(cost, _greedy(cost, seed, max(p, int(seed.sum()))), fixed, deadline)
    best, best_cost = is_open, _cost_of(cost, is_open)
    rng = rng or np.random.default_rng(0)
    # Perturb and descend again: a few random swaps escape a local optimum (iterated local search).
    done = 0
    while restarts and time.perf_counter() < deadline and (good_enough is None or best_cost > good_enough + 1e-6):
        if rounds is not None and done >= rounds:
            break
        done += 1
        trial = best.copy()
        movable = np.flatnonzero(trial & ~fixed)
        closed = np.flatnonzero(~trial)
        k = int(rng.integers(1, max(2, min(len(movable), 4)) + 1))
        if len(movable) == 0 or len(closed) == 0:
            break
        trial[rng.choice(movable, size=min(k, len(movable)), replace=False)] = False
        # Re-open among the sites that would gain most now, not anywhere: a kick that lands near good ground.
        c1 = cost[:, trial].min(axis=1) if trial.any() else np.full(len(cost), BIG)
        gain = np.maximum(c1[:, None] - cost, 0.0).sum(axis=0)
        gain[trial] = -1.0
        top = np.argsort(-gain, kind="stable")[: max(k, 8)]
        trial[rng.choice(top, size=min(k, len(top)), replace=False)] = True
        trial = _descend(cost, trial, fixed, deadline)
        c = _cost_of(cost, trial)
        # Equal cost moves on: a plateau walked is a wider search than a plateau stood on.
        if c <= best_cost + 1e-9:
            best, best_cost = trial, c
    if problem.extra_site_cost is not None:
        best = _add_while_it_pays(cost, best, problem.extra_site_cost)
    return _assign_nearest(problem, cost, arc, best)


def _add_while_it_pays(cost: np.ndarray, is_open: np.ndarray, price: float) -> np.ndarray:
    is_open = is_open.copy()
    c1 = cost[:, is_open].min(axis=1)
    while not is_open.all():
        gain = np.maximum(c1[:, None] - cost, 0.0).sum(axis=0)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= price:
            break
        is_open[j] = True
        c1 = np.minimum(c1, cost[:, j])
    return is_open


def _sparse_nearest(problem: PlacementProblem, start: np.ndarray | None) -> np.ndarray | None:
    allowed = np.ones(problem.n_sites, dtype=bool) if start is None else np.isin(np.arange(problem.n_sites), start)
    allowed |= problem.fixed_mask()
    return _cheapest_arcs(problem, allowed)


def _cheapest_arcs(problem: PlacementProblem, allowed: np.ndarray) -> np.ndarray | None:
    c = np.where(allowed[problem.arc_site], problem.arc_total_cost(), np.inf)
    order = np.lexsort((c, problem.arc_client))
    first = np.searchsorted(problem.arc_client[order], np.arange(problem.n_clients))
    chosen = order[first]
    return None if not np.isfinite(c[chosen]).all() else chosen


def _sparse_greedy(problem: PlacementProblem, is_open: np.ndarray, p: int | None, need: float) -> np.ndarray:
    """Open sites by their saving until p are open (or no site saves), and capacity covers demand."""
    w = problem.arc_total_cost()
    cap = np.asarray(problem.capacity, dtype=float) if problem.capacity is not None else np.full(problem.n_sites, np.inf)
    is_open = is_open.copy()
    c1 = np.full(problem.n_clients, BIG)
    if is_open.any():
        on = is_open[problem.arc_site]
        np.minimum.at(c1, problem.arc_client[on], w[on])
    while not is_open.all():
        enough = p is None or is_open.sum() >= p
        if enough and cap[is_open].sum() >= need and (c1 < BIG).all():
            break
        gain = np.bincount(problem.arc_site, weights=np.maximum(c1[problem.arc_client] - w, 0.0), minlength=problem.n_sites)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0 and enough:
            # Nothing saves walking any more: open for capacity, biggest first.
            j = int(np.argmax(np.where(is_open, -1.0, cap)))
        is_open[j] = True
        on = problem.arc_site == j
        np.minimum.at(c1, problem.arc_client[on], w[on])
    return is_open


def capacitated_start(problem: PlacementProblem) -> np.ndarray | None:
    p = problem.max_sites
    is_open = _sparse_greedy(problem, problem.fixed_mask(), p, 1.03 * float(problem.demand.sum()))
    return capacitated_from_sites(problem, np.flatnonzero(is_open))


def capacitated_from_sites(problem: PlacementProblem, sites: np.ndarray | None, tries: int = 20) -> np.ndarray | None:
    """Assign clients to the given open sites within capacity; open more sites where clients find no room."""
    from sweep.optimize.assign import assign_within_capacity

    if sites is None:
        return None
    is_open = np.isin(np.arange(problem.n_sites), sites) | problem.fixed_mask()
    for _ in range(tries):
        chosen = assign_within_capacity(problem, is_open)
        if chosen is not None:
            return chosen
        more = _open_where_short(problem, is_open)
        if (more == is_open).all():
            return None
        is_open = more
    return None


def _open_where_short(problem: PlacementProblem, is_open: np.ndarray) -> np.ndarray:
    """Nearest-with-room, biggest clients first; each client left without room opens its cheapest closed site."""
    cap = np.asarray(problem.capacity, dtype=float) if problem.capacity is not None else np.full(problem.n_sites, np.inf)
    load = np.zeros(problem.n_sites)
    total = problem.arc_total_cost()
    order = np.lexsort((total, problem.arc_client))
    starts = np.searchsorted(problem.arc_client[order], np.arange(problem.n_clients + 1))
    more = is_open.copy()
    for i in np.argsort(-problem.demand, kind="stable").tolist():
        arcs = order[starts[i]:starts[i + 1]]
        sites = problem.arc_site[arcs]
        room = is_open[sites] & (load[sites] + problem.demand[i] <= cap[sites] + 1e-9)
        if room.any():
            load[sites[np.argmax(room)]] += problem.demand[i]
            continue
        closed = ~is_open[sites] & (cap[sites] >= problem.demand[i])
        if closed.any():
            more[sites[np.argmax(closed)]] = True
    return more


def drop_surplus(problem: PlacementProblem, client_arc: np.ndarray) -> np.ndarray:
    """Close open sites beyond ``max_sites`` while moving their clients elsewhere costs less than a site's price.

    Lightest sites first; each client moves to its cheapest other open site with room.
    """
    if problem.max_sites is None or problem.extra_site_cost is None:
        return client_arc
    client_arc = client_arc.copy()
    cap = np.asarray(problem.capacity, dtype=float) if problem.capacity is not None else np.full(problem.n_sites, np.inf)
    total = problem.arc_total_cost()
    order = np.lexsort((total, problem.arc_client))
    starts = np.searchsorted(problem.arc_client[order], np.arange(problem.n_clients + 1))
    site_of = problem.arc_site[client_arc]
    load = np.bincount(site_of, weights=problem.demand, minlength=problem.n_sites)
    is_open = (load > 0) | problem.fixed_mask()
    fixed = problem.fixed_mask()
    for j in np.argsort(load, kind="stable").tolist():
        if is_open.sum() <= problem.max_sites:
            break
        if not is_open[j] or fixed[j]:
            continue
        members = np.flatnonzero(site_of == j)
        trial_load = load.copy()
        moves, delta = [], 0.0
        for i in members[np.argsort(-problem.demand[members], kind="stable")].tolist():
            arcs = order[starts[i]:starts[i + 1]]
            sites = problem.arc_site[arcs]
            ok = is_open[sites] & (sites != j) & (trial_load[sites] + problem.demand[i] <= cap[sites] + 1e-9)
            if not ok.any():
                break
            a = int(arcs[np.argmax(ok)])
            moves.append((i, a))
            delta += total[a] - total[client_arc[i]]
            trial_load[problem.arc_site[a]] += problem.demand[i]
        else:
            if delta < problem.extra_site_cost:
                for i, a in moves:
                    client_arc[i] = a
                    site_of[i] = problem.arc_site[a]
                trial_load[j] = 0.0
                load = trial_load
                is_open[j] = False
    return client_arc
