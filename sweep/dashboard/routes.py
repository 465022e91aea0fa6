"""The dashboard: one JSON snapshot for the page to poll, and the page itself."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sweep.auth.policy import Can, require
from sweep.coverage.service import round_figures
from sweep.dashboard import service
from sweep.deps import CanViewRound, CurrentUser, SessionDep, SettingsDep
from sweep.params import CampaignQuery
from sweep.plan.current import CurrentCampaign
from sweep.plan.service import campaign_by_ref
from sweep.web.templating import templates

router = APIRouter(tags=["dashboard"])


def snapshot(*, session, campaign) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    now = service.clock(session=session, campaign=campaign)
    fig = round_figures(session=session, campaign=campaign)
    sites = service.site_progress(session=session, campaign=campaign, now=now)
    return {
        "campaign": {"id": campaign.id, "name": campaign.name, "round_no": campaign.round_no, "status": campaign.status,
                     "starts_at": campaign.starts_at, "deadline_minutes": campaign.deadline_minutes},
        "now": now,
        "minute": round((now - campaign.starts_at).total_seconds() / 60, 1),
        "figures": {**asdict(fig), "coverage": fig.coverage, "finish_minutes": fig.finish_minutes},
        "sites": [asdict(s) for s in sites],
        "states": {state: sum(1 for s in sites if s.state == state) for state in ("not_ready", "ready", "sampling", "behind", "done")},
        "late_items": [asdict(item) for item in service.late_readiness(session=session, campaign=campaign, now=now)],
        "curve": asdict(service.progress_curve(session=session, campaign=campaign)),
    }


@router.get("/api/campaigns/{campaign}/dashboard")
def dashboard_data(current: CurrentCampaign, session: SessionDep, user: CanViewRound) -> dict[str, Any]:
    """The round at a glance: figures, sites and their state, late readiness items, the curve."""
    return snapshot(session=session, campaign=current)


@router.get("/api/campaigns/{campaign}/grids")
def grids(current: CurrentCampaign, session: SessionDep, user: CanViewRound) -> dict[str, Any]:
    """GeoJSON of the district's grids with expected and sampled counts."""
    return service.grid_coverage_geojson(session=session, campaign=current)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, campaign: CampaignQuery = "latest") -> HTMLResponse:
    require(user, Can.VIEW_ROUND)
    current = campaign_by_ref(session=session, ref=campaign)
    return templates.TemplateResponse(
        request, "dashboard.html", {"campaign": current, "user": user, "tile_url": settings.map_tile_url, "poll_seconds": settings.dashboard_poll_seconds}
    )
