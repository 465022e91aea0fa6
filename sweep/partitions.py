"""The tables that grow by a registry's worth of rows every round, partitioned by round on PostgreSQL.

``samples`` (every person once a round) and ``coverage_missing`` (the whole registry at a round's
start) are ``PARTITION BY LIST (campaign_id)``: a partition a round, made with the round
(``create_round_partitions``), and a DEFAULT partition for rows of a round made some other way.
A round's indexes stay the size of one round, every query that names the round reads its
partition alone, and a finished round is detached and archived whole (docs/operations.md).
SQLite keeps plain tables: a community office's laptop has no use for it.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

PARTITIONED_BY_ROUND = ("samples", "coverage_missing")
_PARTITION_NAME = re.compile(rf"^({'|'.join(PARTITIONED_BY_ROUND)})_(round_\d+|default)$")


def round_partition(table: str, campaign_id: int) -> str:
    """The name of a round's partition of ``table``: ``samples_round_7``."""
    return f"{table}_round_{int(campaign_id)}"


def is_round_partition(name: str | None) -> bool:
    """A partition, not a table of the schema: Alembic leaves it out when it compares the schema with the models."""
    return name is not None and _PARTITION_NAME.match(name) is not None


def create_round_partitions(conn: Connection, campaign_id: int) -> None:
    """A partition of each table for a new round, in the caller's transaction (nothing to do on SQLite).

    Attaching a partition takes a short exclusive lock on its table and reads the DEFAULT
    partition (empty unless rows of a round came without one): a round is made before its day."""
    if conn.dialect.name != "postgresql":
        return
    for table in partitioned_tables(conn):
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {round_partition(table, campaign_id)} PARTITION OF {table} FOR VALUES IN ({int(campaign_id)})"
        )


def partitioned_tables(conn: Connection) -> list[str]:
    """Those of ``PARTITIONED_BY_ROUND`` that this PostgreSQL database holds partitioned (all of them at 0016 and later)."""
    found = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = ANY(%(names)s) AND pg_table_is_visible(c.oid)", {"names": list(PARTITIONED_BY_ROUND)}
    ).scalars().all()
    return [t for t in PARTITIONED_BY_ROUND if t in found]


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's filter of reflected names: the schema's tables, not their partitions."""
    return not (type_ == "table" and is_round_partition(name))


__all__ = ["PARTITIONED_BY_ROUND", "create_round_partitions", "include_name", "is_round_partition", "partitioned_tables", "round_partition"]
