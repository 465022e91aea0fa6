"""Coverage API: the round's figures, coverage by community, and the missing list."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query

from sweep.coverage import service
from sweep.coverage.schemas import AreaCoverageRead, MissingPersonRead, RoundFiguresRead
from sweep.auth.policy import Can
from sweep.deps import Allowed, SessionDep
from sweep.plan.models import Campaign
from sweep.plan.service import get_campaign, parse_campaign_ref

router = APIRouter(prefix="/api/campaigns", tags=["coverage"])


def _campaign(session: SessionDep, ref: str) -> Campaign:
    return get_campaign(session=session, campaign_id=parse_campaign_ref(ref))


@router.get("/{campaign}/figures", response_model=RoundFiguresRead)
def figures(campaign: str, session: SessionDep, user: Allowed(Can.VIEW_ROUND)) -> RoundFiguresRead:  # type: ignore[valid-type]
    fig = service.round_figures(session=session, campaign=_campaign(session, campaign))
    return RoundFiguresRead(**asdict(fig), coverage=fig.coverage, finish_minutes=fig.finish_minutes)


@router.get("/{campaign}/coverage", response_model=list[AreaCoverageRead])
def coverage(campaign: str, session: SessionDep, user: Allowed(Can.VIEW_ROUND)) -> list[AreaCoverageRead]:  # type: ignore[valid-type]
    rows = service.coverage_by_community(session=session, campaign=_campaign(session, campaign))
    return [AreaCoverageRead(**asdict(r), fraction=r.fraction) for r in rows]


@router.get("/{campaign}/missing", response_model=list[MissingPersonRead])
def missing(
    campaign: str,
    session: SessionDep,
    user: Allowed(Can.SEE_CONTACTS),  # type: ignore[valid-type]
    community: str | None = None,
    limit: int = Query(default=500, ge=1, le=100_000),
) -> list[MissingPersonRead]:
    # An office sees only its own people.
    office_id = user.office_id if user.role == "office" else None
    rows = service.missing_list(
        session=session, campaign=_campaign(session, campaign), community_code=community, office_id=office_id, limit=limit
    )
    return [MissingPersonRead(**asdict(r)) for r in rows]
