"""The whole plan of a round for a generated district, timed.

    .venv/bin/python bench/plan.py [--people 1000000] [--sites 1500] [--seed 1] [--time-limit 30]
                                   [--database URL] [--json]

The demo generator gives about 10,500 buildings and 450 candidate sites at a million people
(a school, a square or a car park near every group of housing); the benchmark can scatter more
candidate sites around where people live (``--sites``, default 1,500 in all) to reach the size a
district's planners meet, and ``--sites 0`` plans on the district's own. Beside the time and the
gap it prints the walk: ``max_walk_m`` (over every building served at a site, mobile sites
included), ``walk_p95_m`` (of people), ``beyond_limit`` (buildings whose people walk beyond the
limit: 0 unless a cap was accepted), ``mobile_sites`` and ``home_sampling_buildings`` (buildings
out of reach of every site, sampled at home). ``seconds`` is the time of
``make_plan`` alone (reading the registry, placement, desks, call-up, roster, materials,
storing); generating and loading the district are reported apart.
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

from sweep.config import get_settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.district import _SITE, CandidateSiteRow, District, _lonlat, generate_district
from sweep.demo.load import load_district
from sweep.demo.run import fresh_database
from sweep.plan.planning import make_plan
from sweep.plan.service import create_campaign

_KINDS = ("square", "car_park", "school", "community_centre", "factory_yard")


def add_candidates(district: District, total: int, rng: np.random.Generator) -> int:
    """Scatter candidate sites near people (a building drawn by its population, ±150 m) up to ``total``."""
    more = total - len(district.candidate_sites)
    if more <= 0:
        return 0
    b = district.buildings
    people = np.bincount(district.people.building, minlength=len(b)).astype(float)
    grid_comm = np.array([g.community for g in district.grids])
    picks = rng.choice(len(b), size=more, p=people / people.sum())
    lon0, lat0 = _lonlat(0.0, 0.0)
    for k, i in enumerate(picks.tolist()):
        kind = _KINDS[int(rng.integers(len(_KINDS)))]
        (a_lo, a_hi), per_desk, (d_lo, d_hi) = _SITE[kind]
        area = round(float(rng.uniform(a_lo, a_hi)), -1)
        dx, dy = rng.normal(0.0, 0.15, 2)
        lon, lat = _lonlat(dx, dy)
        comm = int(grid_comm[b.grid[i]])
        district.candidate_sites.append(CandidateSiteRow(
            code=f"X{k + 1:05d}", name=f"备选点{k + 1}", kind=kind, community=comm,
            lon=float(b.lon[i] + lon - lon0), lat=float(b.lat[i] + lat - lat0),
            max_desks=int(np.clip(area // per_desk, d_lo, d_hi)), area_m2=area,
        ))
    return more


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=1500, help="candidate sites in all (more are scattered if needed)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=None, help="placement time limit (default: the setting)")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = get_settings()
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{Path(tmp.name) / 'bench-plan.db'}"

    t = time.perf_counter()
    district = generate_district(people=args.people, seed=args.seed)
    added = add_candidates(district, args.sites, np.random.default_rng(args.seed + 1000))
    fresh_database(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        load_district(conn, district, key=settings.secret_key)
    setup = time.perf_counter() - t

    factory = make_session_factory(engine)
    t = time.perf_counter()
    with unit_of_work(factory) as session:
        campaign = create_campaign(session=session, settings=settings, name="bench", starts_at=datetime(2026, 12, 1, 7))
        outcome = make_plan(session=session, settings=settings, campaign=campaign, time_limit=args.time_limit)
    seconds = time.perf_counter() - t
    engine.dispose()
    summary = outcome.as_json()
    row = {
        "people": args.people,
        "buildings": len(district.buildings),
        "candidate_sites": len(district.candidate_sites),
        "candidate_sites_added": added,
        "seconds": round(seconds, 2),
        "placement_seconds": summary["seconds"],
        "setup_seconds": round(setup, 2),
        **{k: summary[k] for k in ("sites", "desks", "samplers", "mean_walk_m", "walk_p95_m", "max_walk_m", "beyond_limit",
                                   "mobile_sites", "home_sampling_buildings", "objective", "bound", "gap", "status", "method",
                                   "predicted_finish_minutes", "unassigned_buildings")},
    }
    if args.json:
        print(json.dumps(row, ensure_ascii=False))
    else:
        for k, v in row.items():
            print(f"{k:>24}: {v}")


if __name__ == "__main__":
    main()
