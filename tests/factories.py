"""Small builders shared by the tests: a planned round on the loaded district."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.config import Settings
from sweep.field.couriers import site_couriers
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
    return list(session.scalars(select(Person.id).order_by(Person.id).limit(n)))


def uid() -> str:
    return str(uuid.uuid4())
