"""The forecast's backtest: its output, and a band that carries the doubt about the day's pace."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.errors import InvalidInput
from sweep.simulate.backtest import MINUTES, backtest, scans_so_far
from sweep.simulate.forecast import forecast_day
from sweep.simulate.model import DayInput, DayModel, SiteInput
from sweep.simulate.montecarlo import run_rows
from sweep.simulate.pace import LOG_PACES, PaceVariation

MODEL = DayModel()
# Two busy sites: their desks run near capacity from the first hour, so the day's pace shows in the scans.
DAY = DayInput(
    sites=(
        SiteInput(code="A", desks=3, slot_start=np.arange(5) * 60, slot_minutes=np.full(5, 60), people=np.full(5, 560)),
        SiteInput(code="B", desks=2, slot_start=np.arange(4) * 60, slot_minutes=np.full(4, 60), people=np.full(4, 370)),
    )
)
NONE = PaceVariation(round_cv=0.0, site_cv=0.0)


def played(seed: int, variation: PaceVariation) -> tuple[list[np.ndarray], float, np.ndarray]:
    """One day of DAY with paces drawn from ``variation``: each site's swab times, the real finish, the paces."""
    rng = np.random.default_rng(seed)
    pace = variation.draw(2, 1, rng)[0]
    rows = run_rows(DAY.sites, np.arange(2), model=MODEL, deadline_minutes=360, pool_size=10, rng=rng, pace=pace)
    return np.split(rows.served.finish, np.cumsum(rows.arrivals.counts)[:-1]), float(rows.finish.max()), pace


def test_the_backtest_answers_a_hit_rate_per_minute_and_two_brier_scores():
    result = backtest(DAY, model=MODEL, days=3, runs=20, seed=5)
    out = result.as_json()
    assert set(out["band_hit_rate"]) == {"60", "120", "180", "240"} == set(out["brier_by_minute"])
    assert result.minutes == MINUTES and len(result.finish) == 3
    assert all(0.0 <= v <= 1.0 for v in result.band_hit_rate.values())
    assert all(w > 0 for w in result.band_width.values())
    assert 0.0 <= result.brier <= 1.0 and 0.0 <= result.brier_base <= 0.25
    # The base rate is the share of these days on time, and its score is p(1-p).
    p = result.on_time_rate
    assert result.brier_base == pytest.approx(p * (1 - p))
    # The same seed plays the same days.
    assert backtest(DAY, model=MODEL, days=3, runs=20, seed=5).finish.tolist() == result.finish.tolist()
    with pytest.raises(InvalidInput) as exc:
        backtest(DAY, model=MODEL, days=0, runs=20, seed=5)
    assert exc.value.field == "days"


def test_the_band_holds_days_whose_pace_strays_and_would_not_without_the_doubt():
    variation = PaceVariation()
    honest = blind = 0
    late_end: list[tuple[float, float]] = []
    for seed in range(30):
        swabs, finish, pace = played(1000 + seed, variation)
        scans = scans_so_far(DAY.sites, swabs, 60.0)
        f = forecast_day(DAY, scans, now=60.0, model=MODEL, runs=100, rng=np.random.default_rng(seed), variation=variation)
        g = forecast_day(DAY, scans, now=60.0, model=MODEL, runs=100, rng=np.random.default_rng(seed), variation=NONE)
        honest += f.finish.p5 <= finish <= f.finish.p95
        blind += g.finish.p5 <= finish <= g.finish.p95
        if pace.min() < 0.87:
            late_end.append((f.finish.p95, g.finish.p95))
    # 27 of 30 expected. A band that forgets how far the pace may stray holds fewer, and on the
    # days a site ran slow its late end is not late enough.
    assert honest >= 24
    assert blind < honest
    honest_end, blind_end = np.mean(late_end, axis=0)
    assert len(late_end) >= 5 and honest_end > blind_end + 5


def test_the_scans_of_a_queued_site_teach_its_pace_and_a_little_of_the_others():
    variation = PaceVariation()
    # Site 0's scans say 0.7 sharply; the others' say nothing.
    loglik = np.zeros((3, len(LOG_PACES)))
    loglik[0] = -0.5 * ((LOG_PACES - np.log(0.7)) / 0.02) ** 2
    posterior = variation.posterior(loglik)
    marginal = posterior.marginal
    mean = marginal @ LOG_PACES
    var = marginal @ LOG_PACES**2 - mean**2
    prior = variation.round_cv**2 + variation.site_cv**2
    assert mean[0] == pytest.approx(np.log(0.7), abs=0.02) and var[0] < prior / 10
    # The shared part: the others are thought a little slower too, and a little surer, but far less.
    assert np.log(0.7) < mean[1] < -0.02 and mean[1] == pytest.approx(mean[2])
    assert prior * 0.7 < var[1] < prior * 0.98
    # Nothing measured: the prior itself, the sites tied by the shared part.
    posterior = variation.posterior(np.zeros((3, len(LOG_PACES))))
    mean = posterior.marginal @ LOG_PACES
    var = posterior.marginal @ LOG_PACES**2 - mean**2
    assert np.allclose(mean, 0.0, atol=1e-9) and var[0] == pytest.approx(prior, rel=0.02)
    draws = np.log(posterior.draw(20_000, np.random.default_rng(3)))
    assert np.cov(draws[:, 0], draws[:, 1])[0, 1] == pytest.approx(variation.round_cv**2, rel=0.1)
    assert draws[:, 0].std() == pytest.approx(np.sqrt(prior), rel=0.05)


def test_pace_variation_refuses_nonsense():
    with pytest.raises(InvalidInput) as exc:
        PaceVariation(site_cv=-0.1)
    assert exc.value.field == "site_cv"
