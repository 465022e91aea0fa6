"""One simulated day kept person by person: everyone called comes at most once, tubes and boxes hold
what they may, and every step of the chain follows the one before."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.simulate.model import DayInput, DayModel, SiteInput
from sweep.simulate.montecarlo import simulate_day
from sweep.simulate.trace import trace_day


def _day() -> DayInput:
    sites = tuple(
        SiteInput(code=f"S{k}", desks=desks, slot_start=np.array([0, 30, 60, 90]), slot_minutes=np.array([30, 30, 30, 30]),
                  people=np.array([120, 90, 150, 60]) * (k + 1))
        for k, desks in enumerate((2, 3))
    )
    return DayInput(sites=sites, deadline_minutes=360, pool_size=10, box_size=5)


def test_everyone_called_comes_once_or_not_at_all():
    day = _day()
    model = DayModel(no_show=0.05, walk_in_share=0.03)
    for site, trace in zip(day.sites, trace_day(day, model=model, rng=np.random.default_rng(4)), strict=True):
        called = trace.who[trace.who >= 0]
        assert len(np.unique(called)) == len(called) and called.max() < site.called
        assert len(called) + trace.no_shows == site.called
        assert np.all(np.diff(trace.swabbed) >= 0)
        assert set(np.unique(trace.desk)) <= set(range(1, site.desks + 1))


def test_tubes_and_boxes_hold_what_they_may_and_each_step_follows_the_last():
    day = _day()
    for trace in trace_day(day, model=DayModel(), rng=np.random.default_rng(5)):
        per_tube = np.bincount(trace.tube)
        assert per_tube.max() == day.pool_size and per_tube.min() >= 1
        assert np.bincount(trace.tube_box).max() <= day.box_size
        last_swab = np.zeros(len(per_tube))
        np.maximum.at(last_swab, trace.tube, trace.swabbed)
        assert np.all(trace.tube_opened <= last_swab) and np.all(trace.tube_sealed >= last_swab)
        assert np.array_equal(trace.tube_full, per_tube == day.pool_size)
        left = trace.box_left[trace.tube_box]
        assert np.all(left >= trace.tube_sealed) and np.all(trace.box_at_lab[trace.tube_box] >= left)
        assert np.all(trace.tube_result > trace.box_at_lab[trace.tube_box])


def test_the_traced_day_is_the_monte_carlo_day():
    """Same seed, same draws: the traced finish is the Monte Carlo's one-run finish, site by site."""
    day = _day()
    model = DayModel()
    traces = trace_day(day, model=model, rng=np.random.default_rng(9))
    outcome = simulate_day(day, model=model, runs=1, rng=np.random.default_rng(9))
    for trace, site in zip(traces, outcome.sites, strict=True):
        # (The Monte Carlo sorts arrivals by a packed float key, exact to well under a millisecond.)
        assert trace.swabbed.max() == pytest.approx(site.finish.p50, abs=1e-6)
