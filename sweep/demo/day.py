"""The day of a planned round, as a time-ordered list of what the sites, couriers and lab do.

People come in their building's call-up slot, a few late and a few not at all; each desk swabs
one person at a time into pooled tubes; sealed tubes go into boxes; couriers take boxes to the
lab, which signs for them and reports a result per tube. The schedule is computed once, from the
stored plan and a seeded generator, and then carried out either through the service layer
(``sweep.demo.play``) or over HTTP by simulated terminals (``sweep.demo.live``).
"""

from __future__ import annotations

import heapq
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.field.couriers import site_couriers
from sweep.field.models import ReadinessItem
from sweep.plan.models import Campaign, PlanBuilding, PlanSite
from sweep.registry.models import Person


@dataclass(frozen=True)
class DayAssumptions:
    """How people behave on the day; each a documented guess for the demo, not a measurement."""

    no_show: float = 0.012  # away, ill, unwilling: the missing list the offices follow up
    late_mean_minutes: float = 8.0  # arrivals scatter after their slot opens
    swab_seconds_mean: float = 18.0  # ~20 s from scan to swab (practice, 2022)
    swab_seconds_sd: float = 5.0
    courier_every_minutes: int = 60
    transit_minutes: tuple[int, int] = (30, 90)  # within the 2-4 h room-temperature limit
    lab_minutes: tuple[int, int] = (120, 240)
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

    def add(self, at: datetime, site_id: int, action: str, **args: Any) -> None:
        self.events.append(Event(at, len(self.events), site_id, action, args))

    def uid(self) -> str:
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))


def schedule_day(
    *, session: Session, campaign: Campaign, rng: np.random.Generator, assumptions: DayAssumptions = DayAssumptions()
) -> DaySchedule:
    """Everything that happens on the day, in the order it happens. Reads the plan; writes nothing."""
    b = _Builder(campaign, rng)
    a = assumptions
    _check_ins(session, b, a)
    schedule = DaySchedule(campaign_id=campaign.id, events=b.events)
    at_lab: list[tuple[datetime, str, int]] = []
    for site in session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)):
        sealed, no_shows, scans, tubes = _site_day(session, b, site, a)
        # Boxes go to the site's rostered courier, as the hand-over requires.
        courier = site_couriers(session=session, campaign=campaign, plan_site_id=site.id)[0].staff_id
        received, boxes = _boxes_and_couriers(b, site, sealed, a, courier)
        at_lab += [(received[code], code, site.id) for _at, code in sealed]
        schedule.no_shows += no_shows
        schedule.scans += scans
        schedule.tubes += tubes
        schedule.boxes += boxes
    schedule.positives = _lab_results(b, at_lab, a)
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


def _site_day(session: Session, b: _Builder, site: PlanSite, a: DayAssumptions) -> tuple[list[tuple[datetime, str]], int, int, int]:
    campaign, rng = b.campaign, b.rng
    rows = session.execute(
        select(Person.id, PlanBuilding.slot_start_minute, PlanBuilding.slot_minutes, Person.home_sampling)
        .join(PlanBuilding, (PlanBuilding.building_id == Person.building_id) & (PlanBuilding.campaign_id == campaign.id))
        .where(PlanBuilding.plan_site_id == site.id)
        .order_by(Person.id)
    ).all()
    t0 = campaign.starts_at
    walk_in = [(pid, start, length) for pid, start, length, home in rows if not home]
    home_visits = [pid for pid, _s, _l, home in rows if home]
    show = rng.random(len(walk_in)) >= a.no_show
    arrivals = sorted(
        (start + rng.uniform(0, length) + rng.exponential(a.late_mean_minutes) * (rng.random() < 0.3), pid)
        for (pid, start, length), came in zip(walk_in, show, strict=True)
        if came
    )
    # One queue for the site; the next person goes to whichever desk frees first.
    desks = [(0.0, d) for d in range(1, site.desks + 1)]
    heapq.heapify(desks)
    per_desk: dict[int, list[tuple[float, int]]] = {d: [] for d in range(1, site.desks + 1)}
    for arrive, pid in arrivals:
        free, desk = heapq.heappop(desks)
        swab = max(6.0, rng.normal(a.swab_seconds_mean, a.swab_seconds_sd)) / 60
        done = max(arrive, free) + swab
        per_desk[desk].append((done, pid))
        heapq.heappush(desks, (done, desk))

    sealed: list[tuple[datetime, str]] = []
    n_tubes = 0

    def fill(swabs: list[tuple[float, int]], prefix: str, desk: int | None, kind: str) -> None:
        nonlocal n_tubes
        code, filled = None, 0
        for minute, pid in swabs:
            at = t0 + timedelta(minutes=minute)
            if code is None:
                n_tubes += 1
                code, filled = f"{prefix}{campaign.id}-{site.id}-{desk or 0}-{n_tubes:05d}", 0
                b.add(at, site.id, "open_tube", code=code, desk=desk)
            b.add(at, site.id, "scan", tube_code=code, person_id=pid, client_uuid=b.uid(), kind=kind)
            filled += 1
            if filled >= campaign.pool_size:  # the tube seals itself at the pool size
                sealed.append((at, code))
                code = None
        if code is not None:
            at = t0 + timedelta(minutes=swabs[-1][0] + 1)
            b.add(at, site.id, "seal_tube", code=code)
            sealed.append((at, code))

    for desk, swabs in per_desk.items():
        fill(swabs, "T", desk, "pooled")
    # Home sampling (上门采样): a team visits the bedridden through the day.
    if home_visits:
        times = np.sort(rng.uniform(30, campaign.deadline_minutes - 30, len(home_visits)))
        fill([(float(m), pid) for m, pid in zip(times, home_visits, strict=True)], "H", None, "home")
    return sealed, int((~show).sum()), len(arrivals) + len(home_visits), n_tubes


def _boxes_and_couriers(
    b: _Builder, site: PlanSite, sealed: list[tuple[datetime, str]], a: DayAssumptions, courier: int
) -> tuple[dict[str, datetime], int]:
    """Pack sealed tubes in order; a box leaves when full or when the hourly courier calls.

    Returns when the lab signed for each tube, and the number of boxes.
    """
    campaign = b.campaign
    n_boxes = 0
    box: str | None = None
    in_box: list[str] = []
    received: dict[str, datetime] = {}
    next_run = campaign.starts_at + timedelta(minutes=a.courier_every_minutes)

    def send(at: datetime) -> None:
        nonlocal box
        assert box is not None
        b.add(at, site.id, "hand_over", box_code=box, courier=courier)
        arrive = at + timedelta(minutes=float(b.rng.integers(*a.transit_minutes)))
        b.add(arrive, site.id, "receive", box_code=box)
        received.update((code, arrive) for code in in_box)
        box = None
        in_box.clear()

    for at, tube_code in sorted(sealed):
        while at >= next_run and box is not None:
            send(next_run)
            next_run += timedelta(minutes=a.courier_every_minutes)
        while at >= next_run:
            next_run += timedelta(minutes=a.courier_every_minutes)
        if box is None:
            n_boxes += 1
            box = f"B{campaign.id}-{site.id}-{n_boxes:04d}"
            b.add(at, site.id, "open_box", code=box)
        b.add(at, site.id, "pack", box_code=box, tube_code=tube_code)
        in_box.append(tube_code)
        if len(in_box) >= campaign.box_size:
            send(at + timedelta(minutes=5))
    if box is not None:
        send(max(next_run, sorted(sealed)[-1][0] + timedelta(minutes=5)))
    return received, n_boxes


def _lab_results(b: _Builder, at_lab: list[tuple[datetime, str, int]], a: DayAssumptions) -> int:
    """The lab reports every tube it signed for; a few pools come back positive."""
    if not at_lab:
        return 0
    positive = set(b.rng.choice(len(at_lab), size=min(a.positives, len(at_lab)), replace=False).tolist())
    for i, (received_at, code, site_id) in enumerate(at_lab):
        result = "positive" if i in positive else "negative"
        when = received_at + timedelta(minutes=float(b.rng.integers(*a.lab_minutes)))
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
