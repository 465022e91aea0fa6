"""The day at a site after the swab: seal a tube by hand, pack boxes, hand them over.

Every write names who and when. Tubes are opened in ``sweep.field.tubes`` and people scanned into
them in ``sweep.field.scan``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from sweep.auth.service import audit, audit_each
from sweep.errors import (
    AlreadyHandedOver,
    Conflict,
    InvalidInput,
    NotFound,
    TubeSealed,
    WrongSite,
)
from sweep.field.couriers import rostered_courier
from sweep.field.models import Box, Handover, Tube
from sweep.plan.models import Campaign, PlanSite

CODE_PATTERN = re.compile(r"^[A-Za-z0-9-]{4,48}$")


def check_code(value: str, *, field: str) -> str:
    value = value.strip()
    if not CODE_PATTERN.match(value):
        raise InvalidInput(field, "编码应为4–48位字母、数字或连字符 (a code is 4-48 letters, digits or hyphens)")
    return value


def site_of(*, session: Session, campaign: Campaign, plan_site_id: int) -> PlanSite:
    """The round's site, or NotFound."""
    site = session.get(PlanSite, plan_site_id)
    if site is None or site.campaign_id != campaign.id:
        raise NotFound("site", "本轮没有这个采样点 (no such site in this campaign)")
    return site


# A tube's or a box's code: the field it is sent in, and its name in Chinese.
_CODES = {"tube": ("tube_code", "管码"), "box": ("box_code", "箱码")}


def unknown_code(kind: Literal["tube", "box"], code: str) -> NotFound:
    """No tube (box) of this code in the round: the one wording, wherever a code is looked up."""
    field, zh = _CODES[kind]
    return NotFound(field, f"本轮没有这个{zh} (unknown {kind} code in this campaign): {code}")


def elsewhere(kind: Literal["tube", "box"], code: str) -> WrongSite:
    """The tube (box) is another site's."""
    field, zh = _CODES[kind]
    return WrongSite(field, f"{zh} {code} 属于另一个采样点 ({kind} belongs to another site)")


def check_site(kind: Literal["tube", "box"], code: str, site_id: int | None, plan_site_id: int | None) -> None:
    """A tube or box found (``site_id``: its site; None: not found) may be used at ``plan_site_id`` (None: anywhere)."""
    if site_id is None:
        raise unknown_code(kind, code)
    if plan_site_id is not None and site_id != plan_site_id:
        raise elsewhere(kind, code)


def _tube(session: Session, campaign: Campaign, code: str, plan_site_id: int | None) -> Tube:
    tube = session.scalar(select(Tube).where(Tube.campaign_id == campaign.id, Tube.code == code))
    check_site("tube", code, tube.plan_site_id if tube else None, plan_site_id)
    assert tube is not None
    return tube


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
    site_of(session=session, campaign=campaign, plan_site_id=plan_site_id)
    known = session.scalar(select(Box).where(Box.campaign_id == campaign.id, Box.code == code))
    if known is not None:
        # The same terminal's open again (its answer lost on the way): the box as it is, while still
        # open. Anyone else's code, or a box gone on its way, is refused, saying nothing of whose it is.
        if user_id is not None and known.opened_by == user_id and known.plan_site_id == plan_site_id and known.status == "open":
            known.replayed = True
            return known
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
    check_site("box", code, box.plan_site_id if box else None, plan_site_id)
    assert box is not None
    return box


@dataclass(frozen=True)
class BoxState:
    id: int
    code: str
    tubes: int
    capacity: int
    status: str
    replayed: bool = False


def box_state(box: Box) -> BoxState:
    """A box as the API answers it; ``replayed`` when an open was resent by the terminal that made it."""
    return BoxState(box.id, box.code, box.tubes, box.capacity, box.status, box.replayed)


_BOX = select(Box.id, Box.code, Box.plan_site_id, Box.status, Box.capacity).where(
    Box.campaign_id == bindparam("cid"), Box.code == bindparam("code")
)
_PACK = (
    update(Box)
    .where(Box.id == bindparam("bid"), Box.status == "open", Box.tubes + bindparam("n") <= Box.capacity)
    .values(tubes=Box.tubes + bindparam("n"))
    .returning(Box.tubes)
)
_PACKED = update(Tube).where(Tube.id == bindparam("tid")).values(
    status="packed", box_id=bindparam("bid"), packed_at=bindparam("at"), packed_by=bindparam("uid")
)
_TUBES = select(Tube.id, Tube.code, Tube.plan_site_id, Tube.status).where(
    Tube.campaign_id == bindparam("cid"), Tube.code.in_(bindparam("codes", expanding=True))
)


@dataclass(frozen=True)
class Pack:
    """One sealed tube put into a box, and when."""

    tube_code: str
    at: datetime | None = None


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
    return pack_tubes(session=session, campaign=campaign, plan_site_id=plan_site_id, box_code=box_code,
                      packs=[Pack(tube_code, at)], user_id=user_id)


def pack_tubes(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    box_code: str,
    packs: Sequence[Pack],
    user_id: int | None = None,
) -> BoxState:
    """Pack sealed tubes into an open box: all of them, or none and the first refusal (which names
    its tube). A box filled at the end of the day goes in a few statements, not five a tube."""
    conn = session.connection()
    box = conn.execute(_BOX, {"cid": campaign.id, "code": box_code}).first()
    check_site("box", box_code, box.plan_site_id if box else None, plan_site_id)
    assert box is not None
    codes = [p.tube_code for p in packs]
    tubes = {t.code: t for t in conn.execute(_TUBES, {"cid": campaign.id, "codes": codes})}
    seen: set[str] = set()
    for code in codes:
        tube = tubes.get(code)
        check_site("tube", code, tube.plan_site_id if tube else None, plan_site_id)
        assert tube is not None
        if box.status != "open":
            raise Conflict("box_code", f"箱码 {box_code} 已封箱 (box is sealed)")
        if tube.status == "open":
            raise Conflict("tube_code", f"管码 {code} 尚未封管 (seal the tube before packing it)")
        if tube.status == "packed" or code in seen:
            raise Conflict("tube_code", f"管码 {code} 已装箱 (tube is already in a box)")
        seen.add(code)
    packed = conn.execute(_PACK, {"bid": box.id, "n": len(packs)}).scalar()
    if packed is None:
        raise Conflict("box_code", f"箱码 {box_code} 已装满 {box.capacity} 管 (box is full)")
    now = datetime.now()
    conn.execute(_PACKED, [{"tid": tubes[p.tube_code].id, "bid": box.id, "at": p.at or now, "uid": user_id} for p in packs])
    audit_each(session=session, user_id=user_id, action="tube.packed", entity="tube", campaign_id=campaign.id,
               lines=[(tubes[p.tube_code].id, p.at or now, {"box": box_code}) for p in packs])
    return BoxState(box.id, box_code, packed, box.capacity, box.status)


def hand_over(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    box_code: str,
    courier_staff_id: int,
    at: datetime,
    user_id: int | None = None,
    courier_id: int | None = None,
) -> Handover:
    """The site signs the box over to its rostered courier; the lab signs on receipt (双签收). A courier
    signing with their own account (``courier_id``) takes the box into their care, to read."""
    box = _box(session, campaign, box_code, plan_site_id)
    courier = rostered_courier(session=session, campaign=campaign, plan_site_id=plan_site_id, staff_id=courier_staff_id)
    if session.scalar(select(Handover.id).where(Handover.box_id == box.id)) is not None:
        raise AlreadyHandedOver("box_code", f"箱码 {box.code} 已交接 (box already handed over)")
    if box.tubes == 0:
        raise InvalidInput("box_code", f"箱码 {box.code} 是空箱 (an empty box is not handed over)")
    box.status = "in_transit"
    box.sealed_at = box.sealed_at or at
    handover = Handover(campaign_id=campaign.id, box_id=box.id, courier_staff_id=courier.staff_id, courier_name=courier.name[:50],
                        handed_at=at, handed_by=user_id, courier_id=courier_id)
    session.add(handover)
    session.flush()
    audit(session=session, user_id=user_id, action="box.handed_over", entity="box", entity_id=box.id, campaign_id=campaign.id,
          at=at, detail={"courier": courier.name, "courier_staff_id": courier.staff_id, "tubes": box.tubes})
    return handover
