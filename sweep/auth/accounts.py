"""Running a district's accounts: list them, disable and enable, change a role or a scope, reset a
password, revoke log-ins. Every change is audited, and every one that narrows what an account may
do ends its log-ins: at once on this server, within seconds on the others (``sweep.auth.tokens``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, cast

from pydantic import Field
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from sweep.auth.models import SYSTEM_USERNAME, ApiToken, User
from sweep.auth.passwords import hash_password
from sweep.auth.service import audit, check_office, check_role_scope, site_of
from sweep.auth.tokens import record_revocation
from sweep.errors import Conflict, InvalidInput, NotFound
from sweep.schema import schema_table


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    office_id: int | None
    office: str | None
    candidate_site_id: int | None
    site: str | None
    tokens: Annotated[int, Field(description="Log-ins still valid.")]
    created_at: datetime | None


def list_accounts(*, session: Session, role: str | None = None, active: bool | None = None, now: datetime | None = None) -> list[Account]:
    offices, sites = schema_table("offices"), schema_table("candidate_sites")
    now = now or datetime.now()
    live = (
        select(func.count()).select_from(ApiToken)
        .where(ApiToken.user_id == User.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .scalar_subquery()
    )
    query = (
        select(User.id, User.username, User.display_name, User.role, User.active, User.office_id, offices.c.code,
               User.candidate_site_id, sites.c.code, live, User.created_at)
        .outerjoin(offices, offices.c.id == User.office_id)
        .outerjoin(sites, sites.c.id == User.candidate_site_id)
        .where(User.username != SYSTEM_USERNAME)
        .order_by(User.username)
    )
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    return [Account(*row) for row in session.execute(query)]


def account(*, session: Session, user_id: int | None = None, username: str | None = None) -> User:
    """One account by id or username; the system account is not one to run."""
    if user_id is not None:
        user = session.get(User, user_id)
    else:
        user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or user.username == SYSTEM_USERNAME:
        raise NotFound("user", f"没有这个用户 (no such user): {username if user_id is None else user_id}")
    return user


def _revoke_all(session: Session, user: User, at: datetime) -> int:
    """End every log-in of a user; returns how many were live."""
    ended = cast(CursorResult[Any], session.execute(  # an UPDATE's result is a cursor's, with its row count
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > at)
        .values(revoked_at=at)
    )).rowcount or 0
    record_revocation(session=session, user_id=user.id, at=at)
    return ended


def set_active(*, session: Session, user: User, active: bool, by: int | None, at: datetime | None = None) -> User:
    """Disable an account (its log-ins end) or enable it again (it logs in anew)."""
    at = at or datetime.now()
    if not active:
        _not_yourself(user, by, "disable")
    user.active = active
    if not active:
        _revoke_all(session, user, at)
    session.flush()
    audit(session=session, user_id=by, action="user.enabled" if active else "user.disabled", entity="user", entity_id=user.id, at=at)
    return user


def set_role(*, session: Session, user: User, role: str, by: int | None, office_id: int | None = None,
             site: int | None = None, at: datetime | None = None) -> User:
    """A new role, with the scope it needs (an office for an office user, a site for site staff)."""
    at = at or datetime.now()
    check_role_scope(role, office_id, site)
    check_office(session, office_id)
    _not_yourself(user, by, "change the role or scope of")
    before = {"role": user.role, "office_id": user.office_id, "candidate_site_id": user.candidate_site_id}
    user.role, user.office_id, user.candidate_site_id = role, office_id, site
    _revoke_all(session, user, at)
    session.flush()
    audit(session=session, user_id=by, action="user.role_changed", entity="user", entity_id=user.id, at=at,
          detail={"before": before, "role": role, "office_id": office_id, "candidate_site_id": site})
    return user


def set_scope(*, session: Session, user: User, by: int | None, office_id: int | None = None, site_code: str | None = None,
              candidate_site_id: int | None = None, at: datetime | None = None) -> User:
    """Move an office user to another office, or site staff to another site; the role stays."""
    site = site_of(session=session, site_code=site_code, candidate_site_id=candidate_site_id)
    if office_id is None and site is None:
        raise InvalidInput("scope", "须指定办事处或采样点 (name an office or a site)")
    return set_role(session=session, user=user, role=user.role, by=by, office_id=office_id, site=site, at=at)


def _not_yourself(user: User, by: int | None, what: str) -> None:
    # An admin who ended their own log-ins by mistake would lock themselves out mid-round; their own
    # account is another admin's to run, or the CLI's.
    if by is not None and user.id == by:
        raise Conflict("user", f"不能对自己的账号执行此操作 (you cannot {what} your own account here)")


def reset_password(*, session: Session, user: User, password: str, by: int | None, at: datetime | None = None) -> User:
    """A new password; the old log-ins end, so whoever held them must log in with the new one."""
    _not_yourself(user, by, "reset the password of")
    at = at or datetime.now()
    user.password_hash = hash_password(password)
    _revoke_all(session, user, at)
    session.flush()
    audit(session=session, user_id=by, action="user.password_reset", entity="user", entity_id=user.id, at=at)
    return user


def revoke_tokens(*, session: Session, user: User, by: int | None, at: datetime | None = None) -> int:
    """End every log-in of an account (a lost phone); returns how many were live."""
    _not_yourself(user, by, "end the log-ins of")
    at = at or datetime.now()
    ended = _revoke_all(session, user, at)
    audit(session=session, user_id=by, action="user.tokens_revoked", entity="user", entity_id=user.id, at=at, detail={"tokens": ended})
    return ended


__all__ = ["Account", "account", "list_accounts", "reset_password", "revoke_tokens", "set_active", "set_role", "set_scope"]
