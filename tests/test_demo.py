"""The demo from an empty database: its summary is the played round's, on both backends."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from sweep.cli import app
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.run import run_demo
from sweep.field.models import Sample, Tube
from sweep.lab.models import LabResult
from sweep.registry.models import Person, registered


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_the_summary_is_counted_from_the_played_round(empty_database):
    summary = run_demo(url=empty_database, people=2500, seed=3, day=date(2026, 12, 1))
    factory = make_session_factory(make_engine(empty_database))
    with unit_of_work(factory) as session:
        people = session.scalar(select(func.count()).select_from(Person).where(registered()))
        sampled = session.scalar(select(func.count()).select_from(Sample).join(Person, Person.id == Sample.person_id)
                                 .where(Sample.kind != "retest", registered()))
        # Walk-ins (people from outside, registered at the desk) are sampled and counted apart.
        walk_ins = session.scalar(select(func.count()).select_from(Sample).join(Person, Person.id == Sample.person_id)
                                  .where(Sample.kind != "retest", Person.building_id.is_(None)))
        tubes = session.scalar(select(func.count()).select_from(Tube))
        last = session.scalar(select(func.max(Sample.sampled_at)))
        in_positive_pools = session.scalar(
            select(func.count()).select_from(Sample).join(LabResult, LabResult.tube_id == Sample.tube_id)
            .where(LabResult.result == "positive")
        )
    assert summary["people"] == people == 2500
    assert summary["tubes"] == tubes > 0
    assert summary["walk_ins"] == walk_ins > 0
    assert summary["coverage"] == pytest.approx(sampled / people, abs=1e-6)
    # Some people do not come: coverage is high but not perfect, and the missing list is real.
    assert 0.95 < summary["coverage"] < 1.0
    start = summary["finish_minutes"]
    assert start is not None and 0 < start <= summary["deadline_minutes"] + 60
    assert last.hour * 60 + last.minute - 7 * 60 == pytest.approx(summary["finish_minutes"], abs=1.0)
    assert summary["positives"] == 2 and summary["retests_open"] == in_positive_pools > 0


def test_the_same_seed_plays_the_same_day(tmp_path):
    keys = ("people", "sampled", "sites", "desks", "tubes", "boxes", "finish_minutes")
    a = run_demo(url=f"sqlite:///{tmp_path / 'a.db'}", people=1500, seed=11, day=date(2026, 12, 1))
    b = run_demo(url=f"sqlite:///{tmp_path / 'b.db'}", people=1500, seed=11, day=date(2026, 12, 1))
    c = run_demo(url=f"sqlite:///{tmp_path / 'c.db'}", people=1500, seed=12, day=date(2026, 12, 1))
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    assert {k: a[k] for k in keys} != {k: c[k] for k in keys}


def test_cli_demo_prints_one_json_object(tmp_path):
    result = CliRunner().invoke(
        app, ["demo", "--people", "1200", "--no-serve", "--json", "--database", f"sqlite:///{tmp_path / 'cli.db'}"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("people", "sites", "desks", "tubes", "coverage", "finish_minutes", "deadline_minutes"):
        assert key in summary
    assert summary["people"] == 1200 and summary["deadline_minutes"] == 360


def test_cli_refuses_a_tiny_district(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--people", "5", "--no-serve"])
    assert result.exit_code != 0
    assert "people" in result.output
