"""The offices' follow-up of those not sampled: exemptions with their reasons, and home-sampling tasks.

An office user acts only on its own people; every exemption and task is someone's, with a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.orm import Session

from sweep.auth.auditlog import record_view
from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.coverage.models import EXEMPTION_REASONS, Exemption, HomeSamplingTask
from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.field.models import Sample
from sweep.plan.models import Campaign
from sweep.registry.models import Building, Community, Person

REASON_LABELS = {
    "away": "不在辖区 (away from the district)",
    "hospital": "住院 (in hospital)",
    "sampled_elsewhere": "外地已检 (sampled elsewhere, with proof)",
    "deceased": "已故 (deceased)",
}


def _person(session: Session, campaign: Campaign, person_id: int, scope: Scope) -> Person:
    """The person, read through the scope: one outside it is refused, one who does not exist is not found."""
    person = session.scalar(select(Person).where(Person.id == person_id, scope.people(campaign.id)))
    # A walk-in not yet confirmed is no one's to exempt or visit: they are outside the registry.
    if person is not None and person.building_id is None:
        person = None
    if person is None:
        existing = session.get(Person, person_id)
        if existing is not None and existing.building_id is not None:
            raise scope.refuse("person_id", str(person_id))
        raise NotFound("person_id", f"登记册中没有此人 (no such person in the registry): {person_id}")
    return person


def _sample_id(session: Session, campaign: Campaign, person_id: int) -> int | None:
    return session.scalar(
        select(Sample.id).where(Sample.campaign_id == campaign.id, Sample.person_id == person_id, Sample.kind != "retest")
    )


def _unsampled_person(session: Session, campaign: Campaign, person_id: int, scope: Scope, held: type[Exemption | HomeSamplingTask], *,
                      sampled: str, already: str) -> Person:
    """The person through the scope, refused when sampled this round or when already holding a ``held`` row of it."""
    person = _person(session, campaign, person_id, scope)
    if _sample_id(session, campaign, person.id) is not None:
        raise Conflict("person_id", sampled)
    if session.scalar(select(held.id).where(held.campaign_id == campaign.id, held.person_id == person.id)):
        raise Conflict("person_id", already)
    return person


def add_exemption(
    *,
    session: Session,
    campaign: Campaign,
    person_id: int,
    reason: str,
    at: datetime,
    scope: Scope,
    proof: str | None = None,
    note: str | None = None,
) -> Exemption:
    if reason not in EXEMPTION_REASONS:
        raise InvalidInput("reason", f"免检原因应为 {'/'.join(EXEMPTION_REASONS)} (reason must be one of those), got {reason!r}")
    proof = (proof or "").strip() or None
    if reason == "sampled_elsewhere" and proof is None:
        raise InvalidInput("proof", "外地已检须提供凭证：报告编号、检测机构、日期 (sampled elsewhere needs proof: report number, lab, date)")
    person = _unsampled_person(session, campaign, person_id, scope, Exemption,
                               sampled="此人本轮已采样，无需免检 (already sampled this round; no exemption needed)",
                               already="此人本轮已登记免检 (already exempted this round)")
    exemption = Exemption(
        campaign_id=campaign.id, person_id=person.id, reason=reason, proof=proof, note=(note or "").strip() or None,
        created_at=at, created_by=scope.user_id,
    )
    session.add(exemption)
    # Someone exempted needs no visit any more.
    session.execute(
        update(HomeSamplingTask)
        .where(HomeSamplingTask.campaign_id == campaign.id, HomeSamplingTask.person_id == person.id, HomeSamplingTask.status == "open")
        .values(status="cancelled")
    )
    session.flush()
    audit(session=session, user_id=scope.user_id, action="coverage.exempt", entity="person", entity_id=person.id,
          campaign_id=campaign.id, detail={"reason": reason}, at=at)
    return exemption


def remove_exemption(*, session: Session, campaign: Campaign, exemption_id: int, at: datetime, scope: Scope) -> None:
    """Withdraw an exemption (the person came back): they count as missing again until sampled."""
    exemption = session.get(Exemption, exemption_id)
    if exemption is None or exemption.campaign_id != campaign.id:
        raise NotFound("exemption_id", "本轮没有这条免检记录 (no such exemption in this campaign)")
    _person(session, campaign, exemption.person_id, scope)
    audit(session=session, user_id=scope.user_id, action="coverage.exemption_removed", entity="person",
          entity_id=exemption.person_id, campaign_id=campaign.id, detail={"reason": exemption.reason}, at=at)
    session.delete(exemption)
    session.flush()


@dataclass(frozen=True)
class ExemptionRow:
    id: int
    person_id: int
    name: str
    id_masked: str
    community: str
    building: str
    reason: str
    proof: str | None
    note: str | None
    created_at: datetime


def list_exemptions(*, session: Session, campaign: Campaign, scope: Scope) -> list[ExemptionRow]:
    """The round's exemptions of people in the scope (names with their buildings: audited)."""
    query: Select[*tuple[Any, ...]] = (  # more columns than SQLAlchemy's row types spell out
        select(Exemption.id, Person.id, Person.name, Person.id_masked, Community.name, Building.name, Exemption.reason,
               Exemption.proof, Exemption.note, Exemption.created_at)
        .join(Person, Person.id == Exemption.person_id)
        .join(Community, Community.id == Person.community_id)
        .join(Building, Building.id == Person.building_id)
        .where(Exemption.campaign_id == campaign.id, scope.people(campaign.id))
        .order_by(Community.code, Building.code, Person.id)
    )
    rows = [ExemptionRow(*row) for row in session.execute(query)]
    record_view(session=session, scope=scope, what="exemptions", people=len(rows), campaign_id=campaign.id)
    return rows


def add_home_task(
    *,
    session: Session,
    campaign: Campaign,
    person_id: int,
    reason: str,
    due_at: datetime,
    at: datetime,
    scope: Scope,
    team: str | None = None,
) -> HomeSamplingTask:
    if not reason.strip():
        raise InvalidInput("reason", "须说明上门原因，如卧床、行动不便 (give the reason, e.g. bedridden, cannot walk)")
    if due_at < at:
        raise InvalidInput("due_at", "完成时限早于现在 (the deadline is in the past)")
    person = _unsampled_person(session, campaign, person_id, scope, HomeSamplingTask,
                               sampled="此人本轮已采样 (already sampled this round)",
                               already="此人本轮已有上门采样任务 (already has a home-sampling task this round)")
    task = HomeSamplingTask(
        campaign_id=campaign.id, person_id=person.id, office_id=person.office_id, reason=reason.strip()[:100], team=team,
        due_at=due_at, status="open", created_at=at, created_by=scope.user_id,
    )
    session.add(task)
    session.flush()
    return task


def tasks_from_registry(*, session: Session, campaign: Campaign, due_at: datetime, at: datetime, scope: Scope) -> int:
    """A task for everyone in the scope the registry flags for home sampling who has none yet and is not sampled or exempt."""
    has_task = select(HomeSamplingTask.id).where(HomeSamplingTask.campaign_id == campaign.id, HomeSamplingTask.person_id == Person.id).exists()
    sampled = select(Sample.id).where(Sample.campaign_id == campaign.id, Sample.person_id == Person.id, Sample.kind != "retest").exists()
    exempt = select(Exemption.id).where(Exemption.campaign_id == campaign.id, Exemption.person_id == Person.id).exists()
    query = select(Person.id, Person.office_id).where(Person.home_sampling.is_(True), ~has_task, ~sampled, ~exempt, scope.people(campaign.id))
    rows = session.execute(query).all()
    if rows:
        session.execute(
            HomeSamplingTask.__table__.insert(),
            [
                {"campaign_id": campaign.id, "person_id": pid, "office_id": oid, "reason": "登记为上门采样 (flagged in the registry)",
                 "due_at": due_at, "status": "open", "created_at": at, "created_by": scope.user_id}
                for pid, oid in rows
            ],
        )
    return len(rows)


def complete_home_task(*, session: Session, campaign: Campaign, task_id: int, at: datetime, scope: Scope) -> HomeSamplingTask:
    """Done once the person's sample is in: the scan at the door is the proof."""
    task = session.get(HomeSamplingTask, task_id)
    if task is None or task.campaign_id != campaign.id:
        raise NotFound("task_id", "本轮没有这个上门采样任务 (no such home-sampling task in this campaign)")
    _person(session, campaign, task.person_id, scope)
    if task.status != "open":
        raise Conflict("task_id", f"任务状态为 {task.status}，不能完成 (the task is {task.status})")
    sample_id = _sample_id(session, campaign, task.person_id)
    if sample_id is None:
        raise Conflict("task_id", "尚无此人的采样记录，请先扫码采样 (no sample of this person yet: scan the tube first)")
    task.status, task.sample_id, task.done_at = "done", sample_id, at
    session.flush()
    return task


def sync_home_tasks(*, session: Session, campaign: Campaign, at: datetime) -> int:
    """Close every open task whose person has been sampled since; returns how many."""
    sample = (
        select(Sample.id)
        .where(Sample.campaign_id == campaign.id, Sample.person_id == HomeSamplingTask.person_id, Sample.kind != "retest")
        .limit(1)
        .scalar_subquery()
    )
    result = cast(CursorResult[Any], session.execute(  # an UPDATE's result is a cursor's, with its row count
        update(HomeSamplingTask)
        .where(HomeSamplingTask.campaign_id == campaign.id, HomeSamplingTask.status == "open", sample.is_not(None))
        .values(status="done", sample_id=sample, done_at=at)
        .execution_options(synchronize_session=False)
    ))
    return result.rowcount or 0


@dataclass(frozen=True)
class HomeTaskRow:
    id: int
    person_id: int
    name: str
    phone: str | None
    community: str
    building: str
    unit: int | None
    room: str | None
    reason: str
    team: str | None
    due_at: datetime
    status: str
    done_at: datetime | None


def list_home_tasks(
    *, session: Session, campaign: Campaign, scope: Scope, status: str | None = None, task_id: int | None = None
) -> list[HomeTaskRow]:
    """Home-sampling tasks of people in the scope (names, phones and rooms: audited)."""
    query: Select[*tuple[Any, ...]] = (  # more columns than SQLAlchemy's row types spell out
        select(HomeSamplingTask.id, Person.id, Person.name, Person.phone, Community.name, Building.name, Person.unit, Person.room,
               HomeSamplingTask.reason, HomeSamplingTask.team, HomeSamplingTask.due_at, HomeSamplingTask.status, HomeSamplingTask.done_at)
        .join(Person, Person.id == HomeSamplingTask.person_id)
        .join(Community, Community.id == Person.community_id)
        .join(Building, Building.id == Person.building_id)
        .where(HomeSamplingTask.campaign_id == campaign.id, scope.people(campaign.id))
        .order_by(HomeSamplingTask.due_at, Community.code, Building.code, Person.id)
    )
    if status is not None:
        query = query.where(HomeSamplingTask.status == status)
    if task_id is not None:
        query = query.where(HomeSamplingTask.id == task_id)
    rows = [HomeTaskRow(*row) for row in session.execute(query)]
    record_view(session=session, scope=scope, what="home_tasks", people=len(rows), campaign_id=campaign.id)
    return rows


__all__ = [
    "REASON_LABELS", "add_exemption", "add_home_task", "complete_home_task", "list_exemptions", "list_home_tasks",
    "remove_exemption", "sync_home_tasks", "tasks_from_registry",
]
