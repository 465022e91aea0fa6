"""The roster (分工表): a site leader and the six roles at every site, filled with named staff.

Rules: samplers come only from medical staff; a sampler works at most one rotation (default
two hours) at a stretch and rests as long before the next, so each desk has two samplers in
turn; everyone is placed in their home community when it has a site, else at the nearest one;
general roles take general staff first and spare medical staff only after every sampler post
is filled. Posts left empty are counted per site and role: the shortfall named.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from sweep.roles import SiteRole

MEDICAL, GENERAL = "medical", "general"
# Who holds a post: (site, "sampler", desk, team, slot) for samplers, else (site, role, post index).
PersonKey = tuple[int | str | None, ...]


@dataclass(frozen=True)
class RosterInput:
    site_community: np.ndarray  # home community of each site (an index into the community arrays)
    site_desks: np.ndarray
    site_home_teams: np.ndarray  # home-sampling teams (a sampler each, in turn like a desk)
    staff_id: np.ndarray
    staff_community: np.ndarray
    staff_kind: np.ndarray  # 'medical' | 'general'
    community_x: np.ndarray  # metres, for "the nearest community" when home has no room
    community_y: np.ndarray
    window_minutes: int
    rotation_minutes: int = 120


@dataclass(frozen=True)
class Post:
    site: int
    role: SiteRole
    desk_no: int | None  # None for site-wide roles and home teams
    team: int | None  # home-sampling team number, samplers only
    starts_minute: int
    ends_minute: int
    slot: int  # which person of the desk's pair holds it (0 or 1), else 0


@dataclass(frozen=True)
class Duty:
    post: Post
    staff_id: int


@dataclass(frozen=True)
class Roster:
    duties: list[Duty]
    shortfall: dict[int, dict[str, int]]  # site -> role -> posts left empty
    away_from_home: int  # people placed outside their home community


def helpers_per_site(desks: int) -> int:
    """Guides and order keepers: one each for every two desks, at least one."""
    return max(1, math.ceil(desks / 2))


def posts(data: RosterInput) -> list[Post]:
    """Every post of the day, with the sampler rotations."""
    end, rot = data.window_minutes, data.rotation_minutes
    turns = [(t * rot, min(end, (t + 1) * rot)) for t in range(math.ceil(end / rot))]
    out: list[Post] = []
    for s in range(len(data.site_desks)):
        desks = int(data.site_desks[s])
        out.append(Post(s, SiteRole.SITE_LEADER, None, None, 0, end, 0))
        for d in range(1, desks + 1):
            out.append(Post(s, SiteRole.REGISTRAR, d, None, 0, end, 0))
            out += [Post(s, SiteRole.SAMPLER, d, None, a, b, k % 2) for k, (a, b) in enumerate(turns)]
        for t in range(int(data.site_home_teams[s])):
            out += [Post(s, SiteRole.SAMPLER, None, t + 1, a, b, k % 2) for k, (a, b) in enumerate(turns)]
        out += [Post(s, SiteRole.GUIDE, None, None, 0, end, 0)] * helpers_per_site(desks)
        out += [Post(s, SiteRole.ORDER_KEEPER, None, None, 0, end, 0)] * helpers_per_site(desks)
        out += [Post(s, SiteRole.DISINFECTOR, None, None, 0, end, 0), Post(s, SiteRole.COURIER, None, None, 0, end, 0)]
    return out


def _person_keys(all_posts: list[Post]) -> list[PersonKey]:
    """Which person holds each post: the desk's (or team's) pair slot for samplers, else the post itself."""
    return [
        (p.site, "sampler", p.desk_no, p.team, p.slot) if p.role is SiteRole.SAMPLER else (p.site, p.role.value, i)
        for i, p in enumerate(all_posts)
    ]


def build(data: RosterInput) -> Roster:
    all_posts = posts(data)
    keys = _person_keys(all_posts)
    site_of: dict[PersonKey, int] = {}
    for k, p in zip(keys, all_posts, strict=True):
        site_of.setdefault(k, p.site)
    dist = np.hypot(data.community_x[:, None] - data.community_x[None, :], data.community_y[:, None] - data.community_y[None, :])
    nearest = np.argsort(dist, axis=1, kind="stable")  # row c: communities by distance from c, c itself first
    pools: dict[str, dict[int, list[int]]] = {MEDICAL: defaultdict(list), GENERAL: defaultdict(list)}
    for sid, c, kind in sorted(zip(data.staff_id.tolist(), data.staff_community.tolist(), data.staff_kind.tolist(), strict=False), reverse=True):
        pools[kind][c].append(sid)
    holder: dict[PersonKey, int] = {}
    away = 0

    def fill(wanted: list[PersonKey], kind: str) -> None:
        nonlocal away
        pool = pools[kind]
        # Home community first for everyone, then the nearest community with someone left.
        for k in wanted:
            home = int(data.site_community[site_of[k]])
            if pool[home]:
                holder[k] = pool[home].pop()
        for k in wanted:
            if k in holder:
                continue
            home = int(data.site_community[site_of[k]])
            for c in nearest[home].tolist():
                if pool[c]:
                    holder[k] = pool[c].pop()
                    away += 1
                    break

    unique = list(dict.fromkeys(keys))
    fill([k for k in unique if k[1] == "sampler"], MEDICAL)
    # A site's samples leave only with a courier (the hand-over takes a rostered one): when staff
    # run short, every site gets its courier before any site gets its helpers.
    others = sorted((k for k in unique if k[1] != "sampler"), key=lambda k: k[1] != SiteRole.COURIER.value)
    fill(others, GENERAL)
    fill([k for k in others if k not in holder], MEDICAL)

    duties: list[Duty] = []
    shortfall: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counted: set[PersonKey] = set()
    for k, p in zip(keys, all_posts, strict=True):
        if k in holder:
            duties.append(Duty(p, holder[k]))
        elif k not in counted:  # a missing sampler counts once, not once per turn
            counted.add(k)
            shortfall[p.site][p.role.value] += 1
    return Roster(duties, {s: dict(r) for s, r in shortfall.items()}, away)
