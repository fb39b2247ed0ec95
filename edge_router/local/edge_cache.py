"""The local CloudFront's cache: the cache key of a cache policy, CloudFront's TTL rules, and a bounded store.

The policy comes from template.yaml (``distribution.py`` reads it); the rules are those of the CloudFront
Developer Guide ("Manage how long content stays in the cache", "How CloudFront processes HTTP 4xx and 5xx status
codes"): ``s-maxage`` wins over ``max-age``, which wins over ``Expires``, which wins over the default TTL; the
result is kept between the minimum and maximum TTL; ``no-store``, ``no-cache`` and ``private`` keep a response out
of the cache while the minimum TTL is 0; only GET and HEAD answers are cached. Known differences from AWS are
commented where they happen.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import cache_control

ERROR_CACHING_MIN_TTL = 10
"""CloudFront's default Error Caching Minimum TTL (seconds) for the error codes it caches."""
CACHED_ERRORS = frozenset({404, 414, 500, 501, 502, 503, 504})
"""Origin error codes CloudFront caches even without a lifetime header (for the Error Caching Minimum TTL)."""
CACHED_ERRORS_WITH_LIFETIME = frozenset({400, 403, 405, 412, 415})
"""Origin error codes CloudFront caches only when the origin gives ``max-age`` or ``s-maxage``."""
ERRORS_HONOURING_NO_STORE = frozenset({404, 410, 414, 501})
"""For these codes ``no-store``, ``no-cache`` and ``private`` keep the error out of the cache; for the other cached
error codes CloudFront ignores them and caches for the Error Caching Minimum TTL."""
NEVER_CACHED = frozenset({206, 304, 416})
"""206 and 416 belong to range requests, which the emulator does not split; 304 answers a conditional request."""
CACHE_ONLY_WITH_CACHE_CONTROL = frozenset({307, 308})
_UNCACHEABLE = ("no-store", "no-cache", "private")
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class NameFilter:
    """Which query-string parameters or cookies a cache policy puts in the key: ``none``, ``all``, ``whitelist``
    (only ``names``) or ``allExcept`` (all but ``names``); query names compare exactly, as CloudFront does."""

    behavior: str = "none"
    names: frozenset[str] = frozenset()

    def keep(self, name: str) -> bool:
        if self.behavior == "all":
            return True
        if self.behavior == "whitelist":
            return name in self.names
        if self.behavior == "allExcept":
            return name not in self.names
        return False


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """A cache behaviour's caching settings: TTLs, the request parts in the cache key, and the cached methods."""

    default_ttl: int = 0
    min_ttl: int = 0
    max_ttl: int = 31_536_000
    headers: tuple[str, ...] = ()
    """Lowercase header names in the key."""
    query_strings: NameFilter = field(default_factory=lambda: NameFilter("all"))
    cookies: NameFilter = field(default_factory=NameFilter)
    gzip: bool = False
    brotli: bool = False
    cached_methods: frozenset[str] = frozenset({"GET", "HEAD"})

    def normalized_encoding(self, values: Iterable[str]) -> str | None:
        """The ``Accept-Encoding`` CloudFront keys on and forwards with compression support enabled in the policy:
        ``br,gzip``, ``gzip`` or ``br`` from what the viewer accepts (``q=0`` excluded), else none."""
        accepted = set()
        for value in values:
            for item in value.split(","):
                coding, _, params = item.partition(";")
                quality = params.strip().lower().replace(" ", "")
                if coding.strip() and quality not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
                    accepted.add(coding.strip().lower())
        chosen = [name for name, on in (("br", self.brotli), ("gzip", self.gzip)) if on and name in accepted]
        return ",".join(chosen) or None

    def key(self, method: str, uri: str, querystring: str, headers: list[tuple[str, str]]) -> Key | None:
        """The cache key of a viewer request, or ``None`` when its method is not cached.

        The distribution's domain is implicitly part of every key (one distribution here). The method is not:
        a HEAD is answered from the GET's entry, and only GET answers are stored (HEAD answers have no body).
        """
        if method not in self.cached_methods:
            return None
        by_name: dict[str, list[str]] = {}
        for name, value in headers:
            by_name.setdefault(name.lower(), []).append(value)
        query = "&".join(
            part for part in querystring.split("&") if part and self.query_strings.keep(part.partition("=")[0])
        )
        cookies = tuple(
            crumb.strip()
            for value in by_name.get("cookie", ())
            for crumb in value.split(";")
            if crumb.strip() and self.cookies.keep(crumb.strip().partition("=")[0])
        )
        encoding = self.normalized_encoding(by_name.get("accept-encoding", ())) if self.gzip or self.brotli else None
        return (uri, query, tuple(tuple(by_name.get(name, ())) for name in self.headers), encoding, cookies)


def _lifetime(directives: cache_control.Directives | None, expires: str | None, now: float) -> int | None:
    """The explicit lifetime the origin gave: ``s-maxage``, else ``max-age``, else ``Expires``; ``None`` if none.

    An ``Expires`` that is not a valid date means "already expired" (RFC 9111 §5.3).
    """
    if directives is not None:
        for name in ("s-maxage", "max-age"):
            value = cache_control.seconds(directives, name)
            if value is not None:
                return value
    return None if expires is None else cache_control.expires_in(expires, now)


def edge_ttl(
    policy: CachePolicy,
    status: int,
    cache_control_value: str | None,
    expires: str | None,
    *,
    now: float,
    from_origin: bool = True,
) -> int:
    """Seconds CloudFront keeps this response (0: not stored).

    ``from_origin`` is false for a response an origin-request function generated: those are cached by their own
    headers, like a successful answer (the error-caching rules describe what origins return).
    """
    if status in NEVER_CACHED or status < 200:
        return 0
    directives = cache_control.parse(cache_control_value) if cache_control_value is not None else None
    uncacheable = directives is not None and any(name in directives for name in _UNCACHEABLE)
    lifetime = _lifetime(directives, expires, now)
    if from_origin and status >= 400:
        if status in ERRORS_HONOURING_NO_STORE and uncacheable:
            return 0
        has_max_age = directives is not None and ("s-maxage" in directives or "max-age" in directives)
        if status in CACHED_ERRORS or (status in CACHED_ERRORS_WITH_LIFETIME and has_max_age):
            # Not emulated: a distribution's own Error Caching Minimum TTL per code (the template sets none).
            return max(min(lifetime or 0, policy.max_ttl), ERROR_CACHING_MIN_TTL)
        return 0
    if uncacheable:
        return policy.min_ttl
    if status in CACHE_ONLY_WITH_CACHE_CONTROL and directives is None:
        return 0
    if lifetime is None:
        return policy.default_ttl
    return min(max(lifetime, policy.min_ttl), policy.max_ttl)


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """One stored answer: what the viewer got (without ``Via``, ``X-Cache`` and ``Age``), and until when."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: float
    expires_at: float

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(name) + len(value) + 4 for name, value in self.headers) + 64


class EdgeCache:
    """A thread-safe LRU store bounded in entries and bytes; expired entries are dropped when met.

    Bounds are the emulator's (CloudFront evicts by its own rules): a busy local run can never grow without limit.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        max_entry_bytes: int = 8 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self._clock = clock
        self._entries: OrderedDict[Key, CachedResponse] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: Key) -> tuple[CachedResponse, int] | None:
        """The fresh entry for ``key`` and its age in whole seconds (the ``Age`` header), or ``None``."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now >= entry.expires_at:
                self._remove(key)
                return None
            self._entries.move_to_end(key)
            return entry, int(now - entry.stored_at)

    def put(
        self, key: Key, *, status: int, reason: str, headers: Iterable[tuple[str, str]], body: bytes, ttl: int
    ) -> bool:
        """Store an answer for ``ttl`` seconds (evicting the least recently used); false if it is too big."""
        now = self._clock()
        entry = CachedResponse(status, reason, tuple(headers), body, now, now + ttl)
        if ttl <= 0 or entry.size > self.max_entry_bytes:
            return False
        with self._lock:
            if key in self._entries:
                self._remove(key)
            self._entries[key] = entry
            self._bytes += entry.size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._remove(next(iter(self._entries)))
        return True

    def _remove(self, key: Key) -> None:
        self._bytes -= self._entries.pop(key).size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
