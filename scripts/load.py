"""Bounded load run against the local stack: throughput, latency and correctness of every answer (make load).

Workers are keep-alive clients (one connection each, through the emulator's own raw-socket HTTP/1.1 client, so
the load generator takes little of this small machine's CPU from the servers it measures) sending a mix of v1,
v2, real-world Accept lists and invalid versions through the CloudFront emulator, then the same valid mix
straight to the API Gateway emulator, so the edge path's cost shows as a ratio. Every response is checked: a
valid version must answer 200 with its own backend's message, an invalid one a 403 problem. Any error or
misrouted answer makes the exit status 1. The edge's cache hit ratio is counted from ``X-Cache`` (with the
template's default TTL of 0 nothing the backends answer is cacheable; ``--edge-default-ttl`` changes that for a
stack started here). A benchmark command, not a test: it prints figures and asserts no timing.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from edge_router.local.origin import OriginError, OriginPool, Target
from edge_router.local.stack import V1, V2, LocalStack, StackOptions


@dataclass(frozen=True)
class Case:
    """One kind of request: the Accept value, and the version that must answer (``None``: a 403 problem)."""

    accept: str
    version: str | None


CASES = (
    Case(V1, "v.1"),
    Case(V2, "v.2"),
    Case(f"{V2}, application/json;q=0.9, */*;q=0.8", "v.2"),
    Case(f"{V1}, text/html;q=0.9", "v.1"),
    Case(f"{V1}; charset=utf-8", "v.1"),
    Case("application/vnd.example.v9+json", None),
    Case("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None),
)


@dataclass
class Tally:
    """One run's results, merged from every worker."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    misrouted: list[str] = field(default_factory=list)
    hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(self, latencies: list[float], errors: list[str], misrouted: list[str], hits: int) -> None:
        with self.lock:
            self.latencies += latencies
            self.errors += errors
            self.misrouted += misrouted
            self.hits += hits


def check(case: Case, status: int, content_type: str, body: bytes) -> str | None:
    """Why this answer is wrong for ``case`` (``None`` when it is right)."""
    if case.version is None:
        if status == 403 and content_type.startswith("application/problem+json"):
            return None
        return f"{case.accept!r}: expected 403 problem, got {status} {content_type}"
    if status != 200:
        return f"{case.accept!r}: expected 200, got {status} {body[:120]!r}"
    try:
        message = json.loads(body)["message"]
    except (ValueError, KeyError, TypeError):
        return f"{case.accept!r}: unreadable body {body[:120]!r}"
    return None if message.startswith(f"API {case.version}:") else f"{case.accept!r}: got {message!r}"


DEFAULT_PORTS = {"http": 80, "https": 443}


def target_for(url: str) -> tuple[Target, str]:
    """Where ``url`` (``http[s]://host[:port]``) sends requests, and its ``Host`` header; ``ValueError`` says why
    it cannot be used."""
    split = urlsplit(url)
    if split.scheme not in DEFAULT_PORTS or not split.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    if split.path not in ("", "/") or split.query:
        raise ValueError(f"{url!r}: give the scheme, host and port only (the paths are this script's)")
    return Target(split.scheme, split.hostname, split.port or DEFAULT_PORTS[split.scheme]), split.netloc


def worker(  # noqa: PLR0917 - a thread target
    base_url: str, path_for: dict[Case, str], cases: list[Case], count: int, deadline: float, tally: Tally
) -> None:
    """Send ``count`` requests over one keep-alive connection (reconnecting after a failure)."""
    target, host = target_for(base_url)
    client = OriginPool()
    latencies: list[float] = []
    errors: list[str] = []
    misrouted: list[str] = []
    hits = 0
    for case in itertools.islice(itertools.cycle(cases), count):
        if time.monotonic() > deadline:
            errors.append("time limit reached")
            break
        started = time.perf_counter()
        try:
            response = client.request(
                target,
                "GET",
                path_for[case],
                [("Host", host), ("Accept", case.accept)],
                None,
                read_timeout=10,
                keepalive_timeout=60,
            )
            body = response.read_all()
        except OriginError as error:
            errors.append(f"{type(error).__name__}: {error}")
            continue
        latencies.append(time.perf_counter() - started)
        headers = {name.lower(): value for name, value in response.headers}
        hits += headers.get("x-cache", "").startswith("Hit ")
        problem = check(case, response.status, headers.get("content-type", ""), body)
        if problem:
            misrouted.append(problem)
    tally.merge(latencies, errors, misrouted, hits)


def run(  # noqa: PLR0917
    base_url: str, path_for: dict[Case, str], cases: list[Case], total: int, concurrency: int, limit: float
) -> tuple[Tally, float]:
    """Spread ``total`` requests over ``concurrency`` workers, each starting at a different case."""
    tally = Tally()
    deadline = time.monotonic() + limit
    share, extra = divmod(total, concurrency)
    threads = []
    for index in range(concurrency):
        rotated = cases[index % len(cases) :] + cases[: index % len(cases)]
        count = share + (1 if index < extra else 0)
        threads.append(threading.Thread(target=worker, args=(base_url, path_for, rotated, count, deadline, tally)))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - started


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (the smallest sample with at least ``fraction`` of them at or below it); NaN for
    no samples. ``make bench`` uses it too."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def report(name: str, tally: Tally, elapsed: float) -> tuple[float, float]:
    done = len(tally.latencies)
    rate = done / elapsed if elapsed else 0.0
    p50 = percentile(tally.latencies, 0.50) * 1000
    p99 = percentile(tally.latencies, 0.99) * 1000
    print(
        f"{name:<34} {done:>7} {rate:>9.0f} {p50:>9.2f} {p99:>9.2f} {len(tally.errors):>7} {len(tally.misrouted):>10}"
    )
    for problem in (tally.errors + tally.misrouted)[:5]:
        print(f"    e.g. {problem}")
    return rate, p50


def ratio_line(edge_rate: float, edge_p50: float, direct_rate: float, direct_p50: float) -> str:
    """The edge path's cost as ratios to the direct run's figures (none when either run completed no request)."""
    if not (edge_rate > 0 and direct_rate > 0):
        return "ratio edge/direct: none (a run completed no request)"
    return f"ratio edge/direct: throughput {edge_rate / direct_rate:.2f}x, p50 latency {edge_p50 / direct_p50:.2f}x"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per run (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive clients (default %(default)s)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per run at most (default %(default)s)")
    parser.add_argument("--base-url", help="a running edge (CloudFront emulator); default: start the stack here")
    parser.add_argument("--api-url", help="the API Gateway emulator for the direct run (with --base-url)")
    parser.add_argument(
        "--edge-default-ttl", type=int, help="CloudFront default TTL of the stack started here (default: template's)"
    )
    args = parser.parse_args()
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be positive")
    for option, url in (("--base-url", args.base_url), ("--api-url", args.api_url)):
        try:
            if url is not None:
                target_for(url)
        except ValueError as error:
            parser.error(f"{option}: {error}")
    return args


def main() -> int:
    args = _arguments()
    stack = None
    real_stdout = sys.stdout
    if args.base_url is None:
        # Free ports; the mapping cache TTL is long so the figures measure routing, not table refreshes.
        ttl = args.edge_default_ttl
        options = StackOptions(port=0, api_port=0, dynamodb_port=0, cache_ttl=300, edge_default_ttl=ttl)
        stack = LocalStack(options).start()
        base_url, api_url = stack.edge_url, stack.api_url
        sys.stdout = _Discard()  # the router's per-request log lines
    else:
        base_url, api_url = args.base_url, args.api_url
    try:
        edge_paths = dict.fromkeys(CASES, "/hello")
        direct_cases = [case for case in CASES if case.version is not None]
        direct_paths = {case: f"/Prod/v{case.version[-1]}/hello" for case in direct_cases if case.version}
        # Warm-up: the first request loads the mapping table and the backend modules.
        run(base_url, edge_paths, list(CASES), len(CASES), 1, 30)
        edge, edge_elapsed = run(base_url, edge_paths, list(CASES), args.requests, args.concurrency, args.time_limit)
        direct = None
        if api_url:
            direct = run(api_url, direct_paths, direct_cases, args.requests, args.concurrency, args.time_limit)
    finally:
        sys.stdout = real_stdout
        if stack is not None:
            stack.stop()

    print(
        f"{args.requests} requests per run, {args.concurrency} keep-alive clients; mix: {len(CASES)} kinds, "
        f"{sum(c.version is None for c in CASES)} of them invalid (edge only)"
    )
    print(f"{'path':<34} {'done':>7} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7} {'misrouted':>10}")
    edge_rate, edge_p50 = report("edge (CloudFront -> router -> API)", edge, edge_elapsed)
    done = len(edge.latencies)
    print(f"edge cache: {edge.hits} hits of {done} answers, hit ratio {edge.hits / done if done else 0:.1%}")
    failures = len(edge.errors) + len(edge.misrouted)
    if direct is not None:
        direct_rate, direct_p50 = report("API Gateway emulator directly", *direct)
        failures += len(direct[0].errors) + len(direct[0].misrouted)
        print(ratio_line(edge_rate, edge_p50, direct_rate, direct_p50))
    print("OK: every answer was the right one" if failures == 0 else f"FAILED: {failures} errors or misrouted answers")
    return 0 if failures == 0 else 1


class _Discard(io.TextIOBase):
    """Swallows text written while the run is on."""

    def write(self, text: str) -> int:
        return len(text)


if __name__ == "__main__":
    sys.exit(main())
