"""Scans per second through the real server: N simulated terminals over HTTP on 127.0.0.1.

    python bench/ingest.py --db postgresql --terminals 16 --batch 10 --seconds 20 --json

Each terminal opens tubes of ten and sends its scans in batches of B (B=1 uses the single-scan
endpoint), waiting for each answer before the next, as a phone does. Prints one JSON object:
scans, scans_per_s, p50_ms, p99_ms (per scan request), errors, and, measured in the same run once
the server has stopped, the database's own ceiling: ``db_ceiling_rows_per_s``, rows of the same
kind a scan writes (a key and a unique client UUID each) inserted ten to a transaction, on
PostgreSQL by pgbench with as many clients as terminals, on SQLite by one connection (it has one
writer); ``ceiling_ratio`` is scans_per_s over it, how far the field API runs from the physical
limit of the same machine at the same moment. Also the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime

from fieldkit import Desk, Server, Tally, client, fresh_database, percentile, prepare, send
from sqlalchemy import func, make_url, select, text

from sweep.db import make_engine
from sweep.field.models import Sample


async def _terminals(server: Server, round_, batch: int, seconds: float) -> tuple[Tally, float]:  # type: ignore[no-untyped-def]
    tally = Tally()
    desks = [Desk(round_.campaign_id, t, k, batch=batch) for k, t in enumerate(round_.terminals)]
    deadline = time.monotonic() + seconds

    async def run(desk: Desk, http) -> None:  # type: ignore[no-untyped-def]
        while time.monotonic() < deadline and not desk.exhausted():
            opens, scans = desk.plan()
            try:
                await send(http, desk, opens, scans, tally)
            except Exception as exc:  # counted, and the terminal goes on
                tally.errors += len(scans)
                tally.failed(repr(exc))

    async with client(server.base, len(desks)) as http:
        started = time.monotonic()
        await asyncio.gather(*(run(d, http) for d in desks))
        elapsed = time.monotonic() - started
    return tally, elapsed


async def _drain(server: Server, round_, batch: int, queued: int) -> tuple[Tally, float]:  # type: ignore[no-untyped-def]
    """One terminal back online with ``queued`` scans: how long until all are answered."""
    tally = Tally()
    desk = Desk(round_.campaign_id, round_.terminals[0], 0, batch=batch)
    work = [desk.plan() for _ in range(queued // batch)]
    async with client(server.base, 1) as http:
        started = time.monotonic()
        for opens, scans in work:
            await send(http, desk, opens, scans, tally)
        return tally, time.monotonic() - started


# The database's own ceiling: the same kind of row as a scan writes (the columns of ``samples``,
# its key and the unique client UUID), ten a transaction, by pgbench's C clients, one per terminal.
_CEILING_TABLE = """CREATE TABLE bench_ceiling (
    id bigserial PRIMARY KEY, campaign_id int NOT NULL, tube_id int NOT NULL, person_id int NOT NULL,
    plan_site_id int NOT NULL, position int NOT NULL, kind varchar(16) NOT NULL, client_uuid varchar(36) NOT NULL UNIQUE,
    sampled_at timestamp NOT NULL, recorded_at timestamp NOT NULL, recorded_by int)"""
_CEILING_SCRIPT = """\\set person random(1, 1000000)
BEGIN;
INSERT INTO bench_ceiling (campaign_id, tube_id, person_id, plan_site_id, position, kind, client_uuid, sampled_at, recorded_at, recorded_by)
SELECT 1, :person / 10, :person + g, 1, g, 'pooled', gen_random_uuid()::text, now(), now(), 1 FROM generate_series(1, {rows}) g;
END;
"""
PGBENCH = "/usr/bin/pgbench"


def _pgbench_ceiling(url: str, *, clients: int, rows: int, seconds: float) -> float:
    """Rows a second that PostgreSQL itself takes: pgbench, ``clients`` connections, ``rows`` rows a commit."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_ceiling"))
        conn.execute(text(_CEILING_TABLE))
        # A client a terminal, but no more than the server takes beside the connections already
        # open (200 terminals share the application's pool; pgbench's clients would not fit).
        allowed = int(conn.execute(text("SHOW max_connections")).scalar_one())
        in_use = int(conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
    clients = max(1, min(clients, allowed - in_use - 10))
    u = make_url(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="ceiling-") as script:
        script.write(_CEILING_SCRIPT.format(rows=rows))
        script.flush()
        cmd = [PGBENCH, "--no-vacuum", "--protocol=prepared", f"--client={clients}", f"--jobs={min(clients, os.cpu_count() or 1)}",
               f"--time={max(1, round(seconds))}", f"--file={script.name}", "--host", u.host or "127.0.0.1", "--port", str(u.port or 5432),
               "--username", u.username or "postgres", u.database or "postgres"]
        env = {**os.environ, **({"PGPASSWORD": u.password} if u.password else {})}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_ceiling"))
    engine.dispose()
    found = re.search(r"^tps = ([0-9.]+)", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return float(found.group(1)) * rows


def _sqlite_ceiling(url: str, *, rows: int, seconds: float) -> float:
    """SQLite has one writer: the same rows, ``rows`` a commit, from one connection with the server's settings."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_ceiling"))
        conn.execute(text(_CEILING_TABLE.replace("bigserial", "integer")))
    insert = text("INSERT INTO bench_ceiling (campaign_id, tube_id, person_id, plan_site_id, position, kind, client_uuid, sampled_at, "
                  "recorded_at, recorded_by) VALUES (1, :tube, :person, 1, :position, 'pooled', :uuid, :at, :at, 1)")
    written, person = 0, 0
    now = datetime.now()
    started = time.perf_counter()
    with engine.connect() as conn:
        while time.perf_counter() - started < seconds:
            with conn.begin():
                conn.execute(insert, [{"tube": (person + g) // 10, "person": person + g, "position": g + 1, "uuid": str(uuid.uuid4()),
                                       "at": now} for g in range(rows)])
            person += rows
            written += rows
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_ceiling"))
    engine.dispose()
    return written / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--terminals", type=int, default=16)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=None,
                        help="uvicorn worker processes (default: 2 on PostgreSQL; 1 on SQLite, as `sweep serve` runs it: "
                             "its writes go one at a time, and writers of one process take turns in order)")
    parser.add_argument("--people", type=int, default=200_000, help="registry size; each terminal scans its own share once")
    parser.add_argument("--queued", type=int, default=0,
                        help="instead: one terminal sends this many queued scans in batches of --batch; prints sync_seconds")
    parser.add_argument("--ceiling-seconds", type=float, default=10.0, help="how long the database's own ceiling is measured")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 1 if args.db == "sqlite" else 2
    if not (1 <= args.batch <= 500 and args.terminals >= 1 and 0 < args.seconds <= 600):
        parser.error("--batch 1..500, --terminals >= 1, --seconds in (0, 600]")

    say = (lambda *_: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    with fresh_database(args.db) as url:
        load_before = os.getloadavg()[0]
        say(f"preparing {args.people:,} people on {args.db}…")
        round_ = prepare(url, terminals=args.terminals, people=args.people)
        server = Server(url, workers=args.workers, serve=True)
        server.start()
        try:
            if args.queued:
                say(f"one terminal, {args.queued:,} queued scans in batches of {args.batch}…")
                tally, elapsed = asyncio.run(_drain(server, round_, args.batch, args.queued))
            else:
                say(f"{args.terminals} terminals, batches of {args.batch}, {args.seconds:.0f} s…")
                tally, elapsed = asyncio.run(_terminals(server, round_, args.batch, args.seconds))
        finally:
            server.stop()
        engine = make_engine(url)
        with engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(Sample)) or 0
        engine.dispose()
        load_after = os.getloadavg()[0]
        say(f"the database's own ceiling, {args.ceiling_seconds:.0f} s…")
        rows = 10  # a batch of ten scans: ten rows a commit, whatever --batch
        ceiling = (_pgbench_ceiling(url, clients=args.terminals, rows=rows, seconds=args.ceiling_seconds) if args.db == "postgresql"
                   else _sqlite_ceiling(url, rows=rows, seconds=args.ceiling_seconds))
    result = {
        "db": args.db, "terminals": args.terminals, "batch": args.batch, "workers": args.workers, "seconds": round(elapsed, 2),
        "scans": tally.scans, "scans_per_s": round(tally.scans / elapsed, 1), "requests": tally.requests,
        "requests_per_s": round(tally.requests / elapsed, 1),
        "p50_ms": round(percentile(tally.latencies_ms, 0.50), 1), "p99_ms": round(percentile(tally.latencies_ms, 0.99), 1),
        "errors": tally.errors, "stored": stored, "stored_matches": stored == tally.scans,
        "db_ceiling_rows_per_s": round(ceiling, 1), "ceiling_ratio": round(tally.scans / elapsed / ceiling, 4) if ceiling else None,
        "load_average": [round(load_before, 2), round(load_after, 2)], "error_examples": tally.examples,
    }
    if args.queued:
        result["sync_seconds"] = round(elapsed, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
