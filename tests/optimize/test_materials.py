"""Materials per site and the day's timeline."""

from __future__ import annotations

import math

from sweep.optimize.materials import SiteNeeds, courier_every, materials, timeline, tubes_needed

NEEDS = SiteNeeds(people=2000, key_people=40, home_people=12, desks=4, staff_shifts=30, medical_staff=9, general_staff=12)


def test_tubes_pool_ten_single_key_groups_and_a_spare():
    # (2000 - 40 + 12) pooled by ten, plus 40 single tubes, plus a tenth.
    assert tubes_needed(2000, 40, 12, 10, 0.10) == math.ceil((math.ceil(1972 / 10) + 40) * 1.1)


def test_everything_is_due_two_hours_before():
    lines = materials(NEEDS, pool_size=10, box_size=50, spare=0.1, ready_before_minutes=120)
    assert {line.due_minute for line in lines} == {-120}
    q = {line.item: line.quantity for line in lines}
    assert q["拭子 swabs"] == math.ceil(2012 * 1.1)
    assert q["转运箱 boxes"] == math.ceil(q["采样管 tubes"] / 50) + 1


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
