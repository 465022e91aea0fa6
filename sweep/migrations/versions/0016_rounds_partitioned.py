"""the tables that grow by a registry a round (samples, coverage_missing) partitioned by round on
PostgreSQL; a sample's client UUID and its place in a tube unique within its round

PostgreSQL requires every unique key of a partitioned table to hold the partition key, and a
foreign key into one to name it: so ``samples`` keys on ``(id, campaign_id)``, its client UUID
and tube position are unique per round, and the two references to a sample (a retest order's,
a home-sampling task's) are plain columns beside their own ``campaign_id``. On PostgreSQL each
table is rebuilt as ``PARTITION BY LIST (campaign_id)`` with a partition for every round there
is and a DEFAULT one, its rows copied across; SQLite keeps plain tables and gets the new keys.
The index of ``samples`` on ``campaign_id`` alone goes: the new unique keys begin with it.

Revision ID: 0016_rounds_partitioned
Revises: 0015_walk_in_codes_group_pools
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Connection, text

revision = "0016_rounds_partitioned"
down_revision = "0015_walk_in_codes_group_pools"
branch_labels = None
depends_on = None

TABLES = ("samples", "coverage_missing")
# The references to a sample that a partitioned ``samples`` cannot take as foreign keys.
SAMPLE_REFERENCES = ("retest_orders", "home_sampling_tasks")
# Unique keys of ``samples`` before and after: (name, columns).
UNIQUE_BEFORE = (("uq_samples_client_uuid", ("client_uuid",)), ("uq_samples_tube_id_position", ("tube_id", "position")))
UNIQUE_AFTER = (("uq_samples_campaign_id_client_uuid", ("campaign_id", "client_uuid")),
                ("uq_samples_campaign_id_tube_id_position", ("campaign_id", "tube_id", "position")))
# Made redundant by the unique keys that now begin with the round: one index fewer to write a scan.
REDUNDANT_INDEX = ("ix_samples_campaign_id", ("campaign_id",))
PRIMARY_KEY = {"samples": (("id",), ("id", "campaign_id")), "coverage_missing": (("campaign_id", "person_id"),) * 2}


def upgrade() -> None:
    conn = op.get_bind()
    for table in SAMPLE_REFERENCES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_sample_id_samples", type_="foreignkey")
    if conn.dialect.name != "postgresql":
        with op.batch_alter_table("samples") as batch_op:
            for name, _ in UNIQUE_BEFORE:
                batch_op.drop_constraint(name, type_="unique")
            for name, columns in UNIQUE_AFTER:
                batch_op.create_unique_constraint(name, list(columns))
            batch_op.drop_index(REDUNDANT_INDEX[0])
        return
    op.drop_index(REDUNDANT_INDEX[0], table_name="samples")
    rounds = [int(r) for r in conn.execute(text("SELECT id FROM campaigns ORDER BY id")).scalars()]
    for table in TABLES:
        unique = UNIQUE_AFTER if table == "samples" else ()
        _rebuild(conn, table, partitioned=True, rounds=rounds, primary_key=PRIMARY_KEY[table][1], unique=unique)


def downgrade() -> None:
    conn = op.get_bind()
    reused = conn.execute(text("SELECT client_uuid FROM samples GROUP BY client_uuid HAVING count(*) > 1 LIMIT 1")).scalar()
    if reused is not None:
        raise RuntimeError(f"cannot step back before 0016: client UUID {reused} is used in more than one round, and before "
                           "0016 a client UUID was unique across all rounds")
    if conn.dialect.name == "postgresql":
        for table in TABLES:
            unique = UNIQUE_BEFORE if table == "samples" else ()
            _rebuild(conn, table, partitioned=False, rounds=[], primary_key=PRIMARY_KEY[table][0], unique=unique)
        op.create_index(REDUNDANT_INDEX[0], "samples", list(REDUNDANT_INDEX[1]))
    else:
        with op.batch_alter_table("samples") as batch_op:
            for name, _ in UNIQUE_AFTER:
                batch_op.drop_constraint(name, type_="unique")
            for name, columns in UNIQUE_BEFORE:
                batch_op.create_unique_constraint(name, list(columns))
            batch_op.create_index(REDUNDANT_INDEX[0], list(REDUNDANT_INDEX[1]))
    for table in SAMPLE_REFERENCES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(f"fk_{table}_sample_id_samples", "samples", ["sample_id"], ["id"], ondelete="SET NULL")


def _rebuild(conn: Connection, table: str, *, partitioned: bool, rounds: list[int], primary_key: tuple[str, ...],
             unique: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    """``table`` made anew, partitioned by round or plain, with its rows, keys, indexes and foreign keys.

    Columns, defaults, NOT NULLs and CHECKs come over by ``LIKE``; the foreign keys and the
    indexes that are not keys are read from the catalogue and made again as they were; the
    primary key and unique keys are the ones given (they change with partitioning)."""
    new = f"{table}_rebuilt"
    oid = conn.execute(text("SELECT CAST(:t AS regclass)::oid"), {"t": table}).scalar_one()
    foreign = conn.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = :o AND contype = 'f' "
                                "ORDER BY conname"), {"o": oid}).all()
    indexes = conn.execute(text(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = :o "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = :o) ORDER BY i.indexrelid"),
        {"o": oid}).scalars().all()
    sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar() if "id" in primary_key else None
    shape = " PARTITION BY LIST (campaign_id)" if partitioned else ""
    conn.exec_driver_sql(f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){shape}")
    if partitioned:
        for campaign_id in rounds:
            conn.exec_driver_sql(f"CREATE TABLE {table}_round_{campaign_id} PARTITION OF {new} FOR VALUES IN ({campaign_id})")
        conn.exec_driver_sql(f"CREATE TABLE {table}_default PARTITION OF {new} DEFAULT")
    before = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    conn.exec_driver_sql(f"INSERT INTO {new} SELECT * FROM {table}")
    after = conn.execute(text(f"SELECT count(*) FROM {new}")).scalar_one()
    if before != after:  # pragma: no cover - INSERT … SELECT moves every row or fails
        raise RuntimeError(f"{table}: {before} rows before, {after} after the copy")
    if sequence:
        conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    conn.exec_driver_sql(f"DROP TABLE {table}")
    conn.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {table}")
    if sequence:
        conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(primary_key)})")
    for name, columns in unique:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(columns)})")
    for statement in indexes:
        conn.exec_driver_sql(statement)
    for name, definition in foreign:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    conn.exec_driver_sql(f"ANALYZE {table}")
