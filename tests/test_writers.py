"""On SQLite, the writers of one process queue for their turn instead of polling SQLite's lock,
and a turn ends when its connection goes back to the pool, whatever happened on it."""

from __future__ import annotations

import threading

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
