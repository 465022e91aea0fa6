"""The day's walk-ins are different people: a big district's day draws them site by site, and the
same ID number drawn at two sites would be one person sampled twice, which the desk refuses."""

from __future__ import annotations

import numpy as np

from sweep.demo.visitors import visitors
from sweep.registry.idnumber import validate_id_number


def _day(rng: np.random.Generator, sites: int, each: int, taken: set[str] | None) -> list[str]:
    return [v["id_number"] for _ in range(sites) for v in visitors(rng, each, taken)]


def test_walk_ins_drawn_site_by_site_are_all_different_people():
    # 20,000 walk-ins at 400 sites: a million people's day. Drawn without the day's record, some
    # numbers come twice (this is what a million-person demo met); with it, none.
    alone = _day(np.random.default_rng(7), 400, 50, None)
    assert len(set(alone)) < len(alone)
    taken: set[str] = set()
    day = _day(np.random.default_rng(7), 400, 50, taken)
    assert len(day) == 20_000 and len(set(day)) == len(day) and taken == set(day)
    for number in day[:500]:
        validate_id_number(number)  # raises on an invalid one
