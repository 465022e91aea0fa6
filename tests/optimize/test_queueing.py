"""Erlang C against its textbook values and its definition; desk sizing against its targets."""

from __future__ import annotations

import math

import pytest

from sweep.optimize.queueing import erlang_c, mean_wait, queue_quantile, queue_room, size_desks


def _erlang_c_by_definition(c: int, a: float) -> float:
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("c,a", [(1, 0.5), (2, 1.5), (5, 4.0), (10, 8.5), (30, 27.0)])
def test_erlang_c_matches_its_definition(c, a):
    assert erlang_c(c, a) == pytest.approx(_erlang_c_by_definition(c, a), rel=1e-12)


def test_single_server_is_mm1():
    lam, mu = 0.8, 1.0
    assert erlang_c(1, lam / mu) == pytest.approx(0.8)
    assert mean_wait(1, lam, mu) == pytest.approx(lam / (mu * (mu - lam)))  # Wq = ρ/(μ−λ)


def test_unstable_queue_waits_forever():
    assert erlang_c(2, 2.0) == 1.0 and mean_wait(2, 2.0, 1.0) == math.inf


def test_queue_quantile_is_the_smallest_k():
    c, lam, mu = 3, 2.7, 1.0
    k = queue_quantile(c, lam, mu, 0.95)
    pc, rho = erlang_c(c, lam / mu), lam / (c * mu)
    assert pc * rho**k <= 0.05 < pc * rho ** (k - 1)


def test_desks_meet_utilisation_wait_and_space():
    z = size_desks(people=3000, window_minutes=330, service_minutes=0.3, max_desks=10, area_m2=2000,
                   wait_target_minutes=10)
    assert z.fits and z.utilisation <= 0.9 and z.mean_wait_minutes <= 10 and z.queue_p95 <= z.queue_room
    fewer = z.desks - 1
    lam, mu = 3000 / 330, 1 / 0.3
    assert fewer < 1 or lam / (fewer * mu) > 0.9 or mean_wait(fewer, lam, mu) > 10


def test_a_tight_wait_target_adds_desks():
    loose = size_desks(people=2500, window_minutes=330, service_minutes=0.3, max_desks=12, area_m2=3000, wait_target_minutes=10)
    tight = size_desks(people=2500, window_minutes=330, service_minutes=0.3, max_desks=12, area_m2=3000, wait_target_minutes=0.05)
    assert tight.desks > loose.desks and tight.mean_wait_minutes <= 0.05


def test_too_little_space_is_named():
    z = size_desks(people=6000, window_minutes=330, service_minutes=0.3, max_desks=2, area_m2=300, wait_target_minutes=10)
    assert not z.fits and "space allows 2" in z.reason and z.desks == 2


def test_queue_room_at_one_metre_spacing():
    assert queue_room(1000, 4, 8) == int(0.5 * (1000 - 100))
