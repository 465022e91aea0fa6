"""What a terminal reads: its site's open tubes and the last scans, ID numbers masked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.field.models import Sample, Tube
from sweep.field.tubes import TubeState
from sweep.plan.models import Campaign
from sweep.registry.models import Person


def site_tubes(*, session: Session, campaign: Campaign, plan_site_id: int, status: str | None = "open", limit: int = 50) -> list[TubeState]:
    query = select(Tube.id, Tube.code, Tube.plan_site_id, Tube.pool_size, Tube.filled, Tube.status, Tube.kind).where(
        Tube.campaign_id == campaign.id, Tube.plan_site_id == plan_site_id
    )
    if status is not None:
        query = query.where(Tube.status == status)
    return [TubeState(*r[:6], kind=r.kind) for r in session.execute(query.order_by(Tube.id.desc()).limit(limit))]


def recent_scans(*, session: Session, campaign: Campaign, plan_site_id: int, limit: int = 20) -> list[dict]:
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
