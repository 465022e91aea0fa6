"""The scan API: open a tube, scan one person, send a terminal's queue as a batch.

All three go through the one scan path (``sweep.field.record.record_batch``) in a unit of work of
their own, retried when it loses a race to another terminal, so that a batch is answered once its
writes are committed. They are the day's hot path: the user, the round and the site come from the
process's short-lived caches, the route runs on the event loop, and only the batch's own write
takes a worker thread and a connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from sweep.auth.tokens import Principal
from sweep.deps import CanScan, SettingsDep
from sweep.errors import DomainError
from sweep.field.record import record_batch
from sweep.field.scan import ScanIn, ScanOutcome
from sweep.field.schemas import ScanBatchCreate, ScanBatchRead, ScanCreate, ScanItemRead, ScanRead, TubeCreate, TubeItemRead
from sweep.field.service import site_of
from sweep.field.tubes import TubeOpen, TubeState
from sweep.field.walkins import WalkInIn
from sweep.params import ERRORS, CampaignRef, RowId
from sweep.plan.clock import server_now
from sweep.plan.models import Campaign
from sweep.plan.service import campaign_by_ref
from sweep.ttlcache import TtlCache

router = APIRouter(prefix="/api/campaigns/{campaign}", tags=["field"], responses=ERRORS)


@dataclass(frozen=True)
class _SiteOfRound:
    campaign: Campaign
    office_id: int
    candidate_site_id: int | None


def _round_of(factory: sessionmaker[Session], ref: str, site_id: int) -> _SiteOfRound:
    with factory() as session:
        campaign = campaign_by_ref(session=session, ref=ref)
        site = site_of(session=session, campaign=campaign, plan_site_id=site_id)
        return _SiteOfRound(campaign, site.office_id, site.candidate_site_id)


async def _site_round(request: Request, ref: str, site_id: int, user: Principal) -> Campaign:
    """The round named, checked to hold the site and the user to write there; cached for a few seconds."""
    cache: TtlCache[_SiteOfRound] = request.app.state.rounds
    key = ("scan-site", ref, site_id)
    found = cache.get(key)
    if found is None:
        found = cache.put(key, await run_in_threadpool(_round_of, request.app.state.session_factory, ref, site_id))
    user.scope.require_site(found)
    return found.campaign


def _tube_open(t: TubeCreate) -> TubeOpen:
    return TubeOpen(t.code, t.opened_at or server_now(), t.desk_no, t.kind, t.pool_size)


def _scan_in(s: ScanCreate) -> ScanIn:
    walk_in = WalkInIn(**s.walk_in.model_dump()) if s.walk_in is not None else None
    return ScanIn(client_uuid=s.client_uuid, tube_code=s.tube_code.strip(), sampled_at=s.sampled_at, id_number=s.id_number,
                  prereg_code=s.prereg_code, kind=s.kind, walk_in=walk_in)


def _item(o: ScanOutcome) -> ScanItemRead:
    if o.error is not None:
        return ScanItemRead.model_validate({"client_uuid": o.client_uuid, "status": "error", "error": o.error.as_dict()})
    r = o.result
    assert r is not None
    return ScanItemRead.model_validate({"client_uuid": o.client_uuid, "status": o.status, "sample_id": r.sample_id,
                                        "tube_code": r.tube_code, "position": r.position, "filled": r.filled,
                                        "pool_size": r.pool_size, "sealed": r.sealed})


@router.post("/sites/{site_id}/tubes", response_model=TubeState, status_code=201)
async def open_tube(campaign: CampaignRef, site_id: RowId, body: TubeCreate, request: Request, response: Response,
                    user: CanScan) -> TubeState:
    """Open a tube (its code scanned) at the site. Resending the same open answers 200 with ``replayed``."""
    current = await _site_round(request, campaign, site_id, user)
    (tube,), _ = await run_in_threadpool(record_batch, factory=request.app.state.session_factory, campaign=current,
                                         plan_site_id=site_id, tubes=[_tube_open(body)], scans=[], key="", user_id=user.id,
                                         received_at=server_now())
    if isinstance(tube, DomainError):
        raise tube
    if tube.replayed:
        response.status_code = 200
    return tube


@router.post("/sites/{site_id}/scans", response_model=ScanRead, status_code=201)
async def scan(campaign: CampaignRef, site_id: RowId, body: ScanCreate, request: Request, response: Response, settings: SettingsDep,
               user: CanScan) -> ScanRead:
    """Scan one person into an open tube. A replay of the same ``client_uuid`` answers 200 with the first answer."""
    current = await _site_round(request, campaign, site_id, user)
    _, (outcome,) = await run_in_threadpool(record_batch, factory=request.app.state.session_factory, campaign=current,
                                            plan_site_id=site_id, tubes=[], scans=[_scan_in(body)], key=settings.secret_key,
                                            user_id=user.id, received_at=server_now())
    if outcome.error is not None:
        raise outcome.error
    if outcome.status == "replayed":
        response.status_code = 200
    return ScanRead.model_validate(_item(outcome).model_dump(exclude={"error"}))


@router.post("/sites/{site_id}/scans/batch", response_model=ScanBatchRead)
async def scan_many(campaign: CampaignRef, site_id: RowId, body: ScanBatchCreate, request: Request, settings: SettingsDep,
                    user: CanScan) -> ScanBatchRead:
    """Scans queued by a terminal, answered per item in order: ``ok``, ``replayed`` or ``error`` with its field and reason."""
    current = await _site_round(request, campaign, site_id, user)
    opened, outcomes = await run_in_threadpool(record_batch, factory=request.app.state.session_factory, campaign=current,
                                               plan_site_id=site_id, tubes=[_tube_open(t) for t in body.tubes],
                                               scans=[_scan_in(s) for s in body.scans], key=settings.secret_key, user_id=user.id,
                                            received_at=server_now())
    tubes = [
        TubeItemRead.model_validate({"code": t.code, "status": "error", "error": o.as_dict()}) if isinstance(o, DomainError)
        else TubeItemRead(code=o.code, status="replayed" if o.replayed else "ok")
        for t, o in zip(body.tubes, opened, strict=True)
    ]
    items = [_item(o) for o in outcomes]
    return ScanBatchRead(
        ok=sum(i.status == "ok" for i in items), replayed=sum(i.status == "replayed" for i in items),
        errors=sum(i.status == "error" for i in items), tubes=tubes, results=items,
    )
