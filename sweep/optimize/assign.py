"""Clients to a fixed set of open sites within capacity: a transportation LP, rounded and repaired.

A basic optimal solution of the LP splits at most one client per site, so rounding moves only
a handful of clients, each to the cheapest open site with room left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sweep.optimize.highs import Model, run

if TYPE_CHECKING:
    from sweep.optimize.placement import PlacementProblem


def assign_within_capacity(problem: PlacementProblem, is_open: np.ndarray) -> np.ndarray | None:
    """The arc each client uses, or None when the open sites cannot hold everyone."""
    arcs = np.flatnonzero(is_open[problem.arc_site])
    client, site = problem.arc_client[arcs], problem.arc_site[arcs]
    if len(np.unique(client)) < problem.n_clients:
        return None
    w = problem.demand[client]
    total = problem.arc_total_cost()
    cost = total[arcs]
    if problem.capacity is None:
        order = np.lexsort((cost, client))
        first = np.searchsorted(client[order], np.arange(problem.n_clients))
        return arcs[order[first]]
    cap = np.asarray(problem.capacity, dtype=float)
    open_idx = np.flatnonzero(is_open)
    row_of_site = np.full(problem.n_sites, -1)
    row_of_site[open_idx] = problem.n_clients + np.arange(len(open_idx))
    model = Model(n_cols=len(arcs), cost=cost, lower=np.zeros(len(arcs)), upper=np.ones(len(arcs)))
    model.add_rows(np.r_[np.ones(problem.n_clients)], np.r_[np.ones(problem.n_clients)])
    model.add_rows(np.full(len(open_idx), -np.inf), cap[open_idx])
    model.add_entries(client, np.arange(len(arcs)), np.ones(len(arcs)))
    model.add_entries(row_of_site[site], np.arange(len(arcs)), w)
    result = run(model, time_limit=60.0, mip=False)
    if result.x is None:
        return None
    x = result.x
    # Largest share first, cheaper arc on ties.
    order = np.lexsort((cost, -x, client))
    first = np.searchsorted(client[order], np.arange(problem.n_clients))
    pick = order[first]
    return _repair(problem, arcs, pick, cap, total)


def _repair(problem: PlacementProblem, arcs: np.ndarray, pick: np.ndarray, cap: np.ndarray,
            total: np.ndarray) -> np.ndarray | None:
    client_arc: np.ndarray = arcs[pick]
    load = np.bincount(problem.arc_site[client_arc], weights=problem.demand, minlength=problem.n_sites)
    over = np.flatnonzero(load > cap + 1e-9)
    if len(over) == 0:
        return client_arc
    order = np.argsort(problem.arc_client[arcs], kind="stable")
    starts = np.searchsorted(problem.arc_client[arcs][order], np.arange(problem.n_clients + 1))
    for s in over.tolist():
        members = np.flatnonzero(problem.arc_site[client_arc] == s)
        moves = []
        for i in members.tolist():
            options = arcs[order[starts[i]:starts[i + 1]]]
            options = options[problem.arc_site[options] != s]
            for a in options.tolist():
                delta = total[a] - total[client_arc[i]]
                moves.append((delta / max(problem.demand[i], 1e-12), i, a))
        moves.sort()
        for _delta, i, a in moves:
            if load[s] <= cap[s] + 1e-9:
                break
            if problem.arc_site[client_arc[i]] != s:
                continue
            t = problem.arc_site[a]
            if load[t] + problem.demand[i] <= cap[t] + 1e-9:
                load[s] -= problem.demand[i]
                load[t] += problem.demand[i]
                client_arc[i] = a
        if load[s] > cap[s] + 1e-9:
            return None
    return client_arc
