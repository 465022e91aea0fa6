"""Large-neighbourhood search for the capacitated placement: the MIP on a few sites at a time.

The whole MIP is slow mainly because it must choose among all sites; restricted to the open
sites and a few more, HiGHS solves it in a fraction of a second, and the best placement
among those sites is a move that swaps, shifts and reassigns at once. The few more come in
turn from three sources: for each open site one its clients could walk to instead (drawn
from the few they find cheapest), several such alternatives around a few open sites, and
sites a relaxation likes. Each improvement recentres the neighbourhood; a run of failures
ends the search so the rest of the time goes to the whole model.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sweep.optimize import exact

if TYPE_CHECKING:
    from sweep.optimize.placement import PlacementProblem

NEAR = 6  # a replacement is drawn from this many sites the clients find cheapest
ROUND_SECONDS = 1.5
MAX_ROUNDS = 200
MAX_FAILURES = 40
DEEP = 3  # open sites given several alternatives at once, and how many each
KICKS = 30  # perturbations in the deterministic search
MOVE_NODES = 2_000  # branch-and-bound nodes a move's MIP may spend


def alternatives(problem: PlacementProblem, client_arc: np.ndarray, near: int = NEAR) -> dict[int, np.ndarray]:
    """For each open site, the closed sites its clients would find cheapest to go to together."""
    total = problem.arc_total_cost()
    site_of = problem.arc_site[client_arc]
    is_open = np.zeros(problem.n_sites, dtype=bool)
    is_open[site_of] = True
    is_open |= problem.fixed_mask()
    served_by = site_of[problem.arc_client]  # the open site of each arc's client
    out = {}
    for j in np.unique(site_of).tolist():
        members = np.count_nonzero(site_of == j)
        arcs = np.flatnonzero(served_by == j)
        reach = np.bincount(problem.arc_site[arcs], minlength=problem.n_sites)
        cost = np.bincount(problem.arc_site[arcs], weights=total[arcs], minlength=problem.n_sites)
        # Sites some of the clients cannot reach rank after those all of them can.
        score = cost + (members - reach) * (float(total.max()) + 1.0) * members
        score[is_open | (reach == 0)] = np.inf
        order = np.argsort(score, kind="stable")[:near]
        out[j] = order[np.isfinite(score[order])]
    return out


def restricted(problem: PlacementProblem, keep: np.ndarray, start: np.ndarray | None, deadline: float,
               node_limit: int | None = None) -> np.ndarray | None:
    """The MIP over the kept sites only, started from ``start`` if given; client arcs of the whole problem, or None."""
    idx = np.flatnonzero(keep[problem.arc_site])
    sub = dataclasses.replace(problem, arc_client=problem.arc_client[idx], arc_site=problem.arc_site[idx],
                              arc_cost=problem.arc_cost[idx])
    pos = np.full(problem.n_arcs, -1)
    pos[idx] = np.arange(len(idx))
    begin = None if start is None else pos[start]
    if begin is not None and (begin < 0).any():
        return None
    result = exact.solve_mip(sub, deadline=deadline, start=begin, node_limit=node_limit)
    if result.client_arc is None:
        return None
    whole: np.ndarray = idx[result.client_arc]
    return whole


def search(problem: PlacementProblem, client_arc: np.ndarray, *, deadline: float, cost_of: Callable[[np.ndarray], float],
           good_enough: float = -np.inf, favoured: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Improve ``client_arc`` by restricted MIPs until ``deadline``, ``good_enough`` or a run of failures.

    ``favoured``: sites best first by some relaxation, a third source of candidates besides each open site's
    alternatives and a deeper move around a few open sites.
    """
    rng = np.random.default_rng(seed)
    best, best_cost = client_arc, cost_of(client_arc)
    fixed = problem.fixed_mask()
    near = alternatives(problem, best)
    failures = 0
    for r in range(MAX_ROUNDS):
        now = time.perf_counter()
        if now > deadline - 0.6 or failures >= MAX_FAILURES or best_cost <= good_enough + 1e-6:
            break
        keep = fixed.copy()
        keep[problem.arc_site[best]] = True
        mode = r % 3 if favoured is not None else r % 2
        if mode == 2 and favoured is not None:
            # Sites the relaxation likes but the incumbent left closed.
            liked = favoured[~keep[favoured]][:3 * NEAR]
            keep[rng.choice(liked, size=min(NEAR, len(liked)), replace=False)] = True
        elif mode == 0:
            for choices in near.values():
                if len(choices):
                    keep[rng.choice(choices)] = True
        else:
            # A deeper move in one corner: a few open sites, each with several of its alternatives.
            opened = list(near)
            for j in rng.choice(opened, size=min(DEEP, len(opened)), replace=False).tolist():
                choices = near[j]
                keep[rng.choice(choices, size=min(DEEP, len(choices)), replace=False)] = True
        trial = restricted(problem, keep, best, min(now + ROUND_SECONDS, deadline))
        if trial is not None and cost_of(trial) < best_cost - 1e-6:
            best, best_cost, failures = trial, cost_of(trial), 0
            near = alternatives(problem, best)
        else:
            failures += 1
    return best


def descend(problem: PlacementProblem, client_arc: np.ndarray, *, deadline: float, cost_of,  # type: ignore[no-untyped-def]
            good_enough: float = -np.inf, seed: int = 0, kicks: int = KICKS) -> np.ndarray:
    """The same search run after run: exact moves until none pays, then seeded kicks, each followed by descent.

    A move is the MIP over the open sites and one open site's alternatives (each site in turn), so it
    relocates a median and reassigns everyone at once, exactly; its branch-and-bound stops by a node
    count, not the clock. A kick swaps two open sites for alternatives drawn by ``seed`` and reassigns
    exactly; the search walks on from the result when it costs no more than where it stands.
    """
    rng = np.random.default_rng(seed)
    best_cost = cost_of(client_arc)

    def done() -> bool:
        return time.perf_counter() > deadline - 0.3 or best_cost <= good_enough + 1e-6

    def local(arcs: np.ndarray) -> np.ndarray:
        here, here_cost = arcs, cost_of(arcs)
        improved = True
        while improved and not done():
            improved = False
            near = alternatives(problem, here)
            for j in sorted(near):
                if done():
                    break
                keep = problem.fixed_mask().copy()
                keep[problem.arc_site[here]] = True
                keep[near[j]] = True
                trial = restricted(problem, keep, here, deadline, node_limit=MOVE_NODES)
                if trial is not None and cost_of(trial) < here_cost - 1e-6:
                    here, here_cost, improved = trial, cost_of(trial), True
                    break
        return here

    best = local(client_arc)
    best_cost = cost_of(best)
    current, current_cost = best, best_cost
    for _ in range(kicks):
        if done():
            break
        near = alternatives(problem, current)
        movable = [j for j in sorted(near) if len(near[j]) and not problem.fixed_mask()[j]]
        if not movable:
            break
        keep = problem.fixed_mask().copy()
        keep[problem.arc_site[current]] = True
        for j in rng.choice(movable, size=min(2, len(movable)), replace=False).tolist():
            keep[j] = False
            keep[rng.choice(near[j])] = True
        kicked = restricted(problem, keep, None, deadline, node_limit=MOVE_NODES)
        if kicked is None or not np.isfinite(cost_of(kicked)):
            continue
        trial = local(kicked)
        c = cost_of(trial)
        if c < best_cost - 1e-6:
            best, best_cost = trial, c
        if c <= current_cost + 1e-6 or c < best_cost + 1e-6:
            current, current_cost = trial, c
    return best
