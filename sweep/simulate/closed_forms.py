"""Erlang C: the M/M/c queue in closed form, the yardstick the simulation is checked against.

Poisson arrivals at rate ``lam``, ``c`` desks each serving at rate ``mu`` (exponential times),
one shared first-come-first-served queue. Valid only while ``lam < c * mu``.
"""

from __future__ import annotations

from sweep.errors import InvalidInput


def _check(lam: float, mu: float, c: int) -> float:
    if c < 1 or lam <= 0 or mu <= 0:
        raise InvalidInput("c", "需要正的到达率、服务率和至少一个台 (need positive rates and at least one desk)")
    load = lam / mu
    if load >= c:
        raise InvalidInput("lam", f"到达率超过服务能力，队列无稳态 (arrivals exceed capacity: load {load:.3g} >= {c} desks)")
    return load


def erlang_c(lam: float, mu: float, c: int) -> float:
    """P(wait > 0): the chance an arrival finds every desk busy."""
    load = _check(lam, mu, c)
    # Erlang B by its stable recursion, then C from B; no factorials to overflow.
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return c * b / (c - load * (1.0 - b))


def mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in the queue before reaching a desk (same unit as 1/mu)."""
    return erlang_c(lam, mu, c) / (c * mu - lam)


def desks_for_wait(lam: float, mu: float, *, target_wait: float) -> int:
    """The fewest desks whose stationary mean wait is at most ``target_wait``."""
    c = max(1, int(lam / mu) + 1)
    while mean_wait(lam, mu, c) > target_wait:
        c += 1
    return c
