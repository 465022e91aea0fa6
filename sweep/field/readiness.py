"""The four things in place on time (四个到位): check-ins against the plan's deadlines.

Materials are counted against the planned quantity, medical staff arrive one by one against the
roster, disinfection and waste are checked off. An item is late when it is done after its
deadline or still not done past it, and short when fewer arrived than planned; the site sees
its own board and the HQ one list of every late or short item.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import computed_field
from sqlalchemy import ColumnElement, Row, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import SQLCoreOperations

from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.errors import InvalidInput, NotFound
from sweep.field.models import StaffArrival
from sweep.optimize.materials import STAFF_LABELS
from sweep.plan.clock import credited_time
from sweep.plan.models import Campaign, PlanSite, ReadinessItem, Shift
from sweep.registry.models import Staff
from sweep.roles import SiteRole

STATES = ("pending", "short", "done", "late", "overdue")


@dataclass(frozen=True)
class ReadinessState:
    id: int
    plan_site_id: int
    site_code: str
    kind: str
    label: str
    due_at: datetime
    quantity_planned: int | None
    quantity_done: int | None
    checked_at: datetime | None
    done_at: datetime | None
    note: str | None
    late: bool
    short: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> Literal["pending", "short", "done", "late", "overdue"]:
        if self.done_at is not None:
            return "late" if self.late else "done"
        if self.late:
            return "overdue"
        return "short" if self.short else "pending"


def _state(row: Row[*tuple[Any, ...]], now: datetime) -> ReadinessState:
    late = (row.done_at > row.due_at) if row.done_at is not None else now > row.due_at
    short = row.quantity_planned is not None and row.checked_at is not None and (row.quantity_done or 0) < row.quantity_planned
    return ReadinessState(
        row.id, row.plan_site_id, row.code, row.kind, row.label, row.due_at, row.quantity_planned, row.quantity_done,
        row.checked_at, row.done_at, row.note, late, short,
    )


_ITEMS = select(
    ReadinessItem.id, ReadinessItem.plan_site_id, PlanSite.code, ReadinessItem.kind, ReadinessItem.label, ReadinessItem.due_at,
    ReadinessItem.quantity_planned, ReadinessItem.quantity_done, ReadinessItem.checked_at, ReadinessItem.done_at, ReadinessItem.note,
).join(PlanSite, PlanSite.id == ReadinessItem.plan_site_id)


def site_board(*, session: Session, campaign: Campaign, plan_site_id: int, now: datetime) -> list[ReadinessState]:
    rows = session.execute(
        _ITEMS.where(ReadinessItem.campaign_id == campaign.id, ReadinessItem.plan_site_id == plan_site_id).order_by(
            ReadinessItem.due_at, ReadinessItem.id
        )
    ).all()
    return [_state(r, now) for r in rows]


def late_by(now: datetime) -> ColumnElement[bool]:
    """An item late at ``now``: done after its deadline, or not done by it."""
    return (ReadinessItem.done_at.is_(None) & (ReadinessItem.due_at < now)) | (ReadinessItem.done_at > ReadinessItem.due_at)


def flagged(*, session: Session, campaign: Campaign, now: datetime, scope: Scope, late_only: bool = False,
            limit: int | None = None) -> list[ReadinessState]:
    """Every late or short item of the round at the sites in the scope (the HQ's list: all); the
    earliest due first. ``late_only`` leaves out items on time but short."""
    late = late_by(now)
    short = ReadinessItem.checked_at.is_not(None) & (func.coalesce(ReadinessItem.quantity_done, 0) < ReadinessItem.quantity_planned)
    query = _ITEMS.where(ReadinessItem.campaign_id == campaign.id, late if late_only else late | short, scope.sites())
    rows = session.execute(query.order_by(ReadinessItem.due_at, PlanSite.code, ReadinessItem.id).limit(limit)).all()
    return [_state(r, now) for r in rows]


def item_site(*, session: Session, campaign: Campaign, item_id: int) -> PlanSite:
    """The site an item belongs to, for the caller's scope check."""
    site = session.scalar(
        select(PlanSite).join(ReadinessItem, ReadinessItem.plan_site_id == PlanSite.id).where(
            ReadinessItem.id == item_id, ReadinessItem.campaign_id == campaign.id
        )
    )
    if site is None:
        raise NotFound("item_id", "本轮没有这个准备事项 (no such readiness item in this campaign)")
    return site


def check_in(
    *,
    session: Session,
    campaign: Campaign,
    item_id: int,
    at: datetime,
    quantity: int | None = None,
    note: str | None = None,
    user_id: int | None = None,
    received_at: datetime | None = None,
) -> ReadinessState:
    """Record what is in place. The quantity is the total counted, so sending it twice is harmless.

    ``at`` is the time claimed (the terminal's); ``received_at``, when the server heard of it, bounds
    the time the deadline is judged by (``done_at``), so that "on time" cannot be claimed by a
    backdated check-in. ``checked_at`` keeps the claim as sent."""
    item = session.get(ReadinessItem, item_id)
    if item is None or item.campaign_id != campaign.id:
        raise NotFound("item_id", "本轮没有这个准备事项 (no such readiness item in this campaign)")
    if item.quantity_planned is not None and quantity is None:
        raise InvalidInput("quantity", f"请填写实到数量（计划 {item.quantity_planned}）(give the quantity in place; planned {item.quantity_planned})")
    if quantity is not None and quantity < 0:
        raise InvalidInput("quantity", "数量不能为负 (a quantity cannot be negative)")
    item.quantity_done = quantity
    item.checked_at = at
    item.done_by = user_id
    if note is not None:
        item.note = note.strip()[:200] or None
    complete = item.quantity_planned is None or (quantity or 0) >= item.quantity_planned
    if complete and item.done_at is None:
        item.done_at = at if received_at is None else credited_time(claimed=at, received=received_at)
    session.flush()
    audit(session=session, user_id=user_id, action="readiness.checked_in", entity="readiness_item", entity_id=item.id,
          campaign_id=campaign.id, at=at, detail={"quantity": quantity, "complete": complete})
    return site_board_item(session=session, campaign=campaign, item_id=item.id, now=at)


def site_board_item(*, session: Session, campaign: Campaign, item_id: int, now: datetime) -> ReadinessState:
    row = session.execute(_ITEMS.where(ReadinessItem.id == item_id, ReadinessItem.campaign_id == campaign.id)).one()
    return _state(row, now)


@dataclass(frozen=True)
class RosterEntry:
    staff_id: int
    name: str
    role: str
    desk_no: int | None
    arrived_at: datetime | None


@dataclass(frozen=True)
class Arrival(RosterEntry):
    """A roster entry as a check-in answers it: ``replayed`` when the person was already checked in."""

    replayed: bool = False


def roster(*, session: Session, campaign: Campaign, plan_site_id: int) -> list[RosterEntry]:
    """Who is rostered at a site (one line a person, their first shift's role) and who has arrived."""
    rows = session.execute(
        select(Shift.staff_id, Staff.name, Shift.role, Shift.desk_no, StaffArrival.arrived_at)
        .join(Staff, Staff.id == Shift.staff_id)
        .outerjoin(StaffArrival, (StaffArrival.staff_id == Shift.staff_id) & (StaffArrival.campaign_id == campaign.id))
        .where(Shift.campaign_id == campaign.id, Shift.plan_site_id == plan_site_id)
        .order_by(Shift.staff_id, Shift.starts_minute)
    ).all()
    seen: dict[int, RosterEntry] = {}
    for r in rows:
        seen.setdefault(r.staff_id, RosterEntry(r.staff_id, r.name, r.role, r.desk_no, r.arrived_at))
    return list(seen.values())


def staff_arrived(
    *, session: Session, campaign: Campaign, plan_site_id: int, staff_id: int, at: datetime, user_id: int | None = None
) -> Arrival:
    """Check one rostered person in; an arrival already checked in is answered as it stands, ``replayed``."""
    entry = next((e for e in roster(session=session, campaign=campaign, plan_site_id=plan_site_id) if e.staff_id == staff_id), None)
    if entry is None:
        raise NotFound("staff_id", "此人不在本点的分工表上 (this person is not on the site's roster)")
    if entry.arrived_at is not None:
        return Arrival(**asdict(entry), replayed=True)
    session.add(StaffArrival(campaign_id=campaign.id, plan_site_id=plan_site_id, staff_id=staff_id, arrived_at=at, recorded_by=user_id))
    session.flush()
    # A site has two staff items, its medical staff (whoever samples there) and the others; each
    # counts the arrivals of its own people and is done when all of them are in.
    def samples_here(staff: SQLCoreOperations[int] | int) -> ColumnElement[bool]:
        return (
            select(Shift.id)
            .where(Shift.campaign_id == campaign.id, Shift.plan_site_id == plan_site_id, Shift.staff_id == staff,
                   Shift.role == SiteRole.SAMPLER.value)
            .exists()
        )

    medical = bool(session.scalar(select(samples_here(staff_id))))
    sampler = samples_here(StaffArrival.staff_id)
    arrived = session.scalar(
        select(func.count()).select_from(StaffArrival)
        .where(StaffArrival.campaign_id == campaign.id, StaffArrival.plan_site_id == plan_site_id, sampler if medical else ~sampler)
    ) or 0
    item = session.scalar(
        select(ReadinessItem).where(
            ReadinessItem.campaign_id == campaign.id, ReadinessItem.plan_site_id == plan_site_id, ReadinessItem.kind == "staff",
            ReadinessItem.label == STAFF_LABELS["medical" if medical else "general"],
        )
    )
    if item is not None:
        done_at = at if item.done_at is None and (item.quantity_planned is None or arrived >= item.quantity_planned) else item.done_at
        session.execute(
            update(ReadinessItem).where(ReadinessItem.id == item.id).values(quantity_done=arrived, checked_at=at, done_at=done_at, done_by=user_id)
        )
    audit(session=session, user_id=user_id, action="staff.arrived", entity="staff", entity_id=staff_id, campaign_id=campaign.id,
          at=at, detail={"plan_site_id": plan_site_id})
    return Arrival(entry.staff_id, entry.name, entry.role, entry.desk_no, at)


__all__ = ["STATES", "ReadinessState", "RosterEntry", "check_in", "flagged", "item_site", "late_by", "roster", "site_board", "staff_arrived"]
