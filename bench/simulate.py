"""The simulated day of a generated district's plan, timed.

    .venv/bin/python bench/simulate.py [--people 1000000] [--runs 1] [--seed 1] [--json]

The plan is made in memory, without a database: the demo generator's district and the naive
planner (``sweep.optimize.naive``), desks staffed in the default turns. ``seconds`` is the time
of ``simulate_day`` alone (arrivals, desks, tubes, boxes, couriers, the lab, and the tallies);
making the district and its plan is reported apart as ``build_seconds``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweep.config import Settings  # noqa: E402
from sweep.demo.district import generate_district  # noqa: E402
from sweep.optimize.naive import NaiveInput, plan_naive  # noqa: E402
from sweep.simulate.model import DayInput, DayModel, sites_from_assignment  # noqa: E402
from sweep.simulate.montecarlo import simulate_day  # noqa: E402


def plan_in_memory(people: int, seed: int, settings: Settings) -> DayInput:
    district = generate_district(people=people, seed=seed)
    p, b = district.people, district.buildings
    walk_in = np.bincount(p.building[~p.home_sampling], minlength=len(b))
    keep = np.flatnonzero(walk_in > 0)
    sites = district.candidate_sites
    plan = plan_naive(
        NaiveInput(
            building_lon=b.lon[keep], building_lat=b.lat[keep], building_people=walk_in[keep],
            building_grid=b.grid[keep].astype(np.int64),
            site_lon=np.array([s.lon for s in sites]), site_lat=np.array([s.lat for s in sites]),
            site_max_desks=np.array([s.max_desks for s in sites], dtype=np.int64),
            deadline_minutes=settings.deadline_minutes, slot_minutes=settings.slot_minutes,
            desk_people_per_hour=settings.desk_people_per_hour, people_per_desk=settings.people_per_desk,
        )
    )
    return DayInput(
        sites=sites_from_assignment(
            codes=[sites[i].code for i in plan.open_sites], desks=plan.desks, building_site=plan.building_site,
            slot_start=plan.building_slot_start, slot_minutes=plan.building_slot_minutes, people=walk_in[keep],
            max_desks=np.array([sites[i].max_desks for i in plan.open_sites]),
        ),
        deadline_minutes=settings.deadline_minutes,
        pool_size=settings.pool_size,
        box_size=settings.box_size,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="Print one JSON object (the default output too).")
    args = parser.parse_args()

    settings = Settings(database_url="sqlite://")
    t = time.perf_counter()
    day = plan_in_memory(args.people, args.seed, settings)
    build = time.perf_counter() - t
    model = DayModel.from_settings(settings)
    t = time.perf_counter()
    outcome = simulate_day(day, model=model, runs=args.runs, rng=np.random.default_rng(args.seed))
    seconds = time.perf_counter() - t
    called = sum(s.called for s in day.sites)
    print(json.dumps({
        "people": args.people,
        "called": called,
        "sites": len(day.sites),
        "desks": int(sum(s.desks for s in day.sites)),
        "runs": args.runs,
        "seconds": round(seconds, 3),
        "people_days_per_second": round(outcome.people * args.runs / seconds),
        "p_on_time": round(outcome.p_on_time, 4),
        "finish_p50": round(outcome.finish.p50, 1),
        "finish_p95": round(outcome.finish.p95, 1),
        "sites_late_half_the_time": sum(s.p_late >= 0.5 for s in outcome.sites),
        "sample_to_result_mean": round(outcome.sample_to_result.mean, 1),
        "build_seconds": round(build, 3),
    }))


if __name__ == "__main__":
    main()
