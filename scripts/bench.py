"""Edge router benchmarks: prints figures, each a ratio of two things measured side by side in one run.

    make bench                 # every section
    make bench ARGS="--quick"  # fewer iterations (noisier)

The machine is shared and noisy (absolute times drift by tens of percent within minutes), so every claim here is
a ratio: ours against a minimal floor function measured in alternating bursts, a large table against a small one,
ten headers against one. Nothing here runs in CI; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_router import config  # noqa: E402
from edge_router.cf_events import origin_request_event  # noqa: E402
from edge_router.lifecycle import format_instant  # noqa: E402
from edge_router.local.dynamodb import (  # noqa: E402
    EmbeddedDynamoDB,
    create_mapping_table,
    dynamodb_client,
    use_local_credentials,
)
from edge_router.local.stack import V1, V2  # noqa: E402
from edge_router.log import JsonLogger  # noqa: E402
from edge_router.media_type import parse_accept  # noqa: E402
from edge_router.router import Router  # noqa: E402
from edge_router.store import MappingSource, StoreTimeouts, TableRead  # noqa: E402
from scripts.load import percentile  # noqa: E402

API = "abc123def4.execute-api.us-east-1.amazonaws.com"
TABLE = "bench-mappings"
GOAL_FLOOR_RATIO = 1.5
EMULATOR_TIMEOUTS = StoreTimeouts()
Row = dict[str, Any]


class ManualClock:
    """The router's monotonic clock, moved by the benchmark to expire the snapshot on demand."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def sample_rows(count: int) -> list[Row]:
    rows: list[Row] = [{"hk": V1, "dn": API, "dp": "/Prod/v1"}, {"hk": V2, "dn": API, "dp": "/Prod/v2"}]
    rows += [{"hk": f"application/vnd.example.x{n}+json", "dn": API, "dp": f"/Prod/x{n}"} for n in range(count - 2)]
    return rows


def feature_rows() -> list[Row]:
    """Every lifecycle feature in use: v1 deprecated (sunset ahead, successor, info URL) with a 10 % canary,
    v2 the default, dated versions in both header styles."""
    now = int(time.time())
    rows = sample_rows(2)
    rows[0].update(
        deprecated_at=format_instant(now - 86_400),
        sunset_at=format_instant(now + 30 * 86_400),
        successor=V2,
        info_url="https://example.com/api/v1-retirement",
        canary_dn="canary77.execute-api.us-east-1.amazonaws.com",
        canary_dp="/Prod/v1",
        canary_percent="10",
    )
    rows[1]["is_default"] = True
    rows += [{"hk": f"2025-{month:02d}-01", "dn": API, "dp": f"/Prod/d{month}"} for month in range(1, 13)]
    rows += [{"hk": f"application/vnd.example+json; version=2025-{m:02d}-01", "dn": API} for m in range(1, 13)]
    return rows


class Rows:
    """An in-process mapping source (the warm path never reads the table; refreshes use a real one below)."""

    clock = staticmethod(time.monotonic)

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows

    def read_all(self, *, deadline: float) -> TableRead:
        return TableRead(self.rows, "us-east-1", unchanged=False, pages=1)


def make_router(rows: list[Row], sink: TextIO, clock: Callable[[], float] = time.monotonic) -> Router:
    source = Rows(rows)

    def factory(_config: config.RouterConfig, _regions: tuple[str, ...]) -> MappingSource:
        return source

    return Router(logger=JsonLogger(sink), store_factory=factory, clock=clock)


def settings(header: str = "Accept", **extra: str) -> dict[str, str]:
    return {config.HEADER_NAME: header, config.TABLE_NAME: TABLE, **extra}


FEATURE_SETTINGS = settings(
    **{config.METRICS_NAMESPACE: "EdgeRouter/bench", config.HASH_KEY: "bench-hash-key-0123456789"}
)


# ------------------------------------------------------------------------------------------------ the floor
FLOOR_ROUTES = {V1: (API, "/Prod/v1"), V2: (API, "/Prod/v2")}


def floor_handler(event: dict[str, Any], sink: TextIO) -> dict[str, Any]:
    """The minimal function the issue names: read the header, one dict lookup, build the routed request, write one
    JSON log line. No validation, no configuration, no lifecycle: the least an origin-request router can do."""
    cf = event["Records"][0]["cf"]
    request = cf["request"]
    value = request["headers"]["accept"][0]["value"]
    domain, path = FLOOR_ROUTES[value]
    request["origin"] = {
        "custom": {
            "customHeaders": {},
            "domainName": domain,
            "keepaliveTimeout": 5,
            "path": path,
            "port": 443,
            "protocol": "https",
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }
    request["headers"]["host"] = [{"key": "Host", "value": domain}]
    sink.write(json.dumps({"requestId": cf["config"]["requestId"], "version": value, "origin": domain + path}) + "\n")
    return request


def timed_burst(call: Callable[[dict[str, Any]], Any], event: dict[str, Any], size: int) -> list[float]:
    """``size`` calls on fresh copies of ``event`` (copied before timing), in microseconds."""
    events = [copy.deepcopy(event) for _ in range(size)]
    clock = time.perf_counter_ns
    samples = []
    for item in events:
        started = clock()
        call(item)
        samples.append((clock() - started) / 1000)
    return samples


def side_by_side(
    runs: dict[str, tuple[Callable[[dict[str, Any]], Any], dict[str, Any]]], bursts: int, size: int
) -> dict[str, list[float]]:
    """Alternating bursts of each (call, event) pair; the order flips every round, after a warm-up burst each."""
    for call, event in runs.values():
        timed_burst(call, event, size)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for round_number in range(bursts):
        for name in names if round_number % 2 == 0 else names[::-1]:
            call, event = runs[name]
            samples[name] += timed_burst(call, event, size)
    return samples


def section_floor(sink: TextIO, bursts: int, size: int) -> None:
    print(f"\n== Warm cache hit: ours vs the floor, alternating bursts (goal: ours/floor <= {GOAL_FLOOR_RATIO:g})")
    date_settings = {**FEATURE_SETTINGS, config.HEADER_NAME: "APIVER"}
    cases = {
        "sample table, Accept v1": (sample_rows(2), settings(), [("Accept", V1)]),
        "every feature: v1 deprecated + 10% canary, metrics": (feature_rows(), FEATURE_SETTINGS, [("Accept", V1)]),
        "every feature: no version header -> v2 default": (feature_rows(), FEATURE_SETTINGS, []),
        "every feature: APIVER 2025-06-15 -> dated row": (feature_rows(), date_settings, [("APIVER", "2025-06-15")]),
    }
    floor_event = origin_request_event(headers=[("Accept", V1)], settings=settings())

    def floor(event: dict[str, Any]) -> dict[str, Any]:
        return floor_handler(event, sink)

    print(f"  {'case':<52} {'ours p50':>9} {'floor p50':>10} {'ratio':>6} {'ours p99':>9} {'floor p99':>10}")
    for name, (rows, router_settings, headers) in cases.items():
        router = make_router(rows, sink)
        ours_event = origin_request_event(headers=headers, settings=router_settings)
        assert "origin" in router.handle(copy.deepcopy(ours_event)), name
        samples = side_by_side({"ours": (router.handle, ours_event), "floor": (floor, floor_event)}, bursts, size)
        ours50, floor50 = percentile(samples["ours"], 0.5), percentile(samples["floor"], 0.5)
        verdict = "met" if ours50 / floor50 <= GOAL_FLOOR_RATIO else "NOT met"
        print(
            f"  {name:<52} {ours50:>7.2f}us {floor50:>8.2f}us {ours50 / floor50:>6.2f} "
            f"{percentile(samples['ours'], 0.99):>7.2f}us {percentile(samples['floor'], 0.99):>8.2f}us  {verdict}"
        )


def section_growth(sink: TextIO, bursts: int, size: int) -> None:
    print("\n== Growth: per-request cost by table size and by number of configured version headers (flat = ~1.00)")
    event_v1 = origin_request_event(headers=[("Accept", V1)], settings=settings())
    routers = {count: make_router(sample_rows(count), sink) for count in (10, 1_000, 10_000)}
    for router in routers.values():
        router.handle(copy.deepcopy(event_v1))
    samples = side_by_side({str(n): (r.handle, event_v1) for n, r in routers.items()}, bursts, size)
    base = percentile(samples["10"], 0.5)
    for count in routers:
        p50 = percentile(samples[str(count)], 0.5)
        print(f"  {count:>6} mappings: p50 {p50:6.2f} us  ({p50 / base:.2f}x the 10-mapping table)")
    names = [f"X-Version-{n}" for n in range(9)]
    header_runs: dict[str, tuple[Callable[[dict[str, Any]], Any], dict[str, Any]]] = {}
    for count in (1, 5, 10):
        configured = ",".join([*names[: count - 1], "Accept"])
        router = make_router(sample_rows(10), sink)
        event = origin_request_event(headers=[("Accept", V1)], settings=settings(configured))
        router.handle(copy.deepcopy(event))
        header_runs[str(count)] = (router.handle, event)
    samples = side_by_side(header_runs, bursts, size)
    base = percentile(samples["1"], 0.5)
    for count in (1, 5, 10):
        p50 = percentile(samples[str(count)], 0.5)
        print(f"  {count:>2} version header(s), the last one carrying it: p50 {p50:6.2f} us  ({p50 / base:.2f}x one)")


def dynamodb_item(row: Row) -> dict[str, Any]:
    return {name: {"BOOL": value} if isinstance(value, bool) else {"S": str(value)} for name, value in row.items()}


class ReplayDynamoDB:
    """Answers Scans of one table from rows held here, 1 MB pages like DynamoDB, on a loopback port.

    ``versions`` row lists are served in turn, one per full scan, so a refresh can be made to see every row change.
    The server runs in its own thread; the refresh CPU is measured with ``time.thread_time`` in the caller's.
    """

    PAGE_BYTES = 1_000_000

    def __init__(self, versions: list[list[Row]]) -> None:
        self.pages = [self._paginate(rows) for rows in versions]
        self.scans = 0
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                start = int(request.get("ExclusiveStartKey", {}).get("page", {}).get("N", "0"))
                if start == 0:
                    replay.scans += 1
                pages = replay.pages[(replay.scans - 1) % len(replay.pages)]
                body = pages[start]
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("x-amz-crc32", str(zlib.crc32(body)))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _paginate(self, rows: list[Row]) -> list[bytes]:
        pages: list[list[dict[str, Any]]] = [[]]
        size = 0
        for row in rows:
            item = dynamodb_item(row)
            item_size = len(json.dumps(item))
            if size + item_size > self.PAGE_BYTES and pages[-1]:
                pages.append([])
                size = 0
            pages[-1].append(item)
            size += item_size
        bodies = []
        for number, items in enumerate(pages):
            page: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
            if number + 1 < len(pages):
                page["LastEvaluatedKey"] = {"page": {"N": str(number + 1)}}
            bodies.append(json.dumps(page).encode())
        return bodies

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def refresh_cpu(versions: list[list[Row]], rounds: int, sink: TextIO) -> float:
    """Median CPU milliseconds of the refreshing request, in the router's own thread."""
    replay = ReplayDynamoDB(versions)
    clock = ManualClock()
    router = Router(endpoint_url=replay.endpoint, logger=JsonLogger(sink), clock=clock, timeouts=EMULATOR_TIMEOUTS)
    event = origin_request_event(headers=[("Accept", V1)], settings=settings(**{config.CACHE_TTL: "60"}))
    try:
        assert "origin" in router.handle(copy.deepcopy(event))
        costs = []
        for _ in range(rounds):
            clock.offset += 61
            started = time.thread_time()
            assert "origin" in router.handle(copy.deepcopy(event))
            costs.append((time.thread_time() - started) * 1000)
        return percentile(costs, 0.5)
    finally:
        replay.close()


def moved(rows: list[Row]) -> list[Row]:
    return [{**row, "dp": row["dp"] + "b"} if "dp" in row else row for row in rows]


def section_refresh(sink: TextIO, rounds: int) -> None:
    print("\n== Refresh: CPU of the request that reloads the table (its own thread; the replayed DynamoDB excluded)")
    per_row: dict[str, list[float]] = {"unchanged": [], "every row changed": []}
    for count in (1_000, 10_000):
        rows = sample_rows(count)
        for name, versions in (("unchanged", [rows]), ("every row changed", [rows, moved(rows)])):
            cpu = refresh_cpu(versions, rounds, sink)
            per_row[name].append(cpu / count)
            print(f"  {count:>6} mappings, {name:<17}: {cpu:8.2f} ms CPU ({cpu / count * 1000:6.2f} us per row)")
    for name, costs in per_row.items():
        print(f"  {name}: cost per row at 10,000 vs 1,000 mappings: {costs[1] / costs[0]:.2f}x (linear = ~1.00)")


MEMORY = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from scripts.bench import Rows, make_router, sample_rows, settings, V1
from edge_router.cf_events import origin_request_event

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

before = rss_kib()
router = make_router(sample_rows(10_000), open("/dev/null", "w"))
assert "origin" in router.handle(origin_request_event(headers=[("Accept", V1)], settings=settings()))
print(json.dumps({"before": before, "after": rss_kib()}))
"""


def section_memory() -> None:
    print("\n== Memory: resident set of a fresh interpreter before and after loading 10,000 mappings")
    output = subprocess.run([sys.executable, "-c", MEMORY, str(ROOT)], capture_output=True, text=True, check=True)
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    print(
        f"  RSS {figures['before'] / 1024:.1f} MiB -> {figures['after'] / 1024:.1f} MiB "
        f"(+{(figures['after'] - figures['before']) / 1024:.1f} MiB for 10,000 mappings, "
        f"{(figures['after'] - figures['before']) * 1024 / 10_000:.0f} bytes each)"
    )


COLD_START = """
import json, sys, time
started = time.perf_counter()
import edge_router.handler as handler
imported = time.perf_counter()
from edge_router.cf_events import origin_request_event
event = origin_request_event(headers=[("Accept", sys.argv[2])], settings=json.loads(sys.argv[1]))
result = handler.lambda_handler(event, None)
done = time.perf_counter()
assert "origin" in result, result
print(json.dumps({"import_ms": (imported - started) * 1e3, "first_ms": (done - imported) * 1e3,
                  "modules": len(sys.modules)}))
"""


def seed(endpoint: str, table: str, rows: list[Row]) -> None:
    create_mapping_table(dynamodb_client(endpoint), table)
    resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    with resource.Table(table).batch_writer() as batch:
        for row in rows:
            batch.put_item(Item=row)


def section_cold(endpoint: str, runs: int) -> None:
    print("\n== Cold start (new interpreter, this checkout's sources): import, then the first request with its scan")
    print(
        "   (the artifact as shipped, with bytecode, is measured against the sample by ../shared/bench/cold_ratio.py)"
    )
    seed(endpoint, "bench-cold", sample_rows(2))
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "PYTHONPATH": str(ROOT)}
    figures = []
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-c", COLD_START, json.dumps({**settings(), config.TABLE_NAME: "bench-cold"}), V1],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        figures.append(json.loads(output.stdout.strip().splitlines()[-1]))
    imports = percentile([f["import_ms"] for f in figures], 0.5)
    first = percentile([f["first_ms"] for f in figures], 0.5)
    print(
        f"  median of {runs}: import {imports:.1f} ms + first request {first:.1f} ms = {imports + first:.1f} ms "
        f"({figures[0]['modules']} modules loaded)"
    )


def section_reads(sink: TextIO, total: int) -> None:
    print(f"\n== DynamoDB reads across {total:,} requests in one TTL, half with random unknown versions")
    reads = 0
    source = Rows(sample_rows(2))

    class Counting:
        clock = staticmethod(time.monotonic)

        def read_all(self, *, deadline: float) -> TableRead:
            nonlocal reads
            reads += 1
            return source.read_all(deadline=deadline)

    router = Router(logger=JsonLogger(sink), store_factory=lambda cfg, regions: Counting())
    rng = random.Random(7)
    known = origin_request_event(headers=[("Accept", V1)], settings=settings())
    outcomes: dict[str, int] = {}
    for index in range(total):
        if index % 2:
            value = f"application/vnd.example.v{rng.randrange(10**9)}+json"
            item = origin_request_event(headers=[("Accept", value)], settings=settings())
        else:
            item = copy.deepcopy(known)
        status = router.handle(item).get("status", "routed")
        outcomes[status] = outcomes.get(status, 0) + 1
    print(f"  outcomes {outcomes}; table reads: {reads} (target: exactly 1): {'met' if reads == 1 else 'NOT met'}")


HOSTILE_SHAPES = {
    "many ranges": "a/b{n};q=0.5, ",
    "quoted parameters": 'a/b;x="{n}\\"\\\\,;=",',
    "unclosed quote": 'a/b;x="{n},;,;,;,;',
    "long token": "application/vnd.{n}" + "x" * 40,
}


def section_hostile(iterations: int) -> None:
    print("\n== Hostile Accept headers: parse time per KB at 8 KB vs 1 KB (memo bypassed; linear = ratio ~1)")
    for name, shape in HOSTILE_SHAPES.items():
        costs = []
        for size in (1024, 8192):
            headers = [
                "".join(shape.format(n=f"{variant}_{i}") for i in range(size))[:size] for variant in range(iterations)
            ]
            started = time.perf_counter()
            for text in headers:
                parse_accept.__wrapped__(text)
            costs.append((time.perf_counter() - started) / iterations * 1e6 / (size / 1024))
        print(
            f"  {name:<18} 1 KB: {costs[0]:7.1f} us/KB   8 KB: {costs[1]:7.1f} us/KB   ratio {costs[1] / costs[0]:.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a quick look, noisier figures)")
    args = parser.parse_args()
    bursts, size = (10, 300) if args.quick else (30, 500)
    print(f"edge-router benchmarks (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    use_local_credentials()  # the replayed and embedded DynamoDB accept any
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the embedded DynamoDB logs every request otherwise
    # Line-buffered, as the Lambda runtime's stdout: every log line is one write, for ours and the floor alike.
    with open(os.devnull, "w", buffering=1) as sink:
        section_floor(sink, bursts, size)
        section_growth(sink, bursts, size)
        section_refresh(sink, 3 if args.quick else 7)
        section_memory()
        with EmbeddedDynamoDB() as server:
            section_cold(server.endpoint_url, 3 if args.quick else 7)
        section_reads(sink, 20_000 if args.quick else 100_000)
    section_hostile(100 if args.quick else 400)
    return 0


if __name__ == "__main__":
    sys.exit(main())
