"""Small builders shared by the router tests (no network)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge_router import config
from edge_router.cf_events import origin_request_event
from edge_router.config import RouterConfig
from edge_router.errors import StoreUnavailableError
from edge_router.log import JsonLogger
from edge_router.router import Router
from edge_router.store import Row, TableRead

API = "abc123.execute-api.us-east-1.amazonaws.com"
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
SAMPLE_ROWS: list[Row] = [
    {"hk": V1, "dn": API, "dp": "/Prod/v1"},
    {"hk": V2, "dn": API, "dp": "/Prod/v2"},
]
SETTINGS = {config.HEADER_NAME: "Accept", config.TABLE_NAME: "ApiVersionMapping"}


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeSource:
    """A mapping source with scripted rows or failures, counting reads and recording each read's time allowance.

    With ``same_bytes``, a read after the first answers as the real store does when DynamoDB sent the very same
    pages: ``unchanged`` and the previous rows list.
    """

    rows: list[Row] = field(default_factory=lambda: list(SAMPLE_ROWS))
    fail: bool = False
    same_bytes: bool = False
    reads: int = 0
    waits: list[float] = field(default_factory=list)
    clock: FakeClock = field(default_factory=FakeClock)
    _last: list[Row] | None = None

    def read_all(self, *, deadline: float) -> TableRead:
        self.reads += 1
        self.waits.append(deadline - self.clock())
        if self.fail:
            raise StoreUnavailableError("scripted failure")
        if self.same_bytes and self._last is not None:
            return TableRead(self._last, "us-east-1", unchanged=True, pages=1)
        self._last = list(self.rows)
        return TableRead(self._last, "us-east-1", unchanged=False, pages=1)


@dataclass
class RouterHarness:
    router: Router
    source: FakeSource
    clock: FakeClock
    log: io.StringIO
    wall: FakeClock

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]


WALL_START = 1_780_000_000.0
"""The harness's wall clock starts here (2026-05-28T20:26:40Z), so lifecycle instants can sit around it."""


def make_router(source: FakeSource | None = None, **router_options: Any) -> RouterHarness:
    source = source or FakeSource()
    clock = FakeClock()
    wall = FakeClock(WALL_START)
    log = io.StringIO()
    factory: Callable[[RouterConfig, tuple[str, ...]], FakeSource] = lambda _config, _regions: source  # noqa: E731
    router = Router(clock=clock, wall_clock=wall, logger=JsonLogger(log), store_factory=factory, **router_options)
    return RouterHarness(router, source, clock, log, wall)


def event(
    headers: list[tuple[str, str]] = (), settings: dict[str, str] | None = None, **options: Any
) -> dict[str, Any]:  # type: ignore[assignment]
    return origin_request_event(headers=headers, settings=SETTINGS if settings is None else settings, **options)


def problem(result: dict[str, Any]) -> dict[str, Any]:
    assert result["headers"]["content-type"][0]["value"] == "application/problem+json"
    body: dict[str, Any] = json.loads(result["body"])
    return body
