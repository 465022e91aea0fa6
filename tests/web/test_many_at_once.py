"""Many terminals at once against the real server: more requests than pooled connections must
queue for a connection, not stall the server (the log-in check runs off the event loop)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.web.conftest import PASSWORD, Served

# More than a pool holds (SQLAlchemy's default: 5 + 10 overflow), all at the same moment.
AT_ONCE = 40


def test_more_requests_than_connections_are_all_answered(served: Served):
    token = httpx.post(f"{served.base}/api/auth/token", json={"username": served.username, "password": PASSWORD}).json()["token"]
    headers = {"authorization": f"Bearer {token}"}
    url = f"{served.base}/api/campaigns/{served.campaign_id}/sites/{served.site_id}/terminal"

    def ask(_: int) -> int:
        # Shorter than the pool's own 30 s wait: a stalled server shows as a timeout here.
        return httpx.get(url, headers=headers, timeout=20).status_code

    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        answers = list(pool.map(ask, range(AT_ONCE)))
    assert answers == [200] * AT_ONCE
