"""A distribution in four figures, and the forecast's band that must hold one more draw nine times in ten."""

from __future__ import annotations

import numpy as np

from sweep.simulate.outcome import Spread


def held(spread: type[Spread], method: str, n: int, trials: int, rng: np.random.Generator) -> float:
    """How often one more draw falls in the band made from ``n`` draws (``method`` names the band's maker)."""
    hits = 0
    for _ in range(trials):
        draws = rng.exponential(10.0, n + 1)
        band = getattr(spread, method)(draws[:n])
        hits += band.p5 <= draws[n] <= band.p95
    return hits / trials


def test_the_predictive_band_holds_one_more_draw_nine_times_in_ten_at_any_number_of_runs():
    rng = np.random.default_rng(7)
    for n in (20, 100):
        assert abs(held(Spread, "predictive", n, 6000, rng) - 0.90) < 0.015
    # The plain percentiles of few draws hold it less often: (n + 1 - 2k) / (n + 1), k = 1 + 0.05 (n - 1).
    assert held(Spread, "of", 20, 6000, rng) < 0.84


def test_the_predictive_band_keeps_the_mean_and_median_and_one_value():
    values = np.arange(101, dtype=float)
    plain, band = Spread.of(values), Spread.predictive(values)
    assert band.mean == plain.mean == 50.0 and band.p50 == plain.p50 == 50.0
    assert band.p5 < plain.p5 and band.p95 > plain.p95
    assert Spread.predictive(np.full(7, 3.0)) == Spread(3.0, 3.0, 3.0, 3.0)
    assert np.isnan(Spread.predictive(np.empty(0)).p5)
