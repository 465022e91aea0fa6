"""The couriers (转运员) a site may hand its boxes to: those rostered at it as courier for the round.

A site whose roster came out short of a courier (the staff pool ran out) is served by the round's
other couriers, as a courier's run takes in several sites; otherwise its boxes could not leave.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.errors import InvalidInput
from sweep.plan.models import Campaign, Shift
from sweep.registry.models import Staff
from sweep.roles import SiteRole


@dataclass(frozen=True)
class Courier:
    staff_id: int
    name: str


def _couriers(session: Session, campaign: Campaign, plan_site_id: int | None) -> list[Courier]:
    query = (
        select(Staff.id, Staff.name)
        .join(Shift, Shift.staff_id == Staff.id)
        .where(Shift.campaign_id == campaign.id, Shift.role == SiteRole.COURIER.value)
        .distinct()
        .order_by(Staff.name, Staff.id)
    )
    if plan_site_id is not None:
        query = query.where(Shift.plan_site_id == plan_site_id)
    return [Courier(staff_id, name) for staff_id, name in session.execute(query).all()]


def site_couriers(*, session: Session, campaign: Campaign, plan_site_id: int) -> list[Courier]:
    """Who is on the site's roster as courier this round, by name; the round's couriers if it has none."""
    return _couriers(session, campaign, plan_site_id) or _couriers(session, campaign, None)


def rostered_courier(*, session: Session, campaign: Campaign, plan_site_id: int, staff_id: int) -> Courier:
    """The courier named, if the roster has them as this site's courier this round; else a refusal that says who is."""
    couriers = site_couriers(session=session, campaign=campaign, plan_site_id=plan_site_id)
    found = next((c for c in couriers if c.staff_id == staff_id), None)
    if found is None:
        rostered = "、".join(f"{c.name} ({c.staff_id})" for c in couriers) or "无 none"
        raise InvalidInput(
            "courier_staff_id",
            f"此人不是本点本轮分工表上的转运员；本点转运员：{rostered} "
            f"(not rostered as this site's courier this round; the site's couriers: {rostered})",
        )
    return found


__all__ = ["Courier", "rostered_courier", "site_couriers"]
