"""The live forecast: from the scans so far, when will each site and the round really finish?

For each site the day is simulated many times from *now*, conditioned on what the scans say:

- Everyone the model would have had arrive by now, less those already swabbed, is either still
  in the queue or still to come. The site is taken to have a queue when its desks swabbed near
  their capacity over the last ``window_minutes``, or when the shortfall is larger than both
  ``QUEUE_PER_DESK`` people a desk and what a lower turnout (``TURNOUT_SLACK``) would explain;
  then the shortfall waits at ``now``. Otherwise there is no queue: the shortfall is late, and
  comes after ``now`` by the model's lateness (memoryless: late by now, late by the same law),
  or, already later than the longest delay, is not coming.
- If more were swabbed than the model had arrive by now, people came earlier than planned: that
  many of the model's later arrivals are taken as already here and gone.
- The desks' pace differs from the plan's from day to day (``PaceVariation``). Its posterior,
  given the scans, comes from simulating each site's morning at a ladder of paces
  (``sweep.simulate.pace``), and each run draws its paces from it: the interval carries the
  doubt about the pace, as wide as the line leaves it, as well as the dice of the rest of the day.
- The 90% interval is a predictive one (``Spread.predictive``): it holds one more day, today, nine
  times in ten whatever the number of runs.

The finish of a site is its last swab; with nobody left to come it is the last scan seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sweep.errors import InvalidInput
from sweep.simulate.arrivals import draw_arrivals, sort_within_rows
from sweep.simulate.model import DayInput, DayModel
from sweep.simulate.montecarlo import CHUNK_PEOPLE, row_max
from sweep.simulate.outcome import LATE_SITES_SHOWN, Spread
from sweep.simulate.pace import PaceVariation, scan_likelihood
from sweep.simulate.queues import serve
from sweep.simulate.staffing import NEVER, closure_arrays

# Desks that swabbed at least this share of what they could have are taken to have had a queue.
BUSY_UTILISATION = 0.85
# A shortfall of more than this many people a desk, and more than this share of the people due
# by now, is read as a queue rather than as people who stayed away.
QUEUE_PER_DESK = 10
TURNOUT_SLACK = 0.05


@dataclass(frozen=True, eq=False)
class SiteProgress:
    """What one site's desk scans say so far: counts per minute since the start, and the last scan."""

    code: str
    per_minute: np.ndarray  # scans in minute [k, k+1) from the start of sampling
    last_scan: float | None = None  # minutes from the start

    @property
    def sampled(self) -> int:
        return int(np.sum(self.per_minute))

    def between(self, a: float, b: float) -> int:
        lo, hi = max(0, int(np.floor(a))), max(0, int(np.floor(b)))
        return int(np.sum(self.per_minute[lo:hi]))


@dataclass(frozen=True)
class SiteForecast:
    code: str
    sampled: int
    expected: float  # mean people the site will have swabbed by the end
    waiting: float  # mean people taken to be in the queue now
    pace: float  # the site's likeliest speed against the model's (1 = as modelled)
    finish: Spread
    p_late: float
    finished: bool  # nobody is left to come in any run: the finish is the last scan


@dataclass(frozen=True, eq=False)
class Forecast:
    now: float
    deadline_minutes: int
    runs: int
    finish: Spread
    p_on_time: float
    finish_by_run: np.ndarray
    sites: tuple[SiteForecast, ...]

    @property
    def late_sites(self) -> tuple[SiteForecast, ...]:
        risky = sorted((s for s in self.sites if s.p_late > 0), key=lambda s: (-s.p_late, -s.finish.p95))
        return tuple(risky[:LATE_SITES_SHOWN])


def forecast_day(
    day: DayInput,
    progress: Sequence[SiteProgress],
    *,
    now: float,
    model: DayModel,
    runs: int,
    rng: np.random.Generator,
    window_minutes: float = 30.0,
    variation: PaceVariation | None = None,
) -> Forecast:
    """Expected finish per site and for the round, with a 90% interval, from the scans up to ``now``.

    ``variation`` is the day-to-day variation of the desks' pace (the default ``PaceVariation()``)."""
    variation = variation or PaceVariation()
    if len(progress) != len(day.sites):
        raise InvalidInput("progress", "每个采样点需要一组扫码计数 (one progress entry per site, in the plan's order)")
    if runs < 1:
        raise InvalidInput("runs", f"模拟次数至少为1 (runs must be at least 1), got {runs}")
    n_sites = len(day.sites)
    c_start, c_end = closure_arrays(day.sites, model, day.deadline_minutes)
    done = np.array([p.sampled for p in progress], dtype=np.int64)
    since = max(0.0, now - window_minutes)
    recent = np.array([p.between(since, now) for p in progress], dtype=float)
    capacity = _open_minutes(c_start, c_end, since, now) / (model.person_seconds / 60.0)
    utilisation = np.divide(recent, capacity, out=np.zeros(n_sites), where=capacity > 0)
    staffed = np.round(capacity * (model.person_seconds / 60.0) / max(now - since, 1e-9))
    last_seen = np.array([p.last_scan if p.last_scan is not None else 0.0 for p in progress])

    finish = np.empty((runs, n_sites))
    left = np.empty((runs, n_sites), dtype=np.int64)
    waiting = np.empty((runs, n_sites), dtype=np.int64)
    per_run = max(1.0, sum(s.called for s in day.sites) * (1 + model.walk_in_share))
    chunk = int(max(1, min(runs, CHUNK_PEOPLE // per_run)))
    busy = speed = posterior = None
    for first_run in range(0, runs, chunk):
        n = min(chunk, runs - first_run)
        row_site = np.tile(np.arange(n_sites), n)
        arrivals = draw_arrivals(day.sites, row_site, model=model, pool_size=day.pool_size, rng=rng)
        row = np.repeat(np.arange(len(row_site)), arrivals.counts)
        arrived = np.bincount(row[arrivals.time <= now], minlength=len(row_site))
        excess = arrived - done[row_site]
        if busy is None:
            # Whether a site has a line is decided once, on the first chunk's mean.
            mean_excess = excess.reshape(n, n_sites).mean(axis=0)
            mean_arrived = arrived.reshape(n, n_sites).mean(axis=0)
            queued = (mean_excess > QUEUE_PER_DESK * np.maximum(staffed, 1)) & (mean_excess > TURNOUT_SLACK * mean_arrived)
            busy = ((utilisation >= BUSY_UTILISATION) | queued) & (now - since >= 5)
            posterior = variation.posterior(scan_likelihood(
                day.sites, done, recent, now=now, since=since, model=model, c_start=c_start, c_end=c_end,
                pool_size=day.pool_size, rng=rng,
            ))
            speed = posterior.likeliest()
        assert busy is not None and posterior is not None
        row_speed = posterior.draw(n, rng).reshape(-1)
        short = np.maximum(excess, 0)
        wait_now = np.where(busy[row_site], short, 0)
        early = np.maximum(-excess, 0)
        first = np.zeros(len(row_site), dtype=np.int64)
        np.cumsum(arrivals.counts[:-1], out=first[1:])
        place = np.arange(len(row)) - first[row]
        # Keep: the last ``short`` of those arrived by now, and the future arrivals after the first
        # ``early`` of them (who came before their time and are done). At a site with a line the
        # short wait at now. At one without, they are late: the lateness is exponential, so whoever
        # is late still is late by the same law from now on, up to the most anyone is late (after
        # that, they are not coming).
        behind = (place >= arrived[row] - short[row]) & (place < arrived[row])
        arrive = np.maximum(arrivals.time, now)
        late = behind & ~busy[row_site][row]
        if late.any():
            room = arrivals.time[late] + model.late_max_minutes - now
            arrive[late] = now + _still_late(model.late_mean_minutes, room, rng)
            behind[np.flatnonzero(late)[room <= 0]] = False
        keep = behind | (place >= arrived[row] + early[row])
        kept = np.bincount(row[keep], minlength=len(row_site))
        if late.any():
            arrive[keep] = sort_within_rows(arrive[keep], row[keep], kept)
        served = serve(
            arrive[keep], arrivals.service[keep] / row_speed[row[keep]], kept,
            c_start[row_site], c_end[row_site], seal_minutes=model.tube_seal_seconds / 60.0 / row_speed, pool_size=day.pool_size,
        )
        block = slice(first_run, first_run + n)
        finish[block] = np.maximum(row_max(served.finish, kept), last_seen[row_site]).reshape(n, n_sites)
        left[block] = kept.reshape(n, n_sites)
        waiting[block] = wait_now.reshape(n, n_sites)
    finish = np.where(finish >= NEVER / 2, np.inf, finish)
    assert speed is not None

    sites = tuple(
        SiteForecast(
            code=site.code,
            sampled=int(done[i]),
            expected=float(done[i] + left[:, i].mean()),
            waiting=float(waiting[:, i].mean()),
            pace=float(speed[i]),
            finish=Spread.predictive(finish[:, i]),
            p_late=float(np.mean(finish[:, i] > day.deadline_minutes)),
            finished=bool(left[:, i].max() == 0),
        )
        for i, site in enumerate(day.sites)
    )
    overall = finish.max(axis=1)
    return Forecast(
        now=float(now),
        deadline_minutes=day.deadline_minutes,
        runs=runs,
        finish=Spread.predictive(overall),
        p_on_time=float(np.mean(overall <= day.deadline_minutes)),
        finish_by_run=overall,
        sites=sites,
    )


def _still_late(mean: float, room: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The rest of the delay of people late by now: exponential, each cut at its ``room`` (inverse CDF)."""
    cap = np.maximum(room, 0.0)
    if mean <= 0:
        return np.zeros(len(cap))
    delay: np.ndarray = -mean * np.log1p(-rng.random(len(cap)) * -np.expm1(-cap / mean))
    return delay


def _open_minutes(c_start: np.ndarray, c_end: np.ndarray, a: float, b: float) -> np.ndarray:
    """Desk-minutes each site's desks were open in [a, b)."""
    overlap = np.clip(np.minimum(c_end, b) - np.maximum(c_start, a), 0.0, None).sum(axis=2)
    minutes: np.ndarray = np.clip((b - a) - overlap, 0.0, None).sum(axis=1)
    return minutes
