"""Times sent by clients are checked against the round's days and the server's clock, on every
route that takes one; a readiness item cannot be claimed on time with a backdated check-in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sweep.db import make_session_factory, unit_of_work
from tests.factories import uid
from tests.field.conftest import KEY, numbers_of

PAST, EPOCH, FAR = "1900-01-01T08:00:00", "1970-01-01T00:00:00", "2999-01-01T08:00:00"



def _refused(response, field: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field, response.json()


def test_times_from_another_century_or_ahead_of_the_server_are_refused(api, engine):
    client, as_, r = api
    staff, base = as_("staff_a"), f"/api/campaigns/{r.campaign_id}/sites/{r.site_a}"
    ahead = (datetime.now() + timedelta(hours=1)).isoformat(timespec="seconds")
    for when in (PAST, FAR, ahead):
        _refused(client.post(f"{base}/tubes", json={"code": f"CT-{uid()[:8]}", "opened_at": when}, headers=staff), "opened_at")
        _refused(client.post(f"{base}/boxes", json={"code": f"CB-{uid()[:8]}", "opened_at": when}, headers=staff), "opened_at")
    code = f"CT-{uid()[:8]}"
    assert client.post(f"{base}/tubes", json={"code": code}, headers=staff).status_code == 201
    with unit_of_work(make_session_factory(engine)) as session:
        number = numbers_of(session, KEY, 1, skip=460)[0][1]
    # In a batch the time is judged item by item: the one ahead of the clock is refused, the rest stored.
    batch = client.post(f"{base}/scans/batch", headers=staff, json={"tubes": [], "scans": [
        {"client_uuid": uid(), "tube_code": code, "id_number": number, "sampled_at": ahead},
        {"client_uuid": uid(), "tube_code": code, "id_number": number, "sampled_at": datetime.now().isoformat()},
    ]})
    assert batch.status_code == 200
    assert [i["status"] for i in batch.json()["results"]] == ["error", "ok"]
    assert batch.json()["results"][0]["error"]["field"] == "sampled_at"
    _refused(client.post(f"{base}/tubes/{code}/seal", json={"sealed_at": EPOCH}, headers=staff), "sealed_at")
    assert client.post(f"{base}/tubes/{code}/seal", json={}, headers=staff).status_code == 200
    box = f"CB-{uid()[:8]}"
    assert client.post(f"{base}/boxes", json={"code": box}, headers=staff).status_code == 201
    assert client.post(f"{base}/boxes/{box}/tubes", json={"tube_code": code}, headers=staff).status_code == 200
    courier = client.get(f"{base}/couriers", headers=staff).json()[0]["staff_id"]
    _refused(client.post(f"{base}/boxes/{box}/handover", json={"courier_staff_id": courier, "handed_at": FAR}, headers=staff), "handed_at")
    assert client.post(f"{base}/boxes/{box}/handover", json={"courier_staff_id": courier}, headers=staff).status_code == 201
    lab = as_("lab")
    _refused(client.post(f"/api/campaigns/{r.campaign_id}/boxes/{box}/receipt", json={"received_at": FAR}, headers=lab), "received_at")
    assert client.post(f"/api/campaigns/{r.campaign_id}/boxes/{box}/receipt", json={}, headers=lab).status_code == 200
    result = {"tube_code": code, "result": "negative", "resulted_at": "9999-12-31T23:00:00"}
    _refused(client.post(f"/api/campaigns/{r.campaign_id}/results", json=result, headers=lab), "resulted_at")
    csv = f"管码,结果,检测时间\n{code},阴性,9999-12-31 23:00\n".encode()
    imported = client.post(f"/api/campaigns/{r.campaign_id}/results/import", headers=lab, files={"file": ("r.csv", csv, "text/csv")})
    assert imported.status_code in (200, 422), imported.text
    assert "resulted_at" in imported.text
    # An instrument that writes its zone: read on the district's clock, stored, no 500.
    zoned = (datetime.now(timezone(timedelta(hours=8))) + timedelta(minutes=1)).isoformat(timespec="seconds")
    csv = f"管码,结果,检测时间\n{code},阴性,{zoned}\n".encode()
    imported = client.post(f"/api/campaigns/{r.campaign_id}/results/import", headers=lab, files={"file": ("r.csv", csv, "text/csv")})
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 1, imported.json()


def test_readiness_cannot_be_claimed_on_time_with_a_backdated_check_in(api):
    client, as_, r = api
    leader = as_("leader_a")
    board = client.get(f"/api/campaigns/{r.campaign_id}/sites/{r.site_a}/readiness", headers=leader).json()
    item = next(i for i in board if i["quantity_planned"] is None and i["done_at"] is None)
    _refused(client.post(f"/api/campaigns/{r.campaign_id}/readiness/{item['id']}/check-in", json={"at": EPOCH}, headers=leader), "at")
    sent = datetime.now()
    claimed = (sent - timedelta(hours=3)).isoformat(timespec="seconds")  # inside the round's days, hours before it was sent
    answer = client.post(f"/api/campaigns/{r.campaign_id}/readiness/{item['id']}/check-in", json={"at": claimed}, headers=leader)
    assert answer.status_code == 200, answer.text
    state = answer.json()
    assert state["checked_at"].startswith(claimed[:16])  # the claim is kept as sent...
    assert datetime.fromisoformat(state["done_at"]) >= sent - timedelta(minutes=6)  # ...but the deadline is judged by its arrival
    due = datetime.fromisoformat(state["due_at"])
    assert state["state"] == ("late" if due < sent - timedelta(minutes=6) else "done")
