"""Coverage API: the round's figures, coverage by area, person by person, the missing list (JSON and
XLSX), exemptions, home-sampling tasks, and round over round. An office sees its own people only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from sweep.auth.tokens import Principal
from sweep.coverage import followup, rounds, service
from sweep.coverage.carryover import carry_over_file
from sweep.coverage.export import missing_workbook
from sweep.coverage.followup import ExemptionRow, HomeTaskRow
from sweep.coverage.rounds import CarryOver, RoundComparison
from sweep.coverage.schemas import CreatedCount, ExemptionCreate, HomeTaskCreate, HomeTasksFromRegistry
from sweep.coverage.service import AreaCoverage, MissingPerson, PersonStatus, RoundFigures
from sweep.deps import CanExport, CanFollowUp, CanSeeContacts, CanViewRound, SessionDep, SettingsDep
from sweep.params import ERRORS, PathCode, RowId
from sweep.plan.current import CurrentCampaign
from sweep.plan.models import Campaign
from sweep.plan.service import get_campaign

router = APIRouter(prefix="/api/campaigns", tags=["coverage"], responses=ERRORS)
AreaCode = Annotated[str | None, Query(max_length=48, pattern=r"^[A-Za-z0-9_-]+$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/{campaign}/figures", response_model=RoundFigures)
def figures(session: SessionDep, user: CanViewRound, current: CurrentCampaign) -> RoundFigures:
    return service.round_figures(session=session, campaign=current)


@router.get("/{campaign}/coverage", response_model=list[AreaCoverage])
def coverage(
    session: SessionDep,
    user: CanViewRound,
    current: CurrentCampaign,
    by: Literal["office", "community", "grid", "building"] = "community",
) -> list[AreaCoverage]:
    """Everyone's standing (called, sampled, resulted, exempt, missing) summed by area."""
    return service.coverage_by(session=session, campaign=current, scope=user.scope, level=by)


@router.get("/{campaign}/missing", response_model=list[MissingPerson])
def missing(
    session: SessionDep,
    user: CanSeeContacts,
    current: CurrentCampaign,
    community: AreaCode = None,
    grid: AreaCode = None,
    building: AreaCode = None,
    limit: int = Query(default=500, ge=1, le=100_000),
) -> list[MissingPerson]:
    return service.missing_list(
        session=session, campaign=current, scope=user.scope, community_code=community, grid_code=grid, building_code=building,
        limit=limit,
    )


@router.get("/{campaign}/missing.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def missing_xlsx(
    session: SessionDep,
    settings: SettingsDep,
    user: CanExport,
    current: CurrentCampaign,
    community: AreaCode = None,
    grid: AreaCode = None,
    building: AreaCode = None,
    full_ids: bool = Query(default=False, description="Full ID numbers, for roles allowed to see them (audited)."),
) -> Response:
    made = missing_workbook(session=session, campaign=current, key=settings.secret_key, scope=user.scope, full_ids=full_ids,
                            community_code=community, grid_code=grid, building_code=building)
    name = f"未检人员名单-第{current.id}轮{'-' + community if community else ''}.xlsx"
    return Response(made.content, media_type=XLSX, headers={
        "content-disposition": f"attachment; filename=missing-{current.id}.xlsx; filename*=UTF-8''{quote(name)}",
        "x-rows": str(made.rows),
    })


@router.get("/{campaign}/buildings/{code}/people", response_model=list[PersonStatus])
def building_roll(
    code: PathCode,
    session: SessionDep,
    user: CanSeeContacts,
    current: CurrentCampaign,
) -> list[PersonStatus]:
    """Person by person for one building: the building leader's roll."""
    return service.people_status(session=session, campaign=current, scope=user.scope, building_code=code)


@router.get("/{campaign}/people/{person_id}/status", response_model=PersonStatus)
def person_status(person_id: RowId, session: SessionDep, user: CanSeeContacts, current: CurrentCampaign) -> PersonStatus:
    (row,) = service.people_status(session=session, campaign=current, scope=user.scope, person_id=person_id)
    return row


@router.post("/{campaign}/exemptions", response_model=ExemptionRow, status_code=201)
def exempt(body: ExemptionCreate, session: SessionDep, user: CanFollowUp, current: CurrentCampaign) -> ExemptionRow:
    made = followup.add_exemption(session=session, campaign=current, person_id=body.person_id, reason=body.reason,
                                  proof=body.proof, note=body.note, at=datetime.now(), scope=user.scope)
    return next(e for e in followup.list_exemptions(session=session, campaign=current, scope=user.scope) if e.id == made.id)


@router.get("/{campaign}/exemptions", response_model=list[ExemptionRow])
def exemptions(session: SessionDep, user: CanFollowUp, current: CurrentCampaign) -> list[ExemptionRow]:
    return followup.list_exemptions(session=session, campaign=current, scope=user.scope)


@router.delete("/{campaign}/exemptions/{exemption_id}", status_code=204)
def withdraw(exemption_id: RowId, session: SessionDep, user: CanFollowUp, current: CurrentCampaign) -> Response:
    followup.remove_exemption(session=session, campaign=current, exemption_id=exemption_id, at=datetime.now(), scope=user.scope)
    return Response(status_code=204)


def _task(session: SessionDep, campaign: Campaign, task_id: int, user: CanFollowUp) -> HomeTaskRow:
    (row,) = followup.list_home_tasks(session=session, campaign=campaign, scope=user.scope, task_id=task_id)
    return row


@router.post("/{campaign}/home-tasks", response_model=HomeTaskRow, status_code=201)
def add_home_task(body: HomeTaskCreate, session: SessionDep, user: CanFollowUp, current: CurrentCampaign) -> HomeTaskRow:
    task = followup.add_home_task(session=session, campaign=current, person_id=body.person_id, reason=body.reason,
                                  due_at=body.due_at, team=body.team, at=datetime.now(), scope=user.scope)
    return _task(session, current, task.id, user)


@router.post("/{campaign}/home-tasks/from-registry", response_model=CreatedCount)
def home_tasks_from_registry(
    body: HomeTasksFromRegistry,
    session: SessionDep,
    user: CanFollowUp,
    current: CurrentCampaign,
) -> CreatedCount:
    """A task for everyone the registry flags for home sampling (an office: its own)."""
    made = followup.tasks_from_registry(session=session, campaign=current, due_at=body.due_at, at=datetime.now(), scope=user.scope)
    return CreatedCount(created=made)


@router.get("/{campaign}/home-tasks", response_model=list[HomeTaskRow])
def home_tasks(
    session: SessionDep,
    user: CanFollowUp,
    current: CurrentCampaign,
    status: Literal["open", "done", "cancelled"] | None = None,
) -> list[HomeTaskRow]:
    followup.sync_home_tasks(session=session, campaign=current, at=datetime.now())
    return followup.list_home_tasks(session=session, campaign=current, scope=user.scope, status=status)


@router.post("/{campaign}/home-tasks/{task_id}/done", response_model=HomeTaskRow)
def home_task_done(task_id: RowId, session: SessionDep, user: CanFollowUp, current: CurrentCampaign) -> HomeTaskRow:
    followup.complete_home_task(session=session, campaign=current, task_id=task_id, at=datetime.now(), scope=user.scope)
    return _task(session, current, task_id, user)


@router.get("/{campaign}/compare", response_model=RoundComparison)
def compare(
    session: SessionDep,
    user: CanSeeContacts,
    current: CurrentCampaign,
    previous: int | None = Query(default=None, ge=1, le=2_147_483_647),
    low: float = Query(default=rounds.LOW_COVERAGE, gt=0, le=1),
) -> RoundComparison:
    """Round over round: who was missed twice, which buildings stay low, which sites were late."""
    before = get_campaign(session=session, campaign_id=previous) if previous is not None else None
    return rounds.compare_rounds(session=session, campaign=current, previous=before, low=low, now=datetime.now(), scope=user.scope)


@router.get("/{campaign}/carry-over.csv", response_class=Response)
def carry_over_csv(session: SessionDep, user: CanExport, current: CurrentCampaign) -> Response:
    """The carry-over list for the grid workers: names, masked ID numbers, phones (for roles that may see
    contacts), building, unit, room, reason and rounds missed in a row. Audited."""
    return _carry_over_file(session, user, current, "csv")


@router.get("/{campaign}/carry-over.xlsx", response_class=Response)
def carry_over_xlsx(session: SessionDep, user: CanExport, current: CurrentCampaign) -> Response:
    """The carry-over list as a spreadsheet, the same columns as the CSV. Audited."""
    return _carry_over_file(session, user, current, "xlsx")


def _carry_over_file(session: SessionDep, user: Principal, current: Campaign, fmt: str) -> Response:
    made = carry_over_file(session=session, campaign=current, fmt=fmt, scope=user.scope)
    name = quote(f"carry-over-{current.id}.{fmt}")
    return Response(made.content, media_type=made.media_type, headers={"content-disposition": f"attachment; filename*=UTF-8''{name}"})


@router.get("/{campaign}/carry-over", response_model=list[CarryOver])
def carry_over(session: SessionDep, user: CanSeeContacts, current: CurrentCampaign) -> list[CarryOver]:
    """Those the next round's call-up must reach on purpose: this round's missing, and the away and in hospital."""
    return rounds.carry_over(session=session, campaign=current, scope=user.scope)
