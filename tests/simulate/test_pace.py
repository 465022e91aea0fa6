"""The pace's likelihood from a simulated morning: sharp for a long line, one-sided for none."""

from __future__ import annotations

import numpy as np

from sweep.simulate.backtest import scans_so_far
from sweep.simulate.model import DayInput, DayModel, SiteInput
from sweep.simulate.montecarlo import run_rows
from sweep.simulate.pace import LOG_PACES, PaceVariation, scan_likelihood
from sweep.simulate.staffing import closure_arrays

MODEL = DayModel()
DAY = DayInput(
    sites=(
        SiteInput(code="long", desks=2, slot_start=np.arange(4) * 60, slot_minutes=np.full(4, 60), people=np.array([600, 300, 300, 300])),
        SiteInput(code="none", desks=2, slot_start=np.arange(4) * 60, slot_minutes=np.full(4, 60), people=np.array([250, 250, 250, 250])),
    )
)


def likelihood(pace: np.ndarray, seed: int, now: float = 90.0) -> np.ndarray:
    rows = run_rows(DAY.sites, np.arange(2), model=MODEL, deadline_minutes=360, pool_size=10, rng=np.random.default_rng(seed), pace=pace)
    swabs = np.split(rows.served.finish, np.cumsum(rows.arrivals.counts)[:-1])
    scans = scans_so_far(DAY.sites, swabs, now)
    c_start, c_end = closure_arrays(DAY.sites, MODEL, 360)
    done = np.array([s.sampled for s in scans])
    recent = np.array([s.between(now - 30, now) for s in scans])
    return scan_likelihood(DAY.sites, done, recent, now=now, since=now - 30, model=MODEL, c_start=c_start, c_end=c_end,
                           pool_size=10, rng=np.random.default_rng(seed + 1))


def test_a_long_line_pins_the_pace_and_no_line_only_bounds_it_below():
    for seed, slow in ((1, 0.8), (2, 0.9), (3, 0.75)):
        loglik = likelihood(np.array([slow, 1.2]), seed)
        # The long line: its likeliest pace is its real one, and paces a tenth away are unlikely.
        best = LOG_PACES[np.argmax(loglik[0])]
        assert abs(best - np.log(slow)) < 0.05
        assert loglik[0].max() - np.interp(np.log(slow) + 0.1, LOG_PACES, loglik[0]) > 4
        assert loglik[0].max() - np.interp(np.log(slow) - 0.1, LOG_PACES, loglik[0]) > 4
        # No line: every pace fast enough for its people is about as likely as any other (the
        # replicas' dice aside); one too slow for them is not.
        fast = loglik[1][LOG_PACES >= 0.0]
        assert fast.max() - fast.min() < 1.5
        assert fast.min() - np.interp(np.log(0.55), LOG_PACES, loglik[1]) > 3


def test_with_the_prior_the_long_line_is_sure_and_the_other_keeps_its_doubt():
    loglik = likelihood(np.array([0.8, 1.2]), 4)
    marginal = PaceVariation().posterior(loglik).marginal
    mean = marginal @ LOG_PACES
    sd = np.sqrt(marginal @ LOG_PACES**2 - mean**2)
    assert abs(mean[0] - np.log(0.8)) < 0.05 and sd[0] < 0.04
    assert sd[1] > 0.08
