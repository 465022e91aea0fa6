"""The registry through the API (multipart upload) and the CLI, each on a fresh database of both kinds."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from sweep import migrate
from sweep.api import create_app
from sweep.auth.models import AuditEntry, User
from sweep.auth.service import create_user
from sweep.config import Settings, get_settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.district import generate_district
from tests.registry.factories import csv_bytes, district_tables, ensure_key_groups, write_csv

KEY = "test-secret"


def _district_files(prefix: str):  # type: ignore[no-untyped-def]
    district = generate_district(people=1500, seed=3)
    b_header, b_rows, p_header, p_rows = district_tables(district, prefix)
    grids = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"网格编码": prefix + g.code, "网格名称": g.name,
                                           "社区编码": prefix + district.communities[g.community].code},
         "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in g.polygon]]}}
        for g in district.grids
    ]}
    return b_header, b_rows, p_header, p_rows, grids


def _prepare(url: str) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        ensure_key_groups(session)
    engine.dispose()


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_the_registry_through_the_api(empty_database):
    _prepare(empty_database)
    b_header, b_rows, p_header, p_rows, grids = _district_files("A")
    p_rows[10][1] = p_rows[10][1][:17] + ("1" if p_rows[10][1][17] != "1" else "2")
    p_rows[20][2] = "call me"
    app = create_app(settings=Settings(database_url=empty_database, secret_key=KEY))
    with unit_of_work(make_session_factory(app.state.engine)) as session:
        create_user(session=session, username="hq", display_name="指挥部", role="command", password="registry password")
        create_user(session=session, username="lab", display_name="检测机构", role="lab", password="registry password")
    with TestClient(app) as client:
        # Personal data behind a log-in: nobody anonymous, and not a lab.
        assert client.get("/api/registry/summary").status_code == 401
        assert client.get("/api/registry/export").status_code == 401
        lab = client.post("/api/auth/token", json={"username": "lab", "password": "registry password"}).json()["token"]
        assert client.get("/api/registry/export", headers={"authorization": f"Bearer {lab}"}).status_code == 403
        token = client.post("/api/auth/token", json={"username": "hq", "password": "registry password"}).json()["token"]
        client.headers["authorization"] = f"Bearer {token}"
        client.cookies.clear()
        r = client.post("/api/registry/imports/buildings", files={"file": ("楼栋.csv", csv_bytes(b_header, b_rows), "text/csv")})
        assert r.status_code == 200, r.text
        assert r.json()["imported"] == len(b_rows)
        r = client.post("/api/registry/imports/grids",
                        files={"file": ("grids.geojson", json.dumps(grids, ensure_ascii=False).encode(), "application/geo+json")})
        assert r.status_code == 200 and r.json()["updated"] == len(grids["features"])
        upload = csv_bytes(p_header, p_rows, encoding="gbk", title="人员登记表")
        r = client.post("/api/registry/imports/people", files={"file": ("人员.csv", upload, "text/csv")})
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["imported"], report["rejected_rows"]) == (1498, 2)
        assert [(x["row"], x["field"]) for x in report["rejected"]] == [(14, "id_number"), (24, "phone")]

        again = client.get(f"/api/registry/imports/{report['import_id']}").json()
        assert again["rejected"] == report["rejected"]
        sheet = client.get(f"/api/registry/imports/{report['import_id']}/rejected.xlsx")
        assert sheet.status_code == 200
        rows = list(load_workbook(io.BytesIO(sheet.content), read_only=True).worksheets[0].iter_rows(values_only=True))
        assert [r[0] for r in rows[1:]] == [14, 24] and "校验位" in rows[1][1] and "********" in rows[1][3]

        summary = client.get("/api/registry/summary").json()
        assert summary["people"] == 1498 and sum(c["people"] for c in summary["communities"]) == 1498
        layer = client.get("/api/registry/map", params={"level": "grid"})
        assert layer.headers["content-type"].startswith("application/geo+json")
        features = layer.json()["features"]
        assert len(features) == len(grids["features"]) and sum(f["properties"]["people"] for f in features) == 1498
        assert all(f["geometry"]["type"] == "Polygon" for f in features)
        community = summary["communities"][0]["code"]
        export = client.get("/api/registry/export", params={"community": community, "format": "csv"})
        lines = export.content.decode("utf-8-sig").splitlines()
        assert len(lines) == summary["communities"][0]["people"] + 1 and all("********" in ln for ln in lines[1:])

        page = client.get("/registry/map", headers={"accept": "text/html"})
        assert page.status_code == 200 and "人口分布图" in page.text
        assert page.text.count("<polygon") == len(grids["features"]) and "<circle" in page.text

        bad = client.post("/api/registry/imports/people", files={"file": ("people.xls", b"\xd0\xcf", "application/vnd.ms-excel")})
        assert bad.status_code == 422 and bad.json()["field"] == "file"
        no_header = client.post("/api/registry/imports/people", files={"file": ("p.csv", "姓名,电话\n张三,1\n".encode(), "text/csv")})
        assert no_header.status_code == 422 and no_header.json()["field"] == "header"
        assert client.post("/api/registry/imports/cats", files={"file": ("p.csv", b"x", "text/csv")}).status_code == 422
        assert client.get("/api/registry/summary").json()["people"] == 1498


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_the_registry_from_the_command_line(empty_database, tmp_path, monkeypatch):
    _prepare(empty_database)
    monkeypatch.setenv("SWEEP_DATABASE_URL", empty_database)
    monkeypatch.setenv("SWEEP_SECRET_KEY", KEY)
    get_settings.cache_clear()
    from sweep.cli import app

    b_header, b_rows, p_header, p_rows, _grids = _district_files("C")
    p_rows[3][3] = "没有这栋楼"
    runner = CliRunner()
    try:
        r = runner.invoke(app, ["import", "buildings", str(write_csv(tmp_path / "b.csv", b_header, b_rows))])
        assert r.exit_code == 0, r.output
        people = write_csv(tmp_path / "p.csv", p_header, p_rows, encoding="utf-8-sig")
        r = runner.invoke(app, ["import", "people", str(people), "--json", "--rejected-xlsx", str(tmp_path / "bad.xlsx")])
        assert r.exit_code == 0, r.output
        report = json.loads(r.stdout.strip().splitlines()[-1])
        assert (report["imported"], report["updated"]) == (1499, 0)
        assert report["rejected"] == [{"row": 5, "field": "building",
                                       "reason": "楼栋不存在，请先导入楼栋 (no such building in the registry; import the buildings first): 没有这栋楼"}]
        assert (tmp_path / "bad.xlsx").exists()
        r = runner.invoke(app, ["import", "people", str(people), "--json"])
        assert json.loads(r.stdout.strip().splitlines()[-1])["unchanged"] == 1499

        r = runner.invoke(app, ["registry", "summary", "--json"])
        assert r.exit_code == 0 and json.loads(r.stdout)["people"] == 1499
        r = runner.invoke(app, ["registry", "summary"])
        assert r.exit_code == 0 and "1,499" in r.stdout
        community = "C" + generate_district(people=1500, seed=3).communities[0].code
        # Names and phones leave only as a named user who gives their password; full numbers only with --full-ids.
        engine = make_engine(empty_database)
        with unit_of_work(make_session_factory(engine)) as session:
            create_user(session=session, username="hq-cli", display_name="指挥部", role="command", password="registry password")
        engine.dispose()
        r = runner.invoke(app, ["registry", "export", str(tmp_path / "out.xlsx"), "--community", community])
        assert r.exit_code == 2 and "as" in r.output and not (tmp_path / "out.xlsx").exists()
        r = runner.invoke(app, ["registry", "export", str(tmp_path / "out.xlsx"), "--community", community, "--as", "hq-cli"],
                          input="not the password\n")
        assert r.exit_code == 2 and "password" in r.output and not (tmp_path / "out.xlsx").exists()
        r = runner.invoke(app, ["registry", "export", str(tmp_path / "out.xlsx"), "--community", community, "--as", "hq-cli"],
                          input="registry password\n")
        assert r.exit_code == 0, r.output
        exported = list(load_workbook(tmp_path / "out.xlsx", read_only=True).worksheets[0].iter_rows(values_only=True))
        assert len(exported) > 1 and all("********" in str(row[1]) for row in exported[1:])
        engine = make_engine(empty_database)
        with engine.connect() as conn:
            who, detail = conn.execute(select(User.username, AuditEntry.detail).join(User, User.id == AuditEntry.user_id)
                                       .where(AuditEntry.action == "registry.export")).one()
        engine.dispose()
        assert who == "hq-cli" and detail["via"] == "cli" and detail["os_user"] and detail["people"] == len(exported) - 1

        (tmp_path / "p.xls").write_bytes(b"x")
        r = runner.invoke(app, ["import", "people", str(tmp_path / "p.xls")])
        assert r.exit_code == 2 and "file" in r.output
        r = runner.invoke(app, ["import", "people", str(people), "--community", "NOPE"])
        assert r.exit_code == 2 and "community" in r.output
    finally:
        get_settings.cache_clear()
