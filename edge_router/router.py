"""The origin-request router: event in, routed request or problem response out. Never raises.

It owns the warm state: per table, one snapshot cache; per configuration, the prepared ``RouteTable`` of the
current snapshot. A warm request whose value was seen before costs a few dict lookups and the assembly of its
answer (the fast path). Anything else — a new value, an expired snapshot, a lifecycle instant passed, or an event
of an unexpected shape — takes the careful path, which validates everything and is the one place where errors
become HTTP answers.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii as json_string
from typing import Any

from .cache import CacheState, SnapshotCache
from .config import SECRET_SETTINGS, SETTINGS, RouterConfig, config_from_custom_headers
from .decisions import Decision, RouteTable
from .errors import ConfigError, StoreUnavailableError
from .event import InvalidEventError, OriginRequestEvent
from .log import NO_VERSION, JsonLogger, masked_event, request_template
from .problems import problem_response
from .regions import nearest_first
from .snapshot import RowMemo, Snapshot, build_snapshot
from .store import DynamoMappingStore, MappingSource, StoreTimeouts

MAX_SKIPPED_IN_WARNING = 20
UNAVAILABLE = "mappings-unavailable"
"""The outcome (and problem slug) of a request answered 503 because no snapshot of the table could be read."""
MAX_CONFIGURATIONS = 16
"""Distinct origin configurations kept warm (a distribution has one per origin; more means misuse)."""
_SHOWN_SETTINGS = tuple(name for name in SETTINGS if name not in SECRET_SETTINGS)

StoreFactory = Callable[[RouterConfig, tuple[str, ...]], MappingSource]
HeaderValues = Callable[[str], list[str]]


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a refresh builds its rows and snapshot.

    A refresh allocates tens of thousands of long-lived, acyclic objects (rows, mappings, indexes); the collector
    would scan them again and again as they pile up, which made a 10,000-row refresh a quarter slower, and
    superlinear in rows. Collection resumes as soon as the snapshot is built.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def memo_key(values: HeaderValues, names: tuple[str, ...]) -> Any:
    """What identifies a request's version headers: one header's single value is the value itself (the common
    case, so the fast path can read it directly); anything else is a tuple of (header, value) pairs."""
    if len(names) == 1:
        found = values(names[0])
        return found[0] if len(found) == 1 else tuple(found) or None
    return tuple([(name, value) for name in names for value in values(name)])


class _Configured:
    """One origin configuration's warm state: its settings, its (shared) snapshot cache and its route table."""

    __slots__ = ("cache", "config", "fresh_until", "header", "single", "table")

    def __init__(self, config: RouterConfig, cache: SnapshotCache) -> None:
        self.config = config
        self.cache = cache
        self.table: RouteTable | None = None
        self.fresh_until = float("-inf")
        """Until when ``table`` is for the cache's fresh snapshot (the fast path's only TTL check)."""
        self.single = len(config.version_headers) == 1
        self.header = config.version_headers[0]

    def raw_key(self, headers: dict[str, Any]) -> Any:
        """``memo_key`` read straight from CloudFront's header lists (the fast path; malformed input raises)."""
        names = self.config.version_headers
        if len(names) == 1:
            return memo_key(lambda name: [entry["value"] for entry in headers.get(name) or ()], names)
        return tuple([(name, entry["value"]) for name in names for entry in headers.get(name) or ()])


class Router:
    """Routes CloudFront origin-request events by version header.

    Everything that touches the outside world is injected with production defaults: the store factory (DynamoDB),
    the clocks (``clock`` for TTLs and durations, ``wall_clock`` for lifecycle instants and metric timestamps),
    the executing region and the logger, so tests control them without patching.
    """

    def __init__(
        self,
        *,
        executing_region: str | None = None,
        endpoint_url: str | None = None,
        allow_local_origins: bool = False,
        timeouts: StoreTimeouts | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        logger: JsonLogger | None = None,
        store_factory: StoreFactory | None = None,
    ) -> None:
        self.executing_region = executing_region
        self.allow_local_origins = allow_local_origins
        self._endpoint_url = endpoint_url
        self._timeouts = timeouts or StoreTimeouts()
        self._clock = clock
        self._wall = wall_clock
        self._logger = logger or JsonLogger()
        self._store_factory = store_factory or self._dynamo_store
        self._configured: dict[tuple[Any, ...], _Configured] = {}
        self._caches: dict[tuple[Any, ...], SnapshotCache] = {}
        self._lock = threading.Lock()

    def handle(self, event: Any) -> dict[str, Any]:
        """Route one event. Any failure becomes a generated problem response and a log line."""
        started = self._clock()
        try:
            cf = event["Records"][0]["cf"]
            request = cf["request"]
            custom = request["origin"]["custom"]["customHeaders"]
            configured = self._configured[(tuple(custom), tuple([entries[0]["value"] for entries in custom.values()]))]
            table = configured.table
            now = self._wall()
            if table is not None and started < configured.fresh_until and table.valid_from <= now < table.valid_until:
                headers = request["headers"]
                if configured.single:
                    entries = headers.get(configured.header)
                    key = entries[0]["value"] if entries and len(entries) == 1 else configured.raw_key(headers)
                else:
                    key = configured.raw_key(headers)
                decision = table.memo.get(key)
                if decision is not None:
                    return decision.respond(request, cf["config"]["requestId"], "hit", started, now)
        except Exception:  # noqa: S110 - anything unexpected is handled (and logged) by the careful path below
            pass
        try:
            return self._route(event, started)
        except Exception as error:  # the edge must answer, whatever happened
            self._logger.emit("ERROR", "unhandled", error=type(error).__name__, detail=str(error)[:500])
            return problem_response(503, "internal-error", "The router failed unexpectedly; retry shortly.")

    def _route(self, event: Any, started: float) -> dict[str, Any]:
        try:
            request = OriginRequestEvent.parse(event)
            config = config_from_custom_headers(request.custom_headers, allow_local_origins=self.allow_local_origins)
        except (InvalidEventError, ConfigError) as error:
            self._logger.emit("ERROR", "misconfigured", detail=error.message)
            return problem_response(500, "router-misconfigured", error.message)
        if config.debug_events:
            self._logger.emit("DEBUG", "event", event=masked_event(event, config.version_headers, _SHOWN_SETTINGS))
        configured = self._configured_for(request, config)
        now = self._wall()
        try:
            snapshot, cache_state = configured.cache.get()
        except StoreUnavailableError as error:
            # A request line like any other (outcome and metric included), so outages show in usage figures.
            fields = {"status": 503, "version": NO_VERSION, "outcome": UNAVAILABLE, "detail": error.message}
            template = request_template(fields, namespace=config.metrics_namespace)
            duration = (self._clock() - started) * 1e6
            self._logger.write(template % (json_string(request.request_id), "unavailable", duration, now * 1000))
            return problem_response(
                503,
                UNAVAILABLE,
                "The version mapping table cannot be read right now; retry shortly.",
                retry_after=error.retry_after,
            )
        table = self._table_for(configured, snapshot, cache_state, now)
        key = memo_key(request.header_values, config.version_headers)
        decision: Decision = table.memo.get(key) or table.decide(key, request.header_values)
        return decision.respond(request.routable(), request.request_id, cache_state.value, started, now)

    def _table_for(
        self, configured: _Configured, snapshot: Snapshot, cache_state: CacheState, now: float
    ) -> RouteTable:
        table = configured.table
        if table is None or not table.covers(snapshot, now):
            table = RouteTable(snapshot, configured.config, now, self._logger, self._clock)
            configured.table = table
        # Only a fresh snapshot may be served by the fast path; a stale one, and debug logging of every event, keep
        # every request on this path.
        fast = cache_state is not CacheState.STALE and not configured.config.debug_events
        configured.fresh_until = configured.cache.fresh_until if fast else float("-inf")
        return table

    def _configured_for(self, request: OriginRequestEvent, config: RouterConfig) -> _Configured:
        key = request.custom_header_key()
        configured = self._configured.get(key)
        if configured is None:
            with self._lock:
                configured = self._configured.get(key)
                if configured is None:
                    if len(self._configured) >= MAX_CONFIGURATIONS:
                        self._configured.clear()
                    configured = _Configured(config, self._cache_for(config))
                    self._configured[key] = configured
        return configured

    def _cache_for(self, config: RouterConfig) -> SnapshotCache:
        key = (*config.store_key, config.origin_rules)
        cache = self._caches.get(key)
        if cache is None:
            cache = self._new_cache(config)
            self._caches[key] = cache
        return cache

    def _new_cache(self, config: RouterConfig) -> SnapshotCache:
        store = self._store_factory(config, nearest_first(self.executing_region, config.regions))
        memo = RowMemo()

        def load(deadline: float, previous: Snapshot | None) -> Snapshot:
            # The cache's deadline is on the router's clock; the store keeps its own (real time, even in tests).
            with collector_paused():
                read = store.read_all(deadline=store.clock() + (deadline - self._clock()))
                if read.unchanged and previous is not None:
                    snapshot = previous.reloaded(self._clock(), read.region)
                else:
                    snapshot = build_snapshot(
                        read.rows, config.origin_rules, loaded_at=self._clock(), region=read.region, memo=memo
                    )
            self._log_load(config, snapshot, pages=read.pages, unchanged=read.unchanged and previous is not None)
            return snapshot

        def failed(reason: str, retry_in: float, stale: Snapshot | None) -> None:
            # Once per attempt (the backoff spaces them), so an outage hidden by stale answers is still visible.
            self._logger.emit(
                "WARNING",
                "mappings refresh failed",
                table=config.table_name,
                detail=reason,
                retryInS=retry_in,
                servingStaleAgeS=round(self._clock() - stale.loaded_at, 1) if stale is not None else None,
            )

        return SnapshotCache(
            load, ttl=config.cache_ttl, max_stale=config.max_stale, clock=self._clock, on_failure=failed
        )

    def _log_load(self, config: RouterConfig, snapshot: Snapshot, *, pages: int, unchanged: bool) -> None:
        if snapshot.skipped:
            self._logger.emit(
                "WARNING",
                "mapping rows skipped",
                table=config.table_name,
                count=len(snapshot.skipped),
                rows=list(snapshot.skipped[:MAX_SKIPPED_IN_WARNING]),
            )
        for warning in snapshot.warnings:
            self._logger.emit("WARNING", "mapping table", table=config.table_name, detail=warning)
        self._logger.emit(
            "INFO",
            "mappings loaded",
            table=config.table_name,
            region=snapshot.region,
            versions=len(snapshot.mappings),
            pages=pages,
            unchanged=unchanged,
            default=snapshot.default.key if snapshot.default else None,
        )

    def _dynamo_store(self, config: RouterConfig, regions: tuple[str, ...]) -> DynamoMappingStore:
        # The store keeps real time for its deadlines; ``self._clock`` only ages snapshots (tests move it).
        return DynamoMappingStore(config.table_name, regions, self._endpoint_url, self._timeouts)
