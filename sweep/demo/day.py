"""The day of a planned round, as a time-ordered list of what the sites, couriers and lab do.

Who comes when, which desk swabs them into which tube, when tubes are sealed, boxed, handed to
the courier, signed for by the lab and resulted: one simulated day of the plan, drawn by the same
model the plan was checked against (``sweep.simulate.trace``), with the round's real people put
in the places the model drew for them. A few pools come back positive, a supervision team visits
a few sites, readiness items are checked in around their deadlines. The schedule is computed
once, from the stored plan and a seeded generator, and then carried out either through the
service layer (``sweep.demo.play``) or over HTTP by simulated terminals (``sweep.demo.live``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.config import get_settings
from sweep.demo.visitors import visitors
from sweep.field.couriers import site_couriers
from sweep.plan.models import Campaign, PlanBuilding, PlanSite, ReadinessItem
from sweep.plan.simulation import day_input
from sweep.registry.groups import single_tube_people
from sweep.registry.models import Person
from sweep.simulate.model import DayModel
from sweep.simulate.trace import SiteTrace, trace_day


@dataclass(frozen=True)
class DayAssumptions:
    """What the simulated day leaves out; each a documented guess for the demo, not a measurement."""

    positives: int = 2  # pools the demo lab reports positive, to show the trace-back
    late_readiness: float = 0.05  # share of readiness items checked in after their deadline
    inspections: int = 3  # sites the supervision team visits in the morning, each with a finding or two


@dataclass(frozen=True, order=True)
class Event:
    at: datetime
    seq: int  # keeps the order of events at the same moment
    site_id: int = field(compare=False)
    action: str = field(compare=False)  # check_in, open_tube, scan, seal_tube, open_box, pack, hand_over, receive, result, inspect
    args: dict[str, Any] = field(compare=False, default_factory=dict)


@dataclass
class DaySchedule:
    campaign_id: int
    events: list[Event]
    no_shows: int = 0
    walk_ins: int = 0
    scans: int = 0
    tubes: int = 0
    boxes: int = 0
    positives: int = 0

    def sorted(self) -> list[Event]:
        return sorted(self.events)


class _Builder:
    def __init__(self, campaign: Campaign, rng: np.random.Generator) -> None:
        self.campaign = campaign
        self.rng = rng
        self.events: list[Event] = []
        self.visitor_ids: set[str] = set()  # the day's walk-ins so far, each a different person

    def add(self, at: datetime, site_id: int, action: str, **args: Any) -> None:
        self.events.append(Event(at, len(self.events), site_id, action, args))

    def uid(self) -> str:
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))


def schedule_day(
    *,
    session: Session,
    campaign: Campaign,
    rng: np.random.Generator,
    assumptions: DayAssumptions = DayAssumptions(),
    model: DayModel | None = None,
) -> DaySchedule:
    """Everything that happens on the day, in the order it happens. Reads the plan; writes nothing."""
    b = _Builder(campaign, rng)
    a = assumptions
    _check_ins(session, b, a)
    schedule = DaySchedule(campaign_id=campaign.id, events=b.events)
    day = day_input(session=session, campaign=campaign)
    traces = trace_day(day, model=model or DayModel.from_settings(get_settings()), rng=rng)
    called = _called_people(session, campaign)
    home = _home_people(session, campaign)
    single = single_tube_people(session=session, person_ids=[int(p) for people in called.values() for p in people])
    resulted: list[tuple[datetime, str, int]] = []
    sites = session.execute(select(PlanSite.id, PlanSite.code).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)).all()
    for (site_id, _code), trace in zip(sites, traces, strict=True):
        # Boxes go to the site's rostered courier, as the hand-over requires.
        courier = site_couriers(session=session, campaign=campaign, plan_site_id=site_id)[0].staff_id
        played = _site_events(b, site_id, trace, called.get(site_id, np.zeros(0, np.int64)), courier, single)
        played.add(_home_visits(b, site_id, home.get(site_id, []), courier))
        resulted += played.resulted
        schedule.no_shows += trace.no_shows
        schedule.walk_ins += played.walk_ins
        schedule.scans += played.scans
        schedule.tubes += played.tubes
        schedule.boxes += played.boxes
    schedule.positives = _lab_results(b, resulted, a)
    _inspections(session, b, a)
    return schedule


def _check_ins(session: Session, b: _Builder, a: DayAssumptions) -> None:
    items = session.execute(
        select(ReadinessItem.id, ReadinessItem.plan_site_id, ReadinessItem.due_at, ReadinessItem.quantity_planned)
        .where(ReadinessItem.campaign_id == b.campaign.id)
        .order_by(ReadinessItem.id)
    ).all()
    for item_id, site_id, due, qty in items:
        late = b.rng.random() < a.late_readiness
        offset = b.rng.uniform(1, 40) if late else -b.rng.uniform(5, 60)
        b.add(due + timedelta(minutes=float(offset)), site_id, "check_in", item_id=item_id, quantity=qty)


def _called_people(session: Session, campaign: Campaign) -> dict[int, np.ndarray]:
    """Each site's called people in call-up order: the order in which ``day_input`` counts them."""
    residents: dict[int | None, list[int]] = defaultdict(list)  # people without a building gather under None, never read
    for pid, building in session.execute(
        select(Person.id, Person.building_id).where(Person.home_sampling.is_(False)).order_by(Person.building_id, Person.id)
    ):
        residents[building].append(pid)
    out: dict[int, list[int]] = defaultdict(list)
    for site_id, building, planned in session.execute(
        select(PlanBuilding.plan_site_id, PlanBuilding.building_id, PlanBuilding.people)
        .where(PlanBuilding.campaign_id == campaign.id)
        .order_by(PlanBuilding.plan_site_id, PlanBuilding.slot_start_minute, PlanBuilding.id)
    ):
        out[site_id] += residents.get(building, [])[: int(planned)]
    return {site: np.array(people, dtype=np.int64) for site, people in out.items()}


def _home_people(session: Session, campaign: Campaign) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for site_id, pid in session.execute(
        select(PlanBuilding.plan_site_id, Person.id)
        .join(Person, Person.building_id == PlanBuilding.building_id)
        .where(PlanBuilding.campaign_id == campaign.id, Person.home_sampling.is_(True))
        .order_by(PlanBuilding.plan_site_id, Person.id)
    ):
        out[site_id].append(pid)
    return out


@dataclass
class _Played:
    scans: int = 0
    walk_ins: int = 0
    tubes: int = 0
    boxes: int = 0
    resulted: list[tuple[datetime, str, int]] = field(default_factory=list)

    def add(self, other: _Played) -> None:
        self.scans += other.scans
        self.tubes += other.tubes
        self.boxes += other.boxes
        self.resulted += other.resulted


def _site_events(b: _Builder, site_id: int, trace: SiteTrace, called: np.ndarray, courier: int, single: set[int]) -> _Played:
    """The site's tubes, scans, seals, boxes and courier runs as the simulated day drew them.

    A key-group member whose group is sampled one to a tube gets a single tube of their own, packed
    with the pooled tube the model put them in; a pooled tube short of its pool is sealed by hand."""
    t0, cid = b.campaign.starts_at, b.campaign.id
    played = _Played(walk_ins=int(np.sum(trace.who < 0)))
    # Those not on the site's list come too: people of the registry who missed their own site are
    # not told apart by the model, so every walk-in here is someone from outside, registered at the desk.
    known = trace.who >= 0
    outsiders = iter(visitors(b.rng, played.walk_ins, b.visitor_ids))
    person = np.where(known, called[np.maximum(trace.who, 0)], -1)
    alone = known & np.isin(person, np.fromiter(single, dtype=np.int64, count=len(single)))
    pooled = known & ~alone
    people_in = np.bincount(trace.tube[pooled | ~known], minlength=len(trace.tube_sealed))
    first_desk = np.zeros(len(trace.tube_sealed), dtype=np.int64)
    first_desk[trace.tube[::-1]] = trace.desk[::-1]
    codes = [f"T{cid}-{site_id}-{first_desk[t]}-{t + 1:05d}" for t in range(len(trace.tube_sealed))]
    packs: list[tuple[float, str, int]] = []  # (minute packed, tube, box)
    for t in np.flatnonzero(people_in > 0):
        b.add(t0 + _minutes(trace.tube_opened[t] - 0.5), site_id, "open_tube", code=codes[t], desk=int(first_desk[t]), kind="pooled")
        packs.append((float(trace.tube_sealed[t]), codes[t], int(trace.tube_box[t])))
        played.resulted.append((t0 + _minutes(trace.tube_result[t]), codes[t], site_id))
    for k in np.flatnonzero(pooled | ~known):
        who = {"person_id": int(person[k])} if known[k] else {"walk_in": next(outsiders)}
        b.add(t0 + _minutes(trace.swabbed[k]), site_id, "scan", tube_code=codes[trace.tube[k]], client_uuid=b.uid(), kind="pooled", **who)
    for n, k in enumerate(np.flatnonzero(alone), start=1):
        code, t = f"S{cid}-{site_id}-{n:05d}", trace.tube[k]
        b.add(t0 + _minutes(trace.swabbed[k] - 0.3), site_id, "open_tube", code=code, desk=int(trace.desk[k]), kind="single")
        b.add(t0 + _minutes(trace.swabbed[k]), site_id, "scan", tube_code=code, person_id=int(person[k]), client_uuid=b.uid(),
              kind="pooled")
        packs.append((float(trace.tube_sealed[t]), code, int(trace.tube_box[t])))
        played.resulted.append((t0 + _minutes(trace.tube_result[t]), code, site_id))
    played.scans = len(trace.who)
    played.tubes = len(packs)
    for t in np.flatnonzero((people_in > 0) & (people_in < b.campaign.pool_size)):
        b.add(t0 + _minutes(trace.tube_sealed[t]), site_id, "seal_tube", code=codes[t])
    boxes: dict[int, list[str]] = {}  # the model's box -> the boxes packed for it (single tubes may need a second)
    filled: dict[str, int] = {}
    # In the order they were packed: a box is opened for the first tube that goes into it.
    for minute, code, box in sorted(packs):
        codes_of = boxes.setdefault(box, [])
        if not codes_of or filled[codes_of[-1]] >= b.campaign.box_size:
            codes_of.append(f"B{cid}-{site_id}-{box + 1:04d}" + (f"-{len(codes_of) + 1}" if codes_of else ""))
            filled[codes_of[-1]] = 0
            b.add(t0 + _minutes(minute), site_id, "open_box", code=codes_of[-1])
        filled[codes_of[-1]] += 1
        b.add(t0 + _minutes(minute), site_id, "pack", box_code=codes_of[-1], tube_code=code)
    for box, box_codes in boxes.items():
        for box_code in box_codes:
            b.add(t0 + _minutes(trace.box_left[box]), site_id, "hand_over", box_code=box_code, courier=courier)
            b.add(t0 + _minutes(trace.box_at_lab[box]), site_id, "receive", box_code=box_code)
    played.boxes = len(filled)
    return played


def _home_visits(b: _Builder, site_id: int, people: list[int], courier: int) -> _Played:
    """Home sampling (上门采样): the site's team visits the bedridden through the day, pooling as at the
    desk, and brings its box back at the end of the day."""
    played = _Played()
    if not people:
        return played
    t0, cid, size = b.campaign.starts_at, b.campaign.id, b.campaign.pool_size
    times = np.sort(b.rng.uniform(30, b.campaign.deadline_minutes - 30, len(people)))
    box = f"H{cid}-{site_id}-BOX"
    last = t0 + _minutes(float(times[-1]) + 5)
    b.add(t0 + _minutes(float(times[0]) - 1), site_id, "open_box", code=box)
    for start in range(0, len(people), size):
        tube = f"H{cid}-{site_id}-{start // size + 1:05d}"
        b.add(t0 + _minutes(float(times[start]) - 0.5), site_id, "open_tube", code=tube, desk=None, kind="pooled")
        chunk = range(start, min(start + size, len(people)))
        for i in chunk:
            b.add(t0 + _minutes(float(times[i])), site_id, "scan", tube_code=tube, person_id=people[i], client_uuid=b.uid(), kind="home")
            played.scans += 1
        if len(chunk) < size:
            b.add(t0 + _minutes(float(times[chunk[-1]]) + 1), site_id, "seal_tube", code=tube)
        b.add(last, site_id, "pack", box_code=box, tube_code=tube)
        played.resulted.append((last + timedelta(hours=4), tube, site_id))
        played.tubes += 1
    b.add(last + timedelta(minutes=5), site_id, "hand_over", box_code=box, courier=courier)
    b.add(last + timedelta(minutes=60), site_id, "receive", box_code=box)
    played.boxes = 1
    return played


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=float(value))


def _lab_results(b: _Builder, resulted: list[tuple[datetime, str, int]], a: DayAssumptions) -> int:
    """The lab reports every tube it signed for; a few pools come back positive."""
    if not resulted:
        return 0
    positive = set(b.rng.choice(len(resulted), size=min(a.positives, len(resulted)), replace=False).tolist())
    for i, (when, code, site_id) in enumerate(resulted):
        result = "positive" if i in positive else "negative"
        ct = float(b.rng.uniform(25, 35)) if result == "positive" else None
        b.add(when, site_id, "result", tube_code=code, result=result, ct_value=ct)
    return len(positive)


# The SOP's findings a supervision team most often writes down (督导常见问题).
FINDINGS = (
    ("采样台间距不足1米 (desks closer than 1 m)", "minor"),
    ("候检人员未保持1米间距 (queue not kept 1 m apart)", "major"),
    ("医废袋未按3/4满扎口 (waste bag not tied at three-quarters)", "major"),
)


def _inspections(session: Session, b: _Builder, a: DayAssumptions) -> None:
    """A supervision team visits a few sites mid-morning, checks the SOP, and writes findings."""
    from sweep.inspect.checklists import SITE

    sites = session.scalars(select(PlanSite.id).where(PlanSite.campaign_id == b.campaign.id).order_by(PlanSite.id)).all()
    if not sites:
        return
    chosen = b.rng.choice(len(sites), size=min(a.inspections, len(sites)), replace=False)
    for k, i in enumerate(sorted(chosen.tolist())):
        failed = int(b.rng.integers(1, len(SITE.items) + 1))
        checks = [
            {"item_no": no, "passed": no != failed, "note": None if no != failed else "现场发现 (seen on the visit)"}
            for no in range(1, len(SITE.items) + 1)
        ]
        finding = FINDINGS[k % len(FINDINGS)]
        at = b.campaign.starts_at + timedelta(minutes=float(b.rng.uniform(60, 150)))
        b.add(at, sites[i], "inspect", checks=checks, findings=[{"description": finding[0], "severity": finding[1]}])
