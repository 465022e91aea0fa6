"""Server-rendered pages. Chinese first; every asset is served from the package, nothing from outside."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from sweep.coverage import service as coverage
from sweep.auth.policy import Can, can, require
from sweep.auth.service import csrf_token
from sweep.deps import SESSION_COOKIE, CurrentUser, SessionDep
from sweep.plan.service import campaign_by_ref
from sweep.web import i18n

HERE = Path(__file__).parent


def _csrf(request: Request) -> dict[str, str | None]:
    """Every page gets the CSRF token of its session, for its forms."""
    raw = request.cookies.get(SESSION_COOKIE)
    return {"csrf_token": csrf_token(raw, key=request.app.state.settings.secret_key) if raw else None}


def _language(request: Request) -> dict[str, str]:
    return {"lang": i18n.current.get()}


templates = Jinja2Templates(directory=HERE / "templates", context_processors=[_csrf, _language])
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    return round_page(request, "latest", session, user)


@router.get("/rounds/{campaign}", response_class=HTMLResponse)
def round_page(request: Request, campaign: str, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    require(user, Can.VIEW_ROUND)
    current = campaign_by_ref(session=session, ref=campaign)
    figures = coverage.round_figures(session=session, campaign=current)
    areas = coverage.coverage_by_community(session=session, campaign=current)
    missing = []
    if can(user, Can.SEE_CONTACTS):
        office_id = user.office_id if user.role == "office" else None
        missing = coverage.missing_list(session=session, campaign=current, office_id=office_id, limit=50)
    return templates.TemplateResponse(
        request,
        "round.html",
        {"campaign": current, "figures": figures, "areas": areas, "missing": missing, "user": user},
    )
