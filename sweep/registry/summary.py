"""The population distribution (人口分布): counts by area, age band, home sampling and key group.

Counted in the database with GROUP BY over the copied-down area columns of ``people``, so a
million-person registry is summed without loading anyone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Case, ColumnElement, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sweep.errors import NotFound
from sweep.registry.models import Building, Community, Grid, KeyGroup, Office, Person, registered

# Bands a planner uses: children (need a guardian), school age, working age, the old (home sampling).
AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 6), (7, 17), (18, 29), (30, 44), (45, 59), (60, 74), (75, None))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _band_label(lo: int, hi: int | None) -> str:
    return f"{lo}-{hi}" if hi is not None else f"{lo}+"


def age_band_expression(today: dt.date) -> Case[str]:
    """A CASE that names each person's age band at ``today``; unknown when no birth date is held."""
    whens: list[tuple[ColumnElement[bool], str]] = []
    for lo, hi in AGE_BANDS:
        # Age >= lo  <=>  born on or before today minus lo years.
        cond = Person.birth_date <= _years_before(today, lo)
        if hi is not None:
            cond = cond & (Person.birth_date > _years_before(today, hi + 1))
        whens.append((cond, _band_label(lo, hi)))
    return case(*whens, else_="unknown")


def _areas(session: Session, level: str, community_id: int | None) -> list[dict[str, Any]]:
    home = func.coalesce(func.sum(case((Person.home_sampling.is_(True), 1), else_=0)), 0)
    model: type[Office | Community | Grid | Building]
    in_community: InstrumentedAttribute[int] | None  # the area's community, where the level has one
    if level == "offices":
        model, column, in_community = Office, Person.office_id, None
    elif level == "communities":
        model, column, in_community = Community, Person.community_id, Community.id
    elif level == "grids":
        model, column, in_community = Grid, Person.grid_id, Grid.community_id
    else:
        model, column, in_community = Building, Person.building_id, Building.community_id
    per_area = select(column.label("area"), func.count().label("people"), home.label("home"),
                      func.count(Person.key_group_id).label("key"))
    if community_id is not None:
        per_area = per_area.where(Person.community_id == community_id)
    counts = per_area.group_by(column).subquery()
    query = select(model.id, model.code, model.name, counts.c.people, counts.c.home, counts.c.key).outerjoin(
        counts, counts.c.area == model.id
    )
    if level != "buildings":
        b_column = {"offices": Building.office_id, "communities": Building.community_id, "grids": Building.grid_id}[level]
        n_buildings = select(b_column.label("area"), func.count().label("n")).group_by(b_column).subquery()
        query = query.add_columns(n_buildings.c.n).outerjoin(n_buildings, n_buildings.c.area == model.id)
    if community_id is not None:
        if in_community is not None:
            query = query.where(in_community == community_id)
        else:
            query = query.where(counts.c.people.is_not(None))
    rows = []
    for row in session.execute(query.order_by(model.code)):
        rows.append({
            "code": row[1], "name": row[2], "people": int(row[3] or 0), "home_sampling": int(row[4] or 0),
            "key_group": int(row[5] or 0), "buildings": 1 if level == "buildings" else int(row[6] or 0),
        })
    return rows


def registry_summary(*, session: Session, community_code: str | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """Counts for the whole district, or for one community (then by building too)."""
    community_id = None
    if community_code is not None:
        community_id = session.scalar(select(Community.id).where(Community.code == community_code))
        if community_id is None:
            raise NotFound("community", f"社区不存在 (no such community): {community_code}")
    # The registry's people: those registered at a desk and not yet confirmed are in no community.
    scope = [Person.community_id == community_id] if community_id is not None else [registered()]
    people = session.scalar(select(func.count()).select_from(Person).where(*scope)) or 0
    home = session.scalar(select(func.count()).select_from(Person).where(Person.home_sampling.is_(True), *scope)) or 0
    band = age_band_expression(today or dt.date.today()).label("band")
    by_band: dict[str, int] = dict(session.execute(select(band, func.count()).where(*scope).group_by(band)).all())
    labels = [_band_label(lo, hi) for lo, hi in AGE_BANDS] + ["unknown"]
    groups = session.execute(
        select(KeyGroup.code, KeyGroup.name, func.count(Person.id))
        .outerjoin(Person, (Person.key_group_id == KeyGroup.id) & (Person.community_id == community_id if community_id else True))
        .group_by(KeyGroup.code, KeyGroup.name)
        .order_by(KeyGroup.code)
    ).all()
    data: dict[str, Any] = {
        "community": community_code,
        "people": int(people),
        "home_sampling": int(home),
        "age_bands": [{"band": label, "people": int(by_band.get(label, 0))} for label in labels],
        "key_groups": [{"code": c, "name": n, "people": int(k)} for c, n, k in groups],
        "offices": _areas(session, "offices", community_id),
        "communities": _areas(session, "communities", community_id),
        "grids": _areas(session, "grids", community_id),
    }
    if community_id is not None:
        data["buildings"] = _areas(session, "buildings", community_id)
    return data


__all__ = ["AGE_BANDS", "age_band_expression", "registry_summary"]
