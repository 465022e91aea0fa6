"""Who comes, and when: call-up slots, no-shows, lateness, early arrival, walk-ins, swab times.

Each called person sets off uniformly within their building's slot and arrives after the walk
from the building at the model's walking pace; a share come late by an
exponential delay (cut at ``late_max_minutes``: someone later than that is not coming for this
slot) and a share early by an exponential lead; a share never come. Walk-ins
(people not on the site's call-up list: visitors, people who missed their own site, floating
population) come, a Poisson number of them, evenly while the site's call-up runs (from its first
slot's start to its last slot's end): they come because they see the site at work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sweep.simulate.model import DayModel, SiteInput

# Nobody queues more than three hours before the start, and no one arrives weeks late;
# the bounds also keep the sort key below exact (see ``sort_within_rows``).
EARLIEST = -180.0
LATEST = 30_000.0
_SPAN = 32_768.0


@dataclass(frozen=True, eq=False)
class Arrivals:
    """Flat arrays, row after row, sorted by arrival within each row."""

    time: np.ndarray  # minutes from the start of sampling
    service: np.ndarray  # minutes of the swab itself
    counts: np.ndarray  # people per row
    no_shows: np.ndarray  # per row
    walk_ins: np.ndarray  # per row
    # With ``identify``: per person, its index among its site's called people (in call-up order), -1 a walk-in.
    who: np.ndarray | None = None


def call_up_base(site: SiteInput) -> tuple[np.ndarray, np.ndarray]:
    """Slot start and length for each called person of a site."""
    people = np.asarray(site.people, dtype=np.int64)
    return (
        np.repeat(np.asarray(site.slot_start, dtype=float), people),
        np.repeat(np.asarray(site.slot_minutes, dtype=float), people),
    )


def walk_base(site: SiteInput, model: DayModel) -> np.ndarray:
    """Minutes each called person of a site walks to it."""
    people = np.asarray(site.people, dtype=np.int64)
    if site.walk_m is None:
        return np.zeros(int(people.sum()))
    return np.repeat(np.asarray(site.walk_m, dtype=float) / model.walk_m_per_minute, people)


def draw_arrivals(
    sites: Sequence[SiteInput],
    row_site: np.ndarray,
    *,
    model: DayModel,
    pool_size: int,
    rng: np.random.Generator,
    identify: bool = False,
) -> Arrivals:
    """One day's arrivals for each row; ``row_site[r]`` names the site row r plays.

    ``identify`` also says who each arrival is (``Arrivals.who``), for a day that is played out
    person by person; the draws are the same either way."""
    bases = [call_up_base(s) for s in sites]
    called = np.array([len(b[0]) for b in bases], dtype=np.int64)
    slot_start = np.concatenate([b[0] for b in bases]) if bases else np.empty(0)
    slot_len = np.concatenate([b[1] for b in bases]) if bases else np.empty(0)
    walk = np.concatenate([walk_base(s, model) for s in sites]) if bases else np.empty(0)
    site_first = np.zeros(len(sites), dtype=np.int64)
    np.cumsum(called[:-1], out=site_first[1:])

    rows = len(row_site)
    row_called = called[row_site]
    n = int(row_called.sum())
    row_first = np.zeros(rows, dtype=np.int64)
    np.cumsum(row_called[:-1], out=row_first[1:])
    pick = np.arange(n) + np.repeat(site_first[row_site] - row_first, row_called)
    row = np.repeat(np.arange(rows, dtype=np.int64), row_called)

    time = slot_start[pick] + rng.random(n) * slot_len[pick] + walk[pick]
    mix = rng.random(n)
    late = mix < model.late_share
    early = (mix >= model.late_share) & (mix < model.late_share + model.early_share)
    if model.late_mean_minutes > 0:
        time[late] += truncated_exponential(model.late_mean_minutes, model.late_max_minutes, int(late.sum()), rng)
    if model.early_mean_minutes > 0:
        time[early] -= rng.exponential(model.early_mean_minutes, int(early.sum()))
    came = rng.random(n) >= model.no_show
    no_shows = np.bincount(row[~came], minlength=rows)
    time, row = time[came], row[came]
    who = (pick - site_first[row_site[np.repeat(np.arange(rows), row_called)]])[came] if identify else None

    walk_ins = rng.poisson(model.walk_in_share * row_called)
    w = int(walk_ins.sum())
    if w:
        opens = np.array([np.min(s.slot_start) if len(s.people) else 0.0 for s in sites], dtype=float)
        closes = np.array([np.max(np.add(s.slot_start, s.slot_minutes)) if len(s.people) else 0.0 for s in sites], dtype=float)
        walk_row = np.repeat(np.arange(rows, dtype=np.int64), walk_ins)
        site = row_site[walk_row]
        time = np.concatenate([time, opens[site] + rng.random(w) * (closes[site] - opens[site])])
        row = np.concatenate([row, walk_row])
        if who is not None:
            who = np.concatenate([who, np.full(w, -1, dtype=np.int64)])

    counts = np.bincount(row, minlength=rows)
    time = np.clip(time, EARLIEST, LATEST)
    if who is not None:
        order = np.lexsort((time, row))
        time, who = time[order], who[order]
    else:
        time = sort_within_rows(time, row, counts)
    service = swab_minutes(len(time), model=model, pool_size=pool_size, rng=rng)
    return Arrivals(time=time, service=service, counts=counts, no_shows=no_shows, walk_ins=walk_ins, who=who)


def truncated_exponential(mean: float, cap: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Exponential with the given mean, conditioned on being at most ``cap`` (inverse CDF)."""
    draws: np.ndarray = -mean * np.log1p(-rng.random(n) * -np.expm1(-cap / mean))
    return draws


def swab_minutes(n: int, *, model: DayModel, pool_size: int, rng: np.random.Generator) -> np.ndarray:
    """Swab times: gamma with the model's mean and coefficient of variation (cv 1 is exponential)."""
    mean = model.swab_seconds(pool_size) / 60.0
    if model.swab_cv == 0:
        return np.full(n, mean)
    shape = 1.0 / model.swab_cv**2
    return rng.gamma(shape, mean / shape, n)


def sort_within_rows(time: np.ndarray, row: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Times sorted by (row, time), as one float sort of ``row * span + time``.

    With times inside [EARLIEST, LATEST] and span 2**15, the key is exact to well under a
    millisecond for any realistic number of rows; one sort beats a two-key lexsort by far.
    """
    key = row * _SPAN + (time - EARLIEST)
    key.sort()
    key -= np.repeat(np.arange(len(counts)) * _SPAN, counts)
    key += EARLIEST
    return key
