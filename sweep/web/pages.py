"""Server-rendered pages. Chinese first; every asset is served from the package, nothing from outside."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from sweep.auth.policy import Can, can, require
from sweep.auth.tokens import Principal
from sweep.coverage import service as coverage
from sweep.deps import CurrentUser, SessionDep
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
