"""Gather the figures of a finished (or running) round for its report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sweep.auth.scope import Scope
from sweep.coverage.service import AreaCoverage, RoundFigures, coverage_by_community, round_figures
from sweep.field.models import Tube
from sweep.lab.custody import SiteTransit, transit_by_site
from sweep.lab.models import LabResult, RetestOrder
from sweep.plan.models import Campaign, PlanSite
from sweep.report.dashboard import Curve, LateItem, last_slot_ends, late_readiness, progress_curve, round_sites, site_samples


@dataclass(frozen=True)
class SiteTimeliness:
    code: str
    name: str
    community: str
    desks: int
    expected: int
    sampled: int
    planned_end_minute: int
    finish_minute: float | None
    deadline_minutes: int

    @property
    def behind_plan_minutes(self) -> float | None:
        """The last swab against the end of the site's last call-up slot (negative: early)."""
        return None if self.finish_minute is None else round(self.finish_minute - self.planned_end_minute, 1)

    @property
    def late_minutes(self) -> float:
        """Minutes past the round's deadline (0 when the site finished in time)."""
        return 0.0 if self.finish_minute is None else max(0.0, self.finish_minute - self.deadline_minutes)


@dataclass(frozen=True)
class PositivePool:
    tube_code: str
    site_code: str
    resulted_at: datetime
    ct_value: float | None
    people: int
    retests_closed: int
    retests_positive: int


@dataclass(frozen=True)
class FindingRow:
    site_code: str
    severity: str
    description: str
    status: str
    rectify_by: datetime | None


@dataclass
class RoundReport:
    campaign: Campaign
    figures: RoundFigures
    areas: list[AreaCoverage]
    sites: list[SiteTimeliness]
    late_items: list[LateItem]
    positives: list[PositivePool]
    curve: Curve
    findings: list[FindingRow] = field(default_factory=list)
    transit: list[SiteTransit] = field(default_factory=list)
    wait_limit_minutes: int = 0
    transit_limit_minutes: int = 0
    made_at: datetime = field(default_factory=datetime.now)


def site_timeliness(*, session: Session, campaign: Campaign) -> list[SiteTimeliness]:
    done, last = site_samples(session=session, campaign=campaign, last_kind="pooled")
    planned = last_slot_ends(session=session, campaign=campaign)
    out = []
    for site_id, code, name, community, _lon, _lat, desks, expected in round_sites(session=session, campaign=campaign):
        end = last.get(site_id)
        out.append(
            SiteTimeliness(
                code=code, name=name, community=community, desks=desks, expected=expected, sampled=done.get(site_id, 0),
                planned_end_minute=int(planned.get(site_id, campaign.deadline_minutes)),
                finish_minute=None if end is None else round((end - campaign.starts_at).total_seconds() / 60, 1),
                deadline_minutes=campaign.deadline_minutes,
            )
        )
    return out


def positive_pools(*, session: Session, campaign: Campaign) -> list[PositivePool]:
    retests = (
        select(
            RetestOrder.source_tube_id.label("tube_id"),
            func.count().label("n"),
            func.count().filter(RetestOrder.status == "closed").label("closed"),
            func.count().filter(RetestOrder.result == "positive").label("positive"),
        )
        .where(RetestOrder.campaign_id == campaign.id)
        .group_by(RetestOrder.source_tube_id)
        .subquery()
    )
    rows = session.execute(
        select(Tube.code, PlanSite.code, LabResult.resulted_at, LabResult.ct_value, Tube.filled,
               func.coalesce(retests.c.closed, 0), func.coalesce(retests.c.positive, 0))
        .join(Tube, Tube.id == LabResult.tube_id)
        .join(PlanSite, PlanSite.id == Tube.plan_site_id)
        .outerjoin(retests, retests.c.tube_id == Tube.id)
        .where(LabResult.campaign_id == campaign.id, LabResult.result == "positive")
        .order_by(LabResult.resulted_at)
    ).all()
    return [PositivePool(*row) for row in rows]


def build_report(*, session: Session, campaign: Campaign, wait_limit_minutes: int, transit_limit_minutes: int) -> RoundReport:
    """The round's figures; the limits are the chain of custody's (``SWEEP_SAMPLE_WAIT_LIMIT_MINUTES``,
    ``SWEEP_TRANSIT_LIMIT_MINUTES``), against which each site's boxes are counted."""
    figures = round_figures(session=session, campaign=campaign)
    end = figures.last_sample or campaign.starts_at
    return RoundReport(
        campaign=campaign,
        figures=figures,
        # The round's report is the district's: every area.
        areas=coverage_by_community(session=session, campaign=campaign, scope=Scope.system()),
        sites=site_timeliness(session=session, campaign=campaign),
        late_items=late_readiness(session=session, campaign=campaign, now=max(end, datetime.now()), limit=10_000),
        positives=positive_pools(session=session, campaign=campaign),
        curve=progress_curve(session=session, campaign=campaign),
        findings=_findings(session=session, campaign=campaign),
        transit=transit_by_site(session=session, campaign=campaign, wait_limit_minutes=wait_limit_minutes,
                                transit_limit_minutes=transit_limit_minutes),
        wait_limit_minutes=wait_limit_minutes,
        transit_limit_minutes=transit_limit_minutes,
    )


def _findings(*, session: Session, campaign: Campaign) -> list[FindingRow]:
    from sweep.inspect.models import Finding, Inspection

    rows = session.execute(
        select(PlanSite.code, Finding.severity, Finding.description, Finding.status, Inspection.rectify_by)
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .join(PlanSite, PlanSite.id == Finding.plan_site_id)
        .where(Finding.campaign_id == campaign.id)
        .order_by(PlanSite.code, Finding.id)
    ).all()
    return [FindingRow(*row) for row in rows]
