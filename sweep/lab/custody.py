"""The chain of custody in view: a box with its tubes, times, courier and results; the red flags
when sealed tubes wait at a site past the limit, or a box is on the road past it; transit per site.

Limits come from practice: a sample reaches the lab within 2-4 hours and never waits more than
4 hours at room temperature (``sample_wait_limit_minutes`` at the site plus ``transit_limit_minutes``
on the road; see docs/configuration.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Annotated, Literal, cast

from pydantic import Field
from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import SQLCoreOperations

from sweep.auth.scope import Scope
from sweep.field.models import Box, Handover, Tube
from sweep.field.service import unknown_code
from sweep.lab.models import RESULTS, LabResult
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import CandidateSite


def _minutes(session: Session, start: SQLCoreOperations[datetime | None],
             end: SQLCoreOperations[datetime | None]) -> ColumnElement[float | Decimal]:
    """Minutes from ``start`` to ``end`` as SQL, so that flags are found in the database, not by reading every tube."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 60
    return (func.julianday(end) - func.julianday(start)) * 1440


def _since(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else round((end - start) / timedelta(minutes=1), 1)


@dataclass(frozen=True)
class BoxTube:
    code: str
    people: int
    sealed_at: datetime | None
    packed_at: datetime | None
    waited_minutes: Annotated[float | None, Field(description="Sealed to handed over (to now while the box is still at the site).")]
    waited_too_long: bool
    result: str | None
    resulted_at: datetime | None


@dataclass(frozen=True)
class BoxView:
    code: str
    site_code: str
    site_name: str
    status: str
    capacity: int
    tubes: int
    people: int
    opened_at: datetime
    sealed_at: datetime | None
    handed_at: datetime | None
    courier_staff_id: int | None
    courier_name: str | None
    received_at: datetime | None
    transit_minutes: Annotated[float | None, Field(description="Handed over to received (to now while on the road).")]
    transit_too_long: bool
    results: dict[str, int]  # negative / positive / invalid / pending
    tubes_waited_too_long: int
    wait_limit_minutes: int
    transit_limit_minutes: int
    tube_list: list[BoxTube] = field(default_factory=list)


def box_view(
    *, session: Session, campaign: Campaign, box_code: str, now: datetime, wait_limit_minutes: int, transit_limit_minutes: int,
    scope: Scope,
) -> BoxView:
    """One box of the scope from its opening to its results, with what waited too long on the way."""
    row = session.execute(
        select(Box, PlanSite.code, CandidateSite.name, Handover)
        .join(PlanSite, PlanSite.id == Box.plan_site_id)
        .join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .outerjoin(Handover, Handover.box_id == Box.id)
        .where(Box.campaign_id == campaign.id, Box.code == box_code, scope.boxes())
    ).first()
    if row is None:
        if session.scalar(select(Box.id).where(Box.campaign_id == campaign.id, Box.code == box_code)) is not None:
            raise scope.refuse("box_code", box_code)
        raise unknown_code("box", box_code)
    box, site_code, site_name, handover = row
    handed = handover.handed_at if handover else None
    tubes = []
    for code, filled, sealed, packed, result, resulted in session.execute(
        select(Tube.code, Tube.filled, Tube.sealed_at, Tube.packed_at, LabResult.result, LabResult.resulted_at)
        .outerjoin(LabResult, LabResult.tube_id == Tube.id)
        .where(Tube.box_id == box.id)
        .order_by(Tube.packed_at, Tube.code)
    ):
        waited = _since(sealed, handed or now)
        tubes.append(BoxTube(code, filled, sealed, packed, waited, waited is not None and waited > wait_limit_minutes, result, resulted))
    results = {r: sum(t.result == r for t in tubes) for r in RESULTS}
    results["pending"] = sum(t.result is None for t in tubes)
    transit = _since(handed, (handover.received_at or now) if handover else None)
    return BoxView(
        code=box.code, site_code=site_code, site_name=site_name, status=box.status, capacity=box.capacity, tubes=box.tubes,
        people=sum(t.people for t in tubes), opened_at=box.opened_at, sealed_at=box.sealed_at, handed_at=handed,
        courier_staff_id=handover.courier_staff_id if handover else None, courier_name=handover.courier_name if handover else None,
        received_at=handover.received_at if handover else None, transit_minutes=transit,
        transit_too_long=transit is not None and transit > transit_limit_minutes, results=results,
        tubes_waited_too_long=sum(t.waited_too_long for t in tubes), wait_limit_minutes=wait_limit_minutes,
        transit_limit_minutes=transit_limit_minutes, tube_list=tubes,
    )


@dataclass(frozen=True)
class CustodyFlag:
    kind: Literal["sample_wait", "transit"]  # sample_wait: sealed tubes held at the site too long; transit: a box on the road too long
    site_code: str
    box_code: str | None
    tube_code: str | None
    since: datetime  # sealed at (sample_wait) or handed over at (transit)
    minutes: float
    limit_minutes: int
    still_open: bool  # the tube has not left yet, or the box has not arrived yet


@dataclass(frozen=True)
class CustodyFlags:
    tubes_waited_too_long: int
    boxes_too_long_in_transit: int
    flags: list[CustodyFlag]  # the worst first, at most ``limit`` of each kind


def custody_flags(
    *, session: Session, campaign: Campaign, now: datetime, wait_limit_minutes: int, transit_limit_minutes: int, scope: Scope,
    limit: int = 50,
) -> CustodyFlags:
    """Sealed tubes of the scope that waited (or are waiting) at their site past the limit before leaving, and
    boxes on the road to the lab past theirs."""
    at_now = literal(now)
    left = func.coalesce(Handover.handed_at, at_now)
    waited = _minutes(session, Tube.sealed_at, left)
    sealed_at = cast("InstrumentedAttribute[datetime]", Tube.sealed_at)  # the query keeps sealed tubes only
    late_tubes = (
        select(PlanSite.code, Box.code, Tube.code, sealed_at, waited.label("waited"), Handover.handed_at.is_(None))
        .join(PlanSite, PlanSite.id == Tube.plan_site_id)
        .outerjoin(Box, Box.id == Tube.box_id)
        .outerjoin(Handover, Handover.box_id == Tube.box_id)
        .where(Tube.campaign_id == campaign.id, Tube.sealed_at.is_not(None), Tube.sealed_at <= now, waited > wait_limit_minutes,
               scope.tubes())
    )
    on_road = _minutes(session, Handover.handed_at, func.coalesce(Handover.received_at, at_now))
    late_boxes = (
        select(PlanSite.code, Box.code, Handover.handed_at, on_road.label("on_road"), Handover.received_at.is_(None))
        .join(Box, Box.id == Handover.box_id)
        .join(PlanSite, PlanSite.id == Box.plan_site_id)
        .where(Handover.campaign_id == campaign.id, Handover.handed_at <= now, on_road > transit_limit_minutes, scope.boxes())
    )
    n_tubes = session.scalar(select(func.count()).select_from(late_tubes.subquery())) or 0
    n_boxes = session.scalar(select(func.count()).select_from(late_boxes.subquery())) or 0
    flags = [
        CustodyFlag("sample_wait", site, box, tube, sealed, round(float(minutes), 1), wait_limit_minutes, bool(open_))
        for site, box, tube, sealed, minutes, open_ in session.execute(late_tubes.order_by(waited.desc(), Tube.code).limit(limit))
    ]
    flags += [
        CustodyFlag("transit", site, box, None, handed, round(float(minutes), 1), transit_limit_minutes, bool(open_))
        for site, box, handed, minutes, open_ in session.execute(late_boxes.order_by(on_road.desc(), Box.code).limit(limit))
    ]
    return CustodyFlags(n_tubes, n_boxes, flags)


@dataclass(frozen=True)
class SiteTransit:
    """A site's boxes on their way to the lab: how long the first-sealed tube of each box waited, and the trip."""

    code: str
    name: str
    boxes: int
    handed_over: int
    received: int
    wait_median_minutes: float | None
    wait_max_minutes: float | None
    transit_median_minutes: float | None
    transit_max_minutes: float | None
    boxes_waited_too_long: int
    boxes_too_long_in_transit: int


def transit_by_site(
    *, session: Session, campaign: Campaign, wait_limit_minutes: int, transit_limit_minutes: int
) -> list[SiteTransit]:
    """Per site, the times of its boxes; what is still under way is not counted until it is done."""
    first_sealed = (
        select(Tube.box_id, func.min(Tube.sealed_at).label("first"))
        .where(Tube.campaign_id == campaign.id, Tube.box_id.is_not(None))
        .group_by(Tube.box_id)
        .subquery()
    )
    rows = session.execute(
        select(PlanSite.id, PlanSite.code, CandidateSite.name, Box.id, first_sealed.c.first, Handover.handed_at, Handover.received_at)
        .join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .outerjoin(Box, Box.plan_site_id == PlanSite.id)
        .outerjoin(first_sealed, first_sealed.c.box_id == Box.id)
        .outerjoin(Handover, Handover.box_id == Box.id)
        .where(PlanSite.campaign_id == campaign.id)
        .order_by(PlanSite.code)
    ).all()
    sites: dict[int, tuple[str, str, list[tuple]]] = {}
    for site_id, code, name, box_id, first, handed, received in rows:
        entry = sites.setdefault(site_id, (code, name, []))
        if box_id is not None:
            entry[2].append((first, handed, received))
    out = []
    for code, name, boxes in sites.values():
        waits = [w for f, h, _r in boxes if (w := _since(f, h)) is not None]
        trips = [t for _f, h, r in boxes if (t := _since(h, r)) is not None]
        out.append(SiteTransit(
            code, name, len(boxes), sum(h is not None for _f, h, _r in boxes), sum(r is not None for _f, _h, r in boxes),
            round(median(waits), 1) if waits else None, max(waits, default=None),
            round(median(trips), 1) if trips else None, max(trips, default=None),
            sum(w > wait_limit_minutes for w in waits), sum(t > transit_limit_minutes for t in trips),
        ))
    return out


__all__ = ["BoxTube", "BoxView", "CustodyFlag", "CustodyFlags", "SiteTransit", "box_view", "custody_flags", "transit_by_site"]
