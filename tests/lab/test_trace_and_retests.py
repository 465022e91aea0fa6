"""A positive pool traced to its people with contacts only for the roles allowed; retests closed by their results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sweep.auth.scope import Scope
from sweep.auth.service import create_user
from sweep.lab import service as lab
from sweep.lab.alerts import alerts
from sweep.lab.models import RetestOrder
from sweep.registry.models import Person
from tests.factories import people, planned_campaign, two_sites
from tests.lab.helpers import sample_tube, ship


@pytest.fixture
def positive_pool(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    ids = people(session, 10)
    sample_tube(session, campaign, site.id, "POS00001", ids, start)
    received = ship(session, campaign, site.id, "POSB0001", ["POS00001"], start + timedelta(minutes=30))
    state = lab.record_result(session=session, campaign=campaign, tube_code="POS00001", result="positive",
                              ct_values={"ORF1ab": 33.0, "N": 31.5}, at=received + timedelta(hours=2))
    assert state.retests_ordered == 10
    return campaign, site, ids, received + timedelta(hours=2)


def _user(session, role, **kw):  # type: ignore[no-untyped-def]
    return create_user(session=session, username=f"{role}-{kw.get('office_id', '')}-{kw.get('plan_site_id', '')}", display_name=role, role=role, **kw)


def test_the_trace_shows_contacts_only_to_roles_allowed(session, positive_pool):
    campaign, site, ids, _ = positive_pool
    everyone = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    command = _user(session, "command")
    trace = lab.trace_tube(session=session, campaign=campaign, tube_code="POS00001", scope=Scope.of(command))
    assert trace.result == "positive" and trace.ct_value == 31.5 and trace.site_code == site.code
    assert [t.person_id for t in trace.people] == ids
    assert all(t.name == everyone[t.person_id].name and t.phone == everyone[t.person_id].phone for t in trace.people)
    assert all(t.building and t.sampled_at and t.site_code == site.code for t in trace.people)

    lab_user = _user(session, "lab")
    hidden = lab.trace_tube(session=session, campaign=campaign, tube_code="POS00001", scope=Scope.of(lab_user)).people
    assert [t.person_id for t in hidden] == ids
    assert all(t.name is None and t.phone is None and t.building is None and not t.contacts_shown for t in hidden)
    assert all(t.id_masked.count("*") == 8 and t.community for t in hidden)

    office_id = everyone[ids[0]].office_id
    office = _user(session, "office", office_id=office_id)
    scoped = lab.trace_tube(session=session, campaign=campaign, tube_code="POS00001", scope=Scope.of(office)).people
    for t in scoped:
        assert t.contacts_shown == (everyone[t.person_id].office_id == office_id)
        assert (t.phone is not None) == t.contacts_shown


def test_retests_are_closed_by_their_own_results(session, positive_pool, start):
    campaign, site, ids, resulted = positive_pool
    orders = {o.person_id: o for o in session.scalars(select(RetestOrder).where(RetestOrder.campaign_id == campaign.id))}
    assert set(orders) == set(ids)
    assert all(o.status == "open" and o.due_at == resulted + lab.RETEST_WITHIN for o in orders.values())

    at = resulted + timedelta(hours=1)
    sample_tube(session, campaign, site.id, "RET00001", ids[:1], at, kind="retest")
    sample_tube(session, campaign, site.id, "RET00002", ids[1:2], at, kind="retest")
    lab_at = ship(session, campaign, site.id, "RETB0001", ["RET00001", "RET00002"], at + timedelta(minutes=10))
    board = alerts(session=session, scope=Scope.system(), campaign=campaign, now=at + timedelta(minutes=20))
    assert [a.tube_code for a in board] == ["POS00001"]
    assert {r.person_id: r.status for r in board[0].retests}[ids[0]] == "sampled"

    closed = lab.record_result(session=session, campaign=campaign, tube_code="RET00001", result="negative", at=lab_at + timedelta(hours=1))
    assert (closed.retests_closed, closed.retests_ordered) == (1, 0)
    first = session.get(RetestOrder, orders[ids[0]].id)
    session.refresh(first)
    assert first.status == "closed" and first.result == "negative" and first.sample_id is not None

    again = lab.record_result(session=session, campaign=campaign, tube_code="RET00002", result="invalid", at=lab_at + timedelta(hours=1))
    assert (again.retests_closed, again.retests_ordered) == (1, 1)
    second = session.execute(select(RetestOrder.status, RetestOrder.result)
                             .where(RetestOrder.person_id == ids[1], RetestOrder.campaign_id == campaign.id).order_by(RetestOrder.id)).all()
    assert [tuple(o) for o in second] == [("closed", "invalid"), ("open", None)]

    later = lab_at + timedelta(hours=9)
    board = alerts(session=session, scope=Scope.system(), campaign=campaign, now=later)
    lines = {r.person_id: r for a in board for r in a.retests}
    assert board[0].tube_code == "RET00002" and board[1].tube_code == "POS00001"
    assert board[1].open == 8 and board[1].overdue == 8
    assert lines[ids[0]].status == "closed" and not lines[ids[0]].overdue


def test_a_confirmed_positive_stays_on_the_board_and_offices_see_their_own(session, positive_pool):
    campaign, _site, ids, resulted = positive_pool
    orders = session.scalars(select(RetestOrder).where(RetestOrder.campaign_id == campaign.id).order_by(RetestOrder.id)).all()
    for order in orders:
        lab.close_retest(session=session, campaign=campaign, order_id=order.id, at=resulted + timedelta(hours=3),
                         result="positive" if order.person_id == ids[3] else "negative")
    assert alerts(session=session, scope=Scope.system(), campaign=campaign, now=resulted)[0].confirmed == 1
    office_of = dict(session.execute(select(Person.id, Person.office_id).where(Person.id.in_(ids))).all())
    office_id = office_of[ids[3]]
    scoped = alerts(session=session, campaign=campaign, now=resulted, scope=Scope(role='office', office_id=office_id), include_closed=True)
    assert {r.person_id for a in scoped for r in a.retests} == {p for p in ids if office_of[p] == office_id}
    lab_user = _user(session, "lab")
    hidden = alerts(session=session, campaign=campaign, now=resulted, scope=Scope.of(lab_user))[0].retests
    assert all(r.name is None and r.phone is None for r in hidden)
