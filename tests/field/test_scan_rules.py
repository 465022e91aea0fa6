"""The rules of the one scan path that a replay, a reused key or a tube's kind decide, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sweep.errors import Conflict, InvalidInput
from sweep.field import tubes
from sweep.field.models import Sample, Tube
from sweep.field.scan import ScanIn
from tests.factories import uid
from tests.field.conftest import KEY, batch, numbers_of, samples_in


def test_a_key_reused_for_another_person_is_refused_naming_its_first_use(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="KR-0001", at=start)
    (a, na), (_b, nb) = numbers_of(session, KEY, 2, skip=200)
    key = uid()
    (first,) = batch(session, campaign, site, [ScanIn(key, "KR-0001", start, id_number=na)])
    assert first.status == "ok"
    (again,) = batch(session, campaign, site, [ScanIn(key, "KR-0001", start, id_number=na)])
    assert again.status == "replayed" and again.result.sample_id == first.result.sample_id
    (other,) = batch(session, campaign, site, [ScanIn(key, "KR-0001", start, id_number=nb)])
    assert other.status == "error" and isinstance(other.error, Conflict)
    assert other.error.field == "client_uuid" and other.error.status_code == 409
    assert other.error.detail == {"first_tube_code": "KR-0001", "first_position": 1}
    assert samples_in(session, campaign) == 1
    assert session.scalar(select(Sample.person_id).where(Sample.client_uuid == key)) == a


def test_a_key_of_another_site_reveals_nothing_of_it(session, round_, start):
    campaign, site, other = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="KR-0002", at=start)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=other.id, code="KR-0003", at=start)
    (_a, na), (_b, nb) = numbers_of(session, KEY, 2, skip=210)
    key = uid()
    assert batch(session, campaign, other, [ScanIn(key, "KR-0003", start, id_number=na)])[0].status == "ok"
    # The same scan sent to this site (its tube is the other site's), and the key with this site's tube.
    for scan in (ScanIn(key, "KR-0003", start, id_number=na), ScanIn(key, "KR-0002", start, id_number=nb)):
        (out,) = batch(session, campaign, site, [scan])
        assert out.status == "error" and out.error.code == "conflict" and out.error.field == "client_uuid"
        assert out.error.detail == {} and "KR-0003" not in out.error.reason and out.result is None
    assert samples_in(session, campaign) == 1


def test_one_key_for_two_different_scans_in_a_batch_refuses_the_second(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="KR-0004", at=start)
    (_a, na), (_b, nb) = numbers_of(session, KEY, 2, skip=220)
    key = uid()
    out = batch(session, campaign, site, [ScanIn(key, "KR-0004", start, id_number=na), ScanIn(key, "KR-0004", start, id_number=na),
                                           ScanIn(key, "KR-0004", start, id_number=nb)])
    assert [o.status for o in out] == ["ok", "replayed", "error"]
    assert out[1].result.sample_id == out[0].result.sample_id and out[2].error.field == "client_uuid"
    assert samples_in(session, campaign) == 1


def test_a_single_tube_takes_one_person_and_seals_itself(session, round_, start):
    campaign, site, _ = round_
    state = tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="SG-0001", at=start, kind="single")
    assert (state.kind, state.pool_size) == ("single", 1)
    (_a, na), (_b, nb) = numbers_of(session, KEY, 2, skip=230)
    out = batch(session, campaign, site, [ScanIn(uid(), "SG-0001", start, id_number=na), ScanIn(uid(), "SG-0001", start, id_number=nb)])
    assert out[0].status == "ok" and out[0].result.sealed and out[0].result.pool_size == 1
    assert out[1].error.code == "tube_full"
    tube = session.execute(select(Tube.filled, Tube.status).where(Tube.campaign_id == campaign.id, Tube.code == "SG-0001")).one()
    assert tuple(tube) == (1, "sealed")


def test_a_retest_goes_only_into_a_single_tube(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="RT-POOL", at=start)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="RT-0001", at=start, kind="single")
    (pid, number), = numbers_of(session, KEY, 1, skip=240)
    later = start + timedelta(hours=3)
    assert batch(session, campaign, site, [ScanIn(uid(), "RT-POOL", start, id_number=number)])[0].status == "ok"
    (pooled,) = batch(session, campaign, site, [ScanIn(uid(), "RT-POOL", later, id_number=number, kind="retest")])
    assert pooled.error.code == "single_tube_required" and pooled.error.status_code == 409
    (single,) = batch(session, campaign, site, [ScanIn(uid(), "RT-0001", later, id_number=number, kind="retest")])
    assert single.status == "ok" and single.result.sealed
    kinds = session.scalars(select(Sample.kind).where(Sample.person_id == pid, Sample.campaign_id == campaign.id).order_by(Sample.id)).all()
    assert kinds == ["pooled", "retest"]


def test_a_tube_code_reopened_as_another_kind_is_refused(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="KT-0001", at=start, user_id=None)
    opened = tubes.open_tubes(session=session, campaign=campaign, plan_site_id=site.id, user_id=None,
                              tubes=[tubes.TubeOpen("KT-0001", start, None, "single")])
    assert isinstance(opened[0], Conflict) and opened[0].field == "tube_code"


def test_the_database_refuses_a_second_person_in_a_single_tube(session, round_, start):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="SG-0002", at=start, kind="single")
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(update(Tube).where(Tube.campaign_id == campaign.id, Tube.code == "SG-0002").values(pool_size=2))


def test_a_key_group_sampled_one_to_a_tube_is_refused_in_a_pooled_tube(session, round_, start):
    from sweep.registry.models import KeyGroup, Person
    from sweep.registry.service import id_lookup_hash
    from tests.field.conftest import district_id_numbers

    campaign, site, _ = round_
    single = {p for p, in session.execute(select(Person.id).join(KeyGroup, KeyGroup.id == Person.key_group_id)
                                          .where(KeyGroup.single_tube.is_(True)))}
    assert single, "the test district has key groups sampled one to a tube"
    number = next(n for n in district_id_numbers() if session.scalar(
        select(Person.id).where(Person.id_hash == id_lookup_hash(n, key=KEY))) in single)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="KG-POOL", at=start)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="KG-0001", at=start, kind="single")
    (pooled,) = batch(session, campaign, site, [ScanIn(uid(), "KG-POOL", start, id_number=number)])
    assert pooled.error.code == "single_tube_required" and "重点人群" in pooled.error.reason
    (alone,) = batch(session, campaign, site, [ScanIn(uid(), "KG-0001", start, id_number=number)])
    assert alone.status == "ok" and alone.result.sealed


def test_a_key_group_pooled_five_to_a_tube_is_refused_in_a_tube_of_ten(session, round_, start):
    from sqlalchemy import update

    from sweep.keygroups.service import create_group, update_group
    from sweep.registry.models import Person

    campaign, site, _ = round_
    group = create_group(session=session, code="cold5", name="冷链小混采", test_every_days=1, pool_size=5)
    assert (group.single_tube, group.pool_size) == (False, 5)
    (pid, number), = numbers_of(session, KEY, 1, skip=250)
    session.execute(update(Person).where(Person.id == pid).values(key_group_id=group.id))
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="GP-TEN", at=start)
    five = tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="GP-FIVE", at=start, pool_size=5)
    assert (five.kind, five.pool_size) == ("pooled", 5)
    (ten,) = batch(session, campaign, site, [ScanIn(uid(), "GP-TEN", start, id_number=number)])
    assert ten.error.code == "group_pool_size" and ten.error.field == "tube_code" and "5混一" in ten.error.reason
    assert ten.error.detail["group_pool_size"] == 5
    (ok,) = batch(session, campaign, site, [ScanIn(uid(), "GP-FIVE", start, id_number=number)])
    assert ok.status == "ok" and ok.result.pool_size == 5
    # Back to the round's pool size: a tube of ten takes the group again.
    assert update_group(session=session, key_group="cold5", pool_size=0).pool_size is None


@pytest.mark.parametrize(("kind", "pool_size"), [("pooled", 1), ("pooled", 21), ("single", 5)])
def test_a_pool_size_a_tube_cannot_have_is_refused_naming_it(session, round_, start, kind, pool_size):
    campaign, site, _ = round_
    (out,) = tubes.open_tubes(session=session, campaign=campaign, plan_site_id=site.id, user_id=None,
                              tubes=[tubes.TubeOpen("GP-BAD", start, None, kind, pool_size)])
    assert isinstance(out, Conflict | InvalidInput) and out.field == "pool_size"
    assert session.scalar(select(func.count()).select_from(Tube).where(Tube.code == "GP-BAD")) == 0


def test_a_key_group_has_one_tube_rule_single_or_a_pool_size(session, district_loaded):
    from sqlalchemy.exc import IntegrityError

    from sweep.keygroups.service import create_group, update_group
    from sweep.registry.models import KeyGroup

    with pytest.raises(InvalidInput) as err:
        create_group(session=session, code="big", name="过大混采", test_every_days=2, pool_size=30)
    assert err.value.field == "pool_size"
    group = create_group(session=session, code="hotel5", name="隔离酒店小混采", test_every_days=2, pool_size=5)
    with pytest.raises(InvalidInput):
        update_group(session=session, key_group="hotel5", single_tube=True, pool_size=5)
    assert (update_group(session=session, key_group="hotel5", single_tube=True).pool_size, group.single_tube) == (None, True)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(KeyGroup(code="both", name="两者皆是", test_every_days=1, single_tube=True, pool_size=5))
        session.flush()
