"""Scans in batches, as terminals send them after a stretch offline: set-based, idempotent, per item.

A batch is checked as a whole with a handful of look-ups (people, earlier samples, tubes), then
written with one conditional UPDATE per tube and one multi-row INSERT. The rules are those of
``scan_person``; when the bulk write meets a race (another terminal wrote the same person or
UUID a moment earlier), the batch falls back to ``scan_person`` one item at a time, each in its
own savepoint, so one bad item never loses the good ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from sweep.auth.service import audit
from sweep.db import is_postgresql, take_writer_turn
from sweep.errors import AlreadySampled, Conflict, DomainError, InvalidInput, NotFound, TubeFull, TubeSealed, WrongSite
from sweep.field.models import Preregistration, Sample, Tube
from sweep.field.queries import site_of
from sweep.field.service import SAMPLE_KINDS, UUID_PATTERN, ScanResult, TubeState, check_code, open_tube, scan_person
from sweep.plan.models import Campaign
from sweep.registry.idnumber import InvalidIdNumber, validate_id_number
from sweep.registry.models import Person
from sweep.registry.service import id_lookup_hash

# A phone's clock may be off, and a queue may hold scans from before a restart; a scan dated
# outside this window around the round's start is a typo or a wrong terminal date.
SAMPLED_BEFORE_START = timedelta(days=1)
SAMPLED_AFTER_START = timedelta(days=2)
# A stuck retry loop must not hold a connection for ever.
RACE_RETRIES = 3


@dataclass(frozen=True)
class ScanIn:
    client_uuid: str
    tube_code: str
    sampled_at: datetime
    id_number: str | None = None
    prereg_code: str | None = None
    kind: str = "pooled"


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


_PEOPLE = select(Person.id, Person.id_hash).where(Person.id_hash.in_(bindparam("hashes", expanding=True)))
_PREREG = select(Preregistration.code, Preregistration.person_id).where(
    Preregistration.campaign_id == bindparam("cid"), Preregistration.code.in_(bindparam("codes", expanding=True))
)
_EARLIER = (
    select(
        Sample.id, Sample.position, Sample.client_uuid, Sample.person_id, Sample.kind, Sample.sampled_at,
        Tube.code, Tube.filled, Tube.pool_size, Tube.status,
    )
    .join(Tube, Tube.id == Sample.tube_id)
    .where(
        or_(
            Sample.client_uuid.in_(bindparam("uuids", expanding=True)),
            (Sample.campaign_id == bindparam("cid"))
            & Sample.person_id.in_(bindparam("pids", expanding=True))
            & (Sample.kind != "retest"),
        )
    )
)
_TUBES = select(Tube.id, Tube.code, Tube.plan_site_id, Tube.status, Tube.pool_size, Tube.filled).where(
    Tube.campaign_id == bindparam("cid"), Tube.code.in_(bindparam("codes", expanding=True))
)
_full = Tube.filled + bindparam("n") >= Tube.pool_size
# Room for all n or for none: the tube's own row decides, so two terminals never overfill it.
_FILL_MANY = (
    update(Tube)
    .where(Tube.id == bindparam("tid"), Tube.status == "open", Tube.filled + bindparam("n") <= Tube.pool_size)
    .values(
        filled=Tube.filled + bindparam("n"),
        status=case((_full, "sealed"), else_=Tube.status),
        sealed_at=case((_full, bindparam("at")), else_=Tube.sealed_at),
        sealed_by=case((_full, bindparam("uid")), else_=Tube.sealed_by),
    )
    .returning(Tube.filled)
)
_INSERT_MANY = insert(Sample).returning(Sample.id, sort_by_parameter_order=True)


class _Race(Exception):
    """The bulk write lost a race; redo the batch item by item."""


def hold_write_lock(session: Session) -> None:
    """On SQLite, take the database's write lock now (BEGIN IMMEDIATE).

    The driver begins SQLite transactions lazily, at the first write; reads before it see no
    snapshot and a savepoint opened first would commit on release. Taking the lock up front makes
    the batch's reads current and its savepoints real. PostgreSQL needs none of this.
    """
    if is_postgresql(session):
        return
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        take_writer_turn(conn)
        raw.execute("BEGIN IMMEDIATE")


_TUBES_KNOWN = select(Tube.id, Tube.code, Tube.plan_site_id, Tube.opened_by, Tube.pool_size, Tube.filled, Tube.status).where(
    Tube.campaign_id == bindparam("cid"), Tube.code.in_(bindparam("codes", expanding=True))
)
_OPEN_MANY = insert(Tube).returning(Tube.id, sort_by_parameter_order=True)


def open_tubes(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    tubes: Sequence[tuple[str, datetime, int | None]],
    user_id: int | None = None,
) -> list[TubeState | DomainError]:
    """Open many tubes at once (code, opened at, desk), as ``open_tube`` would, each answered on its own."""
    hold_write_lock(session)
    site_of(session=session, campaign=campaign, plan_site_id=plan_site_id)
    out: list[TubeState | DomainError | None] = [None] * len(tubes)
    codes: list[str] = []
    for k, (raw, _at, _desk) in enumerate(tubes):
        try:
            codes.append(check_code(raw, field="tube_code"))
        except DomainError as exc:
            out[k] = exc
            codes.append("")
    conn = session.connection()
    known = {r.code: r for r in conn.execute(_TUBES_KNOWN, {"cid": campaign.id, "codes": [c for c in codes if c]})}
    fresh: dict[str, int] = {}
    for k, code in enumerate(codes):
        if out[k] is not None:
            continue
        row = known.get(code)
        if row is not None:
            if row.plan_site_id == plan_site_id and user_id is not None and row.opened_by == user_id:
                out[k] = TubeState(row.id, code, plan_site_id, row.pool_size, row.filled, row.status, True)
            else:
                out[k] = Conflict("tube_code", f"管码 {code} 本轮已使用 (tube code already used in this campaign)")
        elif code not in fresh:
            fresh[code] = k
    if fresh:
        rows = [
            {"campaign_id": campaign.id, "plan_site_id": plan_site_id, "code": code, "desk_no": tubes[k][2], "pool_size": campaign.pool_size,
             "filled": 0, "status": "open", "opened_at": tubes[k][1], "opened_by": user_id}
            for code, k in fresh.items()
        ]
        savepoint = session.begin_nested()
        try:
            ids = conn.execute(_OPEN_MANY, rows).scalars().all()
        except IntegrityError:
            # Someone opened one of these codes a moment ago: take them one at a time.
            savepoint.rollback()
            for code, k in fresh.items():
                out[k] = _open_one(session, campaign, plan_site_id, code, tubes[k], user_id)
        else:
            savepoint.commit()
            for tube_id, (code, k) in zip(ids, fresh.items(), strict=True):
                out[k] = TubeState(tube_id, code, plan_site_id, campaign.pool_size, 0, "open")
            audit(session=session, user_id=user_id, action="tube.opened", entity="plan_site", entity_id=plan_site_id,
                  campaign_id=campaign.id, detail={"tubes": list(fresh)[:100]})
    for k, code in enumerate(codes):
        if out[k] is None:  # the same code twice in one request: the second is a replay of the first
            first = out[fresh[code]]
            out[k] = TubeState(first.id, code, plan_site_id, first.pool_size, first.filled, first.status, True) if isinstance(first, TubeState) else first
    return out  # type: ignore[return-value]


def _open_one(session: Session, campaign: Campaign, plan_site_id: int, code: str, tube: tuple[str, datetime, int | None],
              user_id: int | None) -> TubeState | DomainError:
    savepoint = session.begin_nested()
    try:
        state = open_tube(session=session, campaign=campaign, plan_site_id=plan_site_id, code=code, at=tube[1], user_id=user_id, desk_no=tube[2])
    except DomainError as exc:
        savepoint.rollback()
        return exc
    except IntegrityError:
        savepoint.rollback()
        return Conflict("tube_code", f"管码 {code} 本轮已使用 (tube code already used in this campaign)")
    savepoint.commit()
    return state


def _identify(session: Session, campaign: Campaign, scans: Sequence[ScanIn], key: str) -> list[int | DomainError]:
    """The person of each scan, or why there is none."""
    found: list[int | DomainError | bytes | str] = []
    hashes: list[bytes] = []
    codes: list[str] = []
    for scan in scans:
        if scan.id_number and scan.prereg_code:
            found.append(InvalidInput("id_number", "身份证号与预登记码只填一个 (give an ID number or a pre-registration code, not both)"))
        elif scan.id_number:
            try:
                digest = id_lookup_hash(validate_id_number(scan.id_number).number, key=key)
            except InvalidIdNumber as exc:
                found.append(InvalidInput("id_number", exc.reason))
                continue
            hashes.append(digest)
            found.append(digest)
        elif scan.prereg_code:
            code = scan.prereg_code.strip().upper()
            codes.append(code)
            found.append(code)
        else:
            found.append(InvalidInput("id_number", "须扫身份证号或预登记码 (scan an ID number or a pre-registration code)"))
    conn = session.connection()
    by_hash = dict((h, pid) for pid, h in conn.execute(_PEOPLE, {"hashes": hashes})) if hashes else {}
    by_code = dict(conn.execute(_PREREG, {"cid": campaign.id, "codes": codes}).all()) if codes else {}
    out: list[int | DomainError] = []
    for item in found:
        if isinstance(item, bytes):
            pid = by_hash.get(item)
            out.append(pid if pid is not None else NotFound("id_number", "登记册中没有此身份证号 (no one with this ID number in the registry)"))
        elif isinstance(item, str):
            pid = by_code.get(item)
            out.append(pid if pid is not None else NotFound("prereg_code", f"本轮没有这个预登记码 (unknown pre-registration code): {item}"))
        else:
            out.append(item)
    return out


def _check(scan: ScanIn, campaign: Campaign) -> DomainError | None:
    if not UUID_PATTERN.match(scan.client_uuid or ""):
        return InvalidInput("client_uuid", "每次扫码须带终端生成的UUID (each scan carries a client-made UUID)")
    if scan.kind not in SAMPLE_KINDS:
        return InvalidInput("kind", f"采样类型应为 {'/'.join(SAMPLE_KINDS)} (kind must be one of those)")
    if not campaign.starts_at - SAMPLED_BEFORE_START <= scan.sampled_at <= campaign.starts_at + SAMPLED_AFTER_START:
        return InvalidInput("sampled_at", f"采样时间不在本轮日期内 (sampled_at is outside this round's days): {scan.sampled_at:%Y-%m-%d %H:%M}")
    return None


def _full(code: str, pool_size: int) -> TubeFull:
    return TubeFull("tube_code", f"管码 {code} 已满 {pool_size} 人并已封管 (tube is full: it holds {pool_size})")


def _already(prior_code: str, prior_at: datetime) -> AlreadySampled:
    return AlreadySampled(
        "person",
        f"本轮已采样：管码 {prior_code}，时间 {prior_at:%H:%M} (already sampled this round)",
        tube_code=prior_code,
        sampled_at=prior_at.isoformat(),
    )


def scan_batch(
    *,
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    scans: Sequence[ScanIn],
    key: str,
    user_id: int | None = None,
) -> list[ScanOutcome]:
    """Scan many people at once; answer per item, in order. A replayed batch changes nothing."""
    hold_write_lock(session)
    outcomes: list[ScanOutcome | None] = [None] * len(scans)
    people = _identify(session, campaign, scans, key)
    for i, scan in enumerate(scans):
        problem = _check(scan, campaign)
        if problem is None and isinstance(people[i], DomainError):
            problem = people[i]  # type: ignore[assignment]
        if problem is not None:
            outcomes[i] = ScanOutcome(scan.client_uuid, error=problem)
    todo = [i for i in range(len(scans)) if outcomes[i] is None]
    if todo:
        savepoint = session.begin_nested()
        try:
            _bulk(session, campaign, plan_site_id, scans, people, todo, outcomes, user_id)
            savepoint.commit()
        except (_Race, IntegrityError, OperationalError):
            savepoint.rollback()
            for i in todo:
                outcomes[i] = _one(session, campaign, plan_site_id, scans[i], people[i], user_id)  # type: ignore[arg-type]
    done = [o for o in outcomes if o is not None]
    counts = {"ok": 0, "replayed": 0, "error": 0}
    for o in done:
        counts[o.status] += 1
    # The samples carry who and when themselves; the log keeps one line a batch, not one a scan.
    audit(session=session, user_id=user_id, action="scan.batch", entity="plan_site", entity_id=plan_site_id,
          campaign_id=campaign.id, detail={**counts, "tubes": sorted({s.tube_code for s in scans})[:50]})
    return done


def _one(session: Session, campaign: Campaign, plan_site_id: int, scan: ScanIn, person_id: int, user_id: int | None) -> ScanOutcome:
    """One scan through ``scan_person`` in its own savepoint, retried when it loses a race."""
    for _attempt in range(RACE_RETRIES):
        savepoint = session.begin_nested()
        try:
            result = scan_person(
                session=session, campaign=campaign, plan_site_id=plan_site_id, tube_code=scan.tube_code,
                person_id=person_id, client_uuid=scan.client_uuid, sampled_at=scan.sampled_at, user_id=user_id, kind=scan.kind,
            )
        except DomainError as exc:
            savepoint.rollback()
            return ScanOutcome(scan.client_uuid, error=exc)
        except (IntegrityError, OperationalError):
            # Someone committed the same person or UUID meanwhile: the next look-up sees it.
            savepoint.rollback()
            continue
        savepoint.commit()
        return ScanOutcome(scan.client_uuid, result=result)
    raise RuntimeError(f"scan {scan.client_uuid} kept losing races")  # pragma: no cover - a live lock, not input


def _bulk(
    session: Session,
    campaign: Campaign,
    plan_site_id: int,
    scans: Sequence[ScanIn],
    people: list[int | DomainError],
    todo: list[int],
    outcomes: list[ScanOutcome | None],
    user_id: int | None,
) -> None:
    conn = session.connection()
    uuids = list({scans[i].client_uuid for i in todo})
    pids = list({people[i] for i in todo})  # type: ignore[misc]
    earlier = conn.execute(_EARLIER, {"uuids": uuids, "cid": campaign.id, "pids": pids}).all()
    by_uuid = {r.client_uuid: r for r in earlier}
    by_person = {r.person_id: r for r in earlier if r.kind != "retest"}
    tubes = {r.code: r for r in conn.execute(_TUBES, {"cid": campaign.id, "codes": list({scans[i].tube_code for i in todo})})}

    taken: dict[str, int] = {}  # UUID -> index of its first item in this batch
    in_batch: dict[int, int] = {}  # person -> index of the item that samples them
    room = {code: t.pool_size - t.filled for code, t in tubes.items()}
    per_tube: dict[str, list[int]] = defaultdict(list)
    copies: list[tuple[int, int]] = []
    for i in todo:
        scan, pid = scans[i], people[i]
        prior = by_uuid.get(scan.client_uuid)
        if prior is not None:
            result = ScanResult(prior.id, prior.code, prior.position, prior.filled, prior.pool_size, prior.status != "open", True)
            outcomes[i] = ScanOutcome(scan.client_uuid, result=result)
            continue
        if scan.client_uuid in taken:
            copies.append((i, taken[scan.client_uuid]))
            continue
        tube = tubes.get(scan.tube_code)
        error: DomainError | None = None
        if tube is None:
            error = NotFound("tube_code", f"本轮没有这个管码 (unknown tube code in this campaign): {scan.tube_code}")
        elif tube.plan_site_id != plan_site_id:
            error = WrongSite("tube_code", f"管码 {scan.tube_code} 属于另一个采样点 (tube belongs to another site)")
        elif room[scan.tube_code] <= 0:
            error = _full(scan.tube_code, tube.pool_size)
        elif tube.status != "open":
            error = TubeSealed("tube_code", f"管码 {scan.tube_code} 已封管 (tube is sealed)")
        elif scan.kind != "retest" and pid in by_person:
            error = _already(by_person[pid].code, by_person[pid].sampled_at)  # type: ignore[index]
        elif scan.kind != "retest" and pid in in_batch:
            first = scans[in_batch[pid]]  # type: ignore[index]
            error = _already(first.tube_code, first.sampled_at)
        if error is not None:
            outcomes[i] = ScanOutcome(scan.client_uuid, error=error)
            continue
        taken[scan.client_uuid] = i
        if scan.kind != "retest":
            in_batch[pid] = i  # type: ignore[index]
        per_tube[scan.tube_code].append(i)
        room[scan.tube_code] -= 1

    rows: list[dict] = []
    placed: list[tuple[int, str, int, int, bool]] = []  # item, tube code, position, pool size, sealed
    now = datetime.now()
    # Tubes in id order: two batches touching the same tubes lock them in the same order.
    for code in sorted(per_tube, key=lambda c: tubes[c].id):
        items = per_tube[code]
        tube = tubes[code]
        last_at = max(scans[i].sampled_at for i in items)
        filled = conn.execute(_FILL_MANY, {"tid": tube.id, "n": len(items), "at": last_at, "uid": user_id}).scalar()
        if filled is None:
            raise _Race(code)
        first = filled - len(items) + 1
        for k, i in enumerate(items):
            scan = scans[i]
            rows.append({
                "campaign_id": campaign.id, "tube_id": tube.id, "person_id": people[i], "plan_site_id": plan_site_id,
                "position": first + k, "kind": scan.kind, "client_uuid": scan.client_uuid, "sampled_at": scan.sampled_at,
                "recorded_at": now, "recorded_by": user_id,
            })
            placed.append((i, code, first + k, tube.pool_size, first + k >= tube.pool_size))
    if rows:
        ids = conn.execute(_INSERT_MANY, rows).scalars().all()
        for sample_id, (i, code, position, pool_size, sealed) in zip(ids, placed, strict=True):
            outcomes[i] = ScanOutcome(scans[i].client_uuid, result=ScanResult(sample_id, code, position, position, pool_size, sealed, False))
    for i, first_i in copies:
        twin = outcomes[first_i]
        assert twin is not None
        if twin.result is not None:
            r = twin.result
            outcomes[i] = ScanOutcome(scans[i].client_uuid, result=ScanResult(r.sample_id, r.tube_code, r.position, r.filled, r.pool_size, r.sealed, True))
        else:
            outcomes[i] = twin
