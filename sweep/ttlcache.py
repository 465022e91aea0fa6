"""A small thread-safe cache whose entries are trusted for a few seconds, then read again.

For what every request needs and rarely changes (who a token belongs to, the round, its sites):
remembered per process, so that a terminal's request costs no query for them, and forgotten soon
enough that a change made on another server takes effect within ``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
# A server answers a few thousand terminals; past this many entries the oldest half is dropped.
MAX_ENTRIES = 50_000


class TtlCache(Generic[V]):
    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def put(self, key: Hashable, value: V, *, ttl: float | None = None) -> V:
        if self.ttl <= 0:
            return value
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                for old in list(self._entries)[: MAX_ENTRIES // 2]:
                    self._entries.pop(old, None)
            self._entries[key] = (self._clock() + min(self.ttl, self.ttl if ttl is None else ttl), value)
        return value

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def drop_where(self, test: Callable[[V], bool]) -> None:
        with self._lock:
            for key in [k for k, (_t, v) in self._entries.items() if test(v)]:
                del self._entries[key]
