"""Tubes, scans, boxes and handover through the service layer, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError

from sweep.errors import AlreadyHandedOver, AlreadySampled, Conflict, InvalidInput, NotFound, TubeFull, WrongSite
from sweep.field import service as field
from sweep.field import tubes
from sweep.field.models import Box, Sample, Tube
from tests.factories import courier, people, scan_person, uid


def _scan(session, campaign, site, code, pid, start, u=None):
    return scan_person(
        session=session, campaign=campaign, plan_site_id=site.id, tube_code=code, person_id=pid,
        client_uuid=u or uid(), sampled_at=start,
    )


def test_a_tube_takes_ten_then_seals_itself_and_refuses_an_eleventh(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="TUBE0001", at=start)
    ids = people(session, 11)
    results = [_scan(session, campaign, site, "TUBE0001", pid, start) for pid in ids[:10]]
    assert [r.position for r in results] == list(range(1, 11))
    assert results[-1].sealed and not results[-2].sealed
    with pytest.raises(TubeFull) as err:
        _scan(session, campaign, site, "TUBE0001", ids[10], start)
    assert err.value.field == "tube_code"
    assert session.scalar(select(Tube.filled).where(Tube.code == "TUBE0001")) == 10


def test_the_database_itself_refuses_an_overfilled_tube(session, round_, start):
    campaign, site, _ = round_
    tube = tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="TUBE0002", at=start)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text("UPDATE tubes SET filled = pool_size + 1 WHERE id = :id"), {"id": tube.id})


def test_a_replayed_scan_counts_once(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="TUBE0003", at=start)
    pid = people(session, 1)[0]
    u = uid()
    first = _scan(session, campaign, site, "TUBE0003", pid, start, u)
    again = _scan(session, campaign, site, "TUBE0003", pid, start, u)
    assert again.replayed and not first.replayed
    assert again.sample_id == first.sample_id
    assert session.scalar(select(Tube.filled).where(Tube.code == "TUBE0003")) == 1


def test_a_person_sampled_twice_is_told_where_and_when(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="TUBE0004", at=start)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="TUBE0005", at=start)
    pid = people(session, 1)[0]
    _scan(session, campaign, site, "TUBE0004", pid, start)
    with pytest.raises(AlreadySampled) as err:
        _scan(session, campaign, site, "TUBE0005", pid, start)
    assert err.value.detail["tube_code"] == "TUBE0004"
    assert session.scalar(select(Tube.filled).where(Tube.code == "TUBE0005")) == 0


def test_the_database_refuses_a_second_pooled_sample_but_allows_a_retest(session, round_, start):
    campaign, site, _ = round_
    tube = tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="TUBE0006", at=start)
    pid = people(session, 1)[0]
    row = dict(campaign_id=campaign.id, tube_id=tube.id, person_id=pid, plan_site_id=site.id, sampled_at=start, recorded_at=start)
    session.add(Sample(position=1, kind="pooled", client_uuid=uid(), **row))
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Sample(position=2, kind="pooled", client_uuid=uid(), **row))
        session.flush()
    session.add(Sample(position=3, kind="retest", client_uuid=uid(), **row))
    session.flush()


def test_wrong_site_unknown_tube_and_reused_code(session, round_, start):
    campaign, site, other = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="TUBE0007", at=start)
    pid = people(session, 1)[0]
    with pytest.raises(WrongSite):
        _scan(session, campaign, other, "TUBE0007", pid, start)
    with pytest.raises(NotFound):
        _scan(session, campaign, site, "NOPE0000", pid, start)
    with pytest.raises(Conflict):
        tubes.open_tube(session=session, campaign=campaign, plan_site_id=other.id, code="TUBE0007", at=start)
    with pytest.raises(InvalidInput) as err:
        tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="短", at=start)
    assert err.value.field == "tube_code"
    with pytest.raises(InvalidInput) as err:
        _scan(session, campaign, site, "TUBE0007", pid, start, u="not-a-uuid")
    assert err.value.field == "client_uuid"


def test_box_packing_and_a_box_handed_over_twice(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="TUBE0008", at=start)
    _scan(session, campaign, site, "TUBE0008", people(session, 1)[0], start)
    field.open_box(session=session, campaign=campaign, plan_site_id=site.id, code="BOX00001", at=start)
    with pytest.raises(Conflict, match="seal"):
        field.pack_tube(session=session, campaign=campaign, plan_site_id=site.id, box_code="BOX00001", tube_code="TUBE0008")
    field.seal_tube(session=session, campaign=campaign, plan_site_id=site.id, tube_code="TUBE0008", at=start)
    box = field.pack_tube(session=session, campaign=campaign, plan_site_id=site.id, box_code="BOX00001", tube_code="TUBE0008")
    assert box.tubes == 1
    field.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code="BOX00001",
                        courier_staff_id=courier(session, campaign, site.id), at=start)
    with pytest.raises(AlreadyHandedOver):
        field.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code="BOX00001",
                        courier_staff_id=courier(session, campaign, site.id), at=start)


def test_a_box_packed_in_one_go_takes_all_its_tubes_or_none(session, round_, start):
    from sweep.auth.models import AuditEntry

    campaign, site, _ = round_
    ids = people(session, 4)
    for n, pid in enumerate(ids[:3], start=1):
        tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code=f"TUBE0P{n}", at=start)
        _scan(session, campaign, site, f"TUBE0P{n}", pid, start)
        if n < 3:
            field.seal_tube(session=session, campaign=campaign, plan_site_id=site.id, tube_code=f"TUBE0P{n}", at=start)
    box = field.open_box(session=session, campaign=campaign, plan_site_id=site.id, code="BOX0P001", at=start)
    session.execute(text("UPDATE boxes SET capacity = 2 WHERE id = :id"), {"id": box.id})
    # Earlier modules' committed rounds left audit lines (and, on SQLite, their ids come again): count from here.
    before = session.scalar(select(func.max(AuditEntry.id))) or 0

    def pack(*codes: str) -> field.BoxState:
        return field.pack_tubes(session=session, campaign=campaign, plan_site_id=site.id, box_code="BOX0P001",
                                packs=[field.Pack(c, start) for c in codes])

    def state() -> tuple[int, list[str]]:
        packed = session.scalars(select(Tube.code).where(Tube.box_id == box.id).order_by(Tube.code)).all()
        return session.scalar(select(Box.tubes).where(Box.id == box.id)), list(packed)

    refusals = [
        (("TUBE0P1", "TUBE0P3"), Conflict, "tube_code", "TUBE0P3"),  # the second is not sealed
        (("TUBE0P1", "TUBE0P1"), Conflict, "tube_code", "TUBE0P1"),  # the same tube twice
        (("TUBE0P1", "NOPE0P99"), NotFound, "tube_code", "NOPE0P99"),
    ]
    for codes, error, field_name, named in refusals:
        with pytest.raises(error) as err:
            pack(*codes)
        assert err.value.field == field_name and named in err.value.reason
        assert state() == (0, [])
    field.seal_tube(session=session, campaign=campaign, plan_site_id=site.id, tube_code="TUBE0P3", at=start)
    with pytest.raises(Conflict, match="full"):
        pack("TUBE0P1", "TUBE0P2", "TUBE0P3")  # three for a box of two
    assert state() == (0, [])
    assert pack("TUBE0P1", "TUBE0P2").tubes == 2
    assert state() == (2, ["TUBE0P1", "TUBE0P2"])
    lines = session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "tube.packed", AuditEntry.id > before)).all()
    assert sorted(lines) == sorted(session.scalars(select(Tube.id).where(Tube.box_id == box.id)).all())


def test_a_box_goes_only_to_a_courier_rostered_at_its_site(session, round_, start):
    from sweep.field.couriers import site_couriers
    from sweep.field.models import Handover
    from sweep.plan.models import Shift

    campaign, site, other = round_
    own = site_couriers(session=session, campaign=campaign, plan_site_id=site.id)
    assert own and {c.staff_id for c in own} == set(session.scalars(
        select(Shift.staff_id).where(Shift.campaign_id == campaign.id, Shift.plan_site_id == site.id, Shift.role == "courier")))
    registrar = session.scalar(select(Shift.staff_id).where(
        Shift.campaign_id == campaign.id, Shift.plan_site_id == site.id, Shift.role == "registrar").limit(1))

    def packed_box(site_id: int, n: str) -> str:
        tubes.open_tube(session=session, campaign=campaign, plan_site_id=site_id, code=f"TUBE0C{n}", at=start)
        _scan(session, campaign, site if site_id == site.id else other, f"TUBE0C{n}", people(session, 2)[int(n) - 1], start)
        field.seal_tube(session=session, campaign=campaign, plan_site_id=site_id, tube_code=f"TUBE0C{n}", at=start)
        field.open_box(session=session, campaign=campaign, plan_site_id=site_id, code=f"BOX0C{n}", at=start)
        field.pack_tube(session=session, campaign=campaign, plan_site_id=site_id, box_code=f"BOX0C{n}", tube_code=f"TUBE0C{n}")
        return f"BOX0C{n}"

    box = packed_box(site.id, "1")
    for wrong in (registrar, 10**9):
        with pytest.raises(InvalidInput) as err:
            field.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code=box, courier_staff_id=wrong, at=start)
        assert err.value.field == "courier_staff_id" and own[0].name in err.value.reason
    assert session.scalar(select(Handover.id).join(Box, Box.id == Handover.box_id).where(Box.code == box)) is None
    h = field.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code=box, courier_staff_id=own[0].staff_id, at=start)
    assert (h.courier_staff_id, h.courier_name) == (own[0].staff_id, own[0].name)

    # The other site's roster came out without a courier: the round's couriers serve it.
    session.execute(delete(Shift).where(Shift.campaign_id == campaign.id, Shift.plan_site_id == other.id, Shift.role == "courier"))
    served = site_couriers(session=session, campaign=campaign, plan_site_id=other.id)
    assert {c.staff_id for c in served} == set(session.scalars(select(Shift.staff_id).where(Shift.campaign_id == campaign.id, Shift.role == "courier")))
    h = field.hand_over(session=session, campaign=campaign, plan_site_id=other.id, box_code=packed_box(other.id, "2"),
                        courier_staff_id=own[0].staff_id, at=start)
    assert h.courier_staff_id == own[0].staff_id
