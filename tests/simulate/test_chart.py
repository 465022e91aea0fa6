"""The chart's geometry: every point inside the plot, the deadline where it belongs, the worst site first."""

from __future__ import annotations

import numpy as np

from sweep.simulate.chart import chart
from sweep.simulate.model import DayInput, DayModel, SiteInput
from sweep.simulate.montecarlo import simulate_day


def test_the_chart_fits_its_plot_and_leads_with_the_site_likely_late():
    day = DayInput(sites=(
        SiteInput(code="EASY", desks=3, slot_start=np.array([0, 30]), slot_minutes=np.array([30, 30]), people=np.array([200, 200])),
        SiteInput(code="HARD", desks=1, slot_start=np.arange(6) * 60, slot_minutes=np.full(6, 60), people=np.full(6, 300)),
    ))
    outcome = simulate_day(day, model=DayModel(), runs=10, rng=np.random.default_rng(1))
    c = chart(outcome, p_target=0.9)
    progress, queues = c.panels
    assert c.p_target == 0.9 and [s.code for s in c.late_sites] == ["HARD"]
    assert queues.lines[0].label.startswith("HARD")
    # The late site runs past the deadline: the axis reaches its likely finish, not the whole grid.
    shown = len(progress.lines[0].points.split())
    assert 0 < shown <= len(outcome.grid) and outcome.grid[shown - 1] >= outcome.sites[1].finish.p95
    for panel in c.panels:
        assert panel.left < panel.deadline_x < panel.right
        for line in panel.lines:
            xy = np.array([p.split(",") for p in line.points.split()], dtype=float)
            assert np.all((xy[:, 0] >= panel.left - 0.1) & (xy[:, 0] <= panel.right + 0.1))
            assert np.all((xy[:, 1] >= panel.top - 0.1) & (xy[:, 1] <= panel.bottom + 0.1))
