"""A city's set-up on this one machine, and what a dead server or a dead primary costs it.

    make cluster-deps                  # HAProxy and iproute2 from Debian, as root, when missing
    .venv/bin/python bench/cluster.py --json

Built from Debian's packages, as root: a PostgreSQL primary (``pg_createcluster``) with one
synchronous standby made by ``pg_basebackup`` (``synchronous_standby_names = 'standby1'``,
``synchronous_commit = on``: a commit is acknowledged once it is on both); N ``sweep serve``
processes, each in a network namespace of its own (``ip netns``, a veth pair on a bridge,
10.77.0.0/24), as separate hosts would be, connecting to both database hosts through one libpq
multi-host URL with ``target_session_attrs=read-write`` (and reading the dashboard from the
standby); HAProxy on 127.0.0.1 in front of them.

Terminals (bench/fieldkit.py) send batches of scans through the balancer and resend a batch,
with the same UUIDs, until it is answered, as the terminal's queue does; an HQ screen polls the
dashboard. Two failures, under that load:

  app_kill      kill -9 of one application server (it is restarted afterwards, as a supervisor would);
  primary_kill  kill -9 of the primary (the postmaster and every backend at once, as a machine
                that dies), then promotion of the standby (``pg_ctlcluster … promote``).

Each reports ``acknowledged`` (scans answered ok or replayed), ``present`` (of those, found on
the primary afterwards: for primary_kill the promoted standby), ``duplicates``, ``lost`` and
``outage_s``: the longest any terminal went without an acknowledged scan, from the kill on
(``all_stopped_s``: the longest nobody got one). ``steady`` gives the throughput before the
first kill and the CPU seconds it cost, for sizing. One JSON object is printed.

Everything (servers, HAProxy, both clusters, namespaces, links) is removed at the end, on
Ctrl+C or SIGTERM, past ``--time-limit``, and at the start of the next run if a run was killed.
``--teardown`` only removes what a run left.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
from fieldkit import Desk, Http, Refused, Server, Tally, percentile, prepare, send, stored_counts
from sqlalchemy import create_engine, text

from sweep.auth.service import create_user, issue_token
from sweep.db import make_engine, make_session_factory, unit_of_work

NAME = "sweepbench"
PRIMARY, STANDBY = f"{NAME}_primary", f"{NAME}_standby"
STANDBY_NAME = "standby1"  # application_name in synchronous_standby_names
BRIDGE = "swbench0"
SUBNET = "10.77.0"
HOST_IP = f"{SUBNET}.1"
APP_PORT = 8000
STATE = Path("/run/sweep-bench-cluster")
LOCK = Path("/run/lock/sweep-bench-cluster.lock")
RETRY_PAUSE_S = 0.2
DRAIN_S = 45.0  # after a phase, how long terminals may keep resending what is still unanswered
DASHBOARD_EVERY_S = 2.0


def ns_name(k: int) -> str:
    return f"{NAME}-app{k}"


def app_ip(k: int) -> str:
    return f"{SUBNET}.{10 + k}"


def pg_version() -> str:
    return max(os.listdir("/usr/lib/postgresql"), key=int)


def sh(*cmd: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return done


def as_postgres(*cmd: str, timeout: float = 120) -> None:
    sh("runuser", "-u", "postgres", "--", *cmd, timeout=timeout)


# ---------------------------------------------------------------------------------------------
# Tear-down: by name and by the process ids this bench recorded, so that it also clears what a
# run killed half-way left behind. Every step may find nothing to do.


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _end(pids: list[int], grace: float = 5.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _recorded_haproxy() -> list[int]:
    pidfile = STATE / "haproxy.pid"
    if not pidfile.exists():
        return []
    pid = int(pidfile.read_text().strip() or 0)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []
    return [pid] if any(b"haproxy" in part for part in cmdline[:1]) and str(STATE).encode() in b" ".join(cmdline) else []


def teardown(version: str, servers_max: int = 8) -> list[str]:
    """Remove everything a run of this bench makes; return what was found and removed."""
    removed: list[str] = []
    namespaces = set(sh("ip", "netns", "list", check=False).stdout.split())
    for k in range(servers_max):
        ns = ns_name(k)
        if ns in namespaces:
            pids = [int(p) for p in sh("ip", "netns", "pids", ns, check=False).stdout.split()]
            _end(pids)
            sh("ip", "netns", "delete", ns, check=False)
            removed.append(f"netns {ns}")
    if (pids := _recorded_haproxy()):
        _end(pids)
        removed.append("haproxy")
    for cluster in (PRIMARY, STANDBY):
        etc = Path(f"/etc/postgresql/{version}/{cluster}")
        if etc.exists():
            if sh("pg_dropcluster", "--stop", version, cluster, check=False).returncode != 0:
                # A primary killed with -9 leaves its pid file; stop what may still run, then drop.
                sh("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "stop", "-m", "immediate", check=False, timeout=60)
                sh("pg_dropcluster", version, cluster, check=False)
            shutil.rmtree(etc, ignore_errors=True)  # pg_dropcluster leaves conf.d while it holds this bench's file
            removed.append(f"cluster {cluster}")
    for k in range(servers_max):
        if sh("ip", "link", "show", f"swb{k}h", check=False).returncode == 0:
            sh("ip", "link", "delete", f"swb{k}h", check=False)
    if sh("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        sh("ip", "link", "delete", BRIDGE, check=False)
        removed.append(f"bridge {BRIDGE}")
    shutil.rmtree(STATE, ignore_errors=True)
    return removed


# ---------------------------------------------------------------------------------------------
# Building the cluster.


def network(servers: int) -> None:
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{HOST_IP}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for k in range(servers):
        ns, host_end, ns_end = ns_name(k), f"swb{k}h", f"swb{k}n"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        sh("ip", "link", "set", ns_end, "netns", ns)
        sh("ip", "link", "set", host_end, "master", BRIDGE, "up")
        sh("ip", "-n", ns, "addr", "add", f"{app_ip(k)}/24", "dev", ns_end)
        sh("ip", "-n", ns, "link", "set", ns_end, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


HBA = f"""# bench/cluster.py: its own clusters, on 127.0.0.1 and its bridge only
local   all          all                         trust
host    all          all          127.0.0.1/32   trust
host    all          all          {SUBNET}.0/24  trust
local   replication  all                         trust
host    replication  all          127.0.0.1/32   trust
host    replication  all          {SUBNET}.0/24  trust
"""


def _configure(version: str, cluster: str, settings: str) -> None:
    etc = Path(f"/etc/postgresql/{version}/{cluster}")
    (etc / "pg_hba.conf").write_text(HBA)
    (etc / "conf.d" / "sweep-bench.conf").write_text(
        f"listen_addresses = '127.0.0.1,{HOST_IP}'\n"
        "max_connections = 300\n"  # the servers' pools (up to 40 each, and as many for reads) and the bench
        "wal_level = replica\nmax_wal_senders = 4\nmax_replication_slots = 4\nhot_standby = on\n"
        "synchronous_commit = on\n" + settings
    )


def _pg(version: str, cluster: str, action: str, timeout: float = 90) -> None:
    sh("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, action, timeout=timeout)


def _admin(port: int):  # type: ignore[no-untyped-def]
    return create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT")


def standby_of(version: str, cluster: str, upstream_port: int) -> None:
    """Make ``cluster`` (its configuration in place) a streaming standby of the server on
    ``upstream_port``: a fresh copy by pg_basebackup through a replication slot, then started."""
    with _admin(upstream_port).connect() as conn:
        conn.execute(text("SELECT pg_create_physical_replication_slot(:s)"), {"s": STANDBY_NAME})
    _configure(version, cluster,
               f"primary_conninfo = 'host={HOST_IP} port={upstream_port} user=postgres application_name={STANDBY_NAME}'\n"
               f"primary_slot_name = '{STANDBY_NAME}'\n")
    data = Path(f"/var/lib/postgresql/{version}/{cluster}")
    for entry in data.iterdir():  # the directory stays, with its owner and mode; pg_basebackup fills it
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    as_postgres(f"/usr/lib/postgresql/{version}/bin/pg_basebackup", "-h", HOST_IP, "-p", str(upstream_port), "-U", "postgres",
                "-D", str(data), "-X", "stream", "-c", "fast", "-S", STANDBY_NAME)
    as_postgres("touch", str(data / "standby.signal"))
    _pg(version, cluster, "start")


def wait_sync(primary_port: int, timeout: float = 60, state: str = "sync") -> None:
    """Until the primary reports its standby streaming, as synchronous (commits wait for it from then on)."""
    engine = _admin(primary_port)
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                query = text("SELECT sync_state FROM pg_stat_replication WHERE application_name = :s")
                if conn.execute(query, {"s": STANDBY_NAME}).scalar() == state:
                    return
                time.sleep(0.2)
    finally:
        engine.dispose()
    raise RuntimeError(f"the standby did not reach the state {state!r}")


def databases(version: str, ports: tuple[int, int], *, synchronous: bool = True) -> None:
    """The primary, then the standby copied from it with pg_basebackup and streaming in sync."""
    primary_port, standby_port = ports
    sh("pg_createcluster", version, PRIMARY, "-p", str(primary_port))
    _configure(version, PRIMARY, f"synchronous_standby_names = '{STANDBY_NAME if synchronous else ''}'\n")
    _pg(version, PRIMARY, "start")
    engine = _admin(primary_port)
    with engine.connect() as conn:
        # Until the standby is attached, a commit would wait for it: this one does not.
        conn.execute(text("SET synchronous_commit = local"))
        conn.execute(text("CREATE DATABASE sweep"))
    engine.dispose()
    sh("pg_createcluster", version, STANDBY, "-p", str(standby_port))
    standby_of(version, STANDBY, primary_port)
    wait_sync(primary_port, state="sync" if synchronous else "async")


def rebuild(version: str, ports: tuple[int, int]) -> float:
    """After the failover: the old primary's machine comes back as the new primary's synchronous
    standby, a fresh copy (its own data may hold commits the survivor never had)."""
    started = time.monotonic()
    new = ports[1]
    standby_of(version, PRIMARY, new)
    engine = _admin(new)
    with engine.connect() as conn:
        conn.execute(text(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'"))
        conn.execute(text("SELECT pg_reload_conf()"))
    engine.dispose()
    wait_sync(new)
    return time.monotonic() - started


def haproxy(servers: int, port: int) -> subprocess.Popen[bytes]:
    """HAProxy in front: health checks twice a second, a server refusing connections is skipped at once."""
    backends = "\n".join(f"    server app{k} {app_ip(k)}:{APP_PORT} check" for k in range(servers))
    cfg = STATE / "haproxy.cfg"
    cfg.write_text(f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    # A connection refused never reached a server: try another (the request is safe to send again).
    retries 3
    retry-on conn-failure
    option redispatch 1
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions

frontend terminals
    bind 127.0.0.1:{port}
    default_backend sweep

backend sweep
    balance roundrobin
{backends}
""")
    sh("haproxy", "-c", "-q", "-f", str(cfg))
    proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (STATE / "haproxy.pid").write_text(str(proc.pid))
    return proc


def wait_http(url: str, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


# ---------------------------------------------------------------------------------------------
# CPU seconds from /proc, for sizing: a process and its children, live and reaped.

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(root: int) -> float:
    """CPU of ``root`` (with its reaped children) and of its live children."""
    own = _stat(root)
    if own is None:
        return 0.0
    total = sum(int(x) for x in own[11:15])
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None and int(st[1]) == root:
            total += int(st[11]) + int(st[12])
    return total / TICK


def postmaster(version: str, cluster: str) -> int:
    return int(Path(f"/var/lib/postgresql/{version}/{cluster}/postmaster.pid").read_text().split()[0])


def kill_cluster(version: str, cluster: str) -> None:
    """kill -9 of the postmaster and all its processes at once: the machine is gone."""
    root = postmaster(version, cluster)
    children = [int(e) for e in os.listdir("/proc") if e.isdigit() and (st := _stat(int(e))) is not None and int(st[1]) == root]
    for pid in (root, *children):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# Load through the balancer.


@dataclass
class Phase:
    name: str
    tally: Tally = field(default_factory=Tally)
    acks: dict[int, list[float]] = field(default_factory=dict)  # terminal -> times of its acknowledged batches
    refused: dict[str, int] = field(default_factory=dict)  # what terminals were answered instead
    kill_at: float = 0.0
    sending_until: float = 0.0
    unanswered: int = 0  # batches still unanswered when the drain gave up
    gave_up: set[int] = field(default_factory=set)  # terminals that stopped with such a batch
    notes: dict[str, Any] = field(default_factory=dict)


async def terminal(http: Http, desk: Desk, phase: Phase, started: float) -> None:
    give_up = phase.sending_until + DRAIN_S
    times = phase.acks.setdefault(desk.index, [started])
    while time.monotonic() < phase.sending_until and not desk.exhausted():
        opens, scans = desk.plan()
        while True:  # the same batch, the same UUIDs, until it is answered
            before = phase.tally.scans
            try:
                await send(http, desk, opens, scans, phase.tally)
            except Exception as exc:  # refused or cut off: counted, then sent again
                key = str(exc.status) if isinstance(exc, Refused) and exc.status else type(exc).__name__
                phase.refused[key] = phase.refused.get(key, 0) + 1
                phase.tally.retries += 1
                if time.monotonic() > give_up:
                    phase.unanswered += 1
                    phase.gave_up.add(desk.index)
                    return
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            if phase.tally.scans > before:
                times.append(time.monotonic())
            break


async def dashboard(base: str, token: str, campaign_id: int, until: float, seen: list[dict[str, Any]]) -> None:
    """An HQ screen polling the dashboard through the balancer: where it read, and the lag shown."""
    url = f"{base}/api/campaigns/{campaign_id}/dashboard"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while time.monotonic() < until:
            t = time.monotonic()
            try:
                async with session.get(url, headers={"authorization": f"Bearer {token}"}) as r:
                    body = await r.json(content_type=None) if r.status == 200 else None
                    seen.append({"status": r.status, **(body or {}).get("database", {})})
            except (aiohttp.ClientError, TimeoutError) as exc:
                seen.append({"status": type(exc).__name__})
            await asyncio.sleep(max(0.0, DASHBOARD_EVERY_S - (time.monotonic() - t)))


async def run_phase(phase: Phase, base: str, desks: list[Desk], seconds: float, kill_after: float, kill, hq: tuple[str, int],
                    seen: list[dict[str, Any]], sample_cpu) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    phase.sending_until = started + seconds

    async def killer() -> None:
        if kill is None:
            return
        await asyncio.sleep(1.0)
        phase.notes["cpu_from"] = (time.monotonic(), phase.tally.scans, sample_cpu())
        await asyncio.sleep(max(0.0, kill_after - 1.0))
        phase.notes["cpu_to"] = (time.monotonic(), phase.tally.scans, sample_cpu())
        phase.kill_at = time.monotonic()
        await asyncio.to_thread(kill, phase)

    async with Http(base, len(desks)) as http:
        await asyncio.gather(killer(), dashboard(base, hq[0], hq[1], phase.sending_until, seen),
                             *(terminal(http, d, phase, started) for d in desks))
    phase.notes["ended"] = time.monotonic()


def outages(phase: Phase) -> tuple[float, float]:
    """(the longest any terminal went without an acknowledgement, the longest nobody got one), from the kill on."""
    end = min(phase.notes["ended"], phase.sending_until + DRAIN_S)
    worst = 0.0
    merged: list[float] = []
    for index, times in phase.acks.items():
        before = [t for t in times if t <= phase.kill_at]
        after = [t for t in times if t > phase.kill_at]
        merged += after
        marks = [before[-1], *after]  # the phase's start is the first mark
        gaps = [b - max(a, phase.kill_at) for a, b in pairwise(marks)]
        if index in phase.gave_up:  # still waiting for an answer when the drain ended
            gaps.append(end - max(marks[-1], phase.kill_at))
        worst = max(worst, *gaps) if gaps else worst
    merged.sort()
    last_before = max((t for times in phase.acks.values() for t in times if t <= phase.kill_at), default=phase.kill_at)
    marks = [last_before, *merged]
    quiet = max((b - max(a, phase.kill_at) for a, b in pairwise(marks)), default=end - phase.kill_at)
    return round(worst, 2), round(quiet, 2)


def summary(phase: Phase, url: str, acknowledged: set[str], desks: list[Desk]) -> dict[str, Any]:
    counts = stored_counts(url, acknowledged)
    outage, quiet = outages(phase)
    return {
        "acknowledged": counts["acknowledged"], "present": counts["present"], "duplicates": counts["duplicates"], "lost": counts["lost"],
        "outage_s": outage, "all_stopped_s": quiet, "tube_mismatches": counts["tube_mismatches"], "unanswered_batches": phase.unanswered,
        "resends": phase.tally.retries, "refused": phase.refused, "item_errors": phase.tally.errors, "error_examples": phase.tally.examples,
        "p50_ms": round(percentile(phase.tally.latencies_ms, 0.5), 1), "p99_ms": round(percentile(phase.tally.latencies_ms, 0.99), 1),
        "terminals_out_of_people": sum(d.exhausted() for d in desks),
    }


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=3, help="application servers, each in its own network namespace (2-6)")
    parser.add_argument("--terminals", type=int, default=12)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="load per phase")
    parser.add_argument("--kill-after", type=float, default=8.0, help="seconds into each phase when the kill comes")
    parser.add_argument("--promote-after", type=float, default=0.0,
                        help="seconds between the primary's death and the standby's promotion (what a failover manager takes to decide)")
    parser.add_argument("--people", type=int, default=100_000, help="registry size; each terminal scans its own share once")
    parser.add_argument("--asynchronous", action="store_true",
                        help="leave the standby asynchronous (synchronous_standby_names empty), to see what the synchronous one buys")
    parser.add_argument("--pg-ports", default="5491,5492", help="the primary's and the standby's ports")
    parser.add_argument("--balancer-port", type=int, default=8470)
    parser.add_argument("--time-limit", type=float, default=900.0, help="the whole run, set-up and tear-down included, is stopped past this")
    parser.add_argument("--keep-logs", type=Path, help="copy the servers' output into this folder before tearing down")
    parser.add_argument("--teardown", action="store_true", help="only remove what an earlier run left, and exit")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    ports = tuple(int(p) for p in args.pg_ports.split(","))
    if not (2 <= args.servers <= 6 and args.terminals >= 1 and 1 <= args.batch <= 500 and len(ports) == 2
            and 2 <= args.kill_after < args.seconds <= 300):
        parser.error("--servers 2..6, --terminals >= 1, --batch 1..500, two --pg-ports, 2 <= --kill-after < --seconds <= 300")
    if os.geteuid() != 0:
        sys.exit("bench/cluster.py makes network namespaces and PostgreSQL clusters: run it as root")
    missing = [tool for tool in ("haproxy", "ip", "pg_createcluster", "runuser") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: run `make cluster-deps` first")
    say = (lambda *_: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    version = pg_version()

    LOCK.parent.mkdir(parents=True, exist_ok=True)
    lock = LOCK.open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("another run of bench/cluster.py holds the machine's bench cluster; wait for it or stop it")

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, stop)
    left = teardown(version)
    if args.teardown:
        print(json.dumps({"removed": left}))
        return
    if left:
        say(f"removed what an earlier run left: {', '.join(left)}")
    signal.alarm(int(args.time_limit))
    try:
        result = run(args, version, ports, say)
        result["removed_before"] = left
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not cut the tear-down short
        say("tearing down…")
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in STATE.glob("*.log"):
                shutil.copy(log, args.keep_logs / log.name)
        teardown(version)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    print(json.dumps(result))


def run(args: argparse.Namespace, version: str, ports: tuple[int, ...], say) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    STATE.mkdir(parents=True, exist_ok=True)
    say(f"network: bridge {BRIDGE} {HOST_IP}/24, {args.servers} namespaces…")
    network(args.servers)
    say(f"PostgreSQL {version}: primary :{ports[0]}, {'asynchronous' if args.asynchronous else 'synchronous'} standby :{ports[1]} (pg_basebackup)…")
    databases(version, ports, synchronous=not args.asynchronous)  # type: ignore[arg-type]
    local = f"postgresql://postgres@127.0.0.1:{ports[0]}/sweep"
    say(f"preparing {args.people:,} people and a planned round…")
    round_ = prepare(local, terminals=args.terminals, people=args.people)
    engine = make_engine(local)
    with unit_of_work(make_session_factory(engine)) as session:
        hq = create_user(session=session, username="bench-hq", display_name="指挥部", role="command")
        hq_token = issue_token(session=session, user=hq, kind="api", label="bench dashboard")
    engine.dispose()

    write_url = f"postgresql://postgres@{HOST_IP}:{ports[0]},{HOST_IP}:{ports[1]}/sweep?target_session_attrs=read-write"
    read_url = f"postgresql://postgres@{HOST_IP}:{ports[1]},{HOST_IP}:{ports[0]}/sweep?target_session_attrs=prefer-standby"
    servers = [Server(write_url, port=APP_PORT, host=app_ip(k), netns=ns_name(k), serve=True, env={"SWEEP_READ_DATABASE_URL": read_url},
                      log=STATE / f"app{k}.log") for k in range(args.servers)]
    say(f"{args.servers} × sweep serve, each in its namespace…")
    for server in servers:
        server.start()
    balancer = haproxy(args.servers, args.balancer_port)
    base = f"http://127.0.0.1:{args.balancer_port}"
    wait_http(base + "/healthz", 30)
    desks = [Desk(round_.campaign_id, t, k, batch=args.batch) for k, t in enumerate(round_.terminals)]
    seen: list[dict[str, Any]] = []

    def sample_cpu() -> dict[str, float]:
        """Only read before the first kill: the primary, the standby and the servers are all up."""
        return {"app": sum(cpu_seconds(s.proc.pid) for s in servers if s.proc is not None),
                "db": cpu_seconds(postmaster(version, PRIMARY)), "standby": cpu_seconds(postmaster(version, STANDBY)),
                "balancer": cpu_seconds(balancer.pid)}

    # (a) one application server dies under load.
    app = Phase("app_kill")

    def kill_app(phase: Phase) -> None:
        servers[0].kill()
        phase.notes["killed"] = servers[0].base

    say(f"(a) {args.terminals} terminals through HAProxy for {args.seconds:.0f} s; kill -9 of {servers[0].base} at {args.kill_after:.0f} s…")
    asyncio.run(run_phase(app, base, desks, args.seconds, args.kill_after, kill_app, (hq_token, round_.campaign_id), seen, sample_cpu))
    app_result = summary(app, local, app.tally.acknowledged, desks)
    steady = steady_figures(app, args.servers)
    say("    restarting it, as its supervisor would…")
    servers[0].start()
    time.sleep(1.5)  # HAProxy's checks (rise 2 × 500 ms) take it back

    # (b) the primary dies under load; the standby is promoted.
    prim = Phase("primary_kill")

    def kill_primary(phase: Phase) -> None:
        kill_cluster(version, PRIMARY)
        time.sleep(args.promote_after)
        t = time.monotonic()
        _pg(version, STANDBY, "promote")
        phase.notes["promote_s"] = round(time.monotonic() - t, 2)

    say(f"(b) again for {args.seconds:.0f} s; kill -9 of the primary at {args.kill_after:.0f} s, then promotion of the standby…")
    asyncio.run(run_phase(prim, base, desks, args.seconds, args.kill_after, kill_primary, (hq_token, round_.campaign_id), seen, sample_cpu))
    survivor = f"postgresql://postgres@127.0.0.1:{ports[1]}/sweep"
    prim_result = summary(prim, survivor, prim.tally.acknowledged, desks)
    earlier = stored_counts(survivor, app.tally.acknowledged)
    prim_result.update(promote_s=prim.notes.get("promote_s"), earlier_acknowledged=earlier["acknowledged"], earlier_present=earlier["present"])

    # (c) the old primary's machine back as the new standby; writes wait for it again.
    say("(c) the old primary rebuilt from the new one as its synchronous standby; a few seconds more of load…")
    rebuild_s = rebuild(version, ports)  # type: ignore[arg-type]
    after = Phase("after")
    asyncio.run(run_phase(after, base, desks, 4.0, 0.0, None, (hq_token, round_.campaign_id), seen, sample_cpu))
    everything = app.tally.acknowledged | prim.tally.acknowledged | after.tally.acknowledged
    rebuilt = f"postgresql://postgres@127.0.0.1:{ports[0]}/sweep"
    deadline = time.monotonic() + 20
    while (copy := stored_counts(rebuilt, everything))["present"] < len(everything) and time.monotonic() < deadline:
        time.sleep(0.5)  # synchronous means flushed on the standby; replaying it may trail a little
    rebuild_result = {"seconds": round(rebuild_s, 1), "acknowledged_after": len(after.tally.acknowledged),
                      "present_on_primary": stored_counts(survivor, everything)["present"], "present_on_rebuilt_standby": copy["present"],
                      "acknowledged_in_all": len(everything)}

    reads = [s for s in seen if s.get("status") == 200]
    return {
        "servers": args.servers, "terminals": args.terminals, "batch": args.batch, "seconds": args.seconds, "kill_after": args.kill_after,
        "promote_after": args.promote_after, "people": args.people, "synchronous_standby": not args.asynchronous, "postgresql": version, "balancer": "haproxy",
        "app_kill": app_result, "primary_kill": prim_result, "rebuild": rebuild_result, "steady": steady,
        "dashboard": {"polls": len(seen), "answered": len(reads),
                      "read_from": {k: sum(1 for s in reads if s.get("read_from") == k) for k in {s.get("read_from") for s in reads}},
                      "lag_s_max": max((s["lag_s"] for s in reads if s.get("lag_s") is not None), default=None),
                      "refused": sum(1 for s in seen if s.get("status") != 200)},
    }


def steady_figures(phase: Phase, servers: int) -> dict[str, Any]:
    """Before the kill: scans a second through the balancer, and what each cost in CPU."""
    (t0, n0, c0), (t1, n1, c1) = phase.notes["cpu_from"], phase.notes["cpu_to"]
    seconds, scans = t1 - t0, n1 - n0
    app, db, standby, lb = (c1[k] - c0[k] for k in ("app", "db", "standby", "balancer"))
    return {
        "seconds": round(seconds, 1), "scans": scans, "scans_per_s": round(scans / seconds, 1),
        "scans_per_s_per_server": round(scans / seconds / servers, 1),
        "app_cpu_s": round(app, 2), "db_cpu_s": round(db, 2), "standby_cpu_s": round(standby, 2), "balancer_cpu_s": round(lb, 2),
        "scans_per_app_cpu_s": round(scans / app, 1) if app else None,
        "scans_per_db_cpu_s": round(scans / db, 1) if db else None,
        "load_average": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    main()
