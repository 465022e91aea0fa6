"""Desks enough to finish on time: the check the planner runs on each site of its plan.

Each candidate desk count is simulated with the same random numbers (common random numbers), so
a difference between two counts is the desks' doing, not the dice's; the search is a bisection
between the planned desks and the most the site's space allows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sweep.errors import InvalidInput
from sweep.simulate.model import DayModel, SiteInput
from sweep.simulate.montecarlo import run_rows

DEFAULT_MODEL = DayModel()
# Without a stated limit, a site may grow by this many desks at most.
EXTRA_DESKS_WITHOUT_LIMIT = 20


def p_on_time_by_site(
    sites: Sequence[SiteInput],
    *,
    model: DayModel = DEFAULT_MODEL,
    deadline_minutes: int = 360,
    pool_size: int = 10,
    runs: int = 200,
    rng: np.random.Generator,
) -> np.ndarray:
    """For each site, the share of ``runs`` simulated days whose last swab is by the deadline."""
    if runs < 1:
        raise InvalidInput("runs", f"模拟次数至少为1 (runs must be at least 1), got {runs}")
    if not sites:
        return np.empty(0)
    row_site = np.repeat(np.arange(len(sites)), runs)
    rows = run_rows(sites, row_site, model=model, deadline_minutes=deadline_minutes, pool_size=pool_size, rng=rng)
    share: np.ndarray = (rows.finish <= deadline_minutes).reshape(len(sites), runs).mean(axis=1)
    return share


def desks_to_meet_deadline(
    site: SiteInput,
    *,
    model: DayModel = DEFAULT_MODEL,
    deadline_minutes: int = 360,
    pool_size: int = 10,
    p_target: float = 0.95,
    runs: int = 200,
    rng: np.random.Generator,
    max_desks: int | None = None,
) -> tuple[int, float]:
    """The fewest desks (never fewer than planned) with P(last swab by the deadline) >= ``p_target``.

    Returns ``(desks, p_on_time)``. When even the most desks allowed fall short, returns that
    most and its probability, so the caller can say what else must change.
    """
    if not 0.0 < p_target < 1.0:
        raise InvalidInput("p_target", f"目标概率应在0与1之间 (p_target must be between 0 and 1), got {p_target}")
    cap = max_desks or site.max_desks or site.desks + EXTRA_DESKS_WITHOUT_LIMIT
    cap = max(cap, site.desks)
    seed = int(rng.integers(2**63 - 1))
    known: dict[int, float] = {}

    def p(desks: int) -> float:
        if desks not in known:
            known[desks] = float(
                p_on_time_by_site(
                    [site.with_desks(desks)], model=model, deadline_minutes=deadline_minutes, pool_size=pool_size,
                    runs=runs, rng=np.random.default_rng(seed),
                )[0]
            )
        return known[desks]

    if p(site.desks) >= p_target or cap == site.desks:
        return site.desks, p(site.desks)
    if p(cap) < p_target:
        return cap, p(cap)
    low, high = site.desks, cap
    while high - low > 1:
        mid = (low + high) // 2
        if p(mid) >= p_target:
            high = mid
        else:
            low = mid
    return high, p(high)
