"""The live forecast: from the scans so far, when will each site and the round really finish?

For each site the day is simulated many times from *now*, conditioned on what the scans say:

- Everyone the model would have had arrive by now, less those already swabbed, is either still
  in the queue or did not come. The site is taken to have a queue when its desks swabbed near
  their capacity over the last ``window_minutes``, or when the shortfall is larger than both
  ``QUEUE_PER_DESK`` people a desk and what a lower turnout (``TURNOUT_SLACK``) would explain;
  then the shortfall waits at ``now``. Otherwise there is no queue: the shortfall did not come.
- If more were swabbed than the model had arrive by now, people came earlier than planned: that
  many of the model's later arrivals are taken as already here and gone.
- The desks' pace differs from the plan's from day to day (``PaceVariation``): a part shared
  by the whole round (the weather, the scanning system) and a part each site's own (its team).
  Before any queue that is all the forecast knows, so each run draws the day's paces from it.
  A site with a queue shows its real pace: the scans it made in the window over the model's
  capacity, read as a measure of its log-pace with the error of n scans. The measures of the
  queued sites and the prior give the posterior of every site's pace (a Gaussian in the logs:
  the shared part learnt from the queued sites tells of the others too), and each run draws its
  paces from that posterior: the interval carries the doubt about the pace as well as the dice
  of the rest of the day.

The finish of a site is its last swab; with nobody left to come it is the last scan seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from sweep.errors import InvalidInput
from sweep.simulate.arrivals import draw_arrivals
from sweep.simulate.model import DayInput, DayModel
from sweep.simulate.montecarlo import CHUNK_PEOPLE, row_max
from sweep.simulate.outcome import LATE_SITES_SHOWN, Spread
from sweep.simulate.queues import serve
from sweep.simulate.staffing import NEVER, closure_arrays

# Desks that swabbed at least this share of what they could have are taken to have had a queue.
BUSY_UTILISATION = 0.85
# A shortfall of more than this many people a desk, and more than this share of the people due
# by now, is read as a queue rather than as people who stayed away.
QUEUE_PER_DESK = 10
TURNOUT_SLACK = 0.05
# A line this many times the square root of the people due by now is surely a line; a shorter
# one leaves the doubt LINE_DOUBT / (its multiple)⁴ on the log-pace its scans measure: a line
# of one such root barely moves the pace (sd 0.55), one of two a little (sd 0.14).
SURE_LINE = 3.0
LINE_DOUBT = 0.3
# A site's observed pace against the model's, as a speed: at most three times slower, 1.5 faster.
PACE_BOUNDS = (1 / 3, 1.5)


@dataclass(frozen=True)
class PaceVariation:
    """How far the desks' pace on the day strays from the plan's, as standard deviations of its log.

    ``round_cv`` is shared by every site of the round, ``site_cv`` is each site's own. The defaults
    are a documented guess (docs/simulation.md), not a measurement: a site an eighth slower or faster
    than planned on a given day is common; the whole district a twelfth."""

    round_cv: float = 0.08
    site_cv: float = 0.12
    # n scans in a window of busy desks measure the log-pace with a variance of about cv²/n, cv
    # that of one person's time at the desk (0.43 with the default swab and tube change); this
    # is taken a little wider, for a line that thins out within the window.
    measure_inflation: float = 0.5

    def __post_init__(self) -> None:
        for name in ("round_cv", "site_cv"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInput(name, f"应在 0 与 1 之间 (must be between 0 and 1), got {getattr(self, name)}")
        if self.measure_inflation <= 0:
            raise InvalidInput("measure_inflation", f"必须大于0 (must be greater than 0), got {self.measure_inflation}")

    def draw(self, sites: int, runs: int, rng: np.random.Generator) -> np.ndarray:
        """Paces of ``runs`` days of ``sites`` sites, ``(runs, sites)``: one shared draw a day times one a site."""
        shared = rng.normal(0.0, self.round_cv, (runs, 1))
        own = rng.normal(0.0, self.site_cv, (runs, sites))
        return np.clip(np.exp(shared + own), *PACE_BOUNDS)

    def posterior(self, log_pace: np.ndarray, variance: np.ndarray, measured: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of each site's log-pace, given a measure at the ``measured`` sites.

        The log-pace of site i is r + s_i (r shared, s_i its own, both Gaussian around 0); a measure
        y_i = r + s_i + e_i with e_i of the given variance. Gaussian in, Gaussian out."""
        n = len(log_pace)
        prior = np.zeros((n + 1, n + 1))
        prior[0, 0] = max(self.round_cv, 1e-6) ** 2
        prior[1:, 1:] = np.eye(n) * max(self.site_cv, 1e-6) ** 2
        h = np.zeros((int(measured.sum()), n + 1))
        h[:, 0] = 1.0
        h[np.arange(len(h)), 1 + np.flatnonzero(measured)] = 1.0
        s = h @ prior @ h.T + np.diag(variance[measured])
        gain = prior @ h.T @ np.linalg.inv(s) if len(h) else np.zeros((n + 1, 0))
        mean = gain @ log_pace[measured]
        cov = prior - gain @ h @ prior
        # Site i's log-pace is r + s_i: map the state (r, s) to the sites.
        a = np.hstack([np.ones((n, 1)), np.eye(n)])
        return a @ mean, a @ cov @ a.T


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
    variation: PaceVariation = PaceVariation(),
) -> Forecast:
    """Expected finish per site and for the round, with a 90% interval, from the scans up to ``now``."""
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
    busy = speed = chol = None
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
            # A busy site's scans measure its pace only if its desks never waited for people in the
            # window: sure when its line is far longer than the model's own doubt about how many
            # have come by now (about their square root), doubtful when it is not. That doubt is
            # added to the measure's variance; and a site whose line is not sure is at least as
            # fast as its scans say (with no line it swabbed all who came).
            measured = busy
            measure = np.log(np.clip(utilisation, *PACE_BOUNDS))
            line = np.maximum(mean_excess, 1.0) / np.sqrt(np.maximum(mean_arrived, 1.0))
            variance = variation.measure_inflation / np.maximum(recent, 1.0) + LINE_DOUBT / line**4
            mean_log, cov = variation.posterior(measure, variance, measured)
            floor = np.where((line > SURE_LINE) | (recent < 1), -np.inf, measure)
            speed = np.clip(np.exp(np.maximum(mean_log, floor)), *PACE_BOUNDS)
            chol = mean_log, np.linalg.cholesky(cov + np.eye(n_sites) * 1e-12), floor
        assert speed is not None and chol is not None
        row_speed = np.clip(np.exp(_draw_log_pace(*chol, runs=n, rng=rng).reshape(-1)), *PACE_BOUNDS)
        wait_now = np.where(busy[row_site], np.maximum(excess, 0), 0)
        early = np.maximum(-excess, 0)
        first = np.zeros(len(row_site), dtype=np.int64)
        np.cumsum(arrivals.counts[:-1], out=first[1:])
        place = np.arange(len(row)) - first[row]
        # Keep: the last ``wait_now`` of those arrived by now (they wait at now), and the future
        # arrivals after the first ``early`` of them (who came before their time and are done).
        keep = ((place >= arrived[row] - wait_now[row]) & (place < arrived[row])) | (place >= arrived[row] + early[row])
        kept = np.bincount(row[keep], minlength=len(row_site))
        served = serve(
            np.maximum(arrivals.time[keep], now), arrivals.service[keep] / row_speed[row[keep]], kept,
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
            finish=Spread.of(finish[:, i]),
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
        finish=Spread.of(overall),
        p_on_time=float(np.mean(overall <= day.deadline_minutes)),
        finish_by_run=overall,
        sites=sites,
    )


def _draw_log_pace(mean: np.ndarray, chol: np.ndarray, floor: np.ndarray, *, runs: int, rng: np.random.Generator) -> np.ndarray:
    """Log-paces ``(runs, sites)`` from the Gaussian posterior, each site's kept above its floor.

    Each site's draw is moved to the same quantile of its Gaussian cut at the floor, so the sites
    keep the dependence the shared part of the pace gives them."""
    z = rng.normal(0.0, 1.0, (runs, len(mean))) @ chol.T
    sd = np.sqrt(np.maximum(np.sum(chol**2, axis=1), 1e-18))
    cut = np.isfinite(floor)
    if cut.any():
        below = _normal_cdf((floor[cut] - mean[cut]) / sd[cut])
        u = below + _normal_cdf(z[:, cut] / sd[cut]) * (1.0 - below)
        z[:, cut] = _normal_quantile(np.clip(u, 1e-12, 1 - 1e-12)) * sd[cut]
    drawn: np.ndarray = mean[None, :] + z
    return drawn


_normal_cdf = np.vectorize(lambda x: NormalDist().cdf(x), otypes=[float])
_normal_quantile = np.vectorize(lambda p: NormalDist().inv_cdf(p), otypes=[float])


def _open_minutes(c_start: np.ndarray, c_end: np.ndarray, a: float, b: float) -> np.ndarray:
    """Desk-minutes each site's desks were open in [a, b)."""
    overlap = np.clip(np.minimum(c_end, b) - np.maximum(c_start, a), 0.0, None).sum(axis=2)
    minutes: np.ndarray = np.clip((b - a) - overlap, 0.0, None).sum(axis=1)
    return minutes
