"""A sliding-window rate limiter, per key (a username, an address, an ID-number hash).

Kept in the process: Sweep runs one server process per district; behind several workers the
limit applies per worker, which still caps guessing (see docs/operations.md).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from sweep.errors import DomainError


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"


class RateLimiter:
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
                wait = int(hits[0] + self.per_seconds - now) + 1
                raise TooManyAttempts(field, f"尝试次数过多，请 {wait} 秒后再试 (too many attempts; try again in {wait} s)", retry_after=wait)
            hits.append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)
