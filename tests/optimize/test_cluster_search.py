"""The capacitated group search against brute force, its capacities, and its sameness run after run."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from sweep.optimize import cluster_search
from sweep.optimize.assign import assign_within_capacity
from sweep.optimize.placement import PlacementProblem, feasible, solution_cost


def _problem(seed: int, n: int = 8, m: int = 8, p: int = 3) -> PlacementProblem:
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 100, (n, 2)).astype(float)
    cost = np.floor(np.hypot(xy[:, None, 0] - xy[None, :m, 0], xy[:, None, 1] - xy[None, :m, 1]))
    demand = rng.integers(1, 20, n).astype(float)
    client, site = np.divmod(np.arange(n * m), m)
    return PlacementProblem(demand=demand, n_sites=m, arc_client=client, arc_site=site, arc_cost=cost.reshape(-1),
                            capacity=np.full(m, math.ceil(demand.sum() / (p - 0.6))), max_sites=p, weight=np.ones(n))


def _brute(problem: PlacementProblem) -> float:
    cost = cluster_search.dense_cost(problem)
    best = math.inf
    for choice in itertools.product(range(problem.n_sites), repeat=problem.n_clients):
        groups = np.array(choice)
        load = np.bincount(groups, weights=problem.demand, minlength=problem.n_sites)
        if len(set(choice)) <= (problem.max_sites or 0) and (load <= np.asarray(problem.capacity) + 1e-9).all():
            best = min(best, float(cost[np.arange(problem.n_clients), groups].sum()))
    return best


def _worst_start(problem: PlacementProblem) -> np.ndarray:
    """The costliest set of p sites that can hold everyone, each client assigned within capacity."""
    starts = []
    for sites in itertools.combinations(range(problem.n_sites), problem.max_sites or 0):
        arcs = assign_within_capacity(problem, np.isin(np.arange(problem.n_sites), sites))
        if arcs is not None and feasible(problem, arcs):
            starts.append(arcs)
    return max(starts, key=lambda arcs: solution_cost(problem, arcs))


def test_only_hard_capacitated_problems_apply():
    problem = _problem(0)
    assert cluster_search.applies(problem)
    assert not cluster_search.applies(PlacementProblem(**{**problem.__dict__, "capacity": None}))
    assert not cluster_search.applies(PlacementProblem(**{**problem.__dict__, "extra_site_cost": 100.0}))
    assert not cluster_search.applies(PlacementProblem(**{**problem.__dict__, "fixed": np.eye(1, 8, 0, dtype=bool)[0]}))


@pytest.mark.parametrize("seed", range(3))
def test_search_from_the_worst_start_reaches_the_brute_force_optimum(seed):
    problem = _problem(seed, n=7, m=7, p=2)
    best = _brute(problem)
    start = _worst_start(problem)
    assert solution_cost(problem, start) > best
    found = cluster_search.search(problem, [start], deadline=time.perf_counter() + 60)
    assert found is not None and feasible(problem, found)
    assert solution_cost(problem, found) == pytest.approx(best)


def test_same_answer_run_after_run_and_capacities_kept():
    problem = _problem(7, n=40, m=40, p=4)
    start = assign_within_capacity(problem, np.isin(np.arange(40), [0, 1, 2, 3]))
    assert start is not None
    first = cluster_search.search(problem, [start], deadline=time.perf_counter() + 60, kicks=30)
    again = cluster_search.search(problem, [start], deadline=time.perf_counter() + 60, kicks=30)
    assert first is not None and again is not None
    assert np.array_equal(first, again)
    load = np.bincount(problem.arc_site[first], weights=problem.demand, minlength=40)
    assert (load <= np.asarray(problem.capacity) + 1e-9).all()
    assert len(np.unique(problem.arc_site[first])) <= 4
    assert solution_cost(problem, first) < solution_cost(problem, start)
