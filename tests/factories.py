"""Small builders shared by the tests: a planned round on the loaded district."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.config import Settings
from sweep.field.couriers import site_couriers
from sweep.field.scan import ScanIn, ScanResult, scan_batch
from sweep.plan.models import Campaign, PlanSite
from sweep.plan.planning import make_plan
from sweep.plan.service import create_campaign
from sweep.registry.models import Person


def planned_campaign(session: Session, settings: Settings, start: datetime) -> Campaign:
    campaign = create_campaign(session=session, settings=settings, name="测试轮", starts_at=start)
    make_plan(session=session, settings=settings, campaign=campaign)
    return campaign


def two_sites(session: Session, campaign: Campaign) -> tuple[PlanSite, PlanSite]:
    sites = session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id).limit(2)).all()
    return sites[0], sites[1]


def courier(session: Session, campaign: Campaign, site_id: int) -> int:
    """The staff id of the site's rostered courier: boxes go to them."""
    return site_couriers(session=session, campaign=campaign, plan_site_id=site_id)[0].staff_id


def people(session: Session, n: int) -> list[int]:
    """n registered people sampled in pools: key groups sampled one to a tube are left out."""
    return list(session.scalars(select(Person.id).where(Person.key_group_id.is_(None)).order_by(Person.id).limit(n)))


def uid() -> str:
    return str(uuid.uuid4())


def scan_person(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    tube_code: str,
    person_id: int,
    client_uuid: str,
    sampled_at: datetime,
    user_id: int | None = None,
    kind: str = "pooled",
) -> ScanResult:
    """One person into a tube through the one scan path; raises the item's error."""
    (outcome,) = scan_batch(session=session, campaign=campaign, plan_site_id=plan_site_id, key="", user_id=user_id,
                            scans=[ScanIn(client_uuid, tube_code, sampled_at, kind=kind, person_id=person_id)])
    if outcome.error is not None:
        raise outcome.error
    assert outcome.result is not None
    return outcome.result


def outsider_number() -> str:
    """A valid ID number of someone outside the test districts (Shanghai, region 310115), new on each call."""
    from sweep.registry.idnumber import check_digit

    serial = uuid.uuid4().int % 1000
    body = f"31011519850101{serial:03d}"
    return body + check_digit(body)
