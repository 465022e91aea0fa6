"""Limits on guessing: log-in failures counted in the database, and a sliding window kept in the process.

The log-in limit counts failures, not log-ins: the phones of one site behind one NAT all log in
at dawn, and a correct log-in clears its own count. An address that fails too often for one
account is slowed for that account only, so that an attacker cannot lock a registrar out from
elsewhere; an address failing across many accounts (a password sprayed over usernames) is slowed
for all of them. The counts live in ``login_failures``, shared by every worker and every server
process on the database.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from sweep.auth.models import LoginFailure
from sweep.errors import DomainError


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"


def too_many(field: str, wait: int) -> TooManyAttempts:
    return TooManyAttempts(field, f"尝试次数过多，请 {wait} 秒后再试 (too many attempts; try again in {wait} s)", retry_after=wait)


class LoginLimiter:
    """Failed log-ins per (account, address) and per address, in the database.

    Each call runs in a transaction of its own: a failure must be counted although the request
    that saw it answers 401 and rolls back.
    """

    def __init__(self, factory: sessionmaker[Session], *, attempts: int, address_attempts: int, window_seconds: int,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        if attempts < 1 or address_attempts < 1 or window_seconds <= 0:
            raise ValueError("attempts must be >= 1 and window_seconds > 0")
        self.factory = factory
        self.attempts = attempts
        self.address_attempts = address_attempts
        self.window = timedelta(seconds=window_seconds)
        self.clock = clock

    @staticmethod
    def _name(username: str) -> str:
        return username.strip().lower()[:64]

    def check(self, *, username: str, address: str) -> None:
        """Refuse (429, with the seconds to wait) when this address has failed too often, for this account or overall."""
        now = self.clock()
        since = now - self.window
        name = self._name(username)
        with self.factory() as session:
            pair_count, pair_first = session.execute(
                select(func.count(), func.min(LoginFailure.at))
                .where(LoginFailure.username == name, LoginFailure.address == address[:64], LoginFailure.at > since)
            ).one()
            addr_count, addr_first = session.execute(
                select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.address == address[:64], LoginFailure.at > since)
            ).one()
        for count, first, most in ((pair_count, pair_first, self.attempts), (addr_count, addr_first, self.address_attempts)):
            if count >= most:
                wait = max(1, math.ceil((first + self.window - now).total_seconds()))
                raise too_many("username", wait)

    def failed(self, *, username: str, address: str) -> None:
        now = self.clock()
        with self.factory() as session, session.begin():
            session.execute(insert(LoginFailure), {"at": now, "username": self._name(username), "address": address[:64]})
            # Failures past the window count for nothing: this pair's go now, everyone's now and then.
            session.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window * 2))

    def succeeded(self, *, username: str, address: str) -> None:
        """A correct password from this address: its earlier failures for this account are forgiven."""
        with self.factory() as session, session.begin():
            session.execute(delete(LoginFailure).where(LoginFailure.username == self._name(username), LoginFailure.address == address[:64]))


class RateLimiter:
    """A sliding window per key (an address, an ID-number hash), kept in this process."""

    def __init__(self, *, attempts: int, per_seconds: float) -> None:
        if attempts < 1 or per_seconds <= 0:
            raise ValueError("attempts must be >= 1 and per_seconds > 0")
        self.attempts = attempts
        self.per_seconds = per_seconds
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, *, field: str, now: float | None = None) -> None:
        """Count one attempt for ``key``; raise TooManyAttempts past the limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.per_seconds:
                hits.popleft()
            if len(hits) >= self.attempts:
                raise too_many(field, int(hits[0] + self.per_seconds - now) + 1)
            hits.append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)
