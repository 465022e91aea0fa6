"""Supervision visits: a checklist answered item by item, findings with a rectification deadline, and their closing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import computed_field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sweep.auth.scope import Scope, UserLike
from sweep.auth.service import audit
from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.inspect.checklists import DEFAULT_TEMPLATES
from sweep.inspect.models import SEVERITIES, ChecklistItem, ChecklistTemplate, Finding, Inspection, InspectionCheck
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import CandidateSite

# A critical finding stops the site until it is put right, so it gets an hour; the rest a day,
# in time for the next round.
CRITICAL_WITHIN = timedelta(hours=1)
OTHER_WITHIN = timedelta(hours=24)


def install_templates(*, session: Session) -> int:
    """Create the SOP's templates that are not there yet; returns how many were made."""
    made = 0
    for spec in DEFAULT_TEMPLATES:
        if session.scalar(select(ChecklistTemplate.id).where(ChecklistTemplate.code == spec.code)):
            continue
        template = ChecklistTemplate(code=spec.code, name=spec.name, version=spec.version)
        session.add(template)
        session.flush()
        session.add_all(
            ChecklistItem(template_id=template.id, no=no, section=section, text=text, critical=critical)
            for no, (section, text, critical) in enumerate(spec.items, start=1)
        )
        made += 1
    session.flush()
    return made


@dataclass(frozen=True)
class TemplateView:
    code: str
    name: str
    version: int
    items: list[ChecklistItem]


def templates(*, session: Session) -> list[TemplateView]:
    out = []
    for t in session.scalars(select(ChecklistTemplate).order_by(ChecklistTemplate.code)):
        items = list(session.scalars(select(ChecklistItem).where(ChecklistItem.template_id == t.id).order_by(ChecklistItem.no)))
        out.append(TemplateView(t.code, t.name, t.version, items))
    return out


@dataclass(frozen=True)
class CheckIn:
    item_no: int
    passed: bool
    note: str | None = None


@dataclass(frozen=True)
class FindingIn:
    description: str
    severity: str = "major"


def record_inspection(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    template_code: str,
    visited_at: datetime,
    checks: Sequence[CheckIn],
    findings: Sequence[FindingIn] = (),
    rectify_by: datetime | None = None,
    notes: str = "",
    inspector: UserLike | None = None,
) -> Inspection:
    """One visit: every item of the template answered; each failed item and each extra finding is opened."""
    site = session.get(PlanSite, plan_site_id)
    if site is None or site.campaign_id != campaign.id:
        raise NotFound("site", "本轮没有这个采样点 (no such site in this campaign)")
    template = session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.code == template_code))
    if template is None:
        raise NotFound("template", f"没有这个检查表 (no such checklist template): {template_code}")
    items = {i.no: i for i in session.scalars(select(ChecklistItem).where(ChecklistItem.template_id == template.id))}
    answered: dict[int, CheckIn] = {}
    for check in checks:
        if check.item_no not in items:
            raise InvalidInput("checks", f"检查表 {template_code} 没有第 {check.item_no} 项 (no item {check.item_no} in this checklist)")
        if check.item_no in answered:
            raise InvalidInput("checks", f"第 {check.item_no} 项重复填写 (item {check.item_no} answered twice)")
        answered[check.item_no] = check
    unanswered = sorted(set(items) - set(answered))
    if unanswered:
        raise InvalidInput("checks", f"尚有检查项未填写 (items not answered): {', '.join(map(str, unanswered))}")
    for extra in findings:
        if extra.severity not in SEVERITIES:
            raise InvalidInput("severity", f"严重程度应为 {'/'.join(SEVERITIES)} (severity must be one of those), got {extra.severity!r}")
        if not extra.description.strip():
            raise InvalidInput("findings", "问题描述不能为空 (a finding needs a description)")

    opened = [
        (items[no].id, "critical" if items[no].critical else "major", items[no].text + (f" — {c.note}" if c.note else ""))
        for no, c in sorted(answered.items())
        if not c.passed
    ] + [(None, f.severity, f.description.strip()) for f in findings]
    if opened and rectify_by is None:
        critical = any(sev == "critical" for _i, sev, _d in opened)
        rectify_by = visited_at + (CRITICAL_WITHIN if critical else OTHER_WITHIN)
    if rectify_by is not None and rectify_by < visited_at:
        raise InvalidInput("rectify_by", "整改期限早于督导时间 (the rectification deadline is before the visit)")

    inspection = Inspection(
        campaign_id=campaign.id, plan_site_id=site.id, template_id=template.id, inspector_id=inspector.id if inspector else None,
        visited_at=visited_at, notes=notes.strip(), rectify_by=rectify_by if opened else None,
        status="open" if opened else "closed",
    )
    session.add(inspection)
    session.flush()
    session.add_all(InspectionCheck(inspection_id=inspection.id, item_id=items[no].id, passed=c.passed, note=c.note)
                    for no, c in answered.items())
    session.add_all(
        Finding(inspection_id=inspection.id, campaign_id=campaign.id, plan_site_id=site.id, item_id=item_id, severity=severity,
                description=text[:500], status="open")
        for item_id, severity, text in opened
    )
    session.flush()
    audit(session=session, user_id=inspector.id if inspector else None, action="inspect.visit", entity="plan_site", entity_id=site.id,
          campaign_id=campaign.id, detail={"inspection": inspection.id, "findings": len(opened)}, at=visited_at)
    return inspection


def rectify_finding(*, session: Session, finding_id: int, at: datetime, rectification: str, scope: Scope) -> Finding:
    """A finding in the scope put right (a site leader at their site, an inspector on their own visit); the visit
    closes when its last finding does."""
    finding = session.scalar(select(Finding).where(Finding.id == finding_id, scope.findings()))
    if finding is None:
        if session.get(Finding, finding_id) is not None:
            raise scope.refuse("finding_id", str(finding_id))
        raise NotFound("finding_id", "没有这个督导问题 (no such finding)")
    if finding.status != "open":
        raise Conflict("finding_id", "该问题已整改 (the finding is already rectified)")
    if not rectification.strip():
        raise InvalidInput("rectification", "须说明整改措施 (say what was done)")
    inspection = session.get(Inspection, finding.inspection_id)
    assert inspection is not None
    if at < inspection.visited_at:
        raise InvalidInput("rectified_at", "整改时间早于督导时间 (rectified before the visit)")
    finding.status, finding.rectified_at, finding.rectification = "rectified", at, rectification.strip()[:500]
    finding.rectified_by = scope.user_id
    session.flush()
    still_open = session.scalar(select(func.count()).where(Finding.inspection_id == inspection.id, Finding.status == "open"))
    if not still_open:
        inspection.status, inspection.rectified_at = "closed", at
    session.flush()
    audit(session=session, user_id=scope.user_id, action="inspect.rectified", entity="finding", entity_id=finding.id,
          campaign_id=finding.campaign_id, at=at)
    return finding


@dataclass(frozen=True)
class OpenFinding:
    id: int
    inspection_id: int
    severity: str
    description: str
    visited_at: datetime
    rectify_by: datetime | None
    overdue: bool


@dataclass
class SiteFindings:
    site_code: str
    site_name: str
    plan_site_id: int
    findings: list[OpenFinding] = field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> int:
        return sum(f.overdue for f in self.findings)


def open_findings(
    *, session: Session, campaign: Campaign, now: datetime, scope: Scope, plan_site_id: int | None = None
) -> list[SiteFindings]:
    """Findings in the scope not yet put right, grouped by site; sites with overdue ones first."""
    query = (
        select(Finding.id, Finding.inspection_id, Finding.severity, Finding.description, Inspection.visited_at, Inspection.rectify_by,
               PlanSite.id, PlanSite.code, CandidateSite.name)
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .join(PlanSite, PlanSite.id == Finding.plan_site_id)
        .join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .where(Finding.campaign_id == campaign.id, Finding.status == "open", scope.findings())
        .order_by(PlanSite.code, Inspection.rectify_by, Finding.id)
    )
    if plan_site_id is not None:
        query = query.where(Finding.plan_site_id == plan_site_id)
    sites: dict[int, SiteFindings] = {}
    for fid, iid, severity, text, visited, due, site_id, code, name in session.execute(query):
        entry = sites.setdefault(site_id, SiteFindings(code, name, site_id))
        entry.findings.append(OpenFinding(fid, iid, severity, text, visited, due, due is not None and due < now))
    return sorted(sites.values(), key=lambda s: (-s.overdue, s.site_code))


__all__ = [
    "CheckIn", "FindingIn", "OpenFinding", "SiteFindings", "install_templates", "open_findings", "record_inspection",
    "rectify_finding", "templates",
]
