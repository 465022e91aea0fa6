"""Reconcile the round against the registry: counts by area, the round's figures, the missing list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from sweep.field.models import Box, Sample, Tube
from sweep.lab.models import LabResult, RetestOrder
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import Building, Community, Office, Person


@dataclass(frozen=True)
class AreaCoverage:
    code: str
    name: str
    expected: int
    sampled: int

    @property
    def fraction(self) -> float:
        return self.sampled / self.expected if self.expected else 1.0


@dataclass(frozen=True)
class RoundFigures:
    campaign_id: int
    people: int
    sampled: int
    sites: int
    desks: int
    tubes: int
    tubes_sealed: int
    boxes: int
    boxes_in_transit: int
    boxes_received: int
    results: int
    positives: int
    retests_open: int
    first_sample: datetime | None
    last_sample: datetime | None
    deadline_minutes: int
    starts_at: datetime

    @property
    def coverage(self) -> float:
        return self.sampled / self.people if self.people else 0.0

    @property
    def finish_minutes(self) -> float | None:
        """Minutes from the start of sampling to the last swab."""
        if self.last_sample is None:
            return None
        return (self.last_sample - self.starts_at).total_seconds() / 60


def _sampled(campaign_id: int):  # type: ignore[no-untyped-def]
    return and_(Sample.campaign_id == campaign_id, Sample.kind != "retest")


def round_figures(*, session: Session, campaign: Campaign) -> RoundFigures:
    cid = campaign.id
    people = session.scalar(select(func.count()).select_from(Person)) or 0
    sampled, first, last = session.execute(
        select(func.count(), func.min(Sample.sampled_at), func.max(Sample.sampled_at)).where(_sampled(cid))
    ).one()
    sites, desks = session.execute(
        select(func.count(), func.coalesce(func.sum(PlanSite.desks), 0)).where(PlanSite.campaign_id == cid)
    ).one()
    tubes, sealed = session.execute(
        select(func.count(), func.count().filter(Tube.status != "open")).where(Tube.campaign_id == cid)
    ).one()
    boxes, in_transit, received = session.execute(
        select(
            func.count(),
            func.count().filter(Box.status == "in_transit"),
            func.count().filter(Box.status == "received"),
        ).where(Box.campaign_id == cid)
    ).one()
    results, positives = session.execute(
        select(func.count(), func.count().filter(LabResult.result == "positive")).where(LabResult.campaign_id == cid)
    ).one()
    retests_open = session.scalar(
        select(func.count()).where(RetestOrder.campaign_id == cid, RetestOrder.status != "closed")
    )
    return RoundFigures(
        campaign_id=cid,
        people=people,
        sampled=sampled,
        sites=sites,
        desks=int(desks),
        tubes=tubes,
        tubes_sealed=sealed,
        boxes=boxes,
        boxes_in_transit=in_transit,
        boxes_received=received,
        results=results,
        positives=positives,
        retests_open=retests_open or 0,
        first_sample=first,
        last_sample=last,
        deadline_minutes=campaign.deadline_minutes,
        starts_at=campaign.starts_at,
    )


def coverage_by_community(*, session: Session, campaign: Campaign) -> list[AreaCoverage]:
    sampled = (
        select(Sample.person_id).where(_sampled(campaign.id)).subquery()
    )
    rows = session.execute(
        select(Community.code, Community.name, func.count(Person.id), func.count(sampled.c.person_id))
        .join(Person, Person.community_id == Community.id)
        .outerjoin(sampled, sampled.c.person_id == Person.id)
        .group_by(Community.id, Community.code, Community.name)
        .order_by(Community.code)
    ).all()
    return [AreaCoverage(code, name, expected, done) for code, name, expected, done in rows]


@dataclass(frozen=True)
class MissingPerson:
    person_id: int
    name: str
    id_masked: str
    office: str
    community: str
    building: str
    unit: int | None
    room: str | None
    home_sampling: bool


def missing_list(
    *,
    session: Session,
    campaign: Campaign,
    community_code: str | None = None,
    office_id: int | None = None,
    limit: int | None = None,
) -> list[MissingPerson]:
    """Everyone in the registry with no sample this round, for door-to-door follow-up (未检人员名单)."""
    done = select(Sample.id).where(_sampled(campaign.id), Sample.person_id == Person.id).exists()
    query = (
        select(
            Person.id,
            Person.name,
            Person.id_masked,
            Office.name,
            Community.name,
            Building.name,
            Person.unit,
            Person.room,
            Person.home_sampling,
        )
        .join(Building, Building.id == Person.building_id)
        .join(Community, Community.id == Person.community_id)
        .join(Office, Office.id == Person.office_id)
        .where(~done)
        .order_by(Community.code, Building.code, Person.unit, Person.room, Person.id)
    )
    if community_code is not None:
        query = query.where(Community.code == community_code)
    if office_id is not None:
        query = query.where(Person.office_id == office_id)
    if limit is not None:
        query = query.limit(limit)
    return [MissingPerson(*row) for row in session.execute(query)]


__all__ = ["AreaCoverage", "MissingPerson", "RoundFigures", "coverage_by_community", "missing_list", "round_figures"]
