import numpy as np
import pytest

from sweep.optimize.naive import NaiveInput, NoSiteWithRoom, plan_naive


def _input(people, site_desks, site_lon=None, deadline=360):
    n = len(people)
    m = len(site_desks)
    return NaiveInput(
        building_lon=np.linspace(113.80, 113.82, n),
        building_lat=np.full(n, 34.52),
        building_people=np.array(people),
        building_grid=np.zeros(n, dtype=int),
        site_lon=np.array(site_lon if site_lon is not None else np.linspace(113.80, 113.82, m)),
        site_lat=np.full(m, 34.52),
        site_max_desks=np.array(site_desks),
        deadline_minutes=deadline,
        slot_minutes=30,
        desk_people_per_hour=200,
        people_per_desk=700,
    )


def test_buildings_go_to_the_nearest_site_with_room():
    plan = plan_naive(_input([100, 100, 100], [2, 2], site_lon=[113.80, 113.82]))
    assert plan.building_site.tolist() == [0, 0, 1] or plan.building_site.tolist() == [0, 1, 1]
    assert plan.expected.sum() == 300
    assert (plan.building_walk_m >= 0).all()


def test_capacity_spills_to_the_next_site_and_desks_cover_the_deadline():
    # One desk does 200/h * 6 h * 0.9 = 1,080 a day; 1,500 people cannot all go to a one-desk site.
    plan = plan_naive(_input([1500], [1, 10], site_lon=[113.80, 113.90]))
    assert plan.open_sites.tolist() == [1]
    assert plan.desks[0] * 1080 >= 1500


def test_slots_end_before_the_deadline():
    plan = plan_naive(_input([300] * 20, [8, 8]))
    assert ((plan.building_slot_start + plan.building_slot_minutes) <= 360).all()
    assert (plan.building_slot_minutes > 0).all()


def test_a_building_that_fits_nowhere_is_named():
    with pytest.raises(NoSiteWithRoom) as err:
        plan_naive(_input([50, 5000], [1]))
    assert err.value.building == 1 and err.value.people == 5000
