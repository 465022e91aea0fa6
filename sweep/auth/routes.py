"""Log in (bearer tokens for terminals and scripts, a cookie session for pages), log out, and the
accounts of a district run by its admins: over the API and on a plain page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sweep.auth import accounts, service
from sweep.auth.accounts import Account
from sweep.auth.auditlog import AuditLine, audit_lines
from sweep.auth.models import USER_ROLES, User, UserRole
from sweep.auth.schemas import (
    PasswordReset,
    RevokedRead,
    RoleUpdate,
    ScopeUpdate,
    TokenCreate,
    TokenRead,
    UserCreate,
    UserRead,
)
from sweep.deps import SESSION_COOKIE, CanManageUsers, CurrentUser, SessionDep, SettingsDep, _bearer
from sweep.errors import DomainError, Unauthorized
from sweep.params import ERRORS, LocalTime, RowId
from sweep.web.templating import templates

router = APIRouter(tags=["auth"], responses=ERRORS)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login(request: Request, session: SessionDep, username: str, password: str) -> User:
    limiter = request.app.state.login_limiter
    address = _client(request)
    # Failures are counted, not log-ins: a site's phones behind one address all log in at dawn.
    limiter.check(username=username, address=address)
    try:
        user = service.authenticate(session=session, username=username, password=password)
    except Unauthorized:
        limiter.failed(username=username, address=address)
        raise
    limiter.succeeded(username=username, address=address)
    service.audit(session=session, user_id=user.id, action="auth.login", entity="user", entity_id=user.id, detail={"from": address})
    return user


@router.post("/api/auth/token", response_model=TokenRead)
def create_token(body: TokenCreate, request: Request, session: SessionDep, settings: SettingsDep) -> TokenRead:
    """A bearer token, good until the end of the round day."""
    user = _login(request, session, body.username, body.password)
    now = datetime.now()
    raw = service.issue_token(session=session, user=user, kind="api", label=body.label, now=now, day_end_hour=settings.token_day_end_hour)
    return TokenRead(token=raw, expires_at=service.token_expiry(now, day_end_hour=settings.token_day_end_hour),
                     user=UserRead.model_validate(user))


@router.post("/api/auth/logout", status_code=204)
def logout_api(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    raw = _bearer(request) or request.cookies.get(SESSION_COOKIE)
    if raw:
        service.revoke_token(session=session, raw=raw)
    return Response(status_code=204)


@router.get("/api/auth/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


# -- accounts, for admins ------------------------------------------------------------------------

def _read(session: SessionDep, user_id: int) -> Account:
    return next(a for a in accounts.list_accounts(session=session) if a.id == user_id)


@router.get("/api/users", response_model=list[Account])
def list_users(
    session: SessionDep,
    admin: CanManageUsers,
    role: Annotated[UserRole | None, Query()] = None,
    active: bool | None = None,
) -> list[Account]:
    return accounts.list_accounts(session=session, role=role, active=active)


@router.post("/api/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, session: SessionDep, admin: CanManageUsers) -> UserRead:
    user = service.create_user(session=session, created_by=admin.id, username=body.username, display_name=body.display_name,
                               role=body.role, password=body.password, office_id=body.office_id, site_code=body.site,
                               plan_site_id=body.plan_site_id)
    return UserRead.model_validate(user)


@router.post("/api/users/{user_id}/disable", response_model=Account)
def disable_user(user_id: RowId, session: SessionDep, admin: CanManageUsers) -> Account:
    """Disable an account: its log-ins end at once here, within seconds on every other server."""
    accounts.set_active(session=session, user=accounts.account(session=session, user_id=user_id), active=False, by=admin.id)
    return _read(session, user_id)


@router.post("/api/users/{user_id}/enable", response_model=Account)
def enable_user(user_id: RowId, session: SessionDep, admin: CanManageUsers) -> Account:
    accounts.set_active(session=session, user=accounts.account(session=session, user_id=user_id), active=True, by=admin.id)
    return _read(session, user_id)


@router.put("/api/users/{user_id}/role", response_model=Account)
def set_role(user_id: RowId, body: RoleUpdate, session: SessionDep, admin: CanManageUsers) -> Account:
    site = service.site_of(session=session, site_code=body.site)
    accounts.set_role(session=session, user=accounts.account(session=session, user_id=user_id), role=body.role, by=admin.id,
                      office_id=body.office_id, site=site)
    return _read(session, user_id)


@router.put("/api/users/{user_id}/scope", response_model=Account)
def set_scope(user_id: RowId, body: ScopeUpdate, session: SessionDep, admin: CanManageUsers) -> Account:
    accounts.set_scope(session=session, user=accounts.account(session=session, user_id=user_id), by=admin.id,
                       office_id=body.office_id, site_code=body.site)
    return _read(session, user_id)


@router.post("/api/users/{user_id}/password", response_model=Account)
def reset_password(user_id: RowId, body: PasswordReset, session: SessionDep, admin: CanManageUsers) -> Account:
    accounts.reset_password(session=session, user=accounts.account(session=session, user_id=user_id), password=body.password, by=admin.id)
    return _read(session, user_id)


@router.post("/api/users/{user_id}/revoke-tokens", response_model=RevokedRead)
def revoke_tokens(user_id: RowId, session: SessionDep, admin: CanManageUsers) -> RevokedRead:
    return RevokedRead(revoked=accounts.revoke_tokens(session=session, user=accounts.account(session=session, user_id=user_id), by=admin.id))


@router.get("/api/audit", response_model=list[AuditLine])
def audit_log(
    session: SessionDep,
    admin: CanManageUsers,
    user: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None,
    since: LocalTime | None = None,
    until: LocalTime | None = None,
    limit: int = Query(default=200, ge=1, le=10_000),
) -> list[AuditLine]:
    """The audit log, newest first, by user, action (``personal`` for every view of personal data) and time."""
    return audit_lines(session=session, username=user, action=action, since=since, until=until, limit=limit)


# -- pages -----------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", include_in_schema=False)
def login_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        user = _login(request, session, username, password)
    except Unauthorized as exc:
        return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": exc}, status_code=401)
    now = datetime.now()
    raw = service.issue_token(session=session, user=user, kind="session", now=now, day_end_hour=settings.token_day_end_hour)
    response = RedirectResponse(_safe_next(next), status_code=303)
    lasts = service.token_expiry(now, day_end_hour=settings.token_day_end_hour) - now
    response.set_cookie(
        SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=settings.environment == "production",
        max_age=int(lasts.total_seconds()),
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        service.revoke_token(session=session, raw=raw)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(request: Request, session: SessionDep, admin: CanManageUsers) -> HTMLResponse:
    """The accounts of the district on one plain page: disable, enable, end log-ins, set a new password."""
    return templates.TemplateResponse(request, "users.html", {
        "user": admin, "accounts": accounts.list_accounts(session=session), "roles": USER_ROLES,
        "csrf_token": getattr(request.state, "csrf_token", None), "done": request.query_params.get("done"),
    })


@router.post("/admin/users/{user_id}", include_in_schema=False)
def users_page_action(
    request: Request,
    user_id: RowId,
    session: SessionDep,
    admin: CanManageUsers,
    action: Annotated[Literal["disable", "enable", "revoke", "password"], Form()],
    password: Annotated[str | None, Form(max_length=256)] = None,
) -> Response:
    target = accounts.account(session=session, user_id=user_id)
    if action == "password":
        if not password:
            raise DomainError("password", "请填写新密码 (give the new password)")
        accounts.reset_password(session=session, user=target, password=password, by=admin.id)
    elif action == "revoke":
        accounts.revoke_tokens(session=session, user=target, by=admin.id)
    else:
        accounts.set_active(session=session, user=target, active=action == "enable", by=admin.id)
    return RedirectResponse(f"/admin/users?done={action}", status_code=303)


def _safe_next(target: str) -> str:
    # Only local paths: a login link must not bounce the user to another site.
    return target if target.startswith("/") and not target.startswith("//") else "/"
