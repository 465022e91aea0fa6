"""What a terminal reads: its site's open tubes and the last scans, ID numbers masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.scope import Scope
from sweep.field.models import Box, Handover, Sample, Tube
from sweep.field.service import site_of
from sweep.field.tubes import TubeState
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import Person


def own_site(*, session: Session, campaign: Campaign, scope: Scope) -> PlanSite | None:
    """A site account's site in this round: the round's copy of its fixed site, if the round opened it."""
    if scope.candidate_site_id is None:
        return None
    return session.scalar(select(PlanSite).where(PlanSite.campaign_id == campaign.id, PlanSite.candidate_site_id == scope.candidate_site_id))


def site_in_scope(*, session: Session, campaign: Campaign, plan_site_id: int, scope: Scope) -> PlanSite:
    """A site of the round that the user may work at (403 otherwise, 404 if the round has no such site)."""
    site = site_of(session=session, campaign=campaign, plan_site_id=plan_site_id)
    scope.require_site(site)
    return site


@dataclass(frozen=True)
class BoxLine:
    code: str
    site_code: str
    tubes: int
    status: str
    courier_name: str | None
    handed_at: datetime | None
    received_at: datetime | None


def boxes(*, session: Session, campaign: Campaign, scope: Scope, status: str | None = None) -> list[BoxLine]:
    """The round's boxes in the scope: a site's own, the ones handed to a courier, every one for the lab and the HQ."""
    query = (
        select(Box.code, PlanSite.code, Box.tubes, Box.status, Handover.courier_name, Handover.handed_at, Handover.received_at)
        .join(PlanSite, PlanSite.id == Box.plan_site_id)
        .outerjoin(Handover, Handover.box_id == Box.id)
        .where(Box.campaign_id == campaign.id, scope.boxes())
        .order_by(Box.id)
    )
    if status is not None:
        query = query.where(Box.status == status)
    return [BoxLine(*row) for row in session.execute(query)]


def site_tubes(*, session: Session, campaign: Campaign, plan_site_id: int, status: str | None = "open", limit: int = 50) -> list[TubeState]:
    query = select(Tube.id, Tube.code, Tube.plan_site_id, Tube.pool_size, Tube.filled, Tube.status, Tube.kind).where(
        Tube.campaign_id == campaign.id, Tube.plan_site_id == plan_site_id
    )
    if status is not None:
        query = query.where(Tube.status == status)
    return [TubeState(*r[:6], kind=r.kind) for r in session.execute(query.order_by(Tube.id.desc()).limit(limit))]


class RecentScan(TypedDict):
    client_uuid: str
    tube_code: str
    position: int
    id_masked: str
    sampled_at: datetime


def recent_scans(*, session: Session, campaign: Campaign, plan_site_id: int, limit: int = 20) -> list[RecentScan]:
    rows = session.execute(
        select(Sample.client_uuid, Tube.code, Sample.position, Person.id_masked, Sample.sampled_at)
        .join(Tube, Tube.id == Sample.tube_id)
        .join(Person, Person.id == Sample.person_id)
        .where(Sample.campaign_id == campaign.id, Sample.plan_site_id == plan_site_id)
        .order_by(Sample.id.desc())
        .limit(limit)
    ).all()
    return [
        {"client_uuid": r[0], "tube_code": r[1], "position": r[2], "id_masked": r[3], "sampled_at": r[4]}
        for r in rows
    ]
