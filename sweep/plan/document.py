"""The stored plan of a round, read back for the work-plan page and the exports."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.errors import NotFound
from sweep.optimize import materials as mat
from sweep.plan.models import Campaign, PlanBuilding, PlanRun, PlanSite, ReadinessItem, Shift
from sweep.registry.models import Building, CandidateSite, Community, Grid, Staff
from sweep.roles import ROLE_LABELS_ZH, SiteRole

ROLE_ORDER = [SiteRole.SITE_LEADER, SiteRole.REGISTRAR, SiteRole.SAMPLER, SiteRole.GUIDE, SiteRole.ORDER_KEEPER,
              SiteRole.DISINFECTOR, SiteRole.COURIER]


@dataclass
class SiteView:
    id: int
    code: str
    name: str
    kind: str
    community: str
    lon: float
    lat: float
    desks: int
    max_desks: int
    people: int
    fixed: bool
    mean_walk_m: float
    mean_wait_minutes: float
    queue_p95: int
    queue_room: int
    key_slot_minutes: int
    home_teams: int
    mobile: bool = False
    max_walk_m: float = 0.0
    buildings: list[dict[str, Any]] = field(default_factory=list)
    staff: dict[str, int] = field(default_factory=dict)
    materials: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def material(self, label: str) -> int | None:
        return next((m["quantity"] for m in self.materials if m["label"] == label), None)


@dataclass
class PlanDocument:
    campaign: Campaign
    report: dict[str, Any]
    sites: list[SiteView]
    made_at: datetime

    def material_labels(self) -> list[str]:
        """Every material line of any site, in one order: a site without single tubes, say, leaves its cell empty."""
        seen = {m["label"]: k for s in reversed(self.sites) for k, m in enumerate(s.materials)}
        return sorted(seen, key=lambda label: (mat.line_rank(label), seen[label], label))

    def clock(self, minute: int) -> str:
        return (self.campaign.starts_at + timedelta(minutes=minute)).strftime("%H:%M")

    def site_label(self, site: SiteView) -> str:
        """A site's name as residents and staff read it: a mobile site says so."""
        return f"{site.name}（流动采样点）" if site.mobile else site.name

    def slot(self, start: int, length: int) -> str:
        return f"{self.clock(start)}–{self.clock(start + length)}"


def load_document(*, session: Session, campaign: Campaign) -> PlanDocument:
    """Everything the work plan shows, read from the round's tables."""
    run = session.scalar(select(PlanRun).where(PlanRun.campaign_id == campaign.id))
    if run is None:
        raise NotFound("plan", f"第{campaign.round_no}轮还没有方案，请先运行 sweep plan (campaign {campaign.id} has no plan: run `sweep plan`)")
    report = json.loads(run.report)
    rows = session.execute(
        select(PlanSite, CandidateSite.name, CandidateSite.kind, CandidateSite.lon, CandidateSite.lat, CandidateSite.max_desks,
               Community.name)
        .join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .join(Community, Community.id == CandidateSite.community_id)
        .where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.code)
    ).all()
    sites = {
        ps.id: SiteView(ps.id, ps.code, name, kind, comm, lon, lat, ps.desks, maxd, ps.expected_people, ps.fixed,
                        ps.mean_walk_m, ps.mean_wait_minutes, ps.queue_p95, ps.queue_room, ps.key_slot_minutes, ps.home_teams,
                        ps.mobile, ps.max_walk_m)
        for ps, name, kind, lon, lat, maxd, comm in rows
    }
    grid_names = {g: f"{c}{n}" for g, n, c in session.execute(
        select(Grid.id, Grid.name, Community.name).join(Community, Community.id == Grid.community_id))}
    for pb, code, name, lon, lat, grid_id, grid_code in session.execute(
        select(PlanBuilding, Building.code, Building.name, Building.lon, Building.lat, Building.grid_id, Grid.code)
        .join(Building, Building.id == PlanBuilding.building_id).join(Grid, Grid.id == Building.grid_id)
        .where(PlanBuilding.campaign_id == campaign.id)
        .order_by(PlanBuilding.slot_start_minute, Building.grid_id, Building.code)
    ):
        sites[pb.plan_site_id].buildings.append({
            "code": code, "name": name, "lon": lon, "lat": lat, "grid": grid_code, "grid_name": grid_names.get(grid_id, ""),
            "people": pb.people, "key_people": pb.key_people, "home_people": pb.home_people,
            "slot_start": pb.slot_start_minute, "slot_minutes": pb.slot_minutes, "walk_m": pb.walk_m,
            "home_visit_minute": pb.home_visit_minute, "beyond": pb.beyond_walk_limit,
        })
    counts: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for site_id, role, staff_id in session.execute(
        select(Shift.plan_site_id, Shift.role, Shift.staff_id).where(Shift.campaign_id == campaign.id)
    ):
        counts[site_id][role].add(staff_id)
    for site_id, roles in counts.items():
        sites[site_id].staff = {r.value: len(roles.get(r.value, ())) for r in ROLE_ORDER}
    for item in session.scalars(select(ReadinessItem).where(ReadinessItem.campaign_id == campaign.id).order_by(ReadinessItem.due_at)):
        entry = {"kind": item.kind, "label": item.label, "due_at": item.due_at, "quantity": item.quantity_planned}
        (sites[item.plan_site_id].materials if item.kind == "materials" else sites[item.plan_site_id].events).append(entry)
    params = report.get("parameters", {})
    every = mat.courier_every(int(params.get("sample_wait_limit_minutes", 120)))
    for s in sites.values():
        for k, t in enumerate([*list(range(every, campaign.deadline_minutes, every)), campaign.deadline_minutes + mat.FILL_MARGIN_MINUTES], 1):
            s.events.append({"kind": "courier", "label": f"转运 courier run {k}", "due_at": campaign.starts_at + timedelta(minutes=t),
                             "quantity": None})
        s.events.sort(key=lambda e: e["due_at"])
    return PlanDocument(campaign, report, list(sites.values()), run.made_at)


def roster_rows(*, session: Session, campaign: Campaign) -> dict[str, list[dict[str, Any]]]:
    """Per site code, the named duties of the day in role order."""
    rank = {r.value: i for i, r in enumerate(ROLE_ORDER)}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for code, role, desk, start, end, name, phone, kind, comm in session.execute(
        select(PlanSite.code, Shift.role, Shift.desk_no, Shift.starts_minute, Shift.ends_minute, Staff.name, Staff.phone,
               Staff.kind, Community.name)
        .join(PlanSite, PlanSite.id == Shift.plan_site_id).join(Staff, Staff.id == Shift.staff_id)
        .join(Community, Community.id == Staff.community_id)
        .where(Shift.campaign_id == campaign.id)
    ):
        out[code].append({"role": role, "role_zh": ROLE_LABELS_ZH[SiteRole(role)], "desk": desk, "start": start, "end": end,
                          "name": name, "phone": phone, "kind": kind, "community": comm})
    for rows in out.values():
        rows.sort(key=lambda r: (rank[r["role"]], r["desk"] if r["desk"] is not None else math.inf, r["start"], r["name"]))
    return dict(sorted(out.items()))
