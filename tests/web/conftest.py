"""A real server on 127.0.0.1 (uvicorn in a thread) over its own SQLite round, and the system's Chromium, for the
browser tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import uvicorn
from sqlalchemy import select

from bench.fieldkit import free_port
from sweep import migrate
from sweep.api import create_app
from sweep.auth.service import create_user
from sweep.config import Settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.district import generate_district
from sweep.demo.load import load_district
from sweep.plan.models import PlanSite
from sweep.plan.planning import make_plan
from sweep.plan.service import create_campaign

PASSWORD = "terminal password 1"
KEY = "web-test-secret"
# Debian's Chromium, headless, with nothing of its own reaching out to the network.
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Served:
    base: str
    db_url: str
    username: str
    campaign_id: int
    site_id: int
    id_numbers: list[str]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'terminal.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key=KEY)
    engine = make_engine(url)
    district = generate_district(people=600, seed=11)
    with engine.begin() as conn:
        load_district(conn, district, key=KEY)
    with unit_of_work(make_session_factory(engine)) as session:
        # The round started an hour ago, so that the terminal's own clock falls inside it.
        campaign = create_campaign(session=session, settings=settings, name="终端测试轮", starts_at=datetime.now() - timedelta(hours=1))
        make_plan(session=session, settings=settings, campaign=campaign)
        site = session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)).first()
        assert site is not None
        create_user(session=session, username="desk1", display_name="一号台登记员", role="site_staff", plan_site_id=site.id, password=PASSWORD)
        campaign_id, site_id = campaign.id, site.id
    server = uvicorn.Server(uvicorn.Config(create_app(settings=settings, engine=engine), host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    # People pooled at a desk: key groups are sampled one to a tube.
    pooled = [n for n, group in zip(district.people.id_number, district.people.key_group, strict=True) if group == 0]
    yield Served(f"http://127.0.0.1:{port}", url, "desk1", campaign_id, site_id, pooled)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()
