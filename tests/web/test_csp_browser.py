"""The pages under their own Content-Security-Policy in a real headless Chromium: the terminal, the
dashboard and the API docs run with no inline script and nothing from outside, and the browser
reports no violation."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from sweep.auth.service import create_user
from sweep.db import make_engine, make_session_factory, unit_of_work
from tests.web.conftest import PASSWORD, Served


def _page(browser, served: Served, username: str, target: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def only_local(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(("data:", "blob:")) or urlparse(route.request.url).hostname == "127.0.0.1":
            return route.continue_()
        problems.append(f"fetched from outside: {route.request.url}")
        return route.abort()

    page.route("**/*", only_local)
    page.goto(f"{served.base}/login?next={target}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf".*{re.escape(target)}$"))
    return context, page, problems


def test_the_pages_run_under_their_policy(browser, served: Served):
    engine = make_engine(served.db_url)
    with unit_of_work(make_session_factory(engine)) as session:
        create_user(session=session, username="csp-hq", display_name="指挥部", role="command", password=PASSWORD)
    engine.dispose()

    context, page, problems = _page(browser, served, "csp-hq", "/dashboard")
    page.wait_for_selector("body[data-updated]", timeout=20_000)  # the dashboard's script ran and read its settings
    page.wait_for_selector("path.site")
    again = page.goto(f"{served.base}/dashboard")
    assert "script-src 'self'" in again.headers["content-security-policy"]
    page.wait_for_selector("body[data-updated]", timeout=20_000)
    context.close()
    assert not [p for p in problems if "Content Security Policy" in p or "outside" in p], problems

    context, page, problems = _page(browser, served, served.username, "/terminal/")
    page.wait_for_selector("#scan")
    page.locator("#scan").press_sequentially("WEB-CSP-0001", delay=5)
    page.keyboard.press("Enter")
    page.wait_for_selector("#tube-code:has-text('WEB-CSP-0001')", timeout=20_000)  # the terminal's script took the scan
    context.close()
    assert not [p for p in problems if "Content Security Policy" in p or "outside" in p], problems

    context, page, problems = _page(browser, served, "csp-hq", "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "Sweep" in page.inner_text(".swagger-ui .info .title")
    context.close()
    assert not [p for p in problems if "Content Security Policy" in p or "outside" in p], problems
