"""``edge-router usage``: requests per version and outcome, deprecated clients and last seen, across regions."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from ..admin.checks import checked_region, checked_seconds
from ..admin.errors import AdminError, UsageError
from ..admin.usage import (
    EDGE_LOG_GROUP_PREFIX,
    EDGE_REGIONS,
    NAMESPACE_PREFIX,
    PRICE_PER_GB_INGESTED,
    PRICE_PER_GB_SCANNED,
    PRICE_PER_METRIC_MONTH,
    STACK_REGION,
    AwsTarget,
    UsageReport,
    VersionUsage,
    function_from_stack,
    gather,
    parse_since,
    read_log,
    summarize,
    version_filter,
)
from ..local.paths import ROUTER_LOG
from .errors import guarded

WIDTH = 120
"""The table fits a 120-column terminal."""
MAX_VERSION_WIDTH = 36
"""Longer versions are cut in the table (``--json`` has them whole)."""
MAX_QUERY_TIMEOUT = 3600.0
"""Logs Insights stops a query after 60 minutes anyway."""
_AWS_OPTIONS = (
    "stack",
    "namespace",
    "function_name",
    "log_group",
    "no_logs",
    "regions",
    "profile",
    "timeout",
    "query_timeout",
)
"""The options of the AWS group: refused with --local and --log-file (their defaults are applied in ``_aws``)."""
DEFAULT_TIMEOUT = 10.0
DEFAULT_QUERY_TIMEOUT = 60.0


def _number(value: int) -> str:
    return f"{value:,}"


def _time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if moment else "-"


def _clients(report: UsageReport, version: VersionUsage) -> str:
    if version.clients is None:
        return "-"
    return ("~" if report.clients_approximate else "") + _number(version.clients)


def _size(count: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} bytes"


def _dollars(amount: float) -> str:
    return "under $0.0001" if 0 < amount < 0.0001 else f"${amount:.4f}"


def _heading(report: UsageReport) -> str:
    span = f"from {_time(report.window.start)} to {_time(report.window.end)}"
    if report.log is not None:
        return f"usage in {report.log.path} {span}"
    with_requests = sum(1 for source in report.sources if source.total)
    failed = f", {len(report.failed)} failed" if report.failed else ""
    return f"usage in {report.namespace} {span}: {len(report.sources)} regions, {with_requests} with requests{failed}"


def render_table(report: UsageReport, width: int = WIDTH) -> str:
    """The aligned table, most requests first, wrapping only the outcome breakdown to keep within ``width``."""
    header = ("VERSION", "REQUESTS", "SHARE", "OUTCOMES", "DEPR. CLIENTS", "LAST SEEN")
    rows = [
        (
            version.version,
            _number(version.requests),
            f"{report.share(version):.1f}%",
            [f"{outcome} {_number(count)}" for outcome, count in version.outcomes.items()],
            _clients(report, version),
            _time(version.last_seen),
        )
        for version in report.versions
    ]
    partial = f"partial: {len(report.failed)} of {len(report.sources)} regions failed" if report.partial else ""
    rows.append(("TOTAL", _number(report.total), "100%" if report.total else "-", [partial], "", ""))
    texts = [(row[0], row[1], row[2], ", ".join(row[3]), row[4], row[5]) for row in rows]
    widths = [max(len(row[column]) for row in [header, *texts]) for column in range(len(header))]
    widths[0] = min(widths[0], MAX_VERSION_WIDTH)
    widths[3] = max(len(header[3]), min(widths[3], width - (sum(widths) - widths[3] + 2 * (len(header) - 1))))
    lines = ["  ".join(name.ljust(size) for name, size in zip(header, widths, strict=True)).rstrip()]
    for row in rows:
        version = row[0] if len(row[0]) <= widths[0] else row[0][: widths[0] - 3] + "..."
        outcomes = _wrap_items(row[3], widths[3])
        cells = [version.ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2])]
        cells += [outcomes[0].ljust(widths[3]), row[4].rjust(widths[4]), row[5]]
        lines.append("  ".join(cells).rstrip())
        lines.extend(" " * (sum(widths[:3]) + 6) + more for more in outcomes[1:])
    return "\n".join(lines)


def _wrap_items(items: list[str], width: int) -> list[str]:
    """``a 1, b 2, c 3`` over as many lines as ``width`` needs, never breaking inside an item."""
    lines = [""]
    for index, item in enumerate(items):
        piece = item + ("," if index < len(items) - 1 else "")
        if lines[-1] and len(lines[-1]) + 1 + len(piece) > width:
            lines.append(piece)
        else:
            lines[-1] = f"{lines[-1]} {piece}".lstrip()
    return lines


def _cost_lines(report: UsageReport) -> list[str]:
    metrics = report.metric_count
    monthly = metrics * PRICE_PER_METRIC_MONTH
    if report.log is None:
        scanned = report.bytes_scanned
        return [
            f"cost: {metrics} custom metrics (version x outcome, counted per region) = ${monthly:.2f} a month at "
            f"${PRICE_PER_METRIC_MONTH:.2f} per metric-month; Logs Insights scanned {_size(scanned)} = "
            f"{_dollars(scanned / 1e9 * PRICE_PER_GB_SCANNED)} at ${PRICE_PER_GB_SCANNED} per GB (us-east-1 prices)"
        ]
    log = report.log
    lines = [
        f"read {log.path}: {_number(log.request_lines)} request lines in the window ({_number(log.emf_lines)} with "
        f"metrics), {_number(log.malformed)} malformed lines skipped"
    ]
    if log.untimed:
        lines.append(f"{_number(log.untimed)} request lines carry no time (no metrics namespace): counted anyway")
    if log.request_lines:
        average = log.request_bytes / log.request_lines
        per_million = average * 1e6 / 1e9 * PRICE_PER_GB_INGESTED
        makes = "makes" if log.emf_lines else "would make, with a metrics namespace,"
        lines.append(
            f"cost: in AWS this traffic {makes} {metrics} custom metrics (version x outcome) in each region that "
            f"serves it (${monthly:.2f} a month there); request lines average {average:.0f} bytes, ${per_million:.2f} "
            f"per million requests ingested at ${PRICE_PER_GB_INGESTED:.2f} per GB (us-east-1 prices)"
        )
    return lines


def render(report: UsageReport) -> str:
    """The whole text output: heading, table (or a line saying there were no requests) and footnotes."""
    footnotes = []
    if report.clients_approximate and any(version.clients is not None for version in report.versions):
        footnotes.append(
            "~ deprecated clients: distinct keyed client ids per region (Logs Insights count_distinct, approximate "
            "for many clients), summed over regions: a client seen in two regions, or on both sides of a canary "
            "split, counts twice"
        )
    footnotes += _cost_lines(report) + [f"note: {note}" for note in report.notes]
    body = render_table(report) if report.versions else "no requests in this window"
    heading, *footnotes = (
        textwrap.fill(line, WIDTH, subsequent_indent="  ", break_on_hyphens=False)
        for line in [_heading(report), *footnotes]
    )
    return "\n".join([heading, body, *footnotes])


def _given(value: object) -> bool:
    """An option on the command line: not its default (``None``, or ``False`` for a flag); ``--timeout 0`` is."""
    return value is not None and value is not False and value != ""


def _local(args: argparse.Namespace, version: str | None) -> UsageReport:
    given = [f"--{name.replace('_', '-')}" for name in _AWS_OPTIONS if _given(getattr(args, name))]
    if given:
        raise UsageError(f"{given[0]} is for AWS; --local and --log-file read the local stack's log")
    path = Path(args.log_file or ROUTER_LOG)
    now = datetime.now(UTC)
    window = parse_since(args.since, now)
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            usage, stats = read_log(lines, window, str(path), version)
    except FileNotFoundError:
        raise AdminError(
            f"no router log at {path}: start the local stack (edge-router local) or pass --log-file"
        ) from None
    except OSError as error:
        raise AdminError(f"cannot read {path}: {error.strerror or error}") from None
    return UsageReport(window, summarize([usage], version), (usage,), "local", log=stats)


def _regions(text: str | None) -> tuple[str, ...]:
    if text is None:
        return EDGE_REGIONS
    regions = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not regions:
        raise UsageError("--regions names no region")
    for region in regions:
        checked_region(region, "--regions:")
    return regions


def _aws(args: argparse.Namespace, version: str | None) -> UsageReport:
    if not (args.stack or args.namespace):
        raise UsageError("pass --stack NAME (or --namespace NS), or --local / --log-file for the local stack")
    timeout = checked_seconds("--timeout", DEFAULT_TIMEOUT if args.timeout is None else args.timeout)
    query_timeout = DEFAULT_QUERY_TIMEOUT if args.query_timeout is None else args.query_timeout
    checked_seconds("--query-timeout", query_timeout, MAX_QUERY_TIMEOUT)
    regions = _regions(args.regions)
    now = datetime.now(UTC)
    window = parse_since(args.since, now)
    retries = {"mode": "standard", "total_max_attempts": 3}
    limits = Config(connect_timeout=timeout, read_timeout=timeout, retries=retries)
    try:
        session = boto3.session.Session(profile_name=args.profile)
    except BotoCoreError as error:
        raise AdminError(str(error)) from None
    namespace, function = args.namespace, args.function_name
    if args.stack:
        cloudformation = session.client("cloudformation", region_name=STACK_REGION, config=limits)
        stack, found = function_from_stack(cloudformation, args.stack)
        namespace, function = namespace or NAMESPACE_PREFIX + stack, function or found
    log_group = None if args.no_logs else args.log_group or (EDGE_LOG_GROUP_PREFIX + function if function else None)

    def client_for(service: str, region: str) -> Any:
        return session.client(service, region_name=region, config=limits)

    target = AwsTarget(namespace, log_group, regions)
    return gather(target, window, client_for, now=now, version=version, query_timeout=query_timeout)


def _usage(args: argparse.Namespace) -> int:
    version = version_filter(args.version)
    report = _local(args, version) if args.local or args.log_file else _aws(args, version)
    for source in report.failed:
        print(f"edge-router: warning: {source.name}: {'; '.join(source.errors)}", file=sys.stderr)
    print(json.dumps(report.as_json(), indent=2) if args.json else render(report), flush=True)
    return 0


def register(subparsers: Any) -> None:
    """Add ``usage``."""
    parser = subparsers.add_parser(
        "usage",
        help="requests per version and outcome, deprecated clients and last seen (CloudWatch or the local log)",
        description="Sum the router's usage metrics over every Lambda@Edge region (or read the local stack's log) "
        "and print requests, share, outcomes, distinct clients of deprecated versions and when each was last seen.",
    )
    parser.add_argument("--since", default="7d", help="7d, 24h, 30m or an ISO 8601 date/time (default 7d)")
    parser.add_argument("--version", metavar="KEY", help="only this version (its key, or '(none)' for refusals)")
    parser.add_argument("--json", action="store_true", help="machine-readable output (per outcome and per region)")
    local = parser.add_argument_group("local stack")
    local.add_argument("--local", action="store_true", help=f"read the local stack's log ({ROUTER_LOG})")
    local.add_argument("--log-file", metavar="PATH", help="read this router log (JSON lines) instead")
    aws = parser.add_argument_group("AWS")
    aws.add_argument("--stack", metavar="NAME", help="the deployed stack: namespace EdgeRouter/NAME, its function")
    aws.add_argument("--namespace", metavar="NS", help="CloudWatch namespace of the metrics (overrides --stack's)")
    aws.add_argument("--function-name", metavar="NAME", help="the router function (for its edge log groups)")
    aws.add_argument("--log-group", metavar="NAME", help=f"log group name (default {EDGE_LOG_GROUP_PREFIX}FUNCTION)")
    aws.add_argument("--no-logs", action="store_true", help="skip Logs Insights (no clients; no scan charges)")
    aws.add_argument(
        "--regions", metavar="R1,R2", help=f"regions to read (default the {len(EDGE_REGIONS)} Lambda@Edge regions)"
    )
    aws.add_argument("--profile", help="AWS profile (env AWS_PROFILE)")
    aws.add_argument(
        "--timeout", type=float, help=f"seconds per connect and read (default {DEFAULT_TIMEOUT:g}, at most 300)"
    )
    aws.add_argument(
        "--query-timeout",
        type=float,
        help=f"seconds a Logs Insights query may take (default {DEFAULT_QUERY_TIMEOUT:g}, at most 3600)",
    )
    parser.set_defaults(run=guarded(_usage))
