"""Log in (bearer tokens for terminals and scripts, a cookie session for pages), log out, users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sweep.auth import service
from sweep.auth.schemas import TokenCreate, TokenRead, UserCreate, UserRead
from sweep.deps import SESSION_COOKIE, CanManageUsers, CurrentUser, SessionDep, SettingsDep, _bearer
from sweep.errors import Unauthorized
from sweep.web.templating import templates

router = APIRouter(tags=["auth"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login(request: Request, session: SessionDep, username: str, password: str):  # type: ignore[no-untyped-def]
    limiter = request.app.state.login_limiter
    # Per account and per address: guessing one password, or many accounts from one place.
    limiter.hit(f"user:{username.strip().lower()}", field="username")
    limiter.hit(f"addr:{_client(request)}", field="username")
    user = service.authenticate(session=session, username=username, password=password)
    service.audit(session=session, user_id=user.id, action="auth.login", entity="user", entity_id=user.id, detail={"from": _client(request)})
    return user


@router.post("/api/auth/token", response_model=TokenRead)
def create_token(body: TokenCreate, request: Request, session: SessionDep) -> TokenRead:
    user = _login(request, session, body.username, body.password)
    raw = service.issue_token(session=session, user=user, kind="api", label=body.label)
    return TokenRead(token=raw, user=UserRead.model_validate(user))


@router.post("/api/auth/logout", status_code=204)
def logout_api(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    raw = _bearer(request) or request.cookies.get(SESSION_COOKIE)
    if raw:
        service.revoke_token(session=session, raw=raw)
        request.app.state.tokens.drop(service.token_digest(raw))
    return Response(status_code=204)


@router.get("/api/auth/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.post("/api/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, session: SessionDep, admin: CanManageUsers) -> UserRead:
    user = service.create_user(session=session, created_by=admin.id, **body.model_dump())
    return UserRead.model_validate(user)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> HTMLResponse:

    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", include_in_schema=False)
def login_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:

    try:
        user = _login(request, session, username, password)
    except Unauthorized as exc:
        return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": exc}, status_code=401)
    raw = service.issue_token(session=session, user=user, kind="session")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=settings.environment == "production",
        max_age=int(service.SESSION_TTL.total_seconds()),
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        service.revoke_token(session=session, raw=raw)
        request.app.state.tokens.drop(service.token_digest(raw))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _safe_next(target: str) -> str:
    # Only local paths: a login link must not bounce the user to another site.
    return target if target.startswith("/") and not target.startswith("//") else "/"
