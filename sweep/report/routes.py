"""The dashboard: one JSON snapshot for the page to poll, and the page itself."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sweep.auth.policy import Can, require
from sweep.db import read_source
from sweep.deps import CanViewRound, CurrentUser, ReadSessionDep, SessionDep, SettingsDep
from sweep.params import CampaignQuery
from sweep.plan.current import CurrentCampaign
from sweep.plan.service import campaign_by_ref
from sweep.report import dashboard as service
from sweep.web.templating import templates

router = APIRouter(tags=["dashboard"])


@router.get("/api/campaigns/{campaign}/dashboard")
def dashboard_data(session: ReadSessionDep, settings: SettingsDep, user: CanViewRound, current: CurrentCampaign) -> dict[str, Any]:
    """The round at a glance: figures, sites and their state, late readiness items, the chain of custody's
    red flags (``custody``: tubes held at a site, boxes on the road, past their limits), the curve; read
    from the standby when one is configured, with its replication lag under ``database``."""
    snapshot = service.snapshot(session=session, campaign=current, wait_limit_minutes=settings.sample_wait_limit_minutes,
                                transit_limit_minutes=settings.transit_limit_minutes)
    return {**snapshot, "database": asdict(read_source(session))}


@router.get("/api/campaigns/{campaign}/grids")
def grids(session: ReadSessionDep, user: CanViewRound, current: CurrentCampaign) -> dict[str, Any]:
    """GeoJSON of the district's grids with expected and sampled counts."""
    return service.grid_coverage_geojson(session=session, campaign=current)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, campaign: CampaignQuery = "latest") -> HTMLResponse:
    require(user, Can.VIEW_ROUND)
    current = campaign_by_ref(session=session, ref=campaign)
    return templates.TemplateResponse(
        request, "dashboard.html", {"campaign": current, "user": user, "tile_url": settings.map_tile_url, "poll_seconds": settings.dashboard_poll_seconds}
    )
