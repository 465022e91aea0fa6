"""Request dependencies as short aliases: the session owns one unit of work per request."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from sweep.auth.models import SITE_ROLES
from sweep.auth.policy import Can, require
from sweep.auth.service import OPERATOR, csrf_token
from sweep.auth.tokens import Principal, TokenCache
from sweep.config import Settings
from sweep.errors import Forbidden, Unauthorized

SESSION_COOKIE = "sweep_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_session(request: Request) -> Iterator[Session]:
    """Commit when the route returns, roll back if it raises: services never commit."""
    with request.app.state.session_factory() as session, session.begin():
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A read-only view's session: on SWEEP_READ_DATABASE_URL (a standby) when set, else the primary."""
    with request.app.state.read_session_factory() as session, session.begin():
        yield session


async def get_app_settings(request: Request) -> Settings:
    # async: FastAPI runs a plain function dependency on a worker thread, a hop per request for a read.
    return request.app.state.settings


# "function" scope: the commit happens before the answer leaves. With the default ("request")
# FastAPI sends the response first and commits after, so a terminal could be told "saved" for a
# write that then fails to commit, or read its own write back before it is there.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def _site_unknown(request: Request, user: Principal) -> bool:
    """A site account asking for a site it has no copy of in its cache: a round planned since it was read."""
    site = request.path_params.get("site_id")
    return user.role in SITE_ROLES and site is not None and str(site).isdigit() and int(site) not in user.site_ids


async def _principal(request: Request, settings: Settings, load: Callable[[str, bool], Principal | None]) -> Principal:
    """Who the request's token or cookie belongs to: the process's cache, else ``load`` (on a worker thread)."""
    raw = _bearer(request)
    from_cookie = False
    if raw is None:
        raw = request.cookies.get(SESSION_COOKIE)
        from_cookie = raw is not None
    if raw is None:
        raise Unauthorized("authorization", "请先登录 (log in first)")
    cache: TokenCache = request.app.state.token_cache
    user = cache.peek(raw)
    if user is None or _site_unknown(request, user):
        # In a worker thread: a database call made on the event loop would stall every request
        # while it waits for a pooled connection. The common case, a cached log-in, never gets here.
        user = await run_in_threadpool(load, raw, user is not None)
    if user is None:
        raise Unauthorized("authorization", "登录已失效，请重新登录 (the login has expired or was revoked)")
    if from_cookie and request.method in UNSAFE:
        # A cookie rides along on any site's form post; the derived token proves the page was ours.
        sent: str | UploadFile | None = request.headers.get("x-csrf-token")
        if sent is None and "form" in request.headers.get("content-type", ""):
            sent = (await request.form()).get("csrf_token")
        if not sent or not hmac.compare_digest(str(sent), csrf_token(raw, key=settings.secret_key)):
            raise Forbidden("csrf_token", "表单已过期，请刷新页面 (missing or wrong CSRF token; reload the page)")
    request.state.user = user
    if from_cookie:
        request.state.csrf_token = csrf_token(raw, key=settings.secret_key)
    return user


async def current_user(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    cache: TokenCache = request.app.state.token_cache
    user = await _principal(request, settings, lambda raw, refresh: cache.load(session=session, raw=raw, refresh=refresh))
    # Every audit line the request writes is this user's, even where a service is not told who.
    session.info[OPERATOR] = user.id
    return user


async def field_user(request: Request, settings: SettingsDep) -> Principal:
    """The same, for the field's hot path: no session of the request's own (the scan path takes one
    of its own for its write), and on a miss a session only for the look-up, closed at once."""
    cache: TokenCache = request.app.state.token_cache

    def load(raw: str, refresh: bool) -> Principal | None:
        with request.app.state.session_factory() as session:
            return cache.load(session=session, raw=raw, refresh=refresh)

    return await _principal(request, settings, load)


CurrentUser = Annotated[Principal, Depends(current_user)]
FieldUser = Annotated[Principal, Depends(field_user)]


def allowed(action: Can, *, who: Callable[..., object] = current_user) -> Callable[..., object]:
    """A dependency that lets through only users whose role may ``action``.

    Where they may do it is the scope's business (``user.scope``), applied by the services'
    queries; views of personal data are audited there, with the area and the number of people.
    It does no I/O, so it runs on the event loop rather than taking a worker thread.
    """

    # The dependency as a default value: an annotation naming ``who`` would be a string to FastAPI.
    async def check(user: Principal = Depends(who)) -> Principal:  # noqa: B008
        require(user, action)
        return user

    return check


# One alias a permission, so that a route says what it needs in its signature: ``user: CanScan``.
CanScan = Annotated[Principal, Depends(allowed(Can.SCAN, who=field_user))]
CanCheckIn = Annotated[Principal, Depends(allowed(Can.CHECK_IN))]
CanHandOver = Annotated[Principal, Depends(allowed(Can.HAND_OVER))]
CanReceive = Annotated[Principal, Depends(allowed(Can.RECEIVE))]
CanLoadResults = Annotated[Principal, Depends(allowed(Can.RESULTS))]
CanSeeContacts = Annotated[Principal, Depends(allowed(Can.SEE_CONTACTS))]
CanRevealId = Annotated[Principal, Depends(allowed(Can.REVEAL_ID))]
CanExport = Annotated[Principal, Depends(allowed(Can.EXPORT))]
CanImport = Annotated[Principal, Depends(allowed(Can.IMPORT))]
CanPlan = Annotated[Principal, Depends(allowed(Can.PLAN))]
CanInspect = Annotated[Principal, Depends(allowed(Can.INSPECT))]
CanViewRound = Annotated[Principal, Depends(allowed(Can.VIEW_ROUND))]
CanFollowUp = Annotated[Principal, Depends(allowed(Can.FOLLOW_UP))]
CanRectify = Annotated[Principal, Depends(allowed(Can.RECTIFY))]
CanKeyGroups = Annotated[Principal, Depends(allowed(Can.KEY_GROUPS))]
CanManageUsers = Annotated[Principal, Depends(allowed(Can.MANAGE_USERS))]
