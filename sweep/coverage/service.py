"""Reconcile the round against the registry, person by person: called, sampled, resulted, exempt, missing.

Counts are made per building (ten thousand rows at a million people) and rolled up to grid,
community and office in Python; the sampled and resulted counts come from the incremental
tallies (``sweep.coverage.tallies``), so a look at the board reads only what is new.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import computed_field
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sweep.auth.auditlog import record_view
from sweep.auth.scope import Scope
from sweep.coverage import tallies
from sweep.coverage.models import CoverageMissing, Exemption, HomeSamplingTask
from sweep.errors import InvalidInput, NotFound
from sweep.field.models import Box, Sample, Tube
from sweep.lab.models import LabResult, RetestOrder
from sweep.plan.models import Campaign, PlanBuilding, PlanSite
from sweep.registry.models import Building, Community, Grid, Office, Person, registered

LEVELS = ("office", "community", "grid", "building")
STATUSES = ("resulted", "sampled", "exempt", "missing")
Standing = Literal["resulted", "sampled", "exempt", "missing"]


@dataclass(frozen=True)
class AreaCoverage:
    """One area's people by where they stand. ``sampled`` includes ``resulted``; exempt excludes the sampled."""

    code: str
    name: str
    expected: int
    sampled: int
    called: int = 0
    resulted: int = 0
    exempt: int = 0
    home_open: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def missing(self) -> int:
        return self.expected - self.sampled - self.exempt

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fraction(self) -> float:
        """Sampled among those due (应检): the registry less the exempt."""
        due = self.expected - self.exempt
        return self.sampled / due if due else 1.0


@dataclass(frozen=True)
class RoundFigures:
    campaign_id: int
    people: int
    sampled: int
    sites: int
    desks: int
    tubes: int
    tubes_sealed: int
    boxes: int
    boxes_in_transit: int
    boxes_received: int
    results: int
    positives: int
    retests_open: int
    first_sample: datetime | None
    last_sample: datetime | None
    deadline_minutes: int
    starts_at: datetime
    exempt: int = 0
    walk_ins: int = 0  # people sampled who are not (yet) in the registry: outside ``sampled`` and ``people``

    @computed_field  # type: ignore[prop-decorator]
    @property
    def coverage(self) -> float:
        due = self.people - self.exempt
        return self.sampled / due if due else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def finish_minutes(self) -> float | None:
        """Minutes from the start of sampling to the last swab."""
        if self.last_sample is None:
            return None
        return (self.last_sample - self.starts_at).total_seconds() / 60


def _sampled(campaign_id: int) -> ColumnElement[bool]:
    return and_(Sample.campaign_id == campaign_id, Sample.kind != "retest")


def _exempt_not_sampled(campaign_id: int) -> ColumnElement[bool]:
    done = select(Sample.id).where(_sampled(campaign_id), Sample.person_id == Exemption.person_id).exists()
    return and_(Exemption.campaign_id == campaign_id, ~done)


def round_figures(*, session: Session, campaign: Campaign) -> RoundFigures:
    cid = campaign.id
    people = session.scalar(select(func.count()).select_from(Person).where(registered())) or 0
    # The registry's people sampled; those registered at the desk (walk-ins) are counted apart.
    in_registry = select(Person.id).where(Person.id == Sample.person_id, registered()).exists()
    sampled, walk_ins, first, last = session.execute(
        select(func.count().filter(in_registry), func.count().filter(~in_registry), func.min(Sample.sampled_at),
               func.max(Sample.sampled_at)).where(_sampled(cid))
    ).one()
    sites, desks = session.execute(
        select(func.count(), func.coalesce(func.sum(PlanSite.desks), 0)).where(PlanSite.campaign_id == cid)
    ).one()
    tubes, sealed = session.execute(
        select(func.count(), func.count().filter(Tube.status != "open")).where(Tube.campaign_id == cid)
    ).one()
    boxes, in_transit, received = session.execute(
        select(
            func.count(),
            func.count().filter(Box.status == "in_transit"),
            func.count().filter(Box.status == "received"),
        ).where(Box.campaign_id == cid)
    ).one()
    results, positives = session.execute(
        select(func.count(), func.count().filter(LabResult.result == "positive")).where(LabResult.campaign_id == cid)
    ).one()
    retests_open = session.scalar(
        select(func.count()).where(RetestOrder.campaign_id == cid, RetestOrder.status != "closed")
    )
    exempt = session.scalar(select(func.count()).select_from(Exemption).where(_exempt_not_sampled(cid)))
    return RoundFigures(
        campaign_id=cid,
        people=people,
        sampled=sampled,
        sites=sites,
        desks=int(desks),
        tubes=tubes,
        tubes_sealed=sealed,
        boxes=boxes,
        boxes_in_transit=in_transit,
        boxes_received=received,
        results=results,
        positives=positives,
        retests_open=retests_open or 0,
        first_sample=first,
        last_sample=last,
        deadline_minutes=campaign.deadline_minutes,
        starts_at=campaign.starts_at,
        exempt=exempt or 0,
        walk_ins=walk_ins,
    )


def _per_building(session: Session, campaign: Campaign) -> dict[int | None, list[int]]:
    """building id (None: people without one) -> [expected, called, sampled, resulted, exempt, home_open]."""
    cid = campaign.id
    counts: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    planned = set(session.scalars(select(PlanBuilding.building_id).where(PlanBuilding.campaign_id == cid)))
    building_id: int | None
    for building_id, (sampled, resulted, people, home) in tallies.refresh(session=session, campaign=campaign).items():
        # Those flagged for home sampling have no slot; their task calls them.
        counts[building_id][0:4] = [people, people - home if building_id in planned else 0, sampled, resulted]
    for building_id, n in session.execute(
        select(Person.building_id, func.count()).select_from(Exemption).join(Person, Person.id == Exemption.person_id)
        .where(_exempt_not_sampled(cid)).group_by(Person.building_id)
    ):
        counts[building_id][4] = n
    for building_id, home, tasks, still_open in session.execute(
        select(Person.building_id, Person.home_sampling, func.count(), func.count().filter(HomeSamplingTask.status == "open"))
        .select_from(HomeSamplingTask)
        .join(Person, Person.id == HomeSamplingTask.person_id)
        .where(HomeSamplingTask.campaign_id == cid, HomeSamplingTask.status != "cancelled")
        .group_by(Person.building_id, Person.home_sampling)
    ):
        if home or building_id not in planned:  # the others were called by their slot already
            counts[building_id][1] += tasks
        counts[building_id][5] += still_open
    return counts


_AREA: dict[str, tuple[type[Office | Community | Grid | Building], InstrumentedAttribute[int]]] = {
    "office": (Office, Building.office_id),
    "community": (Community, Building.community_id),
    "grid": (Grid, Building.grid_id),
    "building": (Building, Building.id),
}


def coverage_by(*, session: Session, campaign: Campaign, scope: Scope, level: str = "community") -> list[AreaCoverage]:
    """Everyone's standing summed by office, community, grid or building, over the buildings in the scope."""
    if level not in LEVELS:
        raise InvalidInput("by", f"汇总层级应为 {'/'.join(LEVELS)} (level must be one of those), got {level!r}")
    table, key = _AREA[level]
    per_building = _per_building(session, campaign)
    query = select(Building.id, key).where(scope.buildings(campaign.id))
    sums: dict[int, list[int]] = defaultdict(lambda: [0] * 6)
    for building_id, area_id in session.execute(query):
        counts = per_building.get(building_id)
        if counts and counts[0]:
            acc = sums[area_id]
            for i, v in enumerate(counts):
                acc[i] += v
    names = {i: (c, n) for i, c, n in session.execute(select(table.id, table.code, table.name).where(table.id.in_(list(sums))))} if sums else {}
    rows = [
        AreaCoverage(names[a][0], names[a][1], expected=s[0], called=s[1], sampled=s[2], resulted=s[3], exempt=s[4], home_open=s[5])
        for a, s in sums.items()
    ]
    return sorted(rows, key=lambda r: r.code)


def coverage_by_community(*, session: Session, campaign: Campaign, scope: Scope) -> list[AreaCoverage]:
    return coverage_by(session=session, campaign=campaign, scope=scope, level="community")


@dataclass(frozen=True)
class PersonStatus:
    person_id: int
    name: str
    id_masked: str
    building: str
    unit: int | None
    room: str | None
    status: Standing
    called: bool
    slot_start: datetime | None
    slot_site: str | None
    sampled_at: datetime | None
    tube_code: str | None
    result: str | None
    exemption: str | None
    home_task: str | None
    retest: str | None


def people_status(
    *, session: Session, campaign: Campaign, scope: Scope, building_code: str | None = None, person_id: int | None = None
) -> list[PersonStatus]:
    """Person by person, for one building (the building leader's roll) or one person, within the scope; audited."""
    if (building_code is None) == (person_id is None):
        raise InvalidInput("building", "须指定一个楼栋或一个人 (name one building or one person)")
    cid = campaign.id
    slot_site = select(PlanSite.code).where(PlanSite.id == PlanBuilding.plan_site_id).scalar_subquery()
    retest = (
        select(RetestOrder.status).where(RetestOrder.campaign_id == cid, RetestOrder.person_id == Person.id)
        .order_by(RetestOrder.id.desc()).limit(1).scalar_subquery()
    )
    query = (
        select(
            Person.id, Person.name, Person.id_masked, Building.name, Person.unit, Person.room, Person.home_sampling,
            PlanBuilding.slot_start_minute, slot_site, Sample.sampled_at, Tube.code, LabResult.result, Exemption.reason,
            HomeSamplingTask.status, retest,
        )
        .join(Building, Building.id == Person.building_id)
        .outerjoin(PlanBuilding, and_(PlanBuilding.building_id == Person.building_id, PlanBuilding.campaign_id == cid))
        .outerjoin(Sample, and_(Sample.person_id == Person.id, _sampled(cid)))
        .outerjoin(Tube, Tube.id == Sample.tube_id)
        .outerjoin(LabResult, LabResult.tube_id == Sample.tube_id)
        .outerjoin(Exemption, and_(Exemption.person_id == Person.id, Exemption.campaign_id == cid))
        .outerjoin(HomeSamplingTask, and_(HomeSamplingTask.person_id == Person.id, HomeSamplingTask.campaign_id == cid))
        .where(scope.people(cid))
        .order_by(Person.unit, Person.room, Person.id)
    )
    if building_code is not None:
        query = query.where(Building.code == building_code)
    else:
        query = query.where(Person.id == person_id)
    out = []
    for (pid, name, masked, building, unit, room, home, slot_min, site, sampled_at, tube, result, reason, task, order) in session.execute(query):
        status: Standing = "resulted" if result else "sampled" if sampled_at else "exempt" if reason else "missing"
        slotted = slot_min is not None and not home
        slot_at = campaign.starts_at + timedelta(minutes=slot_min) if slotted else None
        called = slotted or (task is not None and task != "cancelled")
        out.append(PersonStatus(pid, name, masked, building, unit, room, status, called, slot_at, site if slotted else None,
                                sampled_at, tube, result, reason, task, order))
    what = "building" if building_code is not None else "person_id"
    if not out:
        exists = select(Building.id).where(Building.code == building_code) if building_code is not None else select(Person.id).where(Person.id == person_id)
        if session.scalar(exists) is not None:
            raise scope.refuse(what, str(building_code or person_id))
        raise NotFound(what, f"登记册中没有 (not in the registry): {building_code or person_id}")
    record_view(session=session, scope=scope, what="building_roll" if building_code is not None else "person_status", people=len(out),
                campaign_id=cid, detail={what: building_code or person_id})
    return out


@dataclass(frozen=True)
class MissingPerson:
    person_id: int
    name: str
    id_masked: str
    office: str
    community: str
    building: str
    unit: int | None
    room: str | None
    home_sampling: bool
    grid: str = ""
    building_code: str = ""
    phone: str | None = None
    home_task: str | None = None


def missing_query(
    *,
    campaign: Campaign,
    scope: Scope,
    community_id: int | None = None,
    grid_id: int | None = None,
    building_id: int | None = None,
) -> Select[int]:
    """People in the scope with no sample this round and no exemption, as a SELECT of person ids.

    Reads the missing set, so the caller brings it up to date first (``tallies.refresh``).
    """
    excused = select(Exemption.id).where(Exemption.campaign_id == campaign.id, Exemption.person_id == CoverageMissing.person_id).exists()
    query = select(CoverageMissing.person_id).where(CoverageMissing.campaign_id == campaign.id, ~excused)
    filters = [column == value for column, value in ((Person.community_id, community_id), (Person.grid_id, grid_id),
                                                     (Person.building_id, building_id)) if value is not None]
    if scope.reach("people") != "all":
        filters.append(scope.people(campaign.id))
    if filters:
        query = query.join(Person, Person.id == CoverageMissing.person_id).where(*filters)
    return query


def _area_id(session: Session, table: type[Community | Grid | Building], code: str | None, field: str) -> int | None:
    if code is None:
        return None
    found = session.scalar(select(table.id).where(table.code == code))
    if found is None:
        raise NotFound(field, f"没有这个编码 (no such {field}): {code}")
    return found


def missing_list(
    *,
    session: Session,
    campaign: Campaign,
    scope: Scope,
    community_code: str | None = None,
    grid_code: str | None = None,
    building_code: str | None = None,
    limit: int | None = None,
) -> list[MissingPerson]:
    """Everyone in the scope due with no sample this round, for door-to-door follow-up (未检人员名单); audited."""
    rows = missing_rows(session=session, campaign=campaign, scope=scope, community_code=community_code, grid_code=grid_code,
                        building_code=building_code, limit=limit)
    area = ",".join(f"{k}:{v}" for k, v in (("community", community_code), ("grid", grid_code), ("building", building_code)) if v)
    record_view(session=session, scope=scope, what="missing", people=len(rows), campaign_id=campaign.id,
                area=f"{scope.area()}{' ' + area if area else ''}")
    return rows


def missing_rows(
    *,
    session: Session,
    campaign: Campaign,
    scope: Scope,
    community_code: str | None = None,
    grid_code: str | None = None,
    building_code: str | None = None,
    limit: int | None = None,
) -> list[MissingPerson]:
    """The missing list's rows, for a caller that audits what it does with them (an export).

    The query starts from the missing set kept by the tallies, so only those few people are read.
    """
    tallies.refresh(session=session, campaign=campaign)
    ids = missing_query(
        campaign=campaign, scope=scope, community_id=_area_id(session, Community, community_code, "community"),
        grid_id=_area_id(session, Grid, grid_code, "grid"), building_id=_area_id(session, Building, building_code, "building"),
    ).subquery()
    query = (
        select(
            Person.id, Person.name, Person.id_masked, Office.name, Community.name, Building.name, Person.unit, Person.room,
            Person.home_sampling, Grid.name, Building.code, Person.phone, HomeSamplingTask.status,
        )
        .select_from(ids)
        .join(Person, Person.id == ids.c.person_id)
        .join(Building, Building.id == Person.building_id)
        .join(Grid, Grid.id == Person.grid_id)
        .join(Community, Community.id == Person.community_id)
        .join(Office, Office.id == Person.office_id)
        .outerjoin(HomeSamplingTask, and_(HomeSamplingTask.person_id == Person.id, HomeSamplingTask.campaign_id == campaign.id))
        .order_by(Community.code, Building.code, Person.unit, Person.room, Person.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [MissingPerson(*row) for row in session.execute(query)]


__all__ = [
    "LEVELS",
    "AreaCoverage",
    "MissingPerson",
    "PersonStatus",
    "RoundFigures",
    "coverage_by",
    "coverage_by_community",
    "missing_list",
    "missing_query",
    "missing_rows",
    "people_status",
    "round_figures",
]
