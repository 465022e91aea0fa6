"""What the simulation and forecast answer, as JSON. Minutes are from the start of sampling."""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from sweep.simulate.forecast import Forecast
from sweep.simulate.outcome import DayOutcome, SiteOutcome, Spread


def _num(value: float, digits: int = 2) -> float | None:
    """JSON has no infinity: a site that never finishes (no sampler left) reads as null."""
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _series(values: np.ndarray, digits: int = 1) -> list[float | None]:
    return [_num(v, digits) for v in np.asarray(values, dtype=float)]


class SpreadRead(BaseModel):
    mean: float | None
    p5: float | None
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, s: Spread) -> SpreadRead:
        return cls(mean=_num(s.mean), p5=_num(s.p5), p50=_num(s.p50), p95=_num(s.p95))


class SeriesRead(BaseModel):
    """Means over the runs, read at ``grid`` times."""

    queue: list[float | None]
    wait: list[float | None] | None = None
    sampled: list[float | None]
    planned: list[float | None]


class SiteSimulationRead(BaseModel):
    code: str
    desks: int
    desks_staffed: int
    called: int
    home_people: int
    people: float
    finish: SpreadRead
    p_late: float
    wait_mean: float | None
    wait_p95: float | None
    queue_peak: float
    series: SeriesRead | None = None

    @classmethod
    def of(cls, s: SiteOutcome, *, series: bool) -> SiteSimulationRead:
        return cls(
            code=s.code, desks=s.desks, desks_staffed=s.desks_staffed, called=s.called, home_people=s.home_people,
            people=round(s.people, 1), finish=SpreadRead.of(s.finish), p_late=round(s.p_late, 4),
            wait_mean=_num(s.wait_mean), wait_p95=_num(s.wait_p95), queue_peak=round(s.queue_peak, 1),
            series=SeriesRead(queue=_series(s.queue), wait=_series(s.wait, 2), sampled=_series(s.sampled), planned=_series(s.planned))
            if series else None,
        )


class SimulationRead(BaseModel):
    campaign_id: int
    runs: int
    seed: int
    deadline_minutes: int
    p_on_time: float
    finish: SpreadRead
    finish_by_run: list[float | None]
    wait: SpreadRead
    sample_to_lab: SpreadRead
    sample_to_result: SpreadRead
    results_done: SpreadRead
    tubes_late_to_lab: float
    people: float
    unserved: float
    tubes: float
    boxes: float
    late_sites: list[str]
    grid: list[float]
    series: SeriesRead
    sites: list[SiteSimulationRead]

    @classmethod
    def of(cls, o: DayOutcome, *, campaign_id: int, seed: int, site_series: bool = False) -> SimulationRead:
        return cls(
            campaign_id=campaign_id, runs=o.runs, seed=seed, deadline_minutes=o.deadline_minutes,
            p_on_time=round(o.p_on_time, 4), finish=SpreadRead.of(o.finish), finish_by_run=_series(o.finish_by_run, 2),
            wait=SpreadRead.of(o.wait), sample_to_lab=SpreadRead.of(o.sample_to_lab),
            sample_to_result=SpreadRead.of(o.sample_to_result), results_done=SpreadRead.of(o.results_done),
            tubes_late_to_lab=round(o.tubes_late_to_lab, 5), people=round(o.people, 1), unserved=round(o.unserved, 1),
            tubes=round(o.tubes, 1), boxes=round(o.boxes, 1), late_sites=[s.code for s in o.late_sites],
            grid=[float(g) for g in o.grid],
            series=SeriesRead(queue=_series(o.queue), sampled=_series(o.sampled), planned=_series(o.planned)),
            sites=[SiteSimulationRead.of(s, series=site_series) for s in o.sites],
        )


class SiteForecastRead(BaseModel):
    code: str
    sampled: int
    expected: float
    waiting: float
    pace: float
    finish: SpreadRead
    p_late: float
    finished: bool


class ForecastRead(BaseModel):
    campaign_id: int
    now: float
    deadline_minutes: int
    runs: int
    seed: int
    finish: SpreadRead
    p_on_time: float
    late_sites: list[str]
    sites: list[SiteForecastRead]

    @classmethod
    def of(cls, f: Forecast, *, campaign_id: int, seed: int) -> ForecastRead:
        return cls(
            campaign_id=campaign_id, now=round(f.now, 2), deadline_minutes=f.deadline_minutes, runs=f.runs, seed=seed,
            finish=SpreadRead.of(f.finish), p_on_time=round(f.p_on_time, 4), late_sites=[s.code for s in f.late_sites],
            sites=[
                SiteForecastRead(
                    code=s.code, sampled=s.sampled, expected=round(s.expected, 1), waiting=round(s.waiting, 1),
                    pace=round(s.pace, 3), finish=SpreadRead.of(s.finish), p_late=round(s.p_late, 4), finished=s.finished,
                )
                for s in f.sites
            ],
        )
