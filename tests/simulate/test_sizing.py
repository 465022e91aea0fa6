"""Desks enough to finish on time, for the planner to call on each site."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.errors import InvalidInput
from sweep.simulate.model import DayModel, SiteInput
from sweep.simulate.sizing import desks_to_meet_deadline, p_on_time_by_site

MODEL = DayModel()


def busy_site(desks: int, max_desks: int | None = 8) -> SiteInput:
    # 2,400 people called in six one-hour slots: two desks (2,400 a day at full pace) cannot keep up.
    return SiteInput(
        code="BUSY", desks=desks, slot_start=np.arange(6) * 50, slot_minutes=np.full(6, 50), people=np.full(6, 400),
        max_desks=max_desks,
    )


def test_desks_are_added_until_the_deadline_is_met_with_the_target_probability():
    desks, p = desks_to_meet_deadline(busy_site(2), model=MODEL, runs=60, rng=np.random.default_rng(5))
    assert desks > 2 and p >= 0.95
    # The same dice: one desk fewer falls short, and the answer's own desk count is kept as it is.
    assert desks_to_meet_deadline(busy_site(desks - 1), model=MODEL, runs=60, rng=np.random.default_rng(5)) == (desks, p)
    assert desks_to_meet_deadline(busy_site(desks), model=MODEL, runs=60, rng=np.random.default_rng(5)) == (desks, p)


def test_a_site_that_cannot_make_it_gets_its_most_desks_and_the_probability_it_reaches():
    desks, p = desks_to_meet_deadline(busy_site(1, max_desks=2), model=MODEL, runs=40, rng=np.random.default_rng(1))
    assert desks == 2 and p < 0.95


def test_probability_by_site_falls_with_load():
    sites = [busy_site(d) for d in (2, 4, 8)]
    p = p_on_time_by_site(sites, model=MODEL, runs=40, rng=np.random.default_rng(2))
    assert p[0] < 0.2 and p[2] == 1.0 and p[0] <= p[1] <= p[2]


def test_the_target_must_be_a_probability():
    with pytest.raises(InvalidInput) as exc:
        desks_to_meet_deadline(busy_site(2), p_target=1.0, rng=np.random.default_rng(1))
    assert exc.value.field == "p_target"
