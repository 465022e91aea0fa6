"""The plan over HTTP: the printable work plan, its summary, and the roster and call-up workbooks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from sweep.auth.policy import Can
from sweep.deps import Allowed, SessionDep
from sweep.plan.document import load_document
from sweep.plan.export import callup_workbook, render_html, roster_workbook
from sweep.plan.schemas import PlanRead
from sweep.plan.service import campaign_by_ref

router = APIRouter(tags=["plan"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"



@router.get("/plans/{campaign}", response_class=HTMLResponse, include_in_schema=False)
def work_plan(campaign: str, session: SessionDep, user: Allowed(Can.VIEW_ROUND)) -> HTMLResponse:  # type: ignore[valid-type]
    """The round's work plan (一套工作方案), one printable page with its map."""
    return HTMLResponse(render_html(load_document(session=session, campaign=campaign_by_ref(session=session, ref=campaign))))


@router.get("/api/campaigns/{campaign}/plan", response_model=PlanRead)
def plan_summary(campaign: str, session: SessionDep, user: Allowed(Can.VIEW_ROUND)) -> PlanRead:  # type: ignore[valid-type]
    doc = load_document(session=session, campaign=campaign_by_ref(session=session, ref=campaign))
    return PlanRead(**doc.report)


@router.get("/api/campaigns/{campaign}/plan/roster.xlsx")
def roster_xlsx(campaign: str, session: SessionDep, user: Allowed(Can.EXPORT)) -> Response:  # type: ignore[valid-type]
    current = campaign_by_ref(session=session, ref=campaign)
    return Response(roster_workbook(session=session, campaign=current), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="roster-{current.id}.xlsx"'})


@router.get("/api/campaigns/{campaign}/plan/callup.xlsx")
def callup_xlsx(campaign: str, session: SessionDep, user: Allowed(Can.VIEW_ROUND)) -> Response:  # type: ignore[valid-type]
    current = campaign_by_ref(session=session, ref=campaign)
    return Response(callup_workbook(load_document(session=session, campaign=current)), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="callup-{current.id}.xlsx"'})
