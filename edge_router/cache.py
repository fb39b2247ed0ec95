"""The warm cache of the mapping snapshot: TTL expiry, single-flight refresh, stale-if-error with backoff.

One ``SnapshotCache`` owns one table's snapshot, in a cachetools ``TTLCache`` on an injected clock. Lambda runs one
request at a time per environment, but the local stack serves threads, so every state change happens under a lock
and only one thread refreshes at a time. The router's per-request path does not look into the ``TTLCache``: it
compares the clock with ``fresh_until``, the same expiry as one float (a cachetools lookup cost a tenth of a warm
request when profiled); everything else happens on expiry, through ``get``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from cachetools import TTLCache

from .errors import StoreUnavailableError
from .snapshot import Snapshot

_KEY = "snapshot"

STALE_REFRESH_DEADLINE = 1.0
"""Seconds the one request that refreshes may wait when a stale snapshot could be served instead."""
COLD_REFRESH_DEADLINE = 4.5
"""Seconds a refresh may take when there is nothing to serve: the client gets an answer within 5 s."""

Loader = Callable[[float, Snapshot | None], Snapshot]
"""Reads the table before a deadline (a ``clock`` value), given the previous snapshot to reuse if unchanged."""
FailureListener = Callable[[str, float, Snapshot | None], None]
"""Told of each failed reload: the reason, seconds until the next attempt, and the stale snapshot served (if any)."""


class CacheState(StrEnum):
    """How a request's snapshot was obtained (logged on every request)."""

    HIT = "hit"
    REFRESH = "refresh"
    STALE = "stale"


class SnapshotCache:
    """Serves the latest snapshot; reloads it through ``loader`` when its TTL has passed.

    When a reload fails, the last good snapshot is served for up to ``max_stale`` seconds past its TTL, and the
    next reload waits for an exponential backoff instead of hammering DynamoDB on every request. With nothing to
    serve, ``StoreUnavailableError`` carries how long a client should wait (``Retry-After``).
    """

    def __init__(
        self,
        loader: Loader,
        *,
        ttl: float,
        max_stale: float,
        clock: Callable[[], float] = time.monotonic,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        on_failure: FailureListener | None = None,
    ) -> None:
        self._loader = loader
        self._on_failure = on_failure
        self._ttl = ttl
        self._max_stale = max_stale
        self._clock = clock
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._fresh: TTLCache[str, Snapshot] = TTLCache(maxsize=1, ttl=ttl, timer=clock)
        self._lock = threading.Lock()
        self._last_good: Snapshot | None = None
        self._failures = 0
        self._retry_at = 0.0
        self.fresh_until = float("-inf")
        """When the ``TTLCache`` entry expires, as one float the router's fast path reads without the lock."""

    def get(self) -> tuple[Snapshot, CacheState]:
        """The snapshot to route with, and how it was obtained."""
        snapshot = self._fresh.get(_KEY)
        if snapshot is not None:
            return snapshot, CacheState.HIT
        stale = self.servable_stale()
        # With something to serve, never queue behind another thread's refresh.
        if not self._lock.acquire(blocking=stale is None):
            assert stale is not None
            return stale, CacheState.STALE
        try:
            return self._refresh_locked()
        finally:
            self._lock.release()

    def servable_stale(self) -> Snapshot | None:
        """The last good snapshot while it may still be served (within ``max_stale`` past its TTL), else ``None``."""
        last = self._last_good
        if last is not None and self._clock() - last.loaded_at <= self._ttl + self._max_stale:
            return last
        return None

    def _refresh_locked(self) -> tuple[Snapshot, CacheState]:
        snapshot = self._fresh.get(_KEY)
        if snapshot is not None:  # another thread refreshed while this one waited
            return snapshot, CacheState.HIT
        now = self._clock()
        if now < self._retry_at:
            return self._fallback(self._retry_at - now, "the mapping table is unavailable; retrying later")
        stale = self.servable_stale()
        deadline = now + (STALE_REFRESH_DEADLINE if stale is not None else COLD_REFRESH_DEADLINE)
        try:
            snapshot = self._loader(deadline, self._last_good)
        except Exception as error:  # whatever went wrong, the table could not be read: stale-if-error and backoff
            self._failures += 1
            delay = min(self._backoff_cap, self._backoff_base * 2 ** (self._failures - 1))
            self._retry_at = self._clock() + delay
            reason = error.message if isinstance(error, StoreUnavailableError) else f"{type(error).__name__}: {error}"
            if self._on_failure is not None:
                self._on_failure(reason[:500], delay, self.servable_stale())
            return self._fallback(delay, reason[:500])
        self._failures = 0
        self._retry_at = 0.0
        self._fresh[_KEY] = snapshot
        self._last_good = snapshot
        self.fresh_until = self._clock() + self._ttl  # the TTLCache entry's expiry, as it computes it
        return snapshot, CacheState.REFRESH

    def _fallback(self, retry_after: float, reason: str) -> tuple[Snapshot, CacheState]:
        stale = self.servable_stale()
        if stale is None:
            raise StoreUnavailableError(reason, retry_after=retry_after)
        return stale, CacheState.STALE
