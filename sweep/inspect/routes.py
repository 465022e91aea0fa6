"""Inspection API: the SOP's checklists, a visit with its findings, rectification, open findings by site."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from sweep.deps import CanInspect, CanRectify, CanViewRound, SessionDep
from sweep.inspect import service
from sweep.inspect.models import Finding
from sweep.inspect.schemas import (
    ChecklistItemRead,
    InspectionCreate,
    InspectionRead,
    RectifiedRead,
    RectifyCreate,
    TemplateRead,
)
from sweep.inspect.service import SiteFindings
from sweep.params import ERRORS, RowId
from sweep.plan.current import CurrentCampaign

router = APIRouter(tags=["inspections"], responses=ERRORS)


@router.get("/api/inspection-templates", response_model=list[TemplateRead])
def templates(session: SessionDep, user: CanInspect) -> list[TemplateRead]:
    return [
        TemplateRead(code=t.code, name=t.name, version=t.version,
                     items=[ChecklistItemRead(no=i.no, section=i.section, text=i.text, critical=i.critical) for i in t.items])
        for t in service.templates(session=session)
    ]


@router.post("/api/campaigns/{campaign}/inspections", response_model=InspectionRead, status_code=201)
def record(body: InspectionCreate, session: SessionDep, user: CanInspect, current: CurrentCampaign) -> InspectionRead:
    visit = service.record_inspection(
        session=session, campaign=current,
        plan_site_id=body.plan_site_id, template_code=body.template, visited_at=body.visited_at or datetime.now(),
        checks=[service.CheckIn(c.item_no, c.passed, c.note) for c in body.checks],
        findings=[service.FindingIn(f.description, f.severity) for f in body.findings],
        rectify_by=body.rectify_by, notes=body.notes, inspector=user,
    )
    found = session.scalar(select(func.count()).where(Finding.inspection_id == visit.id)) or 0
    return InspectionRead(id=visit.id, plan_site_id=visit.plan_site_id, visited_at=visit.visited_at, status=visit.status,
                          rectify_by=visit.rectify_by, findings=found)


@router.get("/api/campaigns/{campaign}/findings", response_model=list[SiteFindings])
def open_findings(
    session: SessionDep,
    user: CanViewRound,
    current: CurrentCampaign,
    site: int | None = Query(default=None, ge=1, le=2_147_483_647),
) -> list[SiteFindings]:
    """Findings not yet put right, by site, the overdue first; an office sees its own sites."""
    return service.open_findings(session=session, campaign=current, now=datetime.now(), plan_site_id=site, scope=user.scope)


@router.post("/api/findings/{finding_id}/rectify", response_model=RectifiedRead)
def rectify(finding_id: RowId, body: RectifyCreate, session: SessionDep, user: CanRectify) -> RectifiedRead:
    finding = service.rectify_finding(session=session, finding_id=finding_id, at=body.rectified_at or datetime.now(),
                                      rectification=body.rectification, scope=user.scope)
    return RectifiedRead(id=finding.id, status=finding.status, rectified_at=finding.rectified_at)
