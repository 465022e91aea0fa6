"""Capacity-aware local search on the open set: close one site, open a neighbour, move clients.

Each move is priced exactly for the clients it touches: the closed site's clients go to the
new site or the cheapest other open site with room, and clients of other sites move to the
new one while it has room and they save. Improving moves are kept until none is found or
time runs out; the final assignment is then re-optimised by the transportation LP.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sweep.optimize.placement import PlacementProblem


def _csr(keys: np.ndarray, n: int, sort_by: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((sort_by, keys))
    return order, np.searchsorted(keys[order], np.arange(n + 1))


def relocate(problem: PlacementProblem, client_arc: np.ndarray, *, deadline: float) -> np.ndarray:
    total = problem.arc_total_cost()
    cap = np.asarray(problem.capacity, dtype=float) if problem.capacity is not None else np.full(problem.n_sites, np.inf)
    by_client, c_start = _csr(problem.arc_client, problem.n_clients, total)
    by_site, s_start = _csr(problem.arc_site, problem.n_sites, total)
    demand = problem.demand
    client_arc = client_arc.copy()
    site_of = problem.arc_site[client_arc].copy()
    cost_of = total[client_arc].copy()
    load = np.bincount(site_of, weights=demand, minlength=problem.n_sites)
    is_open = (load > 0) | problem.fixed_mask()
    fixed = problem.fixed_mask()
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for j in np.flatnonzero(is_open & ~fixed).tolist():
            if time.perf_counter() > deadline:
                break
            members = np.flatnonzero(site_of == j)
            if len(members) == 0:
                continue
            arcs_j = np.concatenate([by_client[c_start[i]:c_start[i + 1]] for i in members.tolist()])
            near = np.unique(problem.arc_site[arcs_j])
            near = near[~is_open[near]]
            best = None
            for k in near.tolist():
                move = _price(problem, j, k, members, by_client, c_start, by_site, s_start, total, cap, load, is_open,
                              site_of, cost_of)
                if move is not None and (best is None or move[0] < best[0]):
                    best = move
            if best is not None and best[0] < -1e-6:
                _, k, moves = best
                for i, a in moves:
                    load[site_of[i]] -= demand[i]
                    client_arc[i], site_of[i], cost_of[i] = a, problem.arc_site[a], total[a]
                    load[site_of[i]] += demand[i]
                is_open[j], is_open[k] = False, True
                improved = True
    return client_arc


def _price(problem: PlacementProblem, j: int, k: int, members: np.ndarray, by_client: np.ndarray, c_start: np.ndarray,
           by_site: np.ndarray, s_start: np.ndarray, total: np.ndarray, cap: np.ndarray, load: np.ndarray,
           is_open: np.ndarray, site_of: np.ndarray, cost_of: np.ndarray) -> tuple[float, int, list[tuple[int, int]]] | None:
    """(change in cost, k, moves) for closing j and opening k, or None if j's clients cannot all move."""
    demand = problem.demand
    room = {k: cap[k]}
    moves: list[tuple[int, int]] = []
    delta = 0.0
    # Clients of other sites that would rather walk to k, best saving first.
    arcs_k = by_site[s_start[k]:s_start[k + 1]]
    gains: list[tuple[float, int, int]] = []
    for a in arcs_k.tolist():
        i = int(problem.arc_client[a])
        if site_of[i] != j and total[a] < cost_of[i]:
            gains.append((total[a] - cost_of[i], i, a))
    # j's clients first (they must move), biggest first.
    extra_load: dict[int, float] = {}
    for i in members[np.argsort(-demand[members], kind="stable")].tolist():
        placed = False
        for a in by_client[c_start[i]:c_start[i + 1]].tolist():
            s = int(problem.arc_site[a])
            if s == j or not (is_open[s] or s == k):
                continue
            free = (room[k] if s == k else cap[s] - load[s]) - extra_load.get(s, 0.0)
            if demand[i] <= free + 1e-9:
                extra_load[s] = extra_load.get(s, 0.0) + demand[i]
                moves.append((i, a))
                delta += total[a] - cost_of[i]
                placed = True
                break
        if not placed:
            return None
    gains.sort()
    for g, i, a in gains:
        if room[k] - extra_load.get(k, 0.0) >= demand[i] - 1e-9:
            extra_load[k] = extra_load.get(k, 0.0) + demand[i]
            moves.append((i, a))
            delta += g
    return delta, k, moves
