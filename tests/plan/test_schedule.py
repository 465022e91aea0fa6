"""A site full at its most desks calls into the hour kept for late comers, says so, and goes no
further than the last slot; a site with room gets a desk instead."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from sweep.errors import InvalidInput
from sweep.plan.planning import _schedule
from tests.optimize.test_callup import _input

# One desk swabs 100 people a 30-minute slot (0.3 min each): 1,000 fit in 300 minutes, 1,100 in 330.
REG = SimpleNamespace(site_name=["一号点"])
SITE = np.array([0])


def test_a_full_site_calls_into_the_late_comers_hour_and_says_so():
    warnings: list[str] = []
    data = _input([600, 450], desks=(1,), window=300)
    desks = data.site_desks  # the planner's own array: a desk added here is the call-up's too
    calls = _schedule(data, desks, np.array([1]), REG, SITE, warnings, latest_window=330)
    assert (calls.slot_start + calls.slot_minutes).max() == 330
    assert desks.tolist() == [1]
    assert len(warnings) == 1 and "一号点" in warnings[0] and "330" in warnings[0]


def test_no_further_than_the_last_slot():
    with pytest.raises(InvalidInput) as err:
        data = _input([700, 500], desks=(1,), window=300)
        _schedule(data, data.site_desks, np.array([1]), REG, SITE, [], latest_window=330)
    assert err.value.field == "candidate_sites" and "一号点" in err.value.reason


def test_a_site_with_room_gets_a_desk_and_keeps_the_hour():
    warnings: list[str] = []
    data = _input([600, 450], desks=(1,), window=300)
    desks = data.site_desks
    calls = _schedule(data, desks, np.array([2]), REG, SITE, warnings, latest_window=330)
    assert desks.tolist() == [2]
    assert (calls.slot_start + calls.slot_minutes).max() <= 300
    assert warnings == ["一号点: +1 desk so every slot ends before the deadline"]


def test_only_the_full_site_calls_later():
    # Site 0 is full at one desk. Site 1 fits its 1,900 in 300 minutes only at its desks' full pace
    # (2,000), and would spread over a longer window at the planned 0.9 (1,980 in 330): it must not.
    data = replace(_input([600, 450, 1000, 900], desks=(1, 2), site=[0, 0, 1, 1], window=300), fill=0.9)
    warnings: list[str] = []
    calls = _schedule(data, data.site_desks, np.array([1, 2]), SimpleNamespace(site_name=["一号点", "二号点"]),
                      np.array([0, 1]), warnings, latest_window=330)
    ends = calls.slot_start + calls.slot_minutes
    assert ends[:2].max() == 330 and ends[2:].max() <= 300
    assert len(warnings) == 1 and "一号点" in warnings[0]
