"""Write a generated district into the registry tables, fast enough for a million people."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select, text

from sweep.db import bulk_insert
from sweep.demo.district import District
from sweep.registry.bulkload import first_load
from sweep.registry.idcrypt import encrypt_id_numbers
from sweep.registry.idnumber import mask_id_number
from sweep.registry.models import Person
from sweep.registry.service import id_lookup_hash

Progress = Callable[[str], None]
KEY_GROUP_IDS = {1: "airport", 2: "cold_chain", 3: "quarantine_hotel"}


def _first_id(conn: Connection, table: str) -> int:
    return int(conn.execute(select(func.coalesce(func.max(text("id")), 0)).select_from(text(table))).scalar_one()) + 1


def _sync_sequence(conn: Connection, table: str) -> None:
    # Rows were written with explicit ids; PostgreSQL's sequence must move past them.
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def load_district(conn: Connection, district: District, *, key: str, progress: Progress | None = None) -> dict[str, int]:
    """Insert every row of the district; returns the counts written per table."""
    say = progress or (lambda _msg: None)
    counts: dict[str, int] = {}

    def put(table: str, columns: list[str], rows: Callable[[int], Iterable[Sequence[Any]]], n: int) -> int:
        """Insert ``rows(first id)`` into ``table``; returns the first id."""
        first = _first_id(conn, table)
        bulk_insert(conn, table, ["id", *columns], rows(first))
        _sync_sequence(conn, table)
        counts[table] = n
        return first

    o0 = put("offices", ["code", "name"], lambda f: [(f + i, o.code, o.name) for i, o in enumerate(district.offices)], len(district.offices))
    c0 = put(
        "communities",
        ["office_id", "code", "name"],
        lambda f: [(f + i, o0 + c.office, c.code, c.name) for i, c in enumerate(district.communities)],
        len(district.communities),
    )
    office_of_community = np.array([o0 + c.office for c in district.communities], dtype=np.int64)
    g0 = put(
        "grids",
        ["community_id", "code", "name", "geometry"],
        lambda f: [
            (f + i, c0 + g.community, g.code, g.name, json.dumps({"type": "Polygon", "coordinates": [[list(p) for p in g.polygon]]}))
            for i, g in enumerate(district.grids)
        ],
        len(district.grids),
    )
    grid_community = np.array([g.community for g in district.grids], dtype=np.int64)
    b = district.buildings
    b_comm = grid_community[b.grid]
    b0 = _first_id(conn, "buildings")
    say(f"buildings: {len(b.code):,}")
    bulk_insert(
        conn,
        "buildings",
        ["id", "grid_id", "community_id", "office_id", "code", "name", "kind", "lon", "lat", "households"],
        zip(
            range(b0, b0 + len(b.code)),
            (g0 + b.grid).tolist(),
            (c0 + b_comm).tolist(),
            office_of_community[b_comm].tolist(),
            b.code,
            b.name,
            list(b.kind),
            b.lon.tolist(),
            b.lat.tolist(),
            b.households.tolist(), strict=False,
        ),
    )
    _sync_sequence(conn, "buildings")
    counts["buildings"] = len(b.code)

    k0 = put(
        "key_groups",
        ["code", "name", "test_every_days"],
        lambda f: [(f + i, k.code, k.name_zh, k.test_every_days) for i, k in enumerate(district.key_groups)],
        len(district.key_groups),
    )
    key_group_id = {k.code: k0 + i for i, k in enumerate(district.key_groups)}

    p = district.people
    n = len(p.name)
    say(f"people: {n:,}")
    p_grid = b.grid[p.building]
    p_comm = grid_community[p_grid]
    kg_lookup = np.array([None] + [key_group_id.get(KEY_GROUP_IDS[i]) for i in (1, 2, 3)], dtype=object)
    birth = (np.datetime64("1970-01-01") + p.birth_days.astype("timedelta64[D]")).astype(object)
    p0 = _first_id(conn, "people")
    # An empty registry takes the rows first and builds its indexes (and keys) once afterwards.
    with first_load(conn, Person.__table__):
        bulk_insert(
            conn,
            "people",
            [
                "id", "building_id", "grid_id", "community_id", "office_id", "name", "doc_type", "id_hash", "id_masked",
                "id_encrypted", "birth_date", "sex", "phone", "unit", "room", "home_sampling", "key_group_id",
            ],
            zip(
                range(p0, p0 + n),
                (b0 + p.building).tolist(),
                (g0 + p_grid).tolist(),
                (c0 + p_comm).tolist(),
                office_of_community[p_comm].tolist(),
                p.name,
                ["id_card"] * n,
                (id_lookup_hash(x, key=key) for x in p.id_number),
                (mask_id_number(x) for x in p.id_number),
                encrypt_id_numbers(p.id_number, key=key, count=n),
                birth.tolist(),
                list(p.sex),
                p.phone,
                p.unit.tolist(),
                p.room,
                p.home_sampling.tolist(),
                kg_lookup[p.key_group].tolist(), strict=False,
            ),
        )
    _sync_sequence(conn, "people")
    counts["people"] = n

    put(
        "candidate_sites",
        ["community_id", "code", "name", "kind", "lon", "lat", "max_desks", "area_m2"],
        lambda f: [
            (f + i, c0 + s.community, s.code, s.name, s.kind, s.lon, s.lat, s.max_desks, s.area_m2)
            for i, s in enumerate(district.candidate_sites)
        ],
        len(district.candidate_sites),
    )
    st = district.staff
    put(
        "staff",
        ["community_id", "name", "phone", "kind"],
        lambda f: list(zip(range(f, f + len(st.name)), (c0 + st.community).tolist(), st.name, st.phone, list(st.role), strict=False)),
        len(st.name),
    )
    return counts
