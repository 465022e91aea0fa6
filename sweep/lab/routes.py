"""Lab API: results by hand or from an instrument's file, the trace of a tube, retests, the alert board,
and a resident's own result (a page and its JSON twin, no log-in, rate-limited)."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from sweep.auth.policy import Can, can
from sweep.auth.ratelimit import RateLimiter
from sweep.auth.tokens import Principal
from sweep.deps import CanLoadResults, CanReceive, CanScan, CurrentUser, SessionDep, SettingsDep
from sweep.errors import DomainError, Forbidden, InvalidInput
from sweep.field.queries import site_in_scope
from sweep.field.service import BoxState, box_state
from sweep.lab import custody
from sweep.lab import service as lab
from sweep.lab.alerts import Alert, alerts
from sweep.lab.custody import BoxView, CustodyFlags
from sweep.lab.resident import ResidentResult, resident_result
from sweep.lab.results_import import ImportReport, import_results
from sweep.lab.retests import SiteRetest, site_retests
from sweep.lab.schemas import ReceiptCreate, ResidentQuery, ResultCreate, RetestClose, RetestRead
from sweep.lab.service import ResultState, TubeTrace
from sweep.params import ERRORS, PathCode, RowId
from sweep.plan.clock import client_time, server_now
from sweep.plan.current import CurrentCampaign
from sweep.web.templating import templates

router = APIRouter(tags=["lab"], responses=ERRORS)
MAX_FILE = 20 * 1024 * 1024  # an instrument export of a day's plates is a few hundred kB
_lock = threading.Lock()



def _one_of(user: Principal, *actions: Can) -> None:
    if not any(can(user, a) for a in actions):
        raise Forbidden("role", f"角色 {user.role} 无权查看 (role {user.role} may not see this)")


@router.post("/api/campaigns/{campaign}/boxes/{box_code}/receipt", response_model=BoxState)
def receive(box_code: PathCode, body: ReceiptCreate, session: SessionDep, user: CanReceive, current: CurrentCampaign) -> BoxState:
    """The lab signs for a box (the second signature)."""
    at = client_time(campaign=current, value=body.received_at, field="received_at", now=server_now())
    return box_state(lab.receive_box(session=session, campaign=current, box_code=box_code, at=at, user_id=user.id))


@router.get("/api/campaigns/{campaign}/boxes/{box_code}", response_model=BoxView)
def box(box_code: PathCode, session: SessionDep, settings: SettingsDep, user: CurrentUser, current: CurrentCampaign) -> BoxView:
    """A box's chain of custody: its tubes, counts, opened, sealed, handed over to whom, received, results."""
    _one_of(user, Can.VIEW_ROUND, Can.RECEIVE, Can.RESULTS)
    return custody.box_view(session=session, campaign=current, box_code=box_code, now=server_now(),
                            wait_limit_minutes=settings.sample_wait_limit_minutes, transit_limit_minutes=settings.transit_limit_minutes,
                            scope=user.scope)


@router.get("/api/campaigns/{campaign}/custody/flags", response_model=CustodyFlags)
def custody_flags(session: SessionDep, settings: SettingsDep, user: CurrentUser, current: CurrentCampaign) -> CustodyFlags:
    """Red flags of the chain of custody: sealed tubes held at a site past ``SWEEP_SAMPLE_WAIT_LIMIT_MINUTES``
    before leaving, boxes on the road past ``SWEEP_TRANSIT_LIMIT_MINUTES``; the worst first."""
    _one_of(user, Can.VIEW_ROUND, Can.RECEIVE, Can.RESULTS)
    return custody.custody_flags(session=session, campaign=current, now=server_now(),
                                 wait_limit_minutes=settings.sample_wait_limit_minutes, transit_limit_minutes=settings.transit_limit_minutes,
                                 scope=user.scope)


@router.post("/api/campaigns/{campaign}/results", response_model=ResultState, status_code=201)
def enter_result(body: ResultCreate, session: SessionDep, user: CanLoadResults, current: CurrentCampaign) -> ResultState:
    return lab.record_result(
        session=session, campaign=current, tube_code=body.tube_code.strip(), result=body.result,
        ct_values=body.ct_values, at=client_time(campaign=current, value=body.resulted_at, field="resulted_at", now=server_now()),
        user_id=user.id,
    )


@router.post("/api/campaigns/{campaign}/results/import", response_model=ImportReport)
def load_results(
    file: UploadFile,
    session: SessionDep,
    user: CanLoadResults,
    current: CurrentCampaign,
    strict: bool = Query(default=False, description="Any bad row: import nothing."),
) -> ImportReport:
    # A plain def: FastAPI runs it on a worker thread, so the parse and the writes never hold up
    # the server's event loop.
    data = file.file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise InvalidInput("file", f"文件超过 {MAX_FILE // 1024 // 1024} MB (the file is larger than {MAX_FILE // 1024 // 1024} MB)")
    return import_results(
        session=session, campaign=current, filename=file.filename or "results.csv", data=data,
        at=server_now(), user_id=user.id, strict=strict,
    )


@router.get("/api/campaigns/{campaign}/tubes/{code}/trace", response_model=TubeTrace)
def trace(code: PathCode, session: SessionDep, user: CurrentUser, current: CurrentCampaign) -> TubeTrace:
    _one_of(user, Can.RESULTS, Can.SEE_CONTACTS)
    return lab.trace_tube(session=session, campaign=current, tube_code=code, scope=user.scope)


@router.get("/api/campaigns/{campaign}/alerts", response_model=list[Alert])
def alert_board(
    session: SessionDep,
    user: CurrentUser,
    current: CurrentCampaign,
    include_closed: bool = False,
) -> list[Alert]:
    """Positive and invalid pools with their retests: the HQ sees all, an office its own people."""
    _one_of(user, Can.VIEW_ROUND, Can.RESULTS)
    return alerts(session=session, campaign=current, now=server_now(), scope=user.scope, include_closed=include_closed)


@router.get("/api/campaigns/{campaign}/sites/{site_id}/retests", response_model=list[SiteRetest])
def retests_of_site(site_id: RowId, session: SessionDep, user: CanScan, current: CurrentCampaign) -> list[SiteRetest]:
    """The site's retest orders not yet closed (its terminal's retest mode), the earliest due first; people masked."""
    site_in_scope(session=session, campaign=current, plan_site_id=site_id, scope=user.scope)
    return site_retests(session=session, campaign=current, plan_site_id=site_id, scope=user.scope, now=server_now())


@router.post("/api/campaigns/{campaign}/retests/{order_id}/close", response_model=RetestRead)
def close_retest(
    order_id: RowId,
    body: RetestClose,
    session: SessionDep,
    user: CanLoadResults,
    current: CurrentCampaign,
) -> RetestRead:
    order = lab.close_retest(session=session, campaign=current, order_id=order_id, result=body.result,
                             at=body.closed_at or server_now(), user_id=user.id)
    return RetestRead(id=order.id, person_id=order.person_id, status=order.status, result=order.result, due_at=order.due_at,
                      closed_at=order.closed_at)


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    with _lock:
        if not hasattr(state, "resident_limiter"):
            settings = state.settings
            state.resident_limiter = RateLimiter(attempts=settings.resident_attempts, per_seconds=settings.resident_window_seconds)
    return state.resident_limiter


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/api/resident/result", response_model=ResidentResult)
def resident_api(body: ResidentQuery, request: Request, session: SessionDep, settings: SettingsDep) -> ResidentResult:
    """A resident's own latest result, by ID number and the last four digits of the phone on record."""
    return resident_result(session=session, limiter=_limiter(request), id_number=body.id_number, phone_last4=body.phone_last4,
                           address=_address(request), key=settings.secret_key)


@router.get("/resident", response_class=HTMLResponse, include_in_schema=False)
def resident_page(request: Request) -> HTMLResponse:

    return templates.TemplateResponse(request, "resident.html", {"result": None, "error": None})


@router.post("/resident", response_class=HTMLResponse, include_in_schema=False)
def resident_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    id_number: Annotated[str, Form(max_length=32)],
    phone_last4: Annotated[str, Form(max_length=8)],
) -> HTMLResponse:

    try:
        found = resident_result(session=session, limiter=_limiter(request), id_number=id_number, phone_last4=phone_last4,
                                address=_address(request), key=settings.secret_key)
    except DomainError as exc:
        return templates.TemplateResponse(request, "resident.html", {"result": None, "error": exc}, status_code=exc.status_code)
    return templates.TemplateResponse(request, "resident.html", {"result": found, "error": None})
