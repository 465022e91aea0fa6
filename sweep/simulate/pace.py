"""How fast each site's desks really go today, learnt from their scans so far.

The desks' pace differs from the plan's from day to day (``PaceVariation``): a part shared by the
whole round (the weather, the scanning system) and a part each site's own (its team). The scans
tell of it, but how much depends on the line: a site with a long line swabs at its real pace, one
whose desks waited for people only shows that it is at least as fast as its scans, and one with
a short line is somewhere between. Rules of thumb for "how sure is this line" were too sure at
times (a slow site with a short line was read as nearly on plan) and too vague at others.

So the morning is simulated instead: every site's day up to *now* is played a few times
(``REPLICAS``) at each of a ladder of paces (``LADDER``), and what the scans would have shown at
each pace (the people swabbed before the last ``window`` minutes, and in them) is compared with
what they did show: the two counts' predictive distribution from the replicas (a Student t, a
Gaussian whose mean and covariance are themselves only estimated: a synthetic likelihood). That is the likelihood of each pace, with the right width whether the
line is long, short or absent. With the prior, on a grid of log-paces, it gives the posterior of
every site's pace, the shared part learnt from all sites together; each simulated rest of the
day draws its paces from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sweep.errors import InvalidInput
from sweep.simulate.arrivals import draw_arrivals
from sweep.simulate.model import DayModel, SiteInput
from sweep.simulate.queues import serve

# A site's pace against the model's, as a speed: at most three times slower, 1.5 times faster.
PACE_BOUNDS = (1 / 3, 1.5)
# The log-paces the posterior lives on: wide enough for a site 4.5 standard deviations of the
# default variation out either way (and the bounds' upper end), fine enough (0.005) for a long
# line's sharp reading.
LOG_PACE_SPAN = 0.65
FINE_STEPS = 261
# The paces at which the morning is played, and how many times each: the counts' mean and
# covariance in between are interpolated, being smooth in the pace.
LADDER = 14
REPLICAS = 16
# People called, times rungs and replicas, at most per forecast in the morning's simulation
# (replicas are cut to fit it in big districts, never below MIN_REPLICAS).
MORNING_PEOPLE = 4_000_000
MIN_REPLICAS = 6
# Added to each count's variance: scans are whole people, and the replicas' covariance is an estimate.
COUNT_VARIANCE = 1.0
# The shared part of the pace on this many points.
ROUND_STEPS = 41


@dataclass(frozen=True)
class PaceVariation:
    """How far the desks' pace on the day strays from the plan's, as standard deviations of its log.

    ``round_cv`` is shared by every site of the round, ``site_cv`` is each site's own. The defaults
    are a documented guess (docs/simulation.md), not a measurement: a site an eighth slower or faster
    than planned on a given day is common; the whole district a twelfth."""

    round_cv: float = 0.08
    site_cv: float = 0.12

    def __post_init__(self) -> None:
        for name in ("round_cv", "site_cv"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInput(name, f"应在 0 与 1 之间 (must be between 0 and 1), got {getattr(self, name)}")

    def draw(self, sites: int, runs: int, rng: np.random.Generator) -> np.ndarray:
        """Paces of ``runs`` days of ``sites`` sites, ``(runs, sites)``: one shared draw a day times one a site."""
        shared = rng.normal(0.0, self.round_cv, (runs, 1))
        own = rng.normal(0.0, self.site_cv, (runs, sites))
        return np.clip(np.exp(shared + own), *PACE_BOUNDS)

    def posterior(self, log_likelihood: np.ndarray) -> PacePosterior:
        """The posterior of every site's pace, given each site's log-likelihood on ``LOG_PACES``.

        Site i's log-pace is r + s_i, r shared and s_i its own, both Gaussian around 0. On a grid of
        r, the sites are independent: each r weighs by the prior and by how well every site's
        likelihood fits r + s_i; given r, each site's log-pace is its own prior times likelihood."""
        r = np.linspace(-4.0, 4.0, ROUND_STEPS) * self.round_cv
        site_sd = max(self.site_cv, 1e-6)
        # (r, sites, fine): log prior of s_i = x - r, plus the likelihood of x.
        joint = -0.5 * ((LOG_PACES[None, None, :] - r[:, None, None]) / site_sd) ** 2 + log_likelihood[None, :, :]
        top = joint.max(axis=2, keepdims=True)
        weight = np.exp(joint - top)
        z = weight.sum(axis=2, keepdims=True)
        log_r = -0.5 * (r / max(self.round_cv, 1e-6)) ** 2 + np.sum(np.log(z[:, :, 0]) + top[:, :, 0], axis=1)
        r_weight = np.exp(log_r - log_r.max())
        return PacePosterior(r_weight=r_weight / r_weight.sum(), site_weight=weight / z)


LOG_PACES = np.linspace(-LOG_PACE_SPAN, LOG_PACE_SPAN, FINE_STEPS)


@dataclass(frozen=True, eq=False)
class PacePosterior:
    """Weights on ``LOG_PACES``: of the shared part's grid points, and of each site's log-pace given each."""

    r_weight: np.ndarray  # (round steps,), sums to 1
    site_weight: np.ndarray  # (round steps, sites, fine steps), each row sums to 1

    @property
    def marginal(self) -> np.ndarray:
        """Each site's weight on ``LOG_PACES``, the shared part summed out: ``(sites, fine steps)``."""
        out: np.ndarray = np.tensordot(self.r_weight, self.site_weight, axes=1)
        return out

    def likeliest(self) -> np.ndarray:
        """Each site's speed at its posterior mean log-pace."""
        return np.clip(np.exp(self.marginal @ LOG_PACES), *PACE_BOUNDS)

    def draw(self, runs: int, rng: np.random.Generator) -> np.ndarray:
        """Speeds ``(runs, sites)``: one shared part a run, then each site's own given it."""
        steps, sites, fine = self.site_weight.shape
        which = rng.choice(steps, size=runs, p=self.r_weight)
        cdf = np.cumsum(self.site_weight, axis=2)
        cdf /= cdf[:, :, -1:]
        # One sorted array of all rows' CDFs, each row offset by its index, searched at once.
        flat = (cdf + np.arange(steps * sites, dtype=float).reshape(steps, sites, 1)).ravel()
        row = which[:, None] * sites + np.arange(sites)[None, :]
        k = np.searchsorted(flat, row + rng.random((runs, sites))) - row * fine
        step = LOG_PACES[1] - LOG_PACES[0]
        log_pace = LOG_PACES[np.clip(k, 0, fine - 1)] + (rng.random((runs, sites)) - 0.5) * step
        speed: np.ndarray = np.clip(np.exp(log_pace), *PACE_BOUNDS)
        return speed


def scan_likelihood(
    sites: Sequence[SiteInput],
    done: np.ndarray,
    recent: np.ndarray,
    *,
    now: float,
    since: float,
    model: DayModel,
    c_start: np.ndarray,
    c_end: np.ndarray,
    pool_size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Log-likelihood of each site's pace on ``LOG_PACES``, ``(sites, fine steps)``, from its scans.

    ``done`` people swabbed by ``now``, ``recent`` of them after ``since``. The sites' mornings are
    played ``REPLICAS`` times at each of ``LADDER`` paces; the same arrivals at every pace, so the
    counts' differences between paces are the pace's, not the dice's."""
    n_sites = len(sites)
    out = np.zeros((n_sites, FINE_STEPS))
    if now <= 0 or n_sites == 0:
        return out
    ladder = np.linspace(-LOG_PACE_SPAN, LOG_PACE_SPAN, LADDER)
    before = np.asarray(done, dtype=float) - np.asarray(recent, dtype=float)
    observed = np.stack([before, np.asarray(recent, dtype=float)], axis=1)  # (sites, 2)

    called = np.array([s.called for s in sites], dtype=np.int64)
    replicas = int(max(MIN_REPLICAS, min(REPLICAS, MORNING_PEOPLE // (max(1, int(called.sum())) * LADDER))))
    # Sites in groups of at most MORNING_PEOPLE played people, so that a big district's morning
    # fits in memory; the sites are independent given their paces.
    group = np.cumsum(called * LADDER * replicas) // MORNING_PEOPLE
    stats = np.concatenate([
        _morning_counts(
            [sites[int(i)] for i in members], c_start[members], c_end[members], now=now, since=since, model=model,
            pool_size=pool_size, replicas=replicas, ladder=ladder, rng=rng,
        )
        for members in (np.flatnonzero(group == g) for g in np.unique(group))
    ], axis=2)

    mean = stats.mean(axis=1)  # (ladder, sites, 2)
    dev = stats - mean[:, None]
    # The counts' mean and covariance are themselves estimates from the replicas: the next count is
    # then a Student t around their mean (the Gaussian's predictive under an uninformed prior on
    # both), wider than the Gaussian and heavier-tailed the fewer the replicas.
    nu, scale = _predictive_t(replicas)
    cov = np.einsum("lksa,lksb->lsab", dev, dev) * scale
    cov += np.eye(2) * COUNT_VARIANCE
    # To the fine grid: linear between the ladder's rungs (a mix of covariances is one).
    pos = np.interp(LOG_PACES, ladder, np.arange(LADDER))
    lo = np.clip(np.floor(pos).astype(int), 0, LADDER - 2)
    frac = (pos - lo)[:, None, None]
    m = mean[lo] * (1 - frac) + mean[lo + 1] * frac  # (fine, sites, 2)
    c = cov[lo] * (1 - frac)[..., None] + cov[lo + 1] * frac[..., None]  # (fine, sites, 2, 2)
    d = observed[None] - m
    det = c[..., 0, 0] * c[..., 1, 1] - c[..., 0, 1] ** 2
    quad = (c[..., 1, 1] * d[..., 0] ** 2 - 2 * c[..., 0, 1] * d[..., 0] * d[..., 1] + c[..., 0, 0] * d[..., 1] ** 2) / det
    loglik = -0.5 * (nu + 2) * np.log1p(quad / nu) - 0.5 * np.log(det)
    out[:] = loglik.T
    return out


def _predictive_t(replicas: int) -> tuple[float, float]:
    """The degrees of freedom of the counts' predictive t, and what turns the replicas' sum of
    squared deviations into its scale matrix: with n replicas of a count in d = 2 dimensions,
    t with n - d degrees of freedom and scale S (n + 1) / (n (n - d)) (Gelman et al., Bayesian Data
    Analysis, 3rd ed., section 3.6, with the prior p(mean, cov) ∝ |cov|^-(d+1)/2)."""
    n = max(replicas, 3)
    return float(n - 2), (n + 1) / (n * (n - 2))


def _morning_counts(
    sites: Sequence[SiteInput],
    c_start: np.ndarray,
    c_end: np.ndarray,
    *,
    now: float,
    since: float,
    model: DayModel,
    pool_size: int,
    replicas: int,
    ladder: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The people each site would have swabbed before ``since`` and between it and ``now``, at each
    rung of the ``ladder`` of log-paces in each replica: ``(rungs, replicas, sites, 2)``."""
    n_sites = len(sites)
    rungs = len(ladder)
    # Rows: replica-major, then site; each played at every rung of the ladder (rung-major).
    rows = replicas * n_sites
    arrivals = draw_arrivals(sites, np.tile(np.arange(n_sites), replicas), model=model, pool_size=pool_size, rng=rng)
    came = arrivals.time <= now
    counts = np.bincount(np.repeat(np.arange(rows), arrivals.counts)[came], minlength=rows)
    speed = np.repeat(np.exp(ladder), rows)
    row_site = np.tile(np.arange(n_sites), replicas * rungs)
    row_counts = np.tile(counts, rungs)
    served = serve(
        np.tile(arrivals.time[came], rungs), np.tile(arrivals.service[came], rungs) / np.repeat(speed, row_counts),
        row_counts, c_start[row_site], c_end[row_site], seal_minutes=model.tube_seal_seconds / 60.0 / speed, pool_size=pool_size,
    )
    served_row = np.repeat(np.arange(rungs * rows), row_counts)
    swabbed = np.bincount(served_row, weights=served.finish <= now, minlength=rungs * rows)
    late = np.bincount(served_row, weights=(served.finish > since) & (served.finish <= now), minlength=rungs * rows)
    stats: np.ndarray = np.stack([swabbed - late, late], axis=1).reshape(rungs, replicas, n_sites, 2)
    return stats
