"""Scan batches through the service: per-item answers, every error, replay, pre-registration."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sweep.auth.models import AuditEntry
from sweep.field import service as field
from sweep.field import tubes
from sweep.field.models import Preregistration, Sample, Tube
from sweep.field.prereg import preregister
from sweep.field.scan import ScanIn, scan_batch
from sweep.registry.service import id_lookup_hash
from tests.factories import courier, uid
from tests.field.conftest import KEY, batch, numbers_of, samples_in


def test_a_batch_fills_in_order_and_a_replay_changes_nothing(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="BT-0001", at=start)
    people = numbers_of(session, KEY, 4)
    scans = [ScanIn(uid(), "BT-0001", start + timedelta(seconds=20 * k), id_number=n) for k, (_pid, n) in enumerate(people)]
    first = batch(session, campaign, site, scans)
    assert [o.status for o in first] == ["ok"] * 4
    assert [o.result.position for o in first] == [1, 2, 3, 4]
    stored = session.execute(select(Sample.person_id, Sample.position).where(Sample.campaign_id == campaign.id).order_by(Sample.position)).all()
    assert [tuple(r) for r in stored] == [(pid, k + 1) for k, (pid, _n) in enumerate(people)]

    again = batch(session, campaign, site, scans)
    assert [o.status for o in again] == ["replayed"] * 4
    assert [o.result.sample_id for o in again] == [o.result.sample_id for o in first]
    assert samples_in(session, campaign) == 4
    assert session.scalar(select(Tube.filled).where(Tube.campaign_id == campaign.id, Tube.code == "BT-0001")) == 4
    batches = session.scalars(select(AuditEntry.detail).where(AuditEntry.campaign_id == campaign.id, AuditEntry.action == "scan.batch")).all()
    assert [(d["ok"], d["replayed"]) for d in batches] == [(4, 0), (0, 4)]


def test_one_bad_item_of_each_kind_never_loses_the_good_ones(session, round_, start):
    campaign, site, other = round_
    for code, where in (("BT-OK01", site), ("BT-FULL", site), ("BT-SEAL", site), ("BT-ELSE", other)):
        tubes.open_tube(session=session, campaign=campaign, plan_site_id=where.id, code=code, at=start)
    people = numbers_of(session, KEY, 16, skip=20)
    pool = campaign.pool_size
    # Fill BT-FULL to the brim, put someone in BT-SEAL and seal it by hand.
    batch(session, campaign, site, [ScanIn(uid(), "BT-FULL", start, id_number=n) for _pid, n in people[:pool]])
    batch(session, campaign, site, [ScanIn(uid(), "BT-SEAL", start, id_number=people[pool][1])])
    field.seal_tube(session=session, campaign=campaign, plan_site_id=site.id, tube_code="BT-SEAL", at=start)
    before = samples_in(session, campaign)

    bad_check = people[11][1][:17] + ("0" if people[11][1][17] != "0" else "1")
    unknown = "11010519491231002X"  # a valid number that is not in the district
    dup = uid()
    items = [
        ScanIn(uid(), "BT-OK01", start, id_number=people[12][1]),  # good
        ScanIn(uid(), "BT-OK01", start, id_number=bad_check),  # invalid ID number
        ScanIn(uid(), "BT-OK01", start, id_number=unknown),  # not in the registry
        ScanIn(uid(), "NO-SUCH-TUBE", start, id_number=people[13][1]),  # unknown tube
        ScanIn(uid(), "BT-ELSE", start, id_number=people[13][1]),  # another site's tube
        ScanIn(uid(), "BT-FULL", start, id_number=people[13][1]),  # an eleventh person
        ScanIn(uid(), "BT-SEAL", start, id_number=people[13][1]),  # a sealed tube
        ScanIn(uid(), "BT-OK01", start, id_number=people[0][1]),  # sampled already, in BT-FULL
        ScanIn(dup, "BT-OK01", start, id_number=people[14][1]),  # good
        ScanIn(dup, "BT-OK01", start, id_number=people[14][1]),  # the same scan twice in one batch
        ScanIn(uid(), "BT-OK01", start, id_number=people[14][1]),  # the same person, another scan
        ScanIn("not-a-uuid", "BT-OK01", start, id_number=people[15][1]),
        ScanIn(uid(), "BT-OK01", start - timedelta(days=5), id_number=people[15][1]),  # a wrong date
        ScanIn(uid(), "BT-OK01", start),  # no one named
        ScanIn(uid(), "BT-OK01", start, prereg_code="PXXXXXXX"),  # unknown pre-registration
    ]
    out = batch(session, campaign, site, items)
    summary = [(o.status, o.error.code if o.error else None, o.error.field if o.error else None) for o in out]
    assert summary == [
        ("ok", None, None),
        ("error", "invalid", "id_number"),
        ("error", "not_found", "id_number"),
        ("error", "not_found", "tube_code"),
        ("error", "wrong_site", "tube_code"),
        ("error", "tube_full", "tube_code"),
        ("error", "tube_sealed", "tube_code"),
        ("error", "already_sampled", "person"),
        ("ok", None, None),
        ("replayed", None, None),
        ("error", "already_sampled", "person"),
        ("error", "invalid", "client_uuid"),
        ("error", "invalid", "sampled_at"),
        ("error", "invalid", "id_number"),
        ("error", "not_found", "prereg_code"),
    ]
    assert out[7].error.detail["tube_code"] == "BT-FULL" and "BT-FULL" in out[7].error.reason
    assert out[10].error.detail["tube_code"] == "BT-OK01"
    assert [o.result.position for o in (out[0], out[8])] == [1, 2]
    assert samples_in(session, campaign) == before + 2
    assert session.scalar(select(Tube.filled).where(Tube.campaign_id == campaign.id, Tube.code == "BT-OK01")) == 2


def test_a_batch_past_the_pool_size_seals_at_ten_and_refuses_the_rest(session, round_, start):
    campaign, site, _ = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="BT-0012", at=start)
    people = numbers_of(session, KEY, 12, skip=40)
    out = batch(session, campaign, site, [ScanIn(uid(), "BT-0012", start, id_number=n) for _pid, n in people])
    assert [o.status for o in out] == ["ok"] * 10 + ["error"] * 2
    assert out[9].result.sealed and not out[8].result.sealed
    assert {o.error.code for o in out[10:]} == {"tube_full"}
    tube = session.execute(select(Tube.filled, Tube.status).where(Tube.campaign_id == campaign.id, Tube.code == "BT-0012")).one()
    assert tuple(tube) == (10, "sealed")


def test_a_preregistration_code_scans_like_the_id_number(session, round_, start):
    campaign, site, _ = round_
    pid, number = numbers_of(session, KEY, 1, skip=60)[0]
    made = preregister(session=session, campaign=campaign, id_number=number, key=KEY, now=start)
    again = preregister(session=session, campaign=campaign, id_number=number, key=KEY, now=start)
    assert again.code == made.code and again.replayed and not made.replayed
    assert made.code.startswith("P") and len(made.code) == 8 and "*" in made.id_masked
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="BT-PRE1", at=start)
    (out,) = batch(session, campaign, site, [ScanIn(uid(), "BT-PRE1", start, prereg_code=made.code.lower())])
    assert out.status == "ok"
    assert session.scalar(select(Sample.person_id).where(Sample.id == out.result.sample_id)) == pid
    # A number not in the registry gets a code too, alike: the anonymous answer tells nobody who is registered.
    # The code waits for the desk (no person yet, the number's hash kept); scanned as it is, it names no one.
    stranger = preregister(session=session, campaign=campaign, id_number="11010519491231002X", key=KEY, now=start)
    assert stranger.code.startswith("P") and len(stranger.code) == 8 and not stranger.replayed and "*" in stranger.id_masked
    kept = session.scalar(select(Preregistration).where(Preregistration.code == stranger.code))
    assert kept.person_id is None and kept.id_hash == id_lookup_hash("11010519491231002X", key=KEY)
    (unknown,) = batch(session, campaign, site, [ScanIn(uid(), "BT-PRE1", start, prereg_code=stranger.code)])
    assert unknown.status == "error" and unknown.error.field == "prereg_code"


def test_every_step_records_who_and_when(session, round_, start):
    from sweep.auth.service import create_user
    from sweep.field.models import Box, Handover

    campaign, site, _ = round_
    user = create_user(session=session, username=f"who-{uid()[:8]}", display_name="登记员", role="site_staff", plan_site_id=site.id)
    at = start + timedelta(minutes=5)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="BT-WHO1", at=at, user_id=user.id)
    (_pid, number), = numbers_of(session, KEY, 1, skip=70)
    _batch_user = scan_batch(session=session, campaign=campaign, plan_site_id=site.id, key=KEY, user_id=user.id,
                             scans=[ScanIn(uid(), "BT-WHO1", at, id_number=number)])
    assert _batch_user[0].status == "ok"
    field.seal_tube(session=session, campaign=campaign, plan_site_id=site.id, tube_code="BT-WHO1", at=at, user_id=user.id)
    field.open_box(session=session, campaign=campaign, plan_site_id=site.id, code="BX-WHO1", at=at, user_id=user.id)
    field.pack_tube(session=session, campaign=campaign, plan_site_id=site.id, box_code="BX-WHO1", tube_code="BT-WHO1", at=at, user_id=user.id)
    field.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code="BX-WHO1",
                        courier_staff_id=courier(session, campaign, site.id), at=at, user_id=user.id)
    tube = session.scalar(select(Tube).where(Tube.campaign_id == campaign.id, Tube.code == "BT-WHO1"))
    assert (tube.opened_by, tube.sealed_by, tube.packed_by) == (user.id, user.id, user.id)
    assert tube.sealed_at == at and tube.packed_at == at
    sample = session.scalar(select(Sample).where(Sample.tube_id == tube.id))
    assert sample.recorded_by == user.id and sample.recorded_at is not None
    box = session.scalar(select(Box).where(Box.campaign_id == campaign.id, Box.code == "BX-WHO1"))
    assert box.opened_by == user.id
    assert session.scalar(select(Handover.handed_by).where(Handover.box_id == box.id)) == user.id
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.campaign_id == campaign.id, AuditEntry.user_id == user.id)))
    assert actions == {"tube.opened", "scan.batch", "tube.sealed", "box.opened", "tube.packed", "box.handed_over"}
