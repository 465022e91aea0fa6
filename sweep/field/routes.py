"""Field API: a terminal's state, sealing, boxes, handover, readiness, pre-registration (scans: ``scan_routes``).

Site staff write only to their own site (403 otherwise); times default to now when not given.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from sweep.auth.policy import require_site
from sweep.auth.ratelimit import RateLimiter
from sweep.auth.tokens import Principal
from sweep.deps import CanCheckIn, CanHandOver, CanScan, CanViewRound, SessionDep, SettingsDep
from sweep.field import prereg, queries, readiness
from sweep.field import service as field
from sweep.field.couriers import Courier, site_couriers
from sweep.field.models import Box
from sweep.field.prereg import PreregState
from sweep.field.queries import BoxLine
from sweep.field.readiness import Arrival, ReadinessState, RosterEntry
from sweep.field.schemas import (
    ArrivalCreate,
    BoxCreate,
    CheckInCreate,
    HandoverCreate,
    HandoverRead,
    PackCreate,
    PreregCreate,
    RecentScanRead,
    SealCreate,
    TerminalRead,
)
from sweep.field.service import BoxState, box_state
from sweep.field.tubes import TubeState
from sweep.params import ERRORS, PathCode, RowId
from sweep.plan.clock import client_time, credited_time, server_now
from sweep.plan.current import CurrentCampaign
from sweep.plan.models import Campaign

router = APIRouter(prefix="/api/campaigns/{campaign}", tags=["field"], responses=ERRORS)
# Pre-registration is open to residents: limit it per address, like log-in.
PREREG_ATTEMPTS, PREREG_WINDOW_SECONDS = 30, 300



def _site_scope(session: SessionDep, campaign: Campaign, site_id: int, user: Principal) -> None:
    """Site staff to their own site, office users to their office's sites, the district to any."""
    queries.site_in_scope(session=session, campaign=campaign, plan_site_id=site_id, scope=user.scope)


@router.get("/sites/{site_id}/terminal", response_model=TerminalRead)
def terminal_state(site_id: RowId, session: SessionDep, user: CanScan, current: CurrentCampaign) -> TerminalRead:
    """The terminal's start-up state: the latest tubes with their fill, and the last scans (masked)."""
    _site_scope(session, current, site_id, user)
    site = field.site_of(session=session, campaign=current, plan_site_id=site_id)
    return TerminalRead(
        campaign_id=current.id, plan_site_id=site_id, site_code=site.code, pool_size=current.pool_size,
        tubes=queries.site_tubes(session=session, campaign=current, plan_site_id=site_id, status=None, limit=30),
        recent=[RecentScanRead(**r) for r in queries.recent_scans(session=session, campaign=current, plan_site_id=site_id)],
    )


@router.post("/sites/{site_id}/tubes/{tube_code}/seal", response_model=TubeState)
def seal_tube(
    site_id: RowId,
    tube_code: PathCode,
    body: SealCreate,
    session: SessionDep,
    user: CanScan,
    current: CurrentCampaign,
) -> TubeState:
    """Seal a tube by hand before it is full (the last tube of a desk)."""
    require_site(user, site_id)
    t = field.seal_tube(session=session, campaign=current, plan_site_id=site_id, tube_code=tube_code,
                        at=client_time(campaign=current, value=body.sealed_at, field="sealed_at", now=server_now()), user_id=user.id)
    return TubeState(t.id, t.code, t.plan_site_id, t.pool_size, t.filled, t.status, kind=t.kind)


@router.get("/sites/{site_id}/scans/recent", response_model=list[RecentScanRead])
def recent(
    site_id: RowId,
    session: SessionDep,
    user: CanScan,
    current: CurrentCampaign,
    limit: int = Query(default=20, ge=1, le=200),
) -> list[RecentScanRead]:
    _site_scope(session, current, site_id, user)
    return [RecentScanRead(**r) for r in queries.recent_scans(session=session, campaign=current, plan_site_id=site_id, limit=limit)]


@router.post("/sites/{site_id}/boxes", response_model=BoxState, status_code=201)
def open_box(site_id: RowId, body: BoxCreate, session: SessionDep, user: CanScan, current: CurrentCampaign, response: Response) -> BoxState:
    """Open a box (its code scanned). The same terminal sending the same open again gets 200 with ``replayed``."""
    _site_scope(session, current, site_id, user)
    box = field.open_box(session=session, campaign=current, plan_site_id=site_id, code=body.code,
                         at=client_time(campaign=current, value=body.opened_at, field="opened_at", now=server_now()), user_id=user.id)
    if box.replayed:
        response.status_code = 200
    return box_state(box)


@router.post("/sites/{site_id}/boxes/{box_code}/tubes", response_model=BoxState)
def pack(
    site_id: RowId,
    box_code: PathCode,
    body: PackCreate,
    session: SessionDep,
    user: CanScan,
    current: CurrentCampaign,
) -> BoxState:
    """Pack a sealed tube into an open box."""
    _site_scope(session, current, site_id, user)
    return field.pack_tube(session=session, campaign=current, plan_site_id=site_id, box_code=box_code, tube_code=body.tube_code,
                           at=server_now(), user_id=user.id)


@router.post("/sites/{site_id}/boxes/{box_code}/handover", response_model=HandoverRead, status_code=201)
def hand_over(
    site_id: RowId,
    box_code: PathCode,
    body: HandoverCreate,
    session: SessionDep,
    user: CanHandOver,
    current: CurrentCampaign,
) -> HandoverRead:
    """The site signs the box over to its rostered courier (the first of the two signatures, 双签收); a courier
    signing with their own account takes the box into their care."""
    _site_scope(session, current, site_id, user)
    h = field.hand_over(session=session, campaign=current, plan_site_id=site_id, box_code=box_code,
                        courier_staff_id=body.courier_staff_id,
                        at=client_time(campaign=current, value=body.handed_at, field="handed_at", now=server_now()), user_id=user.id,
                        courier_id=user.id if user.role == "courier" else None)
    box = session.get(Box, h.box_id)
    assert box is not None
    return HandoverRead(box_code=box.code, courier_staff_id=h.courier_staff_id, courier_name=h.courier_name, handed_at=h.handed_at,
                        tubes=box.tubes)


@router.get("/sites/{site_id}/couriers", response_model=list[Courier])
def couriers(site_id: RowId, session: SessionDep, user: CanHandOver, current: CurrentCampaign) -> list[Courier]:
    """The site's rostered couriers this round: the ones a box may be handed to."""
    _site_scope(session, current, site_id, user)
    return site_couriers(session=session, campaign=current, plan_site_id=site_id)


@router.get("/sites/{site_id}/readiness", response_model=list[ReadinessState])
def site_readiness(site_id: RowId, session: SessionDep, user: CanCheckIn, current: CurrentCampaign) -> list[ReadinessState]:
    """The site's board of the four things in place, each with its deadline and state."""
    _site_scope(session, current, site_id, user)
    return readiness.site_board(session=session, campaign=current, plan_site_id=site_id, now=server_now())


@router.post("/readiness/{item_id}/check-in", response_model=ReadinessState)
def check_in(
    item_id: RowId,
    body: CheckInCreate,
    session: SessionDep,
    user: CanCheckIn,
    current: CurrentCampaign,
) -> ReadinessState:
    """Check an item in: the quantity counted in place (materials), or just done (disinfection, waste)."""
    site = readiness.item_site(session=session, campaign=current, item_id=item_id)
    _site_scope(session, current, site.id, user)
    now = server_now()
    return readiness.check_in(session=session, campaign=current, item_id=item_id,
                              at=client_time(campaign=current, value=body.at, field="at", now=now), received_at=now,
                              quantity=body.quantity, note=body.note, user_id=user.id)


@router.get("/readiness/flagged", response_model=list[ReadinessState])
def flagged(session: SessionDep, user: CanViewRound, current: CurrentCampaign) -> list[ReadinessState]:
    """Every late or short item of the round at the sites in the user's scope (the HQ: all; an office: its own)."""
    return readiness.flagged(session=session, campaign=current, now=server_now(), scope=user.scope)


@router.get("/sites/{site_id}/staff", response_model=list[RosterEntry])
def site_roster(site_id: RowId, session: SessionDep, user: CanCheckIn, current: CurrentCampaign) -> list[RosterEntry]:
    _site_scope(session, current, site_id, user)
    return readiness.roster(session=session, campaign=current, plan_site_id=site_id)


@router.post("/sites/{site_id}/staff/{staff_id}/arrival", response_model=Arrival)
def staff_arrival(
    site_id: RowId,
    staff_id: RowId,
    body: ArrivalCreate,
    session: SessionDep,
    user: CanCheckIn,
    current: CurrentCampaign,
) -> Arrival:
    """A rostered staff member is in place; the site's staff item counts them against its deadline."""
    _site_scope(session, current, site_id, user)
    now = server_now()
    return readiness.staff_arrived(session=session, campaign=current, plan_site_id=site_id, staff_id=staff_id,
                                   at=credited_time(claimed=client_time(campaign=current, value=body.at, field="at", now=now),
                                                    received=now), user_id=user.id)


@router.get("/boxes", response_model=list[BoxLine])
def boxes(
    session: SessionDep,
    user: CanHandOver,
    current: CurrentCampaign,
    status: Literal["open", "sealed", "in_transit", "received"] | None = None,
) -> list[BoxLine]:
    """The round's boxes in the user's scope: a site's own, a courier's those handed to them."""
    return queries.boxes(session=session, campaign=current, scope=user.scope, status=status)


@router.post("/preregistrations", response_model=PreregState)
def preregister(current: CurrentCampaign, body: PreregCreate, request: Request, session: SessionDep, settings: SettingsDep) -> PreregState:
    """A resident pre-registers with their ID number and gets the code to show at the desk. No log-in; rate-limited."""
    limiter = getattr(request.app.state, "prereg_limiter", None)
    if limiter is None:
        limiter = request.app.state.prereg_limiter = RateLimiter(attempts=PREREG_ATTEMPTS, per_seconds=PREREG_WINDOW_SECONDS)
    limiter.hit(f"addr:{request.client.host if request.client else 'unknown'}", field="id_number")
    return prereg.preregister(session=session, campaign=current, id_number=body.id_number, key=settings.secret_key, now=server_now())

