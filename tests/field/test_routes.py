"""The field over real HTTP routes, on both backends: errors name the field, roles and sites are scoped."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from sweep.auth.models import AuditEntry, User
from sweep.db import make_session_factory, unit_of_work
from sweep.field.models import Sample
from sweep.optimize.materials import STAFF_LABELS
from sweep.plan.models import ReadinessItem, Shift
from tests.factories import outsider_number, uid
from tests.field.conftest import KEY, numbers_of


def _numbers(engine, n: int, skip: int) -> list[str]:
    with unit_of_work(make_session_factory(engine)) as session:
        return [x for _pid, x in numbers_of(session, KEY, n, skip=skip)]


def _site(r, site: int) -> str:  # type: ignore[no-untyped-def]
    return f"/api/campaigns/{r.campaign_id}/sites/{site}"


def _scan(code: str, number: str, u: str | None = None) -> dict:
    return {"client_uuid": u or uid(), "tube_code": code, "id_number": number, "sampled_at": datetime.now().isoformat()}


def test_scan_one_person_replay_and_every_error_over_http(api, engine):
    client, as_, r = api
    staff = as_("staff_a")
    base = _site(r, r.site_a)
    code, other_code = f"HT-{uid()[:8]}", f"HO-{uid()[:8]}"
    assert client.post(f"{base}/tubes", json={"code": code}, headers=staff).status_code == 201
    again = client.post(f"{base}/tubes", json={"code": code}, headers=staff)
    assert again.status_code == 200 and again.json()["replayed"]
    assert client.post(f"{_site(r, r.site_b)}/tubes", json={"code": other_code}, headers=as_("staff_b")).status_code == 201
    numbers = _numbers(engine, 12, skip=300)

    body = _scan(code, numbers[0])
    first = client.post(f"{base}/scans", json=body, headers=staff)
    assert first.status_code == 201 and first.json()["position"] == 1 and first.json()["status"] == "ok"
    replay = client.post(f"{base}/scans", json=body, headers=staff)
    assert replay.status_code == 200 and replay.json()["status"] == "replayed"
    assert replay.json()["sample_id"] == first.json()["sample_id"]

    def error(payload: dict, status: int, field: str, code_: str | None = None) -> dict:
        answer = client.post(f"{base}/scans", json=payload, headers=staff)
        assert answer.status_code == status, answer.text
        assert answer.json()["field"] == field and answer.json()["reason"]
        if code_:
            assert answer.json()["error"] == code_
        return answer.json()

    error(_scan(code, "41018419900101123"), 422, "id_number")  # 17 digits
    error(_scan(code, numbers[1][:17] + ("1" if numbers[1][17] == "0" else "0")), 422, "id_number")  # check digit
    error(_scan(code, "11010519491231002X"), 404, "id_number")  # valid, not registered
    twice = error(_scan(code, numbers[0]), 409, "person", "already_sampled")
    assert twice["tube_code"] == code and twice["sampled_at"]
    error(_scan("NO-SUCH-TUBE", numbers[1]), 404, "tube_code")
    error(_scan(other_code, numbers[1]), 403, "tube_code", "wrong_site")
    error({**_scan(code, numbers[1]), "client_uuid": "x"}, 422, "client_uuid")
    error({k: v for k, v in _scan(code, numbers[1]).items() if k != "sampled_at"}, 422, "sampled_at")

    for n in numbers[1:10]:
        assert client.post(f"{base}/scans", json=_scan(code, n), headers=staff).status_code == 201
    error(_scan(code, numbers[10]), 409, "tube_code", "tube_full")
    tubes = client.get(f"{base}/terminal", headers=staff).json()
    assert {t["code"]: (t["filled"], t["status"]) for t in tubes["tubes"]}[code] == (10, "sealed")
    assert tubes["recent"][0]["tube_code"] == code and "*" in tubes["recent"][0]["id_masked"]

    sealed = f"HS-{uid()[:8]}"
    client.post(f"{base}/tubes", json={"code": sealed}, headers=staff)
    client.post(f"{base}/scans", json=_scan(sealed, numbers[10]), headers=staff)
    assert client.post(f"{base}/tubes/{sealed}/seal", json={}, headers=staff).status_code == 200
    error(_scan(sealed, numbers[11]), 409, "tube_code", "tube_sealed")
    used = client.post(f"{base}/tubes", json={"code": other_code}, headers=staff)
    assert used.status_code == 409 and used.json()["field"] == "tube_code"


def test_a_batch_answers_per_item_and_a_replayed_batch_changes_nothing(api, engine):
    client, as_, r = api
    staff = as_("staff_a")
    base = _site(r, r.site_a)
    code = f"HB-{uid()[:8]}"
    client.post(f"{base}/tubes", json={"code": code}, headers=staff)
    numbers = _numbers(engine, 4, skip=330)
    scans = [_scan(code, n) for n in numbers[:3]] + [_scan(code, "123")]
    first = client.post(f"{base}/scans/batch", json={"scans": scans}, headers=staff)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["ok"], body["replayed"], body["errors"]) == (3, 0, 1)
    assert [i["status"] for i in body["results"]] == ["ok", "ok", "ok", "error"]
    assert body["results"][3]["error"]["field"] == "id_number"
    with unit_of_work(make_session_factory(engine)) as session:
        count = session.scalar(select(func.count()).select_from(Sample).where(Sample.campaign_id == r.campaign_id))
    again = client.post(f"{base}/scans/batch", json={"scans": scans}, headers=staff).json()
    assert (again["ok"], again["replayed"], again["errors"]) == (0, 3, 1)
    assert [i["sample_id"] for i in again["results"][:3]] == [i["sample_id"] for i in body["results"][:3]]
    with unit_of_work(make_session_factory(engine)) as session:
        assert session.scalar(select(func.count()).select_from(Sample).where(Sample.campaign_id == r.campaign_id)) == count
    too_many = client.post(f"{base}/scans/batch", json={"scans": [scans[0]] * 501}, headers=staff)
    assert too_many.status_code == 422 and too_many.json()["field"] == "scans"


def test_a_registrar_of_site_a_cannot_write_to_site_b(api, engine):
    client, as_, r = api
    staff = as_("staff_a")
    other = _site(r, r.site_b)
    for path, payload in (
        ("/tubes", {"code": f"XX-{uid()[:8]}"}),
        ("/scans", _scan("ANY-TUBE", _numbers(engine, 1, skip=340)[0])),
        ("/scans/batch", {"scans": [_scan("ANY-TUBE", _numbers(engine, 1, skip=340)[0])]}),
        ("/boxes", {"code": f"XB-{uid()[:8]}"}),
        ("/tubes/ANY-TUBE/seal", {}),
    ):
        answer = client.post(other + path, json=payload, headers=staff)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["field"] == "site"
    assert client.get(f"{other}/readiness", headers=staff).status_code == 403
    # Roles without the right get 403 naming the role.
    lab = client.post(f"{_site(r, r.site_a)}/tubes", json={"code": f"XL-{uid()[:8]}"}, headers=as_("lab"))
    assert lab.status_code == 403 and lab.json()["field"] == "role"


def test_a_lab_user_cannot_read_phone_numbers_and_views_of_them_are_audited(api):
    client, as_, r = api
    lab = as_("lab")
    for path in (f"/api/campaigns/{r.campaign_id}/missing", f"/api/campaigns/{r.campaign_id}/sites/{r.site_a}/staff"):
        answer = client.get(path, headers=lab)
        assert answer.status_code == 403 and answer.json()["field"] == "role", path
    seen = client.get(f"/api/campaigns/{r.campaign_id}/missing", params={"limit": 3}, headers=as_("command"))
    assert seen.status_code == 200 and len(seen.json()) == 3
    with unit_of_work(make_session_factory(client.app.state.engine)) as session:
        logged = session.execute(select(AuditEntry.user_id, AuditEntry.campaign_id, AuditEntry.detail)
                                 .where(AuditEntry.action == "personal.missing")).all()
        command = session.scalar(select(User.id).where(User.username == r.users["command"]))
    assert any(uid_ == command and cid == r.campaign_id and d["people"] == 3 and d["area"] == "district" for uid_, cid, d in logged)


def test_boxes_handover_twice_and_the_lab_receipt(api, engine):
    client, as_, r = api
    staff, base = as_("staff_a"), _site(r, r.site_a)
    code, box = f"HX-{uid()[:8]}", f"BX-{uid()[:8]}"
    client.post(f"{base}/tubes", json={"code": code}, headers=staff)
    client.post(f"{base}/scans", json=_scan(code, _numbers(engine, 1, skip=350)[0]), headers=staff)
    assert client.post(f"{base}/boxes", json={"code": box}, headers=staff).status_code == 201
    unsealed = client.post(f"{base}/boxes/{box}/tubes", json={"tube_code": code}, headers=staff)
    assert unsealed.status_code == 409 and unsealed.json()["field"] == "tube_code"
    client.post(f"{base}/tubes/{code}/seal", json={}, headers=staff)
    packed = client.post(f"{base}/boxes/{box}/tubes", json={"tube_code": code}, headers=staff)
    assert packed.status_code == 200 and packed.json()["tubes"] == 1
    early = client.post(f"/api/campaigns/{r.campaign_id}/boxes/{box}/receipt", json={}, headers=as_("lab"))
    assert early.status_code == 409 and early.json()["field"] == "box_code"
    # The box goes to the site's rostered courier: not to a name typed in, nor to someone rostered in another role.
    couriers = client.get(f"{base}/couriers", headers=staff).json()
    assert couriers and all(c["name"] for c in couriers)
    assert client.get(f"{_site(r, r.site_b)}/couriers", headers=staff).status_code == 403
    typed = client.post(f"{base}/boxes/{box}/handover", json={"courier_name": "王师傅"}, headers=staff)
    assert typed.status_code == 422
    registrar = next(p["staff_id"] for p in client.get(f"{base}/staff", headers=staff).json() if p["role"] == "registrar")
    stranger = client.post(f"{base}/boxes/{box}/handover", json={"courier_staff_id": registrar}, headers=staff)
    assert stranger.status_code == 422 and stranger.json()["field"] == "courier_staff_id"
    assert couriers[0]["name"] in stranger.json()["reason"]
    handed = client.post(f"{base}/boxes/{box}/handover", json={"courier_staff_id": couriers[0]["staff_id"]}, headers=staff)
    assert handed.status_code == 201 and handed.json()["tubes"] == 1
    assert handed.json()["courier_name"] == couriers[0]["name"] and handed.json()["courier_staff_id"] == couriers[0]["staff_id"]
    twice = client.post(f"{base}/boxes/{box}/handover", json={"courier_staff_id": couriers[0]["staff_id"]}, headers=staff)
    assert twice.status_code == 409 and twice.json()["error"] == "already_handed_over" and twice.json()["field"] == "box_code"
    received = client.post(f"/api/campaigns/{r.campaign_id}/boxes/{box}/receipt", json={}, headers=as_("lab"))
    assert received.status_code == 200 and received.json()["status"] == "received"
    # The box in view: its tube, who carried it, when it arrived; for the lab and the HQ, not for a courier.
    seen = client.get(f"/api/campaigns/{r.campaign_id}/boxes/{box}", headers=as_("lab"))
    assert seen.status_code == 200
    view = seen.json()
    assert (view["tubes"], view["people"], view["status"], view["courier_name"]) == (1, 1, "received", couriers[0]["name"])
    assert view["received_at"] and view["handed_at"] and [t["code"] for t in view["tube_list"]] == [code]
    assert view["results"] == {"negative": 0, "positive": 0, "invalid": 0, "pending": 1}
    assert client.get(f"/api/campaigns/{r.campaign_id}/boxes/{box}", headers=as_("courier")).status_code == 403
    assert client.get(f"/api/campaigns/{r.campaign_id}/boxes/NO-SUCH-BOX", headers=as_("command")).status_code == 404
    page = client.get(f"/rounds/{r.campaign_id}/boxes/{box}", headers=as_("command"))
    assert page.status_code == 200 and couriers[0]["name"] in page.text and code in page.text
    flags = client.get(f"/api/campaigns/{r.campaign_id}/custody/flags", headers=as_("command"))
    assert flags.status_code == 200 and set(flags.json()) == {"tubes_waited_too_long", "boxes_too_long_in_transit", "flags"}
    traced = client.get(f"/api/campaigns/{r.campaign_id}/tubes/{code}/trace", headers=as_("lab")).json()
    assert (traced["box_code"], traced["courier_name"]) == (box, couriers[0]["name"]) and traced["received_at"]
    unknown = client.post(f"/api/campaigns/{r.campaign_id}/boxes/NO-SUCH-BOX/receipt", json={}, headers=as_("lab"))
    assert unknown.status_code == 404 and unknown.json()["field"] == "box_code"


def test_readiness_check_ins_and_the_flags_for_the_site_and_the_hq(api, engine):
    client, as_, r = api
    leader = as_("leader_a")
    board = client.get(f"{_site(r, r.site_a)}/readiness", headers=leader).json()
    assert {i["kind"] for i in board} == {"materials", "staff", "disinfection", "waste"}
    tubes = next(i for i in board if i["kind"] == "materials" and i["label"].startswith("采样管"))
    disinfection = next(i for i in board if i["kind"] == "disinfection")
    url = f"/api/campaigns/{r.campaign_id}/readiness"
    # The round started two to three hours ago: materials were due two hours before it.
    need = client.post(f"{url}/{tubes['id']}/check-in", json={}, headers=leader)
    assert need.status_code == 422 and need.json()["field"] == "quantity"
    short = client.post(f"{url}/{tubes['id']}/check-in", json={"quantity": tubes["quantity_planned"] - 5, "at": tubes["due_at"]}, headers=leader)
    assert short.status_code == 200 and short.json()["short"] and short.json()["state"] in ("short", "overdue")
    # Claimed ten minutes before its deadline but sent hours after it: judged by when it arrived.
    on_time = datetime.fromisoformat(disinfection["due_at"]) - timedelta(minutes=10)
    done = client.post(f"{url}/{disinfection['id']}/check-in", json={"at": on_time.isoformat()}, headers=leader).json()
    assert done["state"] == "late" and done["late"] and done["checked_at"].startswith(on_time.isoformat()[:16])
    flagged = client.get(f"{url}/flagged", headers=as_("command"))
    assert flagged.status_code == 200
    ids = {i["id"]: i for i in flagged.json()}
    assert tubes["id"] in ids and ids[tubes["id"]]["short"]
    assert disinfection["id"] in ids and ids[disinfection["id"]]["late"]
    # Every flagged item really is late or short.
    assert all(i["late"] or i["short"] for i in flagged.json())
    office = client.get(f"{url}/flagged", headers=as_("office_a")).json()
    assert office and {i["plan_site_id"] for i in office} <= _sites_of_office(engine, r)
    other = next(i for i in client.get(f"{_site(r, r.site_b)}/readiness", headers=as_("staff_b")).json() if i["kind"] == "disinfection")
    refused = client.post(f"{url}/{other['id']}/check-in", json={}, headers=leader)
    assert refused.status_code == 403 and refused.json()["field"] == "site"
    assert client.post(f"{url}/999999999/check-in", json={}, headers=leader).status_code == 404


def _sites_of_office(engine, r) -> set[int]:  # type: ignore[no-untyped-def]
    from sweep.plan.models import PlanSite

    with unit_of_work(make_session_factory(engine)) as session:
        return set(session.scalars(select(PlanSite.id).where(PlanSite.campaign_id == r.campaign_id, PlanSite.office_id == r.office_a)))


def test_staff_arrive_one_by_one_against_the_roster(api, engine):
    client, as_, r = api
    leader = as_("leader_a")
    base = _site(r, r.site_a)
    roster = client.get(f"{base}/staff", headers=leader).json()
    assert roster and all(p["arrived_at"] is None for p in roster)
    first = client.post(f"{base}/staff/{roster[0]['staff_id']}/arrival", json={}, headers=leader)
    assert first.status_code == 200 and not first.json()["replayed"]
    again = client.post(f"{base}/staff/{roster[0]['staff_id']}/arrival", json={}, headers=leader)
    assert again.json()["replayed"] and again.json()["arrived_at"] == first.json()["arrived_at"]
    with unit_of_work(make_session_factory(engine)) as session:
        items = {i.label: i for i in session.scalars(select(ReadinessItem).where(
            ReadinessItem.campaign_id == r.campaign_id, ReadinessItem.plan_site_id == r.site_a, ReadinessItem.kind == "staff"))}
        medical = session.scalar(select(func.count()).select_from(Shift).where(
            Shift.campaign_id == r.campaign_id, Shift.plan_site_id == r.site_a, Shift.staff_id == roster[0]["staff_id"], Shift.role == "sampler")) > 0
        mine, other = (items[STAFF_LABELS["medical"]], items[STAFF_LABELS["general"]]) if medical \
            else (items[STAFF_LABELS["general"]], items[STAFF_LABELS["medical"]])
        # The arrival counts on the item of its own kind of staff, and only there.
        assert mine.quantity_done == 1 and mine.done_at is None
        assert other.quantity_done is None
    stranger = client.post(f"{base}/staff/999999999/arrival", json={}, headers=leader)
    assert stranger.status_code == 404 and stranger.json()["field"] == "staff_id"


def test_a_resident_preregisters_and_the_desk_scans_the_code(api, engine):
    client, as_, r = api
    number = _numbers(engine, 1, skip=360)[0]
    made = client.post(f"/api/campaigns/{r.campaign_id}/preregistrations", json={"id_number": number})
    assert made.status_code == 200, made.text
    assert number not in made.text
    bad = client.post(f"/api/campaigns/{r.campaign_id}/preregistrations", json={"id_number": "123"})
    assert bad.status_code == 422 and bad.json()["field"] == "id_number"
    staff, base = as_("staff_a"), _site(r, r.site_a)
    code = f"HP-{uid()[:8]}"
    client.post(f"{base}/tubes", json={"code": code}, headers=staff)
    scan = {"client_uuid": uid(), "tube_code": code, "prereg_code": made.json()["code"], "sampled_at": datetime.now().isoformat()}
    assert client.post(f"{base}/scans", json=scan, headers=staff).status_code == 201
    twice = client.post(f"{base}/scans", json={**scan, "client_uuid": uid()}, headers=staff)
    assert twice.status_code == 409 and twice.json()["error"] == "already_sampled"


def test_tubes_opened_offline_travel_with_their_scans(api, engine):
    client, as_, r = api
    staff, base = as_("staff_a"), _site(r, r.site_a)
    new, taken = f"HN-{uid()[:8]}", f"HT-{uid()[:8]}"
    assert client.post(f"{_site(r, r.site_b)}/tubes", json={"code": taken}, headers=as_("staff_b")).status_code == 201
    numbers = _numbers(engine, 3, skip=370)
    body = {"tubes": [{"code": new}, {"code": taken}], "scans": [_scan(new, n) for n in numbers]}
    first = client.post(f"{base}/scans/batch", json=body, headers=staff).json()
    assert [(t["code"], t["status"]) for t in first["tubes"]] == [(new, "ok"), (taken, "error")]
    assert first["tubes"][1]["error"]["field"] == "tube_code"
    assert first["ok"] == 3 and [i["position"] for i in first["results"]] == [1, 2, 3]
    again = client.post(f"{base}/scans/batch", json=body, headers=staff).json()
    assert [t["status"] for t in again["tubes"]] == ["replayed", "error"] and again["replayed"] == 3


def test_a_walk_in_over_http_then_listed_counted_and_confirmed_by_the_office(api, engine):
    client, as_, r = api
    staff, office = as_("staff_a"), as_("office_a")
    base = _site(r, r.site_a)
    code = f"HW-{uid()[:8]}"
    assert client.post(f"{base}/tubes", json={"code": code}, headers=staff).status_code == 201
    number = outsider_number()
    visitor = {"id_number": number, "name": "临时登记甲", "phone": "13700003333", "reason": "worker",
               "address": "航空港区某工地宿舍"}
    body = {"client_uuid": uid(), "tube_code": code, "sampled_at": datetime.now().isoformat(), "walk_in": visitor}
    batch = client.post(f"{base}/scans/batch", json={"scans": [body]}, headers=staff)
    assert batch.status_code == 200 and batch.json()["results"][0]["status"] == "ok", batch.text
    bad = {**body, "client_uuid": uid(), "walk_in": {**visitor, "id_number": number[:-1] + ("0" if number[-1] != "0" else "1")}}
    refused = client.post(f"{base}/scans", json=bad, headers=staff)
    assert refused.status_code == 422 and refused.json()["field"] == "walk_in.id_number"
    listed = client.get(f"/api/campaigns/{r.campaign_id}/walk-ins?unconfirmed=true", headers=office)
    assert listed.status_code == 200
    (mine,) = [w for w in listed.json() if w["name"] == "临时登记甲"]
    assert mine["phone"] == "13700003333" and mine["sampled_at"] is not None
    counts = client.get(f"/api/campaigns/{r.campaign_id}/walk-ins/summary?by=site", headers=as_("command")).json()
    assert sum(c["sampled"] for c in counts) >= 1
    figures = client.get(f"/api/campaigns/{r.campaign_id}/figures", headers=as_("command")).json()
    assert figures["walk_ins"] >= 1
    with unit_of_work(make_session_factory(engine)) as session:
        from sweep.registry.models import Building

        building = session.scalar(select(Building.code).where(Building.office_id == r.office_a).order_by(Building.id).limit(1))
    done = client.post(f"/api/campaigns/{r.campaign_id}/walk-ins/{mine['walk_in_id']}/confirm", json={"building_code": building},
                       headers=office)
    assert done.status_code == 200 and done.json()["confirmed_at"] is not None and done.json()["building_code"] == building
    again = client.post(f"/api/campaigns/{r.campaign_id}/walk-ins/{mine['walk_in_id']}/confirm", json={"building_code": building},
                        headers=office)
    assert again.status_code == 409
    assert client.get(f"/api/campaigns/{r.campaign_id}/walk-ins", headers=staff).status_code == 403
    # Leave the shared registry as it was: this person came only for this test.
    with unit_of_work(make_session_factory(engine)) as session:
        from sqlalchemy import delete

        from sweep.field.models import WalkIn
        from sweep.registry.models import Person

        session.execute(delete(Sample).where(Sample.person_id == mine["person_id"]))
        session.execute(delete(WalkIn).where(WalkIn.person_id == mine["person_id"]))
        session.execute(delete(Person).where(Person.id == mine["person_id"]))


def test_walk_ins_queued_offline_arrive_with_their_tube_counted_once_and_confirmable(api, engine):
    """A terminal's queue after a spell offline: the tube it opened, a passport holder's registration and a
    pre-registration completed with its code, sent twice (the first answer lost)."""
    from sqlalchemy import delete

    from sweep.field.models import Preregistration, WalkIn
    from sweep.registry.models import Building, Person

    client, as_, r = api
    staff, office = as_("staff_a"), as_("office_a")
    base = _site(r, r.site_a)
    code = f"HQ-{uid()[:8]}"
    made = client.post(f"/api/campaigns/{r.campaign_id}/preregistrations", json={"id_number": outsider_number()})
    assert made.status_code == 200
    bare = {"client_uuid": uid(), "tube_code": code, "prereg_code": made.json()["code"], "sampled_at": datetime.now().isoformat()}
    later = (datetime.now() + timedelta(seconds=30)).isoformat()
    passport = {"client_uuid": uid(), "tube_code": code, "sampled_at": later,
                "walk_in": {"doc_type": "passport", "id_number": f"E{uid()[:8].upper()}", "name": "离线登记乙", "reason": "visitor",
                            "address": "某宾馆"}}
    completed = {"client_uuid": uid(), "tube_code": code, "prereg_code": made.json()["code"], "sampled_at": later,
                 "walk_in": {"name": "预登记丙", "reason": "new_resident", "phone": "13700005555", "address": "某小区"}}
    # The code scanned alone, with the tube opened offline: the desk is asked for the rest of the form.
    first = client.post(f"{base}/scans/batch", json={"tubes": [{"code": code, "kind": "pooled"}], "scans": [bare]}, headers=staff)
    assert first.status_code == 200, first.text
    (refused,) = first.json()["results"]
    assert (refused["status"], refused["error"]["error"], refused["error"]["field"]) == ("error", "walk_in_required", "prereg_code")
    body = {"scans": [passport, completed]}
    second = client.post(f"{base}/scans/batch", json=body, headers=staff).json()
    assert [(i["status"], i["position"]) for i in second["results"]] == [("ok", 1), ("ok", 2)]
    again = client.post(f"{base}/scans/batch", json=body, headers=staff).json()
    assert [i["status"] for i in again["results"]] == ["replayed", "replayed"]
    listed = client.get(f"/api/campaigns/{r.campaign_id}/walk-ins?unconfirmed=true", headers=office).json()
    mine = {w["name"]: w for w in listed if w["name"] in ("离线登记乙", "预登记丙")}
    assert set(mine) == {"离线登记乙", "预登记丙"} and all(w["sampled_at"] is not None for w in mine.values())
    assert mine["预登记丙"]["id_masked"] == made.json()["id_masked"]
    with unit_of_work(make_session_factory(engine)) as session:
        stored = session.scalar(select(func.count()).select_from(WalkIn).where(WalkIn.person_id.in_([w["person_id"] for w in mine.values()])))
        building = session.scalar(select(Building.code).where(Building.office_id == r.office_a).order_by(Building.id).limit(1))
    assert stored == 2
    for w in mine.values():
        done = client.post(f"/api/campaigns/{r.campaign_id}/walk-ins/{w['walk_in_id']}/confirm", json={"building_code": building},
                           headers=office)
        assert done.status_code == 200 and done.json()["confirmed_at"] is not None
    # Leave the shared registry as it was: these people came only for this test.
    ids = [w["person_id"] for w in mine.values()]
    with unit_of_work(make_session_factory(engine)) as session:
        session.execute(delete(Sample).where(Sample.person_id.in_(ids)))
        session.execute(delete(WalkIn).where(WalkIn.person_id.in_(ids)))
        session.execute(delete(Preregistration).where(Preregistration.code == made.json()["code"]))
        session.execute(delete(Person).where(Person.id.in_(ids)))


def test_a_box_open_resent_is_a_replay_and_another_sites_code_reveals_nothing(api):
    client, as_, r = api
    staff, base = as_("staff_a"), _site(r, r.site_a)
    box = f"BR-{uid()[:8]}"
    first = client.post(f"{base}/boxes", json={"code": box}, headers=staff)
    assert first.status_code == 201 and not first.json()["replayed"]
    again = client.post(f"{base}/boxes", json={"code": box}, headers=staff)  # the answer was lost: the terminal resends
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["id"] == first.json()["id"]
    other = client.post(f"{_site(r, r.site_b)}/boxes", json={"code": box}, headers=as_("staff_b"))
    assert other.status_code == 409 and other.json()["field"] == "box_code"
    assert set(other.json()) == {"error", "field", "reason"}
    # A scan's key reused at another site is refused without its tube or fill.
    code = f"BT-{uid()[:8]}"
    client.post(f"{base}/tubes", json={"code": code}, headers=staff)
    key = uid()
    number = _numbers(client.app.state.engine, 1, skip=420)[0]
    assert client.post(f"{base}/scans", json=_scan(code, number, key), headers=staff).status_code == 201
    other_code = f"BO-{uid()[:8]}"
    client.post(f"{_site(r, r.site_b)}/tubes", json={"code": other_code}, headers=as_("staff_b"))
    stolen = client.post(f"{_site(r, r.site_b)}/scans", json=_scan(other_code, number, key), headers=as_("staff_b"))
    assert stolen.status_code == 409 and stolen.json()["field"] == "client_uuid"
    assert code not in stolen.text and "first_tube_code" not in stolen.json()
