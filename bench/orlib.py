"""OR-Library p-median problems through Sweep's own placement code.

    .venv/bin/python bench/orlib.py [--json] [--only pmed1,pmedcap1-3] [--time-limit S] [--dir PATH]

pmed1-40 (Beasley 1990, uncapacitated; graph distances by all-pairs shortest paths, the last
duplicate edge wins) and pmedcap1 (Osman & Christofides 1994, 20 capacitated problems,
Euclidean distances rounded down). Prints per instance the objective, the lower bound, the
published optimum and the seconds spent in the placement solver (reading and the shortest
paths are timed apart, as ``read_seconds``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweep.optimize.placement import PlacementProblem, solve

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "orlib"


def read_pmed(path: Path) -> tuple[np.ndarray, int]:
    """All-pairs shortest-path distances and p."""
    numbers = path.read_text().split()
    n, e, p = int(numbers[0]), int(numbers[1]), int(numbers[2])
    edges = np.array(numbers[3:3 + 3 * e], dtype=np.int64).reshape(e, 3)
    d = np.full((n, n), np.inf)
    # The last duplicate edge wins (Beasley's convention), in whichever direction it is written.
    for i, j, c in edges.tolist():
        d[i - 1, j - 1] = d[j - 1, i - 1] = c
    np.fill_diagonal(d, 0)
    for k in range(n):
        np.minimum(d, d[:, k, None] + d[None, k, :], out=d)
    return d, p


def read_optima(path: Path) -> dict[str, int]:
    out = {}
    for line in path.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def read_pmedcap(path: Path) -> list[tuple[int, int, int, int, np.ndarray, np.ndarray]]:
    """(number, best, n, p, capacity, xy+demand rows) for each of the 20 problems."""
    tokens = [int(t) for t in path.read_text().split()]
    count, pos, problems = tokens[0], 1, []
    for _ in range(count):
        number, best, n, p, cap = tokens[pos:pos + 5]
        pos += 5
        rows = np.array(tokens[pos:pos + 4 * n], dtype=np.int64).reshape(n, 4)
        pos += 4 * n
        problems.append((number, best, n, p, cap, rows))
    return problems


def dense_problem(dist: np.ndarray, demand: np.ndarray, p: int, capacity: float | None) -> PlacementProblem:
    """Every point a client and a candidate; the objective counts distance once per client."""
    n, m = dist.shape
    client, site = np.divmod(np.arange(n * m), m)
    return PlacementProblem(
        demand=demand.astype(float),
        n_sites=m,
        arc_client=client,
        arc_site=site,
        arc_cost=dist.reshape(-1).astype(float),
        capacity=None if capacity is None else np.full(m, float(capacity)),
        max_sites=p,
        weight=np.ones(n),
    )


def instances(folder: Path, only: set[str] | None):
    optima = read_optima(folder / "pmedopt.txt")
    for k in range(1, 41):
        name = f"pmed{k}"
        if only and name not in only:
            continue
        t = time.perf_counter()
        dist, p = read_pmed(folder / f"{name}.txt")
        yield name, dense_problem(dist, np.ones(len(dist)), p, None), optima[name], time.perf_counter() - t
    for number, best, _n, p, cap, rows in read_pmedcap(folder / "pmedcap1.txt"):
        name = f"pmedcap1-{number}"
        if only and name not in only:
            continue
        t = time.perf_counter()
        xy = rows[:, 1:3].astype(float)
        dist = np.floor(np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]))
        yield name, dense_problem(dist, rows[:, 3], p, cap), best, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    parser.add_argument("--only", help="comma-separated instance names, e.g. pmed1,pmedcap1-3")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    rows = []
    for name, problem, optimum, read_seconds in instances(args.dir, only):
        cpu = time.process_time()
        result = solve(problem, time_limit=args.time_limit)
        cpu = time.process_time() - cpu
        row = {
            "instance": name,
            "n": problem.n_clients,
            "p": problem.max_sites,
            "objective": round(result.objective, 3),
            "bound": round(result.bound, 3),
            "optimum": optimum,
            "found_optimum": abs(result.objective - optimum) < 0.5,
            "proven": result.status == "optimal",
            "method": result.method,
            "seconds": round(result.seconds, 3),
            "cpu_seconds": round(cpu, 3),
            "read_seconds": round(read_seconds, 3),
        }
        rows.append(row)
        if not args.json:
            flag = "=" if row["found_optimum"] else ("<" if result.objective < optimum else ">")
            print(f"{name:>14} n={row['n']:>4} p={row['p']:>3}  obj {row['objective']:>10.0f} {flag} opt {optimum:>7}"
                  f"  bound {row['bound']:>10.1f}  {'proven ' if row['proven'] else '       '} {row['seconds']:6.2f} s"
                  f" (cpu {row['cpu_seconds']:5.2f} s)",
                  flush=True)
    if args.json:
        print(json.dumps(rows))
    else:
        hit = sum(r["found_optimum"] for r in rows)
        proven = sum(r["proven"] for r in rows)
        worst = max((r["seconds"] for r in rows), default=0.0)
        print(f"optimum found {hit}/{len(rows)}, proven {proven}/{len(rows)}, slowest {worst:.2f} s")


if __name__ == "__main__":
    main()
