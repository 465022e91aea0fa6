"""Users, their tokens, and the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from sweep.auth.models import SITE_ROLES, SYSTEM_USERNAME, USER_ROLES, ApiToken, AuditEntry, User
from sweep.auth.passwords import hash_password, verify_password
from sweep.auth.tokens import record_revocation, token_digest
from sweep.errors import Conflict, InvalidInput, NotFound, Unauthorized
from sweep.schema import schema_table

# A log-in lasts until the end of the round day (a site's phones log in before dawn and stop at
# night): the next ``day_end_hour`` o'clock after it, and at least an hour.
DAY_END_HOUR = 24
MIN_TOKEN_LIFE = timedelta(hours=1)
# The table's own insert: an ORM entity's insert run by a session goes through the ORM's bulk
# path, which cost more than the row (a fifth of the demo's day was spent there).
_AUDIT = insert(AuditEntry.__table__)
# Set on a session (``session.info``) by whoever owns its unit of work: the user an audit line
# without a user of its own is written under, and what else every line of it carries (the CLI's OS user).
OPERATOR = "sweep_operator"
CONTEXT = "sweep_audit_context"


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
    audit_each(session=session, user_id=user_id, action=action, entity=entity, campaign_id=campaign_id,
               lines=[(entity_id, at, detail)])


def audit_each(
    *,
    session: Session,
    user_id: int | None,
    action: str,
    entity: str,
    campaign_id: int | None,
    lines: Sequence[tuple[int | None, datetime | None, dict[str, Any] | None]],
) -> None:
    """One audit line for each (entity id, time, detail), in one statement: a box packed with ten
    tubes is ten lines, as ten packs by hand would be."""
    # A Core insert, not session.add: field writes audit on their hot path, and the ORM's unit
    # of work would cost more than the row.
    context = session.info.get(CONTEXT)
    who = user_id if user_id is not None else session.info.get(OPERATOR)
    now = datetime.now()
    rows = [
        {
            "at": at or now, "user_id": who, "campaign_id": campaign_id, "action": action, "entity": entity,
            "entity_id": entity_id, "detail": {**context, **(detail or {})} if context else detail,
        }
        for entity_id, at, detail in lines
    ]
    session.connection().execute(_AUDIT, rows[0] if len(rows) == 1 else rows)


def site_of(*, session: Session, plan_site_id: int | None = None, site_code: str | None = None,
            candidate_site_id: int | None = None) -> int | None:
    """The fixed (candidate) site an account is bound to, named by its id, its code, or one round's copy of it."""
    if candidate_site_id is not None:
        candidates = schema_table("candidate_sites")
        if session.scalar(select(candidates.c.id).where(candidates.c.id == candidate_site_id)) is None:
            raise NotFound("candidate_site_id", f"没有这个采样点 (no such site): {candidate_site_id}")
        return candidate_site_id
    if site_code is not None:
        candidates = schema_table("candidate_sites")
        found = session.scalar(select(candidates.c.id).where(candidates.c.code == site_code.strip()))
        if found is None:
            raise NotFound("site", f"没有这个采样点编码 (no such site code): {site_code}")
        return found
    if plan_site_id is not None:
        sites = schema_table("plan_sites")
        found = session.scalar(select(sites.c.candidate_site_id).where(sites.c.id == plan_site_id))
        if found is None:
            raise NotFound("plan_site_id", f"没有这个采样点 (no such site): {plan_site_id}")
        return found
    return None


def check_office(session: Session, office_id: int | None) -> None:
    if office_id is not None:
        offices = schema_table("offices")
        if session.scalar(select(offices.c.id).where(offices.c.id == office_id)) is None:
            raise NotFound("office_id", f"没有这个办事处 (no such office): {office_id}")


def check_role_scope(role: str, office_id: int | None, candidate_site_id: int | None) -> None:
    """A role with its scope: an office user names an office, site staff a site, and no role holds what it cannot use."""
    if role not in USER_ROLES:
        raise InvalidInput("role", f"未知角色 (unknown role) {role!r}; one of {', '.join(USER_ROLES)}")
    if role in SITE_ROLES and candidate_site_id is None:
        raise InvalidInput("site", "采样点人员须指定采样点 (site staff must be assigned a site)")
    if role == "office" and office_id is None:
        raise InvalidInput("office_id", "办事处用户须指定办事处 (an office user needs an office)")
    if role != "office" and office_id is not None:
        raise InvalidInput("office_id", f"只有办事处用户属于办事处 (only office users have an office; role {role})")
    if role not in SITE_ROLES and candidate_site_id is not None:
        raise InvalidInput("site", f"只有采样点人员属于采样点 (only site staff have a site; role {role})")


def create_user(
    *,
    session: Session,
    username: str,
    display_name: str,
    role: str,
    office_id: int | None = None,
    plan_site_id: int | None = None,
    candidate_site_id: int | None = None,
    site_code: str | None = None,
    password: str | None = None,
    created_by: int | None = None,
) -> User:
    """A new account. A site account names its site by the fixed site's id or code, or by one round's copy of it."""
    username = username.strip()
    if not username:
        raise InvalidInput("username", "用户名不能为空 (username must not be empty)")
    if username == SYSTEM_USERNAME:
        raise Conflict("username", f"用户名已存在 (username already taken): {username}")
    if role not in USER_ROLES:
        raise InvalidInput("role", f"未知角色 (unknown role) {role!r}; one of {', '.join(USER_ROLES)}")
    site = site_of(session=session, plan_site_id=plan_site_id, site_code=site_code, candidate_site_id=candidate_site_id)
    check_role_scope(role, office_id, site)
    check_office(session, office_id)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username", f"用户名已存在 (username already taken): {username}")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        office_id=office_id,
        candidate_site_id=site,
        password_hash=hash_password(password) if password is not None else None,
        active=True,
        created_at=datetime.now(),
    )
    session.add(user)
    session.flush()
    audit(session=session, user_id=created_by, action="user.created", entity="user", entity_id=user.id,
          detail={"role": role, "office_id": office_id, "candidate_site_id": site})
    return user


def authenticate(*, session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        raise Unauthorized("password", "用户名或密码错误 (wrong username or password)")
    return user


def token_expiry(now: datetime, *, day_end_hour: int = DAY_END_HOUR) -> datetime:
    """The end of the round day a log-in at ``now`` belongs to."""
    end = datetime.combine(now.date(), time()) + timedelta(hours=day_end_hour)
    while end - now < MIN_TOKEN_LIFE:
        end += timedelta(days=1)
    return end


def issue_token(*, session: Session, user: Any, kind: str = "api", label: str | None = None, now: datetime | None = None,
                day_end_hour: int = DAY_END_HOUR) -> str:
    """A new random token, good until the end of the round day; only its hash is kept, so a database leak yields no usable token."""
    now = now or datetime.now()
    raw = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_digest(raw),
            kind=kind,
            label=label,
            created_at=now,
            expires_at=token_expiry(now, day_end_hour=day_end_hour),
        )
    )
    session.flush()
    return raw


def revoke_token(*, session: Session, raw: str, now: datetime | None = None) -> None:
    """End one log-in (log-out): at once on this server, within seconds on the others."""
    now = now or datetime.now()
    digest = token_digest(raw)
    session.execute(update(ApiToken).where(ApiToken.token_hash == digest).values(revoked_at=now))
    record_revocation(session=session, token_hash=digest, at=now)


def csrf_token(raw_session_token: str, *, key: str) -> str:
    """The form token of a page session: derived, so nothing more needs storing."""
    return hmac.new(key.encode(), b"csrf:" + raw_session_token.encode(), hashlib.sha256).hexdigest()
