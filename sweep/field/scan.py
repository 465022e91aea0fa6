"""Scans, one or many: the one path every scan takes (the API, the terminal's batches, the demo, the tests).

What makes a scan good is written once, as one SQL statement over the whole batch (``_JUDGE``):
who the person is; whether the client's UUID was used before in this round (an exact replay is
answered with the first answer, anything else reusing the key is refused); the tube (this round's, this site's,
open, with room, single for a retest or a key group sampled one to a tube, no larger than a key
group's own pool size); and whether the person was sampled already this round.
Items are judged as a set: a person's first item claims them, and a tube's room goes to its items
in the order they came.

On PostgreSQL the writes ride in the same statement (each tube's fill and seal, the samples, the
batch's audit line): one round trip. SQLite allows no writes inside WITH, so there the judged
items land in a temporary table and the same writes follow as short statements, under the
writer's lock. Either way the database still refuses an overfilled tube and a person sampled
twice; a batch that loses such a race to another terminal raises ``RaceLost`` and is retried by
its caller in a new transaction. Every read of ``samples`` names the round, so that on PostgreSQL,
where the table is partitioned by round, the kept plan reads the round's partition alone.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sweep.auth.service import audit
from sweep.db import begin_write
from sweep.errors import AlreadySampled, Conflict, DomainError, InvalidInput, NotFound, TubeFull, TubeSealed
from sweep.field.models import SAMPLE_KINDS
from sweep.field.service import elsewhere, unknown_code
from sweep.field.tubes import PG_KEYED_PLANS, RaceLost
from sweep.field.walkins import WalkInIn, check_walk_in, register_walk_ins, walk_in_items
from sweep.plan.clock import client_time
from sweep.plan.models import Campaign
from sweep.registry.idnumber import InvalidIdNumber, validate_id_number
from sweep.registry.service import id_lookup_hash

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
# A phone's clock may be off, and a queue may hold scans from before a restart; a scan dated
# outside this window around the round's start is a typo or a wrong terminal date.
SAMPLED_BEFORE_START = timedelta(days=1)
SAMPLED_AFTER_START = timedelta(days=2)


class SingleTubeRequired(Conflict):
    code = "single_tube_required"


class GroupPoolRequired(Conflict):
    """A member of a key group pooled smaller than this tube (5混1 against a 10混1 tube)."""

    code = "group_pool_size"


class WalkInRequired(NotFound):
    """A pre-registration code of someone not in the registry: the desk completes their walk-in form."""

    code = "walk_in_required"


@dataclass(frozen=True)
class ScanIn:
    """One scan as a terminal sends it; the person by ID number, pre-registration code, or (inside Sweep) id."""

    client_uuid: str
    tube_code: str
    sampled_at: datetime
    id_number: str | None = None
    prereg_code: str | None = None
    kind: str = "pooled"
    person_id: int | None = None
    walk_in: WalkInIn | None = None  # someone not in the registry, registered at the desk with this scan

    def identity(self) -> tuple[object, ...]:
        return self.id_number, self.prereg_code, self.person_id, self.walk_in


@dataclass(frozen=True)
class ScanResult:
    sample_id: int
    tube_code: str
    position: int
    filled: int
    pool_size: int
    sealed: bool
    replayed: bool


@dataclass(frozen=True)
class ScanOutcome:
    client_uuid: str
    result: ScanResult | None = None
    error: DomainError | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        assert self.result is not None
        return "replayed" if self.result.replayed else "ok"


# The batch's items, as the statement reads them (one JSON document, so the statement's text never
# changes with the batch's size and stays prepared).
_ITEMS = {
    "postgresql": "SELECT * FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS x(ord int, uuid text, tube_code text, "
                  "person_id int, id_hash text, prereg text, sampled_at timestamp, kind text)",
    "sqlite": "SELECT json_extract(value, '$.ord') AS ord, json_extract(value, '$.uuid') AS uuid, "
              "json_extract(value, '$.tube_code') AS tube_code, json_extract(value, '$.person_id') AS person_id, "
              "json_extract(value, '$.id_hash') AS id_hash, json_extract(value, '$.prereg') AS prereg, "
              "json_extract(value, '$.sampled_at') AS sampled_at, json_extract(value, '$.kind') AS kind FROM json_each(:items)",
}
_UNHEX = {"postgresql": "decode(i.id_hash, 'hex')", "sqlite": "unhex(i.id_hash)"}
# Two batches on one tube take turns on its row; the second then sees the first's fill.
_LOCK = {"postgresql": "FOR UPDATE OF t", "sqlite": ""}
# Every table is read by its key, for the keys the batch names: ``col {any}SELECT …{end}``. On
# PostgreSQL that is an index condition on an array (``= ANY(ARRAY(…))``), so the plan made once
# for the prepared statement reads only the batch's rows however large the round grows since; a
# join to a whole table would be planned from the statistics of the moment it was prepared.
_ANY = {"postgresql": ("= ANY(ARRAY(", "))"), "sqlite": ("IN (", ")")}
_FALSE = {"postgresql": "false", "sqlite": "0"}

_JUDGE = """
items AS ({items}),
person AS (SELECT p.id, p.id_hash FROM people p WHERE p.id_hash {any}SELECT {unhex} FROM items i WHERE i.id_hash IS NOT NULL{end}),
prereg AS (
    SELECT r.id, r.code, r.person_id, r.id_hash FROM preregistrations r
    WHERE r.campaign_id = :cid AND r.code {any}SELECT prereg FROM items WHERE prereg IS NOT NULL{end}
),
named AS (
    SELECT i.ord, i.uuid, i.tube_code, i.sampled_at, i.kind,
           COALESCE(i.person_id, p.id, rp.id) AS person_id,
           CASE WHEN i.id_hash IS NOT NULL AND p.id IS NULL THEN 'unknown_person'
                WHEN i.prereg IS NOT NULL AND r.id IS NULL THEN 'unknown_prereg'
                WHEN i.prereg IS NOT NULL AND rp.id IS NULL THEN 'walk_in_needed' END AS unknown
    FROM items i
    LEFT JOIN person p ON p.id_hash = {unhex}
    LEFT JOIN prereg r ON r.code = i.prereg
    LEFT JOIN people rp ON rp.id_hash = r.id_hash
),
key_group AS (
    SELECT gp.id, g.single_tube, g.pool_size FROM people gp JOIN key_groups g ON g.id = gp.key_group_id
    WHERE gp.id {any}SELECT person_id FROM named WHERE person_id IS NOT NULL{end}
),
who AS (
    SELECT n.*, COALESCE(kg.single_tube, {false}) AS single_only, kg.pool_size AS group_pool
    FROM named n LEFT JOIN key_group kg ON kg.id = n.person_id
),
tube AS (
    SELECT t.id, t.code, t.plan_site_id, t.status, t.pool_size, t.filled, t.kind
    FROM tubes t WHERE t.campaign_id = :cid AND t.code {any}SELECT tube_code FROM items{end} {lock}
),
prior_sample AS (
    SELECT s.client_uuid, s.id, s.person_id, s.plan_site_id, s.position, s.kind, s.tube_id
    FROM samples s WHERE s.campaign_id = :cid AND s.client_uuid {any}SELECT uuid FROM items{end}
),
prior AS (
    SELECT s.client_uuid, s.id, s.person_id, s.plan_site_id, s.position, s.kind, pt.code, pt.filled, pt.pool_size, pt.status
    FROM prior_sample s JOIN tubes pt ON pt.id = s.tube_id
    WHERE pt.id {any}SELECT tube_id FROM prior_sample{end}
),
sampled_before AS (
    SELECT s.person_id, s.tube_id, s.sampled_at FROM samples s
    WHERE s.campaign_id = :cid AND s.kind <> 'retest' AND s.person_id {any}SELECT person_id FROM who WHERE person_id IS NOT NULL{end}
),
sampled AS (
    SELECT s.person_id, min(st.code) AS code, min(s.sampled_at) AS sampled_at
    FROM sampled_before s JOIN tubes st ON st.id = s.tube_id
    WHERE st.id {any}SELECT tube_id FROM sampled_before{end}
    GROUP BY s.person_id
),
judged AS (
    SELECT w.ord, w.uuid, w.tube_code, w.sampled_at, w.kind, w.person_id, w.group_pool,
           t.id AS tube_id, t.pool_size, t.filled,
           pr.id AS prior_id, pr.position AS prior_position, pr.code AS prior_code, pr.filled AS prior_filled,
           pr.pool_size AS prior_pool_size, pr.status AS prior_status, pr.plan_site_id AS prior_site,
           sd.code AS sampled_code, sd.sampled_at AS sampled_when,
           CASE
               WHEN pr.id IS NOT NULL THEN
                   CASE WHEN pr.plan_site_id = :site AND pr.person_id = w.person_id AND pr.code = w.tube_code AND pr.kind = w.kind
                        THEN 'replayed' ELSE 'key_reused' END
               WHEN w.unknown IS NOT NULL THEN w.unknown
               WHEN t.id IS NULL THEN 'unknown_tube'
               WHEN t.plan_site_id <> :site THEN 'wrong_site'
               WHEN t.filled >= t.pool_size THEN 'tube_full'
               WHEN t.status <> 'open' THEN 'tube_sealed'
               WHEN w.kind = 'retest' AND t.kind <> 'single' THEN 'single_needed'
               WHEN w.single_only AND t.kind <> 'single' THEN 'group_single'
               WHEN w.group_pool IS NOT NULL AND t.kind = 'pooled' AND t.pool_size > w.group_pool THEN 'group_pool'
               WHEN w.kind <> 'retest' AND sd.person_id IS NOT NULL THEN 'already_sampled'
               ELSE 'candidate'
           END AS verdict
    FROM who w
    LEFT JOIN tube t ON t.code = w.tube_code
    LEFT JOIN prior pr ON pr.client_uuid = w.uuid
    LEFT JOIN sampled sd ON sd.person_id = w.person_id
),
claimed AS (
    SELECT j.*,
           CASE WHEN j.verdict = 'candidate' AND j.kind <> 'retest'
                THEN row_number() OVER person_items ELSE 1 END AS nth,
           first_value(j.tube_code) OVER person_items AS first_code,
           first_value(j.sampled_at) OVER person_items AS first_at
    FROM judged j
    WINDOW person_items AS (PARTITION BY j.verdict, j.kind = 'retest', j.person_id ORDER BY j.ord)
),
placed AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.verdict = 'candidate' AND c.nth = 1, c.tube_id ORDER BY c.ord) AS k
    FROM claimed c
),
scan_judged AS (
    SELECT p.*,
           CASE WHEN p.verdict <> 'candidate' THEN p.verdict
                WHEN p.nth > 1 THEN 'already_in_batch'
                WHEN p.filled + p.k > p.pool_size THEN 'tube_full'
                ELSE 'ok' END AS outcome,
           p.filled + p.k AS position
    FROM placed p
)"""

# The writes of the judged batch: each tube filled (and sealed when full), then the samples.
_FILL = """UPDATE tubes SET
    filled = tubes.filled + a.n,
    status = CASE WHEN tubes.filled + a.n >= tubes.pool_size THEN 'sealed' ELSE tubes.status END,
    sealed_at = CASE WHEN tubes.filled + a.n >= tubes.pool_size THEN a.last_at ELSE tubes.sealed_at END,
    sealed_by = CASE WHEN tubes.filled + a.n >= tubes.pool_size THEN :uid ELSE tubes.sealed_by END
FROM (SELECT tube_id, count(*) AS n, max(sampled_at) AS last_at FROM scan_judged WHERE outcome = 'ok' GROUP BY tube_id) a
WHERE tubes.id = a.tube_id AND tubes.id {any}SELECT tube_id FROM scan_judged WHERE outcome = 'ok'{end}"""
_WRITE = """INSERT INTO samples (campaign_id, tube_id, person_id, plan_site_id, position, kind, client_uuid, sampled_at, recorded_at, recorded_by)
SELECT :cid, tube_id, person_id, :site, position, kind, uuid, sampled_at, :now, :uid FROM scan_judged WHERE outcome = 'ok'
RETURNING id, client_uuid"""
_ANSWER = """SELECT ord, uuid, tube_code, outcome, position, pool_size, prior_id, prior_position, prior_code, prior_filled,
       prior_pool_size, prior_status, prior_site, sampled_code, sampled_when, first_code, first_at, group_pool"""



def _fill(dialect: str) -> dict[str, str]:
    return {"items": _ITEMS[dialect], "unhex": _UNHEX[dialect], "lock": _LOCK[dialect], "any": _ANY[dialect][0], "end": _ANY[dialect][1],
            "false": _FALSE[dialect]}


PG_SCAN = text(
    "WITH " + _JUDGE.format(**_fill("postgresql")) + """,
fill AS (""" + _FILL.format(**_fill("postgresql")) + """ RETURNING tubes.id),
written AS (""" + _WRITE + """),
logged AS (
    INSERT INTO audit_log (at, user_id, campaign_id, action, entity, entity_id, detail)
    SELECT :now, :uid, :cid, 'scan.batch', 'plan_site', :site,
           json_build_object('ok', count(*) FILTER (WHERE outcome = 'ok'), 'replayed', count(*) FILTER (WHERE outcome = 'replayed'),
                             'error', count(*) FILTER (WHERE outcome NOT IN ('ok', 'replayed')) + :refused, 'copies', :copies,
                             'tubes', CAST(:tubes AS json))
    FROM scan_judged
)
""" + _ANSWER + """, written.id AS sample_id FROM scan_judged LEFT JOIN written ON written.client_uuid = scan_judged.uuid ORDER BY ord"""
)
# On SQLite the judged items wait in a temporary table kept for the connection's life: creating and
# dropping it for each batch changed the schema, and SQLite then prepared every statement anew.
_SQLITE_WITH = "WITH " + _JUDGE.format(**_fill("sqlite"))
_SQLITE_TABLE = text("CREATE TEMP TABLE IF NOT EXISTS scan_judged AS " + _SQLITE_WITH + " SELECT * FROM scan_judged WHERE 0")
_SQLITE_JUDGE = text("INSERT INTO temp.scan_judged " + _SQLITE_WITH + " SELECT * FROM scan_judged")
_SQLITE_FILL = text(_FILL.format(**_fill("sqlite")))
_SQLITE_WRITE = text(_WRITE)
_SQLITE_ANSWER = text(_ANSWER + " FROM scan_judged ORDER BY ord")
_SQLITE_CLEAR = text("DELETE FROM temp.scan_judged")


def _stamp(value: datetime) -> str:
    # The text both databases read as a timestamp, as SQLAlchemy stores a DateTime in SQLite.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _precheck(scan: ScanIn, campaign: Campaign, key: str, received_at: datetime | None = None) -> dict[str, object] | DomainError:
    """What needs no database: the key's form, the kind, the time, and who the scan names.

    ``received_at``: the server's clock when the scan came from a client, which it may not be ahead of."""
    if not UUID_PATTERN.match(scan.client_uuid or ""):
        return InvalidInput("client_uuid", "每次扫码须带终端生成的UUID (each scan carries a client-made UUID)")
    if scan.kind not in SAMPLE_KINDS:
        return InvalidInput("kind", f"采样类型应为 {'/'.join(SAMPLE_KINDS)} (kind must be one of those)")
    if received_at is not None:
        try:
            client_time(campaign=campaign, value=scan.sampled_at, field="sampled_at", now=received_at)
        except DomainError as exc:
            return exc
    if not campaign.starts_at - SAMPLED_BEFORE_START <= scan.sampled_at <= campaign.starts_at + SAMPLED_AFTER_START:
        return InvalidInput("sampled_at", f"采样时间不在本轮日期内 (sampled_at is outside this round's days): {scan.sampled_at:%Y-%m-%d %H:%M}")
    given = sum(x is not None and x != "" for x in scan.identity())
    completes = scan.walk_in is not None and bool(scan.prereg_code) and not scan.id_number and scan.person_id is None
    if completes:
        given = 1  # a pre-registration completed as a walk-in: the code names the document, the form the rest
    if scan.walk_in is not None and given > 1:
        return InvalidInput("walk_in", "临时登记自带证件号，不再填身份证号或预登记码 (a walk-in carries its own document number)")
    if given > 1:
        return InvalidInput("id_number", "身份证号与预登记码只填一个 (give an ID number or a pre-registration code, not both)")
    if given == 0:
        return InvalidInput("id_number", "须扫身份证号或预登记码 (scan an ID number or a pre-registration code)")
    item: dict[str, object] = {"uuid": scan.client_uuid, "tube_code": scan.tube_code.strip(), "person_id": scan.person_id,
                               "id_hash": None, "prereg": None, "sampled_at": _stamp(scan.sampled_at), "kind": scan.kind}
    prereg = scan.prereg_code.strip().upper() if scan.prereg_code else None
    if scan.walk_in is not None:
        try:
            walk_in = check_walk_in(scan.walk_in, key=key, prereg=prereg if completes else None)
        except DomainError as exc:
            return exc
        item["id_hash"], item["prereg"], item["walk_in"] = walk_in["id_hash"], walk_in["prereg"], walk_in
    elif scan.id_number:
        try:
            item["id_hash"] = id_lookup_hash(validate_id_number(scan.id_number).number, key=key).hex()
        except InvalidIdNumber as exc:
            return InvalidInput("id_number", exc.reason)
    elif prereg:
        item["prereg"] = prereg
    return item


@dataclass(frozen=True)
class _Judged:
    """One item as the statement judged it (the columns of ``_ANSWER``, then the new sample's id)."""

    ord: int
    uuid: str
    tube_code: str
    outcome: str
    position: int | None
    pool_size: int | None
    prior_id: int | None
    prior_position: int | None
    prior_code: str | None
    prior_filled: int | None
    prior_pool_size: int | None
    prior_status: str | None
    prior_site: int | None
    sampled_code: str | None
    sampled_when: datetime | str | None
    first_code: str | None
    first_at: datetime | str | None
    group_pool: int | None
    sample_id: int | None


def _when(value: datetime | str | None) -> datetime:
    assert value is not None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _already(code: str | None, at: datetime | str | None) -> AlreadySampled:
    when = _when(at)
    return AlreadySampled("person", f"本轮已采样：管码 {code}，时间 {when:%H:%M} (already sampled this round)",
                          tube_code=code, sampled_at=when.isoformat())


def _error(r: _Judged, site_id: int) -> DomainError:
    code = r.tube_code
    match r.outcome:
        case "key_reused" if r.prior_site != site_id:
            # Another site's key: say nothing of what it was used for.
            return Conflict("client_uuid", "此扫码编号已被使用 (this client_uuid was used before for another scan)")
        case "key_reused":
            return Conflict("client_uuid", f"此扫码编号已用于另一次采样：管码 {r.prior_code} 第 {r.prior_position} 位 "
                                           "(this client_uuid was first used for another scan)",
                            first_tube_code=r.prior_code, first_position=r.prior_position)
        case "unknown_person":
            return NotFound("id_number", "登记册中没有此身份证号 (no one with this ID number in the registry)")
        case "unknown_prereg":
            return NotFound("prereg_code", "本轮没有这个预登记码 (unknown pre-registration code)")
        case "walk_in_needed":
            return WalkInRequired("prereg_code", "预登记人员不在登记册中，请补全临时登记 (not in the registry: complete their "
                                                 "walk-in registration with this code)")
        case "unknown_tube":
            return unknown_code("tube", code)
        case "wrong_site":
            return elsewhere("tube", code)
        case "tube_full":
            return TubeFull("tube_code", f"管码 {code} 已满 {r.pool_size} 人并已封管 (tube is full: it holds {r.pool_size})")
        case "tube_sealed":
            return TubeSealed("tube_code", f"管码 {code} 已封管 (tube is sealed)")
        case "single_needed":
            return SingleTubeRequired("tube_code", f"单采复核须单人单管，管码 {code} 是混采管 (a retest goes into a single tube of its own)")
        case "group_single":
            return SingleTubeRequired("tube_code", f"重点人群须单人单管，管码 {code} 是混采管 (this person's key group is sampled "
                                                   "one to a tube; scan them into a single tube)")
        case "group_pool":
            return GroupPoolRequired("tube_code", f"重点人群须{r.group_pool}混一，管码 {code} 是{r.pool_size}混一 (this person's key group is "
                                                  f"pooled at most {r.group_pool} to a tube; this tube holds {r.pool_size})",
                                     group_pool_size=r.group_pool)
        case "already_sampled":
            return _already(r.sampled_code, r.sampled_when)
        case "already_in_batch":
            return _already(r.first_code, r.first_at)
    raise ValueError(f"unknown verdict {r.outcome!r}")  # pragma: no cover - the statement's verdicts are listed above


def _answer(r: _Judged, site_id: int) -> ScanOutcome:
    if r.outcome == "ok":
        assert r.position is not None and r.pool_size is not None and r.sample_id is not None
        return ScanOutcome(r.uuid, result=ScanResult(r.sample_id, r.tube_code, r.position, r.position, r.pool_size,
                                                     r.position >= r.pool_size, False))
    if r.outcome == "replayed":
        assert r.prior_id is not None and r.prior_code is not None and r.prior_position is not None
        assert r.prior_filled is not None and r.prior_pool_size is not None
        return ScanOutcome(r.uuid, result=ScanResult(r.prior_id, r.prior_code, r.prior_position, r.prior_filled, r.prior_pool_size,
                                                     r.prior_status != "open", True))
    return ScanOutcome(r.uuid, error=_error(r, site_id))


def _judge(session: Session, params: dict[str, object]) -> Sequence[Sequence[Any]]:
    """Run the statement (and, on SQLite, its writes): every item judged, in order."""
    conn = session.connection()
    try:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(PG_KEYED_PLANS)
            written: list[Sequence[object]] = list(conn.execute(PG_SCAN, params))
            return written
        conn.execute(_SQLITE_TABLE, params)
        conn.execute(_SQLITE_CLEAR)
        conn.execute(_SQLITE_JUDGE, params)
        conn.execute(_SQLITE_FILL, params)
        ids = {u: i for i, u in conn.execute(_SQLITE_WRITE, params)}
        rows: list[Sequence[object]] = [(*r, ids.get(r.uuid)) for r in conn.execute(_SQLITE_ANSWER)]
        conn.execute(_SQLITE_CLEAR)
        return rows
    except IntegrityError as exc:
        raise RaceLost(str(exc.orig)) from exc


@dataclass
class Batch:
    """A batch checked on its own: the items for the statement, the answers already known, the repeated keys."""

    scans: Sequence[ScanIn]
    out: list[ScanOutcome | None]
    items: list[dict[str, object]]
    copies: list[tuple[int, int]]  # (item, the earlier item with the same key and content)

    @property
    def tubes(self) -> list[str]:
        return sorted({str(x["tube_code"]) for x in self.items})[:50]

    @property
    def walk_ins(self) -> list[dict[str, object]]:
        return walk_in_items(self.items)

    def params(self, *, campaign: Campaign, plan_site_id: int, user_id: int | None, now: datetime) -> dict[str, object]:
        items = [{k: v for k, v in item.items() if k != "walk_in"} for item in self.items]
        return {"cid": campaign.id, "site": plan_site_id, "uid": user_id, "now": now, "items": json.dumps(items),
                "refused": sum(o is not None for o in self.out), "copies": len(self.copies), "tubes": json.dumps(self.tubes),
                "walk_ins": json.dumps(self.walk_ins, ensure_ascii=False)}

    def answered(self, rows: Sequence[Sequence[Any]], plan_site_id: int) -> list[ScanOutcome]:
        """Every item's answer, from the statement's rows (``_ANSWER`` with the new sample's id)."""
        for row in rows:
            judged = _Judged(*row)
            self.out[judged.ord] = _answer(judged, plan_site_id)
        for i, j in self.copies:
            twin = self.out[j]
            assert twin is not None
            r = twin.result
            self.out[i] = twin if r is None else ScanOutcome(self.scans[i].client_uuid, result=replace(r, replayed=True))
        return [o for o in self.out if o is not None]

    def audit_detail(self, done: list[ScanOutcome]) -> dict[str, object]:
        copied = {i for i, _ in self.copies}
        counts = Counter(o.status for k, o in enumerate(done) if k not in copied)
        return {"ok": counts["ok"], "replayed": counts["replayed"], "error": counts["error"], "copies": len(self.copies),
                "tubes": self.tubes}


def check_batch(scans: Sequence[ScanIn], campaign: Campaign, key: str, received_at: datetime | None = None) -> Batch:
    """What needs no database, item by item; a key repeated in the batch follows its first use."""
    batch = Batch(scans, [None] * len(scans), [], [])
    first: dict[str, int] = {}
    for i, scan in enumerate(scans):
        checked = _precheck(scan, campaign, key, received_at)
        if isinstance(checked, DomainError):
            batch.out[i] = ScanOutcome(scan.client_uuid, error=checked)
            continue
        if scan.client_uuid in first:
            twin = scans[first[scan.client_uuid]]
            if (twin.tube_code.strip(), twin.identity(), twin.kind) == (scan.tube_code.strip(), scan.identity(), scan.kind):
                batch.copies.append((i, first[scan.client_uuid]))
            else:
                batch.out[i] = ScanOutcome(scan.client_uuid, error=Conflict(
                    "client_uuid", "同一扫码编号在本批中用于两次不同的采样 (the same client_uuid names two different scans in this batch)"))
            continue
        first[scan.client_uuid] = i
        batch.items.append({"ord": i, **checked})
    return batch


def scan_batch(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    scans: Sequence[ScanIn],
    key: str,
    user_id: int | None = None,
    now: datetime | None = None,
    received_at: datetime | None = None,
) -> list[ScanOutcome]:
    """Scan many people at once; answer per item, in order. A replayed batch changes nothing."""
    begin_write(session)
    now = now or datetime.now()
    batch = check_batch(scans, campaign, key, received_at)
    rows: Sequence[Sequence[Any]] = []
    if batch.items:
        params = batch.params(campaign=campaign, plan_site_id=plan_site_id, user_id=user_id, now=now)
        register_walk_ins(session=session, walk_ins=batch.walk_ins, params=params)
        rows = _judge(session, params)
    done = batch.answered(rows, plan_site_id)
    if not batch.items or session.connection().dialect.name != "postgresql":  # PostgreSQL wrote the line in the statement
        audit(session=session, user_id=user_id, action="scan.batch", entity="plan_site", entity_id=plan_site_id,
              campaign_id=campaign.id, at=now, detail=batch.audit_detail(done))
    return done
