"""On SQLite, the writers of one process queue for their turn instead of polling SQLite's lock,
and a turn ends when its connection goes back to the pool, whatever happened on it."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from sweep import db
from sweep.db import make_engine, take_writer_turn


def _holds(conn) -> bool:  # type: ignore[no-untyped-def]
    return bool(conn.info.get(db._HOLDS_WRITER))


def test_writers_take_turns_and_a_turn_ends_with_its_connection(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 3.0)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    got = threading.Event()
    second_held: list[bool] = []

    def second_writer() -> None:
        with engine.connect() as b:
            take_writer_turn(b)
            second_held.append(_holds(b))
            got.set()

    with engine.connect() as a:
        take_writer_turn(a)
        take_writer_turn(a)  # a second call on the same connection does not wait for itself
        assert _holds(a)
        other = threading.Thread(target=second_writer)
        other.start()
        assert not got.wait(0.5), "the second writer went ahead while the first held its turn"
    assert got.wait(3.0), "the turn did not pass on when the first connection went back"
    other.join()
    assert second_held == [True]
    # The second turn ended with its connection too: a third writer is not kept waiting.
    with engine.connect() as c:
        take_writer_turn(c)
        assert _holds(c)
    engine.dispose()


def test_a_turn_ends_even_when_the_transaction_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 3.0)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with pytest.raises(Exception, match="no_such_table"), engine.begin() as a:
        take_writer_turn(a)
        a.execute(text("SELECT * FROM no_such_table"))
    with engine.connect() as b:
        take_writer_turn(b)
        assert _holds(b)
    engine.dispose()


def test_postgresql_engines_have_no_queue():
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    assert engine not in db._WRITERS
    engine.dispose()


def test_a_sessions_turn_ends_at_its_commit_not_at_its_close(tmp_path, monkeypatch):
    """A request's session lives on after its commit (its answer is checked and serialised); the
    other writers must not wait for that."""
    monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 3.0)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    factory = db.make_session_factory(engine)
    got = threading.Event()

    def second_writer() -> None:
        with factory() as other, other.begin():
            db.begin_write(other)
            other.execute(text("INSERT INTO t VALUES (2)"))
            got.set()

    with factory() as session:
        with session.begin():
            db.begin_write(session)
            session.execute(text("INSERT INTO t VALUES (1)"))
            writer = threading.Thread(target=second_writer)
            writer.start()
            assert not got.wait(0.3), "the second writer went ahead during the first one's transaction"
        # Committed, the session still open: the turn has passed on.
        assert got.wait(2.0), "the writer's turn was held past the commit"
        writer.join()
        with session.begin():  # and the same session may write again, in a turn of its own
            db.begin_write(session)
            session.execute(text("INSERT INTO t VALUES (3)"))
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM t")) == 3
    engine.dispose()


def test_sqlite_files_get_a_connection_for_every_worker_thread(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    assert engine.pool.size() == db.WORKER_THREADS  # type: ignore[attr-defined]
    engine.dispose()


def test_turns_are_taken_in_the_order_asked_and_a_writer_that_gave_up_is_skipped():
    lock = db.TurnLock()
    assert lock.acquire(timeout=1.0)
    order: list[int] = []
    waiting: list[threading.Thread] = []
    for k in range(8):
        def writer(k: int = k) -> None:
            if lock.acquire(timeout=5.0):
                order.append(k)
                lock.release()
        thread = threading.Thread(target=writer)
        thread.start()
        waiting.append(thread)
        time.sleep(0.02)  # asked in this order
    assert not lock.acquire(timeout=0.05)  # gives up: its turn is skipped, not waited for
    lock.release()
    for thread in waiting:
        thread.join(5.0)
    assert order == list(range(8))
    assert lock.acquire(timeout=1.0)
