"""Walk-ins (临时登记) of a round: the office's list to confirm, the counts by site and community, and the confirmation."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query

from sweep.auth.auditlog import record_view
from sweep.coverage import walkins
from sweep.coverage.schemas import WalkInConfirm
from sweep.coverage.walkins import WalkInCount, WalkInRow
from sweep.deps import CanFollowUp, CanViewRound, SessionDep
from sweep.params import ERRORS, RowId
from sweep.plan.current import CurrentCampaign

router = APIRouter(prefix="/api/campaigns/{campaign}", tags=["coverage"], responses=ERRORS)


@router.get("/walk-ins", response_model=list[WalkInRow])
def walk_in_list(session: SessionDep, user: CanFollowUp, current: CurrentCampaign,
                 unconfirmed: bool = Query(default=False, description="Only those not yet confirmed into the registry.")) -> list[WalkInRow]:
    """Those registered at a desk this round, for their office to confirm into the registry; the unconfirmed first."""
    rows = walkins.walk_ins(session=session, campaign=current, scope=user.scope, unconfirmed_only=unconfirmed)
    if user.scope.contacts:
        record_view(session=session, scope=user.scope, what="walk_ins", people=len(rows), campaign_id=current.id)
    return rows


@router.get("/walk-ins/summary", response_model=list[WalkInCount])
def walk_in_summary(session: SessionDep, user: CanViewRound, current: CurrentCampaign,
                    by: Literal["site", "community"] = "community") -> list[WalkInCount]:
    """Walk-ins registered, sampled and confirmed, by site or by community: counted apart from the registry."""
    return walkins.walk_in_counts(session=session, campaign=current, by=by)


@router.post("/walk-ins/{walk_in_id}/confirm", response_model=WalkInRow)
def confirm(walk_in_id: RowId, body: WalkInConfirm, session: SessionDep, user: CanFollowUp, current: CurrentCampaign) -> WalkInRow:
    """Enter a walk-in into the registry at their building; their sample now counts there."""
    return walkins.confirm_walk_in(session=session, campaign=current, walk_in_id=walk_in_id, scope=user.scope, at=datetime.now(),
                                   building_code=body.building_code, unit=body.unit, room=body.room)
