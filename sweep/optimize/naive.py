"""A first plan, made the way a careful person would by hand: nearest site with room, desks by rule.

The optimal plan (capacitated p-median, queueing, call-up matching) replaces it; this one keeps
every later stage fed with a plan that honours capacity and the deadline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sweep.optimize.geo import walk_matrix_m

# Leave a tenth of a desk's day free for rotations, breaks and late arrivals.
UTILISATION = 0.9


@dataclass(frozen=True)
class NaiveInput:
    building_lon: np.ndarray
    building_lat: np.ndarray
    building_people: np.ndarray
    building_grid: np.ndarray
    site_lon: np.ndarray
    site_lat: np.ndarray
    site_max_desks: np.ndarray
    deadline_minutes: int
    slot_minutes: int
    desk_people_per_hour: int
    people_per_desk: int


@dataclass(frozen=True)
class NaivePlan:
    open_sites: np.ndarray  # indices into the candidate arrays
    desks: np.ndarray  # per open site
    expected: np.ndarray  # people per open site
    building_site: np.ndarray  # per building: position in open_sites
    building_walk_m: np.ndarray
    building_slot_start: np.ndarray  # minutes from the start of sampling
    building_slot_minutes: np.ndarray


class NoSiteWithRoom(Exception):
    def __init__(self, building: int, people: int) -> None:
        super().__init__(f"building {building} ({people} people) fits no candidate site")
        self.building = building
        self.people = people


def plan_naive(data: NaiveInput) -> NaivePlan:
    n_b = len(data.building_people)
    desk_day = data.desk_people_per_hour * data.deadline_minutes / 60 * UTILISATION
    room = data.site_max_desks.astype(float) * desk_day
    walk = walk_matrix_m(data.building_lon, data.building_lat, data.site_lon, data.site_lat)
    assigned = np.full(n_b, -1, dtype=np.int64)
    load = np.zeros(len(room))
    # Biggest buildings first, so a dormitory is not left without a site by many small houses.
    for b in np.argsort(-data.building_people, kind="stable"):
        people = int(data.building_people[b])
        for s in np.argsort(walk[b], kind="stable"):
            if load[s] + people <= room[s]:
                assigned[b] = s
                load[s] += people
                break
        else:
            raise NoSiteWithRoom(int(b), people)

    open_sites = np.flatnonzero(load > 0)
    position = np.full(len(room), -1, dtype=np.int64)
    position[open_sites] = np.arange(len(open_sites))
    expected = load[open_sites].astype(np.int64)
    by_rule = np.ceil(expected / data.people_per_desk)
    by_deadline = np.ceil(expected / desk_day)
    desks = np.clip(np.maximum(by_rule, by_deadline), 1, data.site_max_desks[open_sites]).astype(np.int64)

    building_site = position[assigned]
    slot_start = np.zeros(n_b, dtype=np.int64)
    slot_len = np.zeros(n_b, dtype=np.int64)
    for k, s in enumerate(open_sites):
        members = np.flatnonzero(assigned == s)
        # Neighbours together: a grid's buildings are called one after another, nearest first.
        order = members[np.lexsort((walk[members, s], data.building_grid[members]))]
        per_slot = desks[k] * data.desk_people_per_hour * data.slot_minutes / 60
        n_slots = max(1, data.deadline_minutes // data.slot_minutes)
        before = 0.0
        for b in order:
            first = min(int(before // per_slot), n_slots - 1)
            span = max(1, math.ceil(data.building_people[b] / per_slot))
            slot_start[b] = first * data.slot_minutes
            slot_len[b] = min(span, n_slots - first) * data.slot_minutes
            before += float(data.building_people[b])
    return NaivePlan(
        open_sites=open_sites,
        desks=desks,
        expected=expected,
        building_site=building_site,
        building_walk_m=walk[np.arange(n_b), assigned],
        building_slot_start=slot_start,
        building_slot_minutes=slot_len,
    )
