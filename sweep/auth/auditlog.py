"""The audit log read back (by user, action and time), and the one line every view of personal data writes.

A view line says who looked, at what (``personal.<what>``), for which area, and how many people
it showed: names with phones or addresses, or full ID numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.models import AuditEntry, User
from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.errors import InvalidInput, NotFound

MAX_ROWS = 100_000


def record_view(
    *,
    session: Session,
    scope: Scope,
    what: str,
    people: int,
    campaign_id: int | None = None,
    area: str | None = None,
    full_ids: bool = False,
    detail: dict[str, Any] | None = None,
) -> None:
    """One line for one answer that showed personal data; nothing when it showed nobody."""
    if people <= 0:
        return
    audit(session=session, user_id=scope.user_id, action=f"personal.{what}", entity="people", campaign_id=campaign_id,
          detail={"area": area or scope.area(), "people": people, "full_ids": full_ids, "role": scope.role, **(detail or {})})


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    campaign_id: int | None
    action: str
    entity: str
    entity_id: int | None
    detail: dict[str, Any] | None


def audit_lines(
    *,
    session: Session,
    username: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[AuditLine]:
    """The log, newest first: by user, by action (``personal`` matches every ``personal.*``), by time."""
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput("limit", f"行数应为 1–{MAX_ROWS} (limit is 1-{MAX_ROWS}), got {limit}")
    if since is not None and until is not None and until < since:
        raise InvalidInput("until", "结束时间早于开始时间 (until is before since)")
    query = (
        select(AuditEntry.id, AuditEntry.at, AuditEntry.user_id, User.username, AuditEntry.campaign_id, AuditEntry.action,
               AuditEntry.entity, AuditEntry.entity_id, AuditEntry.detail)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if username is not None:
        user_id = session.scalar(select(User.id).where(User.username == username.strip()))
        if user_id is None:
            raise NotFound("user", f"没有这个用户 (no such user): {username}")
        query = query.where(AuditEntry.user_id == user_id)
    if action is not None:
        action = action.strip()
        query = query.where((AuditEntry.action == action) | AuditEntry.action.startswith(action.rstrip(".") + ".", autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return [AuditLine(*row) for row in session.execute(query)]


__all__ = ["AuditLine", "audit_lines", "record_view"]
