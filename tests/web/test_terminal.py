"""The terminal page in a real headless Chromium (Debian's), driven like a keyboard-wedge scanner:
online, offline (queued in IndexedDB, the page reloaded from the service worker), and back online,
with a lost answer on the way; the server ends up with every scan exactly once."""

from __future__ import annotations

from sqlalchemy import func, select

from sweep.db import make_engine
from sweep.field.models import Box, Handover, Sample, Tube
from tests.web.conftest import PASSWORD, Served


def _scan(page, value: str) -> None:  # type: ignore[no-untyped-def]
    # A wedge scanner types the characters, then Enter.
    page.locator("#scan").press_sequentially(value, delay=5)
    page.keyboard.press("Enter")


def _logged_in_phone(browser, served: Served, **options):  # type: ignore[no-untyped-def]
    """A phone-sized page, logged in as the desk's registrar, on the terminal."""
    # bypass_csp: the test's own waits evaluate strings, which the page's policy refuses
    # (tests/web/test_csp_browser.py loads the pages under the policy).
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True, **options)
    page = context.new_page()
    page.goto(f"{served.base}/login?next=/terminal/")
    page.fill("input[name=username]", served.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/terminal/")
    return context, page


def _stored(served: Served, tube_code: str) -> tuple[int, int, int, int]:
    engine = make_engine(served.db_url)
    with engine.connect() as conn:
        rows, people, uuids = conn.execute(
            select(func.count(), func.count(func.distinct(Sample.person_id)), func.count(func.distinct(Sample.client_uuid)))
            .join(Tube, Tube.id == Sample.tube_id)
            .where(Tube.code == tube_code)
        ).one()
        filled = conn.scalar(select(Tube.filled).where(Tube.code == tube_code)) or 0
    engine.dispose()
    return rows, people, uuids, filled


def test_the_terminal_scans_online_offline_and_back_without_duplicates(browser, served: Served):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", bypass_csp=True)  # a phone
    page = context.new_page()
    page.goto(f"{served.base}/terminal/")
    assert "/login" in page.url
    page.fill("input[name=username]", served.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/terminal/")
    assert page.locator("#net").get_attribute("data-state") in ("online", "syncing")
    assert "采样终端" in page.content()
    # The service worker installs; after a reload it controls the page.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    ids = served.id_numbers
    _scan(page, "WEB-TUBE-0001")
    page.wait_for_function("document.getElementById('tube-code').textContent === 'WEB-TUBE-0001'")
    _scan(page, ids[0])
    _scan(page, ids[1])
    bad = ids[2][:17] + ("0" if ids[2][17] != "0" else "1")
    _scan(page, bad)
    assert page.locator("#message").get_attribute("data-kind") == "error"
    page.wait_for_function("document.getElementById('queue-count').textContent === '0'")
    page.wait_for_function("document.querySelectorAll('#recent li[data-state=ok]').length === 2")
    assert page.locator("#fill").text_content() == "2/10"
    assert _stored(served, "WEB-TUBE-0001") == (2, 2, 2, 2)

    # Offline: the scans queue up, survive a reload served by the service worker, and are not sent.
    context.set_offline(True)
    for number in ids[3:6]:
        _scan(page, number)
    page.wait_for_function("document.getElementById('net').dataset.state === 'offline'")
    page.wait_for_function("document.getElementById('queue-count').textContent === '3'")
    assert page.locator("#fill").text_content() == "5/10"
    page.reload()
    page.wait_for_function("document.getElementById('queue-count').textContent === '3'")
    assert page.locator("#fill").text_content() == "5/10"
    assert page.locator("#recent li[data-state=queued]").count() == 3
    assert _stored(served, "WEB-TUBE-0001") == (2, 2, 2, 2)

    # Back online, but the first answer is lost on the way back: the terminal sends again.
    lost: list[str] = []

    def lose_first_answer(route):  # type: ignore[no-untyped-def]
        if not lost:
            route.fetch()  # the server writes the batch...
            lost.append(route.request.url)
            route.abort()  # ...and the terminal never hears of it
        else:
            route.continue_()

    page.route("**/scans/batch", lose_first_answer)
    context.set_offline(False)
    page.wait_for_function("document.getElementById('queue-count').textContent === '0'", timeout=20_000)
    page.wait_for_function("document.querySelectorAll('#recent li[data-state=ok]').length === 5")
    assert lost, "the first answer was not intercepted"
    assert page.locator("#fill").text_content() == "5/10"
    assert _stored(served, "WEB-TUBE-0001") == (5, 5, 5, 5)
    page.wait_for_function("document.getElementById('net').dataset.state === 'online'")
    context.close()


def test_the_terminal_fills_a_tube_seals_it_and_refuses_an_eleventh(browser, served: Served):
    context, page = _logged_in_phone(browser, served)
    _scan(page, "WEB-TUBE-0002")
    for number in served.id_numbers[10:20]:
        _scan(page, number)
    page.wait_for_function("document.getElementById('fill').textContent === '10/10'")
    _scan(page, served.id_numbers[20])
    assert "新的管码" in page.locator("#message").text_content()
    page.wait_for_function("document.getElementById('queue-count').textContent === '0'")
    assert _stored(served, "WEB-TUBE-0002") == (10, 10, 10, 10)
    # Someone already sampled is refused by the server and shown in red.
    _scan(page, "WEB-TUBE-0003")
    _scan(page, served.id_numbers[10])
    page.wait_for_function("document.querySelectorAll('#recent li[data-state=error]').length === 1")
    assert "已采样" in page.locator("#recent li[data-state=error]").text_content()
    context.close()


def _stored_box(served: Served, box_code: str) -> tuple[int, str, str | None]:
    engine = make_engine(served.db_url)
    with engine.connect() as conn:
        tubes, status = conn.execute(select(Box.tubes, Box.status).where(Box.code == box_code)).one()
        courier = conn.scalar(select(Handover.courier_name).join(Box, Box.id == Handover.box_id).where(Box.code == box_code))
    engine.dispose()
    return tubes, status, courier


def _rostered_courier(served: Served) -> tuple[int, str]:
    from sweep.plan.models import Shift
    from sweep.registry.models import Staff

    engine = make_engine(served.db_url)
    with engine.connect() as conn:
        found = conn.execute(select(Staff.id, Staff.name).join(Shift, Shift.staff_id == Staff.id).where(
            Shift.campaign_id == served.campaign_id, Shift.plan_site_id == served.site_id, Shift.role == "courier")).one()
    engine.dispose()
    return found[0], found[1]


def test_the_terminal_packs_sealed_tubes_into_a_box_and_hands_it_over(browser, served: Served):
    context, page = _logged_in_phone(browser, served, locale="zh-CN")
    # Two tubes: one filled to ten (sealed by itself), one of three sealed by hand.
    _scan(page, "WEB-TUBE-0101")
    for number in served.id_numbers[40:50]:
        _scan(page, number)
    page.wait_for_function("document.getElementById('fill').textContent === '10/10'")
    _scan(page, "WEB-TUBE-0102")
    for number in served.id_numbers[50:53]:
        _scan(page, number)
    _scan(page, "WEB-TUBE-0103")  # an open tube of three: refused until sealed
    assert page.locator("#message").get_attribute("data-kind") == "error"
    page.click("#seal")
    _scan(page, "WEB-TUBE-0103")
    _scan(page, served.id_numbers[53])  # the next tube stays open

    page.click("#mode-pack")
    assert page.locator(".tube").is_hidden() and page.locator(".box").is_visible()
    _scan(page, served.id_numbers[54])  # an ID number while packing: refused, nothing sent
    assert page.locator("#message").get_attribute("data-kind") == "error"
    assert page.locator("#handover").is_disabled()
    _scan(page, "WEB-BOX-01")
    page.wait_for_function("document.getElementById('box-code').textContent === 'WEB-BOX-01'")
    _scan(page, "WEB-TUBE-0101")
    _scan(page, "WEB-TUBE-0102")
    _scan(page, "WEB-TUBE-0103")  # still open: refused on the terminal
    assert "封管" in page.locator("#message").text_content()
    assert page.locator("#box-fill").text_content() == "2/50"
    page.click("#handover")  # no courier chosen yet
    assert page.locator("#message").get_attribute("data-kind") == "error"
    # The couriers offered are the site's rostered ones.
    courier_id, courier_name = _rostered_courier(served)
    page.wait_for_function(f"document.querySelector('#courier option[value=\"{courier_id}\"]') !== null")
    assert page.locator("#courier option").count() == 2
    page.select_option("#courier", str(courier_id))
    page.click("#handover")
    page.wait_for_function("document.getElementById('box-code').textContent === '—'")
    # Sent: the hand-over heads the list, answered, and nothing waits in the queue.
    page.wait_for_function("document.querySelector('#recent li').dataset.state === 'ok'", timeout=20_000)
    assert courier_name in page.locator("#recent li").first.text_content()
    page.wait_for_function("document.getElementById('queue-count').textContent === '0'")
    assert page.locator("#recent li[data-state=error]").count() == 0
    assert _stored_box(served, "WEB-BOX-01") == (2, "in_transit", courier_name)

    # A box code the round already used: the server's reason is shown and the box is dropped.
    _scan(page, "WEB-BOX-01")
    page.wait_for_function("document.getElementById('message').textContent.includes('已使用')", timeout=20_000)
    # The reason shows first; the box is dropped as the queue is saved, a moment later.
    page.wait_for_function("document.getElementById('box-code').textContent === '—'", timeout=5_000)
    page.click("#mode-sample")
    assert page.locator(".tube").is_visible()
    context.close()
