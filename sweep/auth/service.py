"""Users and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.models import USER_ROLES, AuditEntry, User
from sweep.errors import Conflict, InvalidInput


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
    session.add(
        AuditEntry(
            at=at or datetime.now(),
            user_id=user_id,
            campaign_id=campaign_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail,
        )
    )


def create_user(
    *,
    session: Session,
    username: str,
    display_name: str,
    role: str,
    office_id: int | None = None,
    plan_site_id: int | None = None,
    password_hash: str | None = None,
) -> User:
    if role not in USER_ROLES:
        raise InvalidInput("role", f"未知角色 (unknown role) {role!r}; one of {', '.join(USER_ROLES)}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username", f"用户名已存在 (username already taken): {username}")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        office_id=office_id,
        plan_site_id=plan_site_id,
        password_hash=password_hash,
    )
    session.add(user)
    session.flush()
    return user
