"""What the simulation of the day gives back: per site and for the round, over many runs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A tube must reach the lab within four hours at room temperature (national guideline, 2022).
ROOM_TEMPERATURE_MINUTES = 240.0
# How many of the sites most likely to be late are named.
LATE_SITES_SHOWN = 10


@dataclass(frozen=True)
class Spread:
    """A distribution in four figures: the mean and the 5th, 50th and 95th percentiles."""

    mean: float
    p5: float
    p50: float
    p95: float

    @classmethod
    def of(cls, values: np.ndarray) -> Spread:
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            return cls(math.nan, math.nan, math.nan, math.nan)
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        return cls(float(np.mean(values)), float(p5), float(p50), float(p95))

    @classmethod
    def predictive(cls, values: np.ndarray) -> Spread:
        """Where one more draw will fall, from n draws: the band from the 5th to the 95th holds it 90% of the time.

        The plain percentiles of n draws are too narrow for that: the one between the k-th smallest
        and the k-th largest of n holds a new draw (n + 1 - 2k) / (n + 1) of the time, 88% for the
        5th and 95th percentiles of 100. Weibull's plotting position (the p-th quantile at rank
        p (n + 1)) makes it 90% at any n. A forecast of today's finish is such a draw."""
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            return cls(math.nan, math.nan, math.nan, math.nan)
        p5, p50, p95 = np.percentile(values, [5, 50, 95], method="weibull")
        return cls(float(np.mean(values)), float(p5), float(p50), float(p95))

    @classmethod
    def of_histogram(cls, counts: np.ndarray, width: float, total: float) -> Spread:
        """From counts in bins ``[k*width, (k+1)*width)`` and the exact sum of the values."""
        n = float(counts.sum())
        if n == 0:
            return cls(math.nan, math.nan, math.nan, math.nan)
        cum = np.cumsum(counts)

        def q(p: float) -> float:
            k = int(np.searchsorted(cum, p * n, side="left"))
            before = cum[k - 1] if k else 0.0
            inside = (p * n - before) / counts[k] if counts[k] else 0.0
            return float((k + inside) * width)

        return cls(total / n, q(0.05), q(0.5), q(0.95))


@dataclass(frozen=True, eq=False)
class SiteOutcome:
    """One site over all runs. Series are read at the round's ``grid`` times (means over runs)."""

    code: str
    desks: int
    desks_staffed: int
    called: int
    home_people: int
    people: float  # mean people sampled at the desks per run
    finish: Spread  # minutes from the start to the site's last swab
    p_late: float  # share of runs where the last swab came after the deadline
    wait_mean: float
    wait_p95: float
    queue_peak: float  # mean over runs of the longest queue seen at the grid times
    queue: np.ndarray  # people waiting (arrived, not yet at a desk)
    wait: np.ndarray  # mean wait of the people who arrived in the bin ending at each time
    sampled: np.ndarray  # cumulative people swabbed
    planned: np.ndarray  # the plan's line: cumulative people called, evenly within their slots


@dataclass(frozen=True, eq=False)
class DayOutcome:
    """The round over ``runs`` simulated days."""

    runs: int
    deadline_minutes: int
    grid: np.ndarray  # minutes from the start of sampling
    finish_by_run: np.ndarray  # last swab of the round, per run
    finish: Spread
    p_on_time: float  # share of runs with every site done by the deadline
    wait: Spread  # per person, minutes from arrival to the desk
    sample_to_lab: Spread  # per person, swab to the lab's signature
    sample_to_result: Spread  # per person, swab to the tube's result
    results_done: Spread  # per run, the round's last result
    tubes_late_to_lab: float  # share of tubes reaching the lab more than four hours after their first swab
    people: float  # mean people swabbed at desks per run
    unserved: float  # mean people per run whom no open desk ever took (every sampler gone)
    tubes: float  # mean per run
    boxes: float  # mean per run
    sites: tuple[SiteOutcome, ...]

    @property
    def late_sites(self) -> tuple[SiteOutcome, ...]:
        """The sites most likely to finish after the deadline, worst first."""
        risky = [s for s in self.sites if s.p_late > 0]
        risky.sort(key=lambda s: (-s.p_late, -s.finish.p95))
        return tuple(risky[:LATE_SITES_SHOWN])

    @property
    def queue(self) -> np.ndarray:
        total: np.ndarray = np.sum([s.queue for s in self.sites], axis=0)
        return total

    @property
    def sampled(self) -> np.ndarray:
        total: np.ndarray = np.sum([s.sampled for s in self.sites], axis=0)
        return total

    @property
    def planned(self) -> np.ndarray:
        total: np.ndarray = np.sum([s.planned for s in self.sites], axis=0)
        return total
