"""Round over round (多轮起底式): who was missed twice, which buildings stay low, which sites were late,
and the list carried into the next round's call-up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sweep.auth.auditlog import record_view
from sweep.auth.scope import Scope
from sweep.coverage import tallies
from sweep.coverage.models import CoverageMissing, Exemption, HomeSamplingTask
from sweep.coverage.service import coverage_by, missing_query
from sweep.db import in_chunks
from sweep.errors import InvalidInput, NotFound
from sweep.field.models import Sample
from sweep.plan.models import Campaign, PlanSite, ReadinessItem
from sweep.registry.models import Building, CandidateSite, Community, Person

# A building under this share of its due people sampled is "low" (the aim is everyone).
LOW_COVERAGE = 0.95
# Exempt for a reason that may have passed by the next round: asked again then.
RECHECK_REASONS = ("away", "hospital")


@dataclass(frozen=True)
class MissedPerson:
    person_id: int
    name: str
    id_masked: str
    phone: str | None
    community: str
    building: str
    unit: int | None
    room: str | None


@dataclass(frozen=True)
class BuildingTrend:
    code: str
    name: str
    expected: int
    previous: float
    current: float


@dataclass(frozen=True)
class SiteLateness:
    code: str
    name: str
    previous_finish: float | None  # minutes from the start of sampling to the site's last swab
    current_finish: float | None
    previous_late: bool
    current_late: bool
    previous_readiness_late: int  # readiness items (四个到位) checked in after their deadline
    current_readiness_late: int


@dataclass(frozen=True)
class RoundComparison:
    campaign_id: int
    previous_id: int
    missed_twice: list[MissedPerson]
    buildings_low: list[BuildingTrend]
    sites_late: list[SiteLateness]


def previous_campaign(*, session: Session, campaign: Campaign) -> Campaign | None:
    return session.scalar(select(Campaign).where(Campaign.id < campaign.id).order_by(Campaign.id.desc()).limit(1))


def has_started(*, session: Session, campaign: Campaign, now: datetime) -> bool:
    """Sampling has begun: its start is past, the day was opened, or someone has been swabbed in it."""
    if campaign.starts_at <= now or campaign.status != "planned":
        return True
    return session.scalar(select(Sample.id).where(Sample.campaign_id == campaign.id).limit(1)) is not None


def _started(session: Session, campaign: Campaign, now: datetime, field: str) -> None:
    """A round not yet begun has everyone missing: compared, it would name everyone missed twice."""
    if has_started(session=session, campaign=campaign, now=now):
        return
    begun = session.scalar(select(Campaign.id).where(Campaign.id < campaign.id, Campaign.starts_at <= now)
                           .order_by(Campaign.id.desc()).limit(1))
    hint = f"；最近已开始的是第{begun}轮 (the latest that has is round {begun})" if begun else ""
    raise InvalidInput(
        field,
        f"第{campaign.id}轮尚未开始（{campaign.starts_at:%Y-%m-%d %H:%M} 开始），只比较已开始的轮次{hint} "
        f"(round {campaign.id} has not started yet, it starts {campaign.starts_at:%Y-%m-%d %H:%M}: only rounds that have can be compared)",
    )


def _missed_twice(session: Session, current: Campaign, previous: Campaign, scope: Scope) -> list[MissedPerson]:
    who = CoverageMissing.person_id
    done_before = select(Sample.id).where(Sample.campaign_id == previous.id, Sample.person_id == who, Sample.kind != "retest").exists()
    excused_before = select(Exemption.id).where(Exemption.campaign_id == previous.id, Exemption.person_id == who).exists()
    tallies.refresh(session=session, campaign=current)
    ids = list(session.scalars(missing_query(campaign=current, scope=scope).where(~done_before, ~excused_before)))
    rows: list[Sequence[Any]] = []
    # Ids first over narrow indexes, then the few rows in full: see missing_list.
    for chunk in in_chunks(ids):
        rows += session.execute(
            select(Community.code, Building.code, Person.id, Person.name, Person.id_masked, Person.phone, Community.name, Building.name,
                   Person.unit, Person.room)
            .join(Community, Community.id == Person.community_id)
            .join(Building, Building.id == Person.building_id)
            .where(Person.id.in_(chunk))
        ).all()
    rows.sort(key=lambda r: (r[0], r[1], r[8] is not None, r[8] or 0, r[9] or "", r[2]))
    return [MissedPerson(*row[2:]) for row in rows]


def _site_finish(session: Session, campaign: Campaign, now: datetime, scope: Scope) -> dict[int, tuple[str, str, float | None, int]]:
    """candidate site id -> (code, name, minutes to the last swab, readiness items late)."""
    last = dict(
        session.execute(
            select(PlanSite.candidate_site_id, func.max(Sample.sampled_at))
            .join(Sample, Sample.plan_site_id == PlanSite.id)
            .where(PlanSite.campaign_id == campaign.id, Sample.kind != "retest")
            .group_by(PlanSite.candidate_site_id)
        ).all()
    )
    late_items = dict(
        session.execute(
            select(PlanSite.candidate_site_id, func.count())
            .join(ReadinessItem, ReadinessItem.plan_site_id == PlanSite.id)
            .where(
                PlanSite.campaign_id == campaign.id,
                ((ReadinessItem.done_at.is_not(None)) & (ReadinessItem.done_at > ReadinessItem.due_at))
                | ((ReadinessItem.done_at.is_(None)) & (ReadinessItem.due_at < now)),
            )
            .group_by(PlanSite.candidate_site_id)
        ).all()
    )
    out = {}
    for cid, code, name in session.execute(
        select(CandidateSite.id, CandidateSite.code, CandidateSite.name)
        .join(PlanSite, PlanSite.candidate_site_id == CandidateSite.id)
        .where(PlanSite.campaign_id == campaign.id, scope.sites())
    ):
        finish = (last[cid] - campaign.starts_at).total_seconds() / 60 if last.get(cid) else None
        out[cid] = (code, name, finish, late_items.get(cid, 0))
    return out


def compare_rounds(
    *,
    session: Session,
    campaign: Campaign,
    now: datetime,
    previous: Campaign | None = None,
    scope: Scope,
    low: float = LOW_COVERAGE,
) -> RoundComparison:
    """This round against the one before (or ``previous``), within the scope; the names missed twice are audited."""
    if not 0 < low <= 1:
        raise InvalidInput("low", f"阈值应在 0–1 之间 (the threshold is a share in (0, 1]), got {low}")
    _started(session, campaign, now, "campaign")
    previous = previous or previous_campaign(session=session, campaign=campaign)
    if previous is None:
        raise NotFound("previous", "没有上一轮可比较 (there is no earlier round to compare with)")
    if previous.id == campaign.id:
        raise InvalidInput("previous", "不能与本轮自身比较 (compare with another round)")
    _started(session, previous, now, "previous")
    before = {a.code: a for a in coverage_by(session=session, campaign=previous, scope=scope, level="building")}
    low_both = []
    for area in coverage_by(session=session, campaign=campaign, scope=scope, level="building"):
        old = before.get(area.code)
        if old is not None and area.fraction < low and old.fraction < low:
            low_both.append(BuildingTrend(area.code, area.name, area.expected, old.fraction, area.fraction))
    low_both.sort(key=lambda b: (b.current, b.code))

    old_sites = _site_finish(session, previous, now, scope)
    sites = []
    for cid, (code, name, finish, late_items) in _site_finish(session, campaign, now, scope).items():
        _c, _n, old_finish, old_items = old_sites.get(cid, (code, name, None, 0))
        late_now = finish is not None and finish > campaign.deadline_minutes
        late_then = old_finish is not None and old_finish > previous.deadline_minutes
        if late_now or late_then or late_items or old_items:
            sites.append(SiteLateness(code, name, old_finish, finish, late_then, late_now, old_items, late_items))
    sites.sort(key=lambda s: (-(s.current_late + s.previous_late), -(s.current_readiness_late + s.previous_readiness_late), s.code))
    missed = _missed_twice(session, campaign, previous, scope)
    record_view(session=session, scope=scope, what="missed_twice", people=len(missed), campaign_id=campaign.id)
    return RoundComparison(campaign.id, previous.id, missed, low_both, sites)


@dataclass(frozen=True)
class CarryOver:
    """Someone the next round's call-up must reach on purpose."""

    person_id: int
    building_id: int
    community_id: int
    office_id: int
    reason: str  # missing | away | hospital
    home_sampling: bool
    rounds_missed: int  # consecutive rounds, this one included, without a sample


def _rounds_missed(session: Session, campaign: Campaign, person_ids: list[int]) -> dict[int, int]:
    earlier = list(session.scalars(select(Campaign.id).where(Campaign.id <= campaign.id).order_by(Campaign.id.desc())))
    sampled: dict[int, set[int]] = defaultdict(set)
    for chunk in in_chunks(person_ids):
        for pid, cid in session.execute(
            select(Sample.person_id, Sample.campaign_id).where(
                Sample.person_id.in_(chunk), Sample.kind != "retest", Sample.campaign_id <= campaign.id
            )
        ):
            sampled[pid].add(cid)
    streak = {}
    for pid in person_ids:
        n = 0
        for cid in earlier:
            if cid in sampled[pid]:
                break
            n += 1
        streak[pid] = n
    return streak


def carry_over(*, session: Session, campaign: Campaign, scope: Scope) -> list[CarryOver]:
    """The missing of this round in the scope, and those exempt for a reason that may have passed, for the next call-up."""
    tallies.refresh(session=session, campaign=campaign)
    ids = list(session.scalars(missing_query(campaign=campaign, scope=scope)))
    task = select(HomeSamplingTask.id).where(HomeSamplingTask.campaign_id == campaign.id, HomeSamplingTask.person_id == Person.id).exists()
    columns = (Person.id, Person.building_id, Person.community_id, Person.office_id)
    rows: list[tuple[Any, ...]] = []  # the database's values: registered people have their areas
    for chunk in in_chunks(ids):
        rows += [(*r[:4], "missing", bool(r[4] or r[5])) for r in session.execute(
            select(*columns, Person.home_sampling, task).where(Person.id.in_(chunk)))]
    recheck = select(*columns, Exemption.reason, Person.home_sampling).join(Exemption, Exemption.person_id == Person.id).where(
        Exemption.campaign_id == campaign.id, Exemption.reason.in_(RECHECK_REASONS),
        ~select(Sample.id).where(Sample.campaign_id == campaign.id, Sample.person_id == Person.id, Sample.kind != "retest").exists(),
    )
    recheck = recheck.where(scope.people(campaign.id))
    rows += [(*r[:5], bool(r[5])) for r in session.execute(recheck)]
    streak = _rounds_missed(session, campaign, [r[0] for r in rows])
    out = [CarryOver(pid, b, c, o, reason, home, streak[pid]) for pid, b, c, o, reason, home in rows]
    return sorted(out, key=lambda r: (-r.rounds_missed, r.community_id, r.building_id, r.person_id))


def carry_exemptions(*, session: Session, source: Campaign, target: Campaign, at: datetime) -> int:
    """Copy the lasting exemptions (deceased) into the next round; returns how many."""
    if target.id == source.id:
        raise InvalidInput("target", "目标轮次须不同于来源轮次 (the target round must differ from the source)")
    already = select(Exemption.person_id).where(Exemption.campaign_id == target.id)
    rows = session.execute(
        select(Exemption.person_id, Exemption.reason, Exemption.note).where(
            Exemption.campaign_id == source.id, Exemption.reason == "deceased", Exemption.person_id.not_in(already)
        )
    ).all()
    if rows:
        session.execute(
            Exemption.__table__.insert(),
            [{"campaign_id": target.id, "person_id": p, "reason": r, "note": n, "created_at": at} for p, r, n in rows],
        )
    return len(rows)


def missed_before(*, session: Session, campaign: Campaign, person_ids: Iterable[int]) -> set[int]:
    """Of these people, those also not sampled (nor exempt) in the round before."""
    previous = previous_campaign(session=session, campaign=campaign)
    ids = list(person_ids)
    if previous is None or not ids:
        return set()
    seen: set[int] = set()
    for chunk in in_chunks(ids):
        seen.update(session.scalars(select(Sample.person_id).where(
            Sample.campaign_id == previous.id, Sample.person_id.in_(chunk), Sample.kind != "retest")))
        seen.update(session.scalars(select(Exemption.person_id).where(Exemption.campaign_id == previous.id, Exemption.person_id.in_(chunk))))
    return set(ids) - seen


__all__ = [
    "BuildingTrend", "CarryOver", "MissedPerson", "RoundComparison", "SiteLateness", "carry_exemptions", "carry_over",
    "compare_rounds", "has_started", "missed_before", "previous_campaign",
]
