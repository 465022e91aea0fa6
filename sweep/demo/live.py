"""Play a scheduled day live, over the real HTTP API, as the sites' terminals and the lab would.

The day's clock runs ``speed`` times faster than the wall clock (360: six hours in a minute).
Each site's terminal logs in with its own account and sends its scans in batches, as a phone
does; the couriers sign boxes over and the lab signs for them and posts its results. The
dashboard, open in a browser, watches the round fill up.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import uvicorn

from sweep.demo.day import DaySchedule, Event
from sweep.plan.clock import running_clock

Progress = Callable[[datetime, int, int], None]


@dataclass(frozen=True)
class LiveResult:
    requests: int
    scans_sent: int
    errors: list[str]
    seconds: float


class Server:
    """The app served by uvicorn on a background thread, so the demo can drive it and keep it up."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.url} (is the port taken?)")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def wait(self) -> None:
        while self.thread.is_alive():
            self.thread.join(timeout=0.5)


class Terminals:
    """One logged-in HTTP client per site account, one for the lab and one for the supervision team."""

    def __init__(
        self, base_url: str, campaign_id: int, logins: dict[int, tuple[str, str]], lab_login: tuple[str, str], inspector_login: tuple[str, str]
    ) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=60.0)
        self.prefix = f"/api/campaigns/{campaign_id}"
        self.tokens = {site: self._token(*login) for site, login in logins.items()}
        self.lab = self._token(*lab_login)
        self.inspector = self._token(*inspector_login)
        self.requests = 0
        self.errors: list[str] = []

    def _token(self, username: str, password: str) -> dict[str, str]:
        r = self.client.post("/api/auth/token", json={"username": username, "password": password, "label": "demo terminal"})
        r.raise_for_status()
        return {"authorization": f"Bearer {r.json()['token']}"}

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        r = self.client.post(self.prefix + path, json=body, headers=headers)
        self.requests += 1
        if r.status_code >= 400:
            self.errors.append(f"{path}: {r.status_code} {r.text[:200]}")
            return None
        return r.json() if r.content else None

    def close(self) -> None:
        self.client.close()


def play_live(
    *,
    terminals: Terminals,
    schedule: DaySchedule,
    id_number_of: Callable[[int], str],
    speed: float,
    progress: Progress | None = None,
    batch: int = 50,
) -> LiveResult:
    """Send every event of the day when its time comes on the accelerated clock."""
    events: Sequence[Event] = schedule.sorted()
    if not events:
        return LiveResult(0, 0, [], 0.0)
    day_start = events[0].at
    wall_start = time.monotonic()
    pending: dict[int, list[dict[str, Any]]] = defaultdict(list)
    sent = 0

    def flush(site: int) -> None:
        nonlocal sent
        scans = pending.pop(site, [])
        for i in range(0, len(scans), batch):
            answer = terminals.post(f"/sites/{site}/scans/batch", {"scans": scans[i : i + batch]}, terminals.tokens[site])
            sent += len(scans[i : i + batch])
            for item in (answer or {}).get("results", []):
                if item["status"] == "error":
                    terminals.errors.append(f"scan {item['client_uuid']}: {item['error']}")

    def day_clock() -> datetime:
        return day_start + (time.monotonic() - wall_start) * speed * _SECOND

    i = 0
    # The server judges the terminals' times by the day being played, not by today's wall clock.
    with running_clock(day_clock):
        i = 0
        while i < len(events):
            clock = day_clock()
            while i < len(events) and events[i].at <= clock:
                e = events[i]
                if e.action == "scan":
                    a = e.args
                    who = {"walk_in": a["walk_in"]} if "walk_in" in a else {"id_number": id_number_of(a["person_id"])}
                    pending[e.site_id].append(
                        {"client_uuid": a["client_uuid"], "tube_code": a["tube_code"], "sampled_at": e.at.isoformat(), "kind": a["kind"], **who}
                    )
                else:
                    flush(e.site_id)
                    _send(terminals, e)
                i += 1
            for site in list(pending):
                flush(site)
            if progress:
                progress(clock, i, len(events))
            time.sleep(0.2)
    return LiveResult(terminals.requests, sent, terminals.errors, time.monotonic() - wall_start)


_SECOND = datetime(2000, 1, 1, 0, 0, 1) - datetime(2000, 1, 1)


def _send(t: Terminals, e: Event) -> None:
    a, site, at = e.args, e.site_id, e.at.isoformat()
    headers = t.tokens.get(site, t.lab)
    match e.action:
        case "check_in":
            t.post(f"/readiness/{a['item_id']}/check-in", {"quantity": a["quantity"], "at": at}, headers)
        case "open_tube":
            t.post(f"/sites/{site}/tubes", {"code": a["code"], "opened_at": at, "desk_no": a["desk"], "kind": a["kind"]}, headers)
        case "seal_tube":
            t.post(f"/sites/{site}/tubes/{a['code']}/seal", {"sealed_at": at}, headers)
        case "open_box":
            t.post(f"/sites/{site}/boxes", {"code": a["code"], "opened_at": at}, headers)
        case "pack":
            t.post(f"/sites/{site}/boxes/{a['box_code']}/tubes", {"tube_code": a["tube_code"]}, headers)
        case "hand_over":
            t.post(f"/sites/{site}/boxes/{a['box_code']}/handover", {"courier_staff_id": a["courier"], "handed_at": at}, headers)
        case "receive":
            t.post(f"/boxes/{a['box_code']}/receipt", {"received_at": at}, t.lab)
        case "result":
            ct = a["ct_value"]
            body: dict[str, Any] = {"tube_code": a["tube_code"], "result": a["result"], "resulted_at": at}
            if ct is not None:
                body["ct_values"] = {"ORF1ab": round(ct, 1), "N": round(ct - 1.5, 1)}
            t.post("/results", body, t.lab)
        case "inspect":
            body = {"plan_site_id": site, "template": "site", "visited_at": at, "checks": a["checks"], "findings": a["findings"]}
            t.post("/inspections", body, t.inspector)
        case _:
            raise ValueError(f"unknown action {e.action!r}")


class LiveDemo:
    """A prepared round served over HTTP, its terminals logged in, its day ready to play."""

    def __init__(self, *, ready: Any, host: str, port: int) -> None:
        import secrets

        import numpy as np
        from sqlalchemy import select, update

        from sweep.api import create_app
        from sweep.auth.service import create_user
        from sweep.config import Settings, get_settings
        from sweep.db import unit_of_work
        from sweep.demo.day import schedule_day
        from sweep.plan.models import Campaign, PlanSite

        self.ready = ready
        logins: dict[int, tuple[str, str]] = {}
        with unit_of_work(ready.factory) as session:
            campaign = session.get_one(Campaign, ready.campaign_id)
            self.schedule = schedule_day(session=session, campaign=campaign, rng=np.random.default_rng(ready.seed))
            # An account per site terminal and one for the lab; random passwords, used only by this player.
            for site_id, code in session.execute(select(PlanSite.id, PlanSite.code).where(PlanSite.campaign_id == campaign.id)):
                username, password = f"c{campaign.id}-{code}", secrets.token_urlsafe(12)
                create_user(session=session, username=username, display_name=f"{code} 点长", role="site_leader",
                            plan_site_id=site_id, password=password)
                logins[site_id] = (username, password)
            lab_login = (f"c{campaign.id}-lab", secrets.token_urlsafe(12))
            create_user(session=session, username=lab_login[0], display_name="检测机构", role="lab", password=lab_login[1])
            inspector_login = (f"c{campaign.id}-inspector", secrets.token_urlsafe(12))
            create_user(session=session, username=inspector_login[0], display_name="区督导组", role="inspector", password=inspector_login[1])
            session.execute(update(Campaign).where(Campaign.id == campaign.id).values(status="running"))
        settings = get_settings()
        self.app = create_app(settings=Settings(**{**settings.model_dump(), "database_url": ready.url}), engine=ready.engine)
        # Every terminal logs in from 127.0.0.1 at once: more than the per-address limit allows a person.
        self.app.state.login_limiter.attempts = max(self.app.state.login_limiter.attempts, len(logins) + 10)
        self.server = Server(self.app, host, port)
        self.server.start()
        self.terminals = Terminals(self.server.url, ready.campaign_id, logins, lab_login, inspector_login)

    def play(self, *, speed: float, progress: Progress | None = None) -> LiveResult:
        ids = self.ready.district.people.id_number
        try:
            # The demo database is new, so people were numbered from 1 in the district's order.
            return play_live(terminals=self.terminals, schedule=self.schedule, id_number_of=lambda pid: ids[pid - 1],
                             speed=speed, progress=progress)
        finally:
            self.terminals.close()

    def finish(self, *, result: LiveResult, report_dir: Any) -> dict[str, Any]:
        """Close the round, write its report, and summarise it from the database."""
        from sqlalchemy import update

        from sweep.db import unit_of_work
        from sweep.demo.run import summarise
        from sweep.plan.models import Campaign
        from sweep.report.render import write_html, write_xlsx
        from sweep.report.service import build_report

        with unit_of_work(self.ready.factory) as session:
            session.execute(update(Campaign).where(Campaign.id == self.ready.campaign_id).values(status="finished"))
            limits = self.app.state.settings
            report = build_report(session=session, campaign=session.get_one(Campaign, self.ready.campaign_id),
                                  wait_limit_minutes=limits.sample_wait_limit_minutes, transit_limit_minutes=limits.transit_limit_minutes)
            report_dir.mkdir(parents=True, exist_ok=True)
            written = [write_html(report, report_dir / "report.html"), write_xlsx(report, report_dir / "report.xlsx")]
        summary = summarise(self.ready, no_shows=self.schedule.no_shows)
        summary.update(
            {"requests": result.requests, "http_errors": len(result.errors), "live_seconds": round(result.seconds, 1),
             "report": [str(p) for p in written], "url": self.server.url}
        )
        return summary


def run_live(*, ready: Any, host: str, port: int, speed: float, report_dir: Any, console: Any) -> tuple[dict[str, Any], Server]:
    """Serve the prepared round, play its day over HTTP at ``speed``, write the report; keep serving."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from sweep.demo.run import DEMO_USER

    live = LiveDemo(ready=ready, host=host, port=port)
    console.print(f"[green]指挥大屏 dashboard:[/green] {live.server.url}/dashboard  ·  登录 log in: [bold]{DEMO_USER}[/bold] / [bold]{ready.password}[/bold]")
    with Progress(TextColumn("采样日 live day {task.fields[clock]}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
        task = bar.add_task("day", total=len(live.schedule.events), clock="")
        result = live.play(speed=speed, progress=lambda clock, done, total: bar.update(task, completed=done, clock=f"{clock:%H:%M}"))
    for line in result.errors[:10]:
        console.print(f"[red]{line}[/red]")
    return live.finish(result=result, report_dir=report_dir), live.server
