"""A first load into an empty table: its secondary indexes (and, on PostgreSQL, its foreign keys)
built once, afterwards, rather than kept up row by row.

Checked row by row, the five foreign keys of ``people`` cost PostgreSQL more than the rows
themselves (about 25 µs a row in its RI triggers), and each secondary index another B-tree
insert on both backends. For an empty table, PostgreSQL's own advice for populating a database
applies: drop them, load, then build the indexes and add the keys back, each checked once over
the whole table. SQLite cannot drop a foreign key, so there only the indexes go. All of it is
inside the import's transaction, so a failure leaves the schema as it was. The table is locked
for the load, harmless only while it is empty: a table with rows keeps its checks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Index, Table, exists, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex, ForeignKeyConstraint

from sweep.db import is_postgresql


@contextlib.contextmanager
def first_load(session: Session | Connection, table: Table) -> Iterator[bool]:
    """Yields True when the table was empty and its checks are off until the block ends."""
    if session.scalar(select(exists().select_from(table))):
        yield False
        return
    postgresql = is_postgresql(session)
    conn = session.connection() if isinstance(session, Session) else session
    if not postgresql:
        raw = conn.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            # pysqlite opens its transaction only at the first INSERT; DDL before it would commit at once.
            raw.execute("BEGIN")
    keys = [c for c in table.constraints if isinstance(c, ForeignKeyConstraint)] if postgresql else []
    indexes = [ix for ix in table.indexes if not ix.unique]
    for fk in keys:
        conn.execute(DropConstraint(fk))
    for ix in indexes:
        conn.execute(DropIndex(ix))
    try:
        yield True
    except BaseException:
        # Put them back even so, in case a caller commits after an error; a failed transaction
        # refuses the DDL, and then its rollback restores the schema.
        with contextlib.suppress(Exception):
            _restore(session, keys, indexes)
        raise
    _restore(session, keys, indexes)


def _restore(session: Session | Connection, keys: list[ForeignKeyConstraint], indexes: list[Index]) -> None:
    conn = session.connection() if isinstance(session, Session) else session
    if is_postgresql(session):
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for ix in indexes:
        conn.execute(CreateIndex(ix))
    for fk in keys:
        conn.execute(AddConstraint(fk))


__all__ = ["first_load"]
