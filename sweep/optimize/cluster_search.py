"""Iterated local search for the capacitated p-median with a hard number of medians.

HiGHS is slow on this problem's assignment part (its LP splits demand, and even the assignment
to ten fixed medians can take it a second), so good medians are found here without a solver:
a solution is a median per group and a group per client; moves act on clients (shift one to
another group with room, swap two, or a chain: one enters a group whose member leaves for a
third), then each group's median moves to the site its members reach most cheaply. A kick
moves one to three medians, to a site the group could use or to one far clients would gain
from, and the descent regroups around them. Capacities are kept at every step, so every
solution seen is feasible. A walk accepts a slightly worse solution (``SLACK``) to cross the
ridges between local optima; several short walks from each start find more optima than one
long one (pmedcap1: 19 of 20 against 17). Kicks are counted, not timed (the deadline only
guards), so a given seed gives the same answer on a quiet or a loaded machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sweep.optimize.placement import PlacementProblem

# Dense client × site matrices above this many cells are left to the other methods.
MAX_CELLS = 250_000
KICKS = 150  # per walk
WALKS = 2  # independent walks from each start, each with its own seed: several short walks beat one long one
CANDIDATES = 10  # a kicked median lands on one of this many sites
FAR_SHARE = 0.5  # share of kicks that land where far clients gain most, not near the group
MOST_MOVED = 3  # medians moved by one kick, at most
BIG = 1e12
SLACK = 0.003  # a walk moves on to a solution this share of the best cost worse than where it stands


@dataclass(frozen=True)
class Grouping:
    medians: np.ndarray  # (p,) site of each group
    group: np.ndarray  # (n,) group of each client
    cost: float


def applies(problem: PlacementProblem) -> bool:
    """Capacities, a hard number of medians, no fixed sites, no desk budget, and small enough to hold densely."""
    return (problem.capacity is not None and problem.max_sites is not None and problem.extra_site_cost is None
            and problem.max_desks_total is None and not problem.fixed_mask().any()
            and problem.n_clients * problem.n_sites <= MAX_CELLS)


def dense_cost(problem: PlacementProblem) -> np.ndarray:
    cost = np.full((problem.n_clients, problem.n_sites), BIG)
    cost[problem.arc_client, problem.arc_site] = problem.arc_total_cost()
    return cost


def to_arcs(problem: PlacementProblem, grouping: Grouping) -> np.ndarray | None:
    """Client arcs of a grouping, or None when a client has no arc to its median."""
    where = np.full((problem.n_clients, problem.n_sites), -1, dtype=np.int64)
    where[problem.arc_client, problem.arc_site] = np.arange(problem.n_arcs)
    arcs = where[np.arange(problem.n_clients), grouping.medians[grouping.group]]
    return None if (arcs < 0).any() else arcs


def from_arcs(problem: PlacementProblem, client_arc: np.ndarray, cost: np.ndarray) -> Grouping:
    medians, group = np.unique(problem.arc_site[client_arc], return_inverse=True)
    return Grouping(medians, group.astype(np.int64), _cost(cost, medians, group))


def _cost(cost: np.ndarray, medians: np.ndarray, group: np.ndarray) -> float:
    return float(cost[np.arange(len(group)), medians[group]].sum())


def _client_moves(cost: np.ndarray, demand: np.ndarray, cap: np.ndarray, medians: np.ndarray, group: np.ndarray) -> None:
    """Shift, swap and chain moves, each the best of its kind, until none pays; ``group`` changes in place."""
    n, p = len(demand), len(medians)
    everyone = np.arange(n)
    d = cost[:, medians]
    while True:
        room = cap[medians] - np.bincount(group, weights=demand, minlength=p)
        now = d[everyone, group]
        shift = d - now[:, None]
        shift[demand[:, None] > room[None, :] + 1e-9] = np.inf
        shift[everyone, group] = np.inf
        i, k = np.unravel_index(int(np.argmin(shift)), shift.shape)
        if shift[i, k] < -1e-9:
            # A paying shift is taken at once: the pair moves below cost a client × client matrix each.
            group[i] = k
            continue
        # at[i, l]: client i's cost in client l's group.
        at = d[:, group]
        own_room = room[group]
        more = demand[None, :] - demand[:, None]  # demand of l minus demand of i
        apart = group[:, None] != group[None, :]
        swap = at + at.T - now[:, None] - now[None, :]
        swap[~((own_room[None, :] + more >= -1e-9) & (own_room[:, None] - more >= -1e-9) & apart)] = np.inf
        a, b = np.unravel_index(int(np.argmin(swap)), swap.shape)
        # Chain: i enters l's group, l leaves for its best other group with room (not i's: that is a swap).
        exit_to = np.argmin(shift, axis=1)
        exit_gain = shift[everyone, exit_to]
        chain = at - now[:, None] + exit_gain[None, :]
        chain[~((own_room[None, :] + demand[None, :] - demand[:, None] >= -1e-9) & apart
                & (exit_to[None, :] != group[:, None]))] = np.inf
        ci, cl = np.unravel_index(int(np.argmin(chain)), chain.shape)
        best = min(swap[a, b], chain[ci, cl])
        if not best < -1e-9:
            return
        if swap[a, b] == best:
            group[a], group[b] = group[b], group[a]
        else:
            entered = group[cl]
            group[cl] = exit_to[cl]
            group[ci] = entered


def _descend(cost: np.ndarray, demand: np.ndarray, cap: np.ndarray, medians: np.ndarray, group: np.ndarray) -> None:
    """Client moves, then each median to its group's cheapest free site, until neither pays (in place)."""
    n, p = len(demand), len(medians)
    while True:
        _client_moves(cost, demand, cap, medians, group)
        member = np.zeros((p, n))
        member[group, np.arange(n)] = 1.0
        by_site = member @ cost  # (p, m): each group's cost at each site
        load = member @ demand
        moved = False
        for k in range(p):
            row = by_site[k].copy()
            taken = np.zeros(cost.shape[1], dtype=bool)
            taken[medians] = True
            taken[medians[k]] = False
            row[taken | (cap < load[k] - 1e-9)] = np.inf
            j = int(np.argmin(row))
            if row[j] < by_site[k, medians[k]] - 1e-9:
                medians[k] = j
                moved = True
        if not moved:
            return


def _kick(cost: np.ndarray, demand: np.ndarray, cap: np.ndarray, medians: np.ndarray, group: np.ndarray,
          rng: np.random.Generator) -> np.ndarray:
    medians = medians.copy()
    load = np.bincount(group, weights=demand, minlength=len(medians))
    for _ in range(int(rng.integers(1, MOST_MOVED + 1))):
        k = int(rng.integers(len(medians)))
        free = np.setdiff1d(np.arange(cost.shape[1]), medians)
        free = free[cap[free] >= load[k] - 1e-9]
        if len(free) == 0:
            continue
        if rng.random() < FAR_SHARE:
            now = cost[np.arange(len(group)), medians[group]]
            gain = np.maximum(now[:, None] - cost[:, free], 0.0).sum(axis=0)
            pick = free[np.argsort(-gain, kind="stable")[:CANDIDATES]]
        else:
            near = cost[group == k][:, free].sum(axis=0)
            pick = free[np.argsort(near, kind="stable")[:CANDIDATES]]
        medians[k] = rng.choice(pick)
    return medians


def search(problem: PlacementProblem, starts: list[np.ndarray], *, deadline: float, seed: int = 0,
           kicks: int = KICKS, good_enough: float = -np.inf) -> np.ndarray | None:
    """The cheapest client arcs found from feasible ``starts`` (client arcs), or None without a start."""
    cost = dense_cost(problem)
    demand = np.asarray(problem.demand, dtype=float)
    assert problem.capacity is not None  # what applies() checked
    cap = np.asarray(problem.capacity, dtype=float)
    best: Grouping | None = None
    for s, start in enumerate([start for _ in range(WALKS) for start in starts]):
        rng = np.random.default_rng(seed + s)
        here = from_arcs(problem, start, cost)
        medians, group = here.medians.copy(), here.group.copy()
        _descend(cost, demand, cap, medians, group)
        current = Grouping(medians, group, _cost(cost, medians, group))
        if best is None or current.cost < best.cost:
            best = current
        for _ in range(kicks):
            if time.perf_counter() > deadline or best.cost <= good_enough + 1e-6:
                break
            medians, group = _kick(cost, demand, cap, current.medians, current.group, rng), current.group.copy()
            _descend(cost, demand, cap, medians, group)
            trial = Grouping(medians, group, _cost(cost, medians, group))
            if trial.cost < best.cost - 1e-9:
                best = trial
            # A little worse moves on too: the walk crosses the ridges between local optima.
            if trial.cost <= current.cost + SLACK * best.cost:
                current = trial
    return None if best is None else to_arcs(problem, best)
