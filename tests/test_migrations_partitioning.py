"""0016 partitions samples and coverage_missing by round on PostgreSQL: a played round's rows come
through it both ways, and a step back that would break the older key is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text

from sweep import migrate
from sweep.config import Settings
from sweep.coverage.tallies import refresh
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.run import run_demo
from sweep.field.models import Sample
from sweep.partitions import round_partition
from sweep.plan.models import Campaign
from sweep.plan.service import create_campaign
from sweep.schema import load_all_models

BEFORE = "0015_walk_in_codes_group_pools"


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(table)) or 0 for name, table in load_all_models().tables.items()}


def _partitioned(engine: Engine) -> set[str]:
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT partrelid::regclass::text FROM pg_partitioned_table")).scalars())


def _played(url: str) -> tuple[Engine, int]:
    summary = run_demo(url=url, people=2000, seed=3)
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = session.get(Campaign, summary["campaign"])
        assert campaign is not None
        refresh(session=session, campaign=campaign, full=True)  # the missing set: coverage_missing's rows
    return engine, summary["campaign"]


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_a_played_round_keeps_every_row_down_to_0015_and_up_again(empty_database):
    engine, campaign_id = _played(empty_database)
    played = _counts(engine)
    assert played["samples"] > 1000 and played["coverage_missing"] > 0 and played["lab_results"] > 0
    pg = engine.dialect.name == "postgresql"
    assert _partitioned(engine) == ({"samples", "coverage_missing"} if pg else set())

    migrate.downgrade(empty_database, BEFORE)
    engine.dispose()
    assert _counts(engine) == played
    assert _partitioned(engine) == set()

    migrate.upgrade(empty_database)
    engine.dispose()
    assert _counts(engine) == played
    assert _partitioned(engine) == ({"samples", "coverage_missing"} if pg else set())
    with engine.connect() as conn:
        if pg:
            for table in ("samples", "coverage_missing"):
                in_round = conn.scalar(text(f"SELECT count(*) FROM {round_partition(table, campaign_id)}"))
                assert in_round == played[table]
                assert conn.scalar(text(f"SELECT count(*) FROM {table}_default")) == 0
    assert migrate.schema_drift(engine) == []
    engine.dispose()


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_a_step_back_is_refused_when_a_client_uuid_is_in_two_rounds(empty_database):
    engine, campaign_id = _played(empty_database)
    settings = Settings(database_url=empty_database, secret_key="test-secret")
    with unit_of_work(make_session_factory(engine)) as session:
        first = session.get(Campaign, campaign_id)
        assert first is not None
        nxt = create_campaign(session=session, settings=settings, name="第2轮", starts_at=first.starts_at, round_no=2)
        # The same terminal key in the next round: a new scan there, allowed since 0016.
        session.execute(text(
            "INSERT INTO samples (campaign_id, tube_id, person_id, plan_site_id, position, kind, client_uuid, sampled_at, recorded_at) "
            "SELECT :nxt, tube_id, person_id, plan_site_id, position, kind, client_uuid, sampled_at, recorded_at FROM samples "
            "WHERE id = (SELECT min(id) FROM samples)"), {"nxt": nxt.id})
    before = _counts(engine)
    engine.dispose()
    with pytest.raises(RuntimeError, match="used in more than one round"):
        migrate.downgrade(empty_database, BEFORE)
    with engine.connect() as conn:
        assert migrate.current(engine) == migrate.head()
        assert conn.scalar(select(func.count()).select_from(Sample).where(Sample.campaign_id == nxt.id)) == 1
    assert _counts(engine) == before
    engine.dispose()
