"""The cut radius model against exhaustive search, and the capacitated descent run twice."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from sweep.optimize import interchange, neighbourhood, radius
from sweep.optimize.placement import PlacementProblem, feasible, solution_cost, solve


def _problem(cost: np.ndarray, demand: np.ndarray, **kw) -> PlacementProblem:
    client, site = np.nonzero(np.isfinite(cost))
    return PlacementProblem(demand=demand.astype(float), n_sites=cost.shape[1], arc_client=client, arc_site=site,
                            arc_cost=cost[client, site].astype(float), **kw)


def _points(seed: int, n: int) -> np.ndarray:
    xy = np.random.default_rng(seed).uniform(0, 100, (n, 2))
    return np.floor(np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]))


def _best(cost: np.ndarray, demand: np.ndarray, p: int, fixed: tuple[int, ...] = ()) -> float:
    best = math.inf
    for sites in itertools.combinations(range(cost.shape[1]), p):
        if not set(fixed) <= set(sites):
            continue
        best = min(best, float(demand @ cost[:, list(sites)].min(axis=1)))
    return best


@pytest.mark.parametrize("seed", range(4))
def test_radius_model_proves_the_exhaustive_optimum_from_a_poor_start(seed):
    cost = _points(seed, 24)
    demand = np.random.default_rng(seed).integers(1, 5, 24).astype(float)
    problem = _problem(cost, demand, max_sites=3)
    # The poorest start: the first three sites, whatever they are.
    start = interchange._cheapest_arcs(problem, np.isin(np.arange(24), [0, 1, 2]))
    found = radius.solve(problem, start, deadline=time.perf_counter() + 20, integral=True)
    best = _best(cost, demand, 3)
    assert found.optimal
    assert solution_cost(problem, found.client_arc) == pytest.approx(best)
    assert found.bound == pytest.approx(best)


def test_radius_model_keeps_fixed_sites_and_missing_arcs():
    cost = _points(7, 20)
    cost[cost > 45] = np.inf  # beyond the walking limit: no arc
    np.fill_diagonal(cost, 0)
    fixed = np.zeros(20, dtype=bool)
    fixed[5] = True
    problem = _problem(cost, np.ones(20), max_sites=6, fixed=fixed)
    result = solve(problem, time_limit=20)
    finite = np.where(np.isfinite(cost), cost, 1e9)
    assert result.status == "optimal" and result.method.startswith("radius")
    assert 5 in result.open_sites.tolist() and len(result.open_sites) <= 6
    assert result.objective == pytest.approx(_best(finite, np.ones(20), 6, fixed=(5,)))
    assert np.isfinite(cost[np.arange(20), result.client_site]).all()


def test_capacitated_descent_gives_the_same_answer_twice():
    cost = _points(11, 30)
    demand = np.random.default_rng(11).integers(1, 10, 30).astype(float)
    problem = _problem(cost, demand, capacity=np.full(30, demand.sum() / 3.5), max_sites=4)

    def cost_of(arcs):
        return solution_cost(problem, arcs) if feasible(problem, arcs) else math.inf

    start = interchange.capacitated_start(problem)
    runs = [neighbourhood.descend(problem, start, deadline=time.perf_counter() + 60, cost_of=cost_of, seed=3,
                                 kicks=6)
            for _ in range(2)]
    assert feasible(problem, runs[0])
    assert np.array_equal(runs[0], runs[1])
    assert cost_of(runs[0]) <= cost_of(start)
