"""Receive boxes, record a result per tube, and trace a positive pool to its people at once.

A positive or invalid pool orders an individual retest (单采复核) for each of its people; the
result of a tube holding retest samples closes their orders. Contacts (names, buildings, phones)
are shown only to the roles the policy allows, and an office only for its own people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field
from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sweep.auth.auditlog import record_view
from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.field.models import Box, Handover, Sample, Tube, WalkIn
from sweep.field.service import unknown_code
from sweep.lab.models import RESULTS, LabResult, RetestOrder
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import Building, CandidateSite, Community, Person

# The people of a positive pool are told to stay put and sampled one by one the same day; six
# hours matches the round's own sampling window (the seed's "6").
RETEST_WITHIN = timedelta(hours=6)
# Real-time PCR runs 40-45 cycles; anything past 50 is a typing error, not a reading.
CT_MAX = 50.0


def check_result(result: str, *, field: str = "result") -> str:
    if result not in RESULTS:
        raise InvalidInput(field, f"结果应为 {'/'.join(RESULTS)} (result must be one of those), got {result!r}")
    return result


def check_ct(values: Mapping[str, float | None] | None, *, field: str = "ct_value") -> dict[str, float] | None:
    """Ct values by target (ORF1ab, N, ...); each must be a reading in (0, 50]."""
    if not values:
        return None
    clean: dict[str, float] = {}
    for target, value in values.items():
        if value is None:
            continue
        if not 0 < float(value) <= CT_MAX:
            raise InvalidInput(field, f"Ct值应在 0–{CT_MAX:g} 之间 (a Ct value lies in (0, {CT_MAX:g}]), got {value} for {target}")
        clean[target] = float(value)
    return clean or None


def receive_box(*, session: Session, campaign: Campaign, box_code: str, at: datetime, user_id: int | None = None) -> Box:
    """The lab signs for a box (the second signature of 双签收)."""
    box = session.scalar(select(Box).where(Box.campaign_id == campaign.id, Box.code == box_code))
    if box is None:
        raise unknown_code("box", box_code)
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
    audit(session=session, user_id=user_id, action="box.received", entity="box", entity_id=box.id, campaign_id=campaign.id, at=at)
    return box


@dataclass(frozen=True)
class ResultState:
    id: int
    tube_code: str
    result: str
    retests_ordered: int
    retests_closed: int = 0


_TUBE_AT_LAB = (
    select(Tube.id, Handover.received_at, LabResult.id.label("result_id"), LabResult.result)
    .outerjoin(Handover, Handover.box_id == Tube.box_id)
    .outerjoin(LabResult, LabResult.tube_id == Tube.id)
    .where(Tube.campaign_id == bindparam("cid"), Tube.code == bindparam("code"))
)
_INSERT_RESULT = insert(LabResult).returning(LabResult.id)
# Reads of ``samples`` name the round: on PostgreSQL it is partitioned by round (sweep.partitions).
_POOL = select(Sample.person_id).where(Sample.campaign_id == bindparam("cid"), Sample.tube_id == bindparam("tid"), Sample.kind != "retest")
_RETESTS_IN_TUBE = select(Sample.id, Sample.person_id).where(Sample.campaign_id == bindparam("cid"), Sample.tube_id == bindparam("tid"),
                                                             Sample.kind == "retest")
_CLOSE_ORDERS = (
    update(RetestOrder)
    .where(
        RetestOrder.campaign_id == bindparam("cid"),
        RetestOrder.person_id == bindparam("pid"),
        RetestOrder.status != "closed",
    )
    .values(status="closed", result=bindparam("res"), closed_at=bindparam("at"), sample_id=bindparam("sid"))
)


def store_result(
    conn: Connection,
    *,
    campaign: Campaign,
    tube_id: int,
    result: str,
    at: datetime,
    ct_values: dict[str, float] | None,
    user_id: int | None,
    import_id: int | None = None,
    retest_within: timedelta = RETEST_WITHIN,
) -> tuple[int, int, int]:
    """Write one checked result and its consequences; returns (result id, retests ordered, closed)."""
    result_id = conn.execute(
        _INSERT_RESULT,
        {
            "campaign_id": campaign.id, "tube_id": tube_id, "result": result,
            "ct_value": min(ct_values.values()) if ct_values else None, "ct_values": ct_values,
            "resulted_at": at, "recorded_by": user_id, "import_id": import_id,
        },
    ).scalar_one()
    ordered: list[int] = []
    if result != "negative":
        ordered = list(conn.execute(_POOL, {"cid": campaign.id, "tid": tube_id}).scalars())
    closed = 0
    for sample_id, person_id in conn.execute(_RETESTS_IN_TUBE, {"cid": campaign.id, "tid": tube_id}).all():
        closed += conn.execute(_CLOSE_ORDERS, {"cid": campaign.id, "pid": person_id, "res": result, "at": at, "sid": sample_id}).rowcount
        if result == "invalid":
            ordered.append(person_id)  # an invalid individual retest is taken again
    if ordered:
        conn.execute(
            insert(RetestOrder),
            [
                {"campaign_id": campaign.id, "person_id": pid, "source_tube_id": tube_id, "due_at": at + retest_within, "status": "open"}
                for pid in ordered
            ],
        )
    return result_id, len(ordered), closed


def record_result(
    *,
    session: Session,
    campaign: Campaign,
    tube_code: str,
    result: str,
    at: datetime,
    ct_value: float | None = None,
    ct_values: Mapping[str, float | None] | None = None,
    user_id: int | None = None,
) -> ResultState:
    """Record a tube's result by hand; a positive or invalid pool orders individual retests for its people."""
    check_result(result)
    cts = check_ct({**({"ct": ct_value} if ct_value is not None else {}), **(ct_values or {})})
    conn = session.connection()
    tube = conn.execute(_TUBE_AT_LAB, {"cid": campaign.id, "code": tube_code}).first()
    if tube is None:
        raise unknown_code("tube", tube_code)
    if tube.received_at is None:
        raise Conflict("tube_code", f"管码 {tube_code} 所在的箱子尚未签收 (the tube's box has not been received)")
    if tube.result_id is not None:
        raise Conflict("tube_code", f"管码 {tube_code} 已有结果 (the tube already has a result)")
    if at < tube.received_at:
        raise InvalidInput("resulted_at", "结果时间早于签收时间 (the result is dated before the box was received)")
    result_id, ordered, closed = store_result(conn, campaign=campaign, tube_id=tube.id, result=result, at=at, ct_values=cts, user_id=user_id)
    return ResultState(result_id, tube_code, result, ordered, closed)


@dataclass(frozen=True)
class TracedPerson:
    """One person of a traced tube. Name, phone, building and room are None where the viewer may not see them."""

    person_id: int
    name: str | None
    id_masked: str
    phone: str | None
    building: str | None
    position: int
    sampled_at: datetime
    site_code: str
    community: str | None
    office_id: Annotated[int | None, Field(exclude=True)]  # for the scope, not for the answer
    unit: int | None = None
    room: str | None = None
    kind: str = "pooled"
    contacts_shown: bool = True


@dataclass(frozen=True)
class TubeTrace:
    tube_code: str
    site_code: str
    site_name: str
    desk_no: int | None
    sealed_at: datetime | None
    result: str | None
    ct_value: float | None
    resulted_at: datetime | None
    people: list[TracedPerson]
    # The chain of custody: the box it travelled in, when it was packed, handed to whom, received.
    box_code: Annotated[str | None, Field(description="The transport box the tube went in.")] = None
    packed_at: datetime | None = None
    handed_at: Annotated[datetime | None, Field(description="When the box was handed to the courier.")] = None
    courier_name: str | None = None
    received_at: Annotated[datetime | None, Field(description="When the lab signed for the box.")] = None


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def redact(person: TracedPerson, scope: Scope) -> TracedPerson:
    """Names, phones and addresses only for the roles that see contacts; the lab sees people masked."""
    if scope.contacts:
        return person
    return replace(person, name=None, phone=None, building=None, unit=None, room=None, contacts_shown=False)


_TRACE_TUBE = (
    select(Tube.id, Tube.code, Tube.desk_no, Tube.sealed_at, PlanSite.code.label("site_code"), CandidateSite.name.label("site_name"),
           LabResult.result, LabResult.ct_value, LabResult.resulted_at, Box.code.label("box_code"), Tube.packed_at,
           Handover.handed_at, Handover.courier_name, Handover.received_at)
    .join(PlanSite, PlanSite.id == Tube.plan_site_id)
    .join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
    .outerjoin(LabResult, LabResult.tube_id == Tube.id)
    .outerjoin(Box, Box.id == Tube.box_id)
    .outerjoin(Handover, Handover.box_id == Tube.box_id)
    .where(Tube.campaign_id == bindparam("cid"), Tube.code == bindparam("code"))
)
_TUBE_EXISTS = select(Tube.id).where(Tube.campaign_id == bindparam("cid"), Tube.code == bindparam("code"))
# Everyone in the tube, walk-ins (no building yet) included: where they stay comes from their
# registration at the desk, and their office is that of the site that registered them.
_TRACE_PEOPLE = (
    select(Person.id, Person.name, Person.id_masked, Person.phone, func.coalesce(Building.name, WalkIn.address), Sample.position,
           Sample.sampled_at, PlanSite.code, Community.name, func.coalesce(Person.office_id, PlanSite.office_id), Person.unit, Person.room,
           Sample.kind)
    .join(Person, Person.id == Sample.person_id)
    .outerjoin(Building, Building.id == Person.building_id)
    .outerjoin(Community, Community.id == Person.community_id)
    .outerjoin(WalkIn, and_(WalkIn.person_id == Person.id, WalkIn.campaign_id == Sample.campaign_id))
    .join(PlanSite, PlanSite.id == Sample.plan_site_id)
    .where(Sample.campaign_id == bindparam("cid"), Sample.tube_id == bindparam("tid"))
    .order_by(Sample.position)
)


def trace_tube(*, session: Session, campaign: Campaign, tube_code: str, scope: Scope) -> TubeTrace:
    """The people in one tube of the scope, with where and when they were sampled; contacts as the scope allows, audited."""
    conn = session.connection()
    tube = conn.execute(_TRACE_TUBE.where(scope.tubes()), {"cid": campaign.id, "code": tube_code}).first()
    if tube is None:
        if conn.execute(_TUBE_EXISTS, {"cid": campaign.id, "code": tube_code}).first() is not None:
            raise scope.refuse("tube_code", tube_code)
        raise unknown_code("tube", tube_code)
    rows = conn.execute(_TRACE_PEOPLE.where(scope.people(campaign.id)), {"cid": campaign.id, "tid": tube.id})
    people = [redact(TracedPerson(*row), scope) for row in rows]
    if scope.contacts:
        record_view(session=session, scope=scope, what="trace", people=len(people), campaign_id=campaign.id, detail={"tube": tube.code})
    return TubeTrace(
        tube.code, tube.site_code, tube.site_name, tube.desk_no, tube.sealed_at, tube.result, tube.ct_value, tube.resulted_at, people,
        tube.box_code, tube.packed_at, tube.handed_at, tube.courier_name, tube.received_at,
    )


def close_retest(
    *, session: Session, campaign: Campaign, order_id: int, result: str, at: datetime, user_id: int | None = None
) -> RetestOrder:
    """Close a retest order by hand, e.g. with a result from a lab outside the round."""
    check_result(result)
    order = session.get(RetestOrder, order_id)
    if order is None or order.campaign_id != campaign.id:
        raise NotFound("order_id", "没有这个复核单 (no such retest order)")
    if order.status == "closed":
        raise Conflict("order_id", "复核单已关闭 (retest order already closed)")
    session.execute(
        update(RetestOrder).where(RetestOrder.id == order.id).values(status="closed", result=result, closed_at=at, closed_by=user_id)
    )
    session.refresh(order)
    return order
