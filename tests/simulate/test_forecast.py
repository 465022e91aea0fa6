"""The live forecast, on days whose truth is known: simulated ones here, a played demo round in test_service."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.errors import InvalidInput
from sweep.simulate.forecast import SiteProgress, forecast_day
from sweep.simulate.model import DayInput, DayModel, SiteInput
from sweep.simulate.montecarlo import run_rows, simulate_day
from sweep.simulate.pace import PaceVariation

MODEL = DayModel()
# Desks that keep exactly the planned pace, day after day.
STEADY = PaceVariation(round_cv=0.0, site_cv=0.0)
DAY = DayInput(
    sites=(
        SiteInput(code="A", desks=3, slot_start=np.arange(5) * 60, slot_minutes=np.full(5, 60), people=np.full(5, 500)),
        SiteInput(code="B", desks=2, slot_start=np.arange(3) * 60, slot_minutes=np.full(3, 60), people=np.full(3, 350)),
    )
)


def true_days(model: DayModel, runs: int, seed: int) -> list[np.ndarray]:
    """Swab times of each site in ``runs`` days played by ``model``: the scans the desks would make."""
    rows = run_rows(DAY.sites, np.tile(np.arange(2), runs), model=model, deadline_minutes=360, pool_size=10,
                    rng=np.random.default_rng(seed))
    return np.split(rows.served.finish, np.cumsum(rows.arrivals.counts)[:-1])


def progress(swabs: list[np.ndarray], now: float, codes: tuple[str, ...] = ("A", "B")) -> list[SiteProgress]:
    out = []
    for code, times in zip(codes, swabs, strict=True):
        seen = times[times <= now]
        per_minute = np.bincount(np.floor(seen).astype(int), minlength=int(now) + 1)[: int(now) + 1]
        out.append(SiteProgress(code=code, per_minute=per_minute, last_scan=float(seen.max()) if len(seen) else None))
    return out


def test_the_interval_holds_the_true_finish_about_nine_times_in_ten():
    swabs = true_days(MODEL, runs=30, seed=100)
    hits = total = 0
    for day in range(30):
        mine = swabs[2 * day : 2 * day + 2]
        f = forecast_day(DAY, progress(mine, 150.0), now=150.0, model=MODEL, runs=100, rng=np.random.default_rng(day))
        for site, times in zip(f.sites, mine, strict=True):
            hits += site.finish.p5 <= times.max() <= site.finish.p95
            total += 1
    # A 90% interval: 54 of 60 expected; fewer than 46 would mean an interval far too narrow or off centre.
    assert 46 <= hits <= total


def test_a_site_slower_than_planned_is_seen_and_forecast_later():
    slow = DayModel(person_seconds=27.0)  # two thirds of the planned pace: a sampler short, or slow hands
    swabs = true_days(slow, runs=1, seed=7)
    f = forecast_day(DAY, progress(swabs, 150.0), now=150.0, model=MODEL, runs=200, rng=np.random.default_rng(1))
    plan = simulate_day(DAY, model=MODEL, runs=200, rng=np.random.default_rng(1))
    site = f.sites[0]
    assert site.pace < 0.8 and site.waiting > 50
    assert site.finish.p50 > plan.sites[0].finish.p50 + 30
    # A third slower lies far out in the day-to-day variation the forecast assumes (2.8 sd of it),
    # so the measured pace is pulled a little toward the plan: the band's late end may fall short
    # by a minute or two.
    assert site.finish.p5 <= swabs[0].max() <= site.finish.p95 + 5


def test_after_the_last_scan_the_forecast_is_the_last_scan():
    swabs = true_days(MODEL, runs=1, seed=3)
    f = forecast_day(DAY, progress(swabs, 600.0), now=600.0, model=MODEL, runs=50, rng=np.random.default_rng(2))
    for site, times in zip(f.sites, swabs, strict=True):
        assert site.finished and site.sampled == len(times)
        assert site.finish.p5 == site.finish.p95 == pytest.approx(times.max())
    assert f.finish.p50 == pytest.approx(max(t.max() for t in swabs))
    assert f.p_on_time == float(max(t.max() for t in swabs) <= 360)


def test_before_any_scan_the_forecast_is_the_plans_simulation_with_the_days_variation():
    nothing = [SiteProgress(code=s.code, per_minute=np.zeros(1, dtype=int)) for s in DAY.sites]
    steady = forecast_day(DAY, nothing, now=0.0, model=MODEL, runs=300, rng=np.random.default_rng(4), variation=STEADY)
    plan = simulate_day(DAY, model=MODEL, runs=300, rng=np.random.default_rng(5))
    for ours, theirs in zip(steady.sites, plan.sites, strict=True):
        assert ours.sampled == 0 and ours.pace == 1.0
        assert ours.finish.mean == pytest.approx(theirs.finish.mean, abs=2.0)
    # Nobody knows yet how fast the desks will go today: the slow days stretch the band's late end.
    f = forecast_day(DAY, nothing, now=0.0, model=MODEL, runs=300, rng=np.random.default_rng(4))
    for ours, sure in zip(f.sites, steady.sites, strict=True):
        assert ours.pace == 1.0
        assert ours.finish.p95 > sure.finish.p95 + 2
        assert ours.finish.p95 - ours.finish.p5 > sure.finish.p95 - sure.finish.p5


def test_progress_must_match_the_plans_sites():
    with pytest.raises(InvalidInput) as exc:
        forecast_day(DAY, [], now=10.0, model=MODEL, runs=10, rng=np.random.default_rng(1))
    assert exc.value.field == "progress"


# Two sites alike from the second hour on: one whose first hour brings a short line, one a long.
FIRST_HOUR = DayInput(
    sites=(
        SiteInput(code="short", desks=2, slot_start=np.arange(4) * 60, slot_minutes=np.full(4, 60), people=np.array([250, 400, 400, 400])),
        SiteInput(code="long", desks=2, slot_start=np.arange(4) * 60, slot_minutes=np.full(4, 60), people=np.array([600, 400, 400, 400])),
    )
)


def test_a_short_slow_first_hour_leaves_a_wider_band_than_a_long_steady_one():
    # The short line's desks go at 0.8 of the plan, yet keep up with the first hour's few: an hour of
    # their scans says little of how slow they are. The long line's scans are its pace, to a few per
    # cent. From the second hour both have more than their desks can take, so the pace is the finish.
    rows = run_rows(FIRST_HOUR.sites, np.arange(2), model=MODEL, deadline_minutes=360, pool_size=10,
                    rng=np.random.default_rng(11), pace=np.array([0.8, 1.0]))
    swabs = np.split(rows.served.finish, np.cumsum(rows.arrivals.counts)[:-1])
    scans = progress(swabs, 60.0, codes=("short", "long"))
    f = forecast_day(FIRST_HOUR, scans, now=60.0, model=MODEL, runs=300, rng=np.random.default_rng(12))
    short, long = f.sites
    assert long.waiting > 150 > short.waiting
    assert short.finish.p95 - short.finish.p5 > 1.5 * (long.finish.p95 - long.finish.p5)
    # It is the doubt about the pace that widens the short one's band: with the pace known, the
    # band of each is narrower, the short one's by far more.
    g = forecast_day(FIRST_HOUR, scans, now=60.0, model=MODEL, runs=300, rng=np.random.default_rng(12), variation=STEADY)
    sure_short, sure_long = g.sites
    short_doubt = (short.finish.p95 - short.finish.p5) - (sure_short.finish.p95 - sure_short.finish.p5)
    long_doubt = (long.finish.p95 - long.finish.p5) - (sure_long.finish.p95 - sure_long.finish.p5)
    assert short_doubt > long_doubt + 3 > 3
