"""Backtest of the live forecast: is its 90% band right nine times in ten, and is P(on time) worth having?

    .venv/bin/python bench/forecast.py [--days 40] [--runs 100] [--seed 1] [--people 10000] [--json]

The district and plan are the demo's (``sweep demo``'s generator, loader and planner, in a
temporary SQLite database; ``--people`` and ``--district-seed`` as ``sweep demo --people --seed``).
The default district is 10,000 people (9 sites), not the demo's 50,000: each forecast plays every
site's morning at 14 paces 16 times before the rest of the day, and 160 forecasts of the
50,000 district take too long on a shared two-core machine; 10,000 take a few minutes.
Each of ``--days`` days is then played by the simulation with its own desk paces, drawn from the
day-to-day variation the forecast assumes; at minutes 60, 120, 180 and 240 the forecast is made
from that day's desk scans so far with ``forecast_day`` (what the dashboard calls) and compared
with the day's real finish. ``band_hit_rate`` is the share of days whose real finish fell in the
90% band, per minute; ``brier`` is the Brier score of P(on time) over every day and minute,
``brier_base`` that of always answering the share of these days that were on time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console

from sweep.config import get_settings
from sweep.db import unit_of_work
from sweep.demo.run import prepare
from sweep.plan.models import Campaign
from sweep.plan.simulation import day_input
from sweep.simulate.backtest import backtest
from sweep.simulate.model import DayInput, DayModel


def demo_day(people: int, seed: int) -> DayInput:
    """The plan of the demo's round for a district of ``people``, as the simulation reads it."""
    with tempfile.TemporaryDirectory() as tmp:
        ready = prepare(url=f"sqlite:///{Path(tmp) / 'bench-forecast.db'}", people=people, seed=seed, console=Console(quiet=True))
        try:
            with unit_of_work(ready.factory) as session:
                campaign = session.get(Campaign, ready.campaign_id)
                assert campaign is not None
                return day_input(session=session, campaign=campaign)
        finally:
            ready.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=40, help="Days played and forecast.")
    parser.add_argument("--runs", type=int, default=100, help="Simulated rests of the day per forecast.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the days played and of the forecasts.")
    parser.add_argument("--people", type=int, default=10_000, help="People in the demo district.")
    parser.add_argument("--district-seed", type=int, default=1, help="Seed of the demo district.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object (the default output too).")
    args = parser.parse_args()

    t = time.perf_counter()
    day = demo_day(args.people, args.district_seed)
    build = time.perf_counter() - t
    t = time.perf_counter()
    result = backtest(day, model=DayModel.from_settings(get_settings()), days=args.days, runs=args.runs, seed=args.seed)
    seconds = time.perf_counter() - t
    print(json.dumps({
        "people": args.people,
        "sites": len(day.sites),
        "seed": args.seed,
        **result.as_json(),
        "seconds": round(seconds, 1),
        "build_seconds": round(build, 1),
    }))


if __name__ == "__main__":
    main()
