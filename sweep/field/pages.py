"""The site terminal page (采样终端) and its service worker, which keeps the page working offline."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from sweep.auth.policy import Can, require
from sweep.deps import CurrentUser, SessionDep
from sweep.errors import InvalidInput
from sweep.field import queries
from sweep.field import service as field
from sweep.params import RowIdQuery
from sweep.plan.service import get_campaign
from sweep.web.templating import templates

STATIC = Path(__file__).resolve().parents[1] / "web" / "static" / "terminal"
router = APIRouter(include_in_schema=False)


@router.get("/terminal/", response_class=HTMLResponse)
def terminal(request: Request, session: SessionDep, user: CurrentUser, site: RowIdQuery = None) -> HTMLResponse:
    """Site staff get their own site; district roles name one with ``?site=ID``."""

    require(user, Can.SCAN)
    campaign = get_campaign(session=session)
    if site is None:
        # A site account works at its fixed site: this round's copy of it.
        plan_site = queries.own_site(session=session, campaign=campaign, scope=user.scope)
        if plan_site is None:
            raise InvalidInput("site", "请在地址后加 ?site=采样点编号 (name the site: ?site=ID)")
    else:
        plan_site = field.site_of(session=session, campaign=campaign, plan_site_id=site)
    user.scope.require_site(plan_site)
    return templates.TemplateResponse(
        request, "terminal.html", {"user": user, "campaign": campaign, "site": plan_site},
        headers={"cache-control": "no-store"},
    )


@router.get("/terminal/sw.js")
def service_worker() -> FileResponse:
    # Served from /terminal/ so that its scope covers the page; never cached, so updates arrive.
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={"cache-control": "no-cache"})
