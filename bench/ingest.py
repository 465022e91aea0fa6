"""Scans per second through the real server: N simulated terminals over HTTP on 127.0.0.1.

    python bench/ingest.py --db postgresql --terminals 16 --batch 10 --seconds 20 --json

Each terminal opens tubes of ten and sends its scans in batches of B (B=1 uses the single-scan
endpoint), waiting for each answer before the next, as a phone does. Prints one JSON object:
scans, scans_per_s, p50_ms, p99_ms (per scan request), errors, and the ceiling: the raw INSERT
rate of the same sample rows into a bare copy of the table on the same database, B rows a commit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from fieldkit import Desk, Server, Tally, client, fresh_database, percentile, prepare, send
from sqlalchemy import func, select, text

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
            except Exception as exc:
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


def _ceiling(url: str, batch: int, limit: int = 50_000) -> float:
    """Rows a second into a bare copy of ``samples`` (no indexes, no checks), ``batch`` rows a commit."""
    engine = make_engine(url)
    columns = ["campaign_id", "tube_id", "person_id", "plan_site_id", "position", "kind", "client_uuid", "sampled_at", "recorded_at", "recorded_by"]
    with engine.begin() as conn:
        rows = [tuple(r) for r in conn.execute(select(*(getattr(Sample, c) for c in columns)).limit(limit))]
        conn.execute(text("CREATE TABLE bench_samples AS SELECT * FROM samples WHERE 1 = 0"))
    marks = ", ".join(f":{c}" for c in columns)
    insert = text(f"INSERT INTO bench_samples ({', '.join(columns)}) VALUES ({marks})")
    dicts = [dict(zip(columns, r, strict=True)) for r in rows]
    started = time.perf_counter()
    with engine.connect() as conn:
        for k in range(0, len(dicts), batch):
            with conn.begin():
                conn.execute(insert, dicts[k : k + batch])
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_samples"))
    engine.dispose()
    return len(dicts) / elapsed if elapsed else 0.0


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
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 1 if args.db == "sqlite" else 2
    if not (1 <= args.batch <= 500 and args.terminals >= 1 and 0 < args.seconds <= 600):
        parser.error("--batch 1..500, --terminals >= 1, --seconds in (0, 600]")

    say = (lambda *_: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    with fresh_database(args.db) as url:
        say(f"preparing {args.people:,} people on {args.db}…")
        round_ = prepare(url, terminals=args.terminals, people=args.people)
        server = Server(url, workers=args.workers)
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
        ceiling = _ceiling(url, args.batch)
    result = {
        "db": args.db, "terminals": args.terminals, "batch": args.batch, "workers": args.workers, "seconds": round(elapsed, 2),
        "scans": tally.scans, "scans_per_s": round(tally.scans / elapsed, 1), "requests": tally.requests,
        "requests_per_s": round(tally.requests / elapsed, 1),
        "p50_ms": round(percentile(tally.latencies_ms, 0.50), 1), "p99_ms": round(percentile(tally.latencies_ms, 0.99), 1),
        "errors": tally.errors, "stored": stored, "stored_matches": stored == tally.scans,
        "insert_ceiling_rows_per_s": round(ceiling, 1), "error_examples": tally.examples,
    }
    if args.queued:
        result["sync_seconds"] = round(elapsed, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
