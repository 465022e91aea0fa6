"""Carry out a scheduled day through the service layer, site by site, the lab last.

Every write goes through the same service functions the API uses (scans through the one scan
path, in batches as a terminal sends its queue), so the figures at the end are the round's own.
One transaction a site.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from sweep.auth.service import audit, create_user
from sweep.config import get_settings
from sweep.db import unit_of_work
from sweep.demo.day import DayAssumptions, DaySchedule, Event, schedule_day
from sweep.errors import DomainError
from sweep.field import service as field
from sweep.field.scan import ScanIn, scan_batch
from sweep.field.tubes import TubeOpen, open_tubes
from sweep.field.walkins import WalkInIn
from sweep.lab import service as lab
from sweep.plan.models import Campaign, PlanSite, ReadinessItem

Progress = Callable[[int, int], None]
LAB_ACTIONS = ("result", "inspect")  # the lab and the supervision team are not a site's terminal
SWAB_ACTIONS = ("open_tube", "scan")
BATCH = 500  # a terminal's queue goes in slices of this many (the API's most)


@dataclass(frozen=True)
class PlayResult:
    scans: int
    no_shows: int
    tubes: int
    boxes: int
    positives: int


def play_day(
    *,
    factory: sessionmaker[Session],
    campaign_id: int,
    rng: np.random.Generator,
    assumptions: DayAssumptions | None = None,
    progress: Progress | None = None,
) -> PlayResult:
    assumptions = assumptions or DayAssumptions()
    with unit_of_work(factory) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        schedule = schedule_day(session=session, campaign=campaign, rng=rng, assumptions=assumptions)
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="running"))
    apply_schedule(factory=factory, schedule=schedule, progress=progress)
    with unit_of_work(factory) as session:
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="finished"))
    return PlayResult(
        scans=schedule.scans, no_shows=schedule.no_shows, tubes=schedule.tubes, boxes=schedule.boxes, positives=schedule.positives
    )


def apply_schedule(*, factory: sessionmaker[Session], schedule: DaySchedule, progress: Progress | None = None) -> None:
    """Each site's day in one unit of work: its tubes and scans first, in batches as a terminal sends
    them, through the one scan path; then its seals, boxes and hand-overs; the lab last."""
    by_site: dict[int, list[Event]] = defaultdict(list)
    lab_events: list[Event] = []
    for event in schedule.sorted():
        (lab_events if event.action in LAB_ACTIONS else by_site[event.site_id]).append(event)
    total = len(by_site)
    for done, (site_id, events) in enumerate(sorted(by_site.items()), start=1):
        with unit_of_work(factory) as session:
            campaign = session.get(Campaign, schedule.campaign_id)
            site = session.get(PlanSite, site_id)
            assert campaign is not None and site is not None
            user = create_user(
                session=session, username=f"c{campaign.id}-{site.code}", display_name=f"{site.code} 登记员",
                role="site_leader", plan_site_id=site.id,
            )
            swabs = [e for e in events if e.action in SWAB_ACTIONS]
            for start in range(0, len(swabs), BATCH):
                _send_batch(session, campaign, site_id, swabs[start : start + BATCH], user.id)
            for run in _runs(e for e in events if e.action not in SWAB_ACTIONS):
                if run[0].action == "pack":
                    field.pack_tubes(session=session, campaign=campaign, plan_site_id=site_id, box_code=run[0].args["box_code"],
                                     packs=[field.Pack(e.args["tube_code"], e.at) for e in run], user_id=user.id)
                else:
                    _apply(session, campaign, run[0], user.id)
            audit(session=session, user_id=user.id, action="site.day_played", entity="plan_site", entity_id=site.id,
                  campaign_id=campaign.id, detail={"events": len(events)})
        if progress:
            progress(done, total)
    with unit_of_work(factory) as session:
        campaign = session.get(Campaign, schedule.campaign_id)
        assert campaign is not None
        for event in lab_events:
            _apply(session, campaign, event, None)


def _runs(events: Iterable[Event]) -> Iterator[list[Event]]:
    """The events one by one, but the tubes packed into one box one after another together, as a
    box filled at the end of a desk's hour goes in one request."""
    run: list[Event] = []
    for event in events:
        if run and not (event.action == "pack" == run[0].action and event.args["box_code"] == run[0].args["box_code"]):
            yield run
            run = []
        run.append(event)
    if run:
        yield run


def _send_batch(session: Session, campaign: Campaign, site_id: int, events: list[Event], user_id: int) -> None:
    """Tubes opened and people scanned, as a terminal sends its queue; the demo's day has no bad scans."""
    opened = open_tubes(session=session, campaign=campaign, plan_site_id=site_id, user_id=user_id,
                        tubes=[TubeOpen(e.args["code"], e.at, e.args["desk"], e.args["kind"]) for e in events if e.action == "open_tube"])
    scans = [ScanIn(e.args["client_uuid"], e.args["tube_code"], e.at, kind=e.args["kind"], person_id=e.args.get("person_id"),
                    walk_in=WalkInIn(**e.args["walk_in"]) if "walk_in" in e.args else None)
             for e in events if e.action == "scan"]
    outcomes = scan_batch(session=session, campaign=campaign, plan_site_id=site_id, key=get_settings().secret_key, user_id=user_id,
                          scans=scans)
    refused = [o for o in opened if isinstance(o, DomainError)] + [o.error for o in outcomes if o.error is not None]
    if refused:
        raise refused[0]


def _apply(session: Session, campaign: Campaign, e: Event, user_id: int | None) -> None:
    a, site = e.args, e.site_id
    match e.action:
        case "check_in":
            session.execute(
                update(ReadinessItem).where(ReadinessItem.id == a["item_id"]).values(done_at=e.at, quantity_done=a["quantity"], done_by=user_id)
            )
        case "seal_tube":
            field.seal_tube(session=session, campaign=campaign, plan_site_id=site, tube_code=a["code"], at=e.at, user_id=user_id)
        case "open_box":
            field.open_box(session=session, campaign=campaign, plan_site_id=site, code=a["code"], at=e.at, user_id=user_id)
        case "hand_over":
            field.hand_over(session=session, campaign=campaign, plan_site_id=site, box_code=a["box_code"], courier_staff_id=a["courier"],
                            at=e.at, user_id=user_id)
        case "receive":
            lab.receive_box(session=session, campaign=campaign, box_code=a["box_code"], at=e.at)
        case "result":
            lab.record_result(session=session, campaign=campaign, tube_code=a["tube_code"], result=a["result"], at=e.at, ct_value=a["ct_value"])
        case "inspect":
            from sweep.inspect import service as inspect

            inspect.record_inspection(
                session=session, campaign=campaign, plan_site_id=site, template_code="site", visited_at=e.at,
                checks=[inspect.CheckIn(**c) for c in a["checks"]], findings=[inspect.FindingIn(**f) for f in a["findings"]],
            )
        case _:
            raise ValueError(f"unknown action {e.action!r}")
