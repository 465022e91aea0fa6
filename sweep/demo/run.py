"""``sweep demo``: a synthetic district, its plan and its day, from an empty database to a summary."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from sweep import migrate
from sweep.auth.service import create_user
from sweep.config import get_settings
from sweep.coverage.service import round_figures
from sweep.db import make_engine, make_session_factory, normalise_url, unit_of_work
from sweep.demo.district import District, generate_district
from sweep.demo.keygroups import load_key_group_sheets
from sweep.demo.load import load_district
from sweep.demo.play import play_day
from sweep.plan.models import Campaign
from sweep.plan.planning import PlanOutcome, make_plan
from sweep.plan.service import create_campaign

# Sampling starts at seven in the morning, the usual start of a round in practice.
START_OF_SAMPLING = clock(7, 0)
# The demo's HQ account. Known in development so that a newcomer can log in to the demo's own
# database; in production mode a random password is made and printed once.
DEMO_USER = "hq"
DEMO_PASSWORD = "sweep-demo-2022"


def fresh_database(url: str) -> None:
    """Empty the demo database and build the schema from the migrations."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
    else:
        migrate.downgrade(url, "base")
    migrate.upgrade(url)


@dataclass
class Prepared:
    """A generated, loaded and planned district, ready for its day."""

    url: str
    seed: int
    engine: Engine
    factory: sessionmaker[Session]
    district: District
    campaign_id: int
    plan: PlanOutcome
    password: str
    timings: dict[str, float] = field(default_factory=dict)


def prepare(*, url: str, people: int, seed: int, console: Console, day: date | None = None) -> Prepared:
    """An empty database, a district of ``people``, and the plan of its first round."""
    settings = get_settings()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    fresh_database(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    timings["schema_seconds"] = time.perf_counter() - t

    with console.status(f"生成模拟辖区 generating a district of {people:,} people…"):
        t = time.perf_counter()
        district = generate_district(people=people, seed=seed)
        timings["generate_seconds"] = time.perf_counter() - t
    with console.status("写入人口登记 loading the registry…") as status:
        t = time.perf_counter()
        with engine.begin() as conn:
            load_district(conn, district, key=settings.secret_key, progress=lambda msg: status.update(f"写入 loading {msg}"))
        status.update("写入重点人群 loading the key groups' workplaces…")
        with unit_of_work(factory) as session:
            load_key_group_sheets(session=session, district=district, key=settings.secret_key)
        timings["load_seconds"] = time.perf_counter() - t
    console.print(f"[green]✓[/green] 辖区 district: {people:,} people in {timings['generate_seconds'] + timings['load_seconds']:.1f} s")

    with console.status("制定方案 planning the round…"):
        t = time.perf_counter()
        starts_at = datetime.combine(day or date.today() + timedelta(days=1), START_OF_SAMPLING)
        with unit_of_work(factory) as session:
            campaign = create_campaign(session=session, settings=settings, name="第1轮全员核酸检测 (演示)", starts_at=starts_at)
            plan = make_plan(session=session, settings=settings, campaign=campaign)
            campaign_id = campaign.id
            password = DEMO_PASSWORD if settings.environment == "development" else secrets.token_urlsafe(12)
            create_user(session=session, username=DEMO_USER, display_name="区指挥部 HQ", role="command", password=password)
        timings["plan_seconds"] = time.perf_counter() - t
    console.print(f"[green]✓[/green] 方案 plan: {plan.sites} sites, {plan.desks} desks")
    return Prepared(url, seed, engine, factory, district, campaign_id, plan, password, timings)


def run_demo(*, url: str, people: int, seed: int, console: Console | None = None, day: date | None = None) -> dict[str, Any]:
    """The whole round through the service layer, as fast as it goes; returns the summary."""
    console = console or Console(stderr=True, quiet=True)
    ready = prepare(url=url, people=people, seed=seed, console=console, day=day)
    t = time.perf_counter()
    with Progress(
        TextColumn("采样日 playing the day"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("sites", total=ready.plan.sites)
        played = play_day(
            factory=ready.factory,
            campaign_id=ready.campaign_id,
            rng=np.random.default_rng(seed),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    ready.timings["play_seconds"] = time.perf_counter() - t
    try:
        return summarise(ready, no_shows=played.no_shows)
    finally:
        ready.engine.dispose()


def summarise(ready: Prepared, *, no_shows: int) -> dict[str, Any]:
    """The summary, counted from the database: what was really played."""
    with unit_of_work(ready.factory) as session:
        campaign = session.get(Campaign, ready.campaign_id)
        assert campaign is not None
        fig = round_figures(session=session, campaign=campaign)
    finish = fig.finish_minutes
    return {
        "people": fig.people,
        "sampled": fig.sampled,
        "walk_ins": fig.walk_ins,
        "coverage": round(fig.coverage, 6),
        "sites": fig.sites,
        "desks": fig.desks,
        "tubes": fig.tubes,
        "boxes": fig.boxes,
        "results": fig.results,
        "positives": fig.positives,
        "retests_open": fig.retests_open,
        "no_shows": no_shows,
        "home_sampling": ready.plan.home_sampling,
        "staff_short": ready.plan.staff_short,
        "finish_minutes": None if finish is None else round(finish, 1),
        "deadline_minutes": fig.deadline_minutes,
        "on_time": finish is not None and finish <= fig.deadline_minutes,
        "campaign": ready.campaign_id,
        "login": {"username": DEMO_USER, "password": ready.password},
        "database": make_url(normalise_url(ready.url)).render_as_string(hide_password=True),
        **{k: round(v, 2) for k, v in ready.timings.items()},
    }
