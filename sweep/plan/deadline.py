"""Check a stored plan against the deadline by simulation, and add desks where a site falls short.

The planner sizes desks by queueing formulas; the day has late comers, rotations and breaks that
the formulas leave out. Each site must finish by the deadline in at least ``sim_p_target`` of
simulated days (默认0.95); where it does not, desks are added up to what its space allows, and
what was changed is said.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import update
from sqlalchemy.orm import Session

from sweep.config import Settings
from sweep.plan.models import Campaign, PlanSite
from sweep.plan.simulation import day_input
from sweep.simulate.model import DayModel
from sweep.simulate.sizing import desks_to_meet_deadline, p_on_time_by_site


@dataclass(frozen=True)
class DeskChange:
    site: str
    desks_before: int
    desks_after: int
    p_before: float
    p_after: float

    @property
    def met(self) -> bool:
        return self.desks_after > self.desks_before


@dataclass(frozen=True)
class DeadlineCheck:
    p_target: float
    runs: int
    p_by_site: dict[str, float]
    changes: list[DeskChange]
    short: list[DeskChange]  # sites that stay below the target even at their most desks

    @property
    def p_all_sites(self) -> float:
        """The chance that every site makes it, taking the sites as independent."""
        return float(np.prod(list(self.p_by_site.values()))) if self.p_by_site else 1.0

    def as_json(self) -> dict[str, object]:
        return {
            "p_target": self.p_target,
            "runs": self.runs,
            "p_min_site": round(min(self.p_by_site.values()), 4) if self.p_by_site else 1.0,
            "p_all_sites": round(self.p_all_sites, 4),
            "desks_added": [c.__dict__ for c in self.changes if c.met],
            "still_short": [c.__dict__ for c in self.short],
        }


def check_deadline(*, session: Session, settings: Settings, campaign: Campaign, rng: np.random.Generator) -> DeadlineCheck:
    day = day_input(session=session, campaign=campaign)
    model = DayModel.from_settings(settings)
    runs, target = settings.sim_runs, settings.sim_p_target
    p = p_on_time_by_site(day.sites, rng=rng, model=model, deadline_minutes=day.deadline_minutes, pool_size=day.pool_size, runs=runs)
    p_by_site = {s.code: float(x) for s, x in zip(day.sites, p, strict=True)}
    changes, short = [], []
    for site, p_before in zip(day.sites, p, strict=True):
        if p_before >= target:
            continue
        desks, p_after = desks_to_meet_deadline(site, p_target=target, rng=rng, max_desks=site.max_desks, model=model,
                                                deadline_minutes=day.deadline_minutes, pool_size=day.pool_size, runs=runs)
        change = DeskChange(site.code, site.desks, desks, round(float(p_before), 4), round(float(p_after), 4))
        if desks > site.desks:
            session.execute(
                update(PlanSite).where(PlanSite.campaign_id == campaign.id, PlanSite.code == site.code).values(desks=desks)
            )
            changes.append(change)
            p_by_site[site.code] = float(p_after)
            site = replace(site, desks=desks)
        if p_after < target:
            short.append(change)
    return DeadlineCheck(target, runs, p_by_site, changes, short)


__all__ = ["DeadlineCheck", "DeskChange", "check_deadline"]
