"""Take docs/dashboard.png: the dashboard in headless Chromium while a demo day plays live.

    python scripts/dashboard_screenshot.py [--people 30000] [--at 0.55]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from rich.console import Console

from sweep.demo.live import LiveDemo
from sweep.demo.run import DEMO_USER, prepare

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUT = Path(__file__).resolve().parents[1] / "docs" / "dashboard.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--at", type=float, default=0.55, help="share of the day's events played before the picture")
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ready = prepare(url=f"sqlite:///{tmp}/shot.db", people=args.people, seed=1, console=Console(stderr=True))
        live = LiveDemo(ready=ready, host="127.0.0.1", port=args.port)
        progress = {"done": 0, "total": 1}
        player = threading.Thread(
            target=live.play, kwargs={"speed": 600, "progress": lambda _c, d, t: progress.update(done=d, total=t)}, daemon=True
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.goto(f"{live.server.url}/login?next=/dashboard")
            page.fill("input[name=username]", DEMO_USER)
            page.fill("input[name=password]", ready.password)
            page.click("button[type=submit]")
            page.wait_for_url("**/dashboard")
            player.start()
            while progress["done"] < args.at * progress["total"]:
                time.sleep(0.5)
            page.wait_for_timeout(6000)
            page.screenshot(path=str(OUT))
            browser.close()
        live.server.stop()
        ready.engine.dispose()
    print(OUT)


if __name__ == "__main__":
    main()
