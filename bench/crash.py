"""Kill -9 the server under load, restart it, let the terminals retry: nothing acknowledged is lost
and nothing is stored twice.

    python bench/crash.py --db postgresql --terminals 8 --batch 10 --seconds 20 --kills 2 --json

Terminals send batches with fresh UUIDs and, when a request fails (the server is gone), send the
very same batch again until it is answered, as the terminal page does with its IndexedDB queue.
At evenly spaced moments the whole server process group is killed with SIGKILL and started again.
At the end every acknowledged UUID is looked up: ``present`` counts those stored, ``duplicates``
those stored more than once; ``tube_mismatches`` counts tubes whose fill differs from their rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from fieldkit import Desk, Server, Tally, client, fresh_database, prepare, send, stored_counts

RETRY_PAUSE_S = 0.2
DRAIN_S = 60.0  # after the run, how long terminals may keep retrying what is still unanswered


async def _load(server: Server, round_, batch: int, seconds: float, kills: int) -> tuple[Tally, int]:  # type: ignore[no-untyped-def]
    tally = Tally()
    desks = [Desk(round_.campaign_id, t, k, batch=batch) for k, t in enumerate(round_.terminals)]
    started = time.monotonic()
    stop_new = started + seconds
    give_up = stop_new + DRAIN_S
    restarts = 0

    async def terminal(desk: Desk, http) -> None:  # type: ignore[no-untyped-def]
        while time.monotonic() < stop_new and not desk.exhausted():
            opens, scans = desk.plan()
            while True:  # the same batch, the same UUIDs, until the server answers
                try:
                    await send(http, desk, opens, scans, tally)
                    break
                except Exception:  # the server is down or restarting
                    tally.retries += 1
                    if time.monotonic() > give_up:
                        return
                    await asyncio.sleep(RETRY_PAUSE_S)

    async def killer() -> None:
        nonlocal restarts
        for k in range(1, kills + 1):
            await asyncio.sleep(max(0.0, started + seconds * k / (kills + 1) - time.monotonic()))
            server.kill()
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.start)
            restarts += 1

    async with client(server.base, len(desks)) as http:
        await asyncio.gather(killer(), *(terminal(d, http) for d in desks))
    return tally, restarts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--terminals", type=int, default=8)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    if not (1 <= args.batch <= 500 and args.terminals >= 1 and 0 < args.seconds <= 600 and 1 <= args.kills <= 20):
        parser.error("--batch 1..500, --terminals >= 1, --seconds in (0, 600], --kills 1..20")

    say = (lambda *_: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    with fresh_database(args.db) as url:
        say(f"preparing {args.people:,} people on {args.db}…")
        round_ = prepare(url, terminals=args.terminals, people=args.people)
        server = Server(url, workers=args.workers, serve=True)
        server.start()
        try:
            say(f"{args.terminals} terminals for {args.seconds:.0f} s, killing the server {args.kills} times…")
            tally, restarts = asyncio.run(_load(server, round_, args.batch, args.seconds, args.kills))
        finally:
            server.stop()
        counts = stored_counts(url, tally.acknowledged)
    result = {
        "db": args.db, "terminals": args.terminals, "batch": args.batch, "seconds": args.seconds, "kills": restarts, **counts,
        "retries": tally.retries, "errors": tally.errors, "error_examples": tally.examples,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
