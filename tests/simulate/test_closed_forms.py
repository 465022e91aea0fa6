"""Stationary queues against Erlang C (the planner's own, ``sweep.optimize.queueing``): the M/M/c mean
wait and P(wait > 0) within 2%."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.optimize.queueing import erlang_c, mean_wait
from sweep.simulate.queues import serve
from sweep.simulate.staffing import NO_CLOSURE


def test_erlang_c_matches_textbook_values():
    # M/M/1: P(wait) is the utilisation and Wq = rho / (mu - lam).
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert mean_wait(1, 0.7, 1.0) == pytest.approx(0.7 / 0.3)
    # Two desks at load 1 (rho 0.5): C = 1/3 (from a^2/2 * 2 over the Erlang sum 1 + 1 + 1).
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # Ten people a minute at a minute each: 13 desks wait 0.06 min on average, 14 under 0.05.
    assert next(c for c in range(11, 20) if mean_wait(c, 10.0, 1.0) <= 0.05) == 14
    # Past capacity there is no stationary queue: every arrival waits, for ever on average.
    assert erlang_c(3, 3.0) == 1.0 and mean_wait(3, 3.0, 1.0) == float("inf")


@pytest.mark.parametrize(("desks", "rho"), [(1, 0.7), (2, 0.7), (4, 0.6)])
def test_long_stationary_runs_agree_with_erlang_c(desks, rho):
    """420 independent queues of 12,000 Poisson arrivals each, the first tenth dropped as warm-up.

    Five million waits put the standard error of the mean wait near 0.5% (measured from the
    spread between queues), so 2% is four standard errors: a real error shows, noise does not.
    """
    rows, per = 420, 12_000
    mu, lam = 1.0, rho * desks
    rng = np.random.default_rng(desks)
    arrive = np.cumsum(rng.exponential(1 / lam, (rows, per)), axis=1).ravel()
    swab = rng.exponential(1 / mu, rows * per)
    never = np.full((rows, desks, 1), NO_CLOSURE)
    served = serve(arrive, swab, np.full(rows, per), never, never + 1)
    wait = (served.start - arrive).reshape(rows, per)[:, per // 10 :]

    assert wait.mean() == pytest.approx(mean_wait(desks, lam, mu), rel=0.02)
    assert (wait > 0).mean() == pytest.approx(erlang_c(desks, lam / mu), rel=0.02)
    # Nobody is served before arriving, and a desk serves one person at a time.
    assert np.all(served.start >= arrive)
    assert served.desk_count.sum() == rows * per
