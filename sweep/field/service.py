"""The day at a site: open a tube, scan people into it, seal it, pack boxes, hand them over.

Every write names who and when. Scans are idempotent on the client's UUID, and the tube's fill is
raised by one conditional UPDATE, so two terminals can never put an eleventh person in a tube.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from sweep.auth.service import audit
from sweep.errors import (
    AlreadyHandedOver,
    AlreadySampled,
    Conflict,
    InvalidInput,
    NotFound,
    TubeFull,
    TubeSealed,
    WrongSite,
)
from sweep.field.models import Box, Handover, Sample, Tube
from sweep.plan.models import Campaign, PlanSite

CODE_PATTERN = re.compile(r"^[A-Za-z0-9-]{4,48}$")
SAMPLE_KINDS = ("pooled", "home", "retest")
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class ScanResult:
    sample_id: int
    tube_code: str
    position: int
    filled: int
    pool_size: int
    sealed: bool
    replayed: bool


def check_code(value: str, *, field: str) -> str:
    value = value.strip()
    if not CODE_PATTERN.match(value):
        raise InvalidInput(field, "编码应为4–48位字母、数字或连字符 (a code is 4-48 letters, digits or hyphens)")
    return value


def _site(session: Session, campaign: Campaign, plan_site_id: int) -> PlanSite:
    site = session.get(PlanSite, plan_site_id)
    if site is None or site.campaign_id != campaign.id:
        raise NotFound("site", "本轮没有这个采样点 (no such site in this campaign)")
    return site


def _tube(session: Session, campaign: Campaign, code: str, plan_site_id: int | None) -> Tube:
    tube = session.scalar(select(Tube).where(Tube.campaign_id == campaign.id, Tube.code == code))
    if tube is None:
        raise NotFound("tube_code", f"本轮没有这个管码 (unknown tube code in this campaign): {code}")
    if plan_site_id is not None and tube.plan_site_id != plan_site_id:
        raise WrongSite("tube_code", f"管码 {code} 属于另一个采样点 (tube belongs to another site)")
    return tube


@dataclass(frozen=True)
class TubeState:
    id: int
    code: str
    plan_site_id: int
    pool_size: int
    filled: int
    status: str
    replayed: bool = False


_TUBE_EXISTS = select(Tube.id, Tube.plan_site_id, Tube.opened_by, Tube.pool_size, Tube.filled, Tube.status).where(
    Tube.campaign_id == bindparam("cid"), Tube.code == bindparam("code")
)
_OPEN_TUBE = insert(Tube).returning(Tube.id)


def open_tube(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    code: str,
    at: datetime,
    user_id: int | None = None,
    desk_no: int | None = None,
) -> TubeState:
    """Open a tube at a site. The same user opening the same code there again is a replay, not an error."""
    code = check_code(code, field="tube_code")
    _site(session, campaign, plan_site_id)
    conn = session.connection()
    existing = conn.execute(_TUBE_EXISTS, {"cid": campaign.id, "code": code}).first()
    if existing is not None:
        # A terminal that lost the answer resends its open; anyone else reusing a code is refused.
        if existing.plan_site_id == plan_site_id and user_id is not None and existing.opened_by == user_id:
            return TubeState(existing.id, code, plan_site_id, existing.pool_size, existing.filled, existing.status, True)
        raise Conflict("tube_code", f"管码 {code} 本轮已使用 (tube code already used in this campaign)")
    tube_id = conn.execute(
        _OPEN_TUBE,
        {
            "campaign_id": campaign.id,
            "plan_site_id": plan_site_id,
            "code": code,
            "desk_no": desk_no,
            "pool_size": campaign.pool_size,
            "filled": 0,
            "status": "open",
            "opened_at": at,
            "opened_by": user_id,
        },
    ).scalar_one()
    audit(session=session, user_id=user_id, action="tube.opened", entity="tube", entity_id=tube_id, campaign_id=campaign.id, at=at)
    return TubeState(tube_id, code, plan_site_id, campaign.pool_size, 0, "open")


# Built once: the scan is the hot path of the day, and building SQL expressions costs more than
# running them.
_EARLIER = (
    select(Sample.id, Sample.position, Sample.client_uuid, Sample.sampled_at, Tube.code, Tube.filled, Tube.pool_size, Tube.status)
    .join(Tube, Tube.id == Sample.tube_id)
    .where(
        (Sample.client_uuid == bindparam("uuid"))
        | ((Sample.campaign_id == bindparam("cid")) & (Sample.person_id == bindparam("pid")) & (Sample.kind != "retest"))
    )
)
_TUBE = select(Tube.id, Tube.plan_site_id, Tube.status, Tube.pool_size, Tube.filled).where(
    Tube.campaign_id == bindparam("cid"), Tube.code == bindparam("code")
)
_FILL = (
    update(Tube)
    .where(Tube.id == bindparam("tid"), Tube.status == "open", Tube.filled < Tube.pool_size)
    .values(filled=Tube.filled + 1)
    .returning(Tube.filled)
)
_SEAL = update(Tube).where(Tube.id == bindparam("tid")).values(status="sealed", sealed_at=bindparam("at"), sealed_by=bindparam("uid"))
_INSERT = insert(Sample).returning(Sample.id)


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
    """Put one person into an open tube; a replay of the same client UUID returns the first answer."""
    if not UUID_PATTERN.match(client_uuid or ""):
        raise InvalidInput("client_uuid", "每次扫码须带终端生成的UUID (each scan carries a client-made UUID)")
    if kind not in SAMPLE_KINDS:
        raise InvalidInput("kind", f"采样类型应为 {'/'.join(SAMPLE_KINDS)} (kind must be one of those)")
    conn = session.connection()
    earlier = conn.execute(_EARLIER, {"uuid": client_uuid, "cid": campaign.id, "pid": person_id}).all()
    for row in earlier:
        if row.client_uuid == client_uuid:
            return ScanResult(row.id, row.code, row.position, row.filled, row.pool_size, row.status != "open", True)
    tube = conn.execute(_TUBE, {"cid": campaign.id, "code": tube_code}).first()
    if tube is None:
        raise NotFound("tube_code", f"本轮没有这个管码 (unknown tube code in this campaign): {tube_code}")
    if tube.plan_site_id != plan_site_id:
        raise WrongSite("tube_code", f"管码 {tube_code} 属于另一个采样点 (tube belongs to another site)")
    if tube.filled >= tube.pool_size:
        raise TubeFull("tube_code", f"管码 {tube_code} 已满 {tube.pool_size} 人并已封管 (tube is full: it holds {tube.pool_size})")
    if tube.status != "open":
        raise TubeSealed("tube_code", f"管码 {tube_code} 已封管 (tube is sealed)")
    if kind != "retest" and earlier:
        prior = earlier[0]
        raise AlreadySampled(
            "person",
            f"本轮已采样：管码 {prior.code}，时间 {prior.sampled_at:%H:%M} (already sampled this round)",
            tube_code=prior.code,
            sampled_at=prior.sampled_at.isoformat(),
        )
    filled = conn.execute(_FILL, {"tid": tube.id}).scalar()
    if filled is None:
        raise TubeFull("tube_code", f"管码 {tube_code} 已满 {tube.pool_size} 人 (tube already holds {tube.pool_size})")
    sealed = filled >= tube.pool_size
    if sealed:
        conn.execute(_SEAL, {"tid": tube.id, "at": sampled_at, "uid": user_id})
    sample_id = conn.execute(
        _INSERT,
        {
            "campaign_id": campaign.id,
            "tube_id": tube.id,
            "person_id": person_id,
            "plan_site_id": plan_site_id,
            "position": filled,
            "kind": kind,
            "client_uuid": client_uuid,
            "sampled_at": sampled_at,
            "recorded_at": datetime.now(),
            "recorded_by": user_id,
        },
    ).scalar_one()
    return ScanResult(sample_id, tube_code, filled, filled, tube.pool_size, sealed, False)


def seal_tube(
    *, session: Session, campaign: Campaign, plan_site_id: int, tube_code: str, at: datetime, user_id: int | None = None
) -> Tube:
    """Seal by hand: the last tube of a desk, before its pool is full."""
    tube = _tube(session, campaign, tube_code, plan_site_id)
    if tube.status != "open":
        raise TubeSealed("tube_code", f"管码 {tube.code} 已封管 (tube is already sealed)")
    if tube.filled == 0:
        raise InvalidInput("tube_code", f"管码 {tube.code} 是空管，不能封管 (an empty tube cannot be sealed)")
    tube.status = "sealed"
    tube.sealed_at = at
    tube.sealed_by = user_id
    session.flush()
    audit(session=session, user_id=user_id, action="tube.sealed", entity="tube", entity_id=tube.id, campaign_id=campaign.id,
          at=at, detail={"filled": tube.filled})
    return tube


def open_box(
    *, session: Session, campaign: Campaign, plan_site_id: int, code: str, at: datetime, user_id: int | None = None
) -> Box:
    code = check_code(code, field="box_code")
    _site(session, campaign, plan_site_id)
    if session.scalar(select(Box.id).where(Box.campaign_id == campaign.id, Box.code == code)) is not None:
        raise Conflict("box_code", f"箱码 {code} 本轮已使用 (box code already used in this campaign)")
    box = Box(
        campaign_id=campaign.id,
        plan_site_id=plan_site_id,
        code=code,
        capacity=campaign.box_size,
        tubes=0,
        status="open",
        opened_at=at,
        opened_by=user_id,
    )
    session.add(box)
    session.flush()
    audit(session=session, user_id=user_id, action="box.opened", entity="box", entity_id=box.id, campaign_id=campaign.id, at=at)
    return box


def _box(session: Session, campaign: Campaign, code: str, plan_site_id: int | None) -> Box:
    box = session.scalar(select(Box).where(Box.campaign_id == campaign.id, Box.code == code))
    if box is None:
        raise NotFound("box_code", f"本轮没有这个箱码 (unknown box code in this campaign): {code}")
    if plan_site_id is not None and box.plan_site_id != plan_site_id:
        raise WrongSite("box_code", f"箱码 {code} 属于另一个采样点 (box belongs to another site)")
    return box


@dataclass(frozen=True)
class BoxState:
    id: int
    code: str
    tubes: int
    capacity: int
    status: str


_BOX = select(Box.id, Box.code, Box.plan_site_id, Box.status, Box.capacity).where(
    Box.campaign_id == bindparam("cid"), Box.code == bindparam("code")
)
_PACK = (
    update(Box)
    .where(Box.id == bindparam("bid"), Box.status == "open", Box.tubes < Box.capacity)
    .values(tubes=Box.tubes + 1)
    .returning(Box.tubes)
)
_PACKED = update(Tube).where(Tube.id == bindparam("tid")).values(
    status="packed", box_id=bindparam("bid"), packed_at=bindparam("at"), packed_by=bindparam("uid")
)


def pack_tube(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    box_code: str,
    tube_code: str,
    at: datetime | None = None,
    user_id: int | None = None,
) -> BoxState:
    conn = session.connection()
    box = conn.execute(_BOX, {"cid": campaign.id, "code": box_code}).first()
    if box is None:
        raise NotFound("box_code", f"本轮没有这个箱码 (unknown box code in this campaign): {box_code}")
    if box.plan_site_id != plan_site_id:
        raise WrongSite("box_code", f"箱码 {box_code} 属于另一个采样点 (box belongs to another site)")
    tube = conn.execute(_TUBE, {"cid": campaign.id, "code": tube_code}).first()
    if tube is None:
        raise NotFound("tube_code", f"本轮没有这个管码 (unknown tube code in this campaign): {tube_code}")
    if tube.plan_site_id != plan_site_id:
        raise WrongSite("tube_code", f"管码 {tube_code} 属于另一个采样点 (tube belongs to another site)")
    if box.status != "open":
        raise Conflict("box_code", f"箱码 {box_code} 已封箱 (box is sealed)")
    if tube.status == "open":
        raise Conflict("tube_code", f"管码 {tube_code} 尚未封管 (seal the tube before packing it)")
    if tube.status == "packed":
        raise Conflict("tube_code", f"管码 {tube_code} 已装箱 (tube is already in a box)")
    packed = conn.execute(_PACK, {"bid": box.id}).scalar()
    if packed is None:
        raise Conflict("box_code", f"箱码 {box_code} 已装满 {box.capacity} 管 (box is full)")
    at = at or datetime.now()
    conn.execute(_PACKED, {"tid": tube.id, "bid": box.id, "at": at, "uid": user_id})
    audit(session=session, user_id=user_id, action="tube.packed", entity="tube", entity_id=tube.id, campaign_id=campaign.id,
          at=at, detail={"box": box_code})
    return BoxState(box.id, box_code, packed, box.capacity, box.status)


def hand_over(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    box_code: str,
    courier_name: str,
    at: datetime,
    user_id: int | None = None,
    courier_id: int | None = None,
) -> Handover:
    """The site signs the box over to the courier; the lab signs on receipt (双签收). A courier's own
    account (``courier_id``) makes the box one of theirs to read."""
    box = _box(session, campaign, box_code, plan_site_id)
    if not courier_name.strip():
        raise InvalidInput("courier_name", "须填写转运员姓名 (the courier must be named)")
    if session.scalar(select(Handover.id).where(Handover.box_id == box.id)) is not None:
        raise AlreadyHandedOver("box_code", f"箱码 {box.code} 已交接 (box already handed over)")
    if box.tubes == 0:
        raise InvalidInput("box_code", f"箱码 {box.code} 是空箱 (an empty box is not handed over)")
    box.status = "in_transit"
    box.sealed_at = box.sealed_at or at
    handover = Handover(campaign_id=campaign.id, box_id=box.id, courier_name=courier_name, handed_at=at, handed_by=user_id,
                        courier_id=courier_id)
    session.add(handover)
    session.flush()
    audit(session=session, user_id=user_id, action="box.handed_over", entity="box", entity_id=box.id, campaign_id=campaign.id,
          at=at, detail={"courier": courier_name, "tubes": box.tubes})
    return handover
