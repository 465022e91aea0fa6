"""What the simulation of the day takes in: the plan of each site, and how the day behaves.

Plain frozen dataclasses and numpy arrays. The database is read elsewhere (``service.py``);
the planner builds the same ``SiteInput`` from its own arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sweep.errors import InvalidInput


@dataclass(frozen=True)
class DayModel:
    """How people, samplers, couriers and the lab behave. Defaults and sources: docs/configuration.md."""

    no_show: float = 0.012
    late_share: float = 0.3
    late_mean_minutes: float = 8.0
    late_max_minutes: float = 60.0
    early_share: float = 0.1
    early_mean_minutes: float = 10.0
    # People walk from their building to the site after setting off in their slot: 70 m a minute,
    # about 4.2 km/h, the 15-minute walking circle of 1,000 m.
    walk_m_per_minute: float = 70.0
    walk_in_share: float = 0.02
    # One person at a desk, tube changes included: 3600 s / 200 people an hour.
    person_seconds: float = 18.0
    swab_cv: float = 0.3
    tube_seal_seconds: float = 20.0
    changeover_minutes: float = 10.0
    break_every_minutes: float = 60.0
    break_minutes: float = 0.0
    sampler_shift_minutes: float = 120.0
    courier_every_minutes: float = 120.0
    handover_minutes: float = 5.0
    transit_minutes: float = 40.0
    transit_cv: float = 0.3
    lab_tubes_per_hour: float = 4000.0
    lab_turnaround_minutes: float = 150.0

    def __post_init__(self) -> None:
        for name in ("no_show", "late_share", "early_share"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise InvalidInput(name, f"应在 0 与 1 之间 (must be at least 0 and below 1), got {value}")
        if self.late_share + self.early_share > 1.0:
            raise InvalidInput("late_share", "迟到与早到比例之和不能超过1 (late and early shares add up to more than 1)")
        positive = ("person_seconds", "late_max_minutes", "walk_m_per_minute", "sampler_shift_minutes", "courier_every_minutes",
                    "lab_tubes_per_hour", "break_every_minutes")
        for name in positive:
            if getattr(self, name) <= 0:
                raise InvalidInput(name, f"必须大于0 (must be greater than 0), got {getattr(self, name)}")
        non_negative = (
            "late_mean_minutes", "early_mean_minutes", "walk_in_share", "swab_cv", "tube_seal_seconds", "changeover_minutes",
            "break_minutes", "handover_minutes", "transit_minutes", "transit_cv", "lab_turnaround_minutes",
        )
        for name in non_negative:
            if getattr(self, name) < 0:
                raise InvalidInput(name, f"不能为负 (must not be negative), got {getattr(self, name)}")
        if self.break_minutes >= self.break_every_minutes:
            raise InvalidInput("break_minutes", "休息时长须短于休息间隔 (a break must be shorter than the time between breaks)")

    def swab_seconds(self, pool_size: int) -> float:
        """The swab alone: the per-person time less its share of the tube change."""
        swab = self.person_seconds - self.tube_seal_seconds / pool_size
        if swab <= 0:
            raise InvalidInput(
                "tube_seal_seconds", "封管时间超过了每人用时 (sealing a tube takes longer than the whole time per person)"
            )
        return swab

    @classmethod
    def from_settings(cls, settings: Any) -> DayModel:
        """Every ``sim_*`` setting. Shared with the planner: the pace per person follows
        ``desk_people_per_hour``, samplers' turns ``sampler_rotation_minutes``, courier runs
        ``sample_wait_limit_minutes``."""
        values = {name: getattr(settings, f"sim_{name}") for name in cls.__dataclass_fields__ if hasattr(settings, f"sim_{name}")}
        values["person_seconds"] = 3600.0 / float(settings.desk_people_per_hour)
        if hasattr(settings, "sampler_rotation_minutes"):
            values["sampler_shift_minutes"] = float(settings.sampler_rotation_minutes)
        if hasattr(settings, "sample_wait_limit_minutes"):
            values["courier_every_minutes"] = float(settings.sample_wait_limit_minutes)
        return cls(**values)


@dataclass(frozen=True, eq=False)
class SiteInput:
    """One site of the plan: its desks, its call-up groups, and the samplers' shifts at its desks.

    ``slot_start``, ``slot_minutes`` and ``people`` hold one entry per call-up group (a building
    called in one slot). ``sampler_shifts`` holds ``(desk_no, starts_minute, ends_minute)`` with
    desks numbered from 1; when empty, every desk is staffed all day in turns of
    ``DayModel.sampler_shift_minutes``. ``walk_m``, per group, is the walk from its building to the
    site (none: everyone arrives as if next door).
    """

    code: str
    desks: int
    slot_start: np.ndarray
    slot_minutes: np.ndarray
    people: np.ndarray
    max_desks: int | None = None
    sampler_shifts: tuple[tuple[int, int, int], ...] = ()
    home_people: int = 0
    walk_m: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.desks < 1:
            raise InvalidInput("desks", f"采样点 {self.code} 至少要有一个采样台 (site {self.code} needs at least one desk)")
        n = len(self.people)
        if len(self.slot_start) != n or len(self.slot_minutes) != n:
            raise InvalidInput("people", f"采样点 {self.code} 的分组数组长度不一 (call-up arrays of site {self.code} differ in length)")
        if self.walk_m is not None and (len(self.walk_m) != n or (n and np.min(self.walk_m) < 0)):
            raise InvalidInput("walk_m", f"采样点 {self.code} 的步行距离应每组一个且不为负 (site {self.code}: one walk a group, "
                               "never negative)")
        if n and (np.min(self.people) < 0 or np.min(self.slot_minutes) <= 0):
            raise InvalidInput("people", f"采样点 {self.code} 有负人数或空时段 (site {self.code} has negative people or an empty slot)")

    @property
    def called(self) -> int:
        return int(np.sum(self.people))

    def with_desks(self, desks: int) -> SiteInput:
        """The same site with another number of desks; added desks are staffed like the others."""
        shifts = self.sampler_shifts
        if shifts and desks > self.desks:
            pattern = [s for s in shifts if s[0] == 1] or [(1, 0, 10**6)]
            shifts = shifts + tuple((d, a, b) for d in range(self.desks + 1, desks + 1) for _, a, b in pattern)
        elif shifts:
            shifts = tuple(s for s in shifts if s[0] <= desks)
        return SiteInput(
            code=self.code, desks=desks, slot_start=self.slot_start, slot_minutes=self.slot_minutes, people=self.people,
            max_desks=self.max_desks, sampler_shifts=shifts, home_people=self.home_people, walk_m=self.walk_m,
        )


@dataclass(frozen=True, eq=False)
class DayInput:
    """The whole round: its sites and the campaign's own figures."""

    sites: tuple[SiteInput, ...]
    deadline_minutes: int = 360
    pool_size: int = 10
    box_size: int = 50

    def __post_init__(self) -> None:
        if not self.sites:
            raise InvalidInput("sites", "方案中没有采样点 (the plan has no sites)")
        if self.deadline_minutes <= 0:
            raise InvalidInput("deadline_minutes", "时限必须大于0 (the deadline must be greater than 0)")
        if not 1 <= self.pool_size <= 20:
            raise InvalidInput("pool_size", "混采人数应在1到20之间 (pool size must be 1-20)")
        if self.box_size < 1:
            raise InvalidInput("box_size", "每箱管数必须大于0 (a box holds at least one tube)")


def sites_from_assignment(
    *,
    codes: list[str],
    desks: np.ndarray,
    building_site: np.ndarray,
    slot_start: np.ndarray,
    slot_minutes: np.ndarray,
    people: np.ndarray,
    max_desks: np.ndarray | None = None,
    walk_m: np.ndarray | None = None,
) -> tuple[SiteInput, ...]:
    """Sites from a planner's arrays: per building its site (an index into ``codes``), slot, people and walk."""
    order = np.argsort(building_site, kind="stable")
    bounds = np.searchsorted(building_site[order], np.arange(len(codes) + 1))
    return tuple(
        SiteInput(
            code=code,
            desks=int(desks[k]),
            slot_start=np.asarray(slot_start)[order[bounds[k] : bounds[k + 1]]],
            slot_minutes=np.asarray(slot_minutes)[order[bounds[k] : bounds[k + 1]]],
            people=np.asarray(people)[order[bounds[k] : bounds[k + 1]]],
            max_desks=None if max_desks is None else int(max_desks[k]),
            walk_m=None if walk_m is None else np.asarray(walk_m, dtype=float)[order[bounds[k] : bounds[k + 1]]],
        )
        for k, code in enumerate(codes)
    )
