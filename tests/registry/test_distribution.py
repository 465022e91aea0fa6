"""The distribution map: counts by area, age band, home sampling and key group; the GeoJSON layer; the SVG."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from sqlalchemy import update

from sweep.auth.scope import Scope
from sweep.registry.geojson import map_layer
from sweep.registry.importer import import_file
from sweep.registry.mapsvg import draw
from sweep.registry.models import Grid
from sweep.registry.summary import registry_summary
from tests.registry.factories import PEOPLE_HEADER_ZH, TODAY, make_area, people_rows, write_csv


def _load(session, tmp_path, area, n=40):  # type: ignore[no-untyped-def]
    rows = people_rows(n, seed=12, buildings=[b.code for b in area.buildings])
    path = write_csv(tmp_path / "p.csv", PEOPLE_HEADER_ZH, rows)
    with path.open("rb") as f:
        report = import_file(session=session, scope=Scope.system(), kind="people", stream=f, filename="p.csv", key="k", today=TODAY)
    assert report.imported == n
    return rows


def _age(number: str, today: dt.date) -> int:
    born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def test_summary_of_one_community_counts_what_was_imported(session, tmp_path):
    area = make_area(session, prefix="D")
    rows = _load(session, tmp_path, area)
    code = area.communities[0].code
    mine = [r for i, r in enumerate(rows) if i % 6 < 4]  # buildings 0-3 are in community 0
    data = registry_summary(session=session, community_code=code, today=TODAY)
    assert data["people"] == len(mine)
    assert data["home_sampling"] == sum(r[7] == "是" for r in mine)
    assert [c["code"] for c in data["communities"]] == [code] and data["communities"][0]["people"] == len(mine)
    assert {g["code"]: g["people"] for g in data["grids"]} == {"DG1": sum(r[3].startswith("DB1") for r in mine),
                                                               "DG2": sum(r[3].startswith("DB2") for r in mine)}
    by_building = Counter(r[3] for r in mine)
    assert {b["code"]: b["people"] for b in data["buildings"]} == dict(by_building)
    airport = next(g for g in data["key_groups"] if g["code"] == "airport")
    assert airport["people"] == sum(r[6] == "机场工作人员" for r in mine)
    bands = {b["band"]: b["people"] for b in data["age_bands"]}
    assert sum(bands.values()) == len(mine) and bands["unknown"] == 0
    ages = [_age(r[1], TODAY) for r in mine]
    assert bands["75+"] == sum(a >= 75 for a in ages) and bands["18-29"] == sum(18 <= a <= 29 for a in ages)


def test_district_summary_lists_every_office(session, tmp_path):
    area = make_area(session, prefix="E")
    _load(session, tmp_path, area, n=12)
    data = registry_summary(session=session, today=TODAY)
    office = next(o for o in data["offices"] if o["code"] == area.office.code)
    assert (office["people"], office["buildings"]) == (12, 6)
    assert data["people"] >= 12 and "buildings" not in data


def test_map_layers_carry_counts_and_draw(session, tmp_path):
    area = make_area(session, prefix="M")
    _load(session, tmp_path, area, n=30)
    ring = [[113.80, 34.50], [113.82, 34.50], [113.82, 34.52], [113.80, 34.52], [113.80, 34.50]]
    session.execute(update(Grid).where(Grid.id == area.grids[0].id).values(geometry=json.dumps({"type": "Polygon", "coordinates": [ring]})))
    code = area.communities[0].code
    grids = map_layer(session=session, level="grid", community_code=code)
    buildings = map_layer(session=session, level="building", community_code=code)
    assert [f["properties"]["code"] for f in grids["features"]] == ["MG1", "MG2"]
    assert sum(f["properties"]["people"] for f in grids["features"]) == 20
    assert grids["features"][0]["geometry"]["type"] == "Polygon" and grids["features"][1]["geometry"] is None
    assert [f["properties"]["people"] for f in buildings["features"]] == [5, 5, 5, 5]
    assert buildings["features"][0]["geometry"] == {"type": "Point", "coordinates": [113.8, 34.51]}
    shapes, width, height = draw(grids, buildings)
    polygons = [s for s in shapes if s.kind == "grid"]
    dots = [s for s in shapes if s.kind == "building"]
    assert len(polygons) == 1 and len(dots) == 4 and width > 0 and height > 0
    assert all(0 <= d.cx <= width and 0 <= d.cy <= height for d in dots)
