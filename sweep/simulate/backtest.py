"""The live forecast tried on days whose end is known: is its 90% band right nine times in ten?

Each day is played by the model with its own desk paces drawn from the day-to-day variation
(``PaceVariation``), the same the forecast assumes. At each of the given minutes the forecast is
made exactly as the dashboard makes it (``forecast_day``), from the desk scans that day made so
far, and compared with the day's real finish: whether the finish fell in the band (5th to 95th
percentile), and the Brier score of P(on time) against always answering the share of days that
were on time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sweep.errors import InvalidInput
from sweep.simulate.forecast import SiteProgress, forecast_day
from sweep.simulate.model import DayInput, DayModel, SiteInput
from sweep.simulate.montecarlo import run_rows
from sweep.simulate.pace import PaceVariation

MINUTES = (60, 120, 180, 240)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Backtest:
    days: int
    runs: int
    minutes: tuple[int, ...]
    band_hit_rate: dict[int, float]  # share of days whose real finish fell in the band made at the minute
    band_width: dict[int, float]  # mean width of the band, minutes
    brier_by_minute: dict[int, float]
    brier: float  # over every day and minute
    brier_base: float  # always answering the share of days on time
    on_time_rate: float
    finish: np.ndarray  # each day's real finish

    def as_json(self) -> dict[str, object]:
        return {
            "days": self.days,
            "runs": self.runs,
            "band_hit_rate": {str(m): round(v, 4) for m, v in self.band_hit_rate.items()},
            "band_width": {str(m): round(v, 1) for m, v in self.band_width.items()},
            "brier_by_minute": {str(m): round(v, 4) for m, v in self.brier_by_minute.items()},
            "brier": round(self.brier, 4),
            "brier_base": round(self.brier_base, 4),
            "on_time_rate": round(self.on_time_rate, 4),
            "finish_p50": round(float(np.median(self.finish)), 1),
        }


def scans_so_far(sites: Sequence[SiteInput], swabs: Sequence[np.ndarray], now: float) -> list[SiteProgress]:
    """What the dashboard reads at ``now``: each site's desk scans per minute, and its last scan."""
    out = []
    width = int(np.floor(now)) + 1
    for site, times in zip(sites, swabs, strict=True):
        seen = times[times <= now]
        per_minute = np.bincount(np.floor(seen).astype(np.int64), minlength=width)[:width]
        out.append(SiteProgress(code=site.code, per_minute=per_minute, last_scan=float(seen.max()) if len(seen) else None))
    return out


def backtest(
    day: DayInput,
    *,
    model: DayModel,
    days: int,
    runs: int,
    seed: int,
    variation: PaceVariation | None = None,
    minutes: Sequence[int] = MINUTES,
    progress: Progress | None = None,
) -> Backtest:
    """Play ``days`` days of the plan and forecast each at ``minutes`` with ``runs`` simulated rests of the day."""
    if days < 1:
        raise InvalidInput("days", f"至少回测一天 (at least one day), got {days}")
    variation = variation or PaceVariation()
    n_sites = len(day.sites)
    hits = np.zeros((len(minutes), days), dtype=bool)
    width = np.zeros((len(minutes), days))
    p_on_time = np.zeros((len(minutes), days))
    finish = np.zeros(days)
    for d in range(days):
        rng = np.random.default_rng([seed, d])
        pace = variation.draw(n_sites, 1, rng)[0]
        rows = run_rows(day.sites, np.arange(n_sites), model=model, deadline_minutes=day.deadline_minutes, pool_size=day.pool_size,
                        rng=rng, pace=pace)
        swabs = np.split(rows.served.finish, np.cumsum(rows.arrivals.counts)[:-1])
        finish[d] = float(rows.finish.max())
        for k, m in enumerate(minutes):
            f = forecast_day(day, scans_so_far(day.sites, swabs, float(m)), now=float(m), model=model, runs=runs,
                             rng=np.random.default_rng([seed, d, m]), variation=variation)
            hits[k, d] = f.finish.p5 <= finish[d] <= f.finish.p95
            width[k, d] = f.finish.p95 - f.finish.p5
            p_on_time[k, d] = f.p_on_time
        if progress:
            progress(d + 1, days)
    on_time = (finish <= day.deadline_minutes).astype(float)
    base = float(on_time.mean())
    return Backtest(
        days=days,
        runs=runs,
        minutes=tuple(minutes),
        band_hit_rate={m: float(hits[k].mean()) for k, m in enumerate(minutes)},
        band_width={m: float(width[k].mean()) for k, m in enumerate(minutes)},
        brier_by_minute={m: float(np.mean((p_on_time[k] - on_time) ** 2)) for k, m in enumerate(minutes)},
        brier=float(np.mean((p_on_time - on_time[None, :]) ** 2)),
        brier_base=float(np.mean((base - on_time) ** 2)),
        on_time_rate=base,
        finish=finish,
    )
