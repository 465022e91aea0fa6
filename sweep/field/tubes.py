"""Opening tubes, one or many at once: the one way a tube comes to be.

A tube is pooled (the round's pool size, 十混一, or a smaller one the desk asks for, such as 5混1
for a key group pooled five to a tube) or single (one person, 单人单管: key groups, retests). A
terminal that lost the answer resends its open: the same user opening the same code at the same
site, of the same kind (and pool size, if it named one), is answered as a replay; anyone else
reusing a code is refused.

The database says what is there (``_FACTS``: the tubes already known, and those this request
made); ``_answers`` alone decides what each open is answered. On PostgreSQL the look-up, the
inserts and the audit line are one statement; SQLite, with no writes inside WITH, takes two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from sweep.auth.service import audit
from sweep.db import begin_write
from sweep.errors import Conflict, DomainError, InvalidInput
from sweep.field.models import TUBE_KINDS
from sweep.field.service import check_code, site_of
from sweep.plan.clock import client_time
from sweep.plan.models import Campaign

# Pool sizes a desk may open a pooled tube at (practice: 5混1, 10混1, 20混1).
MIN_POOL, MAX_POOL = 2, 20


class RaceLost(Exception):
    """Another terminal wrote the same rows a moment ago: redo the whole batch in a new transaction."""


@dataclass(frozen=True)
class TubeState:
    id: int
    code: str
    plan_site_id: int
    pool_size: int
    filled: int
    status: str
    replayed: bool = False
    kind: str = "pooled"


@dataclass(frozen=True)
class TubeOpen:
    """A tube to open: its code, when, at which desk, its kind, and (pooled) a pool size other than the round's."""

    code: str
    at: datetime
    desk_no: int | None = None
    kind: str = "pooled"
    pool_size: int | None = None


_REQUESTED = {
    "postgresql": "SELECT * FROM jsonb_to_recordset(CAST(:tubes AS jsonb)) AS x(ord int, code text, opened_at timestamp, "
                  "desk_no int, kind text, pool_size int)",
    "sqlite": "SELECT json_extract(value, '$.ord') AS ord, json_extract(value, '$.code') AS code, "
              "json_extract(value, '$.opened_at') AS opened_at, json_extract(value, '$.desk_no') AS desk_no, "
              "json_extract(value, '$.kind') AS kind, json_extract(value, '$.pool_size') AS pool_size FROM json_each(:tubes)",
}
_KNOWN = ("SELECT t.id, t.code, t.plan_site_id, t.opened_by, t.kind, t.pool_size, t.filled, t.status FROM tubes t "
          "WHERE t.campaign_id = :cid AND t.code {among}")
_AMONG = {"postgresql": "= ANY(ARRAY(SELECT code FROM requested))", "sqlite": "IN (SELECT code FROM requested)"}
# The field's statements are prepared once per connection and keep one plan (planning the scan
# statement for each batch cost more than running it). That plan must read each table by the keys
# the batch names, whatever the statistics said when it was made (an empty round's tables look
# cheaper to scan whole): so, within the batch's transaction, no sequential scans.
PG_KEYED_PLANS = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)"
_INSERT = ("INSERT INTO tubes (campaign_id, plan_site_id, code, desk_no, kind, pool_size, filled, status, opened_at, opened_by) "
           "SELECT :cid, :site, r.code, r.desk_no, r.kind, CASE WHEN r.kind = 'single' THEN 1 ELSE COALESCE(r.pool_size, :pool) END, "
           "0, 'open', "
           "r.opened_at, :uid FROM requested r WHERE r.code NOT IN (SELECT code FROM known) "
           "ON CONFLICT (campaign_id, code) DO NOTHING RETURNING id, code, pool_size")
# PostgreSQL: everything in one statement. A code another terminal inserted a moment ago is in
# neither ``known`` (the statement's snapshot) nor ``fresh`` (the insert gave way): a lost race.
PG_OPEN = text(
    f"WITH requested AS ({_REQUESTED['postgresql']}), known AS ({_KNOWN.format(among=_AMONG['postgresql'])}), fresh AS ({_INSERT}), "
    "logged AS (INSERT INTO audit_log (at, user_id, campaign_id, action, entity, entity_id, detail) "
    "SELECT :now, :uid, :cid, 'tube.opened', 'plan_site', :site, json_build_object('tubes', json_agg(code)) "
    "FROM (SELECT code FROM fresh LIMIT 100) f HAVING count(*) > 0) "
    "SELECT r.ord, f.id, f.pool_size, k.id, k.plan_site_id, k.opened_by, k.kind, k.pool_size, k.filled, k.status "
    "FROM requested r LEFT JOIN fresh f ON f.code = r.code LEFT JOIN known k ON k.code = r.code ORDER BY r.ord"
)
_SQLITE_KNOWN = text(f"WITH requested AS ({_REQUESTED['sqlite']}) {_KNOWN.format(among=_AMONG['sqlite'])}")
_SQLITE_INSERT = text(f"WITH requested AS ({_REQUESTED['sqlite']}), known AS ({_KNOWN.format(among=_AMONG['sqlite'])}) {_INSERT}")


@dataclass(frozen=True)
class _Fact:
    """What the database holds for one requested tube: made now (``fresh_*``), or there before (``known_*``)."""

    ord: int
    fresh_id: int | None
    fresh_pool_size: int | None
    known_id: int | None
    known_site: int | None
    known_opened_by: int | None
    known_kind: str | None
    known_pool_size: int | None
    known_filled: int | None
    known_status: str | None


def _used(code: str) -> Conflict:
    return Conflict("tube_code", f"管码 {code} 本轮已使用 (tube code already used in this campaign)")


def prepare(tubes: Sequence[TubeOpen], campaign: Campaign | None = None,
            received_at: datetime | None = None) -> tuple[list[DomainError | None], list[dict[str, Any]], dict[int, int]]:
    """Check each open on its own; the first of each code goes to the database, a repeat follows it.

    ``received_at``: the server's clock when the opens came from a client (their times are checked against it)."""
    errors: list[DomainError | None] = [None] * len(tubes)
    requested: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    repeats: dict[int, int] = {}
    for k, tube in enumerate(tubes):
        try:
            code = check_code(tube.code, field="tube_code")
            if tube.kind not in TUBE_KINDS:
                raise InvalidInput("kind", f"采样管类型应为 {'/'.join(TUBE_KINDS)} (a tube is pooled or single), got {tube.kind!r}")
            if tube.pool_size is not None and (tube.kind != "pooled" or not MIN_POOL <= tube.pool_size <= MAX_POOL):
                raise InvalidInput("pool_size", f"混采管每管 {MIN_POOL}–{MAX_POOL} 人，单管不设 (a pooled tube holds {MIN_POOL}-{MAX_POOL}; "
                                                f"a single tube takes none), got {tube.pool_size}")
            if campaign is not None and received_at is not None:
                client_time(campaign=campaign, value=tube.at, field="opened_at", now=received_at)
        except DomainError as exc:
            errors[k] = exc
            continue
        if code in first:
            repeats[k] = first[code]
            continue
        first[code] = k
        requested.append({"ord": k, "code": code, "opened_at": tube.at.strftime("%Y-%m-%d %H:%M:%S.%f"), "desk_no": tube.desk_no,
                          "kind": tube.kind, "pool_size": tube.pool_size})
    return errors, requested, repeats


def answers(
    tubes: Sequence[TubeOpen], errors: list[DomainError | None], requested: list[dict[str, Any]], repeats: dict[int, int],
    facts: Sequence[Sequence[Any]], *, plan_site_id: int, user_id: int | None,
) -> list[TubeState | DomainError]:
    """Each open's answer from what the database holds; raises RaceLost for a code written meanwhile."""
    out: list[TubeState | DomainError | None] = list(errors)
    codes = {r["ord"]: r["code"] for r in requested}
    for row in facts:
        f = _Fact(*row)
        code, kind = codes[f.ord], tubes[f.ord].kind
        if f.fresh_id is not None:
            assert f.fresh_pool_size is not None
            out[f.ord] = TubeState(f.fresh_id, code, plan_site_id, f.fresh_pool_size, 0, "open", False, kind)
        elif f.known_id is None:
            raise RaceLost(code)
        elif (f.known_site == plan_site_id and user_id is not None and f.known_opened_by == user_id and f.known_kind == kind
              and tubes[f.ord].pool_size in (None, f.known_pool_size)):
            assert f.known_pool_size is not None and f.known_filled is not None and f.known_status is not None
            out[f.ord] = TubeState(f.known_id, code, plan_site_id, f.known_pool_size, f.known_filled, f.known_status, True, kind)
        else:
            out[f.ord] = _used(code)
    for k, j in repeats.items():  # the same code twice in one request: the second is a replay of the first
        twin = out[j]
        out[k] = TubeState(twin.id, twin.code, plan_site_id, twin.pool_size, twin.filled, twin.status, True, twin.kind) \
            if isinstance(twin, TubeState) else twin
    return [o for o in out if o is not None]


def open_params(*, campaign: Campaign, plan_site_id: int, requested: list[dict[str, Any]], user_id: int | None,
                now: datetime) -> dict[str, Any]:
    return {"cid": campaign.id, "site": plan_site_id, "uid": user_id, "pool": campaign.pool_size, "now": now,
            "tubes": json.dumps(requested)}


def open_tubes(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    tubes: Sequence[TubeOpen],
    user_id: int | None = None,
    now: datetime | None = None,
    received_at: datetime | None = None,
) -> list[TubeState | DomainError]:
    """Open many tubes at once, each answered on its own: its state, or why not."""
    begin_write(session)
    site_of(session=session, campaign=campaign, plan_site_id=plan_site_id)
    now = now or datetime.now()
    errors, requested, repeats = prepare(tubes, campaign, received_at)
    facts: list[Sequence[Any]] = []
    if requested:
        params = open_params(campaign=campaign, plan_site_id=plan_site_id, requested=requested, user_id=user_id, now=now)
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(PG_KEYED_PLANS)
            facts = list(conn.execute(PG_OPEN, params))
        else:
            known = {r.code: tuple(r)[:1] + tuple(r)[2:] for r in conn.execute(_SQLITE_KNOWN, params)}
            fresh = {code: (tube_id, pool) for tube_id, code, pool in conn.execute(_SQLITE_INSERT, params)}
            facts = [(r["ord"], *fresh.get(r["code"], (None, None)), *known.get(r["code"], (None,) * 7)) for r in requested]
            if fresh:
                audit(session=session, user_id=user_id, action="tube.opened", entity="plan_site", entity_id=plan_site_id,
                      campaign_id=campaign.id, at=now, detail={"tubes": list(fresh)[:100]})
    return answers(tubes, errors, requested, repeats, facts, plan_site_id=plan_site_id, user_id=user_id)


def open_tube(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    code: str,
    at: datetime,
    user_id: int | None = None,
    desk_no: int | None = None,
    kind: str = "pooled",
    pool_size: int | None = None,
) -> TubeState:
    """Open one tube; raises why not."""
    (state,) = open_tubes(session=session, campaign=campaign, plan_site_id=plan_site_id, user_id=user_id,
                          tubes=[TubeOpen(code, at, desk_no, kind, pool_size)])
    if isinstance(state, DomainError):
        raise state
    return state
