"""Usage per version, from CloudWatch in every region Lambda@Edge runs in, or from the local stack's router log.

Each request line the router writes carries a ``requests`` count by ``version`` and ``outcome`` in Embedded Metric
Format, and lines of deprecated versions carry the keyed anonymous ``client`` id. In AWS the metrics are created,
and the lines stored, in the region where the function ran; this module sums them across regions (CloudWatch
``GetMetricData`` for counts, Logs Insights for distinct deprecated clients and the last request). Locally it reads
the same lines from the log file. Nothing here prints: the ``usage`` command renders the ``UsageReport``.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import MappingError
from ..lifecycle import format_instant
from ..log import DIMENSIONS, METRIC_NAME, NO_VERSION
from ..mapping import validate_key
from .aws import error_code, error_text, stack_call
from .errors import AdminError, UsageError

EDGE_REGIONS: tuple[str, ...] = (
    # Regions with a CloudFront regional edge cache, where Lambda@Edge runs (the Origin Shield region list of the
    # CloudFront Developer Guide: "CloudFront offers Origin Shield in AWS Regions where CloudFront has a regional
    # edge cache"; with Origin Shield on, origin-request functions run in the Origin Shield region, one of these).
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
    # Listed with a regional edge cache elsewhere (us-west-1), or enabled by default in every account and so free
    # to check in case CloudFront added one there: an empty region costs a few API calls and is skipped quietly.
    "us-west-1",
    "ca-central-1",
    "eu-west-3",
    "eu-north-1",
    "ap-northeast-3",
)
"""Where ``usage`` looks by default (``--regions`` overrides)."""
STACK_REGION = "us-east-1"
"""Lambda@Edge functions, and so the stack, live in us-east-1."""
FUNCTION_RESOURCE = "EdgeRouterFunction"
"""The template's logical id of the router function."""
NAMESPACE_PREFIX = "EdgeRouter/"
"""The template's metrics namespace is ``EdgeRouter/<stack name>``."""
EDGE_LOG_GROUP_PREFIX = "/aws/lambda/us-east-1."
"""Lambda@Edge logs to ``/aws/lambda/us-east-1.<function>`` in every region it runs in."""
DEPRECATED = "deprecated"
# us-east-1 list prices (Amazon CloudWatch pricing page; other regions differ): they make the cost lines visible.
PRICE_PER_METRIC_MONTH = 0.30
"""First 10,000 custom metrics, per metric-month."""
PRICE_PER_GB_SCANNED = 0.005
"""Logs Insights, per GB of log data scanned."""
PRICE_PER_GB_INGESTED = 0.50
"""CloudWatch Logs standard class, per GB ingested."""
METRICS_PER_CALL = 500
"""GetMetricData takes at most 500 metric queries per call."""
LIST_METRICS_LOOKBACK = timedelta(days=14)
"""ListMetrics only returns metrics that received data in the past two weeks."""
INSIGHTS_QUERY = (
    'filter msg = "request" and ispresent(version)'
    " | fields ispresent(client) as keyed"
    " | stats count(*) as requests, count_distinct(client) as clients, max(@timestamp) as lastSeen"
    " by version, outcome, keyed"
)
"""One scan per region: requests, distinct keyed client ids (only lines of deprecated versions carry one) and the
last request, per version and outcome. Grouping by ``keyed`` keeps lines without a client out of the distinct
count. The scan costs the same whatever it computes, so it also counts requests: they stand in for the metrics
in a region that has none (the stack deployed with ``UsageMetrics=false``)."""
QUERY_DONE_FAILED = frozenset({"Failed", "Cancelled", "Timeout", "Unknown"})
_SINCE = re.compile(r"(\d+)([dhm])\Z")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}

ClientFactory = Callable[[str, str], Any]
"""``(service, region) -> botocore client``: injected so tests pass stubbed clients."""


@dataclass(frozen=True, slots=True)
class Window:
    """The time range a report covers: ``start <= t <= end``."""

    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


def parse_since(text: str, now: datetime) -> Window:
    """``7d``, ``24h``, ``30m`` before ``now``, or an ISO 8601 date or time (UTC unless it says otherwise)."""
    match = _SINCE.match(text.strip())
    if match:
        amount = int(match.group(1))
        if amount == 0:
            raise UsageError(f"--since {text!r}: the window is empty")
        try:
            return Window(now - timedelta(**{_UNITS[match.group(2)]: amount}), now)
        except OverflowError:
            raise UsageError(f"--since {text!r} reaches back before the year 1") from None
    try:
        start = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r}: expected 7d, 24h, 30m or an ISO 8601 date such as 2026-05-01") from None
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    if start >= now:
        raise UsageError(f"--since {text!r} is not in the past")
    return Window(start, now)


def version_filter(text: str | None) -> str | None:
    """The ``--version`` key in the form the router logs it (normalised), or ``(none)`` for refused requests."""
    if text is None or text == NO_VERSION:
        return text
    try:
        return validate_key(text)
    except MappingError as error:
        raise UsageError(f"--version: {error.message}") from None


@dataclass
class SourceUsage:
    """What one region (or the local log) says: requests per (version, outcome), clients and last request."""

    name: str
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    clients: dict[str, int] = field(default_factory=dict)
    last_seen: dict[str, datetime] = field(default_factory=dict)
    metrics: int = 0
    """Custom metrics (version x outcome series) this source holds: what CloudWatch bills for."""
    logged: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Requests per (version, outcome) as Logs Insights counted them."""
    counted_from: str = "metrics"
    """Where ``requests`` came from: ``metrics``, ``logs`` (a region without metrics) or ``log file``."""
    bytes_scanned: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def saw(self, version: str, moment: datetime) -> None:
        """Record a request of ``version`` at ``moment`` (the latest one is kept)."""
        latest = self.last_seen.get(version)
        if latest is None or moment > latest:
            self.last_seen[version] = moment

    def add(self, other: SourceUsage) -> None:
        """Add another part's figures (distinct clients are summed: a client seen in both counts twice)."""
        self.requests.update(other.requests)
        self.logged.update(other.logged)
        for key, count in other.clients.items():
            self.clients[key] = self.clients.get(key, 0) + count
        for key, moment in other.last_seen.items():
            self.saw(key, moment)
        self.metrics += other.metrics
        self.bytes_scanned += other.bytes_scanned

    def as_json(self) -> dict[str, Any]:
        outcomes: Counter[str] = Counter()
        for (_version, outcome), count in self.requests.items():
            outcomes[outcome] += count
        return {
            "region": self.name,
            "requests": self.total,
            "outcomes": _by_count(outcomes),
            "counted_from": self.counted_from,
            "metrics": self.metrics,
            "insights_bytes_scanned": round(self.bytes_scanned),
            "errors": list(self.errors),
        }


@dataclass(frozen=True, slots=True)
class VersionUsage:
    """One version's figures, summed over every source."""

    version: str
    outcomes: dict[str, int]
    clients: int | None
    """Distinct clients on lines of the deprecated version; ``None`` when it had none."""
    last_seen: datetime | None

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True, slots=True)
class LogStats:
    """What reading the local log found besides the requests."""

    path: str
    request_lines: int
    malformed: int
    untimed: int
    request_bytes: int
    emf_lines: int


@dataclass(frozen=True)
class UsageReport:
    """The usage table's data, sorted by requests (most first)."""

    window: Window
    versions: tuple[VersionUsage, ...]
    sources: tuple[SourceUsage, ...]
    mode: Literal["aws", "local"]
    namespace: str = ""
    log_group: str = ""
    clients_approximate: bool = False
    notes: tuple[str, ...] = ()
    log: LogStats | None = None

    @property
    def total(self) -> int:
        return sum(version.requests for version in self.versions)

    @property
    def failed(self) -> tuple[SourceUsage, ...]:
        return tuple(source for source in self.sources if source.errors)

    @property
    def partial(self) -> bool:
        return bool(self.failed)

    @property
    def metric_count(self) -> int:
        return sum(source.metrics for source in self.sources)

    @property
    def bytes_scanned(self) -> float:
        return sum(source.bytes_scanned for source in self.sources)

    def share(self, version: VersionUsage) -> float:
        return 100.0 * version.requests / self.total if self.total else 0.0

    def as_json(self) -> dict[str, Any]:
        """The machine-readable report: the table's data plus per-outcome and per-region figures and costs."""
        document: dict[str, Any] = {
            "source": self.mode,
            "since": _iso(self.window.start),
            "until": _iso(self.window.end),
            "partial": self.partial,
            "total_requests": self.total,
            "versions": [
                {
                    "version": version.version,
                    "requests": version.requests,
                    "share": round(self.share(version), 2),
                    "outcomes": version.outcomes,
                    "deprecated_clients": version.clients,
                    "last_seen": _iso(version.last_seen) if version.last_seen else None,
                }
                for version in self.versions
            ],
            "deprecated_clients_approximate": self.clients_approximate,
            "regions": [source.as_json() for source in self.sources],
            "costs": {
                "custom_metrics": self.metric_count,
                "custom_metrics_usd_per_month": round(self.metric_count * PRICE_PER_METRIC_MONTH, 2),
                "insights_bytes_scanned": round(self.bytes_scanned),
                "insights_usd": round(self.bytes_scanned / 1e9 * PRICE_PER_GB_SCANNED, 6),
            },
            "notes": list(self.notes),
        }
        if self.mode == "aws":
            document.update(namespace=self.namespace, log_group=self.log_group or None)
        if self.log is not None:
            document["log_file"] = {
                "path": self.log.path,
                "request_lines": self.log.request_lines,
                "malformed_lines": self.log.malformed,
                "lines_without_time": self.log.untimed,
                "request_line_bytes": self.log.request_bytes,
                "lines_with_metrics": self.log.emf_lines,
            }
        return document


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    """Most first, ties by name, so the same figures always print the same way."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _iso(moment: datetime) -> str:
    return format_instant(math.floor(moment.timestamp()))


def summarize(sources: Iterable[SourceUsage], version: str | None = None) -> tuple[VersionUsage, ...]:
    """The sources summed per version, most requests first; with ``version``, only that one."""
    total = SourceUsage("total")
    for source in sources:
        total.add(source)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for (key, outcome), count in total.requests.items():
        outcomes[key][outcome] += count
    keys = set(outcomes) | set(total.clients) | set(total.last_seen)
    if version is not None:
        keys &= {version}
    versions = [
        VersionUsage(
            key,
            _by_count(outcomes[key]),
            total.clients.get(key) if total.clients.get(key) or outcomes[key][DEPRECATED] else None,
            total.last_seen.get(key),
        )
        for key in keys
    ]
    return tuple(sorted(versions, key=lambda usage: (-usage.requests, usage.version)))


# --- the local stack's log --------------------------------------------------------------------------------------


def _request_fields(line: str) -> dict[str, Any] | None:
    """The JSON object of a request line; ``None`` for anything else that is valid JSON (other log lines)."""
    document = json.loads(line)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    if document.get("msg") != "request":
        return None
    if not isinstance(document.get("version"), str) or not isinstance(document.get("outcome"), str):
        raise ValueError("a request line without version and outcome")
    return document


def _line_time(document: Mapping[str, Any]) -> datetime | None:
    """When the request was logged: the EMF timestamp (milliseconds), which only lines with metrics carry."""
    metadata = document.get("_aws")
    stamp = metadata.get("Timestamp") if isinstance(metadata, dict) else None
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp / 1000, UTC)
    return None


def read_log(
    lines: Iterable[str], window: Window, path: str, version: str | None = None
) -> tuple[SourceUsage, LogStats]:
    """Usage from router log lines (of one ``version`` only, if given). Malformed lines are skipped and counted;
    lines without a time (written with no metrics namespace) cannot be placed in the window, so they count
    whatever the window is."""
    usage = SourceUsage("local", counted_from="log file")
    client_ids: dict[str, set[str]] = defaultdict(set)
    request_lines = malformed = untimed = request_bytes = emf_lines = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            document = _request_fields(line)
        except ValueError:
            malformed += 1
            continue
        if document is None:
            continue
        key, outcome = document["version"], document["outcome"]
        moment = _line_time(document)
        if (version is not None and key != version) or (moment is not None and not window.contains(moment)):
            continue
        untimed += moment is None
        request_lines += 1
        request_bytes += len(line.encode()) + (0 if line.endswith("\n") else 1)
        usage.requests[key, outcome] += 1
        emf_lines += "_aws" in document
        if isinstance(document.get("client"), str):
            client_ids[key].add(document["client"])
        if moment is not None:
            usage.saw(key, moment)
    usage.clients = {key: len(ids) for key, ids in client_ids.items()}
    usage.metrics = len(usage.requests)  # one custom metric per version x outcome (lines without EMF: would be)
    return usage, LogStats(path, request_lines, malformed, untimed, request_bytes, emf_lines)


# --- CloudWatch ---------------------------------------------------------------------------------------------------


def function_from_stack(cloudformation: Any, stack: str) -> tuple[str, str]:
    """``(stack name, function name)``: the physical id of the stack's ``EdgeRouterFunction``."""
    resources = stack_call(
        stack, lambda: cloudformation.describe_stack_resources(StackName=stack, LogicalResourceId=FUNCTION_RESOURCE)
    )
    for resource in resources.get("StackResources", []):
        if resource.get("PhysicalResourceId"):
            return str(resource["StackName"]), str(resource["PhysicalResourceId"])
    raise AdminError(f"stack {stack!r} has no {FUNCTION_RESOURCE} resource")


def metric_period(window: Window, now: datetime) -> int:
    """The finest period CloudWatch keeps for the window's start that needs at most 1,440 points per metric.

    CloudWatch keeps 1-minute data for 15 days, 5-minute data for 63 days and 1-hour data for 455 days.
    """
    age = now - window.start
    span = (window.end - window.start).total_seconds()
    for period, kept in ((60, 15), (300, 63), (3600, 455)):
        if age <= timedelta(days=kept) and span / period <= 1440:
            return period
    return 86_400


def region_metrics(cloudwatch: Any, namespace: str, window: Window, period: int, version: str | None) -> SourceUsage:
    """One region's ``requests`` sums per (version, outcome) over the window, and when each version last had one.

    ListMetrics finds the series (it pages by 500); GetMetricData reads them 500 at a time, following NextToken
    when a call returns more than its data-point limit.
    """
    usage = SourceUsage(cloudwatch.meta.region_name)
    filters = [{"Name": "version", "Value": version}] if version is not None else []
    series: list[tuple[str, str]] = []
    for page in cloudwatch.get_paginator("list_metrics").paginate(
        Namespace=namespace, MetricName=METRIC_NAME, Dimensions=filters
    ):
        for metric in page.get("Metrics", []):
            dimensions = {item["Name"]: item["Value"] for item in metric.get("Dimensions", [])}
            if set(dimensions) == set(DIMENSIONS):
                series.append((dimensions["version"], dimensions["outcome"]))
    usage.metrics = len(series)
    for first in range(0, len(series), METRICS_PER_CALL):
        batch = series[first : first + METRICS_PER_CALL]
        queries = [
            {
                "Id": f"m{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": METRIC_NAME,
                        "Dimensions": [{"Name": "version", "Value": key}, {"Name": "outcome", "Value": outcome}],
                    },
                    "Period": period,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for index, (key, outcome) in enumerate(batch)
        ]
        request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": window.start, "EndTime": window.end}
        while True:
            response = cloudwatch.get_metric_data(**request)
            for result in response.get("MetricDataResults", []):
                if result.get("StatusCode") in ("InternalError", "Forbidden"):
                    raise AdminError(f"GetMetricData: {result['StatusCode']} for {result.get('Label', '')}")
                key, outcome = batch[int(result["Id"][1:])]
                for moment, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    if value > 0:
                        usage.requests[key, outcome] += round(value)
                        usage.saw(key, moment.astimezone(UTC))
            if not response.get("NextToken"):
                break
            request["NextToken"] = response["NextToken"]
    return usage


def _parse_insights_time(text: str) -> datetime:
    """Logs Insights prints ``@timestamp`` values as ``2026-05-28 20:26:40.123`` (UTC)."""
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def region_logs(
    logs: Any,
    log_group: str,
    window: Window,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
    cancelled: threading.Event | None = None,
) -> SourceUsage:
    """One region's requests, distinct deprecated clients and last request per version, from one Logs Insights
    query (the requests land in ``logged``: the metrics' count is the one the report uses where there is one).

    A region without the log group (the function never ran there) is an empty result. The query is polled until
    it completes, with a growing pause, for at most ``timeout`` seconds; then it is stopped and the region fails.
    Once ``cancelled`` is set (Ctrl-C), the pause ends at once, the query is stopped and the region fails.
    """
    cancelled = cancelled or threading.Event()
    pause_for = sleep or cancelled.wait
    usage = SourceUsage(logs.meta.region_name)
    if cancelled.is_set():
        raise AdminError("interrupted before the Logs Insights query started")
    try:
        query_id = logs.start_query(
            logGroupName=log_group,
            startTime=int(window.start.timestamp()),
            endTime=math.ceil(window.end.timestamp()),
            queryString=INSIGHTS_QUERY,
            limit=10_000,
        )["queryId"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return usage
        raise
    deadline = clock() + timeout
    pause = 0.5
    while True:
        response = logs.get_query_results(queryId=query_id)
        status = response.get("status")
        if status == "Complete":
            break
        if status in QUERY_DONE_FAILED:
            raise AdminError(f"Logs Insights query {query_id} ended {status}")
        if clock() + pause > deadline:
            _stop_query(logs, query_id)
            raise AdminError(f"Logs Insights query still {status} after {timeout:g} s (--query-timeout)")
        pause_for(pause)
        if cancelled.is_set():
            _stop_query(logs, query_id)
            raise AdminError(f"interrupted: Logs Insights query {query_id} stopped")
        pause = min(pause * 2, 5.0)
    usage.bytes_scanned = float(response.get("statistics", {}).get("bytesScanned", 0.0))
    for row in response.get("results", []):
        cells = {cell.get("field"): cell.get("value") for cell in row}
        key = cells.get("version")
        if not key:
            continue
        try:
            usage.logged[key, cells.get("outcome") or ""] += int(float(cells.get("requests") or 0))
            if cells.get("lastSeen"):
                usage.saw(key, _parse_insights_time(cells["lastSeen"]))
            # ispresent() comes back as "1" or "0" (some consoles show true/false): accept both spellings.
            if str(cells.get("keyed", "")).lower() in ("1", "true") and cells.get("clients"):
                usage.clients[key] = usage.clients.get(key, 0) + int(float(cells["clients"]))
        except ValueError:
            raise AdminError(f"Logs Insights returned a row this tool cannot read: {cells}") from None
    return usage


def _stop_query(logs: Any, query_id: str) -> None:
    """Best effort: a query left running keeps scanning (and billing) until it ends by itself."""
    with contextlib.suppress(ClientError, BotoCoreError):
        logs.stop_query(queryId=query_id)


@dataclass(frozen=True, slots=True)
class AwsTarget:
    """Where the usage of one deployment lives."""

    namespace: str
    log_group: str | None
    regions: tuple[str, ...] = EDGE_REGIONS


def gather(
    target: AwsTarget,
    window: Window,
    client_for: ClientFactory,
    *,
    now: datetime,
    version: str | None = None,
    query_timeout: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
) -> UsageReport:
    """Query every region in parallel (metrics and logs each in their own thread) and sum what they say.

    A region that fails is named in its ``SourceUsage.errors`` and the report is partial; if every region fails,
    ``AdminError`` carries the first failure (missing credentials, say). On Ctrl-C the jobs not started are
    dropped, every Logs Insights poll stops its query at once, and ``KeyboardInterrupt`` goes on without waiting
    for them (calls in flight end by their own timeouts).
    """
    if not target.regions:
        raise UsageError("no region to read")
    period = metric_period(window, now)
    cancelled = threading.Event()
    # Clients are built here, not in the threads: building botocore clients is not thread-safe.
    clients = {
        region: (client_for("cloudwatch", region), client_for("logs", region) if target.log_group else None)
        for region in target.regions
    }

    def metrics_job(region: str) -> SourceUsage:
        return region_metrics(clients[region][0], target.namespace, window, period, version)

    def logs_job(region: str) -> SourceUsage:
        assert target.log_group is not None
        logs = clients[region][1]
        return region_logs(
            logs, target.log_group, window, timeout=query_timeout, clock=clock, sleep=sleep, cancelled=cancelled
        )

    jobs: list[tuple[str, str, Callable[[str], SourceUsage]]] = [(r, "metrics", metrics_job) for r in target.regions]
    if target.log_group:
        jobs += [(region, "logs", logs_job) for region in target.regions]
    merged = {region: SourceUsage(region) for region in target.regions}
    answered: set[tuple[str, str]] = set()
    pool = ThreadPoolExecutor(max_workers=min(32, len(jobs)), thread_name_prefix="usage")
    try:
        futures = [(region, kind, pool.submit(job, region)) for region, kind, job in jobs]
        for region, kind, future in futures:
            try:
                part = future.result()
            except (ClientError, BotoCoreError, AdminError) as error:
                merged[region].errors.append(f"{kind}: {error_text(error)}")
                continue
            merged[region].add(part)
            answered.add((region, kind))
    except BaseException:  # Ctrl-C above all: stop the polls, drop what has not started, do not wait
        cancelled.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    sources = tuple(merged.values())
    if not answered:
        first = sources[0]
        raise AdminError(f"no region answered; {first.name}: {first.errors[0]}")
    without_metrics = [s.name for s in sources if (s.name, "metrics") in answered and not s.metrics and s.logged]
    for source in sources:
        if source.name in without_metrics:
            source.requests.update(source.logged)
            source.counted_from = "logs"
    notes = []
    if without_metrics:
        notes.append(f"no usage metrics in {', '.join(without_metrics)}: requests counted from the logs there")
    if now - window.start > LIST_METRICS_LOOKBACK:
        notes.append("versions with no requests in the last 14 days are missing (ListMetrics looks back 14 days)")
    if target.log_group is None:
        notes.append("no Logs Insights query: deprecated clients are not counted, last seen is a metric period's start")
    return UsageReport(
        window,
        summarize(sources, version),
        sources,
        "aws",
        namespace=target.namespace,
        log_group=target.log_group or "",
        clients_approximate=target.log_group is not None,
        notes=tuple(notes),
    )
