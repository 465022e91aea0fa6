"""GeoJSON in and out: buildings and grids from a district's own map, and the map layer with counts.

Imported features become rows under the same header table as a spreadsheet (their properties
are the columns), so one importer serves both; a report's "row" is the feature's number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sweep.errors import InvalidInput
from sweep.registry.headers import Row
from sweep.registry.models import Building, Community, Grid, Person
from sweep.registry.tabular import cell_text

LON, LAT, GEOMETRY = "经度", "纬度", "geometry"


def _features(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        if features is None:
            return []
        if not isinstance(features, list):
            raise InvalidInput("features", "GeoJSON 的 features 应为列表 (features must be a list)")
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    else:
        raise InvalidInput("file", "GeoJSON 应为 FeatureCollection (GeoJSON must be a FeatureCollection)")
    for number, f in enumerate(features, start=1):
        # The shape GeoJSON (RFC 7946) gives a feature: an object, its properties and geometry objects or null.
        if not isinstance(f, dict):
            raise InvalidInput("features", f"第 {number} 个要素不是对象 (feature {number} is not an object)")
        for part in ("properties", "geometry"):
            if f.get(part) is not None and not isinstance(f[part], dict):
                raise InvalidInput(f"features.{part}", f"第 {number} 个要素的 {part} 应为对象或 null (feature {number}: {part} must be an object or null)")
    return features


def _centre(geometry: dict[str, Any]) -> tuple[float, float] | None:
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if coords is None:
        return None
    try:
        if kind == "Point":
            return float(coords[0]), float(coords[1])
        if kind == "Polygon":
            ring = coords[0][:-1] or coords[0]
        elif kind == "MultiPolygon":
            ring = coords[0][0][:-1] or coords[0][0]
        else:
            return None
        return sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)
    except (TypeError, IndexError, ValueError, ZeroDivisionError):
        return None


def read_features(stream: BinaryIO, *, kind: str) -> Iterator[Row]:
    """Header row 0 (the property names), then one row per feature numbered from 1."""
    try:
        doc = json.loads(stream.read().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("file", f"GeoJSON 无法解析 (GeoJSON cannot be parsed): {exc.__class__.__name__}") from exc
    features = _features(doc)
    keys: list[str] = []
    for f in features:
        for k in (f.get("properties") or {}):
            if k not in keys:
                keys.append(k)
    extra = [LON, LAT] if kind == "buildings" else [GEOMETRY]
    yield 0, [*keys, *extra]
    for number, f in enumerate(features, start=1):
        props = f.get("properties") or {}
        geometry = f.get("geometry") or {}
        cells = [cell_text(props.get(k)) for k in keys]
        if kind == "buildings":
            centre = _centre(geometry)
            cells += [f"{centre[0]:.7f}", f"{centre[1]:.7f}"] if centre else ["", ""]
        else:
            cells.append(json.dumps(geometry, ensure_ascii=False) if geometry else "")
        yield number, cells


def map_layer(*, session: Session, level: str, community_code: str | None = None) -> dict[str, Any]:
    """A FeatureCollection of grids (their polygons) or buildings (points) with people counted in each."""
    if level not in ("grid", "building"):
        raise InvalidInput("level", f"层级应为 grid 或 building (level must be grid or building): {level}")
    key_group = func.count(Person.key_group_id)
    home = func.coalesce(func.sum(case((Person.home_sampling.is_(True), 1), else_=0)), 0)
    if level == "grid":
        counts = (
            select(Person.grid_id.label("area"), func.count().label("people"), home.label("home"), key_group.label("key"))
            .group_by(Person.grid_id).subquery()
        )
        query = (
            select(Grid.id, Grid.code, Grid.name, Grid.geometry, Community.code, Community.name, counts.c.people,
                   counts.c.home, counts.c.key)
            .join(Community, Community.id == Grid.community_id)
            .outerjoin(counts, counts.c.area == Grid.id)
            .order_by(Grid.code)
        )
    else:
        counts = (
            select(Person.building_id.label("area"), func.count().label("people"), home.label("home"), key_group.label("key"))
            .group_by(Person.building_id).subquery()
        )
        query = (
            select(Building.id, Building.code, Building.name, Building.lon, Building.lat, Community.code, Community.name,
                   counts.c.people, counts.c.home, counts.c.key)
            .join(Community, Community.id == Building.community_id)
            .outerjoin(counts, counts.c.area == Building.id)
            .order_by(Building.code)
        )
    if community_code is not None:
        query = query.where(Community.code == community_code)
    features = []
    for row in session.execute(query):
        if level == "grid":
            _id, code, name, geometry, c_code, c_name, people, home_n, key_n = row
            geom = json.loads(geometry) if geometry else None
        else:
            _id, code, name, lon, lat, c_code, c_name, people, home_n, key_n = row
            geom = {"type": "Point", "coordinates": [lon, lat]}
        features.append({
            "type": "Feature",
            "geometry": geom,
            "properties": {"code": code, "name": name, "community": c_code, "community_name": c_name,
                           "people": int(people or 0), "home_sampling": int(home_n or 0), "key_group": int(key_n or 0)},
        })
    return {"type": "FeatureCollection", "level": level, "features": features}


__all__ = ["map_layer", "read_features"]
