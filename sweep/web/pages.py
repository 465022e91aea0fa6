"""Server-rendered pages. Chinese first; every asset is served from the package, nothing from outside."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from sweep.auth.policy import Can, can, require
from sweep.auth.tokens import Principal
from sweep.coverage import service as coverage
from sweep.deps import CurrentUser, SessionDep, SettingsDep
from sweep.lab.custody import box_view
from sweep.params import PathCode
from sweep.plan.current import CurrentCampaign
from sweep.plan.models import Campaign
from sweep.plan.service import campaign_by_ref
from sweep.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    require(user, Can.VIEW_ROUND)
    return _round(request, session, user, campaign_by_ref(session=session, ref="latest"))


@router.get("/rounds/{campaign}", response_class=HTMLResponse)
def round_page(request: Request, session: SessionDep, user: CurrentUser, current: CurrentCampaign) -> HTMLResponse:
    require(user, Can.VIEW_ROUND)
    return _round(request, session, user, current)


@router.get("/rounds/{campaign}/boxes/{box_code}", response_class=HTMLResponse)
def box_page(
    request: Request, box_code: PathCode, session: SessionDep, settings: SettingsDep, user: CurrentUser, current: CurrentCampaign
) -> HTMLResponse:
    """A box's chain of custody on one page: tubes, times, courier, receipt, results."""
    if not any(can(user, a) for a in (Can.VIEW_ROUND, Can.RECEIVE, Can.RESULTS)):
        require(user, Can.VIEW_ROUND)
    box = box_view(session=session, campaign=current, box_code=box_code, now=datetime.now(),
                   wait_limit_minutes=settings.sample_wait_limit_minutes, transit_limit_minutes=settings.transit_limit_minutes,
                   scope=user.scope)
    return templates.TemplateResponse(request, "box.html", {"campaign": current, "box": box, "user": user})


def _round(request: Request, session: Session, user: Principal, current: Campaign) -> HTMLResponse:
    figures = coverage.round_figures(session=session, campaign=current)
    areas = coverage.coverage_by_community(session=session, campaign=current, scope=user.scope)
    missing = []
    if can(user, Can.SEE_CONTACTS):
        missing = coverage.missing_list(session=session, campaign=current, scope=user.scope, limit=50)
    return templates.TemplateResponse(
        request,
        "round.html",
        {"campaign": current, "figures": figures, "areas": areas, "missing": missing, "user": user},
    )
