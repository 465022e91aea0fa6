"""Server-rendered pages. Chinese first; every asset is served from the package, nothing from outside."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from sweep.coverage import service as coverage
from sweep.deps import SessionDep
from sweep.plan.service import get_campaign, parse_campaign_ref

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    return round_page(request, "latest", session)


@router.get("/rounds/{campaign}", response_class=HTMLResponse)
def round_page(request: Request, campaign: str, session: SessionDep) -> HTMLResponse:
    current = get_campaign(session=session, campaign_id=parse_campaign_ref(campaign))
    figures = coverage.round_figures(session=session, campaign=current)
    areas = coverage.coverage_by_community(session=session, campaign=current)
    missing = coverage.missing_list(session=session, campaign=current, limit=50)
    return templates.TemplateResponse(
        request,
        "round.html",
        {"campaign": current, "figures": figures, "areas": areas, "missing": missing},
    )
