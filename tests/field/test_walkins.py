"""Walk-ins (临时登记): someone outside the registry registered and sampled at the desk, counted apart from
the registry, traced like anyone in a positive pool, and confirmed into the registry by their office."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sweep.auth.scope import Scope
from sweep.auth.service import create_user
from sweep.coverage import service as coverage
from sweep.coverage import walkins
from sweep.errors import Forbidden, InvalidInput
from sweep.field import tubes
from sweep.field.models import Sample, WalkIn
from sweep.field.scan import ScanIn, scan_batch
from sweep.field.walkins import WalkInIn
from sweep.lab import service as lab
from sweep.lab.alerts import alerts
from sweep.registry.models import Building, Person
from sweep.registry.summary import registry_summary
from tests.factories import people, uid
from tests.field.conftest import KEY, numbers_of
from tests.lab.helpers import ship

# Valid GB 11643 numbers of people the test district does not hold (region 110105, Beijing).
VISITOR = "11010519491231002X"
TENANT = "110105199003070017"


def _scan(session, campaign, site, code, at, **kw):  # type: ignore[no-untyped-def]
    (out,) = scan_batch(session=session, campaign=campaign, plan_site_id=site.id, key=KEY, user_id=None,
                        scans=[ScanIn(uid(), code, at, **kw)])
    return out


def _everything(session, campaign):  # type: ignore[no-untyped-def]
    """Every count of the registry a walk-in must not move."""
    fig = coverage.round_figures(session=session, campaign=campaign)
    by_level = {level: sorted((a.code, a.expected, a.sampled, a.missing)
                              for a in coverage.coverage_by(session=session, campaign=campaign, scope=Scope.system(), level=level))
                for level in coverage.LEVELS}
    missing = sorted(m.person_id for m in coverage.missing_list(session=session, campaign=campaign, scope=Scope.system()))
    summary = registry_summary(session=session)
    return (fig.people, fig.sampled, fig.coverage, by_level, missing, summary["people"], summary["home_sampling"])


def test_a_walk_in_is_sampled_and_counted_apart_from_the_registry(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="WI-0001", at=start)
    (_pid, resident), = numbers_of(session, KEY, 1, skip=300)
    assert _scan(session, campaign, site, "WI-0001", start, id_number=resident).status == "ok"
    before = _everything(session, campaign)
    building = session.scalar(select(Building.code).order_by(Building.id).limit(1))
    walk_in = WalkInIn(id_number=VISITOR, name="访客甲", reason="visitor", phone="13800001111", building_code=building)
    out = _scan(session, campaign, site, "WI-0001", start + timedelta(minutes=1), walk_in=walk_in)
    assert out.status == "ok" and out.result.position == 2
    person = session.scalar(select(Person).join(Sample, Sample.person_id == Person.id).where(Sample.id == out.result.sample_id))
    assert person.building_id is None and person.name == "访客甲" and person.id_masked.startswith("110105")
    registration = session.scalar(select(WalkIn).where(WalkIn.person_id == person.id))
    assert registration.campaign_id == campaign.id and registration.plan_site_id == site.id and registration.reason == "visitor"
    assert _everything(session, campaign) == before
    assert coverage.round_figures(session=session, campaign=campaign).walk_ins == 1
    (by_site,) = walkins.walk_in_counts(session=session, campaign=campaign, by="site")
    assert (by_site.code, by_site.registered, by_site.sampled, by_site.confirmed) == (site.code, 1, 1, 0)
    # The same visitor again: already sampled this round, and registered once.
    again = _scan(session, campaign, site, "WI-0001", start + timedelta(minutes=2), walk_in=walk_in)
    assert again.error.code == "already_sampled"
    assert session.scalar(select(func.count()).select_from(WalkIn).where(WalkIn.campaign_id == campaign.id)) == 1


def test_a_walk_in_form_for_someone_in_the_registry_samples_the_resident(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="WI-0002", at=start)
    (pid, number), = numbers_of(session, KEY, 1, skip=310)
    out = _scan(session, campaign, site, "WI-0002", start, walk_in=WalkInIn(id_number=number, name="某人", reason="other", address="某处"))
    assert out.status == "ok"
    assert session.scalar(select(Sample.person_id).where(Sample.id == out.result.sample_id)) == pid
    assert session.scalar(select(func.count()).select_from(WalkIn).where(WalkIn.campaign_id == campaign.id)) == 0


@pytest.mark.parametrize(("walk_in", "field"), [
    (WalkInIn(id_number="110105194912310021", name="甲", reason="visitor", address="某处"), "walk_in.id_number"),  # wrong check digit
    (WalkInIn(id_number=VISITOR, name="甲", reason="visitor"), "walk_in.address"),  # nowhere to stay
    (WalkInIn(id_number=VISITOR, name=" ", reason="visitor", address="某处"), "walk_in.name"),
    (WalkInIn(id_number=VISITOR, name="甲", reason="tourist", address="某处"), "walk_in.reason"),
    (WalkInIn(id_number=VISITOR, name="甲", reason="visitor", address="某处", phone="12345"), "walk_in.phone"),
    (WalkInIn(id_number="E1234", name="甲", reason="visitor", address="某处", doc_type="passport"), None),  # a passport: fine
])
def test_a_bad_walk_in_names_the_field_and_changes_nothing(session, round_, start, walk_in, field):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="WI-0003", at=start)
    people_before = session.scalar(select(func.count()).select_from(Person))
    out = _scan(session, campaign, site, "WI-0003", start, walk_in=walk_in)
    if field is None:
        assert out.status == "ok"
        return
    assert out.status == "error" and out.error.field == field
    assert session.scalar(select(func.count()).select_from(Person)) == people_before


def test_confirmed_by_their_office_a_walk_in_joins_the_registry_with_their_sample(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="WI-0004", at=start)
    building = session.scalar(select(Building).where(Building.office_id == site.office_id).order_by(Building.id).limit(1))
    other = session.scalar(select(Building).where(Building.office_id != site.office_id).order_by(Building.id).limit(1))
    out = _scan(session, campaign, site, "WI-0004", start, walk_in=WalkInIn(id_number=TENANT, name="新租户", reason="new_resident",
                                                                              address="刚搬来，还不知楼号"))
    assert out.status == "ok"
    before = coverage.round_figures(session=session, campaign=campaign)
    (row,) = walkins.walk_ins(session=session, campaign=campaign, scope=Scope.system(), unconfirmed_only=True)
    assert row.name == "新租户" and row.confirmed_at is None and row.address == "刚搬来，还不知楼号"
    stranger = create_user(session=session, username=f"off-{uid()[:6]}", display_name="外办", role="office", office_id=other.office_id)
    with pytest.raises(Forbidden):
        walkins.confirm_walk_in(session=session, campaign=campaign, walk_in_id=row.walk_in_id, scope=Scope.of(stranger), at=start,
                                building_code=building.code)
    with pytest.raises(InvalidInput) as err:
        walkins.confirm_walk_in(session=session, campaign=campaign, walk_in_id=row.walk_in_id, scope=Scope.system(), at=start)
    assert err.value.field == "building_code"
    mine = create_user(session=session, username=f"own-{uid()[:6]}", display_name="本办", role="office", office_id=site.office_id)
    done = walkins.confirm_walk_in(session=session, campaign=campaign, walk_in_id=row.walk_in_id, scope=Scope.of(mine), at=start,
                                   building_code=building.code, unit=1, room="101")
    assert done.confirmed_at == start and done.building_code == building.code
    person = session.get(Person, row.person_id)
    assert (person.building_id, person.office_id, person.room) == (building.id, building.office_id, "101")
    after = coverage.round_figures(session=session, campaign=campaign)
    assert (after.people, after.sampled, after.walk_ins) == (before.people + 1, before.sampled + 1, before.walk_ins - 1)
    (mine_row,) = [a for a in coverage.coverage_by(session=session, campaign=campaign, scope=Scope.system(), level="building") if a.code == building.code]
    assert mine_row.sampled >= 1


def test_a_walk_in_in_a_positive_pool_is_traced_and_ordered_a_retest(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="WI-POS1", at=start)
    ids = people(session, 3)
    for k, pid in enumerate(ids):
        assert _scan(session, campaign, site, "WI-POS1", start + timedelta(seconds=20 * k), person_id=pid).status == "ok"
    out = _scan(session, campaign, site, "WI-POS1", start + timedelta(minutes=2),
                walk_in=WalkInIn(id_number=VISITOR, name="访客乙", reason="worker", phone="13900002222", address="工地宿舍"))
    assert out.status == "ok"
    from sweep.field import service as field

    field.seal_tube(session=session, campaign=campaign, plan_site_id=site.id, tube_code="WI-POS1", at=start + timedelta(minutes=3))
    received = ship(session, campaign, site.id, "WI-BOX1", ["WI-POS1"], start + timedelta(minutes=30))
    state = lab.record_result(session=session, campaign=campaign, tube_code="WI-POS1", result="positive", at=received + timedelta(hours=1))
    assert state.retests_ordered == 4
    trace = lab.trace_tube(session=session, campaign=campaign, tube_code="WI-POS1", scope=Scope.system())
    visitor = next(p for p in trace.people if p.name == "访客乙")
    assert visitor.building == "工地宿舍" and visitor.phone == "13900002222" and visitor.office_id == site.office_id
    board = alerts(session=session, campaign=campaign, now=received + timedelta(hours=2), scope=Scope.system())
    assert "访客乙" in {line.name for a in board for line in a.retests}


def test_a_preregistered_stranger_is_completed_as_a_walk_in_with_the_code(session, round_, start):
    from sweep.field.prereg import preregister
    from sweep.registry.idcrypt import decrypt_id_number
    from sweep.registry.service import id_lookup_hash

    campaign, site, _ = round_
    made = preregister(session=session, campaign=campaign, id_number=TENANT, key=KEY, now=start)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="WI-PRE1", at=start)
    # Scanned as it is, the code asks the desk for the rest of the form.
    bare = _scan(session, campaign, site, "WI-PRE1", start, prereg_code=made.code)
    assert bare.error.code == "walk_in_required" and bare.error.field == "prereg_code" and bare.error.status_code == 404
    people_before = session.scalar(select(func.count()).select_from(Person))
    # The form with a number as well as the code is refused: the code carries the document.
    both = _scan(session, campaign, site, "WI-PRE1", start, prereg_code=made.code,
                 walk_in=WalkInIn(id_number=TENANT, name="预登记者", reason="new_resident", address="某小区"))
    assert both.error.field == "walk_in.id_number"
    assert session.scalar(select(func.count()).select_from(Person)) == people_before
    form = WalkInIn(id_number=None, name="预登记者", reason="new_resident", phone="13700003333", address="某小区3号楼")
    out = _scan(session, campaign, site, "WI-PRE1", start + timedelta(minutes=1), prereg_code=made.code.lower(), walk_in=form)
    assert out.status == "ok"
    person = session.scalar(select(Person).join(Sample, Sample.person_id == Person.id).where(Sample.id == out.result.sample_id))
    assert (person.name, person.building_id, person.id_masked, person.phone) == ("预登记者", None, made.id_masked, "13700003333")
    assert person.id_hash == id_lookup_hash(TENANT, key=KEY)
    assert decrypt_id_number(person.id_encrypted, key=KEY) == TENANT
    (row,) = walkins.walk_ins(session=session, campaign=campaign, scope=Scope.system(), unconfirmed_only=True)
    assert (row.person_id, row.address, row.reason) == (person.id, "某小区3号楼", "new_resident")
    # Now in ``people``, the code scans like anyone's: already sampled this round.
    assert _scan(session, campaign, site, "WI-PRE1", start + timedelta(minutes=2), prereg_code=made.code).error.code == "already_sampled"


def test_an_unknown_code_on_a_walk_in_form_adds_no_one(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="WI-PRE2", at=start)
    people_before = session.scalar(select(func.count()).select_from(Person))
    out = _scan(session, campaign, site, "WI-PRE2", start, prereg_code="PZZZZZZZ",
                walk_in=WalkInIn(id_number=None, name="某人", reason="visitor", address="某处"))
    assert out.error.code == "not_found" and out.error.field == "prereg_code"
    assert session.scalar(select(func.count()).select_from(Person)) == people_before
    assert session.scalar(select(func.count()).select_from(WalkIn).where(WalkIn.campaign_id == campaign.id)) == 0
