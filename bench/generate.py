"""Generate a synthetic district and load it into an empty database; print the timings as JSON.

    python bench/generate.py --people 1000000 --db sqlite --json
    python bench/generate.py --people 1000000 --db postgresql --json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from fieldkit import fresh_database

from sweep import migrate
from sweep.db import make_engine
from sweep.demo.district import generate_district
from sweep.demo.load import load_district


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    with fresh_database(args.db) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        district = generate_district(people=args.people, seed=args.seed)
        t1 = time.perf_counter()
        with engine.begin() as conn:
            load_district(conn, district, key="bench-secret")
        t2 = time.perf_counter()
        engine.dispose()
    result = {
        "db": args.db,
        "people": args.people,
        "generate_s": round(t1 - t0, 2),
        "load_s": round(t2 - t1, 2),
        "seconds": round(t2 - t0, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>12}: {value}")
    sys.exit(0)


if __name__ == "__main__":
    main()
