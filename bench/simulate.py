"""The simulated day of a generated district's plan, timed.

    .venv/bin/python bench/simulate.py [--people 1000000] [--runs 1] [--seed 1] [--json]

The plan is the one ``sweep plan`` makes (``make_plan``) for the demo generator's district, in a
temporary SQLite database, read back as the simulation's input. ``seconds`` is the time of
``simulate_day`` alone (arrivals, desks, tubes, boxes, couriers, the lab, and the tallies);
making the district and its plan is reported apart as ``build_seconds``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweep.config import Settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.district import generate_district
from sweep.demo.load import load_district
from sweep.demo.run import fresh_database
from sweep.plan.planning import make_plan
from sweep.plan.service import create_campaign
from sweep.plan.simulation import day_input
from sweep.simulate.model import DayInput, DayModel
from sweep.simulate.montecarlo import simulate_day


def planned_day(people: int, seed: int) -> tuple[DayInput, Settings]:
    """The day of the plan ``make_plan`` makes for a generated district, in a temporary database."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench-simulate.db'}"
        settings = Settings(database_url=url)
        fresh_database(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            load_district(conn, generate_district(people=people, seed=seed), key=settings.secret_key)
        with unit_of_work(make_session_factory(engine)) as session:
            campaign = create_campaign(session=session, settings=settings, name="bench", starts_at=datetime(2026, 12, 1, 7))
            make_plan(session=session, settings=settings, campaign=campaign)
            day = day_input(session=session, campaign=campaign)
        engine.dispose()
    return day, settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="Print one JSON object (the default output too).")
    args = parser.parse_args()

    t = time.perf_counter()
    day, settings = planned_day(args.people, args.seed)
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
