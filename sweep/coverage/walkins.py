"""Walk-ins in the round's figures: counted apart from the registry, listed for their community office,
and confirmed into the registry with one action (they keep their sample, now counted in their building).

A walk-in belongs to the office of the building they said they stay in, or else of the site that
registered them; an office sees and confirms its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select, true, update
from sqlalchemy.orm import Session, aliased

from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.field.models import Sample, WalkIn
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import Building, CandidateSite, Community, Person

_stated = aliased(Building)
_site_community = aliased(Community)
# Whose a walk-in is: the office of the building they stay in, else of the site that registered them.
_OFFICE = func.coalesce(_stated.office_id, PlanSite.office_id)
_COMMUNITY = func.coalesce(_stated.community_id, CandidateSite.community_id)


@dataclass(frozen=True)
class WalkInRow:
    walk_in_id: int
    person_id: int
    name: str | None
    id_masked: str
    phone: str | None
    reason: str
    site_code: str
    community: str | None
    building_code: str | None
    address: str | None
    registered_at: datetime
    sampled_at: datetime | None
    confirmed_at: datetime | None
    office_id: int | None
    contacts_shown: bool


@dataclass(frozen=True)
class WalkInCount:
    code: str | None  # none: walk-ins at a site outside any community
    name: str | None
    registered: int
    sampled: int
    confirmed: int


def _query(campaign: Campaign) -> Select[*tuple[Any, ...]]:
    sampled = (
        select(func.min(Sample.sampled_at))
        .where(Sample.campaign_id == campaign.id, Sample.person_id == WalkIn.person_id, Sample.kind != "retest")
        .scalar_subquery()
    )
    return (
        select(WalkIn.id, WalkIn.person_id, Person.name, Person.id_masked, Person.phone, WalkIn.reason, PlanSite.code.label("site_code"),
               _site_community.name.label("community"), _stated.code, WalkIn.address, WalkIn.registered_at, sampled.label("sampled_at"),
               WalkIn.confirmed_at, _OFFICE.label("office_id"), _site_community.code.label("community_code"))
        .join(Person, Person.id == WalkIn.person_id)
        .join(PlanSite, PlanSite.id == WalkIn.plan_site_id)
        .outerjoin(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .outerjoin(_stated, _stated.id == WalkIn.building_id)
        .outerjoin(_site_community, _site_community.id == _COMMUNITY)
        .where(WalkIn.campaign_id == campaign.id)
    )


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    """A walk-in is in an office's scope when it is theirs (``_OFFICE``); the district sees all, a site its own."""
    reach = scope.reach("people")
    if reach == "all":
        return true()
    if reach == "office":
        office = _OFFICE  # on the left, the comparison is typed as SQL's, not Python's
        return office == scope.office_id
    if reach == "site":
        return PlanSite.candidate_site_id == scope.candidate_site_id
    return false()


def walk_ins(*, session: Session, campaign: Campaign, scope: Scope, unconfirmed_only: bool = False) -> list[WalkInRow]:
    """The round's walk-ins in the scope, the unconfirmed first; names and phones as the scope shows them."""
    query = _query(campaign).where(_in_scope(scope))
    if unconfirmed_only:
        query = query.where(WalkIn.confirmed_at.is_(None))
    shown = scope.contacts
    rows: list[WalkInRow] = []
    for r in session.execute(query.order_by(WalkIn.confirmed_at.is_not(None), WalkIn.registered_at, WalkIn.id)):
        rows.append(WalkInRow(r[0], r[1], r[2] if shown else None, r[3], r[4] if shown else None,
                              r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], shown))
    return rows


def walk_in_counts(*, session: Session, campaign: Campaign, by: str) -> list[WalkInCount]:
    """Walk-ins registered, sampled and confirmed, by site or by community."""
    if by not in ("site", "community"):
        raise InvalidInput("by", f"应为 site 或 community (by site or community), got {by!r}")
    rows = _query(campaign).subquery()
    code, name = (rows.c.site_code, rows.c.site_code) if by == "site" else (rows.c.community_code, rows.c.community)
    counted = session.execute(
        select(code, name, func.count(), func.count(rows.c.sampled_at), func.count(rows.c.confirmed_at))
        .group_by(code, name).order_by(code)
    ).all()
    return [WalkInCount(*r) for r in counted]


def confirm_walk_in(*, session: Session, campaign: Campaign, walk_in_id: int, scope: Scope, at: datetime,
                    building_code: str | None = None, unit: int | None = None, room: str | None = None) -> WalkInRow:
    """Enter a walk-in into the registry at their building; they keep their sample, now counted there."""
    walk_in = session.get(WalkIn, walk_in_id)
    if walk_in is None or walk_in.campaign_id != campaign.id:
        raise NotFound("walk_in_id", "本轮没有这条临时登记 (no such walk-in in this round)")
    site = session.get(PlanSite, walk_in.plan_site_id)
    stated = session.get(Building, walk_in.building_id) if walk_in.building_id is not None else None
    if not scope.may_write_office(stated.office_id if stated is not None else site.office_id if site is not None else None):
        raise scope.refuse("walk_in_id", str(walk_in_id))
    if walk_in.confirmed_at is not None:
        raise Conflict("walk_in_id", "这条临时登记已确认入册 (this walk-in is already confirmed into the registry)")
    building = stated
    if building_code:
        building = session.scalar(select(Building).where(Building.code == building_code.strip()))
        if building is None:
            raise NotFound("building_code", f"没有这个楼栋 (no such building): {building_code}")
    if building is None:
        raise InvalidInput("building_code", "须指定所住楼栋才能入册 (name the building they live in to enter them)")
    if not scope.may_write_office(building.office_id):
        raise scope.refuse("building_code", building.code)
    session.execute(
        update(Person).where(Person.id == walk_in.person_id).values(
            building_id=building.id, grid_id=building.grid_id, community_id=building.community_id, office_id=building.office_id,
            unit=unit, room=room)
    )
    walk_in.building_id = building.id
    walk_in.confirmed_at = at
    walk_in.confirmed_by = scope.user_id
    session.flush()
    audit(session=session, user_id=walk_in.confirmed_by, action="walk_in.confirmed", entity="person", entity_id=walk_in.person_id,
          campaign_id=campaign.id, at=at, detail={"building": building.code, "walk_in": walk_in.id})
    (row,) = [r for r in walk_ins(session=session, campaign=campaign, scope=scope) if r.walk_in_id == walk_in.id]
    return row


