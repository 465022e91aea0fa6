"""The open retest orders (单采复核) of one site, for its terminal's retest mode.

A person of a positive or invalid pool comes back to the site that sampled the pool, to be sampled
alone; the site sees who is expected and by when. Names are masked for roles that see no contacts,
and ID numbers are always masked: the desk still scans the person's own card or code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from sweep.auth.scope import Scope
from sweep.field.models import Sample, Tube
from sweep.lab.models import LabResult, RetestOrder
from sweep.lab.service import mask_name
from sweep.plan.models import Campaign
from sweep.registry.models import Person


@dataclass(frozen=True)
class SiteRetest:
    order_id: int
    name: str
    id_masked: str
    source_tube_code: str
    due_at: datetime
    status: Literal["open", "sampled"]  # sampled: an individual sample of theirs is on its way to the lab
    overdue: bool


def site_retests(*, session: Session, campaign: Campaign, plan_site_id: int, scope: Scope, now: datetime) -> list[SiteRetest]:
    """Orders not yet closed whose pool was sampled at the site, the earliest due first."""
    source = aliased(LabResult)
    retest = aliased(Sample)
    sampled = (
        select(retest.id)
        .where(retest.campaign_id == campaign.id, retest.person_id == RetestOrder.person_id,
               retest.kind == "retest", retest.sampled_at >= source.resulted_at)
        .exists()
    )
    query = (
        select(RetestOrder.id, Person.name, Person.id_masked, Tube.code, RetestOrder.due_at, sampled.label("sampled"))
        .join(Person, Person.id == RetestOrder.person_id)
        .join(Tube, Tube.id == RetestOrder.source_tube_id)
        .join(source, and_(source.tube_id == Tube.id))
        .where(RetestOrder.campaign_id == campaign.id, RetestOrder.status != "closed", Tube.plan_site_id == plan_site_id,
               scope.people(campaign.id))
        .order_by(RetestOrder.due_at, RetestOrder.id)
    )
    shown = scope.contacts
    return [
        SiteRetest(oid, name if shown else mask_name(name), masked, code, due, "sampled" if was_sampled else "open",
                   not was_sampled and due < now)
        for oid, name, masked, code, due, was_sampled in session.execute(query)
    ]


__all__ = ["SiteRetest", "site_retests"]
