"""Users, their tokens, and the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from sweep.auth.models import USER_ROLES, ApiToken, AuditEntry, User
from sweep.auth.passwords import hash_password, verify_password
from sweep.errors import Conflict, InvalidInput, Unauthorized

SESSION_TTL = timedelta(hours=12)  # one working day at a site, with margin
API_TOKEN_TTL = timedelta(days=30)
_AUDIT = insert(AuditEntry)


def audit(
    *,
    session: Session,
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    campaign_id: int | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    # A Core insert, not session.add: field writes audit on their hot path, and the ORM's unit
    # of work would cost more than the row.
    session.execute(
        _AUDIT,
        {
            "at": at or datetime.now(),
            "user_id": user_id,
            "campaign_id": campaign_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "detail": detail,
        },
    )


def create_user(
    *,
    session: Session,
    username: str,
    display_name: str,
    role: str,
    office_id: int | None = None,
    plan_site_id: int | None = None,
    password: str | None = None,
    created_by: int | None = None,
) -> User:
    username = username.strip()
    if not username:
        raise InvalidInput("username", "用户名不能为空 (username must not be empty)")
    if role not in USER_ROLES:
        raise InvalidInput("role", f"未知角色 (unknown role) {role!r}; one of {', '.join(USER_ROLES)}")
    if role in ("site_leader", "site_staff") and plan_site_id is None:
        raise InvalidInput("plan_site_id", "采样点人员须指定采样点 (site staff must be assigned a site)")
    if role == "office" and office_id is None:
        raise InvalidInput("office_id", "办事处用户须指定办事处 (an office user needs an office)")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username", f"用户名已存在 (username already taken): {username}")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        office_id=office_id,
        plan_site_id=plan_site_id,
        password_hash=hash_password(password) if password is not None else None,
        active=True,
    )
    session.add(user)
    session.flush()
    audit(session=session, user_id=created_by, action="user.created", entity="user", entity_id=user.id, detail={"role": role})
    return user


def authenticate(*, session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        raise Unauthorized("password", "用户名或密码错误 (wrong username or password)")
    return user


def token_digest(raw: str) -> str:
    """What is stored of a token (and what a cache keys it by): its SHA-256, never the token itself."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(*, session: Session, user: User, kind: str = "api", label: str | None = None, now: datetime | None = None) -> str:
    """A new random token; only its hash is kept, so a database leak yields no usable token."""
    now = now or datetime.now()
    raw = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_digest(raw),
            kind=kind,
            label=label,
            created_at=now,
            expires_at=now + (SESSION_TTL if kind == "session" else API_TOKEN_TTL),
        )
    )
    session.flush()
    return raw


def user_for_token(*, session: Session, raw: str, now: datetime | None = None) -> User | None:
    now = now or datetime.now()
    row = session.execute(
        select(User, ApiToken.expires_at, ApiToken.revoked_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_digest(raw))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.User.active:
        return None
    return row.User


def revoke_token(*, session: Session, raw: str, now: datetime | None = None) -> None:
    session.execute(
        update(ApiToken).where(ApiToken.token_hash == token_digest(raw)).values(revoked_at=now or datetime.now())
    )


def csrf_token(raw_session_token: str, *, key: str) -> str:
    """The form token of a page session: derived, so nothing more needs storing."""
    return hmac.new(key.encode(), b"csrf:" + raw_session_token.encode(), hashlib.sha256).hexdigest()
