"""Key groups on a registry that starts empty, as a real district's does: groups made by command or
API, workplaces, members and a workplace's own tests imported from sheets with bad rows, compliance
per employer and per office. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from sweep import migrate
from sweep.api import create_app
from sweep.auth.models import AuditEntry
from sweep.auth.service import create_user
from sweep.config import Settings, get_settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.district import generate_district
from sweep.keygroups.models import KeyGroupMember, KeyGroupTest, Workplace
from sweep.registry.groups import single_tube_people
from sweep.registry.idnumber import check_digit
from sweep.registry.models import KeyGroup, Person
from tests.registry.factories import csv_bytes, district_tables, write_csv, write_xlsx

KEY = "keygroup-secret"
NOW = datetime(2026, 12, 10, 8, 0)
STRANGER = "11010119900307777" + check_digit("11010119900307777")  # a valid number no one in the registry has


def _json(result) -> object:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_key_groups_on_a_registry_that_starts_empty(empty_database, tmp_path, monkeypatch):
    migrate.upgrade(empty_database)
    monkeypatch.setenv("SWEEP_DATABASE_URL", empty_database)
    monkeypatch.setenv("SWEEP_SECRET_KEY", KEY)
    get_settings.cache_clear()
    from sweep.cli import app

    district = generate_district(people=800, seed=4)
    b_header, b_rows, p_header, p_rows = district_tables(district, "K")
    keyed = [r for r in p_rows if r[6]]
    assert {r[6] for r in keyed} == {"机场工作人员", "冷链从业人员", "隔离酒店工作人员"}
    # The community's sheet writes the short forms.
    for r in p_rows:
        r[6] = {"机场工作人员": "机场", "冷链从业人员": "冷链", "隔离酒店工作人员": "隔离酒店"}.get(r[6], r[6])
    runner = CliRunner()
    try:
        r = runner.invoke(app, ["keygroups", "schedules"])
        assert r.exit_code == 0 and "sweep keygroups create" in r.stdout
        assert _json(runner.invoke(app, ["import", "buildings", str(write_csv(tmp_path / "b.csv", b_header, b_rows)), "--json"]))["rejected_rows"] == 0
        people = write_csv(tmp_path / "p.csv", p_header, p_rows)
        report = _json(runner.invoke(app, ["import", "people", str(people), "--json"]))
        # No groups yet: the key-group rows are refused, and the reason says how to make them.
        assert report["rejected_rows"] == len(keyed) > 0
        assert all(x["field"] == "key_group" and "sweep keygroups create" in x["reason"] for x in report["rejected"])

        for code, name, every, kind in (("airport", "机场工作人员", 2, "--single-tube"), ("cold_chain", "冷链从业人员", 1, "--single-tube"),
                                        ("quarantine_hotel", "隔离酒店工作人员", 1, "--pooled")):
            r = runner.invoke(app, ["keygroups", "create", code, "--name", name, "--every", str(every), kind])
            assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["keygroups", "create", "airport", "--name", "又一个", "--every", "2"])
        assert r.exit_code == 2 and "code" in r.output
        r = runner.invoke(app, ["keygroups", "create", "bad code!", "--name", "x", "--every", "2"])
        assert r.exit_code == 2 and "code" in r.output
        r = runner.invoke(app, ["keygroups", "set", "airport", "--every", "0"])
        assert r.exit_code == 2 and "test_every_days" in r.output
        report = _json(runner.invoke(app, ["import", "people", str(people), "--json"]))
        assert report["rejected_rows"] == 0 and report["imported"] == len(keyed)
        groups = {g["code"]: g for g in _json(runner.invoke(app, ["keygroups", "schedules", "--json"]))}
        assert sum(g["members"] for g in groups.values()) == len(keyed)
        assert groups["airport"]["single_tube"] and not groups["quarantine_hotel"]["single_tube"]

        # Workplaces from an XLSX with a title row; three bad rows.
        places = [["WP-T2", "T2航站楼", "机场集团", "机场", "", ""], ["WP-COLD", "一号冷库", "冷链物流公司", "冷链从业人员", "", "2"],
                  ["WP-HOTEL", "隔离酒店", "酒店管理组", "quarantine_hotel", "", ""],
                  ["WP-T2", "重复", "机场集团", "机场", "", ""], ["WP-X", "某处", "", "机场", "", ""],
                  ["WP-Y", "某处", "某单位", "学生", "", ""], ["WP-Z", "某处", "某单位", "机场", "NOPE", ""]]
        xlsx = write_xlsx(tmp_path / "w.xlsx", ["场所编码", "场所名称", "用人单位", "人员类别", "社区编码", "环境采样间隔"], places,
                          title="重点场所登记表")
        report = _json(runner.invoke(app, ["keygroups", "import", "workplaces", str(xlsx), "--json"]))
        assert (report["imported"], report["rejected_rows"]) == (3, 4)
        assert [(x["row"], x["field"]) for x in report["rejected"]] == [
            (7, "code"), (8, "employer"), (9, "key_group"), (10, "community")]
        again = _json(runner.invoke(app, ["keygroups", "import", "workplaces", str(xlsx), "--json"]))
        assert (again["imported"], again["unchanged"]) == (0, 3)

        # Members from a CSV: a typo in a number, a stranger, a wrong name, an unknown workplace, another group's.
        p = district.people
        ids = {p.id_number[i]: (p.name[i], int(p.key_group[i])) for i in range(len(p.name))}
        by_group = {k: [n for n, (_name, g) in ids.items() if g == k] for k in (1, 2, 3)}
        plain = next(n for n, (_name, g) in ids.items() if g == 0)
        rows = [[n, ids[n][0], "WP-T2"] for n in by_group[1]] + [[n, "", "WP-COLD"] for n in by_group[2]]
        typo = by_group[1][0][:17] + ("0" if by_group[1][0][17] != "0" else "1")
        bad = [[typo, "", "WP-T2"], [STRANGER, "", "WP-T2"], [by_group[3][0], "不是他", "WP-HOTEL"],
               [by_group[3][0], "", "WP-NONE"], [by_group[2][0], "", "WP-T2"], [plain, ids[plain][0], "WP-HOTEL"]]
        members = write_csv(tmp_path / "m.csv", ["身份证号", "姓名", "场所编码"], rows + bad, encoding="gb18030")
        report = _json(runner.invoke(app, ["keygroups", "import", "members", str(members), "--json"]))
        first_bad = len(rows) + 2
        assert report["imported"] == len(rows) + 1 and report["rejected_rows"] == 5
        assert [(x["row"] - first_bad, x["field"]) for x in report["rejected"]] == [
            (0, "id_number"), (1, "id_number"), (2, "name"), (3, "workplace"), (4, "workplace")]
        assert "请先导入人员" in report["rejected"][1]["reason"]
        assert _json(runner.invoke(app, ["keygroups", "import", "members", str(members), "--json"]))["unchanged"] == len(rows) + 1

        # A workplace's own tests: one bad time, one bad result; a second load changes nothing.
        tests = [[n, "2026-12-09 07:30", "阴性", ""] for n in by_group[2][:3]] + [[by_group[1][0], "2026/12/9 8:00", "阳性", "2026-12-09 14:00"]]
        tests += [[by_group[1][1], "昨天", "阴性", ""], [by_group[1][2], "2026-12-09 08:00", "可能", ""]]
        sheet = write_csv(tmp_path / "t.csv", ["身份证号", "采样时间", "检测结果", "结果时间"], tests)
        report = _json(runner.invoke(app, ["keygroups", "import", "tests", str(sheet), "--json"]))
        assert (report["imported"], report["rejected_rows"]) == (4, 2)
        assert [x["field"] for x in report["rejected"]] == ["sampled_at", "result"]
        assert _json(runner.invoke(app, ["keygroups", "import", "tests", str(sheet), "--json"]))["unchanged"] == 4

        # Who is overdue names people: the list is shown to a user who signs in with their password.
        engine = make_engine(empty_database)
        with unit_of_work(make_session_factory(engine)) as session:
            create_user(session=session, username="hq-groups", display_name="指挥部", role="command", password="groups password")
        engine.dispose()
        as_of = ["--as-of", "2026-12-10T08:00:00", "--as", "hq-groups"]
        password = "groups password\n"
        by_employer = _json(runner.invoke(app, ["keygroups", "compliance", "--json", *as_of], input=password))
        cold = next(e for e in by_employer if e["employer"] == "冷链物流公司")
        # Daily: tested 24.5 h before, so all are overdue; those never tested come first.
        assert cold["members"] == len(by_group[2]) and len(cold["overdue"]) == len(by_group[2])
        assert cold["overdue"][0]["last_tested_at"] is None and cold["overdue"][-1]["last_tested_at"] is not None
        airport = next(e for e in by_employer if e["employer"] == "机场集团")
        assert airport["positives"] == 1 and len(airport["overdue"]) == len(by_group[1]) - 1
        assert [len(e["overdue"]) for e in by_employer] == sorted((len(e["overdue"]) for e in by_employer), reverse=True)
        by_office = _json(runner.invoke(app, ["keygroups", "compliance", "--json", "--by", "office", *as_of], input=password))
        assert sum(e["members"] for e in by_office) == sum(e["members"] for e in by_employer) == len(keyed) + 1
        assert all(e["office"] and e["employer"] is None for e in by_office)
        r = runner.invoke(app, ["keygroups", "compliance", "--by", "building", *as_of], input=password)
        assert r.exit_code == 2 and "by" in r.output

        r = runner.invoke(app, ["keygroups", "set", "quarantine_hotel", "--single-tube", "--every", "3"])
        assert r.exit_code == 0, r.output
    finally:
        get_settings.cache_clear()

    engine = make_engine(empty_database)
    with unit_of_work(make_session_factory(engine)) as session:
        hotel = session.scalar(select(KeyGroup).where(KeyGroup.code == "quarantine_hotel"))
        assert hotel.single_tube and hotel.test_every_days == 3
        # The plain resident joined the hotel group by working there; the field reads who is single-tube.
        person = session.scalar(select(Person).where(Person.key_group_id == hotel.id, Person.name == ids[plain][0]))
        assert person is not None
        everyone = list(session.scalars(select(Person.id)))
        assert single_tube_people(session=session, person_ids=everyone) == set(
            session.scalars(select(Person.id).where(Person.key_group_id.is_not(None))))
        assert session.scalar(select(func.count()).select_from(KeyGroupTest).where(KeyGroupTest.source == "import")) == 4
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "key_groups.import")) == 6
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "key_group.updated")) == 1
    engine.dispose()


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_key_groups_through_the_api(empty_database):
    migrate.upgrade(empty_database)
    app = create_app(settings=Settings(database_url=empty_database, secret_key=KEY))
    with unit_of_work(make_session_factory(app.state.engine)) as session:
        create_user(session=session, username="hq", display_name="指挥部", role="command", password="key group password")
        create_user(session=session, username="lab", display_name="检测机构", role="lab", password="key group password")
    district = generate_district(people=400, seed=5)
    b_header, b_rows, p_header, p_rows = district_tables(district, "A")
    with TestClient(app) as client:
        def auth(user: str) -> dict[str, str]:
            token = client.post("/api/auth/token", json={"username": user, "password": "key group password"}).json()["token"]
            return {"authorization": f"Bearer {token}"}

        hq, lab = auth("hq"), auth("lab")
        made = client.post("/api/key-groups", json={"code": "airport", "name": "机场工作人员", "test_every_days": 2}, headers=hq)
        assert made.status_code == 201 and made.json()["single_tube"] is True and made.json()["members"] == 0
        assert client.post("/api/key-groups", json={"code": "cold", "name": "冷链", "test_every_days": 1}, headers=lab).status_code == 403
        twice = client.post("/api/key-groups", json={"code": "air2", "name": "机场工作人员", "test_every_days": 2}, headers=hq)
        assert twice.status_code == 409 and twice.json()["field"] == "name"
        assert client.post("/api/key-groups", json={"code": "x", "name": "y", "test_every_days": 40}, headers=hq).status_code == 422
        changed = client.patch("/api/key-groups/airport", json={"single_tube": False, "test_every_days": 3}, headers=hq)
        assert changed.status_code == 200 and changed.json()["single_tube"] is False and changed.json()["test_every_days"] == 3
        assert client.patch("/api/key-groups/nope", json={"single_tube": False}, headers=hq).status_code == 404
        # Pooled at a size of its own (5混1), then back to the round's pool size; a size past 20 is refused, naming it.
        five = client.post("/api/key-groups", json={"code": "hotel", "name": "隔离酒店", "test_every_days": 1, "pool_size": 5}, headers=hq)
        assert five.status_code == 201 and (five.json()["single_tube"], five.json()["pool_size"]) == (False, 5)
        big = client.patch("/api/key-groups/hotel", json={"pool_size": 30}, headers=hq)
        assert big.status_code == 422 and big.json()["field"] == "pool_size"
        back = client.patch("/api/key-groups/hotel", json={"pool_size": 0}, headers=hq)
        assert back.status_code == 200 and (back.json()["single_tube"], back.json()["pool_size"]) == (False, None)

        for kind, header, rows in (("buildings", b_header, b_rows), ("people", p_header, p_rows)):
            up = client.post(f"/api/registry/imports/{kind}", files={"file": (f"{kind}.csv", csv_bytes(header, rows), "text/csv")}, headers=hq)
            assert up.status_code == 200
        places = csv_bytes(["场所编码", "场所名称", "用人单位", "人员类别"], [["T2", "T2航站楼", "机场集团", "机场"], ["T3", "T3", "", "机场"]])
        up = client.post("/api/key-groups/imports/workplaces", files={"file": ("w.csv", places, "text/csv")}, headers=hq)
        assert up.status_code == 200 and (up.json()["imported"], up.json()["rejected_rows"]) == (1, 1)
        assert up.json()["rejected"][0] == {"row": 3, "field": "employer",
                                            "reason": "用人单位为空或超过100个字 (employer missing or longer than 100 characters)"}
        air = [district.people.id_number[i] for i in range(400) if district.people.key_group[i] == 1]
        members = csv_bytes(["身份证号", "场所编码"], [[n, "T2"] for n in air])
        up = client.post("/api/key-groups/imports/members", files={"file": ("m.csv", members, "text/csv")}, headers=hq)
        assert up.status_code == 200 and up.json()["imported"] == len(air) > 0
        bad = client.post("/api/key-groups/imports/cats", files={"file": ("m.csv", members, "text/csv")}, headers=hq)
        assert bad.status_code == 422
        no_header = client.post("/api/key-groups/imports/members", files={"file": ("m.csv", "姓名\n张三\n".encode(), "text/csv")}, headers=hq)
        assert no_header.status_code == 422 and no_header.json()["field"] == "header"
        as_of = (NOW + timedelta(days=1)).isoformat()
        rows = client.get(f"/api/key-groups/compliance?by=office&as_of={as_of}", headers=hq).json()
        assert sum(r["members"] for r in rows) == len(air) and all(r["office"] for r in rows)
    with unit_of_work(make_session_factory(app.state.engine)) as session:
        assert session.scalar(select(func.count()).select_from(KeyGroupMember)) == len(air)
        assert session.scalar(select(func.count()).select_from(Workplace)) == 1
    app.state.engine.dispose()


def test_the_import_reads_times_as_sheets_write_them():
    from sweep.keygroups.importer import parse_time
    from sweep.registry.fields import BadCell

    assert parse_time("2026-12-09 07:30", field="t") == datetime(2026, 12, 9, 7, 30)
    assert parse_time("2026/12/9 8:05:09", field="t") == datetime(2026, 12, 9, 8, 5, 9)
    assert parse_time("2026年12月9日", field="t") == datetime(2026, 12, 9)
    for bad in ("昨天", "2026-02-30 08:00", "2026-12-09 25:00"):
        with pytest.raises(BadCell) as err:
            parse_time(bad, field="sampled_at")
        assert err.value.field == "sampled_at"
