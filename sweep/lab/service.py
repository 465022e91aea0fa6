"""Receive boxes, record a result per tube, and trace a positive pool to its people at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.field.models import Box, Handover, Sample, Tube
from sweep.lab.models import LabResult, RetestOrder
from sweep.plan.models import Campaign
from sweep.registry.models import Building, Person

RESULTS = ("negative", "positive", "invalid")
# The people of a positive pool are sampled one by one the same day.
RETEST_WITHIN = timedelta(hours=6)


@dataclass(frozen=True)
class TracedPerson:
    person_id: int
    name: str
    id_masked: str
    phone: str | None
    building: str
    position: int
    sampled_at: datetime
    site_code: str


def receive_box(*, session: Session, campaign: Campaign, box_code: str, at: datetime, user_id: int | None = None) -> Box:
    box = session.scalar(select(Box).where(Box.campaign_id == campaign.id, Box.code == box_code))
    if box is None:
        raise NotFound("box_code", f"本轮没有这个箱码 (unknown box code in this campaign): {box_code}")
    handover = session.scalar(select(Handover).where(Handover.box_id == box.id))
    if handover is None:
        raise Conflict("box_code", f"箱码 {box_code} 尚未交给转运员 (box was never handed to a courier)")
    if handover.received_at is not None:
        raise Conflict("box_code", f"箱码 {box_code} 已于 {handover.received_at:%H:%M} 签收 (box already received)")
    if at < handover.handed_at:
        raise InvalidInput("received_at", "签收时间早于交接时间 (received before it was handed over)")
    handover.received_at = at
    handover.received_by = user_id
    box.status = "received"
    session.flush()
    return box


@dataclass(frozen=True)
class ResultState:
    id: int
    tube_code: str
    result: str
    retests_ordered: int


_TUBE_AT_LAB = (
    select(Tube.id, Handover.received_at, LabResult.id.label("result_id"))
    .outerjoin(Handover, Handover.box_id == Tube.box_id)
    .outerjoin(LabResult, LabResult.tube_id == Tube.id)
    .where(Tube.campaign_id == bindparam("cid"), Tube.code == bindparam("code"))
)
_INSERT_RESULT = insert(LabResult).returning(LabResult.id)
_POOL = select(Sample.person_id).where(Sample.tube_id == bindparam("tid"), Sample.kind != "retest")


def record_result(
    *,
    session: Session,
    campaign: Campaign,
    tube_code: str,
    result: str,
    at: datetime,
    ct_value: float | None = None,
    user_id: int | None = None,
) -> ResultState:
    """Record a tube's result; a positive or invalid pool orders individual retests for its people."""
    if result not in RESULTS:
        raise InvalidInput("result", f"结果应为 {'/'.join(RESULTS)} (result must be one of those), got {result!r}")
    conn = session.connection()
    tube = conn.execute(_TUBE_AT_LAB, {"cid": campaign.id, "code": tube_code}).first()
    if tube is None:
        raise NotFound("tube_code", f"本轮没有这个管码 (unknown tube code in this campaign): {tube_code}")
    if tube.received_at is None:
        raise Conflict("tube_code", f"管码 {tube_code} 所在的箱子尚未签收 (the tube's box has not been received)")
    if tube.result_id is not None:
        raise Conflict("tube_code", f"管码 {tube_code} 已有结果 (the tube already has a result)")
    result_id = conn.execute(
        _INSERT_RESULT,
        {"campaign_id": campaign.id, "tube_id": tube.id, "result": result, "ct_value": ct_value, "resulted_at": at, "recorded_by": user_id},
    ).scalar_one()
    person_ids: list[int] = []
    if result != "negative":
        person_ids = list(conn.execute(_POOL, {"tid": tube.id}).scalars())
        conn.execute(
            insert(RetestOrder),
            [
                {"campaign_id": campaign.id, "person_id": pid, "source_tube_id": tube.id, "due_at": at + RETEST_WITHIN, "status": "open"}
                for pid in person_ids
            ],
        )
    return ResultState(result_id, tube_code, result, len(person_ids))


def trace_tube(*, session: Session, campaign: Campaign, tube_code: str) -> list[TracedPerson]:
    """The people in one tube, with where and when they were sampled."""
    from sweep.plan.models import PlanSite

    tube_id = session.scalar(select(Tube.id).where(Tube.campaign_id == campaign.id, Tube.code == tube_code))
    if tube_id is None:
        raise NotFound("tube_code", f"本轮没有这个管码 (unknown tube code in this campaign): {tube_code}")
    rows = session.execute(
        select(Person.id, Person.name, Person.id_masked, Person.phone, Building.name, Sample.position, Sample.sampled_at, PlanSite.code)
        .join(Person, Person.id == Sample.person_id)
        .join(Building, Building.id == Person.building_id)
        .join(PlanSite, PlanSite.id == Sample.plan_site_id)
        .where(Sample.tube_id == tube_id)
        .order_by(Sample.position)
    ).all()
    return [TracedPerson(*r) for r in rows]


def close_retest(*, session: Session, campaign: Campaign, order_id: int, result: str, at: datetime) -> RetestOrder:
    if result not in RESULTS:
        raise InvalidInput("result", f"结果应为 {'/'.join(RESULTS)} (result must be one of those), got {result!r}")
    order = session.get(RetestOrder, order_id)
    if order is None or order.campaign_id != campaign.id:
        raise NotFound("order_id", "没有这个复核单 (no such retest order)")
    if order.status == "closed":
        raise Conflict("order_id", "复核单已关闭 (retest order already closed)")
    session.execute(
        update(RetestOrder).where(RetestOrder.id == order.id).values(status="closed", result=result, closed_at=at)
    )
    session.refresh(order)
    return order
