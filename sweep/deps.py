"""Request dependencies as short aliases: the session owns one unit of work per request."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from sweep.auth.models import User
from sweep.auth.policy import Can, require
from sweep.auth.service import audit, csrf_token, token_digest, user_for_token
from sweep.config import Settings
from sweep.errors import Forbidden, Unauthorized
from sweep.ttlcache import TtlCache

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


def get_app_settings(request: Request) -> Settings:
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


def _user_of(factory: sessionmaker[Session], raw: str) -> User | None:
    # A session of its own, closed at once: a request holds no connection while it waits for its
    # turn at the database (the scan path takes one of its own), so a busy pool cannot deadlock.
    with factory() as session:
        return user_for_token(session=session, raw=raw)


async def current_user(request: Request, settings: SettingsDep) -> User:
    raw = _bearer(request)
    from_cookie = False
    if raw is None:
        raw = request.cookies.get(SESSION_COOKIE)
        from_cookie = raw is not None
    if raw is None:
        raise Unauthorized("authorization", "请先登录 (log in first)")
    tokens: TtlCache[User] = request.app.state.tokens
    key = token_digest(raw)
    user = tokens.get(key)
    if user is None:
        # In a worker thread: a database call made on the event loop would stall every request.
        user = await run_in_threadpool(_user_of, request.app.state.session_factory, raw)
        if user is None:
            raise Unauthorized("authorization", "登录已失效，请重新登录 (the login has expired or was revoked)")
        tokens.put(key, user)
    if from_cookie and request.method in UNSAFE:
        # A cookie rides along on any site's form post; the derived token proves the page was ours.
        sent = request.headers.get("x-csrf-token")
        if sent is None and "form" in request.headers.get("content-type", ""):
            sent = (await request.form()).get("csrf_token")  # type: ignore[assignment]
        if not sent or not hmac.compare_digest(str(sent), csrf_token(raw, key=settings.secret_key)):
            raise Forbidden("csrf_token", "表单已过期，请刷新页面 (missing or wrong CSRF token; reload the page)")
    request.state.user = user
    if from_cookie:
        request.state.csrf_token = csrf_token(raw, key=settings.secret_key)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


# Seeing names with phone numbers, full ID numbers or exports: each request is in the audit log.
PERSONAL_DATA = frozenset({Can.SEE_CONTACTS, Can.REVEAL_ID, Can.EXPORT})


def allowed(action: Can) -> Callable[..., Any]:
    """A dependency that lets through only users whose role may ``action``."""

    if action not in PERSONAL_DATA:
        # No query: it runs on the event loop, with no worker thread to wait for.
        async def check(user: CurrentUser) -> User:
            require(user, action)
            return user

        return check

    def check_and_record(request: Request, user: CurrentUser, session: SessionDep) -> User:
        require(user, action)
        audit(session=session, user_id=user.id, action=f"personal_data.{action.value}", entity="request",
              detail={"method": request.method, "path": request.url.path, "query": request.url.query[:500]})
        return user

    return check_and_record


# One alias a permission, so that a route says what it needs in its signature: ``user: CanScan``.
CanScan = Annotated[User, Depends(allowed(Can.SCAN))]
CanCheckIn = Annotated[User, Depends(allowed(Can.CHECK_IN))]
CanHandOver = Annotated[User, Depends(allowed(Can.HAND_OVER))]
CanReceive = Annotated[User, Depends(allowed(Can.RECEIVE))]
CanLoadResults = Annotated[User, Depends(allowed(Can.RESULTS))]
CanSeeContacts = Annotated[User, Depends(allowed(Can.SEE_CONTACTS))]
CanRevealId = Annotated[User, Depends(allowed(Can.REVEAL_ID))]
CanExport = Annotated[User, Depends(allowed(Can.EXPORT))]
CanImport = Annotated[User, Depends(allowed(Can.IMPORT))]
CanPlan = Annotated[User, Depends(allowed(Can.PLAN))]
CanInspect = Annotated[User, Depends(allowed(Can.INSPECT))]
CanViewRound = Annotated[User, Depends(allowed(Can.VIEW_ROUND))]
CanFollowUp = Annotated[User, Depends(allowed(Can.FOLLOW_UP))]
CanRectify = Annotated[User, Depends(allowed(Can.RECTIFY))]
CanKeyGroups = Annotated[User, Depends(allowed(Can.KEY_GROUPS))]
CanManageUsers = Annotated[User, Depends(allowed(Can.MANAGE_USERS))]
