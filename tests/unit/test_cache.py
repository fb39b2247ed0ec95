"""The snapshot cache: TTL expiry, stale-if-error, backoff, single-flight refresh (clock injected, no sleeps)."""

from __future__ import annotations

import threading

import pytest

from edge_router.cache import CacheState, SnapshotCache
from edge_router.errors import StoreUnavailableError
from edge_router.mapping import OriginRules
from edge_router.snapshot import Snapshot, build_snapshot
from tests.helpers import SAMPLE_ROWS, FakeClock


class Loader:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = 0
        self.fail = False
        self.gate: threading.Event | None = None
        self.deadlines: list[float] = []

    def __call__(self, deadline: float, previous: Snapshot | None) -> Snapshot:
        self.calls += 1
        self.deadlines.append(deadline - self.clock())
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail:
            raise StoreUnavailableError("down")
        return build_snapshot(SAMPLE_ROWS, OriginRules(), loaded_at=self.clock())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def loader(clock: FakeClock) -> Loader:
    return Loader(clock)


def make(loader: Loader, clock: FakeClock, max_stale: float = 100) -> SnapshotCache:
    return SnapshotCache(loader, ttl=10, max_stale=max_stale, clock=clock)


def test_ttl_expiry(loader: Loader, clock: FakeClock) -> None:
    cache = make(loader, clock)
    assert cache.get()[1] is CacheState.REFRESH
    clock.now += 9.9
    assert cache.get()[1] is CacheState.HIT
    clock.now += 0.2
    assert cache.get()[1] is CacheState.REFRESH
    assert loader.calls == 2


def test_stale_if_error_then_backoff(loader: Loader, clock: FakeClock) -> None:
    cache = make(loader, clock)
    first, _ = cache.get()
    clock.now += 11
    loader.fail = True
    snapshot, state = cache.get()
    assert (snapshot, state) == (first, CacheState.STALE)
    # Within the backoff no request retries DynamoDB.
    for _ in range(50):
        assert cache.get()[1] is CacheState.STALE
    assert loader.calls == 2
    clock.now += 1.01  # first backoff step is 1 s
    cache.get()
    assert loader.calls == 3
    clock.now += 1.5  # second step is 2 s: not yet
    cache.get()
    assert loader.calls == 3
    loader.fail = False
    clock.now += 1
    assert cache.get()[1] is CacheState.REFRESH


def test_stale_is_bounded_by_max_stale(loader: Loader, clock: FakeClock) -> None:
    cache = make(loader, clock, max_stale=30)
    cache.get()
    loader.fail = True
    clock.now += 10 + 30 + 1
    with pytest.raises(StoreUnavailableError) as caught:
        cache.get()
    assert caught.value.retry_after == 1


def test_no_snapshot_and_failing_store_answers_promptly(loader: Loader, clock: FakeClock) -> None:
    cache = make(loader, clock)
    loader.fail = True
    with pytest.raises(StoreUnavailableError):
        cache.get()
    for _ in range(10):
        with pytest.raises(StoreUnavailableError) as caught:
            cache.get()
        assert 0 < caught.value.retry_after <= 1
    assert loader.calls == 1


def test_single_flight_refresh(loader: Loader, clock: FakeClock) -> None:
    cache = make(loader, clock)
    loader.gate = threading.Event()
    results: list[CacheState] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get()[1])) for _ in range(16)]
    for thread in threads:
        thread.start()
    loader.gate.set()
    for thread in threads:
        thread.join(5)
    assert loader.calls == 1
    assert results.count(CacheState.REFRESH) == 1 and results.count(CacheState.HIT) == 15


def test_expired_snapshot_served_while_another_thread_refreshes(loader: Loader, clock: FakeClock) -> None:
    cache = make(loader, clock)
    cache.get()
    clock.now += 11
    loader.gate = threading.Event()
    refresher = threading.Thread(target=cache.get)
    refresher.start()
    while loader.calls < 2:
        threading.Event().wait(0.001)
    assert cache.get()[1] is CacheState.STALE  # does not queue behind the refresh
    loader.gate.set()
    refresher.join(5)
    assert cache.get()[1] is CacheState.HIT
