"""Token → user → scope, cached in the process so that the field's hot path reads no table to know who calls.

A revocation (log-out, a user disabled, a new role, scope or password, tokens revoked) is a row
in ``auth_revocations``. The process that writes it drops the cached log-ins at once, when its
transaction commits; every other process sharing the database polls the table every
``poll_seconds`` (one indexed query a process, not one a request) and drops what it names. An
entry also lives at most ``max_age_seconds``, so that a change made past Sweep (by hand in the
database) is seen in the end too.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from sweep.auth.models import SITE_ROLES, ApiToken, AuthRevocation, User
from sweep.auth.scope import Scope, UserLike
from sweep.schema import schema_table

# Revocations a process remembers after acting on them: enough to refuse a log-in read just
# before a revocation and cached just after it.
_RECENT = 1024


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who a request is from: the user's fields that routes and services read, and their scope.

    Plain and immutable, so that one cached copy serves every thread.
    """

    id: int
    username: str
    display_name: str
    role: str
    office_id: int | None
    candidate_site_id: int | None
    active: bool
    expires_at: datetime
    # The copies of a site account's fixed site in every round (plan sites), for the field's checks.
    site_ids: frozenset[int] = frozenset()
    scope: Scope = field(default_factory=lambda: Scope(role="none", active=False))


@dataclass
class _Entry:
    principal: Principal
    loaded_at: float
    seen: int  # the last revocation this process knew of when the entry was read


_caches: weakref.WeakSet[TokenCache] = weakref.WeakSet()


class TokenCache:
    def __init__(self, *, poll_seconds: float, max_age_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.poll_seconds = poll_seconds
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._last_seen: int | None = None
        self._polled_at = float("-inf")
        self._recent: deque[tuple[int, int | None, str | None]] = deque(maxlen=_RECENT)
        _caches.add(self)

    # -- the hot path: no database ---------------------------------------------------------------

    def peek(self, raw: str, *, now: datetime | None = None) -> Principal | None:
        """The cached principal of a token, or None when it must be read (or the revocations polled)."""
        tick = self._clock()
        if tick - self._polled_at >= self.poll_seconds:
            return None
        entry = self._entries.get(token_digest(raw))
        if entry is None or tick - entry.loaded_at >= self.max_age_seconds:
            return None
        if entry.principal.expires_at <= (now or datetime.now()):
            return None
        return entry.principal

    # -- the slow path: poll, then read ------------------------------------------------------------

    def load(self, *, session: Session, raw: str, now: datetime | None = None, refresh: bool = False) -> Principal | None:
        """Poll the revocations if due, then the token's principal: from the cache, or read and cached."""
        self.poll(session=session)
        digest = token_digest(raw)
        if not refresh:
            cached = self.peek(raw, now=now)
            if cached is not None:
                return cached
        seen = self._last_seen or 0
        principal = read_principal(session=session, digest=digest, now=now)
        if principal is None:
            with self._lock:
                self._entries.pop(digest, None)
            return None
        with self._lock:
            if not any(rid > seen and (uid == principal.id or tok == digest) for rid, uid, tok in self._recent):
                self._entries[digest] = _Entry(principal, self._clock(), seen)
        return principal

    def poll(self, *, session: Session, force: bool = False) -> None:
        """Read the revocations since the last poll and drop the log-ins they name (one thread at a time)."""
        if not force and self._clock() - self._polled_at < self.poll_seconds:
            return
        if not self._poll_lock.acquire(blocking=force):
            return  # another thread is polling; this request goes on with what is cached
        try:
            if self._last_seen is None:
                self._last_seen = session.scalar(select(func.coalesce(func.max(AuthRevocation.id), 0))) or 0
                with self._lock:
                    self._entries.clear()
            else:
                rows = session.execute(
                    select(AuthRevocation.id, AuthRevocation.user_id, AuthRevocation.token_hash)
                    .where(AuthRevocation.id > self._last_seen).order_by(AuthRevocation.id)
                ).all()
                for rid, user_id, token_hash in rows:
                    self.drop(user_id=user_id, token_hash=token_hash, revocation_id=rid)
                    self._last_seen = max(self._last_seen, rid)
            self._polled_at = self._clock()
        finally:
            self._poll_lock.release()

    def drop(self, *, user_id: int | None = None, token_hash: str | None = None, revocation_id: int | None = None) -> None:
        with self._lock:
            if revocation_id is not None:
                self._recent.append((revocation_id, user_id, token_hash))
            if token_hash is not None:
                self._entries.pop(token_hash, None)
            if user_id is not None:
                for digest in [d for d, e in self._entries.items() if e.principal.id == user_id]:
                    del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def read_principal(*, session: Session, digest: str, now: datetime | None = None) -> Principal | None:
    """The principal of a token from the database: None if unknown, expired, revoked or the user disabled."""
    now = now or datetime.now()
    row = session.execute(
        select(User.id, User.username, User.display_name, User.role, User.office_id, User.candidate_site_id, User.active,
               ApiToken.expires_at, ApiToken.revoked_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == digest)
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
        return None
    return principal_of(session=session, user=row, expires_at=row.expires_at)


class _Account(UserLike, Protocol):
    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...


def principal_of(*, session: Session, user: _Account, expires_at: datetime) -> Principal:
    """A principal for a user row (a ``User`` or a row with its columns)."""
    site_ids: frozenset[int] = frozenset()
    candidate = getattr(user, "candidate_site_id", None)
    if getattr(user, "role", None) in SITE_ROLES and candidate is not None:
        sites = schema_table("plan_sites")
        site_ids = frozenset(session.scalars(select(sites.c.id).where(sites.c.candidate_site_id == candidate)))
    p = Principal(
        id=user.id, username=user.username, display_name=user.display_name, role=user.role,
        office_id=user.office_id, candidate_site_id=candidate, active=bool(user.active),
        expires_at=expires_at, site_ids=site_ids,
    )
    object.__setattr__(p, "scope", Scope.of(p))
    return p


_REVOKE = insert(AuthRevocation)


def record_revocation(*, session: Session, user_id: int | None = None, token_hash: str | None = None, at: datetime | None = None) -> None:
    """Write a revocation for every process to poll, and drop it from this process's caches once committed."""
    session.execute(_REVOKE, {"at": at or datetime.now(), "user_id": user_id, "token_hash": token_hash})

    def dropped(_session: Session) -> None:
        for cache in list(_caches):
            cache.drop(user_id=user_id, token_hash=token_hash)

    event.listen(session, "after_commit", dropped, once=True)


__all__ = ["Principal", "TokenCache", "principal_of", "read_principal", "record_revocation", "token_digest"]
