"""Play the day of a planned round through the service layer, as the sites and the lab would.

People come in their building's call-up slot, a few late and a few not at all; each desk swabs
one person at a time into pooled tubes; sealed tubes go into boxes; couriers take boxes to the
lab, which receives them and reports a result per tube. Every write goes through the same
service functions the API uses, so the figures at the end are the round's own.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from sweep.auth.service import audit, create_user
from sweep.db import unit_of_work
from sweep.field import service as field
from sweep.field.models import ReadinessItem
from sweep.lab import service as lab
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


@dataclass(frozen=True)
class PlayResult:
    scans: int
    no_shows: int
    tubes: int
    boxes: int
    positives: int


Progress = Callable[[int, int], None]


def _uid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def play_day(
    *,
    factory: sessionmaker[Session],
    campaign_id: int,
    rng: np.random.Generator,
    assumptions: DayAssumptions = DayAssumptions(),
    progress: Progress | None = None,
) -> PlayResult:
    with unit_of_work(factory) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="running"))
        site_ids = session.scalars(select(PlanSite.id).where(PlanSite.campaign_id == campaign_id).order_by(PlanSite.id)).all()
        _check_in_readiness(session, campaign, rng, assumptions)
    total = len(site_ids)
    scans = no_shows = tubes = boxes = 0
    at_lab: list[tuple[datetime, str]] = []
    for done, site_id in enumerate(site_ids, start=1):
        # One transaction a site: the day's writes are committed site by site, as terminals would.
        with unit_of_work(factory) as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            s, n, t, b, sealed = _play_site(session, campaign, site_id, rng, assumptions)
            scans, no_shows, tubes, boxes = scans + s, no_shows + n, tubes + t, boxes + b
            at_lab += sealed
        if progress:
            progress(done, total)
    with unit_of_work(factory) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        positives = _lab_results(session, campaign, at_lab, rng, assumptions)
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="finished"))
    return PlayResult(scans=scans, no_shows=no_shows, tubes=tubes, boxes=boxes, positives=positives)


def _check_in_readiness(session: Session, campaign: Campaign, rng: np.random.Generator, a: DayAssumptions) -> None:
    items = session.execute(
        select(ReadinessItem.id, ReadinessItem.due_at, ReadinessItem.quantity_planned, ReadinessItem.kind).where(
            ReadinessItem.campaign_id == campaign.id, ReadinessItem.kind != "waste"
        )
    ).all()
    for item_id, due, qty, _kind in items:
        late = rng.random() < a.late_readiness
        offset = rng.uniform(1, 40) if late else -rng.uniform(5, 60)
        session.execute(
            update(ReadinessItem)
            .where(ReadinessItem.id == item_id)
            .values(done_at=due + timedelta(minutes=float(offset)), quantity_done=qty)
        )


def _play_site(
    session: Session, campaign: Campaign, site_id: int, rng: np.random.Generator, a: DayAssumptions
) -> tuple[int, int, int, int, list[tuple[datetime, str]]]:
    site = session.get(PlanSite, site_id)
    assert site is not None
    user = create_user(
        session=session, username=f"c{campaign.id}-{site.code}", display_name=f"{site.code} 登记员", role="site_staff", plan_site_id=site.id
    )
    rows = session.execute(
        select(Person.id, PlanBuilding.slot_start_minute, PlanBuilding.slot_minutes, Person.home_sampling)
        .join(PlanBuilding, (PlanBuilding.building_id == Person.building_id) & (PlanBuilding.campaign_id == campaign.id))
        .where(PlanBuilding.plan_site_id == site_id)
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
    for desk, swabs in per_desk.items():
        tube_code, tube_n = None, 0
        for minute, pid in swabs:
            at = t0 + timedelta(minutes=minute)
            if tube_code is None:
                n_tubes += 1
                tube_code = f"T{campaign.id}-{site.id}-{desk}-{n_tubes:05d}"
                field.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code=tube_code, at=at, user_id=user.id, desk_no=desk)
            result = field.scan_person(
                session=session, campaign=campaign, plan_site_id=site.id, tube_code=tube_code,
                person_id=pid, client_uuid=_uid(rng), sampled_at=at, user_id=user.id,
            )
            if result.sealed:
                sealed.append((at, tube_code))
                tube_code = None
        if tube_code is not None:
            at = t0 + timedelta(minutes=swabs[-1][0] + 1)
            field.seal_tube(session=session, campaign=campaign, plan_site_id=site.id, tube_code=tube_code, at=at)
            sealed.append((at, tube_code))

    # Home sampling (上门采样): a team visits the bedridden through the day, one pooled tube at a time.
    home_n = 0
    if home_visits:
        times = np.sort(rng.uniform(30, campaign.deadline_minutes - 30, len(home_visits)))
        tube_code = None
        for minute, pid in zip(times, home_visits, strict=True):
            at = t0 + timedelta(minutes=float(minute))
            if tube_code is None:
                n_tubes += 1
                home_n += 1
                tube_code = f"H{campaign.id}-{site.id}-{home_n:04d}"
                field.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code=tube_code, at=at, user_id=user.id)
            result = field.scan_person(
                session=session, campaign=campaign, plan_site_id=site.id, tube_code=tube_code,
                person_id=pid, client_uuid=_uid(rng), sampled_at=at, user_id=user.id, kind="home",
            )
            if result.sealed:
                sealed.append((at, tube_code))
                tube_code = None
        if tube_code is not None:
            at = t0 + timedelta(minutes=float(times[-1]) + 5)
            field.seal_tube(session=session, campaign=campaign, plan_site_id=site.id, tube_code=tube_code, at=at)
            sealed.append((at, tube_code))

    received = _boxes_and_couriers(session, campaign, site, sealed, rng, a, user.id)
    n_boxes = len({box for box, _at in received.values()})
    audit(session=session, user_id=user.id, action="site.day_played", entity="plan_site", entity_id=site.id, campaign_id=campaign.id,
          detail={"scans": len(arrivals) + len(home_visits), "no_shows": int((~show).sum())})
    at_lab = [(received[code][1], code) for _at, code in sealed]
    return len(arrivals) + len(home_visits), int((~show).sum()), n_tubes, n_boxes, at_lab


def _boxes_and_couriers(
    session: Session, campaign: Campaign, site: PlanSite, sealed: list[tuple[datetime, str]],
    rng: np.random.Generator, a: DayAssumptions, user_id: int,
) -> dict[str, tuple[str, datetime]]:
    """Pack sealed tubes in order; a box leaves when full or when the hourly courier calls.

    Returns, per tube code, its box and when the lab signed for it.
    """
    t0 = campaign.starts_at
    n_boxes = 0
    box_code: str | None = None
    in_box: list[str] = []
    received: dict[str, tuple[str, datetime]] = {}
    next_run = t0 + timedelta(minutes=a.courier_every_minutes)

    def send(at: datetime) -> None:
        nonlocal box_code
        assert box_code is not None
        field.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code=box_code,
                        courier_name=f"{site.code} 转运员", at=at, user_id=user_id)
        arrive = at + timedelta(minutes=float(rng.integers(*a.transit_minutes)))
        lab.receive_box(session=session, campaign=campaign, box_code=box_code, at=arrive)
        received.update((code, (box_code, arrive)) for code in in_box)
        box_code = None
        in_box.clear()

    for at, tube_code in sorted(sealed):
        while at >= next_run and box_code is not None:
            send(next_run)
            next_run += timedelta(minutes=a.courier_every_minutes)
        while at >= next_run:
            next_run += timedelta(minutes=a.courier_every_minutes)
        if box_code is None:
            n_boxes += 1
            box_code = f"B{campaign.id}-{site.id}-{n_boxes:04d}"
            field.open_box(session=session, campaign=campaign, plan_site_id=site.id, code=box_code, at=at)
        field.pack_tube(session=session, campaign=campaign, plan_site_id=site.id, box_code=box_code, tube_code=tube_code)
        in_box.append(tube_code)
        if len(in_box) >= campaign.box_size:
            send(at + timedelta(minutes=5))
    if box_code is not None:
        send(max(next_run, sorted(sealed)[-1][0] + timedelta(minutes=5)))
    return received


def _lab_results(
    session: Session, campaign: Campaign, at_lab: list[tuple[datetime, str]], rng: np.random.Generator, a: DayAssumptions
) -> int:
    """The lab reports every tube it signed for; a few pools come back positive."""
    if not at_lab:
        return 0
    positive = set(rng.choice(len(at_lab), size=min(a.positives, len(at_lab)), replace=False).tolist())
    for i, (received_at, code) in enumerate(at_lab):
        result = "positive" if i in positive else "negative"
        when = received_at + timedelta(minutes=float(rng.integers(*a.lab_minutes)))
        lab.record_result(session=session, campaign=campaign, tube_code=code, result=result, at=when,
                          ct_value=float(rng.uniform(25, 35)) if result == "positive" else None)
    return len(positive)
