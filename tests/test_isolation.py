"""The test session rolls everything back, even a savepoint that is its first statement."""

from __future__ import annotations

from sqlalchemy import func, select

from sweep.registry.models import Office
from tests.conftest import rolled_back_session


def test_a_savepoint_first_leaves_nothing_behind(engine):
    with rolled_back_session(engine) as session:
        with session.begin_nested():
            session.add(Office(code="ISOLATION-CHECK", name="x"))
        session.commit()
        assert session.scalar(select(func.count()).where(Office.code == "ISOLATION-CHECK")) == 1
    with rolled_back_session(engine) as session:
        assert session.scalar(select(func.count()).where(Office.code == "ISOLATION-CHECK")) == 0
