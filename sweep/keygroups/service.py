"""Key groups (重点人群): each group's schedule, their workplaces and environment samples, and who is overdue.

A person's last test is the latest of their key-group tests and of their samples in any round: a
key-group member swabbed at a district site has been tested.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sweep.auth.auditlog import record_view
from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.field.models import Sample
from sweep.field.tubes import MAX_POOL, MIN_POOL
from sweep.keygroups.models import EnvironmentSample, KeyGroupMember, KeyGroupTest, Workplace
from sweep.lab.models import LabResult
from sweep.lab.service import check_result
from sweep.registry.models import Community, KeyGroup, Office, Person

NO_EMPLOYER = "未登记单位 (employer not recorded)"
GROUP_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_EVERY_DAYS = 30
COMPLIANCE_BY = ("employer", "office")


def _group(session: Session, code: str) -> KeyGroup:
    group = session.scalar(select(KeyGroup).where(KeyGroup.code == code))
    if group is None:
        raise NotFound("key_group", f"没有这个重点人群 (no such key group): {code}")
    return group


def _person(session: Session, person_id: int, scope: Scope) -> Person:
    """A key-group person read through the scope (key groups are not a round's: a site reaches none)."""
    person = session.scalar(select(Person).where(Person.id == person_id, scope.people(None)))
    if person is None:
        if session.get(Person, person_id) is not None:
            raise scope.refuse("person_id", str(person_id))
        raise NotFound("person_id", f"登记册中没有此人 (no such person in the registry): {person_id}")
    return person


def _workplace(session: Session, code: str) -> Workplace:
    place = session.scalar(select(Workplace).where(Workplace.code == code))
    if place is None:
        raise NotFound("workplace", f"没有这个工作场所 (no such workplace): {code}")
    return place


@dataclass(frozen=True)
class GroupSchedule:
    code: str
    name: str
    test_every_days: int
    members: int
    workplaces: int
    single_tube: Annotated[bool, Field(description="Sampled one person a tube (单人单管); false: pooled with everyone.")] = True
    pool_size: Annotated[int | None, Field(description="Pooled at most this many a tube (5 for 5混1); null: the round's pool size.")] = None


def schedules(*, session: Session) -> list[GroupSchedule]:
    members = dict(session.execute(select(Person.key_group_id, func.count()).where(Person.key_group_id.is_not(None)).group_by(Person.key_group_id)).all())
    places = dict(session.execute(select(Workplace.key_group_id, func.count()).group_by(Workplace.key_group_id)).all())
    return [
        GroupSchedule(g.code, g.name, g.test_every_days, members.get(g.id, 0), places.get(g.id, 0), g.single_tube, g.pool_size)
        for g in session.scalars(select(KeyGroup).order_by(KeyGroup.test_every_days, KeyGroup.code))
    ]


def _every(test_every_days: int) -> int:
    if not 1 <= test_every_days <= MAX_EVERY_DAYS:
        raise InvalidInput("test_every_days", f"检测间隔应为 1–{MAX_EVERY_DAYS} 天 (the interval is 1-{MAX_EVERY_DAYS} days), got {test_every_days}")
    return test_every_days


def _pool_size(pool_size: int) -> int:
    if not MIN_POOL <= pool_size <= MAX_POOL:
        raise InvalidInput("pool_size", f"混采人数应为 {MIN_POOL}–{MAX_POOL} (a group is pooled {MIN_POOL}-{MAX_POOL} to a tube), got {pool_size}")
    return pool_size


def _group_name(session: Session, name: str, *, other_than: int | None = None) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name", "名称为空或超过100个字 (name missing or longer than 100 characters)")
    taken = session.scalar(select(KeyGroup.id).where(KeyGroup.name == name))
    if taken is not None and taken != other_than:
        raise Conflict("name", f"已有同名的重点人群 (a key group already has this name): {name}")
    return name


def create_group(
    *, session: Session, code: str, name: str, test_every_days: int, single_tube: bool = True, pool_size: int | None = None,
    user_id: int | None = None,
) -> KeyGroup:
    """A new key group, e.g. ``airport`` 机场工作人员 tested every 2 days, one to a tube.

    A pool size (5 for 5混1) makes the group pooled at most that many a tube. The people import's
    人员类别 column then finds it by its code or its name.
    """
    code = code.strip()
    if not GROUP_CODE.match(code):
        raise InvalidInput("code", "编码应为1–32位字母、数字、下划线或连字符 (a code is 1-32 letters, digits, '_' or '-')")
    if session.scalar(select(KeyGroup.id).where(KeyGroup.code == code)) is not None:
        raise Conflict("code", f"重点人群编码已存在 (key group code already used): {code}")
    pool = None if pool_size is None else _pool_size(pool_size)
    group = KeyGroup(code=code, name=_group_name(session, name), test_every_days=_every(test_every_days),
                     single_tube=single_tube and pool is None, pool_size=pool)
    session.add(group)
    session.flush()
    audit(session=session, user_id=user_id, action="key_group.created", entity="key_group", entity_id=group.id,
          detail={"code": code, "name": group.name, "test_every_days": test_every_days, "single_tube": group.single_tube,
                  "pool_size": pool})
    return group


def update_group(
    *,
    session: Session,
    key_group: str,
    name: str | None = None,
    test_every_days: int | None = None,
    single_tube: bool | None = None,
    pool_size: int | None = None,
    user_id: int | None = None,
) -> KeyGroup:
    """Change a group's name, its interval, or its tubes: single, or pooled (``pool_size`` 2-20 a tube, 0 the
    round's pool size); each change audited."""
    group = _group(session, key_group)
    wanted: dict[str, object] = {
        "name": None if name is None else _group_name(session, name, other_than=group.id),
        "test_every_days": None if test_every_days is None else _every(test_every_days),
        "single_tube": single_tube,
    }
    if pool_size is not None:
        if single_tube:
            raise InvalidInput("pool_size", "单人单管的重点人群不设混采人数 (a group sampled one to a tube has no pool size)")
        wanted["single_tube"] = False
    changes = {k: [getattr(group, k), v] for k, v in wanted.items() if v is not None and getattr(group, k) != v}
    if pool_size is not None or single_tube:
        pool = None if single_tube or pool_size == 0 else _pool_size(pool_size)  # type: ignore[arg-type]
        if group.pool_size != pool:
            changes["pool_size"] = [group.pool_size, pool]
    for k, (_old, new) in changes.items():
        setattr(group, k, new)
    session.flush()
    if changes:
        audit(session=session, user_id=user_id, action="key_group.updated", entity="key_group", entity_id=group.id,
              detail={"changes": changes})
    return group


def set_schedule(*, session: Session, key_group: str, test_every_days: int, user_id: int | None = None) -> KeyGroup:
    """E.g. airport workers every 2 days, cold-chain workers daily."""
    return update_group(session=session, key_group=key_group, test_every_days=test_every_days, user_id=user_id)


def add_workplace(
    *,
    session: Session,
    code: str,
    name: str,
    employer: str,
    key_group: str,
    env_every_days: int | None = None,
    community_code: str | None = None,
) -> Workplace:
    if not code.strip() or not name.strip() or not employer.strip():
        raise InvalidInput("workplace", "编码、名称和用人单位都须填写 (code, name and employer are all needed)")
    group = _group(session, key_group)
    if session.scalar(select(Workplace.id).where(Workplace.code == code.strip())):
        raise Conflict("code", f"工作场所编码已存在 (workplace code already used): {code}")
    every = env_every_days if env_every_days is not None else group.test_every_days
    if every < 1:
        raise InvalidInput("env_every_days", "环境采样间隔至少 1 天 (at least one day)")
    community_id = None
    if community_code is not None:
        community_id = session.scalar(select(Community.id).where(Community.code == community_code))
        if community_id is None:
            raise NotFound("community", f"没有这个社区 (no such community): {community_code}")
    place = Workplace(code=code.strip(), name=name.strip(), employer=employer.strip(), key_group_id=group.id,
                      community_id=community_id, env_every_days=every)
    session.add(place)
    session.flush()
    return place


def assign_member(*, session: Session, person_id: int, workplace: str, scope: Scope, since: datetime | None = None) -> KeyGroupMember:
    """Record where a key-group person works; moving them to another workplace replaces the old one."""
    place = _workplace(session, workplace)
    person = _person(session, person_id, scope)
    if person.key_group_id != place.key_group_id:
        raise InvalidInput("workplace", "此人不属于该工作场所的重点人群 (the person is not in this workplace's key group)")
    member = session.scalar(select(KeyGroupMember).where(KeyGroupMember.person_id == person_id))
    if member is None:
        member = KeyGroupMember(person_id=person_id, workplace_id=place.id, since=since)
        session.add(member)
    else:
        member.workplace_id, member.since = place.id, since or member.since
    session.flush()
    return member


def record_test(
    *,
    session: Session,
    person_id: int,
    sampled_at: datetime,
    scope: Scope,
    result: str | None = None,
    resulted_at: datetime | None = None,
    user_id: int | None = None,
    source: str = "manual",
) -> KeyGroupTest:
    """A key-group person's test. The same person at the same moment again is the same test: a result
    it lacked is added, a different one refused."""
    if result is not None:
        check_result(result)
    person = _person(session, person_id, scope)
    if person.key_group_id is None:
        raise InvalidInput("person_id", "此人不属于任何重点人群 (the person is in no key group)")
    if resulted_at is not None and resulted_at < sampled_at:
        raise InvalidInput("resulted_at", "结果时间早于采样时间 (the result is dated before the sample)")
    known = session.scalar(select(KeyGroupTest).where(KeyGroupTest.person_id == person_id, KeyGroupTest.sampled_at == sampled_at))
    if known is not None:
        if result is not None and known.result is not None and known.result != result:
            raise Conflict("result", f"该次检测已有结果 {known.result} (this test already has the result {known.result})")
        if result is not None and known.result is None:
            known.result, known.resulted_at = result, resulted_at or sampled_at
            session.flush()
        return known
    place = session.scalar(select(KeyGroupMember.workplace_id).where(KeyGroupMember.person_id == person_id))
    test = KeyGroupTest(person_id=person_id, workplace_id=place, sampled_at=sampled_at, result=result,
                        resulted_at=resulted_at or (sampled_at if result else None), recorded_by=user_id, source=source)
    session.add(test)
    session.flush()
    return test


def record_environment_sample(
    *,
    session: Session,
    workplace: str,
    point: str,
    sampled_at: datetime,
    result: str | None = None,
    resulted_at: datetime | None = None,
    user_id: int | None = None,
) -> EnvironmentSample:
    """A swab of a workplace's surfaces or goods (冷库门把手, 外包装, ...)."""
    if result is not None:
        check_result(result)
    if not point.strip():
        raise InvalidInput("point", "须写明采样点位，如冷库门把手 (name the point swabbed, e.g. the cold-store door handle)")
    place = _workplace(session, workplace)
    sample = EnvironmentSample(workplace_id=place.id, point=point.strip()[:100], sampled_at=sampled_at, result=result,
                               resulted_at=resulted_at or (sampled_at if result else None), recorded_by=user_id)
    session.add(sample)
    session.flush()
    return sample


def set_environment_result(*, session: Session, sample_id: int, result: str, at: datetime) -> EnvironmentSample:
    if result is not None:
        check_result(result)
    sample = session.get(EnvironmentSample, sample_id)
    if sample is None:
        raise NotFound("sample_id", "没有这个环境样本 (no such environment sample)")
    if sample.result is not None:
        raise Conflict("sample_id", "该环境样本已有结果 (the sample already has a result)")
    session.execute(update(EnvironmentSample).where(EnvironmentSample.id == sample_id).values(result=result, resulted_at=at))
    session.refresh(sample)
    return sample


@dataclass(frozen=True)
class OverduePerson:
    person_id: int
    name: str
    id_masked: str
    phone: str | None
    workplace: str | None
    last_tested_at: datetime | None
    due_at: datetime | None  # None: never tested


@dataclass
class EmployerCompliance:
    """One employer's (or, by office, one office's) people of one key group."""

    employer: Annotated[str | None, Field(description="The employer (by=employer).")]
    key_group: str
    test_every_days: int
    members: int = 0
    positives: int = 0  # positive key-group tests and positive field tubes of these people
    overdue: list[OverduePerson] = field(default_factory=list)
    office: Annotated[str | None, Field(description="The office the people live in (by=office).")] = None


@dataclass(frozen=True)
class WorkplaceEnvironment:
    code: str
    name: str
    employer: str
    every_days: int
    last_sampled_at: datetime | None
    overdue: bool
    positives: int  # environment samples positive within one interval of the date


def compliance(
    *, session: Session, as_of: datetime, scope: Scope, key_group: str | None = None, by: str = "employer"
) -> list[EmployerCompliance]:
    """Per employer (or per office the people live in) and key group: members in the scope, and who is
    overdue for a test as of ``as_of``; the most overdue first (names and phones: audited)."""
    if by not in COMPLIANCE_BY:
        raise InvalidInput("by", f"应为 {'/'.join(COMPLIANCE_BY)} (one of those), got {by!r}")
    members = select(Person.id).where(Person.key_group_id.is_not(None), scope.people(None))
    if key_group is not None:
        members = members.where(Person.key_group_id == _group(session, key_group).id)
    last_kg = select(KeyGroupTest.person_id, func.max(KeyGroupTest.sampled_at).label("at")).where(
        KeyGroupTest.person_id.in_(members), KeyGroupTest.sampled_at <= as_of).group_by(KeyGroupTest.person_id).subquery()
    last_round = select(Sample.person_id, func.max(Sample.sampled_at).label("at")).where(
        Sample.person_id.in_(members), Sample.sampled_at <= as_of).group_by(Sample.person_id).subquery()
    positive = select(KeyGroupTest.person_id, func.count().label("n")).where(
        KeyGroupTest.person_id.in_(members), KeyGroupTest.result == "positive").group_by(KeyGroupTest.person_id).subquery()
    # A key-group member's field sample in a tube the lab found positive counts as well.
    field_positive = (
        select(Sample.person_id, func.count().label("n"))
        .join(LabResult, LabResult.tube_id == Sample.tube_id)
        .where(Sample.person_id.in_(members), LabResult.result == "positive", Sample.sampled_at <= as_of)
        .group_by(Sample.person_id)
        .subquery()
    )
    rows = session.execute(
        select(Person.id, Person.name, Person.id_masked, Person.phone, KeyGroup.name, KeyGroup.test_every_days,
               Workplace.employer, Workplace.name, last_kg.c.at, last_round.c.at, positive.c.n, field_positive.c.n, Office.name)
        .join(KeyGroup, KeyGroup.id == Person.key_group_id)
        .join(Office, Office.id == Person.office_id)
        .outerjoin(KeyGroupMember, KeyGroupMember.person_id == Person.id)
        .outerjoin(Workplace, Workplace.id == KeyGroupMember.workplace_id)
        .outerjoin(last_kg, last_kg.c.person_id == Person.id)
        .outerjoin(last_round, last_round.c.person_id == Person.id)
        .outerjoin(positive, positive.c.person_id == Person.id)
        .outerjoin(field_positive, field_positive.c.person_id == Person.id)
        .where(Person.id.in_(members))
        .order_by(Person.id)
    )
    groups: dict[tuple[str, str], EmployerCompliance] = {}
    for pid, name, masked, phone, group, every, employer, place, kg_at, round_at, positives, field_pos, office in rows:
        key = (office if by == "office" else employer or NO_EMPLOYER, group)
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = (EmployerCompliance(None, group, every, office=office) if by == "office"
                                   else EmployerCompliance(key[0], group, every))
        entry.members += 1
        entry.positives += (positives or 0) + (field_pos or 0)
        last = max((t for t in (kg_at, round_at) if t is not None), default=None)
        due = last + timedelta(days=every) if last is not None else None
        if due is None or due < as_of:
            entry.overdue.append(OverduePerson(pid, name, masked, phone, place, last, due))
    for entry in groups.values():
        # The never tested first, then the longest overdue.
        entry.overdue.sort(key=lambda p: (p.due_at is not None, p.due_at or as_of, p.person_id))
    found = sorted(groups.values(), key=lambda e: (-len(e.overdue), e.employer or e.office or "", e.key_group))
    if scope.contacts:
        record_view(session=session, scope=scope, what="key_group_compliance", people=sum(len(e.overdue) for e in found))
    return found


def environment_compliance(*, session: Session, as_of: datetime) -> list[WorkplaceEnvironment]:
    last = dict(session.execute(
        select(EnvironmentSample.workplace_id, func.max(EnvironmentSample.sampled_at))
        .where(EnvironmentSample.sampled_at <= as_of).group_by(EnvironmentSample.workplace_id)
    ).all())
    positives: dict[int, int] = defaultdict(int)
    for place_id, at, every in session.execute(
        select(EnvironmentSample.workplace_id, EnvironmentSample.sampled_at, Workplace.env_every_days)
        .join(Workplace, Workplace.id == EnvironmentSample.workplace_id)
        .where(EnvironmentSample.result == "positive", EnvironmentSample.sampled_at <= as_of)
    ):
        if at >= as_of - timedelta(days=every):
            positives[place_id] += 1
    out = []
    for place in session.scalars(select(Workplace).order_by(Workplace.employer, Workplace.code)):
        seen = last.get(place.id)
        overdue = seen is None or seen + timedelta(days=place.env_every_days) < as_of
        out.append(WorkplaceEnvironment(place.code, place.name, place.employer, place.env_every_days, seen, overdue, positives[place.id]))
    return out


__all__ = [
    "COMPLIANCE_BY", "EmployerCompliance", "GroupSchedule", "OverduePerson", "WorkplaceEnvironment", "add_workplace", "assign_member",
    "compliance", "create_group", "environment_compliance", "record_environment_sample", "record_test", "schedules",
    "set_environment_result", "set_schedule", "update_group",
]
