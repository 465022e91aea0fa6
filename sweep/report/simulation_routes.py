"""The simulated day and the live forecast, over HTTP; and the chart of the simulated day as a page."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from sweep.auth.policy import Can, require
from sweep.deps import CanViewRound, CurrentUser, SessionDep, SettingsDep
from sweep.plan.current import CurrentCampaign
from sweep.plan.simulation import day_input
from sweep.report.progress import site_progress
from sweep.simulate.chart import chart
from sweep.simulate.forecast import forecast_day
from sweep.simulate.model import DayInput, DayModel
from sweep.simulate.montecarlo import simulate_day
from sweep.simulate.schemas import ForecastRead, SimulationRead
from sweep.web.templating import templates

# A round lasts hours, a forecast looks at most this far past its start.
MINUTES_IN_A_MONTH = 31 * 24 * 60
router = APIRouter(tags=["simulate"])
# The page draws means, which settle with fewer runs than a probability does.
PAGE_RUNS = 50
# An answer over HTTP should come in seconds: unless runs are asked for, a large district gets
# fewer (at least 20), about ten million simulated person-days in all.
PERSON_DAYS_PER_ANSWER = 10_000_000
RUNS = Query(default=None, ge=1, le=5000, description="Simulated days (default SWEEP_SIM_RUNS, fewer for a large district).")
SEED = Query(default=1, ge=0, description="Seed: the same seed gives the same answer.")


def default_runs(day: DayInput, most: int) -> int:
    called = max(1, sum(s.called for s in day.sites))
    return int(max(min(20, most), min(most, PERSON_DAYS_PER_ANSWER // called)))


_PAGE = """{% extends "base.html" %}
{% block title %}模拟采样日 · {{ campaign.name }} · Sweep{% endblock %}
{% block main %}<h1>{{ campaign.name }} <small>模拟采样日 the simulated day · <a href="/rounds/{{ campaign.id }}">本轮 the round</a></small></h1>
{% include "simulate_chart.html" %}{% endblock %}"""


@router.get("/api/campaigns/{campaign}/simulation", response_model=SimulationRead)
def simulation(
    session: SessionDep,
    settings: SettingsDep,
    user: CanViewRound,
    current: CurrentCampaign,
    runs: int | None = RUNS,
    seed: int = SEED,
    series: bool = Query(default=False, description="Include each site's series, not only the round's."),
) -> SimulationRead:
    """The plan's day simulated ``runs`` times: finish-time distribution, P(on time), the sites likely late."""
    day = day_input(session=session, campaign=current)
    runs = runs or default_runs(day, settings.sim_runs)
    outcome = simulate_day(day, model=DayModel.from_settings(settings), runs=runs, rng=np.random.default_rng(seed))
    return SimulationRead.of(outcome, campaign_id=current.id, seed=seed, site_series=series)


@router.get("/api/campaigns/{campaign}/forecast", response_model=ForecastRead)
def forecast(
    session: SessionDep,
    settings: SettingsDep,
    user: CanViewRound,
    current: CurrentCampaign,
    now: float | None = Query(default=None, ge=0, le=MINUTES_IN_A_MONTH, description="Minutes from the start; default the clock (never before the last scan)."),
    runs: int | None = RUNS,
    seed: int = SEED,
) -> ForecastRead:
    """Expected finish per site and for the round, with a 90% interval, from the scans so far."""
    day = day_input(session=session, campaign=current)
    progress, at = site_progress(session=session, campaign=current, day=day, now=now)
    result = forecast_day(
        day, progress, now=at, model=DayModel.from_settings(settings), runs=runs or default_runs(day, settings.sim_runs),
        rng=np.random.default_rng(seed),
    )
    return ForecastRead.of(result, campaign_id=current.id, seed=seed)


@router.get("/rounds/{campaign}/simulation", response_class=HTMLResponse, include_in_schema=False)
def simulation_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    current: CurrentCampaign,
    seed: int = SEED,
) -> HTMLResponse:
    require(user, Can.VIEW_ROUND)
    day = day_input(session=session, campaign=current)
    outcome = simulate_day(day, model=DayModel.from_settings(settings), runs=default_runs(day, PAGE_RUNS), rng=np.random.default_rng(seed))
    html = templates.env.from_string(_PAGE).render(
        request=request, user=user, campaign=current, chart=chart(outcome, p_target=settings.sim_p_target),
        csrf_token=getattr(request.state, "csrf_token", None),
    )
    return HTMLResponse(html)
