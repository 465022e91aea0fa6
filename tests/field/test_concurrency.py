"""Two terminals at once, on two real connections: a tube never takes an eleventh person, and the
same scans sent twice at the same moment are stored once."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from sweep.db import make_session_factory, unit_of_work
from sweep.errors import DomainError
from sweep.field import tubes
from sweep.field.models import Sample, Tube
from sweep.field.record import record_batch
from sweep.field.scan import ScanIn
from tests.factories import scan_person, uid
from tests.field.conftest import KEY, load_campaign, numbers_of


def _together(*jobs):  # type: ignore[no-untyped-def]
    """Run the jobs in threads released at the same instant; re-raise the first unexpected error."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(k, job):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            results[k] = job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k, job)) for k, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def _open(engine, committed_round, code: str) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = load_campaign(session, committed_round.campaign_id)
        tubes.open_tube(session=session, campaign=campaign, plan_site_id=committed_round.site_a, code=code, at=datetime.now())


def _tube(engine, committed_round, code: str):  # type: ignore[no-untyped-def]
    with unit_of_work(make_session_factory(engine)) as session:
        tube = session.execute(
            select(Tube.id, Tube.filled, Tube.status).where(Tube.campaign_id == committed_round.campaign_id, Tube.code == code)
        ).one()
        positions = session.scalars(select(Sample.position).where(Sample.tube_id == tube.id).order_by(Sample.position)).all()
    return tube, positions


def _people(factory, committed_round, n: int, skip: int):  # type: ignore[no-untyped-def]
    """ID numbers of ``n`` people of the district, and the committed round (detached) to scan them into."""
    with unit_of_work(factory) as session:
        numbers = [x for _pid, x in numbers_of(session, KEY, n, skip=skip)]
        return numbers, load_campaign(session, committed_round.campaign_id)


def _filled_once(engine, committed_round, code: str, answers: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Ten went in, at positions one to ten, the tube sealed itself, and everyone else heard it was full or sealed."""
    assert answers.count("ok") == 10
    assert set(answers) - {"ok"} <= {"tube_full", "tube_sealed"}
    tube, positions = _tube(engine, committed_round, code)
    assert (tube.filled, tube.status) == (10, "sealed")
    assert positions == list(range(1, 11))


def test_two_terminals_one_scan_at_a_time_never_overfill(engine, committed_round):
    code = f"CC-{uid()[:8]}"
    _open(engine, committed_round, code)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        people = [pid for pid, _n in numbers_of(session, KEY, 16, skip=100)]

    def terminal(mine: list[int]):  # type: ignore[no-untyped-def]
        answers = []
        for pid in mine:
            try:
                with unit_of_work(factory) as session:
                    campaign = load_campaign(session, committed_round.campaign_id)
                    scan_person(session=session, campaign=campaign, plan_site_id=committed_round.site_a, tube_code=code,
                                      person_id=pid, client_uuid=uid(), sampled_at=datetime.now())
                answers.append("ok")
            except DomainError as exc:
                answers.append(exc.code)
        return answers

    first, second = _together(lambda: terminal(people[:8]), lambda: terminal(people[8:]))
    _filled_once(engine, committed_round, code, first + second)  # type: ignore[operator]


def test_two_terminals_sending_batches_into_one_tube_never_overfill(engine, committed_round):
    code = f"CB-{uid()[:8]}"
    _open(engine, committed_round, code)
    factory = make_session_factory(engine)
    numbers, campaign = _people(factory, committed_round, 24, skip=130)

    def terminal(mine: list[str]):  # type: ignore[no-untyped-def]
        statuses = []
        for k in range(0, len(mine), 3):
            _, out = record_batch(factory=factory, campaign=campaign, plan_site_id=committed_round.site_a, key=KEY, tubes=[],
                                  user_id=None, scans=[ScanIn(uid(), code, datetime.now(), id_number=n) for n in mine[k : k + 3]])
            statuses += [o.error.code if o.error else o.status for o in out]
        return statuses

    first, second = _together(lambda: terminal(numbers[:12]), lambda: terminal(numbers[12:]))
    _filled_once(engine, committed_round, code, first + second)  # type: ignore[operator]


def test_the_same_batch_sent_twice_at_once_is_stored_once(engine, committed_round):
    """A terminal that timed out resends while the first request is still being written."""
    code = f"CR-{uid()[:8]}"
    _open(engine, committed_round, code)
    factory = make_session_factory(engine)
    numbers, campaign = _people(factory, committed_round, 6, skip=160)
    scans = [ScanIn(uid(), code, datetime.now(), id_number=n) for n in numbers]

    def send():  # type: ignore[no-untyped-def]
        _, out = record_batch(factory=factory, campaign=campaign, plan_site_id=committed_round.site_a, key=KEY, scans=scans,
                              tubes=[], user_id=None)
        return [(o.status, o.result.sample_id if o.result else o.error.code) for o in out]

    one, two = _together(send, send)
    # Each item is written once: one request stored it, the other saw it stored (or met the same person).
    for (s1, id1), (s2, id2) in zip(one, two, strict=True):  # type: ignore[call-overload]
        assert {s1, s2} <= {"ok", "replayed"} and "ok" in {s1, s2}
        assert id1 == id2
    with unit_of_work(factory) as session:
        stored = session.scalar(select(func.count()).select_from(Sample).where(Sample.client_uuid.in_([s.client_uuid for s in scans])))
    assert stored == len(scans)
    tube, positions = _tube(engine, committed_round, code)
    assert tube.filled == len(scans) and positions == list(range(1, len(scans) + 1))


@pytest.mark.parametrize("kind", ["pooled", "retest"])
def test_two_people_sent_at_once_into_one_single_tube_leave_one_in_it(engine, committed_round, kind):
    """A single tube (a key group's, or a retest's) holds one person, whichever request comes first."""
    code = f"CS-{uid()[:8]}"
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        campaign = load_campaign(session, committed_round.campaign_id)
        tubes.open_tube(session=session, campaign=campaign, plan_site_id=committed_round.site_a, code=code, at=datetime.now(),
                        kind="single")
        (_a, na), (_b, nb) = numbers_of(session, KEY, 2, skip=190 if kind == "pooled" else 194)

    def send(number: str):  # type: ignore[no-untyped-def]
        _, (out,) = record_batch(factory=factory, campaign=campaign, plan_site_id=committed_round.site_a, key=KEY, tubes=[],
                                 user_id=None, scans=[ScanIn(uid(), code, datetime.now(), id_number=number, kind=kind)])
        return out.error.code if out.error else out.status

    answers = _together(lambda: send(na), lambda: send(nb))
    assert sorted(answers) == ["ok", "tube_full"]  # type: ignore[type-var]
    tube, positions = _tube(engine, committed_round, code)
    assert (tube.filled, tube.status) == (1, "sealed") and positions == [1]
