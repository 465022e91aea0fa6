"""Receipt, results and the trace-back of a positive pool, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sweep.auth.scope import Scope
from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.field import service as field
from sweep.field import tubes
from sweep.lab import service as lab
from sweep.lab.models import RetestOrder
from tests.factories import courier, people, planned_campaign, scan_person, two_sites, uid


@pytest.fixture
def handed_over(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="LABT0001", at=start)
    ids = people(session, 10)
    for pid in ids:
        scan_person(session=session, campaign=campaign, plan_site_id=site.id, tube_code="LABT0001",
                          person_id=pid, client_uuid=uid(), sampled_at=start)
    field.open_box(session=session, campaign=campaign, plan_site_id=site.id, code="LABB0001", at=start)
    field.pack_tube(session=session, campaign=campaign, plan_site_id=site.id, box_code="LABB0001", tube_code="LABT0001")
    field.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code="LABB0001",
                        courier_staff_id=courier(session, campaign, site.id), at=start + timedelta(minutes=30))
    return campaign, ids


def test_a_result_before_receipt_is_refused(session, handed_over, start):
    campaign, _ = handed_over
    with pytest.raises(Conflict, match="received"):
        lab.record_result(session=session, campaign=campaign, tube_code="LABT0001", result="negative", at=start)


def test_a_positive_pool_is_traced_to_its_ten_and_orders_retests(session, handed_over, start):
    campaign, ids = handed_over
    lab.receive_box(session=session, campaign=campaign, box_code="LABB0001", at=start + timedelta(hours=1))
    with pytest.raises(Conflict):
        lab.receive_box(session=session, campaign=campaign, box_code="LABB0001", at=start + timedelta(hours=1))
    lab.record_result(session=session, campaign=campaign, tube_code="LABT0001", result="positive", ct_value=31.5, at=start + timedelta(hours=3))
    traced = lab.trace_tube(session=session, scope=Scope.system(), campaign=campaign, tube_code="LABT0001").people
    assert sorted(t.person_id for t in traced) == sorted(ids)
    assert [t.position for t in traced] == list(range(1, 11))
    assert all("*" in t.id_masked for t in traced)
    orders = session.scalars(select(RetestOrder).where(RetestOrder.campaign_id == campaign.id)).all()
    assert sorted(o.person_id for o in orders) == sorted(ids)
    closed = lab.close_retest(session=session, campaign=campaign, order_id=orders[0].id, result="negative", at=start + timedelta(hours=5))
    assert closed.status == "closed"
    with pytest.raises(Conflict):
        lab.record_result(session=session, campaign=campaign, tube_code="LABT0001", result="negative", at=start + timedelta(hours=4))


def test_bad_results_name_the_field(session, handed_over, start):
    campaign, _ = handed_over
    with pytest.raises(InvalidInput) as err:
        lab.record_result(session=session, campaign=campaign, tube_code="LABT0001", result="maybe", at=start)
    assert err.value.field == "result"
    with pytest.raises(NotFound) as err:
        lab.record_result(session=session, campaign=campaign, tube_code="XXXX0000", result="negative", at=start)
    assert err.value.field == "tube_code"
    with pytest.raises(InvalidInput) as err:
        lab.receive_box(session=session, campaign=campaign, box_code="LABB0001", at=start)
    assert err.value.field == "received_at"
