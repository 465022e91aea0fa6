"""Distances on the scale of a district, where a flat-earth projection is exact enough."""

from __future__ import annotations

import numpy as np

M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_EQUATOR = 111_320.0
# Streets are not straight lines: walking distance is about 1.3 times the crow-fly distance
# in a grid-like street network (a common planning rule of thumb).
DETOUR = 1.3


def walk_matrix_m(lon_a: np.ndarray, lat_a: np.ndarray, lon_b: np.ndarray, lat_b: np.ndarray) -> np.ndarray:
    """Walking distance in metres from every point of a to every point of b (len(a) × len(b))."""
    lat0 = np.deg2rad(np.mean(lat_a) if len(lat_a) else 0.0)
    dx = (lon_a[:, None] - lon_b[None, :]) * (M_PER_DEG_LON_EQUATOR * np.cos(lat0))
    dy = (lat_a[:, None] - lat_b[None, :]) * M_PER_DEG_LAT
    walk: np.ndarray = np.hypot(dx, dy) * DETOUR
    return walk
