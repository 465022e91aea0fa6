"""A write is acknowledged only after it is committed: a failing commit never answers 2xx."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from sweep import migrate
from sweep.db import make_engine, make_session_factory
from sweep.deps import SessionDep


def test_a_commit_that_fails_is_not_acknowledged(tmp_path):
    url = f"sqlite:///{tmp_path / 'deps.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    app = FastAPI()
    app.state.session_factory = make_session_factory(engine)

    @app.post("/write")
    def write(session: SessionDep) -> dict[str, str]:
        # Foreign keys checked at COMMIT, not at the INSERT: the failure comes after the route returns.
        session.execute(text("PRAGMA defer_foreign_keys=ON"))
        session.execute(text("INSERT INTO offices (id, code, name) VALUES (1, 'O1', 'x')"))
        session.execute(text("INSERT INTO communities (office_id, code, name) VALUES (999, 'C1', 'dangling')"))
        return {"status": "saved"}

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/write")
    assert answer.status_code == 500
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM offices")).scalar() == 0
    engine.dispose()
