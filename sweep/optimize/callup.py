"""The call-up schedule (通知有序): every building a time slot at its site, arrivals matched to capacity.

Per site, key groups come first (their own slot at the opening), then the buildings grid by
grid, neighbours one after another, each filling the room left in consecutive slots so that no
slot is called for more people than its desks swab in it (a big building's units are called
slot by slot). Home-sampling visits start at the opening too,
on a nearest-neighbour round from the site. Every slot ends by the end of the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A home visit: putting on fresh gloves, registering, swabbing: about 10 minutes, plus 3 a person.
HOME_VISIT_MINUTES = 10.0
HOME_MINUTES_PER_PERSON = 3.0
WALK_M_PER_MINUTE = 70.0
FILL = 0.9  # share of the desks' throughput the call-up plans for


@dataclass(frozen=True)
class CallupInput:
    building_people: np.ndarray  # people who walk to the site (key-group members included)
    building_key: np.ndarray  # of those, key-group members, called in the site's first slot
    building_home: np.ndarray  # people sampled at home
    building_x: np.ndarray  # metres east, for ordering neighbours and home rounds
    building_y: np.ndarray
    building_grid: np.ndarray
    building_site: np.ndarray  # position of the building's site in the site arrays
    site_x: np.ndarray
    site_y: np.ndarray
    site_desks: np.ndarray
    window_minutes: int
    slot_minutes: int
    service_minutes: float  # mean swab time per person at one desk
    fill: float = FILL
    site_window_minutes: np.ndarray | None = None  # per site, where one calls longer than window_minutes

    def window_of(self, site: int) -> int:
        return self.window_minutes if self.site_window_minutes is None else int(self.site_window_minutes[site])


@dataclass(frozen=True)
class Callup:
    slot_start: np.ndarray  # per building, minutes from the start of sampling
    slot_minutes: np.ndarray  # per building
    key_slot_minutes: np.ndarray  # per site: the opening stretch reserved for key groups (0 if none)
    arrivals: np.ndarray  # (sites, slots): people called per slot
    slot_capacity: np.ndarray  # per site: people the desks swab in one slot at full pace
    home_visit_minute: np.ndarray  # per building, -1 when nobody is sampled at home
    home_team: np.ndarray  # per building, -1 when none
    home_teams: np.ndarray  # per site


class CallupOverflow(Exception):
    def __init__(self, site: int, people_left: float) -> None:
        super().__init__(f"site {site}: {people_left:.0f} people do not fit before the end of the window")
        self.site = site
        self.people_left = people_left


def _route(x: np.ndarray, y: np.ndarray, x0: float, y0: float) -> list[int]:
    """Nearest neighbour from (x0, y0): a short enough walk for a few dozen stops."""
    left = list(range(len(x)))
    order: list[int] = []
    cx, cy = x0, y0
    while left:
        d = [(x[i] - cx) ** 2 + (y[i] - cy) ** 2 for i in left]
        k = left.pop(int(np.argmin(d)))
        order.append(k)
        cx, cy = x[k], y[k]
    return order


def building_order(data: CallupInput, members: np.ndarray, site: int) -> list[int]:
    """Grids clockwise around the site; inside a grid, a walk from the building nearest the site."""
    sx, sy = float(data.site_x[site]), float(data.site_y[site])
    grids = np.unique(data.building_grid[members])
    angle = []
    for g in grids:
        in_g = members[data.building_grid[members] == g]
        angle.append(math.atan2(float(data.building_y[in_g].mean()) - sy, float(data.building_x[in_g].mean()) - sx))
    order: list[int] = []
    for g in grids[np.argsort(angle, kind="stable")]:
        in_g = members[data.building_grid[members] == g]
        order += [int(in_g[k]) for k in _route(data.building_x[in_g], data.building_y[in_g], sx, sy)]
    return order


def _place(room: np.ndarray, start: int, people: float, least: float) -> list[tuple[int, float]] | None:
    """Fill slots in order from ``start``: (slot, people) pieces whose sum is ``people``, each within the room.

    A sliver of room smaller than ``least`` is skipped when the next slots can take the building.
    """
    n = len(room)
    if room[start:].sum() < people - 1e-9:
        return None
    s = start
    while s < n - 1 and room[s] < min(people, least) and room[s + 1:].sum() >= people - 1e-9:
        s += 1
    pieces, left = [], people
    for t in range(s, n):
        if left <= 1e-9:
            break
        take = min(left, room[t])
        if take > 1e-9:
            pieces.append((t, take))
            left -= take
    return pieces


# A site's call-up: which slots each building gets, the key groups' span, arrivals per slot and
# a slot's full pace; or None with the people left over.
SiteSlots = tuple[dict[int, tuple[int, int]], int, np.ndarray, float]


def _site_slots(data: CallupInput, site: int, members: list[int], fill: float) -> tuple[SiteSlots | None, float]:
    n_slots = data.window_of(site) // data.slot_minutes
    full = float(data.site_desks[site]) * data.slot_minutes / data.service_minutes
    room = np.full(n_slots, full * fill)
    placed: dict[int, tuple[int, int]] = {}
    least = 0.25 * full * fill
    key = float(data.building_key[members].sum())
    key_span = 0
    if key > 0:
        pieces = _place(room, 0, key, least)
        if pieces is None:
            return None, key
        for t, take in pieces:
            room[t] -= take
        key_span = pieces[-1][0] + 1
    cur = 0
    for b in members:
        walk_in = float(data.building_people[b] - data.building_key[b])
        if walk_in <= 0:
            placed[b] = (min(cur, n_slots - 1), 1)
            continue
        pieces = _place(room, cur, walk_in, least)
        if pieces is None:
            left = walk_in + sum(float(data.building_people[o] - data.building_key[o]) for o in members if o not in placed and o != b)
            return None, left
        for t, take in pieces:
            room[t] -= take
        placed[b] = (pieces[0][0], pieces[-1][0] - pieces[0][0] + 1)
        cur = pieces[-1][0] if room[pieces[-1][0]] > 1e-9 else pieces[-1][0] + 1
        cur = min(cur, n_slots - 1)
    arrivals = full * fill - room if fill < 1 else full - room
    return (placed, key_span, arrivals, full), 0.0


def schedule(data: CallupInput) -> Callup:
    n_b, n_s = len(data.building_people), len(data.site_desks)
    n_slots = max([data.window_minutes] + [data.window_of(k) for k in range(n_s)]) // data.slot_minutes
    if data.window_minutes // data.slot_minutes < 1:
        raise ValueError("the window is shorter than one slot")
    slot_start = np.zeros(n_b, dtype=np.int64)
    slot_len = np.full(n_b, data.slot_minutes, dtype=np.int64)
    key_minutes = np.zeros(n_s, dtype=np.int64)
    arrivals = np.zeros((n_s, n_slots))
    capacity = np.zeros(n_s)
    visit = np.full(n_b, -1, dtype=np.int64)
    team = np.full(n_b, -1, dtype=np.int64)
    teams = np.zeros(n_s, dtype=np.int64)
    for site in range(n_s):
        members = np.flatnonzero(data.building_site == site)
        if len(members) == 0:
            continue
        order = building_order(data, members, site)
        result, left = _site_slots(data, site, order, data.fill)
        if result is None:  # the planned margin does not fit: use the desks' full pace
            result, left = _site_slots(data, site, order, 1.0)
        if result is None:
            raise CallupOverflow(site, left)
        placed, key_span, arr, full = result
        for b, (s, k) in placed.items():
            slot_start[b] = s * data.slot_minutes
            slot_len[b] = k * data.slot_minutes
        key_minutes[site] = key_span * data.slot_minutes
        arrivals[site, : len(arr)] = arr
        capacity[site] = full
        teams[site] = _home_round(data, site, members, visit, team)
    return Callup(slot_start, slot_len, key_minutes, arrivals, capacity, visit, team, teams)


def _home_round(data: CallupInput, site: int, members: np.ndarray, visit: np.ndarray, team: np.ndarray) -> int:
    """Visit minute and team for each building with people sampled at home; returns the team count."""
    homes = members[data.building_home[members] > 0]
    if len(homes) == 0:
        return 0
    order = homes[_route(data.building_x[homes], data.building_y[homes], float(data.site_x[site]), float(data.site_y[site]))]
    x, y = float(data.site_x[site]), float(data.site_y[site])
    steps = []
    for b in order:
        walk = math.hypot(data.building_x[b] - x, data.building_y[b] - y) / WALK_M_PER_MINUTE
        steps.append((walk, HOME_VISIT_MINUTES + HOME_MINUTES_PER_PERSON * float(data.building_home[b])))
        x, y = float(data.building_x[b]), float(data.building_y[b])
    window = data.window_minutes - data.slot_minutes  # the last visit starts with time to finish
    k, clock = 0, 0.0
    for b, (walk, stay) in zip(order, steps, strict=True):
        if clock > 0 and clock + walk + stay > window:
            k, clock = k + 1, 0.0
        clock += walk
        visit[b] = int(clock)
        team[b] = k
        clock += stay
    return k + 1
