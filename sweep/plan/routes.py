"""The plan over HTTP: the printable work plan, its summary, and the roster and call-up workbooks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from sweep.deps import CanExport, CanViewRound, SessionDep
from sweep.plan.current import CurrentCampaign
from sweep.plan.document import load_document
from sweep.plan.export import callup_workbook, render_html, roster_workbook
from sweep.plan.schemas import PlanRead

router = APIRouter(tags=["plan"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"



@router.get("/plans/{campaign}", response_class=HTMLResponse, include_in_schema=False)
def work_plan(session: SessionDep, user: CanViewRound, current: CurrentCampaign) -> HTMLResponse:
    """The round's work plan (一套工作方案), one printable page with its map."""
    return HTMLResponse(render_html(load_document(session=session, campaign=current)))


@router.get("/api/campaigns/{campaign}/plan", response_model=PlanRead)
def plan_summary(session: SessionDep, user: CanViewRound, current: CurrentCampaign) -> PlanRead:
    doc = load_document(session=session, campaign=current)
    return PlanRead(**doc.report)


@router.get("/api/campaigns/{campaign}/plan/roster.xlsx")
def roster_xlsx(session: SessionDep, user: CanExport, current: CurrentCampaign) -> Response:
    return Response(roster_workbook(session=session, campaign=current), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="roster-{current.id}.xlsx"'})


@router.get("/api/campaigns/{campaign}/plan/callup.xlsx")
def callup_xlsx(session: SessionDep, user: CanViewRound, current: CurrentCampaign) -> Response:
    return Response(callup_workbook(load_document(session=session, campaign=current)), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="callup-{current.id}.xlsx"'})
