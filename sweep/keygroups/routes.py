"""Key-group API: schedules per group, workplaces and their people, tests and environment samples,
and the compliance list of who is overdue, by employer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, UploadFile

from sweep.auth.policy import Can, can
from sweep.auth.tokens import Principal
from sweep.deps import CanKeyGroups, CanSeeContacts, CanViewRound, CurrentUser, SessionDep, SettingsDep
from sweep.errors import Forbidden
from sweep.keygroups import service as keygroups
from sweep.keygroups.importer import import_keygroup_file
from sweep.keygroups.schemas import (
    EnvironmentResult,
    EnvironmentSampleCreate,
    GroupCreate,
    GroupUpdate,
    KeyGroupTestCreate,
    MemberCreate,
    RecordedRead,
    ScheduleUpdate,
    WorkplaceCreate,
    WorkplaceRead,
)
from sweep.keygroups.service import EmployerCompliance, GroupSchedule, WorkplaceEnvironment
from sweep.params import ERRORS, LocalTime, RowId
from sweep.registry.schemas import ImportReportRead

router = APIRouter(prefix="/api/key-groups", tags=["key groups"], responses=ERRORS)
GroupPath = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


def _tester(user: Principal) -> None:
    """The lab and whoever runs the key groups record their tests."""
    if not (can(user, Can.RESULTS) or can(user, Can.KEY_GROUPS)):
        raise Forbidden("role", f"角色 {user.role} 无权登记重点人群检测 (role {user.role} may not record key-group tests)")


@router.get("", response_model=list[GroupSchedule])
def schedules(session: SessionDep, user: CanViewRound) -> list[GroupSchedule]:
    return keygroups.schedules(session=session)


def _schedule(session: SessionDep, code: str) -> GroupSchedule:
    return next(g for g in keygroups.schedules(session=session) if g.code == code)


@router.post("", response_model=GroupSchedule, status_code=201)
def create_group(body: GroupCreate, session: SessionDep, user: CanKeyGroups) -> GroupSchedule:
    """A new key group with its test interval and tube kind; the people import's 人员类别 then finds it."""
    group = keygroups.create_group(session=session, **body.model_dump(), user_id=user.id)
    return _schedule(session, group.code)


@router.patch("/{code}", response_model=GroupSchedule)
def update_group(code: GroupPath, body: GroupUpdate, session: SessionDep, user: CanKeyGroups) -> GroupSchedule:
    keygroups.update_group(session=session, key_group=code, **body.model_dump(), user_id=user.id)
    return _schedule(session, code)


@router.put("/{code}/schedule", response_model=GroupSchedule)
def set_schedule(code: GroupPath, body: ScheduleUpdate, session: SessionDep, user: CanKeyGroups) -> GroupSchedule:
    keygroups.set_schedule(session=session, key_group=code, test_every_days=body.test_every_days, user_id=user.id)
    return _schedule(session, code)


@router.post("/imports/{kind}", response_model=ImportReportRead)
def upload(
    kind: Literal["workplaces", "members", "tests"],
    session: SessionDep,
    settings: SettingsDep,
    user: CanKeyGroups,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX with Chinese or English headers")],
) -> ImportReportRead:
    """Workplaces, who works where, or a workplace's own tests; the good rows land, the bad come back with reasons."""
    report = import_keygroup_file(session=session, kind=kind, stream=file.file, filename=file.filename or "upload",
                                  key=settings.secret_key, user_id=user.id, scope=user.scope)
    return ImportReportRead(**report.as_dict())


@router.post("/workplaces", response_model=WorkplaceRead, status_code=201)
def add_workplace(body: WorkplaceCreate, session: SessionDep, user: CanKeyGroups) -> WorkplaceRead:
    place = keygroups.add_workplace(session=session, **body.model_dump())
    return WorkplaceRead(id=place.id, code=place.code, name=place.name, employer=place.employer, env_every_days=place.env_every_days)


@router.post("/members", response_model=RecordedRead)
def assign_member(body: MemberCreate, session: SessionDep, user: CanKeyGroups) -> RecordedRead:
    member = keygroups.assign_member(session=session, person_id=body.person_id, workplace=body.workplace, scope=user.scope)
    return RecordedRead(id=member.id, result=None)


@router.post("/tests", response_model=RecordedRead, status_code=201)
def record_test(body: KeyGroupTestCreate, session: SessionDep, user: CurrentUser) -> RecordedRead:
    _tester(user)
    test = keygroups.record_test(session=session, person_id=body.person_id, sampled_at=body.sampled_at, result=body.result,
                                 resulted_at=body.resulted_at, user_id=user.id, scope=user.scope)
    return RecordedRead(id=test.id, result=test.result)


@router.post("/environment-samples", response_model=RecordedRead, status_code=201)
def record_environment(body: EnvironmentSampleCreate, session: SessionDep, user: CurrentUser) -> RecordedRead:
    _tester(user)
    sample = keygroups.record_environment_sample(session=session, workplace=body.workplace, point=body.point,
                                                 sampled_at=body.sampled_at, result=body.result, user_id=user.id)
    return RecordedRead(id=sample.id, result=sample.result)


@router.post("/environment-samples/{sample_id}/result", response_model=RecordedRead)
def environment_result(sample_id: RowId, body: EnvironmentResult, session: SessionDep, user: CurrentUser) -> RecordedRead:
    _tester(user)
    sample = keygroups.set_environment_result(session=session, sample_id=sample_id, result=body.result, at=body.resulted_at or datetime.now())
    return RecordedRead(id=sample.id, result=sample.result)


@router.get("/compliance", response_model=list[EmployerCompliance])
def compliance(
    session: SessionDep,
    user: CanSeeContacts,
    as_of: LocalTime | None = None,
    key_group: str | None = Query(default=None, max_length=32, pattern=r"^[A-Za-z0-9_-]+$"),
    by: Literal["employer", "office"] = "employer",
) -> list[EmployerCompliance]:
    """Per employer (or per office the people live in): members, and who is overdue for a test (never
    tested, or past the group's interval); the most overdue first."""
    return keygroups.compliance(session=session, as_of=as_of or datetime.now(), scope=user.scope, key_group=key_group, by=by)


@router.get("/environment", response_model=list[WorkplaceEnvironment])
def environment(session: SessionDep, user: CanViewRound, as_of: LocalTime | None = None) -> list[WorkplaceEnvironment]:
    return keygroups.environment_compliance(session=session, as_of=as_of or datetime.now())
