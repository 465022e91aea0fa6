"""A terminal's batch (the tubes it opened, the people it scanned) written as one unit of work.

The answer leaves only once the batch is committed, and a batch that lost a race to another
terminal is redone whole in a new transaction. On PostgreSQL the tube statement, the scan statement
and the commit go to the server together (psycopg's pipeline mode): one round trip a batch, each
statement prepared once per connection by the driver. On SQLite the same statements run through
the session, under the writer's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import psycopg as pg_dialect
from sqlalchemy.orm import Session, sessionmaker

from sweep.db import unit_of_work
from sweep.errors import Busy, DomainError
from sweep.field.scan import PG_SCAN, ScanIn, ScanOutcome, check_batch, scan_batch
from sweep.field.tubes import PG_KEYED_PLANS, PG_OPEN, RaceLost, TubeOpen, TubeState, answers, open_params, open_tubes, prepare
from sweep.field.walkins import STATEMENTS as WALK_IN_STATEMENTS
from sweep.plan.clock import server_now
from sweep.plan.models import Campaign

# A batch that keeps losing races to other terminals is a live lock, not input: give up and say so.
RACE_RETRIES = 5
# The statements in the driver's own parameter style, compiled once.
_DIALECT = pg_dialect.dialect()
_PG_OPEN_SQL = str(PG_OPEN.compile(dialect=_DIALECT))
_PG_SCAN_SQL = str(PG_SCAN.compile(dialect=_DIALECT))
_PG_WALK_IN_SQL = tuple(str(statement.compile(dialect=_DIALECT)) for statement in WALK_IN_STATEMENTS["postgresql"])


def record_batch(
    *,
    factory: sessionmaker[Session],
    campaign: Campaign,
    plan_site_id: int,
    tubes: Sequence[TubeOpen],
    scans: Sequence[ScanIn],
    key: str,
    user_id: int | None,
    received_at: datetime | None = None,
) -> tuple[list[TubeState | DomainError], list[ScanOutcome]]:
    """The tubes opened, then the scans, committed before the answer; redone on a lost race.

    ``received_at``: when the server took the batch from a terminal; no time in it may be ahead of it."""
    engine = factory.kw["bind"]
    for _attempt in range(RACE_RETRIES):
        try:
            if isinstance(engine, Engine) and engine.dialect.name == "postgresql":
                return _pipelined(engine, campaign, plan_site_id, tubes, scans, key, user_id, received_at)
            with unit_of_work(factory) as session:
                opened = open_tubes(session=session, campaign=campaign, plan_site_id=plan_site_id, tubes=tubes,
                                    user_id=user_id, received_at=received_at) if tubes else []
                outcomes = scan_batch(session=session, campaign=campaign, plan_site_id=plan_site_id, scans=scans, key=key,
                                      user_id=user_id, received_at=received_at) if scans else []
            return opened, outcomes
        except RaceLost:
            continue
    raise Busy("scans", "其他终端正在写同一批采样管，请稍后重发 (other terminals keep writing the same tubes; resend shortly)")


def _pipelined(engine: Engine, campaign: Campaign, plan_site_id: int, tubes: Sequence[TubeOpen], scans: Sequence[ScanIn],
               key: str, user_id: int | None, received_at: datetime | None) -> tuple[list[TubeState | DomainError], list[ScanOutcome]]:
    import psycopg  # the driver PostgreSQL URLs use (sweep.db.normalise_url)

    now = server_now()
    errors, requested, repeats = prepare(tubes, campaign, received_at)
    batch = check_batch(scans, campaign, key, received_at)
    tube_params = open_params(campaign=campaign, plan_site_id=plan_site_id, requested=requested, user_id=user_id, now=now)
    with engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        try:
            scan_params = batch.params(campaign=campaign, plan_site_id=plan_site_id, user_id=user_id, now=now)
            with raw.pipeline():
                raw.execute(PG_KEYED_PLANS)
                if batch.walk_ins:
                    for statement in _PG_WALK_IN_SQL:
                        raw.execute(statement, scan_params)
                tube_cur = raw.execute(_PG_OPEN_SQL, tube_params, prepare=True) if requested else None
                scan_cur = raw.execute(_PG_SCAN_SQL, scan_params, prepare=True) if batch.items else None
                raw.commit()
        except psycopg.errors.IntegrityError as exc:
            raw.rollback()
            raise RaceLost(str(exc)) from exc
        except psycopg.OperationalError as exc:
            # The connection died (a restarted server, a promoted standby): drop it and try another.
            conn.invalidate(exc)
            raise RaceLost(str(exc)) from exc
        tube_rows = tube_cur.fetchall() if tube_cur is not None else []
        scan_rows = scan_cur.fetchall() if scan_cur is not None else []
        try:
            opened = answers(tubes, errors, requested, repeats, tube_rows, plan_site_id=plan_site_id, user_id=user_id)
        except RaceLost:
            # Another request inserted one of these codes while ours waited for it; the scans that
            # followed saw it, being a later statement. Read the tubes again to answer the opens.
            tube_rows = raw.execute(_PG_OPEN_SQL, tube_params).fetchall()
            raw.commit()
            opened = answers(tubes, errors, requested, repeats, tube_rows, plan_site_id=plan_site_id, user_id=user_id)
        if not batch.items and scans:
            _audit_alone(conn, campaign, plan_site_id, user_id, now, batch)
    return opened, batch.answered(scan_rows, plan_site_id)


def _audit_alone(conn: Any, campaign: Campaign, plan_site_id: int, user_id: int | None, now: datetime, batch: Any) -> None:
    """A batch refused before the database still leaves its line (the statement writes it otherwise)."""
    from sweep.auth.service import audit

    with Session(bind=conn) as session, session.begin():
        audit(session=session, user_id=user_id, action="scan.batch", entity="plan_site", entity_id=plan_site_id,
              campaign_id=campaign.id, at=now, detail=batch.audit_detail(batch.answered([], plan_site_id)))


__all__ = ["record_batch"]
