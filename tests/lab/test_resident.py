"""A resident's own result: ID number and phone digits; a wrong second factor reads like an unknown person; rate-limited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sweep.auth.models import AuditEntry
from sweep.auth.ratelimit import RateLimiter, TooManyAttempts
from sweep.errors import InvalidInput, NotFound
from sweep.lab import service as lab
from sweep.lab.resident import NO_MATCH, resident_result
from sweep.registry.idnumber import mask_id_number
from sweep.registry.models import Person
from sweep.registry.service import id_lookup_hash
from tests.factories import people, planned_campaign, two_sites
from tests.lab.helpers import sample_tube, ship

NUMBER = "11010519491231002X"  # the GB 11643 standard's own example
UNKNOWN = "110105194912310038"  # a valid number that nobody in the registry holds


@pytest.fixture
def resident(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    neighbour = session.get(Person, people(session, 1)[0])
    person = Person(
        building_id=neighbour.building_id, grid_id=neighbour.grid_id, community_id=neighbour.community_id,
        office_id=neighbour.office_id, name="赵建国", id_hash=id_lookup_hash(NUMBER, key=settings.secret_key),
        id_masked=mask_id_number(NUMBER), phone="13812345678", home_sampling=False,
    )
    session.add(person)
    session.flush()
    return campaign, site, person


def _ask(session, settings, limiter, number=NUMBER, digits="5678", address="10.0.0.1", now=0.0):  # type: ignore[no-untyped-def]
    return resident_result(session=session, limiter=limiter, id_number=number, phone_last4=digits, address=address,
                           key=settings.secret_key, now=now)


def test_the_resident_sees_their_own_result_and_nothing_else(session, settings, resident, start):
    campaign, site, person = resident
    limiter = RateLimiter(attempts=20, per_seconds=60)
    before = _ask(session, settings, limiter)
    assert before.status == "not_sampled" and before.sampled_at is None
    assert before.name_masked == "赵**" and before.id_masked == "110105********002X"

    others = people(session, 9)
    sample_tube(session, campaign, site.id, "RES00001", [person.id, *others], start)
    assert _ask(session, settings, limiter).status == "pending"
    received = ship(session, campaign, site.id, "RESB0001", ["RES00001"], start + timedelta(minutes=30))
    lab.record_result(session=session, campaign=campaign, tube_code="RES00001", result="positive", at=received + timedelta(hours=1))
    told = _ask(session, settings, limiter)
    assert told.status == "retest" and told.retest_due_at == received + timedelta(hours=1) + lab.RETEST_WITHIN
    assert told.site and told.sampled_at == start and "复核" in told.message_zh
    # Only this person: nothing of the other nine in the answer.
    assert set(vars(told)) == {"name_masked", "id_masked", "campaign", "status", "sampled_at", "site", "retest_due_at", "message_zh", "message_en"}
    assert session.scalar(select(AuditEntry.entity_id).where(AuditEntry.action == "resident.lookup").order_by(AuditEntry.id.desc()).limit(1)) == person.id


def test_a_wrong_second_factor_answers_like_an_unknown_person(session, settings, resident):
    limiter = RateLimiter(attempts=20, per_seconds=60)
    with pytest.raises(NotFound) as wrong:
        _ask(session, settings, limiter, digits="0000")
    with pytest.raises(NotFound) as unknown:
        _ask(session, settings, limiter, number=UNKNOWN, digits="5678")
    assert wrong.value.as_dict() == unknown.value.as_dict()
    assert wrong.value.reason == NO_MATCH
    with pytest.raises(InvalidInput) as bad:
        _ask(session, settings, limiter, digits="56a8")
    assert bad.value.field == "phone_last4"
    with pytest.raises(InvalidInput) as bad:
        _ask(session, settings, limiter, number="110105194912310021")  # check digit wrong
    assert bad.value.field == "id_number"


def test_guessing_is_capped_per_id_number_and_per_address(session, settings, resident):
    per_id = RateLimiter(attempts=3, per_seconds=60)
    for i, digits in enumerate(("0001", "0002", "0003")):
        with pytest.raises(NotFound):
            _ask(session, settings, per_id, digits=digits, address=f"10.0.0.{i}")
    # The right digits no longer help, from any address, until the window passes.
    with pytest.raises(TooManyAttempts) as err:
        _ask(session, settings, per_id, address="10.9.9.9")
    assert err.value.status_code == 429 and err.value.field == "id_number"
    assert _ask(session, settings, per_id, address="10.9.9.9", now=61.0).status == "not_sampled"

    per_address = RateLimiter(attempts=3, per_seconds=60)
    for number in (UNKNOWN, "110105194912310046", "110105194912310054"):
        with pytest.raises(NotFound):
            _ask(session, settings, per_address, number=number, address="10.1.1.1")
    with pytest.raises(TooManyAttempts):
        _ask(session, settings, per_address, address="10.1.1.1")
    assert _ask(session, settings, per_address, address="10.1.1.2").status == "not_sampled"
