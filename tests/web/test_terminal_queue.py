"""The terminal never drops a queued scan because a batch was refused whole: three hundred scans
queued offline survive a log-in in another tab (the page's CSRF token goes stale, the server
answers 403) and reach the server once each; a batch answered 500 is sent again and stored once;
an item refused on its own leaves the queue for the "needs attention" list, which survives a reload."""

from __future__ import annotations

from sqlalchemy import func, select

from sweep.db import make_engine
from sweep.field.models import Sample, Tube
from tests.web.conftest import PASSWORD, Served

SCAN_ALL = """async ([tubes, ids, pool]) => {
  for (let k = 0; k < tubes.length; k++) {
    await window.sweepTerminal.handle(tubes[k]);
    for (const id of ids.slice(k * pool, (k + 1) * pool)) await window.sweepTerminal.handle(id);
  }
}"""


def _log_in(page, served: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{served.base}/login?next=/terminal/")
    page.fill("input[name=username]", served.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/terminal/")


def _stored(served: Served, prefix: str) -> tuple[int, int, int]:
    engine = make_engine(served.db_url)
    with engine.connect() as conn:
        rows, people, uuids = conn.execute(
            select(func.count(), func.count(func.distinct(Sample.person_id)), func.count(func.distinct(Sample.client_uuid)))
            .join(Tube, Tube.id == Sample.tube_id).where(Tube.code.like(f"{prefix}%"))
        ).one()
    engine.dispose()
    return rows, people, uuids


def test_three_hundred_queued_scans_survive_a_log_in_elsewhere_and_arrive_once(browser, served: Served):
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    _log_in(page, served)
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/scans/batch") else None)
    pool = int(page.locator("#terminal").get_attribute("data-pool-size") or "10")
    people = served.id_numbers[-300:]
    tubes = [f"Q300-{k:04d}" for k in range(len(people) // pool)]

    context.set_offline(True)
    page.evaluate(SCAN_ALL, [tubes, people, pool])
    page.wait_for_function("document.getElementById('queue-count').textContent === '330'")
    assert _stored(served, "Q300-") == (0, 0, 0)

    # The network comes back for the phone, but the terminal's own requests still fail while the
    # user logs in again in another tab: the browser's cookie is now a new one, the page's CSRF
    # token the old one's.
    page.route("**/api/**", lambda route: route.abort())
    context.set_offline(False)
    other = context.new_page()
    _log_in(other, served)
    other.close()
    page.unroute("**/api/**")

    page.wait_for_function("document.getElementById('queue-count').textContent === '0'", timeout=90_000)
    assert 403 in statuses, f"the stale token was never refused: {statuses}"
    assert statuses[-1] == 200
    assert _stored(served, "Q300-") == (300, 300, 300)
    assert page.evaluate("window.sweepTerminal.attention().length") == 0
    context.close()


def test_a_batch_answered_500_is_sent_again_and_stored_once(browser, served: Served):
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    _log_in(page, served)
    answered: list[int] = []

    def five_hundred_once(route):  # type: ignore[no-untyped-def]
        if not answered:
            route.fetch()  # the server stores the batch...
            answered.append(500)
            route.fulfill(status=500, content_type="application/json",  # ...and the answer is lost to an error
                          body='{"error": "internal", "field": "server", "reason": "boom"}')
        else:
            answered.append(0)
            route.continue_()

    page.route("**/scans/batch", five_hundred_once)
    people = served.id_numbers[-310:-300]
    page.evaluate(SCAN_ALL, [["Q500-0001"], people, 10])
    page.wait_for_function("document.getElementById('queue-count').textContent === '0'", timeout=30_000)
    assert answered[0] == 500 and len(answered) >= 2
    assert _stored(served, "Q500-") == (10, 10, 10)
    context.close()


def test_an_item_refused_on_its_own_waits_in_needs_attention_across_a_reload(browser, served: Served):
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    _log_in(page, served)
    person = served.id_numbers[-311]
    page.evaluate(SCAN_ALL, [["QATT-0001"], [person, person], 2])  # the same person twice: the second is refused
    page.wait_for_function("document.getElementById('queue-count').textContent === '0'", timeout=30_000)
    page.wait_for_function("window.sweepTerminal.attention().length === 1", timeout=30_000)
    assert _stored(served, "QATT-") == (1, 1, 1)
    assert page.locator("#attention").is_visible()
    page.reload()
    page.wait_for_function("document.getElementById('attention-count').textContent !== '0'")
    count = int(page.locator("#attention-count").text_content() or "0")
    page.locator("#attention-list li button").first.click()
    assert int(page.locator("#attention-count").text_content() or "0") == count - 1
    context.close()
