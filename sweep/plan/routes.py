"""The plan over HTTP: the printable work plan, its summary, and the roster and call-up workbooks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from sweep.auth.policy import Can
from sweep.deps import Allowed, SessionDep
from sweep.plan.document import load_document
from sweep.plan.export import callup_workbook, render_html, roster_workbook
from sweep.plan.models import Campaign
from sweep.plan.schemas import PlanRead
from sweep.plan.service import get_campaign, parse_campaign_ref

router = APIRouter(tags=["plan"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _campaign(session: SessionDep, ref: str) -> Campaign:
    return get_campaign(session=session, campaign_id=parse_campaign_ref(ref))


@router.get("/plans/{campaign}", response_class=HTMLResponse, include_in_schema=False)
def work_plan(campaign: str, session: SessionDep, user: Allowed(Can.VIEW_ROUND)) -> HTMLResponse:  # type: ignore[valid-type]
    """The round's work plan (一套工作方案), one printable page with its map."""
    return HTMLResponse(render_html(load_document(session=session, campaign=_campaign(session, campaign))))


@router.get("/api/campaigns/{campaign}/plan", response_model=PlanRead)
def plan_summary(campaign: str, session: SessionDep, user: Allowed(Can.VIEW_ROUND)) -> PlanRead:  # type: ignore[valid-type]
    doc = load_document(session=session, campaign=_campaign(session, campaign))
    return PlanRead(**doc.report)


@router.get("/api/campaigns/{campaign}/plan/roster.xlsx")
def roster_xlsx(campaign: str, session: SessionDep, user: Allowed(Can.EXPORT)) -> Response:  # type: ignore[valid-type]
    current = _campaign(session, campaign)
    return Response(roster_workbook(session=session, campaign=current), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="roster-{current.id}.xlsx"'})


@router.get("/api/campaigns/{campaign}/plan/callup.xlsx")
def callup_xlsx(campaign: str, session: SessionDep, user: Allowed(Can.VIEW_ROUND)) -> Response:  # type: ignore[valid-type]
    current = _campaign(session, campaign)
    return Response(callup_workbook(load_document(session=session, campaign=current)), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="callup-{current.id}.xlsx"'})
