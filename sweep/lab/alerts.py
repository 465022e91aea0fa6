"""The alert board: positive and invalid pools with their people's retest orders, for the HQ and offices.

An office sees only the orders of its own people; a confirmed positive stays on the board.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field, computed_field
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from sweep.auth.auditlog import record_view
from sweep.auth.scope import Scope
from sweep.field.models import Sample, Tube, WalkIn
from sweep.lab.models import LabResult, RetestOrder
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import Building, Community, Person


@dataclass(frozen=True)
class RetestLine:
    order_id: int
    person_id: int
    name: str | None
    id_masked: str
    phone: str | None
    building: str | None
    community: str | None
    office_id: Annotated[int | None, Field(exclude=True)]  # for the scope, not for the answer
    due_at: datetime
    status: str  # open | sampled (an individual sample is on its way to the lab) | closed
    result: str | None
    closed_at: datetime | None
    overdue: bool
    contacts_shown: bool


@dataclass(frozen=True)
class Alert:
    tube_code: str
    site_code: str
    result: str
    ct_value: float | None
    resulted_at: datetime
    retests: list[RetestLine]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open(self) -> int:
        return sum(r.status != "closed" for r in self.retests)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> int:
        return sum(r.overdue for r in self.retests)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def confirmed(self) -> int:
        return sum(r.result == "positive" for r in self.retests)


def alerts(
    *,
    session: Session,
    campaign: Campaign,
    now: datetime,
    scope: Scope,
    include_closed: bool = False,
) -> list[Alert]:
    """Every pool that ordered retests of people in the scope, newest first; by default only those still
    needing action. Contacts as the scope allows; a view with them is audited."""
    source = aliased(LabResult)
    retest = aliased(Sample)
    sampled = (
        select(retest.id)
        .where(
            retest.campaign_id == campaign.id,
            retest.person_id == RetestOrder.person_id,
            retest.kind == "retest",
            retest.sampled_at >= source.resulted_at,
        )
        .exists()
    )
    # Someone registered at a desk (a walk-in) has no building yet: where they stay comes from their
    # registration, and they are the office's whose site registered them.
    walk_site = aliased(PlanSite)
    office_of = func.coalesce(Person.office_id, walk_site.office_id)
    query = (
        select(
            RetestOrder.id, RetestOrder.person_id, Person.name, Person.id_masked, Person.phone,
            func.coalesce(Building.name, WalkIn.address), Community.name,
            office_of, RetestOrder.due_at, RetestOrder.status, RetestOrder.result, RetestOrder.closed_at, sampled.label("sampled"),
            Tube.code, PlanSite.code, source.result, source.ct_value, source.resulted_at,
        )
        .join(Person, Person.id == RetestOrder.person_id)
        .outerjoin(Building, Building.id == Person.building_id)
        .outerjoin(Community, Community.id == Person.community_id)
        .outerjoin(WalkIn, and_(WalkIn.person_id == Person.id, WalkIn.campaign_id == RetestOrder.campaign_id))
        .outerjoin(walk_site, walk_site.id == WalkIn.plan_site_id)
        .join(Tube, Tube.id == RetestOrder.source_tube_id)
        .join(PlanSite, PlanSite.id == Tube.plan_site_id)
        .join(source, and_(source.tube_id == Tube.id))
        .where(RetestOrder.campaign_id == campaign.id, scope.people(campaign.id))
        .order_by(source.resulted_at.desc(), Tube.code, RetestOrder.id)
    )
    boards: dict[str, Alert] = {}
    shown = scope.contacts
    for row in session.execute(query):
        (oid, pid, name, masked, phone, building, community, office, due, status, result, closed_at, was_sampled,
         tube_code, site_code, pool_result, ct, resulted_at) = row
        if status == "open" and was_sampled:
            status = "sampled"
        line = RetestLine(
            oid, pid, name if shown else None, masked, phone if shown else None, building if shown else None, community, office,
            due, status, result, closed_at, status != "closed" and due < now, shown,
        )
        if tube_code not in boards:
            boards[tube_code] = Alert(tube_code, site_code, pool_result, ct, resulted_at, [])
        boards[tube_code].retests.append(line)
    found = list(boards.values())
    if not include_closed:
        found = [a for a in found if a.open or a.confirmed]
    if shown:
        record_view(session=session, scope=scope, what="alerts", people=len({r.person_id for a in found for r in a.retests}),
                    campaign_id=campaign.id)
    return found


__all__ = ["Alert", "RetestLine", "alerts"]
