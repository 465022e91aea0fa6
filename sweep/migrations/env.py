"""Alembic environment: the URL comes from the caller (``sweep db``) or from the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sweep.config import get_settings
from sweep.db import make_engine
from sweep.partitions import include_name
from sweep.schema import load_all_models

config = context.config
target_metadata = load_all_models()


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Sweep runs its migrations online: use `sweep db upgrade`.")
run_migrations()
