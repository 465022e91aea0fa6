"""Many simulated days of a plan, batched: every run of every site is one row of the same arrays.

Runs are taken in chunks so that memory stays bounded (a few million people at a time);
everything kept across chunks is a sum, a histogram or one figure per run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sweep.errors import InvalidInput
from sweep.simulate.arrivals import Arrivals, draw_arrivals
from sweep.simulate.chain import Chain, follow_tubes
from sweep.simulate.model import DayInput, DayModel, SiteInput
from sweep.simulate.outcome import ROOM_TEMPERATURE_MINUTES, DayOutcome, SiteOutcome, Spread
from sweep.simulate.queues import Served, serve
from sweep.simulate.staffing import NEVER, closure_arrays, site_closures

GRID_START = -60
# Histograms for the per-person distributions: (bin width, bins) in minutes; the last bin takes the overflow.
WAIT_BINS = (0.5, 1440)
CHAIN_BINS = (1.0, 4320)
CHUNK_PEOPLE = 2_500_000

Progress = Callable[[int, int], None]


def time_grid(deadline_minutes: int, bin_minutes: int = 10) -> np.ndarray:
    """The times the series are read at: an hour before the start to twice the deadline."""
    return np.arange(GRID_START, 2 * deadline_minutes + bin_minutes, bin_minutes, dtype=float)


@dataclass(frozen=True, eq=False)
class Rows:
    """One simulated day of some sites (one row each): arrivals, and how the desks served them."""

    arrivals: Arrivals
    served: Served
    finish: np.ndarray  # per row: the last swab (0 when nobody came; NEVER-ish when nobody was served)


def run_rows(
    sites: Sequence[SiteInput],
    row_site: np.ndarray,
    *,
    model: DayModel,
    deadline_minutes: int,
    pool_size: int,
    rng: np.random.Generator,
    identify: bool = False,
    pace: np.ndarray | None = None,
) -> Rows:
    """Draw arrivals for each row's site and serve them at its desks (``identify``: keep who is who).

    ``pace`` is each row's speed against the model's (1: as modelled; 0.9: every swab and tube
    change takes a ninth longer), for a day whose desks do not keep the planned pace."""
    c_start, c_end = closure_arrays(sites, model, deadline_minutes)
    arrivals = draw_arrivals(sites, row_site, model=model, pool_size=pool_size, rng=rng, identify=identify)
    speed = np.ones(len(row_site)) if pace is None else np.asarray(pace, dtype=float)
    service = arrivals.service if pace is None else arrivals.service / np.repeat(speed, arrivals.counts)
    served = serve(
        arrivals.time, service, arrivals.counts, c_start[row_site], c_end[row_site],
        seal_minutes=model.tube_seal_seconds / 60.0 / speed, pool_size=pool_size,
    )
    return Rows(arrivals, served, row_max(served.finish, arrivals.counts))


def row_max(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts))
    some = counts > 0
    if some.any():
        first = np.r_[0, np.cumsum(counts)[:-1]][some]
        out[some] = np.maximum.reduceat(values, first)
    return out


def simulate_day(
    day: DayInput,
    *,
    model: DayModel,
    runs: int,
    rng: np.random.Generator,
    bin_minutes: int = 10,
    chunk_people: int = CHUNK_PEOPLE,
    progress: Progress | None = None,
) -> DayOutcome:
    """The finish-time distribution and the day's series over ``runs`` simulated days."""
    if runs < 1:
        raise InvalidInput("runs", f"模拟次数至少为1 (runs must be at least 1), got {runs}")
    grid = time_grid(day.deadline_minutes, bin_minutes)
    tally = _Tally(runs=runs, sites=len(day.sites), points=len(grid))
    per_run = max(1.0, sum(s.called for s in day.sites) * (1 + model.walk_in_share))
    chunk = int(max(1, min(runs, chunk_people // per_run)))
    done = 0
    while done < runs:
        n = min(chunk, runs - done)
        row_site = np.tile(np.arange(len(day.sites)), n)
        rows = run_rows(day.sites, row_site, model=model, deadline_minutes=day.deadline_minutes, pool_size=day.pool_size, rng=rng)
        chain = follow_tubes(
            rows.served, rows.arrivals.counts, rows_per_run=len(day.sites), pool_size=day.pool_size,
            box_size=day.box_size, model=model, rng=rng,
        )
        tally.add(done, n, rows, chain, grid=grid, bin_minutes=bin_minutes)
        done += n
        if progress:
            progress(done, runs)
    return tally.outcome(day, model, grid)


class _Tally:
    """Sums across chunks of runs."""

    def __init__(self, *, runs: int, sites: int, points: int) -> None:
        self.runs, self.n_sites, self.points = runs, sites, points
        self.site_finish = np.zeros((runs, sites))
        self.results_done = np.zeros(runs)
        self.queue = np.zeros((sites, points))
        self.queue_peak = np.zeros(sites)
        self.sampled = np.zeros((sites, points))
        self.wait_by_bin = np.zeros((sites, points))
        self.arrived_by_bin = np.zeros((sites, points))
        self.site_wait = np.zeros((sites, WAIT_BINS[1]))
        self.site_wait_sum = np.zeros(sites)
        self.hist = {k: np.zeros(b[1]) for k, b in (("wait", WAIT_BINS), ("lab", CHAIN_BINS), ("result", CHAIN_BINS))}
        self.sums = {"wait": 0.0, "lab": 0.0, "result": 0.0}
        self.people = self.unserved = self.tubes = self.tubes_late = self.boxes = 0.0

    def add(self, first_run: int, n_runs: int, rows: Rows, chain: Chain, *, grid: np.ndarray, bin_minutes: int) -> None:
        s, p = self.n_sites, self.points
        counts = rows.arrivals.counts
        n_rows = len(counts)
        row = np.repeat(np.arange(n_rows), counts)
        site = row % s
        arrive, start, finish = rows.arrivals.time, rows.served.start, rows.served.finish
        ok = finish < NEVER / 2
        self.site_finish[first_run : first_run + n_runs] = rows.finish.reshape(n_runs, s)

        def per_row(times: np.ndarray) -> np.ndarray:
            j = np.clip(np.ceil((times - grid[0]) / bin_minutes), 0, p - 1).astype(np.int64)
            return np.cumsum(np.bincount(row * p + j, minlength=n_rows * p).reshape(n_rows, p), axis=1)

        queue = per_row(arrive) - per_row(np.where(ok, start, NEVER))
        swabbed = per_row(np.where(ok, finish, NEVER))
        self.queue += queue.reshape(n_runs, s, p).sum(axis=0)
        self.queue_peak += queue.max(axis=1).reshape(n_runs, s).sum(axis=0)
        self.sampled += swabbed.reshape(n_runs, s, p).sum(axis=0)

        wait = (start - arrive)[ok]
        j = np.clip(np.ceil((arrive[ok] - grid[0]) / bin_minutes), 0, p - 1).astype(np.int64)
        self.wait_by_bin += np.bincount(site[ok] * p + j, weights=wait, minlength=s * p).reshape(s, p)
        self.arrived_by_bin += np.bincount(site[ok] * p + j, minlength=s * p).reshape(s, p)
        width, bins = WAIT_BINS
        wb = np.minimum((wait / width).astype(np.int64), bins - 1)
        self.site_wait += np.bincount(site[ok] * bins + wb, minlength=s * bins).reshape(s, bins)
        self.site_wait_sum += np.bincount(site[ok], weights=wait, minlength=s)
        self._pool("wait", wait, WAIT_BINS)

        swab = finish[ok]
        tube = chain.tube_of[ok]
        self._pool("lab", chain.at_lab[tube] - swab, CHAIN_BINS)
        self._pool("result", chain.result[tube] - swab, CHAIN_BINS)
        self.people += float(ok.sum())
        self.unserved += float((~ok).sum())
        live = chain.sealed < NEVER / 2
        self.tubes += float(live.sum())
        self.tubes_late += float(((chain.at_lab - chain.first_swab) > ROOM_TEMPERATURE_MINUTES)[live].sum())
        self.boxes += float(chain.boxes.sum())
        tubes_per_row = np.bincount(chain.row[live], minlength=n_rows)
        last = row_max(chain.result[live], tubes_per_row)
        self.results_done[first_run : first_run + n_runs] = last.reshape(n_runs, s).max(axis=1)

    def _pool(self, key: str, values: np.ndarray, bins: tuple[float, int]) -> None:
        width, n = bins
        idx = np.clip((values / width).astype(np.int64), 0, n - 1)
        self.hist[key] += np.bincount(idx, minlength=n)
        self.sums[key] += float(values.sum())

    def outcome(self, day: DayInput, model: DayModel, grid: np.ndarray) -> DayOutcome:
        r = self.runs
        sites = []
        for i, site in enumerate(day.sites):
            finish = self.site_finish[:, i]
            arrived = self.arrived_by_bin[i]
            n = self.site_wait[i].sum()
            sites.append(
                SiteOutcome(
                    code=site.code,
                    desks=site.desks,
                    desks_staffed=site_closures(site, model, day.deadline_minutes)[2],
                    called=site.called,
                    home_people=site.home_people,
                    people=float(self.sampled[i, -1] / r),
                    finish=Spread.of(finish),
                    p_late=float(np.mean(finish > day.deadline_minutes)),
                    wait_mean=float(self.site_wait_sum[i] / n) if n else 0.0,
                    wait_p95=Spread.of_histogram(self.site_wait[i], WAIT_BINS[0], self.site_wait_sum[i]).p95 if n else 0.0,
                    queue_peak=float(self.queue_peak[i] / r),
                    queue=self.queue[i] / r,
                    wait=np.divide(self.wait_by_bin[i], arrived, out=np.full(len(grid), np.nan), where=arrived > 0),
                    sampled=self.sampled[i] / r,
                    planned=planned_line(site, grid),
                )
            )
        finish = self.site_finish.max(axis=1)
        return DayOutcome(
            runs=r,
            deadline_minutes=day.deadline_minutes,
            grid=grid,
            finish_by_run=finish,
            finish=Spread.of(finish),
            p_on_time=float(np.mean(finish <= day.deadline_minutes)),
            wait=Spread.of_histogram(self.hist["wait"], WAIT_BINS[0], self.sums["wait"]),
            sample_to_lab=Spread.of_histogram(self.hist["lab"], CHAIN_BINS[0], self.sums["lab"]),
            sample_to_result=Spread.of_histogram(self.hist["result"], CHAIN_BINS[0], self.sums["result"]),
            results_done=Spread.of(self.results_done),
            tubes_late_to_lab=self.tubes_late / self.tubes if self.tubes else 0.0,
            people=self.people / r,
            unserved=self.unserved / r,
            tubes=self.tubes / r,
            boxes=self.boxes / r,
            sites=tuple(sites),
        )


def planned_line(site: SiteInput, grid: np.ndarray) -> np.ndarray:
    """Cumulative people the plan calls by each time, spread evenly over each slot."""
    start = np.asarray(site.slot_start, dtype=float)[:, None]
    length = np.asarray(site.slot_minutes, dtype=float)[:, None]
    share = np.clip((grid[None, :] - start) / length, 0.0, 1.0)
    line: np.ndarray = (np.asarray(site.people, dtype=float)[:, None] * share).sum(axis=0)
    return line
