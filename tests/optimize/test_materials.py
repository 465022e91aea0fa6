"""Materials per site and the day's timeline."""

from __future__ import annotations

import math

from sweep.optimize import materials as mat
from sweep.optimize.materials import SiteNeeds, courier_every, materials, timeline, tubes_by_kind, tubes_needed

NEEDS = SiteNeeds(people=2000, single_people=40, home_people=12, desks=4, staff_shifts=30, medical_staff=9, general_staff=12)


def test_tubes_by_kind_pool_ten_single_key_groups_home_apart_each_with_a_spare():
    # 1,960 pooled by ten at the site, 40 single tubes, 12 at home pooled by ten; each a tenth more.
    assert tubes_by_kind(NEEDS, pool_size=10, spare=0.10) == {
        mat.TUBES_POOLED: math.ceil(196 * 1.1), mat.TUBES_SINGLE: 44, mat.TUBES_HOME: math.ceil(2 * 1.1)}
    assert tubes_needed(NEEDS, pool_size=10, spare=0.10) == 216 + 44 + 3
    # Five to a tube doubles the pooled tubes; the single ones stay as they are.
    five = tubes_by_kind(NEEDS, pool_size=5, spare=0.0)
    assert (five[mat.TUBES_POOLED], five[mat.TUBES_SINGLE], five[mat.TUBES_HOME]) == (392, 40, 3)


def test_a_kind_the_site_does_not_use_is_not_stocked():
    plain = SiteNeeds(people=500, single_people=0, home_people=0, desks=2, staff_shifts=10, medical_staff=3, general_staff=5)
    items = {line.item for line in materials(plain, pool_size=10, box_size=50, spare=0.1, ready_before_minutes=120)}
    assert mat.TUBES_POOLED in items and mat.SWABS_AT_SITE in items
    assert not items & {mat.TUBES_SINGLE, mat.TUBES_HOME, mat.SWABS_AT_HOME}


def test_everything_is_due_two_hours_before():
    lines = materials(NEEDS, pool_size=10, box_size=50, spare=0.1, ready_before_minutes=120)
    assert {line.due_minute for line in lines} == {-120}
    q = {line.item: line.quantity for line in lines}
    assert (q[mat.SWABS_AT_SITE], q[mat.SWABS_AT_HOME]) == (math.ceil(2000 * 1.1), math.ceil(12 * 1.1))
    assert q["转运箱 boxes"] == math.ceil((q[mat.TUBES_POOLED] + q[mat.TUBES_SINGLE] + q[mat.TUBES_HOME]) / 50) + 1


def test_courier_runs_keep_every_sample_under_the_limit():
    every = courier_every(120)
    assert every + 15 <= 120
    events = timeline(NEEDS, window_minutes=360, ready_before_minutes=120, staff_ready_before_minutes=60,
                      rotation_minutes=120, sample_wait_limit_minutes=120, last_slot_end=330)
    runs = [e.minute for e in events if e.kind == "courier"]
    gaps = [b - a for a, b in zip([0, *runs], runs, strict=False)]
    assert max(gaps) <= 120 and runs[-1] > 360


def test_timeline_has_the_four_in_place():
    events = timeline(NEEDS, window_minutes=360, ready_before_minutes=120, staff_ready_before_minutes=60,
                      rotation_minutes=120, sample_wait_limit_minutes=120, last_slot_end=330)
    kinds = {e.kind for e in events}
    assert {"materials", "staff", "disinfection", "waste", "courier"} <= kinds
    assert [e.minute for e in events] == sorted(e.minute for e in events)
    staff = [e for e in events if e.kind == "staff"]
    assert all(e.minute == -60 for e in staff) and {e.quantity for e in staff} == {9, 12}


def test_a_key_group_pooled_five_to_a_tube_gets_tubes_of_its_own():
    # 50 members pooled 5混1 among 2,000: 10 small tubes, and 1,910 pooled by ten.
    needs = SiteNeeds(people=2000, single_people=40, home_people=0, desks=4, staff_shifts=30, medical_staff=9, general_staff=12,
                      group_pooled_people=50, group_pooled_tubes=50 / 5)
    tubes = tubes_by_kind(needs, pool_size=10, spare=0.0)
    assert tubes == {mat.TUBES_POOLED: 191, mat.TUBES_SINGLE: 40, mat.TUBES_GROUP: 10}
