"""A straightforward SimPy model of one site's day: the reference the vectorised model is checked against.

Written the plain way on purpose: a process per desk, a shared FIFO store as the line, one
person at a time, closures looked up by walking a list. It shares no code with
``sweep.simulate`` except the input dataclasses.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sweep.simulate.model import DayModel, SiteInput


def closed_intervals(shifts: list[tuple[float, float]], model: DayModel, deadline: float) -> list[tuple[float, float]]:
    """When one desk is closed, by the rules in docs: not merged, not sorted beyond need."""
    if not shifts:
        return [(-math.inf, math.inf)]
    shifts = sorted(shifts)
    out = [(-math.inf, 0.0), (-math.inf, shifts[0][0])]
    covered = shifts[0][1]
    for k, (start, end) in enumerate(shifts):
        if k > 0:
            out.append((covered, start) if start > covered else (start, start + model.changeover_minutes))
        if model.break_minutes > 0:
            t = start + model.break_every_minutes
            while t + model.break_minutes <= end:
                out.append((t, t + model.break_minutes))
                t += model.break_every_minutes
        covered = max(covered, end)
    if covered < deadline:
        out.append((covered, math.inf))
    return out


def closed_until(closed: list[tuple[float, float]], t: float) -> float:
    moved = True
    while moved:
        moved = False
        for a, b in closed:
            if a <= t < b:
                t, moved = b, True
    return t


def next_closing(closed: list[tuple[float, float]], t: float) -> float:
    return min((a for a, _b in closed if a > t), default=math.inf)


def desk_shifts(site: SiteInput, model: DayModel, deadline: float) -> list[list[tuple[float, float]]]:
    if not site.sampler_shifts:
        turns = math.ceil(deadline / model.sampler_shift_minutes)
        pattern = [(k * model.sampler_shift_minutes, min(deadline, (k + 1) * model.sampler_shift_minutes)) for k in range(turns)]
        return [pattern for _ in range(site.desks)]
    return [[(float(a), float(b)) for d, a, b in site.sampler_shifts if d == desk] for desk in range(1, site.desks + 1)]


def draw_people(site: SiteInput, model: DayModel, *, deadline: float, pool_size: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """Arrival and swab time of everyone who comes, person by person."""
    people = []
    for start, length, n in zip(site.slot_start, site.slot_minutes, site.people, strict=False):
        for _ in range(int(n)):
            t = start + rng.random() * length
            u = rng.random()
            if u < model.late_share:
                delay = math.inf
                while delay > model.late_max_minutes:
                    delay = rng.exponential(model.late_mean_minutes)
                t += delay
            elif u < model.late_share + model.early_share:
                t -= rng.exponential(model.early_mean_minutes)
            if rng.random() < model.no_show:
                continue
            people.append(min(max(t, -180.0), 30_000.0))
    opens = min(site.slot_start)
    closes = max(a + b for a, b in zip(site.slot_start, site.slot_minutes, strict=False))
    for _ in range(rng.poisson(model.walk_in_share * site.called)):
        people.append(opens + rng.random() * (closes - opens))
    people.sort()
    mean = (model.person_seconds - model.tube_seal_seconds / pool_size) / 60
    shape = 1 / model.swab_cv**2
    swabs = [rng.gamma(shape, mean / shape) for _ in people]
    return people, swabs


def simpy_day(
    site: SiteInput,
    model: DayModel,
    *,
    deadline: float,
    pool_size: int,
    rng: np.random.Generator | None = None,
    arrivals: list[float] | None = None,
    swabs: list[float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arrival, start, end of swab) per person, in arrival order."""
    if arrivals is None or swabs is None:
        assert rng is not None
        arrivals, swabs = draw_people(site, model, deadline=deadline, pool_size=pool_size, rng=rng)
    env = simpy.Environment(initial_time=-200.0)
    line = simpy.Store(env)
    start = [math.nan] * len(arrivals)
    end = [math.nan] * len(arrivals)
    seal = model.tube_seal_seconds / 60

    def gate():  # type: ignore[no-untyped-def]
        for i, t in enumerate(arrivals):
            yield env.timeout(t - env.now)
            yield line.put(i)

    def desk(closed: list[tuple[float, float]]):  # type: ignore[no-untyped-def]
        served = 0
        while True:
            until = closed_until(closed, env.now)
            if until == math.inf:
                return
            if until > env.now:
                yield env.timeout(until - env.now)
                continue
            closing = next_closing(closed, env.now)
            take = line.get()
            if closing == math.inf:
                i = yield take
            else:
                yield take | env.timeout(closing - env.now)
                if not take.triggered:
                    take.cancel()
                    continue
                i = take.value
            start[i] = env.now
            yield env.timeout(swabs[i])
            end[i] = env.now
            served += 1
            if seal > 0 and served % pool_size == 0:
                yield env.timeout(seal)

    env.process(gate())
    for shifts in desk_shifts(site, model, deadline):
        env.process(desk(closed_intervals(shifts, model, deadline)))
    env.run()
    return np.array(arrivals), np.array(start), np.array(end)
