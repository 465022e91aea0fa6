"""Site placement against brute force on small instances, one constraint at a time."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from sweep.optimize import neighbourhood
from sweep.optimize.placement import PlacementInfeasible, PlacementProblem, feasible, solution_cost, solve


def _dense(cost: np.ndarray, demand: np.ndarray, **kw) -> PlacementProblem:
    _n, m = cost.shape
    ok = np.isfinite(cost)
    client, site = np.nonzero(ok)
    return PlacementProblem(demand=demand.astype(float), n_sites=m, arc_client=client, arc_site=site,
                            arc_cost=cost[client, site].astype(float), **kw)


def _brute(cost: np.ndarray, demand: np.ndarray, *, p: int | None = None, capacity=None, fixed=(), extra=None,
           desk=None, max_desks=None) -> float:
    """Every assignment of clients to sites, checked against every rule: the true optimum."""
    n, m = cost.shape
    best = math.inf
    for choice in itertools.product(range(m), repeat=n):
        c = [cost[i, j] for i, j in enumerate(choice)]
        if not all(np.isfinite(c)):
            continue
        load = np.bincount(choice, weights=demand, minlength=m)
        opened = set(choice) | set(fixed)
        if capacity is not None and (load > capacity + 1e-9).any():
            continue
        if p is not None and extra is None and len(opened) > p:
            continue
        if desk is not None:
            desks = sum(max(1, math.ceil(load[j] / desk - 1e-9)) for j in opened)
            if desks > max_desks:
                continue
        total = float(np.dot(demand, c))
        if p is not None and extra is not None:
            total += extra * max(0, len(opened) - p)
        best = min(best, total)
    return best


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def _instance(rng, n=6, m=4):
    xy, sxy = rng.uniform(0, 1000, (n, 2)), rng.uniform(0, 1000, (m, 2))
    cost = np.round(np.hypot(xy[:, None, 0] - sxy[None, :, 0], xy[:, None, 1] - sxy[None, :, 1]))
    return cost, rng.integers(1, 20, n).astype(float)


@pytest.mark.parametrize("seed", range(5))
def test_p_median_equals_brute_force(seed):
    cost, demand = _instance(np.random.default_rng(seed))
    result = solve(_dense(cost, demand, max_sites=2), time_limit=5)
    assert result.objective == pytest.approx(_brute(cost, demand, p=2))
    assert len(result.open_sites) <= 2
    assert result.bound <= result.objective + 1e-6 and result.status == "optimal"


@pytest.mark.parametrize("seed", range(5))
def test_capacity_is_kept_and_optimal(seed):
    cost, demand = _instance(np.random.default_rng(100 + seed))
    cap = np.full(4, demand.sum() / 2.5)
    problem = _dense(cost, demand, capacity=cap, max_sites=3)
    result = solve(problem, time_limit=5)
    load = np.bincount(result.client_site, weights=demand, minlength=4)
    assert (load <= cap + 1e-9).all()
    assert result.objective == pytest.approx(_brute(cost, demand, p=3, capacity=cap))
    assert feasible(problem, result.client_arc)


def test_walking_limit_removes_arcs(rng):
    cost, demand = _instance(rng)
    limited = np.where(cost <= 600, cost, np.inf)
    if (~np.isfinite(limited)).all(axis=1).any():
        limited[np.arange(6), np.argmin(cost, axis=1)] = cost[np.arange(6), np.argmin(cost, axis=1)]
    result = solve(_dense(limited, demand, max_sites=2), time_limit=5)
    assert np.isfinite(limited[np.arange(6), result.client_site]).all()
    assert result.objective == pytest.approx(_brute(limited, demand, p=2))


def test_fixed_sites_stay_open_even_when_useless():
    cost = np.array([[10.0, 900.0, 50.0], [12.0, 900.0, 60.0], [11.0, 900.0, 40.0]])
    demand = np.ones(3)
    result = solve(_dense(cost, demand, fixed=np.array([False, True, False]), max_sites=2), time_limit=5)
    assert 1 in result.open_sites.tolist()
    assert result.objective == pytest.approx(_brute(cost, demand, p=2, fixed=(1,)))


def test_soft_site_cap_opens_one_more_only_when_it_pays():
    cost = np.array([[0.0, 1000.0], [1000.0, 0.0]])
    cheap = solve(_dense(cost, np.array([5.0, 5.0]), max_sites=1, extra_site_cost=1000.0), time_limit=5)
    dear = solve(_dense(cost, np.array([5.0, 5.0]), max_sites=1, extra_site_cost=1e6), time_limit=5)
    assert len(cheap.open_sites) == 2 and cheap.objective == pytest.approx(1000.0)
    assert len(dear.open_sites) == 1 and dear.objective == pytest.approx(5000.0)


@pytest.mark.parametrize("seed", range(3))
def test_desk_total_is_kept(seed):
    cost, demand = _instance(np.random.default_rng(200 + seed), n=5, m=3)
    desk = float(demand.max())
    cap = np.full(3, 3 * desk)
    need = math.ceil(demand.sum() / desk)
    problem = _dense(cost, demand, capacity=cap, desk_capacity=desk, max_desks_total=need + 1)
    result = solve(problem, time_limit=5)
    assert feasible(problem, result.client_arc)
    assert result.objective == pytest.approx(_brute(cost, demand, capacity=cap, desk=desk, max_desks=need + 1))


def test_infeasible_cases_name_their_reason():
    cost = np.array([[1.0, np.inf], [np.inf, np.inf]])
    with pytest.raises(PlacementInfeasible) as err:
        solve(_dense(cost, np.ones(2)), time_limit=2)
    assert err.value.kind == "unreachable" and err.value.clients == [1]
    full = np.ones((3, 2))
    with pytest.raises(PlacementInfeasible) as err:
        solve(_dense(full, np.array([5.0, 5.0, 5.0]), capacity=np.array([6.0, 6.0])), time_limit=2)
    assert err.value.kind == "capacity" and err.value.need == pytest.approx(3.0)
    with pytest.raises(PlacementInfeasible) as err:
        solve(_dense(full, np.array([5.0, 5.0, 5.0]), capacity=np.array([10.0, 10.0]), max_sites=1), time_limit=2)
    assert err.value.kind == "max_sites" and err.value.need == 2
    with pytest.raises(PlacementInfeasible) as err:
        solve(_dense(full, np.array([5.0, 1.0, 1.0]), capacity=np.array([4.0, 4.0])), time_limit=2)
    assert err.value.kind == "client_too_big" and err.value.clients == [0]


def test_orlib_style_uncapacitated_instance_has_a_tight_bound():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 100, (40, 2))
    cost = np.floor(np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]))
    result = solve(_dense(cost, np.ones(40), max_sites=4, weight=np.ones(40)), time_limit=10)
    assert result.bound <= result.objective
    assert result.status == "optimal"
    # The best 4 of 40 by exhaustive search over the opened sets.
    best = min(cost[:, list(s)].min(axis=1).sum() for s in itertools.combinations(range(40), 4))
    assert result.objective == pytest.approx(best)


def test_big_capacitated_instance_takes_the_heuristic_with_a_bound():
    rng = np.random.default_rng(9)
    n, m = 400, 60
    xy, sxy = rng.uniform(0, 5000, (n, 2)), rng.uniform(0, 5000, (m, 2))
    d = np.hypot(xy[:, None, 0] - sxy[None, :, 0], xy[:, None, 1] - sxy[None, :, 1])
    cost = np.where(d <= 1500, d, np.inf)
    cost[np.arange(n), np.argmin(d, axis=1)] = d.min(axis=1)
    demand = rng.integers(10, 200, n).astype(float)
    problem = _dense(cost, demand, capacity=np.full(m, demand.sum() / 12), max_sites=20, extra_site_cost=1e6)
    result = solve(problem, time_limit=8, exact_max_arcs=100)
    assert "HiGHS" not in result.method and feasible(problem, result.client_arc)
    assert 0 < result.bound <= result.objective and result.gap < 0.05



@pytest.mark.parametrize("seed", range(3))
def test_neighbourhood_search_reaches_the_capacitated_optimum(seed):
    cost, demand = _instance(np.random.default_rng(300 + seed), n=7, m=5)
    cap = np.full(5, demand.sum() / 1.8)
    problem = _dense(cost, demand, capacity=cap, max_sites=2)
    best = _brute(cost, demand, p=2, capacity=cap)

    def cost_of(arcs):
        return solution_cost(problem, arcs) if feasible(problem, arcs) else math.inf

    everything = neighbourhood.restricted(problem, np.ones(5, dtype=bool), None, time.perf_counter() + 10)
    assert cost_of(everything) == pytest.approx(best)
    # Start from the worst pair of sites that can hold everyone, each pair assigned at its best.
    starts = []
    for pair in itertools.combinations(range(5), 2):
        keep = np.isin(np.arange(5), pair)
        arcs = neighbourhood.restricted(problem, keep, None, time.perf_counter() + 10)
        if arcs is not None and feasible(problem, arcs):
            assert set(problem.arc_site[arcs].tolist()) <= set(pair)
            starts.append(arcs)
    worst = max(starts, key=cost_of)
    found = neighbourhood.search(problem, worst, deadline=time.perf_counter() + 30, cost_of=cost_of, good_enough=best)
    assert feasible(problem, found) and cost_of(found) == pytest.approx(best)
