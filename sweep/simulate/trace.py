"""One simulated day, person by person: who came when, at which desk, into which tube, box and lab run.

The same arrivals, queues and chain of custody as the Monte Carlo (``draw_arrivals``, ``serve``,
``follow_tubes``), drawn once with identities kept, so that a day can be played out against a
real database (the demo) with the model the plan was checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sweep.simulate.chain import follow_tubes
from sweep.simulate.model import DayInput, DayModel
from sweep.simulate.montecarlo import run_rows


@dataclass(frozen=True, eq=False)
class SiteTrace:
    """One site's day. People in the order they were swabbed; tubes and boxes numbered within the site."""

    who: np.ndarray  # per person swabbed: index among the site's called people (call-up order); -1 a walk-in
    swabbed: np.ndarray  # per person: minute the swab ended
    desk: np.ndarray  # per person: desk, from 1
    tube: np.ndarray  # per person: tube, from 0
    no_shows: int
    tube_opened: np.ndarray  # per tube: its first swab
    tube_sealed: np.ndarray  # per tube
    tube_full: np.ndarray  # per tube: sealed because it reached the pool size (not by hand at the desk's end)
    tube_box: np.ndarray  # per tube: box, from 0
    tube_result: np.ndarray  # per tube: when the lab reports
    box_left: np.ndarray  # per box: handed to the courier
    box_at_lab: np.ndarray  # per box: signed for by the lab


def trace_day(day: DayInput, *, model: DayModel, rng: np.random.Generator) -> list[SiteTrace]:
    """Every site of the plan through one simulated day."""
    n_sites = len(day.sites)
    row_site = np.arange(n_sites)
    rows = run_rows(day.sites, row_site, model=model, deadline_minutes=day.deadline_minutes, pool_size=day.pool_size, rng=rng,
                    identify=True)
    chain = follow_tubes(rows.served, rows.arrivals.counts, rows_per_run=n_sites, pool_size=day.pool_size, box_size=day.box_size,
                         model=model, rng=rng)
    who = rows.arrivals.who
    assert who is not None
    counts = rows.arrivals.counts
    bounds = np.r_[0, np.cumsum(counts)]
    tube_counts = np.bincount(chain.tube_of, minlength=len(chain.row)) if len(chain.row) else np.zeros(0, np.int64)
    out: list[SiteTrace] = []
    for s in range(n_sites):
        a, b = bounds[s], bounds[s + 1]
        by_time = a + np.argsort(rows.served.finish[a:b], kind="stable")
        tubes = np.flatnonzero(chain.row == s)
        local = np.full(len(chain.row), -1, dtype=np.int64)
        local[tubes] = np.arange(len(tubes))
        boxes, box_local = np.unique(chain.box_of[tubes], return_inverse=True)
        box_left = np.full(len(boxes), np.nan)
        box_at_lab = np.full(len(boxes), np.nan)
        box_left[box_local] = chain.depart[tubes]
        box_at_lab[box_local] = chain.at_lab[tubes]
        out.append(SiteTrace(
            who=who[by_time],
            swabbed=rows.served.finish[by_time],
            desk=rows.served.desk[by_time].astype(np.int64) + 1,
            tube=local[chain.tube_of[by_time]],
            no_shows=int(rows.arrivals.no_shows[s]),
            tube_opened=chain.first_swab[tubes],
            tube_sealed=chain.sealed[tubes],
            tube_full=tube_counts[tubes] >= day.pool_size,
            tube_box=box_local.astype(np.int64),
            tube_result=chain.result[tubes],
            box_left=box_left,
            box_at_lab=box_at_lab,
        ))
    return out
