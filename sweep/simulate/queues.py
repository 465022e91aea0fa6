"""The desks of a site as one first-come-first-served queue before c desks, for many queues at once.

A site's order keepers (秩序维护员) send the person at the head of the line to whichever desk
frees first, so the site behaves as one queue before its c desks (M/M/c in the stationary case:
the Erlang C formulas check it). Person i of a site starts at the earliest moment a desk is
both free and open; that is the Kiefer-Wolfowitz recursion, sequential within a site.

What makes it fast: the recursion is stepped over the i-th person of *every* row at once (a
row is one site in one Monte Carlo run), so a day of a million people in 400 sites is ~10,000
numpy steps over arrays of 400 x desks, not a million Python iterations. Rows are sorted by
size, so step i touches only the rows that still have an i-th person.

Closures (rotations, breaks, desks without a sampler) are non-preemptive: a person being swabbed
when a closure begins is finished, and the desk then stays closed until the closure's end.
Every ``pool_size``-th person at a desk is followed by the tube change (seal, scan a new tube).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Served:
    """Per person, in the input's order: when the swab began and ended, at which desk, which turn there."""

    start: np.ndarray
    finish: np.ndarray
    desk: np.ndarray  # int16, from 0
    seq: np.ndarray  # int32, the person's place in its desk's order, from 0
    desk_count: np.ndarray  # (rows, desks): people each desk served


def serve(
    arrive: np.ndarray,
    service: np.ndarray,
    counts: np.ndarray,
    closure_start: np.ndarray,
    closure_end: np.ndarray,
    *,
    seal_minutes: float | np.ndarray = 0.0,
    pool_size: int = 10,
) -> Served:
    """Serve every row's people in arrival order.

    ``arrive`` and ``service`` (minutes) are flat, row after row, sorted by arrival within a row;
    ``counts`` gives each row's length. ``closure_start``/``closure_end`` are ``(rows, desks, K)``:
    each desk's closed intervals, sorted, disjoint, padded with far-future values; a desk a row
    does not have is closed from 0 for ever. Desks open at minute 0. ``seal_minutes`` is one
    figure or one per row.
    """
    rows, desks, _k = closure_start.shape
    n = int(counts.sum())
    if n == 0:
        empty = np.empty(0)
        return Served(empty, empty, np.empty(0, np.int16), np.empty(0, np.int32), np.zeros((rows, desks), np.int64))

    # Rows by size, largest first: step i then touches rows [0, active_i). People are laid out
    # step by step (step-major), so each step reads and writes one contiguous slice.
    order = np.argsort(-counts, kind="stable")
    size = counts[order]
    rank = np.empty(rows, dtype=np.int64)
    rank[order] = np.arange(rows)
    active_at = rows - np.searchsorted(size[::-1], np.arange(int(size[0])), side="right")
    step_first = np.zeros(len(active_at) + 1, dtype=np.int64)
    np.cumsum(active_at, out=step_first[1:])
    row = np.repeat(np.arange(rows, dtype=np.int32), counts)
    row_first = np.zeros(rows, dtype=np.int64)
    np.cumsum(counts[:-1], out=row_first[1:])
    where = np.arange(n, dtype=np.int64)
    where -= row_first[row]
    where = step_first[where]
    where += rank[row]
    del row
    a_steps = np.empty(n)
    a_steps[where] = arrive
    s_steps = np.empty(n)
    s_steps[where] = service

    seal = np.broadcast_to(np.asarray(seal_minutes, dtype=float), (rows,))[order]
    sealing = bool(np.any(seal > 0))
    c_start = np.ascontiguousarray(closure_start[order])
    c_end = np.ascontiguousarray(closure_end[order])
    next_a = c_start[:, :, 0].copy()
    next_b = c_end[:, :, 0].copy()
    pointer = np.zeros((rows, desks), dtype=np.int64)
    free = np.zeros((rows, desks))
    served = np.zeros(rows * desks, dtype=np.int64)
    free_flat = free.reshape(-1)
    flat_row = np.arange(rows, dtype=np.int64) * desks
    start_steps = np.empty(n)
    desk_steps = np.empty(n, dtype=np.int16)
    seq_steps = np.empty(n, dtype=np.int32)
    horizon = float(next_a.min())
    for i in range(len(active_at)):
        k = int(active_at[i])
        lo, hi = step_first[i], step_first[i + 1]
        t = np.maximum(free[:k], a_steps[lo:hi, None])
        if t.max() >= horizon:
            b = next_b[:k]
            passed = t >= b
            if passed.any():
                _advance(passed, t, pointer, next_a, next_b, c_start, c_end)
            t = np.where(t >= next_a[:k], b, t)
            horizon = float(next_a[:k].min())
        d = t.argmin(axis=1)
        at = flat_row[:k] + d
        s = t.reshape(-1)[at]
        f = s + s_steps[lo:hi]
        turn = served[at]
        served[at] = turn + 1
        if sealing:
            f = f + seal[:k] * ((turn + 1) % pool_size == 0)
        free_flat[at] = f
        start_steps[lo:hi] = s
        desk_steps[lo:hi] = d
        seq_steps[lo:hi] = turn

    start = start_steps[where]
    desk_count = np.empty((rows, desks), dtype=np.int64)
    desk_count[order] = served.reshape(rows, desks)
    return Served(start, start + service, desk_steps[where], seq_steps[where], desk_count)


def _advance(
    passed: np.ndarray,
    t: np.ndarray,
    pointer: np.ndarray,
    next_a: np.ndarray,
    next_b: np.ndarray,
    c_start: np.ndarray,
    c_end: np.ndarray,
) -> None:
    """Move each desk whose moment has passed its closure's end on to its next closure."""
    rr, dd = np.nonzero(passed)
    while rr.size:
        p = pointer[rr, dd] + 1
        pointer[rr, dd] = p
        next_a[rr, dd] = c_start[rr, dd, p]
        next_b[rr, dd] = c_end[rr, dd, p]
        still = t[rr, dd] >= next_b[rr, dd]
        rr, dd = rr[still], dd[still]


def lindley_fifo(arrive: np.ndarray, group: np.ndarray, service_minutes: float) -> np.ndarray:
    """Start times at one server with a fixed service time, FIFO, for sorted groups at once.

    ``arrive`` is sorted within each group and groups are contiguous (``group`` nondecreasing):
    start_j = j*s + max_{i<=j}(a_i - i*s), the single-server recursion in closed form.
    """
    start = np.empty(len(arrive))
    bounds = np.flatnonzero(np.r_[True, group[1:] != group[:-1], True]) if len(arrive) else np.empty(0, dtype=np.int64)
    for a, b in itertools.pairwise(bounds):
        steps = np.arange(b - a) * service_minutes
        start[a:b] = np.maximum.accumulate(arrive[a:b] - steps) + steps
    return start
