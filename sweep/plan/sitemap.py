"""The site map (采样点位图) as plain SVG shapes: catchments, buildings, sites. No tiles, no internet."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sweep.plan.document import PlanDocument

WIDTH = 960
PAD = 16
# Twelve hues far apart; neighbouring sites rarely share one because codes run along the map.
HUES = (0, 30, 55, 95, 140, 175, 200, 225, 255, 285, 315, 340)


@dataclass(frozen=True)
class SiteMark:
    code: str
    name: str
    x: float
    y: float
    r: float
    colour: str
    hull: str  # polygon points of the catchment, "x,y x,y …"
    mobile: bool = False


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    colour: str
    beyond: bool
    title: str


@dataclass(frozen=True)
class SiteMap:
    width: int
    height: int
    sites: list[SiteMark]
    dots: list[Dot]


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull by the monotone chain."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def draw(doc: PlanDocument) -> SiteMap:
    lons = [s.lon for s in doc.sites] + [b["lon"] for s in doc.sites for b in s.buildings]
    lats = [s.lat for s in doc.sites] + [b["lat"] for s in doc.sites for b in s.buildings]
    if not lons:
        return SiteMap(WIDTH, 200, [], [])
    lat0 = math.radians(sum(lats) / len(lats))
    x0, x1 = min(lons), max(lons)
    y0, y1 = min(lats), max(lats)
    span_x = max((x1 - x0) * math.cos(lat0), 1e-6)
    span_y = max(y1 - y0, 1e-6)
    scale = (WIDTH - 2 * PAD) / span_x
    height = int(span_y * scale + 2 * PAD)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return round(PAD + (lon - x0) * math.cos(lat0) * scale, 1), round(PAD + (y1 - lat) * scale, 1)

    marks, dots = [], []
    for k, s in enumerate(doc.sites):
        colour = f"hsl({HUES[k % len(HUES)]}, 65%, {45 + 10 * ((k // len(HUES)) % 2)}%)"
        sx, sy = xy(s.lon, s.lat)
        pts = [(sx, sy)] + [xy(b["lon"], b["lat"]) for b in s.buildings if not b["beyond"]]
        hull = " ".join(f"{x},{y}" for x, y in _hull(pts))
        marks.append(SiteMark(s.code, doc.site_label(s), sx, sy, round(3 + 1.5 * math.sqrt(s.desks), 1), colour, hull, s.mobile))
        for b in s.buildings:
            bx, by = xy(b["lon"], b["lat"])
            dots.append(Dot(bx, by, round(0.8 + math.sqrt(b["people"] + b["home_people"]) / 12, 1), colour, b["beyond"],
                            f"{b['name']} · {b['people']}人 → {s.code} {b['walk_m']:.0f} m"))
    return SiteMap(WIDTH, height, marks, dots)
