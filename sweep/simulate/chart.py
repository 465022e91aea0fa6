"""The plan page's chart, as plain geometry for inline SVG: no script, nothing fetched.

Two panels: people swabbed so far against the plan's line (the round), and the queue at the
sites where it grows longest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sweep.simulate.outcome import DayOutcome, SiteOutcome

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 26
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
QUEUE_SITES = 5


@dataclass(frozen=True)
class Line:
    label: str
    colour: str
    points: str  # "x,y x,y …" in the panel's own coordinates
    dashed: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    lines: tuple[Line, ...]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    deadline_x: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = HEIGHT - BOTTOM
    right: int = WIDTH - RIGHT
    top: int = TOP


@dataclass(frozen=True)
class Chart:
    runs: int
    deadline_minutes: int
    p_on_time: float
    finish_p50: float
    finish_p95: float
    late_sites: tuple[SiteOutcome, ...]
    panels: tuple[Panel, ...]
    p_target: float


def _nice(top: float) -> float:
    """A round upper bound for an axis, so that four gridlines fall on readable numbers."""
    if top <= 0:
        return 1.0
    power = 10 ** np.floor(np.log10(top))
    for step in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):
        if step * power >= top:
            return float(step * power)
    return float(10 * power)


def _panel(title: str, grid: np.ndarray, series: list[tuple[str, np.ndarray, bool]], deadline: float) -> Panel:
    x0, x1 = float(grid[0]), float(grid[-1])
    top = _nice(max((float(np.nanmax(v)) for _l, v, _d in series if np.isfinite(v).any()), default=1.0) * 1.02)

    def x(t: float) -> float:
        return LEFT + (t - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT)

    def y(v: float) -> float:
        return HEIGHT - BOTTOM - v / top * (HEIGHT - TOP - BOTTOM)

    lines = tuple(
        Line(label, PALETTE[i % len(PALETTE)], " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(grid, values, strict=False) if np.isfinite(v)), dashed)
        for i, (label, values, dashed) in enumerate(series)
    )
    hours = np.arange(np.ceil(x0 / 60) * 60, x1 + 1, 60)
    x_ticks = tuple((x(t), f"{int(t // 60)}h") for t in hours)
    y_ticks = tuple((y(v), f"{v:,.0f}") for v in np.linspace(0, top, 5))
    return Panel(title, lines, x_ticks, y_ticks, x(deadline))


def chart(outcome: DayOutcome, *, sites: int = QUEUE_SITES, p_target: float = 0.95) -> Chart:
    # Show the day up to the deadline plus an hour, or to the latest likely finish if later.
    latest = max((s.finish.p95 for s in outcome.sites if np.isfinite(s.finish.p95)), default=0.0)
    end = max(outcome.deadline_minutes + 60, np.ceil((latest + 30) / 60) * 60)
    shown = outcome.grid <= end
    grid = outcome.grid[shown]
    progress = _panel(
        "累计采样 vs 方案 · people swabbed against the plan",
        grid,
        [("模拟(均值) simulated, mean", outcome.sampled[shown], False), ("方案 the plan's line", outcome.planned[shown], True)],
        outcome.deadline_minutes,
    )
    longest = sorted(outcome.sites, key=lambda s: (-s.p_late, -s.queue_peak))[:sites]
    queues = _panel(
        "排队人数 · people waiting, the longest queues",
        grid,
        [(f"{s.code} ({s.desks}台 desks)", s.queue[shown], False) for s in longest],
        outcome.deadline_minutes,
    )
    return Chart(
        runs=outcome.runs,
        deadline_minutes=outcome.deadline_minutes,
        p_on_time=outcome.p_on_time,
        finish_p50=outcome.finish.p50,
        finish_p95=outcome.finish.p95,
        late_sites=outcome.late_sites,
        panels=(progress, queues),
        p_target=p_target,
    )
