"""The origin-request router: event in, routed request or problem response out. Never raises.

It owns the warm state (one snapshot cache per table configuration) and is the one place where errors become
HTTP answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .cache import CacheState, SnapshotCache
from .config import RouterConfig, config_from_custom_headers
from .errors import ConfigError, StoreUnavailableError
from .event import InvalidEventError, OriginRequestEvent
from .log import JsonLogger, masked_event
from .problems import problem_response
from .regions import nearest_first
from .rewrite import rewrite_request
from .selection import ProblemKind, Selection, select_version
from .snapshot import Snapshot, build_snapshot
from .store import DynamoMappingStore, MappingSource, Row, StoreTimeouts

MAX_SKIPPED_IN_WARNING = 20
REFRESH_WAIT_WITH_STALE = 1.0
"""Seconds the one request that refreshes a servable stale snapshot may wait for DynamoDB (the others get it)."""
REFRESH_WAIT_COLD = 4.5
"""Seconds a request with nothing to serve may wait for DynamoDB: its answer, or the 503, comes within 5 s."""

StoreFactory = Callable[[RouterConfig, tuple[str, ...]], MappingSource]


class Router:
    """Routes CloudFront origin-request events by version header.

    Everything that touches the outside world is injected with production defaults: the store factory (DynamoDB),
    the clock, the executing region and the logger, so tests control them without patching.
    """

    def __init__(
        self,
        *,
        executing_region: str | None = None,
        endpoint_url: str | None = None,
        allow_local_origins: bool = False,
        timeouts: StoreTimeouts | None = None,
        clock: Callable[[], float] = time.monotonic,
        logger: JsonLogger | None = None,
        store_factory: StoreFactory | None = None,
    ) -> None:
        self.executing_region = executing_region
        self.allow_local_origins = allow_local_origins
        self._endpoint_url = endpoint_url
        self._timeouts = timeouts or StoreTimeouts()
        self._clock = clock
        self._logger = logger or JsonLogger()
        self._store_factory = store_factory or self._dynamo_store
        self._caches: dict[tuple[Any, ...], SnapshotCache] = {}
        self._caches_lock = threading.Lock()

    def clear(self) -> None:
        """Drop every cached snapshot (tests; the next request reloads)."""
        with self._caches_lock:
            self._caches.clear()

    def handle(self, event: Any) -> dict[str, Any]:
        """Route one event. Any failure becomes a generated problem response and a log line."""
        started = time.perf_counter()
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
            self._logger.emit("DEBUG", "event", event=masked_event(event))
        try:
            snapshot, cache_state = self._cache_for(config).get()
        except StoreUnavailableError as error:
            self._log_request(request, started, status=503, cache="unavailable", detail=error.message)
            return problem_response(
                503,
                "mappings-unavailable",
                "The version mapping table cannot be read right now; retry shortly.",
                retry_after=error.retry_after,
            )
        selection = select_version(request.header_values, config.version_headers, snapshot, config.header_labels)
        if selection.mapping is None:
            return self._refuse(request, config, snapshot, selection, cache=cache_state, started=started)
        origin = selection.mapping.origin
        routed = rewrite_request(request.request, origin)
        self._log_request(
            request,
            started,
            status="routed",
            cache=cache_state.value,
            version=selection.mapping.stored_key,
            key=selection.key,
            header=selection.header,
            origin=origin.host_header + origin.path,
        )
        return routed

    def _refuse(
        self,
        request: OriginRequestEvent,
        config: RouterConfig,
        snapshot: Snapshot,
        selection: Selection,
        *,
        cache: CacheState,
        started: float,
    ) -> dict[str, Any]:
        problem = selection.problem
        assert problem is not None
        status = 400 if problem.kind is ProblemKind.AMBIGUOUS else config.unknown_version_status
        self._log_request(
            request, started, status=status, cache=cache.value, problem=problem.kind.value, value=problem.value
        )
        return problem_response(
            status,
            problem.kind.value,
            problem.detail,
            versions=snapshot.listed_versions,
            extra={"versionHeaders": list(config.header_labels)},
        )

    def _log_request(self, request: OriginRequestEvent, started: float, *, status: int | str, **fields: Any) -> None:
        self._logger.emit(
            "INFO",
            "request",
            requestId=request.request_id,
            status=status,
            durationUs=round((time.perf_counter() - started) * 1e6),
            **fields,
        )

    def _cache_for(self, config: RouterConfig) -> SnapshotCache:
        key = (*config.store_key, config.origin_rules)
        cache = self._caches.get(key)
        if cache is None:
            with self._caches_lock:
                cache = self._caches.get(key)
                if cache is None:
                    cache = self._new_cache(config)
                    self._caches[key] = cache
        return cache

    def _new_cache(self, config: RouterConfig) -> SnapshotCache:
        store = self._store_factory(config, nearest_first(self.executing_region, config.regions))
        built: tuple[list[Row], Snapshot] | None = None

        def load() -> Snapshot:
            nonlocal built
            wait = REFRESH_WAIT_WITH_STALE if cache.servable_stale() is not None else REFRESH_WAIT_COLD
            read = store.read_all(deadline=store.clock() + wait)
            if read.unchanged and built is not None and built[0] is read.rows:
                # The same bytes as the rows the previous snapshot was built from: nothing to validate again.
                snapshot = replace(built[1], loaded_at=self._clock())
            else:
                snapshot = build_snapshot(read.rows, config.origin_rules, loaded_at=self._clock(), region=read.region)
                built = (read.rows, snapshot)
            if snapshot.skipped:
                self._logger.emit(
                    "WARNING",
                    "mapping rows skipped",
                    table=config.table_name,
                    count=len(snapshot.skipped),
                    rows=list(snapshot.skipped[:MAX_SKIPPED_IN_WARNING]),
                )
            self._logger.emit(
                "INFO",
                "mappings loaded",
                table=config.table_name,
                region=read.region,
                versions=len(snapshot.mappings),
                pages=read.pages,
                unchanged=read.unchanged,
            )
            return snapshot

        cache = SnapshotCache(load, ttl=config.cache_ttl, max_stale=config.max_stale, clock=self._clock)
        return cache

    def _dynamo_store(self, config: RouterConfig, regions: tuple[str, ...]) -> DynamoMappingStore:
        # The store keeps real time for its deadlines; ``self._clock`` only ages snapshots (tests move it).
        return DynamoMappingStore(config.table_name, regions, self._endpoint_url, self._timeouts)
