"""What the dashboard shows, gathered in a few set-based queries so it can refresh every few seconds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import Session

from sweep.auth.models import User
from sweep.auth.scope import Scope
from sweep.coverage.service import round_figures
from sweep.field.models import Sample
from sweep.field.readiness import flagged, late_by
from sweep.lab.custody import custody_flags
from sweep.plan.models import Campaign, PlanBuilding, PlanSite, ReadinessItem
from sweep.registry.models import CandidateSite, Community, Grid, Person

# A site whose sampled count is this close to its expected count, after its last call-up slot,
# has done its walk-in work; the rest are the missing list's business.
DONE_FRACTION = 0.97


@dataclass(frozen=True)
class SiteProgress:
    id: int
    code: str
    name: str
    community: str
    lon: float
    lat: float
    desks: int
    expected: int
    sampled: int
    last_slot_end_minute: int
    last_scan: datetime | None
    readiness_done: int
    readiness_total: int
    readiness_late: int
    state: str  # not_ready | ready | sampling | behind | done


def clock(*, session: Session, campaign: Campaign) -> datetime:
    """The round's 'now': the wall clock, or the latest scan if a replay runs ahead of it."""
    latest = session.scalar(select(func.max(Sample.sampled_at)).where(Sample.campaign_id == campaign.id))
    now = datetime.now()
    return max(now, latest) if latest else now


def _state(*, expected: int, sampled: int, ready: bool, minute: float, last_slot_end: int, deadline: int) -> str:
    if sampled == 0:
        return "ready" if ready else "not_ready"
    if sampled >= expected * DONE_FRACTION and minute >= last_slot_end:
        return "done"
    # Behind: fewer sampled than the call-up schedule has called in by now, by more than a slot's worth.
    called = expected * min(1.0, max(0.0, minute) / max(1, last_slot_end))
    if minute > deadline or sampled < called * 0.85:
        return "behind"
    return "sampling"


def site_samples(*, session: Session, campaign: Campaign, last_kind: str | None = None) -> tuple[dict[int, int], dict[int, datetime]]:
    """Per site, in one pass over the samples: people sampled (retests apart), and the time of the
    last swab (of ``last_kind`` only, when given)."""
    last: ColumnElement[datetime] = func.max(Sample.sampled_at)
    if last_kind is not None:
        last = last.filter(Sample.kind == last_kind)
    rows = session.execute(
        select(Sample.plan_site_id, func.count().filter(Sample.kind != "retest"), last)
        .where(Sample.campaign_id == campaign.id)
        .group_by(Sample.plan_site_id)
    ).all()
    return {site: n for site, n, _ in rows}, {site: at for site, _, at in rows if at is not None}


def last_slot_ends(*, session: Session, campaign: Campaign) -> dict[int, int]:
    """Per site, the minute its last call-up slot ends."""
    return dict(
        session.execute(
            select(PlanBuilding.plan_site_id, func.max(PlanBuilding.slot_start_minute + PlanBuilding.slot_minutes))
            .where(PlanBuilding.campaign_id == campaign.id)
            .group_by(PlanBuilding.plan_site_id)
        ).all()
    )


def round_sites(*, session: Session, campaign: Campaign) -> Sequence[Row[int, str, str, str, float, float, int, int]]:
    """The round's sites by code: id, code, name, community, where, desks and the people expected there."""
    return session.execute(
        select(PlanSite.id, PlanSite.code, CandidateSite.name, Community.name, CandidateSite.lon, CandidateSite.lat, PlanSite.desks,
               PlanSite.expected_people)
        .join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .join(Community, Community.id == CandidateSite.community_id)
        .where(PlanSite.campaign_id == campaign.id)
        .order_by(PlanSite.code)
    ).all()


def site_progress(*, session: Session, campaign: Campaign, now: datetime) -> list[SiteProgress]:
    cid = campaign.id
    sampled, last_scan = site_samples(session=session, campaign=campaign)
    slot_end = last_slot_ends(session=session, campaign=campaign)
    readiness: dict[int, tuple[int, int, int, int]] = {}
    for site_id, total, done, late, pending in session.execute(
        select(
            ReadinessItem.plan_site_id,
            func.count(),
            func.count(ReadinessItem.done_at),
            func.count().filter(late_by(now)),
            # Ready means everything due by the start is in; waste is collected afterwards.
            func.count().filter(ReadinessItem.done_at.is_(None), ReadinessItem.due_at <= campaign.starts_at),
        )
        .where(ReadinessItem.campaign_id == cid)
        .group_by(ReadinessItem.plan_site_id)
    ):
        readiness[site_id] = (total, done, late, pending)
    minute = (now - campaign.starts_at).total_seconds() / 60
    out = []
    for site_id, code, name, community, lon, lat, desks, expected in round_sites(session=session, campaign=campaign):
        total, done, late, pending = readiness.get(site_id, (0, 0, 0, 0))
        n = sampled.get(site_id, 0)
        end = int(slot_end.get(site_id, campaign.deadline_minutes))
        out.append(
            SiteProgress(
                id=site_id, code=code, name=name, community=community, lon=lon, lat=lat, desks=desks,
                expected=expected, sampled=n, last_slot_end_minute=end, last_scan=last_scan.get(site_id),
                readiness_done=done, readiness_total=total, readiness_late=late,
                state=_state(expected=expected, sampled=n, ready=pending == 0, minute=minute, last_slot_end=end, deadline=campaign.deadline_minutes),
            )
        )
    return out


def grid_coverage_geojson(*, session: Session, campaign: Campaign) -> dict:
    """The district's own grid polygons with expected and sampled counts: the coverage layer."""
    sampled = (
        select(Person.grid_id, func.count().label("n"))
        .join(Sample, (Sample.person_id == Person.id) & (Sample.campaign_id == campaign.id) & (Sample.kind != "retest"))
        .group_by(Person.grid_id)
        .subquery()
    )
    expected = select(Person.grid_id, func.count().label("n")).group_by(Person.grid_id).subquery()
    rows = session.execute(
        select(Grid.id, Grid.code, Grid.name, Grid.geometry, expected.c.n, func.coalesce(sampled.c.n, 0))
        .join(expected, expected.c.grid_id == Grid.id)
        .outerjoin(sampled, sampled.c.grid_id == Grid.id)
    ).all()
    features = []
    for gid, code, name, geometry, n_expected, n_sampled in rows:
        if not geometry:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(geometry),
                "properties": {"id": gid, "code": code, "name": name, "expected": n_expected, "sampled": n_sampled,
                               "fraction": round(n_sampled / n_expected, 4) if n_expected else 1.0},
            }
        )
    return {"type": "FeatureCollection", "features": features}


@dataclass(frozen=True)
class LateItem:
    site_code: str
    kind: str
    label: str
    due_at: datetime
    done_at: datetime | None
    minutes_late: float


def late_readiness(*, session: Session, campaign: Campaign, now: datetime, limit: int = 50) -> list[LateItem]:
    """Readiness items done after their deadline, or still not done past it (四个到位, in red)."""
    return [
        LateItem(s.site_code, s.kind, s.label, s.due_at, s.done_at, ((s.done_at or now) - s.due_at) / timedelta(minutes=1))
        # The board is the round's, site by site, with no one's personal data: every site.
        for s in flagged(session=session, campaign=campaign, now=now, scope=Scope.system(), late_only=True, limit=limit)
    ]


@dataclass(frozen=True)
class Curve:
    minutes: list[int]
    sampled: list[int]  # cumulative swabs by the end of each step
    called: list[int]  # cumulative people called in by the plan's slots by then


def _minute_bucket(session: Session, start: datetime, step: int) -> ColumnElement[float]:
    """The step a sample falls in, counted in the database (a million rows stay there)."""
    minutes: ColumnElement[float]
    if session.get_bind().dialect.name == "postgresql":
        minutes = func.floor(func.extract("epoch", Sample.sampled_at - start) / 60)
    else:
        minutes = (func.julianday(Sample.sampled_at) - func.julianday(start)) * 1440
    return func.floor(minutes / step)


def progress_curve(*, session: Session, campaign: Campaign, step_minutes: int = 10) -> Curve:
    """Cumulative sampled against the plan's line (people called in by their slots)."""
    steps = np.arange(step_minutes, campaign.deadline_minutes + 120 + 1, step_minutes)
    bucket = _minute_bucket(session, campaign.starts_at, step_minutes).label("bucket")
    per_step = np.zeros(len(steps), dtype=np.int64)
    for b, n in session.execute(
        select(bucket, func.count()).where(Sample.campaign_id == campaign.id, Sample.kind != "retest").group_by(bucket)
    ):
        per_step[int(min(max(b, 0), len(steps) - 1))] += n
    slots = np.array(
        session.execute(
            select(PlanBuilding.slot_start_minute, PlanBuilding.slot_minutes, PlanBuilding.people).where(
                PlanBuilding.campaign_id == campaign.id
            )
        ).all(),
        dtype=float,
    ).reshape(-1, 3)
    # People of a building arrive evenly over its slot.
    share = np.clip((steps[None, :] - slots[:, :1]) / np.maximum(slots[:, 1:2], 1), 0, 1)
    called = (share * slots[:, 2:3]).sum(axis=0).round().astype(np.int64)
    return Curve(minutes=steps.tolist(), sampled=np.cumsum(per_step).tolist(), called=called.tolist())


# A terminal whose scans arrive stamped this far from the server's receipt is named on the dashboard.
SKEW_SHOWN_S = 120
SKEW_SCANS = 2000


@dataclass(frozen=True)
class TerminalSkew:
    site_code: str
    user: str
    skew_s: int  # the terminal's clock minus the server's: positive ahead, negative behind
    scans: int


def clock_skew(*, session: Session, campaign: Campaign) -> list[TerminalSkew]:
    """Each terminal's clock against the server's, from its recent scans: the scan's time (the
    terminal's clock) less the time the server stored it. A queue sent late only makes that smaller,
    so the largest difference of a terminal's scans is its skew, to within the network's delay."""
    rows = session.execute(
        select(PlanSite.code, User.display_name, Sample.sampled_at, Sample.recorded_at)
        .join(PlanSite, PlanSite.id == Sample.plan_site_id).outerjoin(User, User.id == Sample.recorded_by)
        .where(Sample.campaign_id == campaign.id).order_by(Sample.id.desc()).limit(SKEW_SCANS)
    ).all()
    seen: dict[tuple[str, str], list[float]] = {}
    for code, user, sampled, recorded in rows:
        seen.setdefault((code, user or "—"), []).append((sampled - recorded).total_seconds())
    skews = [TerminalSkew(code, user, round(max(diffs)), len(diffs)) for (code, user), diffs in seen.items()]
    return sorted((s for s in skews if abs(s.skew_s) > SKEW_SHOWN_S), key=lambda s: -abs(s.skew_s))


def snapshot(*, session: Session, campaign: Campaign, wait_limit_minutes: int, transit_limit_minutes: int) -> dict[str, Any]:
    """The round at a glance, as the dashboard polls it: figures, sites and their state, late items, the
    chain of custody's red flags, the curve."""
    now = clock(session=session, campaign=campaign)
    fig = round_figures(session=session, campaign=campaign)
    sites = site_progress(session=session, campaign=campaign, now=now)
    return {
        "campaign": {"id": campaign.id, "name": campaign.name, "round_no": campaign.round_no, "status": campaign.status,
                     "starts_at": campaign.starts_at, "deadline_minutes": campaign.deadline_minutes},
        "now": now,
        "minute": round((now - campaign.starts_at).total_seconds() / 60, 1),
        "figures": {**asdict(fig), "coverage": fig.coverage, "finish_minutes": fig.finish_minutes},
        "sites": [asdict(s) for s in sites],
        "states": {state: sum(1 for s in sites if s.state == state) for state in ("not_ready", "ready", "sampling", "behind", "done")},
        "late_items": [asdict(item) for item in late_readiness(session=session, campaign=campaign, now=now)],
        # The dashboard is the round's at a glance, site by site: tube and box codes, no one's personal data.
        "custody": asdict(custody_flags(session=session, campaign=campaign, now=now, wait_limit_minutes=wait_limit_minutes,
                                        transit_limit_minutes=transit_limit_minutes, scope=Scope.system(), limit=20)),
        "curve": asdict(progress_curve(session=session, campaign=campaign)),
        "clock_skew": [asdict(s) for s in clock_skew(session=session, campaign=campaign)],
    }
