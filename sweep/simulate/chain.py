"""From swab to result: tubes of ``pool_size``, boxes of ``box_size``, couriers, the lab.

- A desk fills one tube at a time; a tube is sealed after its last person (the ``pool_size``-th,
  or the desk's last of the day).
- Sealed tubes are packed in the order they are sealed. A courier calls every
  ``courier_every_minutes`` and takes everything packed; a box that fills up leaves at once
  (after ``handover_minutes``), and so does the last box when the site's last tube is sealed.
- The trip to the lab takes a gamma-distributed time per box.
- The lab takes tubes in the order they arrive at a fixed rate (one intake line for the round's
  labs together); a result follows ``lab_turnaround_minutes`` after intake (extraction and PCR).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sweep.simulate.model import DayModel
from sweep.simulate.queues import Served, lindley_fifo


@dataclass(frozen=True, eq=False)
class Chain:
    tube_of: np.ndarray  # per person
    row: np.ndarray  # per tube
    sealed: np.ndarray  # per tube
    first_swab: np.ndarray  # per tube
    at_lab: np.ndarray  # per tube
    result: np.ndarray  # per tube
    boxes: np.ndarray  # per row
    depart: np.ndarray  # per tube: when it left its site
    box_of: np.ndarray  # per tube: its box (numbered across all rows)


def follow_tubes(
    served: Served,
    counts: np.ndarray,
    *,
    rows_per_run: int,
    pool_size: int,
    box_size: int,
    model: DayModel,
    rng: np.random.Generator,
) -> Chain:
    rows, desks = served.desk_count.shape
    row = np.repeat(np.arange(rows, dtype=np.int64), counts)
    at_desk = row * desks + served.desk
    per_desk = served.desk_count.ravel()
    tube_first = np.zeros(len(per_desk), dtype=np.int64)
    np.cumsum(-(-per_desk[:-1] // pool_size), out=tube_first[1:])
    n_tubes = int(tube_first[-1] + -(-per_desk[-1] // pool_size)) if len(per_desk) else 0
    tube_of = tube_first[at_desk] + served.seq // pool_size

    seal = model.tube_seal_seconds / 60.0
    last = (served.seq % pool_size == pool_size - 1) | (served.seq == per_desk[at_desk] - 1)
    first = served.seq % pool_size == 0
    sealed = np.empty(n_tubes)
    sealed[tube_of[last]] = served.finish[last] + seal
    tube_row = np.empty(n_tubes, dtype=np.int64)
    tube_row[tube_of[last]] = row[last]
    first_swab = np.empty(n_tubes)
    first_swab[tube_of[first]] = served.finish[first]

    depart, box_of = _couriers(sealed, tube_row, box_size=box_size, model=model)
    n_boxes = int(box_of.max()) + 1 if n_tubes else 0
    at_lab = depart + _gamma(n_boxes, model.transit_minutes, model.transit_cv, rng)[box_of]
    result = _lab(at_lab, tube_row // rows_per_run, model)
    boxes = np.zeros(rows, dtype=np.int64)
    if n_tubes:
        box_row = np.empty(n_boxes, dtype=np.int64)
        box_row[box_of] = tube_row
        boxes = np.bincount(box_row, minlength=rows)
    return Chain(tube_of, tube_row, sealed, first_swab, at_lab, result, boxes, depart, box_of)


def _couriers(sealed: np.ndarray, tube_row: np.ndarray, *, box_size: int, model: DayModel) -> tuple[np.ndarray, np.ndarray]:
    """When each tube leaves its site, and the box it leaves in (dense box numbers)."""
    n = len(sealed)
    if n == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    every = model.courier_every_minutes
    order = np.lexsort((sealed, tube_row))
    t = sealed[order]
    r = tube_row[order]
    window = np.floor(np.maximum(t, 0.0) / every)
    new_row = np.r_[True, r[1:] != r[:-1]]
    starts = np.flatnonzero(new_row | np.r_[True, window[1:] != window[:-1]])
    lengths = np.diff(np.r_[starts, n])
    group_first = np.repeat(starts, lengths)
    group_size = np.repeat(lengths, lengths)
    rank = np.arange(n) - group_first
    box = rank // box_size
    full = (box + 1) * box_size <= group_size
    row_starts = np.flatnonzero(new_row)
    row_len = np.diff(np.r_[row_starts, n])
    row_last = np.repeat(t[row_starts + row_len - 1], row_len)
    ready = np.where(full, t[np.minimum(group_first + (box + 1) * box_size - 1, n - 1)], row_last)
    leave = np.minimum((window + 1) * every, ready + model.handover_minutes)
    box_id = np.cumsum(rank % box_size == 0) - 1
    depart = np.empty(n)
    depart[order] = leave
    box_of = np.empty(n, dtype=np.int64)
    box_of[order] = box_id
    return depart, box_of


def _lab(at_lab: np.ndarray, run: np.ndarray, model: DayModel) -> np.ndarray:
    """Result time per tube: FIFO intake at the lab's rate, then the turnaround."""
    if len(at_lab) == 0:
        return np.empty(0)
    order = np.lexsort((at_lab, run))
    per_tube = 60.0 / model.lab_tubes_per_hour
    start = lindley_fifo(at_lab[order], run[order], per_tube)
    result = np.empty(len(at_lab))
    result[order] = start + per_tube + model.lab_turnaround_minutes
    return result


def _gamma(n: int, mean: float, cv: float, rng: np.random.Generator) -> np.ndarray:
    if cv == 0 or mean == 0:
        return np.full(n, mean)
    shape = 1.0 / cv**2
    return rng.gamma(shape, mean / shape, n)
