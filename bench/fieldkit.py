"""Shared by bench/ingest.py, bench/crash.py and bench/cluster.py: a round in a fresh database,
terminals' tokens, the real server as a subprocess (on 127.0.0.1, or in a network namespace),
simulated terminals over HTTP, and the check of what was stored against what was acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import create_engine, func, make_url, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sweep import migrate  # noqa: E402
from sweep.auth.service import create_user, issue_token  # noqa: E402
from sweep.config import Settings  # noqa: E402
from sweep.db import make_engine, make_session_factory, normalise_url, unit_of_work  # noqa: E402
from sweep.demo.district import generate_district  # noqa: E402
from sweep.demo.load import load_district  # noqa: E402
from sweep.field.models import Sample, Tube  # noqa: E402
from sweep.plan.models import PlanSite  # noqa: E402
from sweep.plan.planning import make_plan  # noqa: E402
from sweep.plan.service import create_campaign  # noqa: E402

KEY = "bench-secret-key"
PG_ADMIN = os.environ.get("SWEEP_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """An empty database of the kind asked for, removed afterwards."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="sweep-bench-")
        yield f"sqlite:///{folder}/bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(folder, "bench.db" + suffix).unlink(missing_ok=True)
        os.rmdir(folder)
        return
    admin = create_engine(normalise_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    name = f"sweep_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(PG_ADMIN)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Terminal:
    site_id: int
    token: str
    numbers: list[str]


@dataclass
class Round:
    url: str
    campaign_id: int
    terminals: list[Terminal]


def prepare(url: str, *, terminals: int, people: int, seed: int = 1) -> Round:
    """Schema, a district, a planned round that started an hour ago, one site user per terminal."""
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key=KEY)
    engine = make_engine(url)
    district = generate_district(people=people, seed=seed)
    with engine.begin() as conn:
        load_district(conn, district, key=KEY)
    # Key groups' members are sampled one to a tube; the terminals here fill pooled tubes of ten.
    numbers = [n for n, group in zip(district.people.id_number, district.people.key_group, strict=True) if group == 0]
    share = len(numbers) // terminals
    out: list[Terminal] = []
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = create_campaign(session=session, settings=settings, name="基准测试轮", starts_at=datetime.now() - timedelta(hours=1))
        make_plan(session=session, settings=settings, campaign=campaign)
        sites = session.scalars(select(PlanSite.id).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)).all()
        for k in range(terminals):
            site = sites[k % len(sites)]
            user = create_user(session=session, username=f"bench-{k}", display_name=f"终端{k}", role="site_staff", plan_site_id=site)
            token = issue_token(session=session, user=user, kind="api", label=f"bench terminal {k}")
            out.append(Terminal(site, token, numbers[k * share : (k + 1) * share]))
        campaign_id = campaign.id
    engine.dispose()
    return Round(url, campaign_id, out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``uvicorn sweep.api:create_app`` in its own process group, so kill -9 takes its workers too.

    ``serve=True`` runs ``sweep serve --workers N`` instead (as a district's or a city's application
    server runs it); ``netns`` starts it inside that network namespace (``ip netns exec``), listening on
    ``host``; ``env`` adds settings (``SWEEP_READ_DATABASE_URL``); ``log`` keeps its output."""

    def __init__(self, url: str, *, workers: int = 1, port: int | None = None, host: str = "127.0.0.1", netns: str | None = None,
                 env: dict[str, str] | None = None, serve: bool = False, log: Path | None = None) -> None:
        self.url = url
        self.workers = workers
        self.port = port or free_port()
        self.host = host
        self.netns = netns
        self.env = env or {}
        self.serve = serve
        self.log = log
        self.base = f"http://{host}:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        env = {**os.environ, "SWEEP_DATABASE_URL": self.url, "SWEEP_SECRET_KEY": KEY, "PYTHONPATH": str(ROOT), **self.env}
        if self.serve:
            cmd = [sys.executable, "-c", "from sweep.cli import app; app()", "serve", "--host", self.host, "--port", str(self.port),
                   "--workers", str(self.workers)]
        else:
            cmd = [sys.executable, "-m", "uvicorn", "--factory", "sweep.api:create_app", "--host", self.host, "--port", str(self.port),
                   "--workers", str(self.workers), "--log-level", "warning", "--no-access-log"]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]  # exec: the server keeps this process's id and group
        with self.log.open("ab") if self.log else contextlib.nullcontext(subprocess.DEVNULL) as out:
            self.proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}{self._tail()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not come up{self._tail()}")

    def _tail(self) -> str:
        """The end of the server's output, when it is kept: why it did not start."""
        if self.log is None or not self.log.exists():
            return ""
        return ":\n" + self.log.read_text(errors="replace")[-2000:]

    def kill(self) -> None:
        """kill -9, the whole group: no shutdown, no flush, as a power cut would leave it."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass
class Tally:
    scans: int = 0
    errors: int = 0
    requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    retries: int = 0
    examples: list[str] = field(default_factory=list)

    def failed(self, what: str) -> None:
        if len(self.examples) < 3:
            self.examples.append(what[:300])


class Desk:
    """One terminal's stream of work: tubes of ``pool`` people, sent in batches of ``batch`` scans."""

    def __init__(self, campaign_id: int, terminal: Terminal, index: int, *, batch: int, pool: int = 10) -> None:
        self.terminal = terminal
        self.api = f"/api/campaigns/{campaign_id}/sites/{terminal.site_id}"
        self.headers = {"authorization": f"Bearer {terminal.token}"}
        self.index = index
        self.batch = batch
        self.pool = pool
        self.next_person = 0
        self.tube_no = 0
        self.in_tube = pool  # no tube open yet

    def exhausted(self) -> bool:
        return self.next_person + self.batch > len(self.terminal.numbers)

    def plan(self) -> tuple[list[str], list[dict]]:
        """The tubes to open and the scans of the next batch."""
        opens: list[str] = []
        scans: list[dict] = []
        now = datetime.now().isoformat()
        for _ in range(self.batch):
            if self.in_tube >= self.pool:
                self.tube_no += 1
                self.in_tube = 0
                opens.append(f"BENCH-{self.index}-{self.tube_no:06d}")
            code = f"BENCH-{self.index}-{self.tube_no:06d}"
            scans.append({"client_uuid": str(uuid.uuid4()), "tube_code": code, "id_number": self.terminal.numbers[self.next_person],
                          "sampled_at": now})
            self.next_person += 1
            self.in_tube += 1
        return opens, scans


class Refused(RuntimeError):
    """The server answered a batch or a tube with something other than success."""

    def __init__(self, what: str, status: int | None = None) -> None:
        super().__init__(what)
        self.status = status


class Http:
    """The terminals' client: one aiohttp session over keep-alive connections to 127.0.0.1.

    aiohttp, not httpx, on the client side: with sixteen terminals on one event loop httpx's async
    pool topped out near 110 requests a second on this machine, far below what the server answers,
    so the benchmark measured its own client."""

    def __init__(self, base: str, connections: int) -> None:
        self.base = base
        self.connections = connections
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Http:
        self.session = aiohttp.ClientSession(
            base_url=self.base, timeout=aiohttp.ClientTimeout(total=30),
            connector=aiohttp.TCPConnector(limit=self.connections, force_close=False),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    async def post(self, path: str, body: dict, headers: dict[str, str]) -> tuple[int, Any]:
        assert self.session is not None
        async with self.session.post(path, json=body, headers=headers) as r:
            try:
                return r.status, await r.json(content_type=None)
            except ValueError:  # not JSON: a proxy's own error page, a plain-text 500
                return r.status, None


async def send(http: Http, desk: Desk, opens: list[str], scans: list[dict], tally: Tally) -> None:
    """Send a batch of scans with the tubes it opens, as the terminal does; a batch of one opens
    its tube first and uses the single-scan endpoint."""
    for code in opens if len(scans) == 1 else ():
        status, _ = await http.post(desk.api + "/tubes", {"code": code}, desk.headers)
        tally.requests += 1
        if status not in (200, 201):
            raise Refused(f"open {code}: {status}", status)
    t = time.perf_counter()
    if len(scans) == 1:
        status, answer = await http.post(desk.api + "/scans", scans[0], desk.headers)
        if status >= 500:
            raise Refused(f"scan: {status}", status)
        results = [{"client_uuid": scans[0]["client_uuid"], "status": "error" if status >= 400 else answer["status"],
                    "error": answer if status >= 400 else None}]
    else:
        tubes = [{"code": code} for code in opens]
        status, answer = await http.post(desk.api + "/scans/batch", {"tubes": tubes, "scans": scans}, desk.headers)
        if status != 200:
            raise Refused(f"batch: {status}", status)
        results = answer["results"]
    tally.latencies_ms.append((time.perf_counter() - t) * 1000)
    tally.requests += 1
    for item in results:
        if item["status"] == "error":
            tally.errors += 1
            tally.failed(str(item.get("error")))
        else:
            tally.scans += 1
            tally.acknowledged.add(item["client_uuid"])


def stored_counts(url: str, acknowledged: set[str]) -> dict[str, int]:
    """What the database holds of the acknowledged scans: ``present`` (stored), ``lost`` (not
    stored), ``duplicates`` (stored more than once, plus people sampled twice in a round),
    ``stored`` (all samples) and ``tube_mismatches`` (tubes whose fill differs from their rows)."""
    engine = make_engine(url)
    ordered = sorted(acknowledged)
    counts: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            for k in range(0, len(ordered), 5000):
                chunk = ordered[k : k + 5000]
                rows = conn.execute(select(Sample.client_uuid, func.count()).where(Sample.client_uuid.in_(chunk)).group_by(Sample.client_uuid))
                counts.update({u: n for u, n in rows})
            stored = conn.scalar(select(func.count()).select_from(Sample)) or 0
            twice = conn.scalar(select(func.count()).select_from(
                select(Sample.person_id).group_by(Sample.campaign_id, Sample.person_id).having(func.count() > 1).subquery()
            )) or 0
            fill = (select(Tube.id, Tube.filled, func.count(Sample.id).label("n")).outerjoin(Sample, Sample.tube_id == Tube.id)
                    .group_by(Tube.id, Tube.filled).subquery())
            mismatches = conn.scalar(select(func.count()).select_from(fill).where(fill.c.filled != fill.c.n)) or 0
    finally:
        engine.dispose()
    return {
        "acknowledged": len(ordered), "present": sum(1 for u in ordered if counts.get(u, 0) >= 1),
        "duplicates": sum(1 for u in ordered if counts.get(u, 0) > 1) + twice,
        "lost": sum(1 for u in ordered if counts.get(u, 0) == 0), "stored": stored, "tube_mismatches": mismatches,
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def client(base: str, connections: int) -> Http:
    return Http(base, connections)


__all__ = ["Desk", "Http", "Refused", "Round", "Server", "Tally", "asyncio", "client", "fresh_database", "percentile", "prepare", "send",
           "stored_counts"]
