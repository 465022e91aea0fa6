"""The rounds of testing (campaigns): made, named by number or `latest`, and chosen for a plan."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.config import Settings
from sweep.errors import InvalidInput, NotFound
from sweep.partitions import create_round_partitions
from sweep.plan.models import Campaign


def create_campaign(
    *, session: Session, settings: Settings, name: str, starts_at: datetime, round_no: int = 1
) -> Campaign:
    if not name.strip():
        raise InvalidInput("name", "名称不能为空 (name must not be empty)")
    campaign = Campaign(
        name=name,
        round_no=round_no,
        starts_at=starts_at,
        deadline_minutes=settings.deadline_minutes,
        ready_before_minutes=settings.ready_before_minutes,
        pool_size=settings.pool_size,
        box_size=settings.box_size,
        status="planned",
    )
    session.add(campaign)
    session.flush()
    create_round_partitions(session.connection(), campaign.id)
    return campaign


def parse_campaign_ref(ref: str) -> int | None:
    """``latest`` or a campaign number, as URLs and the CLI name a round."""
    if ref == "latest":
        return None
    if not ref.isdigit():
        raise InvalidInput("campaign", f"应为轮次编号或 latest (a campaign number or 'latest'), got {ref!r}")
    return int(ref)


def campaign_by_ref(*, session: Session, ref: str) -> Campaign:
    """The campaign a URL or a command names: its number, or ``latest``."""
    return get_campaign(session=session, campaign_id=parse_campaign_ref(ref))


def get_campaign(*, session: Session, campaign_id: int | None = None) -> Campaign:
    """The campaign named, or the latest one."""
    if campaign_id is None:
        campaign = session.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))
    else:
        campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("campaign", "没有这一轮检测 (no such campaign)" if campaign_id else "还没有任何一轮检测 (no campaign yet)")
    return campaign


def choose_campaign(
    *, session: Session, settings: Settings, ref: str = "latest", new_round: bool = False, starts_at: datetime | None = None
) -> tuple[Campaign, bool]:
    """The campaign a plan is for, and whether it was created: the named or latest one, or a new round.

    A new round starts the day after the latest (07:00 unless ``starts_at``); the first round tomorrow.
    """
    wanted = parse_campaign_ref(ref)
    latest = session.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))
    if wanted is not None and new_round:
        raise InvalidInput("new_round", "不能同时指定轮次和新一轮 (name a campaign or ask for a new round, not both)")
    if wanted is not None:
        return get_campaign(session=session, campaign_id=wanted), False
    if latest is not None and not new_round:
        return latest, False
    round_no = 1 if latest is None else latest.round_no + 1
    if starts_at is None:
        tomorrow = datetime.now().replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)
        starts_at = tomorrow if latest is None else max(tomorrow, latest.starts_at + timedelta(days=1))
    name = f"第{round_no}轮全员核酸检测"
    return create_campaign(session=session, settings=settings, name=name, starts_at=starts_at, round_no=round_no), True
