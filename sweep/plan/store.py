"""Writing a made plan into the round's tables: sites, buildings, shifts, readiness items, the run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sweep.config import Settings
from sweep.optimize import callup as callup_mod
from sweep.optimize import materials as mat
from sweep.optimize.queueing import DeskSizing
from sweep.optimize.roster import Roster
from sweep.plan.models import Campaign, PlanBuilding, PlanRun, PlanSite, ReadinessItem, Shift
from sweep.registry.models import CandidateSite, Community

if TYPE_CHECKING:
    from sweep.plan.inputs import Registry
    from sweep.plan.planning import PlanOutcome


def delete_plan(*, session: Session, campaign: Campaign) -> None:
    for table in (ReadinessItem, Shift, PlanBuilding, PlanSite, PlanRun):
        session.execute(delete(table).where(table.campaign_id == campaign.id))


def write_sites(*, session: Session, campaign: Campaign, reg: Registry, opened: np.ndarray, desks: np.ndarray,
                load: np.ndarray, sizing: list[DeskSizing], calls: callup_mod.Callup, b_site: np.ndarray,
                b_walk: np.ndarray, fixed: np.ndarray) -> list[PlanSite]:
    office_of = dict(session.execute(select(Community.id, Community.office_id)).all())
    served = (b_site >= 0) & (reg.walk_in > 0)
    walked = np.bincount(b_site[served], weights=(b_walk * reg.walk_in)[served], minlength=len(opened))
    longest = np.zeros(len(opened))
    np.maximum.at(longest, b_site[served], b_walk[served])
    mobile = reg.site_mobile if reg.site_mobile is not None else np.zeros(len(reg.site_id), dtype=bool)
    rows = []
    for k, s in enumerate(opened.tolist()):
        z = sizing[k]
        rows.append(PlanSite(
            campaign_id=campaign.id, candidate_site_id=int(reg.site_id[s]), office_id=office_of[int(reg.site_community[s])],
            code=reg.site_code[s], desks=int(desks[k]), expected_people=int(load[k]), fixed=bool(fixed[s]),
            key_slot_minutes=int(calls.key_slot_minutes[k]), home_teams=int(calls.home_teams[k]),
            mean_walk_m=round(float(walked[k] / load[k]), 1) if load[k] else 0.0, max_walk_m=round(float(longest[k]), 1),
            mobile=bool(mobile[s]),
            mean_wait_minutes=round(float(min(z.mean_wait_minutes, 1e6)), 2), queue_p95=int(min(z.queue_p95, 10**6)),
            queue_room=int(z.queue_room),
        ))
    session.add_all(rows)
    session.flush()
    return rows


def site_list(*, session: Session, reg: Registry, opened: np.ndarray, site_rows: list[PlanSite]) -> list[dict[str, Any]]:
    """The opened sites as the plan's summary lists them."""
    kinds = dict(session.execute(select(CandidateSite.id, CandidateSite.kind)
                                 .where(CandidateSite.id.in_([ps.candidate_site_id for ps in site_rows]))).all())
    return [
        {"id": ps.id, "code": ps.code, "name": reg.site_name[int(s)], "kind": kinds.get(ps.candidate_site_id, ""),
         "mobile": ps.mobile, "desks": ps.desks, "people": ps.expected_people, "home_teams": ps.home_teams,
         "mean_walk_m": ps.mean_walk_m, "max_walk_m": ps.max_walk_m}
        for ps, s in zip(site_rows, opened.tolist(), strict=True)
    ]


def write_buildings(*, session: Session, campaign: Campaign, reg: Registry, site_rows: list[PlanSite], b_site: np.ndarray,
                    b_walk: np.ndarray, calls: callup_mod.Callup, beyond: np.ndarray) -> None:
    rows = [
        {
            "campaign_id": campaign.id,
            "building_id": int(reg.building_id[b]),
            "plan_site_id": site_rows[int(b_site[b])].id,
            "slot_start_minute": int(calls.slot_start[b]),
            "slot_minutes": int(calls.slot_minutes[b]),
            "people": int(reg.walk_in[b]),
            "walk_m": round(float(b_walk[b]), 1),
            "key_people": int(reg.key_people[b]),
            "home_people": int(reg.home_people[b]),
            "home_visit_minute": None if calls.home_visit_minute[b] < 0 else int(calls.home_visit_minute[b]),
            "beyond_walk_limit": bool(beyond[b]),
        }
        for b in np.flatnonzero(b_site >= 0).tolist()
    ]
    if rows:
        session.execute(PlanBuilding.__table__.insert(), rows)


def write_roster(*, session: Session, campaign: Campaign, site_rows: list[PlanSite], rost: Roster) -> None:
    rows = [
        {
            "campaign_id": campaign.id, "plan_site_id": site_rows[d.post.site].id, "staff_id": d.staff_id,
            "role": d.post.role.value, "desk_no": d.post.desk_no, "starts_minute": d.post.starts_minute,
            "ends_minute": d.post.ends_minute,
        }
        for d in rost.duties
    ]
    if rows:
        session.execute(Shift.__table__.insert(), rows)


def write_readiness(*, session: Session, campaign: Campaign, settings: Settings, site_rows: list[PlanSite],
                    needs: list[mat.SiteNeeds], calls: callup_mod.Callup) -> None:
    """Materials due at T−2h, staff arrivals, disinfection rounds and waste pickups: the readiness items."""
    t0 = campaign.starts_at
    items: list[dict[str, Any]] = []
    slot = settings.slot_minutes
    for k, ps in enumerate(site_rows):
        for line in mat.materials(needs[k], pool_size=campaign.pool_size, box_size=campaign.box_size,
                                  spare=settings.spare_fraction, ready_before_minutes=campaign.ready_before_minutes):
            items.append(_item(campaign, ps, "materials", line.item, t0 + timedelta(minutes=line.due_minute), line.quantity))
        busy = np.flatnonzero(calls.arrivals[k] > 1e-9)
        last = int((busy[-1] + 1) * slot) if len(busy) else 0
        for ev in mat.timeline(needs[k], window_minutes=campaign.deadline_minutes,
                               ready_before_minutes=campaign.ready_before_minutes,
                               staff_ready_before_minutes=settings.staff_ready_before_minutes,
                               rotation_minutes=settings.sampler_rotation_minutes,
                               sample_wait_limit_minutes=settings.sample_wait_limit_minutes, last_slot_end=last):
            if ev.kind in ("staff", "disinfection", "waste"):
                items.append(_item(campaign, ps, ev.kind, ev.label, t0 + timedelta(minutes=ev.minute), ev.quantity))
    if items:
        session.execute(ReadinessItem.__table__.insert(), items)


def _item(campaign: Campaign, ps: PlanSite, kind: str, label: str, due: datetime, qty: int | None) -> dict[str, Any]:
    return {"campaign_id": campaign.id, "plan_site_id": ps.id, "kind": kind, "label": label, "due_at": due, "quantity_planned": qty}


def write_run(*, session: Session, campaign: Campaign, outcome: PlanOutcome, settings: Settings, target_sites: int | None) -> PlanRun:
    report = outcome.as_json()
    report["parameters"] = {
        "max_walk_m": settings.max_walk_m, "slot_minutes": settings.slot_minutes,
        "desk_people_per_hour": settings.desk_people_per_hour, "wait_target_minutes": settings.wait_target_minutes,
        "sampler_rotation_minutes": settings.sampler_rotation_minutes,
        "sample_wait_limit_minutes": settings.sample_wait_limit_minutes,
        "staff_ready_before_minutes": settings.staff_ready_before_minutes, "spare_fraction": settings.spare_fraction,
        "target_sites": target_sites,
    }
    run = PlanRun(
        campaign_id=campaign.id, made_at=datetime.now().replace(microsecond=0), method=outcome.method[:80],
        status=outcome.status, objective=float(outcome.objective), bound=float(outcome.bound), gap=float(outcome.gap),
        seconds=float(outcome.seconds), report=json.dumps(report, ensure_ascii=False),
    )
    session.add(run)
    session.flush()
    return run
