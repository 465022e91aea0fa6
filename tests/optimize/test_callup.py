"""The call-up: every building a slot before the end, arrivals per slot within capacity, key groups first."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.optimize.callup import CallupInput, CallupOverflow, schedule


def _input(people, key=None, home=None, desks=(2,), site=None, window=330, grid=None):
    n = len(people)
    rng = np.random.default_rng(1)
    return CallupInput(
        building_people=np.array(people), building_key=np.array(key or [0] * n), building_home=np.array(home or [0] * n),
        building_x=rng.uniform(-500, 500, n), building_y=rng.uniform(-500, 500, n),
        building_grid=np.array(grid or [k % 3 for k in range(n)]), building_site=np.array(site or [0] * n),
        site_x=np.zeros(len(desks)), site_y=np.zeros(len(desks)), site_desks=np.array(desks),
        window_minutes=window, slot_minutes=30, service_minutes=0.3,
    )


def test_every_building_has_a_slot_ending_before_the_window_closes():
    data = _input([120, 80, 400, 60, 900, 30, 250], desks=(3,))
    c = schedule(data)
    assert ((c.slot_start + c.slot_minutes) <= 330).all() and (c.slot_minutes >= 30).all()
    assert (c.slot_start % 30 == 0).all()


def test_arrivals_per_slot_stay_within_the_desks_pace():
    people = [300, 250, 1200, 90, 40, 600, 410, 75]
    data = _input(people, desks=(4,))
    c = schedule(data)
    per_slot = 4 * 30 / 0.3
    assert (c.arrivals[0] <= per_slot + 1e-6).all()
    assert c.arrivals[0].sum() == pytest.approx(sum(people))


def test_a_building_bigger_than_a_slot_spans_several():
    c = schedule(_input([1000], desks=(2,)))
    assert c.slot_minutes[0] >= 30 * 5  # 200 people a slot at two desks


def test_key_groups_come_first_and_the_rest_after():
    c = schedule(_input([100, 100], key=[30, 10], desks=(2,)))
    assert c.key_slot_minutes[0] == 30
    assert c.arrivals[0][0] >= 40


def test_too_many_people_overflow_by_site():
    with pytest.raises(CallupOverflow) as err:
        schedule(_input([3000, 2000], desks=(1,), window=330))
    assert err.value.site == 0 and err.value.people_left > 0


def test_home_visits_start_at_the_opening_and_end_in_time():
    c = schedule(_input([50, 0, 40], home=[2, 3, 0], desks=(1,)))
    assert c.home_visit_minute[2] == -1 and c.home_team[2] == -1
    assert c.home_visit_minute[:2].min() >= 0 and c.home_visit_minute[:2].max() < 330
    assert c.home_teams[0] == 1


def test_neighbours_go_together_grid_by_grid():
    grid = [0, 1, 0, 1, 0, 1]
    c = schedule(_input([150] * 6, desks=(1,), grid=grid))
    starts = {g: sorted(c.slot_start[np.array(grid) == g].tolist()) for g in (0, 1)}
    # One grid's buildings all come before the other's.
    assert max(starts[0]) <= min(starts[1]) or max(starts[1]) <= min(starts[0])
