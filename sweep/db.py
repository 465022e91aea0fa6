"""The engine, sessions and the one declarative base, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event, make_url, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names, so Alembic can drop and alter them on both backends.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


BULK_CACHE_KIB = 512 * 1024
# Values bound in one IN (...): far under SQLite's and the drivers' limits on parameters.
IN_LIST = 1000

T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

    if TYPE_CHECKING:
        # SQLAlchemy types it as any FromClause; every class here is mapped to a plain table.
        __table__: ClassVar[Table]


def _multi_host_as_query(url: str) -> str:
    """libpq's ``postgresql://u@h1:p1,h2:p2/db`` as SQLAlchemy reads it: ``postgresql://u@/db?host=h1:p1&host=h2:p2``."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    if "," not in hosts or not parts.scheme.startswith("postgres"):
        return url
    query = "&".join(f"host={quote(h, safe=':[]')}" for h in hosts.split(",")) + (f"&{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{userinfo + '@' if userinfo else ''}{parts.path or '/'}?{query}"


def normalise_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at psycopg 3, the driver Sweep installs; a libpq
    multi-host URL (a primary and its standby) is accepted as libpq writes it."""
    parsed = make_url(_multi_host_as_query(url))
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web pages read while the field writes; foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit is on disk before the terminal is told "saved", power cut included (NORMAL
    # in WAL mode may lose the last commits to a power cut, though not to a crash of the server).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
    # SQLite before 3.41 has no unhex(); the scan statement looks people up by a hex-coded hash.
    dbapi_conn.create_function("unhex", 1, _unhex, deterministic=True)


def _unhex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


# SQLite lets one writer in at a time, and those waiting poll for the lock with sleeps of up to
# 100 ms: under sixteen terminals a few requests lost every draw and waited seconds. Writers of
# one process queue here instead, and take turns in order.
class TurnLock:
    """A lock taken in the order it was asked for. ``threading.Lock`` lets whichever thread the OS
    wakes first go ahead: under fifty terminals the median batch waited 1 s and the unluckiest 14 s.
    Each waiter has an event of its own, and a release hands the lock to the first of them only
    (waking all forty threads to find the next one costs CPU a busy server has not got)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as it gave up
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # the lock passes straight to the next in line
            else:
                self._held = False


_WRITERS: WeakKeyDictionary[Engine, TurnLock] = WeakKeyDictionary()
WRITER_WAIT_SECONDS = 30.0
_HOLDS_WRITER = "sweep_holds_writer"
_TURN_CONNECTIONS = "sweep_turn_connections"


def take_writer_turn(conn: Connection) -> None:
    """On SQLite, wait for this process's other writers before beginning a write transaction.

    Released when the transaction ends (committed or rolled back), or at the latest when the
    connection goes back to the pool. Past ``WRITER_WAIT_SECONDS`` the write goes ahead and
    SQLite's own lock decides, as without the queue."""
    lock = _WRITERS.get(conn.engine)
    if lock is None or conn.info.get(_HOLDS_WRITER):
        return
    if lock.acquire(timeout=WRITER_WAIT_SECONDS):
        conn.info[_HOLDS_WRITER] = lock


def _end_turn(info: dict[Any, Any]) -> None:
    lock = info.pop(_HOLDS_WRITER, None)
    if lock is not None:
        lock.release()


def begin_write(session: Session) -> None:
    """On SQLite, take the database's write lock now (BEGIN IMMEDIATE), in this process's turn.

    The driver begins SQLite transactions lazily, at the first write; reads before it see no
    snapshot and a savepoint opened first would commit on release. Taking the lock up front makes
    a write's reads current and its savepoints real. PostgreSQL needs none of this.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        take_writer_turn(conn)
        session.info.setdefault(_TURN_CONNECTIONS, []).append(conn)
        raw.execute("BEGIN IMMEDIATE")


def _end_writer_turn(_dbapi_conn: Any, record: Any) -> None:
    _end_turn(record.info)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _end_session_turn(session: Session) -> None:
    # The turn ends with the write, not with the session: a request's session lives on while its
    # answer is checked and serialised, and with forty requests in flight every other writer would
    # wait for that too. After the commit the lock is SQLite's again (WAL: readers never wait).
    for conn in session.info.pop(_TURN_CONNECTIONS, ()):
        if not conn.closed:  # a closed one went back to the pool, which ended its turn
            _end_turn(conn.info)


# Connections kept open per process. A request holds at most one at a time, so a pool as large as
# the requests a server works on at once never makes a terminal wait for a connection, and never
# opens and closes one per request (a new PostgreSQL connection costs more than a scan batch).
POOL_SIZE = 20
POOL_OVERFLOW = 20
# Every database call of a request runs on a worker thread, and the process has WORKER_THREADS of
# them (sweep.api sets the limit): on SQLite, where a connection is only an open file, the pool
# holds one for each, so no request ever waits for a connection (SQLAlchemy's default of 5 + 10
# made fifty terminals time out in the pool, answered 500); writers then queue on the writer's
# turn above, each holding it only for its own transaction.
WORKER_THREADS = 40
SQLITE_POOL_SIZE = WORKER_THREADS
SQLITE_POOL_OVERFLOW = 10
# libpq waits for TCP itself (minutes) on a host that does not answer at all, a machine that
# died with its PostgreSQL; a multi-host URL moves on to the next host after this many seconds.
PG_CONNECT_TIMEOUT_S = 5


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        if make_url(url).database not in (None, "", ":memory:"):  # a file: QueuePool (memory has its own pool)
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", SQLITE_POOL_OVERFLOW)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        _WRITERS[engine] = TurnLock()
        event.listen(engine, "checkin", _end_writer_turn)
        return engine
    # No ping before each use: it would double the round trips of a scan batch. A connection found
    # dead (the server restarted, a standby promoted) is dropped with the pool's older ones, and the
    # request that met it is answered 503 so that the terminal resends; new ones go through the
    # URL's hosts to whichever takes writes.
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    if "connect_timeout" not in make_url(url).query:
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S, **kwargs.get("connect_args", {})}
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session


def is_postgresql(conn: Connection | Session) -> bool:
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    return bind.dialect.name == "postgresql"


@dataclass(frozen=True)
class ReadSource:
    """Where a read-only view's data came from, and how far it may trail the primary."""

    read_from: str  # primary | standby | sqlite
    lag_s: float | None  # seconds behind the primary; None when read from the primary itself
    streaming: bool | None  # a standby still receiving from its primary


_LAG = text(
    "SELECT pg_is_in_recovery(),"
    " EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'),"
    " pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),"
    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
)


def read_source(conn: Connection | Session) -> ReadSource:
    """On a standby, its replication lag: 0 while it streams and has replayed all it received,
    else the age of the last transaction it replayed (the primary may have committed since)."""
    if not is_postgresql(conn):
        return ReadSource("sqlite", None, None)
    standby, streaming, caught_up, age = conn.execute(_LAG).one()
    if not standby:
        return ReadSource("primary", None, None)
    lag = 0.0 if streaming and caught_up else (None if age is None else round(max(0.0, float(age)), 3))
    return ReadSource("standby", lag, bool(streaming))


def in_chunks(values: list[T], size: int = IN_LIST) -> Iterator[list[T]]:
    """``values`` in slices of ``size``, one ``IN (...)`` each: a long list would pass the limit on bound parameters."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def bulk_insert(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, one prepared executemany on SQLite.

    The ORM's per-object bookkeeping costs more than the insert itself at a million rows.
    """
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        assert isinstance(raw, psycopg.Connection)  # normalise_url puts PostgreSQL on psycopg 3, whose COPY this is
        cols = ", ".join(columns)
        with raw.cursor() as pg_cur, pg_cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    assert isinstance(raw, sqlite3.Connection)  # the only other backend
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    cur = raw.cursor()
    # Unique keys of random hashes touch index pages all over the file; with SQLite's default
    # 2 MB page cache a million-row load spends most of its time re-reading them.
    (previous,) = cur.execute("PRAGMA cache_size").fetchone()
    cur.execute(f"PRAGMA cache_size={-BULK_CACHE_KIB}")
    try:
        cur.executemany(sql, rows)
    finally:
        cur.execute(f"PRAGMA cache_size={previous}")


__all__ = ["Base", "begin_write", "bulk_insert", "is_postgresql", "make_engine", "make_session_factory", "normalise_url", "unit_of_work"]
