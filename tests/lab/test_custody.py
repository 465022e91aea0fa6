"""The chain of custody in view: a box from opening to results, the red flags for tubes held at a site
and boxes on the road past their limits, the trace's box, hand-over and receipt, transit per site."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sweep.auth.scope import Scope
from sweep.field import service as field
from sweep.lab import custody
from sweep.lab import service as lab
from sweep.report.dashboard import snapshot
from tests.factories import courier, people, planned_campaign, two_sites
from tests.lab.helpers import sample_tube

WAIT, TRANSIT = 120, 120


@pytest.fixture
def day(session, settings, start, district_loaded):  # type: ignore[no-untyped-def]
    """Three tubes: one held at the site three hours, one whose box was on the road two and a half,
    one sealed and still waiting; and a box on the road for an hour and a half, not yet arrived."""
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    who = courier(session, campaign, site.id)
    ids = people(session, 40)
    h = lambda hours: start + timedelta(hours=hours)  # noqa: E731

    def ship(box: str, tubes: list[str], handed: float, received: float | None) -> None:
        field.open_box(session=session, campaign=campaign, plan_site_id=site.id, code=box, at=h(handed) - timedelta(minutes=5))
        for t in tubes:
            field.pack_tube(session=session, campaign=campaign, plan_site_id=site.id, box_code=box, tube_code=t, at=h(handed) - timedelta(minutes=1))
        field.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code=box, courier_staff_id=who, at=h(handed))
        if received is not None:
            lab.receive_box(session=session, campaign=campaign, box_code=box, at=h(received))

    sample_tube(session, campaign, site.id, "CUST0001", ids[0:10], h(0))  # full: sealed at its tenth swab, 3 min in
    sample_tube(session, campaign, site.id, "CUST0002", ids[10:13], h(1))  # sealed by hand 5 min after
    sample_tube(session, campaign, site.id, "CUST0003", ids[13:15], h(4))
    sample_tube(session, campaign, site.id, "CUST0004", ids[15:17], h(4.9))
    ship("CBOX0001", ["CUST0001"], 3.05, 3.55)
    ship("CBOX0002", ["CUST0002"], 1.5, 4.0)
    ship("CBOX0003", ["CUST0004"], 5.0, None)
    return campaign, site, who, h


def test_a_box_shows_its_tubes_times_courier_and_results(session, day):
    campaign, site, who, h = day
    now = h(6.5)
    view = custody.box_view(scope=Scope.system(), session=session, campaign=campaign, box_code="CBOX0001", now=now, wait_limit_minutes=WAIT,
                            transit_limit_minutes=TRANSIT)
    assert (view.tubes, view.people, view.status, view.site_code) == (1, 10, "received", site.code)
    assert view.courier_staff_id == who and view.courier_name
    assert view.handed_at == h(3.05) and view.received_at == h(3.55) and view.transit_minutes == 30
    assert view.tubes_waited_too_long == 1 and not view.transit_too_long
    assert view.tube_list[0].waited_too_long and view.tube_list[0].waited_minutes > WAIT
    assert view.results == {"negative": 0, "positive": 0, "invalid": 0, "pending": 1}
    lab.record_result(session=session, campaign=campaign, tube_code="CUST0001", result="negative", at=h(5))
    view = custody.box_view(scope=Scope.system(), session=session, campaign=campaign, box_code="CBOX0001", now=now, wait_limit_minutes=WAIT,
                            transit_limit_minutes=TRANSIT)
    assert view.results["negative"] == 1 and view.results["pending"] == 0 and view.tube_list[0].result == "negative"
    on_road = custody.box_view(scope=Scope.system(), session=session, campaign=campaign, box_code="CBOX0002", now=now, wait_limit_minutes=WAIT,
                               transit_limit_minutes=TRANSIT)
    assert on_road.transit_too_long and on_road.transit_minutes == 150 and on_road.tubes_waited_too_long == 0
    with pytest.raises(Exception) as err:
        custody.box_view(scope=Scope.system(), session=session, campaign=campaign, box_code="NOSUCHBOX", now=now, wait_limit_minutes=WAIT,
                         transit_limit_minutes=TRANSIT)
    assert getattr(err.value, "field", None) == "box_code"


def test_tubes_held_too_long_and_boxes_too_long_on_the_road_are_flagged(session, day):
    campaign, site, _who, h = day
    found = custody.custody_flags(scope=Scope.system(), session=session, campaign=campaign, now=h(6.5), wait_limit_minutes=WAIT, transit_limit_minutes=TRANSIT)
    waits = {f.tube_code: f for f in found.flags if f.kind == "sample_wait"}
    trips = {f.box_code: f for f in found.flags if f.kind == "transit"}
    # CUST0001 left three hours after it was sealed; CUST0003 is still at the site, 2.5 h after.
    assert set(waits) == {"CUST0001", "CUST0003"} and found.tubes_waited_too_long == 2
    assert not waits["CUST0001"].still_open and waits["CUST0003"].still_open
    assert waits["CUST0003"].minutes == pytest.approx(150 - 5, abs=0.1) and waits["CUST0003"].site_code == site.code
    assert waits["CUST0001"].box_code == "CBOX0001"
    # CBOX0002 took two and a half hours; CBOX0003 has been on the road for an hour and a half, within the limit.
    assert set(trips) == {"CBOX0002"} and found.boxes_too_long_in_transit == 1 and trips["CBOX0002"].minutes == 150
    assert [f.minutes for f in found.flags if f.kind == "sample_wait"] == sorted((f.minutes for f in waits.values()), reverse=True)
    # Two hours later the box still on the road is late too; a tighter limit flags more tubes.
    later = custody.custody_flags(scope=Scope.system(), session=session, campaign=campaign, now=h(8), wait_limit_minutes=WAIT, transit_limit_minutes=TRANSIT)
    assert {f.box_code for f in later.flags if f.kind == "transit"} == {"CBOX0002", "CBOX0003"}
    tight = custody.custody_flags(scope=Scope.system(), session=session, campaign=campaign, now=h(6.5), wait_limit_minutes=20, transit_limit_minutes=TRANSIT)
    assert tight.tubes_waited_too_long == 3  # all but the tube that left a minute after it was sealed
    # Before anything was sealed, nothing is flagged.
    assert custody.custody_flags(scope=Scope.system(), session=session, campaign=campaign, now=h(-1), wait_limit_minutes=WAIT,
                                 transit_limit_minutes=TRANSIT).flags == []


def test_the_dashboard_carries_the_flags(session, day):
    campaign, _site, _who, _h = day
    # The dashboard's clock is the wall clock (the test round lies in the future) or the last swab.
    data = snapshot(session=session, campaign=campaign, wait_limit_minutes=WAIT, transit_limit_minutes=TRANSIT)
    assert data["custody"]["tubes_waited_too_long"] >= 1
    assert {"kind", "site_code", "minutes", "limit_minutes"} <= set(data["custody"]["flags"][0])


def test_the_trace_shows_the_box_the_hand_over_and_the_receipt(session, day):
    campaign, _site, _who, h = day
    traced = lab.trace_tube(session=session, campaign=campaign, tube_code="CUST0002", scope=Scope.system())
    assert traced.box_code == "CBOX0002" and traced.handed_at == h(1.5) and traced.received_at == h(4.0)
    assert traced.courier_name and traced.packed_at is not None
    waiting = lab.trace_tube(session=session, campaign=campaign, tube_code="CUST0003", scope=Scope.system())
    assert waiting.box_code is None and waiting.handed_at is None and waiting.received_at is None


def test_transit_times_per_site(session, day):
    campaign, site, _who, _h = day
    rows = {t.code: t for t in custody.transit_by_site(session=session, campaign=campaign, wait_limit_minutes=WAIT,
                                                      transit_limit_minutes=TRANSIT)}
    mine = rows[site.code]
    assert (mine.boxes, mine.handed_over, mine.received) == (3, 3, 2)
    # Waits (first seal to hand-over): 3.05 h - 3 min, 1.5 h - 5 min (sealed by hand), 5 h - 4.9 h - 5 min.
    assert mine.wait_max_minutes == pytest.approx(180, abs=0.1) and mine.boxes_waited_too_long == 1
    assert (mine.transit_median_minutes, mine.transit_max_minutes, mine.boxes_too_long_in_transit) == (90, 150, 1)
    assert all(t.boxes == 0 for code, t in rows.items() if code != site.code)
