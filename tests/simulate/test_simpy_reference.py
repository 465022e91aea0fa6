"""The vectorised day against a plain SimPy model of the same small day."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.simulate.model import DayModel, SiteInput
from sweep.simulate.montecarlo import run_rows
from sweep.simulate.queues import serve
from sweep.simulate.staffing import closure_arrays
from tests.simulate.simpy_day import draw_people, simpy_day

DEADLINE = 120
# Short turns and breaks so that a small day meets several rotations and breaks.
BUSY_DAY = DayModel(
    no_show=0.03, late_share=0.3, late_mean_minutes=8, early_share=0.1, early_mean_minutes=10, walk_in_share=0.05,
    person_seconds=18, swab_cv=0.4, tube_seal_seconds=20, changeover_minutes=5, break_every_minutes=25, break_minutes=2,
    sampler_shift_minutes=40,
)


def small_site(desks: int = 2, shifts: tuple[tuple[int, int, int], ...] = ()) -> SiteInput:
    return SiteInput(
        code="S1", desks=desks, slot_start=np.array([0, 30, 60, 60]), slot_minutes=np.array([30, 30, 30, 60]),
        people=np.array([150, 130, 110, 60]), sampler_shifts=shifts,
    )


def test_the_same_people_start_at_the_same_moments():
    """Fed the same arrivals and swab times, both models start every person at the same moment."""
    model = DayModel(**{**BUSY_DAY.__dict__, "tube_seal_seconds": 0.0})
    site = small_site(desks=3)
    rng = np.random.default_rng(11)
    for _ in range(5):
        arrivals, swabs = draw_people(site, model, deadline=DEADLINE, pool_size=10, rng=rng)
        _a, start, end = simpy_day(site, model, deadline=DEADLINE, pool_size=10, arrivals=arrivals, swabs=swabs)
        c_start, c_end = closure_arrays([site], model, DEADLINE)
        served = serve(np.array(arrivals), np.array(swabs), np.array([len(arrivals)]), c_start, c_end)
        assert served.start == pytest.approx(start, abs=1e-9)
        assert served.finish == pytest.approx(end, abs=1e-9)


def test_a_desk_without_a_sampler_never_opens_in_either_model():
    model = DayModel(**{**BUSY_DAY.__dict__, "tube_seal_seconds": 0.0})
    # Desk 2 has a sampler for the first hour only, desk 3 none at all.
    site = small_site(desks=3, shifts=((1, 0, 60), (1, 60, 120), (2, 0, 60)))
    arrivals, swabs = draw_people(site, model, deadline=DEADLINE, pool_size=10, rng=np.random.default_rng(5))
    _a, start, _end = simpy_day(site, model, deadline=DEADLINE, pool_size=10, arrivals=arrivals, swabs=swabs)
    c_start, c_end = closure_arrays([site], model, DEADLINE)
    served = serve(np.array(arrivals), np.array(swabs), np.array([len(arrivals)]), c_start, c_end)
    assert served.start == pytest.approx(start, abs=1e-9)
    assert set(np.unique(served.desk)) == {0, 1}
    assert not np.any((served.desk == 1) & (served.start >= 60))


def _summary(finish: np.ndarray, wait: np.ndarray) -> tuple[float, float, float, float]:
    n = len(finish)
    return finish.mean(), finish.std(ddof=1) / np.sqrt(n), wait.mean(), wait.std(ddof=1) / np.sqrt(n)


def test_finish_times_and_waits_agree_with_simpy_within_sampling_noise():
    site = small_site(desks=2)
    runs = 200
    rows = run_rows([site], np.zeros(runs, dtype=np.int64), model=BUSY_DAY, deadline_minutes=DEADLINE, pool_size=10,
                    rng=np.random.default_rng(21))
    row = np.repeat(np.arange(runs), rows.arrivals.counts)
    waits = np.bincount(row, weights=rows.served.start - rows.arrivals.time) / rows.arrivals.counts
    ours = _summary(rows.finish, waits)

    rng = np.random.default_rng(22)
    finish, wait = np.empty(runs), np.empty(runs)
    for r in range(runs):
        arrive, start, end = simpy_day(site, BUSY_DAY, deadline=DEADLINE, pool_size=10, rng=rng)
        finish[r], wait[r] = end.max(), (start - arrive).mean()
    theirs = _summary(finish, wait)

    # The day is busy enough to matter: people wait, and the last swab comes after the last slot.
    assert ours[2] > 0.5 and ours[0] > 120
    assert abs(ours[0] - theirs[0]) < 4 * np.hypot(ours[1], theirs[1])
    assert abs(ours[2] - theirs[2]) < 4 * np.hypot(ours[3], theirs[3])
    # The spread of the finish time agrees too, not only its mean.
    assert 0.75 < rows.finish.std() / finish.std() < 1.33
