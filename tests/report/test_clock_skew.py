"""A terminal whose clock is off is named on the dashboard, with its skew; one on time is not."""

from __future__ import annotations

from datetime import timedelta

from sweep.field import tubes
from sweep.field.scan import ScanIn, scan_batch
from sweep.report.dashboard import SKEW_SHOWN_S, clock_skew
from tests.factories import planned_campaign, two_sites, uid
from tests.field.conftest import numbers_of

KEY = "test-secret"


def test_a_terminal_ahead_of_the_server_is_named_with_its_skew(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    fast, right = two_sites(session, campaign)
    numbers = [n for _pid, n in numbers_of(session, KEY, 4, skip=700)]
    received = start + timedelta(minutes=30)
    for site, ahead, people in ((fast, timedelta(minutes=10), numbers[:2]), (right, timedelta(seconds=5), numbers[2:])):
        code = f"SK-{uid()[:8]}"
        tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code=code, at=start)
        scans = [ScanIn(client_uuid=uid(), tube_code=code, sampled_at=received + ahead, id_number=n) for n in people]
        out = scan_batch(session=session, campaign=campaign, plan_site_id=site.id, scans=scans, key=KEY, now=received)
        assert [o.status for o in out] == ["ok", "ok"]
    named = clock_skew(session=session, campaign=campaign)
    assert [(s.site_code, s.skew_s, s.scans) for s in named] == [(fast.code, 600, 2)]
    assert SKEW_SHOWN_S < 600
