"""`sweep db upgrade` builds the schema on an empty database and `downgrade base` removes it."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from sweep import migrate
from sweep.cli import app
from sweep.db import make_engine
from sweep.schema import load_all_models


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_then_downgrade_base(empty_database):
    runner = CliRunner()
    up = runner.invoke(app, ["db", "upgrade", "--database", empty_database])
    assert up.exit_code == 0, up.output
    engine = make_engine(empty_database)
    tables = set(inspect(engine).get_table_names())
    assert set(load_all_models().tables) <= tables
    cur = runner.invoke(app, ["db", "current", "--database", empty_database])
    from alembic.script import ScriptDirectory

    from sweep.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(empty_database)).get_current_head()
    assert cur.stdout.strip() == head
    down = runner.invoke(app, ["db", "downgrade", "base", "--database", empty_database])
    assert down.exit_code == 0, down.output
    engine.dispose()
    assert set(inspect(make_engine(empty_database)).get_table_names()) <= {"alembic_version"}


def test_the_migrations_match_the_models(db_url):
    """A model changed without a migration shows here as a difference."""
    engine = make_engine(db_url)
    diff = migrate.schema_drift(engine)
    engine.dispose()
    assert diff == []
