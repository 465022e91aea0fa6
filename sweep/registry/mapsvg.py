"""The distribution map drawn as plain SVG from the district's own GeoJSON: no tiles, no internet.

An equirectangular projection scaled by cos(latitude) is exact enough over a district's 20 km.
Grids are shaded by people; buildings are dots whose area follows their people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WIDTH = 960
HEIGHT = 720
PAD = 12
# Light to dark red, the page's own colour.
SHADES = ("#fbe9e9", "#f5c6c7", "#ec9a9c", "#de6b6e", "#c73f43", "#a4161a")


@dataclass(frozen=True)
class Shape:
    kind: str  # "grid" or "building"
    code: str
    label: str
    people: int
    home_sampling: int
    key_group: int
    points: str = ""  # polygon, "x,y x,y …"
    cx: float = 0.0
    cy: float = 0.0
    r: float = 0.0
    fill: str = SHADES[0]


def _rings(geometry: dict[str, Any] | None) -> list[list[list[float]]]:
    if not geometry:
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry.get("type") == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _shade(people: int, top: int) -> str:
    if top <= 0 or people <= 0:
        return SHADES[0]
    return SHADES[min(len(SHADES) - 1, 1 + int((len(SHADES) - 1) * people / (top + 1)))]


def draw(grids: dict[str, Any], buildings: dict[str, Any]) -> tuple[list[Shape], int, int]:
    """Shapes in SVG coordinates for the two layers, and the drawing's width and height."""
    lons: list[float] = []
    lats: list[float] = []
    for f in grids["features"]:
        for ring in _rings(f.get("geometry")):
            lons.extend(p[0] for p in ring)
            lats.extend(p[1] for p in ring)
    for f in buildings["features"]:
        lon, lat = f["geometry"]["coordinates"]
        lons.append(lon)
        lats.append(lat)
    if not lons:
        return [], WIDTH, HEIGHT
    lo_lon, hi_lon, lo_lat, hi_lat = min(lons), max(lons), min(lats), max(lats)
    k = math.cos(math.radians((lo_lat + hi_lat) / 2))
    span_x, span_y = max((hi_lon - lo_lon) * k, 1e-9), max(hi_lat - lo_lat, 1e-9)
    scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)
    height = int(span_y * scale + 2 * PAD)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return PAD + (lon - lo_lon) * k * scale, height - PAD - (lat - lo_lat) * scale

    shapes: list[Shape] = []
    top = max((f["properties"]["people"] for f in grids["features"]), default=0)
    for f in grids["features"]:
        p = f["properties"]
        for ring in _rings(f.get("geometry")):
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(a, b) for a, b in ring))
            shapes.append(Shape("grid", p["code"], p["name"], p["people"], p["home_sampling"], p["key_group"], points=pts,
                                fill=_shade(p["people"], top)))
    biggest = max((f["properties"]["people"] for f in buildings["features"]), default=0) or 1
    for f in buildings["features"]:
        p = f["properties"]
        x, y = xy(*f["geometry"]["coordinates"])
        r = 1.2 + 7.0 * math.sqrt(p["people"] / biggest)
        shapes.append(Shape("building", p["code"], p["name"], p["people"], p["home_sampling"], p["key_group"],
                            cx=round(x, 1), cy=round(y, 1), r=round(r, 2)))
    return shapes, WIDTH, height


__all__ = ["SHADES", "Shape", "draw"]
