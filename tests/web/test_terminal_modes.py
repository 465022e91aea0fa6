"""The terminal's modes in a real headless Chromium: a walk-in registered and sampled at the desk
(online, offline through the same queue, and a pre-registration completed), and a retest taken in
retest mode into a single tube of that person, whose order only that person's result closes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.field.models import Sample, Tube, WalkIn
from sweep.lab import service as lab
from sweep.lab.models import RetestOrder
from sweep.plan.models import Campaign
from sweep.registry.models import Person
from sweep.registry.service import id_lookup_hash
from tests.factories import outsider_number
from tests.lab.helpers import sample_tube, ship
from tests.web.conftest import KEY, Served
from tests.web.test_terminal import _logged_in_phone, _scan

QUEUE_EMPTY = "document.getElementById('queue-count').textContent === '0'"


def _walk_in_form(page, number: str, name: str, *, doc_type: str = "id_card", address: str = "", reason: str = "visitor",  # type: ignore[no-untyped-def]
                  phone: str = "") -> None:
    if page.locator("#walkin-form").is_hidden():
        page.click("#walkin-open")
    page.select_option("#walkin-doc-type", doc_type)
    page.fill("#walkin-number", number)
    page.fill("#walkin-name", name)
    page.fill("#walkin-phone", phone)
    page.fill("#walkin-address", address)
    page.select_option("#walkin-reason", reason)
    page.click("#walkin-submit")


def _walk_in_row(served: Served, name: str) -> tuple[str, str | None, str, str] | None:
    engine = make_engine(served.db_url)
    with engine.connect() as conn:
        row = conn.execute(select(Tube.code, WalkIn.address, WalkIn.reason, Sample.kind).join(Sample, Sample.person_id == WalkIn.person_id)
                           .join(Tube, Tube.id == Sample.tube_id).join(Person, Person.id == WalkIn.person_id)
                           .where(Person.name == name, WalkIn.campaign_id == served.campaign_id)).first()
    engine.dispose()
    return None if row is None else tuple(row)  # type: ignore[return-value]


def test_a_walk_in_is_registered_and_sampled_at_the_terminal_online_and_offline(browser, served: Served):
    context, page = _logged_in_phone(browser, served, locale="zh-CN")
    _scan(page, "WEB-WI-0001")
    page.wait_for_function("document.getElementById('tube-code').textContent === 'WEB-WI-0001'")
    page.wait_for_function(QUEUE_EMPTY)  # the tube's opening sent, so that the queue below holds only what the form adds
    # A wrong check digit is refused on the terminal, naming the field; nothing is queued.
    number = outsider_number()
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    _walk_in_form(page, wrong, "临时甲", address="航空港区某工地宿舍", reason="worker")
    assert page.locator("#message").get_attribute("data-kind") == "error" and "身份证号" in page.locator("#message").text_content()
    assert page.locator("#queue-count").text_content() == "0" and page.locator("#fill").text_content() == "0/10"
    # Corrected: registered and scanned into the current tube.
    page.fill("#walkin-number", number)
    page.click("#walkin-submit")
    page.wait_for_function(QUEUE_EMPTY)
    page.wait_for_function("document.querySelectorAll('#recent li[data-state=ok]').length === 1")
    assert page.locator("#fill").text_content() == "1/10" and page.locator("#walkin-form").is_hidden()
    assert _walk_in_row(served, "临时甲") == ("WEB-WI-0001", "航空港区某工地宿舍", "worker", "pooled")

    # Offline: a passport holder queued like any scan, stored once back online.
    context.set_offline(True)
    page.wait_for_function("document.getElementById('net').dataset.state === 'offline'")
    _walk_in_form(page, "E12345678", "临时乙", doc_type="passport", address="某宾馆", phone="13700004444")
    page.wait_for_function("document.getElementById('queue-count').textContent === '1'")
    assert _walk_in_row(served, "临时乙") is None
    recent = page.locator("#recent").text_content()
    assert "E12345678" not in recent and "E1*****78" in recent  # masked on the screen as the registry masks it
    context.set_offline(False)
    page.wait_for_function(QUEUE_EMPTY, timeout=20_000)
    page.wait_for_function("document.querySelectorAll('#recent li[data-state=ok]').length === 2")
    assert _walk_in_row(served, "临时乙") == ("WEB-WI-0001", "某宾馆", "visitor", "pooled")

    # A pre-registration of someone not in the registry: the code asks for the rest of the form.
    stranger = outsider_number()
    made = page.request.post(f"{served.base}/api/campaigns/{served.campaign_id}/preregistrations", data={"id_number": stranger})
    assert made.ok, made.text()
    code = made.json()["code"]
    _scan(page, code)
    page.wait_for_function("!document.getElementById('walkin-form').hidden", timeout=20_000)
    assert page.locator("#walkin-number").input_value() == code
    page.fill("#walkin-name", "预登记丙")
    page.fill("#walkin-address", "某小区")
    page.select_option("#walkin-reason", "new_resident")
    page.click("#walkin-submit")
    page.wait_for_function(QUEUE_EMPTY)
    page.wait_for_function("document.querySelectorAll('#recent li[data-state=ok]').length === 3")
    assert _walk_in_row(served, "预登记丙") == ("WEB-WI-0001", "某小区", "new_resident", "pooled")
    engine = make_engine(served.db_url)
    with engine.connect() as conn:
        assert conn.scalar(select(Person.id_hash).where(Person.name == "预登记丙")) == id_lookup_hash(stranger, key=KEY)
    engine.dispose()
    context.close()


def _positive_pool(served: Served, numbers: list[str]) -> list[int]:
    """Two people pooled at the site, their tube found positive: both ordered a retest."""
    engine = make_engine(served.db_url)
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = session.get(Campaign, served.campaign_id)
        ids = [session.scalar(select(Person.id).where(Person.id_hash == id_lookup_hash(n, key=KEY))) for n in numbers]
        at = datetime.now() - timedelta(minutes=50)
        sample_tube(session, campaign, served.site_id, "WEB-POS-0001", ids, at)
        received = ship(session, campaign, served.site_id, "WEB-POSBOX-1", ["WEB-POS-0001"], at + timedelta(minutes=1))
        lab.record_result(session=session, campaign=campaign, tube_code="WEB-POS-0001", result="positive", at=received)
    engine.dispose()
    return ids  # type: ignore[return-value]


def test_a_retest_is_taken_in_retest_mode_into_a_single_tube_of_that_person(browser, served: Served):
    first, second = served.id_numbers[80], served.id_numbers[81]
    ids = _positive_pool(served, [first, second])
    context, page = _logged_in_phone(browser, served, locale="zh-CN")
    # A pooled tube opened in pooled mode takes no retest.
    _scan(page, "WEB-RT-POOL")
    page.click("#mode-retest")
    assert page.locator(".retests").is_visible() and page.locator(".walkin").is_hidden()
    page.wait_for_function("document.querySelectorAll('#retests li').length >= 2")
    assert "WEB-POS-0001" in page.locator("#retests").text_content()
    _scan(page, first)
    assert "单人单管" in page.locator("#message").text_content()
    # A tube scanned in retest mode is a single tube: one person, sealed at once.
    _scan(page, "WEB-RT-0001")
    page.wait_for_function("document.getElementById('fill').textContent === '0/1'")
    _scan(page, first)
    page.wait_for_function(QUEUE_EMPTY)
    page.wait_for_function("document.querySelectorAll('#recent li[data-state=ok]').length === 1")
    assert page.locator("#fill").text_content() == "1/1"
    _scan(page, second)  # the tube holds one: the terminal asks for a new tube, nothing is sent
    assert "新的管码" in page.locator("#message").text_content()
    engine = make_engine(served.db_url)
    with engine.connect() as conn:
        tube = conn.execute(select(Tube.kind, Tube.pool_size, Tube.filled, Tube.status).where(Tube.code == "WEB-RT-0001")).one()
        assert tuple(tube) == ("single", 1, 1, "sealed")
        sampled = conn.execute(select(Sample.person_id, Sample.kind).join(Tube, Tube.id == Sample.tube_id)
                               .where(Tube.code == "WEB-RT-0001")).all()
        assert [tuple(s) for s in sampled] == [(ids[0], "retest")]
    # The list shows the first as sampled, once the terminal asks again.
    page.click("#mode-sample")
    page.click("#mode-retest")
    page.wait_for_function("document.querySelectorAll('#retests li[data-state=ok]').length === 1")
    context.close()
    # The lab's negative for that tube closes the first person's order only.
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = session.get(Campaign, served.campaign_id)
        received = ship(session, campaign, served.site_id, "WEB-RTBOX-1", ["WEB-RT-0001"], datetime.now())
        lab.record_result(session=session, campaign=campaign, tube_code="WEB-RT-0001", result="negative", at=received)
        orders = dict(session.execute(select(RetestOrder.person_id, RetestOrder.status).where(
            RetestOrder.campaign_id == served.campaign_id, RetestOrder.person_id.in_(ids))).all())
    engine.dispose()
    assert orders == {ids[0]: "closed", ids[1]: "open"}


def test_a_pooled_tube_opened_five_to_a_tube_fills_and_seals_at_five(browser, served: Served):
    context, page = _logged_in_phone(browser, served, locale="zh-CN")
    assert page.locator("#pool-size").is_visible()
    page.select_option("#pool-size", "5")
    _scan(page, "WEB-P5-0001")
    page.wait_for_function("document.getElementById('fill').textContent === '0/5'")
    for number in served.id_numbers[90:95]:
        _scan(page, number)
    page.wait_for_function(QUEUE_EMPTY)
    page.wait_for_function("document.querySelectorAll('#recent li[data-state=ok]').length === 5")
    assert page.locator("#fill").text_content() == "5/5"
    page.click("#mode-single")  # the choice belongs to pooled mode only
    assert page.locator("#pool-size").is_hidden()
    context.close()
    engine = make_engine(served.db_url)
    with engine.connect() as conn:
        tube = conn.execute(select(Tube.kind, Tube.pool_size, Tube.filled, Tube.status).where(Tube.code == "WEB-P5-0001")).one()
    engine.dispose()
    assert tuple(tube) == ("pooled", 5, 5, "sealed")
