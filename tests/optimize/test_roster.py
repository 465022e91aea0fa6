"""The roster's rules: samplers only medical, rotation every two hours, home community first, shortfalls named."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from sweep.optimize.roster import RosterInput, build, helpers_per_site, posts
from sweep.roles import SiteRole


def _input(desks=(2, 1), medical=(4, 2), general=(10, 8), teams=(0, 1), window=360):
    staff_id, comm, kind = [], [], []
    k = 1
    for c, (m, g) in enumerate(zip(medical, general, strict=False)):
        for kind_, count in (("medical", m), ("general", g)):
            for _ in range(count):
                staff_id.append(k)
                comm.append(c)
                kind.append(kind_)
                k += 1
    n = len(desks)
    return RosterInput(
        site_community=np.arange(n), site_desks=np.array(desks), site_home_teams=np.array(teams),
        staff_id=np.array(staff_id), staff_community=np.array(comm), staff_kind=np.array(kind, dtype=object),
        community_x=np.arange(n) * 1000.0, community_y=np.zeros(n), window_minutes=window, rotation_minutes=120,
    )


def test_samplers_are_medical_and_others_are_general_when_there_are_enough():
    data = _input()
    r = build(data)
    kind = dict(zip(data.staff_id.tolist(), data.staff_kind.tolist(), strict=False))
    for d in r.duties:
        if d.post.role is SiteRole.SAMPLER:
            assert kind[d.staff_id] == "medical"
        else:
            assert kind[d.staff_id] == "general"


def test_no_sampler_works_longer_than_a_rotation_without_rest():
    r = build(_input())
    by_person = defaultdict(list)
    for d in r.duties:
        if d.post.role is SiteRole.SAMPLER:
            assert d.post.ends_minute - d.post.starts_minute <= 120
            by_person[d.staff_id].append((d.post.starts_minute, d.post.ends_minute))
    for stints in by_person.values():
        stints.sort()
        for (_a0, a1), (b0, _b1) in itertools.pairwise(stints):
            assert b0 - a1 >= 120  # rests as long as a rotation before the next


def test_each_desk_has_a_sampler_all_day():
    r = build(_input())
    covered = defaultdict(int)
    for d in r.duties:
        if d.post.role is SiteRole.SAMPLER and d.post.desk_no is not None:
            covered[(d.post.site, d.post.desk_no)] += d.post.ends_minute - d.post.starts_minute
    assert covered == {(0, 1): 360, (0, 2): 360, (1, 1): 360}


def test_home_community_is_preferred():
    data = _input(medical=(4, 4), general=(10, 10))
    r = build(data)
    comm = dict(zip(data.staff_id.tolist(), data.staff_community.tolist(), strict=False))
    assert all(comm[d.staff_id] == d.post.site for d in r.duties)
    assert r.away_from_home == 0


def test_a_community_short_of_staff_borrows_from_the_nearest():
    data = _input(desks=(2, 1), medical=(1, 6), general=(10, 8), teams=(0, 0))
    r = build(data)
    comm = dict(zip(data.staff_id.tolist(), data.staff_community.tolist(), strict=False))
    borrowed = {d.staff_id for d in r.duties if d.post.site == 0 and comm[d.staff_id] == 1}
    assert borrowed and r.away_from_home == len(borrowed)
    assert not r.shortfall


def test_shortfalls_are_named_by_site_and_role():
    r = build(_input(desks=(3,), medical=(2,), general=(3,), teams=(0,)))
    # 3 desks need 6 samplers; 2 medical staff; general: 1 leader + 3 registrars + 2 guides + 2 order keepers + 2 = 10 posts.
    assert r.shortfall[0]["sampler"] == 4
    assert sum(n for role, n in r.shortfall[0].items() if role != "sampler") == 10 - 3


def test_the_six_roles_and_a_leader_at_every_site():
    data = _input()
    roles = defaultdict(set)
    for p in posts(data):
        roles[p.site].add(p.role)
    for site in (0, 1):
        assert roles[site] == set(SiteRole)
    assert helpers_per_site(3) == 2 and helpers_per_site(1) == 1


def test_when_staff_run_short_every_site_still_has_its_courier():
    # Three sites and only four people besides the samplers: the couriers come first.
    r = build(_input(desks=(1, 1, 1), medical=(2, 2, 2), general=(2, 1, 1), teams=(0, 0, 0)))
    couriers = {d.post.site for d in r.duties if d.post.role is SiteRole.COURIER}
    assert couriers == {0, 1, 2}
    assert sum(r.shortfall[s].get("courier", 0) for s in r.shortfall) == 0 and r.shortfall
