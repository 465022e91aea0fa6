"""The HQ dashboard in a real headless Chromium while the demo plays a live day over HTTP."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from rich.console import Console

from bench.fieldkit import free_port
from sweep.demo.live import LiveDemo
from sweep.demo.run import DEMO_USER, prepare


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveDemo]:
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    ready = prepare(url=url, people=3000, seed=8, console=Console(quiet=True), day=date(2026, 12, 1))
    demo = LiveDemo(ready=ready, host="127.0.0.1", port=free_port())
    yield demo
    demo.server.stop()
    ready.engine.dispose()


def _number(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text) or 0)


def test_dashboard_follows_the_live_day(live: LiveDemo, browser, tmp_path):  # type: ignore[no-untyped-def]
    base = live.server.url
    api = httpx.Client(base_url=base)
    token = api.post("/api/auth/token", json={"username": DEMO_USER, "password": live.ready.password}).json()["token"]
    api.headers["authorization"] = f"Bearer {token}"
    outside: list[str] = []
    # bypass_csp: the test's own waits evaluate strings, which the page's policy refuses
    # (tests/web/test_csp_browser.py loads the pages under the policy).
    page = browser.new_page(viewport={"width": 1600, "height": 900}, bypass_csp=True)

    def only_local(route):  # type: ignore[no-untyped-def]
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", only_local)
    page.goto(f"{base}/login?next=/dashboard")
    page.fill("input[name=username]", DEMO_USER)
    page.fill("input[name=password]", live.ready.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    page.wait_for_function("document.body.dataset.updated !== undefined")

    # Before the day: the page shows what the API says, and draws every site on the map.
    figures = api.get("/api/campaigns/latest/figures").json()
    assert _number(page.inner_text("#t-people")) == figures["people"] == 3000
    assert _number(page.inner_text("#t-sampled")) == figures["sampled"] == 0
    page.wait_for_selector("path.site")
    assert page.locator("path.site").count() == figures["sites"]
    assert page.locator("path.leaflet-interactive").count() > figures["sites"]  # the grids too

    # The day plays over HTTP; the page updates itself without a reload.
    seen: list[int] = []
    player = threading.Thread(target=lambda: live.__dict__.update(result=live.play(speed=2400)))
    player.start()
    while player.is_alive():
        seen.append(_number(page.inner_text("#t-sampled")))
        time.sleep(1.0)
    player.join()
    assert not live.result.errors, live.result.errors[:5]
    page.wait_for_timeout(6000)  # one more poll after the last write
    final = api.get("/api/campaigns/latest/figures").json()
    assert _number(page.inner_text("#t-sampled")) == final["sampled"] > 2900
    assert _number(page.inner_text("#t-tubes")) == final["tubes"]
    changes = sorted(set(seen))
    assert len(changes) >= 3, f"the page did not update while the day played: {seen}"
    assert seen == sorted(seen)
    assert page.locator("path.site-done").count() > 0

    # The language switch.
    page.click("#lang-en")
    page.wait_for_selector("text=Mass testing command dashboard")
    assert "Coverage" in page.inner_text("#tiles")
    page.screenshot(path=str(tmp_path / "dashboard.png"))
    assert outside == [], f"the dashboard asked for something beyond 127.0.0.1: {outside}"
    summary = live.finish(result=live.result, report_dir=tmp_path / "report")
    assert Path(summary["report"][0]).exists() and summary["sampled"] == final["sampled"]
