"""A first import into an empty registry builds indexes and keys once; the schema is whole afterwards,
and an import stopped half-way leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select

from sweep import migrate
from sweep.auth.scope import Scope
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.registry import importer_people
from sweep.registry.importer import import_file
from sweep.registry.models import Person
from tests.registry.factories import PEOPLE_HEADER_ZH, TODAY, make_area, people_rows, write_csv


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_first_load_keeps_the_schema_whole(empty_database, tmp_path, monkeypatch):
    migrate.upgrade(empty_database)
    engine = make_engine(empty_database)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        area = make_area(session, prefix="F")
        codes = [b.code for b in area.buildings]
    path = write_csv(tmp_path / "p.csv", PEOPLE_HEADER_ZH, people_rows(450, seed=41, buildings=codes))
    monkeypatch.setattr(importer_people, "CHUNK", 100)

    def stop(done: int) -> None:
        if done >= 200:
            raise KeyboardInterrupt  # the operator pressed Ctrl+C half-way

    with pytest.raises(KeyboardInterrupt), unit_of_work(factory) as session, path.open("rb") as f:
        import_file(session=session, scope=Scope.system(), kind="people", stream=f, filename=path.name, key="k", today=TODAY, progress=stop)
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 0
    assert migrate.schema_drift(engine) == []

    with unit_of_work(factory) as session, path.open("rb") as f:
        report = import_file(session=session, scope=Scope.system(), kind="people", stream=f, filename=path.name, key="k", today=TODAY)
    assert report.imported == 450
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 450
    assert migrate.schema_drift(engine) == []
    names = {ix["name"] for ix in inspect(engine).get_indexes("people")}
    assert {ix.name for ix in Person.__table__.indexes} <= names
    assert len(inspect(engine).get_foreign_keys("people")) == 5
    engine.dispose()


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_the_demo_district_loads_through_the_first_load_and_keeps_the_schema_whole(empty_database):
    from sweep.demo.district import generate_district
    from sweep.demo.load import load_district

    migrate.upgrade(empty_database)
    engine = make_engine(empty_database)
    with engine.begin() as conn:
        counts = load_district(conn, generate_district(people=800, seed=3), key="k")
    with unit_of_work(make_session_factory(engine)) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == counts["people"] == 800
    assert migrate.schema_drift(engine) == []
    assert {ix.name for ix in Person.__table__.indexes} <= {ix["name"] for ix in inspect(engine).get_indexes("people")}
    assert len(inspect(engine).get_foreign_keys("people")) == 5
    engine.dispose()
