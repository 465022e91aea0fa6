"""When each desk is closed: before its first sampler, at rotations, at breaks, after its last sampler.

A desk is open while a sampler's shift covers it. Where one sampler hands over to the next the
desk pauses ``changeover_minutes`` (the hand-over of scanner and desk, the desk wiped down). The
last sampler of a desk whose shifts reach the deadline stays until the queue is empty: overtime
is what the simulation measures, so it is not cut off. A desk whose samplers all leave before
the deadline closes for good.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sweep.simulate.model import DayModel, SiteInput

# "Never" for a closed desk and "no more closures", far beyond any day yet exactly representable.
NEVER = 1.0e12
NO_CLOSURE = 1.0e15


def shifts_by_desk(site: SiteInput, model: DayModel, deadline_minutes: int) -> list[list[tuple[float, float]]]:
    """The samplers' shifts at each desk, sorted; synthetic turns when the plan names no samplers."""
    desks: list[list[tuple[float, float]]] = [[] for _ in range(site.desks)]
    if not site.sampler_shifts:
        turns = max(1, math.ceil(deadline_minutes / model.sampler_shift_minutes))
        pattern = [(k * model.sampler_shift_minutes, min(deadline_minutes, (k + 1) * model.sampler_shift_minutes)) for k in range(turns)]
        return [list(pattern) for _ in range(site.desks)]
    for desk_no, start, end in site.sampler_shifts:
        if 1 <= desk_no <= site.desks and end > start:
            desks[desk_no - 1].append((float(start), float(end)))
    return [sorted(d) for d in desks]


def desk_closures(shifts: list[tuple[float, float]], model: DayModel, deadline_minutes: int) -> list[tuple[float, float]]:
    """Closed intervals of one desk, sorted and merged, so that each ends before the next begins."""
    if not shifts:
        return [(0.0, NEVER)]
    closed: list[tuple[float, float]] = []
    first = shifts[0][0]
    if first > 0:
        closed.append((0.0, first))
    covered_to = shifts[0][1]
    for start, end in shifts:
        if start > covered_to:
            closed.append((covered_to, start))
        elif start > first:
            closed.append((start, start + model.changeover_minutes))
        if model.break_minutes > 0:
            t = start + model.break_every_minutes
            while t + model.break_minutes <= end:
                closed.append((t, t + model.break_minutes))
                t += model.break_every_minutes
        covered_to = max(covered_to, end)
    if covered_to < deadline_minutes:
        closed.append((covered_to, NEVER))
    merged: list[tuple[float, float]] = []
    for a, b in sorted(c for c in closed if c[1] > c[0]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def site_closures(site: SiteInput, model: DayModel, deadline_minutes: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Closure starts and ends, ``(desks, K)`` padded with ``NO_CLOSURE``; and the desks ever staffed."""
    per_desk = [desk_closures(s, model, deadline_minutes) for s in shifts_by_desk(site, model, deadline_minutes)]
    k = 1 + max(len(c) for c in per_desk)
    starts = np.full((site.desks, k), NO_CLOSURE)
    ends = np.full((site.desks, k), NO_CLOSURE + 1.0)
    for d, closures in enumerate(per_desk):
        for j, (a, b) in enumerate(closures):
            starts[d, j], ends[d, j] = a, b
    staffed = sum(1 for c in per_desk if not (c and c[0][0] <= 0.0 and c[0][1] >= NEVER))
    return starts, ends, staffed


def closure_arrays(sites: Sequence[SiteInput], model: DayModel, deadline_minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """Closures of every site's desks as ``(sites, desks, K)``; a desk a site lacks is closed for ever."""
    closures = [site_closures(s, model, deadline_minutes) for s in sites]
    desks = max(c[0].shape[0] for c in closures)
    k = max(c[0].shape[1] for c in closures)
    starts = np.full((len(sites), desks, k), NO_CLOSURE)
    ends = np.full((len(sites), desks, k), NO_CLOSURE + 1.0)
    starts[:, :, 0], ends[:, :, 0] = 0.0, NEVER
    for i, (a, b, _staffed) in enumerate(closures):
        starts[i, : a.shape[0], 0], ends[i, : a.shape[0], 0] = NO_CLOSURE, NO_CLOSURE + 1.0
        starts[i, : a.shape[0], : a.shape[1]] = a
        ends[i, : a.shape[0], : a.shape[1]] = b
    return starts, ends
