"""``edge-router resolve``: which mapping the router would choose for some request headers, why, and what clients see.

It builds the CloudFront origin-request event the distribution would send and runs the router's own ``handle`` on
it, so the answer is the router's, not a re-implementation: the chosen mapping, the rule and canary side from its
request log line, or the problem response. For a routed request it then runs the real origin-response function
(``response.handle``) on a representative origin answer, with the route context the router left in the
``api-version-route`` request header, and shows the response headers clients will get. Rows the router skipped
while loading the table are listed with its reasons, so a missing version is never a mystery.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from .. import config, response
from ..admin.connection import ROUTER_TIMEOUT_HELP, add_connection_options, connect
from ..admin.errors import UsageError
from ..cf_events import header_lines, origin_request_event, origin_response_event
from ..errors import ConfigError
from ..lifecycle import format_instant, parse_instant
from ..log import JsonLogger
from ..router import Router
from ..store import StoreTimeouts
from .errors import guarded

HASH_KEY_ENV = "EDGE_ROUTER_HASH_KEY"
"""The distribution's ``custom-apigw-hash-key``, so the canary side shown is the one clients get (a secret: never
an option, which would show in ``ps`` and shell history)."""
DEFAULT_CLIENT_IP = "203.0.113.178"
ORIGIN_ANSWER = (200, "OK", (("Content-Type", "application/json"),))
"""The representative origin answer the response headers are shown for: a 200 with JSON and no ``Cache-Control``,
as the sample backends send."""
_RULE_NOTES = {"date": ": the newest version dated on or before the one asked for"}


@dataclass(frozen=True, slots=True)
class Decision:
    """What the router answered, with the reasons it logged and the headers the client gets."""

    routed: bool
    status: int
    origin: dict[str, Any] = field(default_factory=dict)
    problem: dict[str, Any] = field(default_factory=dict)
    log: dict[str, Any] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()
    skipped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        common = {
            "responseHeaders": _joined(self.headers),
            "skippedRows": list(self.skipped),
            "warnings": list(self.warnings),
        }
        if self.routed:
            return {
                "routed": True,
                "mapping": self.log.get("version"),
                "header": self.log.get("header"),
                "key": self.log.get("key"),
                "rule": self.log.get("rule"),
                "side": self.log.get("side"),
                "origin": self.origin,
                **common,
            }
        return {
            "routed": False,
            "status": self.status,
            "problem": self.problem,
            "cause": self.log.get("detail"),
            **common,
        }


def _joined(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Response headers by name; repeated ones (``Link``) joined with commas, as RFC 9110 §5.3 allows."""
    joined: dict[str, str] = {}
    for name, value in headers:
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined


def parse_header(text: str) -> tuple[str, str]:
    """``Name: value`` as curl's ``-H`` takes it."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or " " in name.strip():
        raise UsageError(f"-H {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def decide(router: Router, event: dict[str, Any], log: io.StringIO, now: float) -> Decision:
    """Run the router on one event, read its decision from the answer and its log lines, and for a routed request
    run the origin-response function on the representative origin answer."""
    result = router.handle(event)
    lines = [json.loads(line) for line in log.getvalue().splitlines() if line.strip()]
    logged: dict[str, Any] = next(
        (line for line in reversed(lines) if line.get("msg") in ("request", "misconfigured")), {}
    )
    skipped = tuple(row for line in lines if line.get("msg") == "mapping rows skipped" for row in line.get("rows", ()))
    warnings = tuple(str(line.get("detail")) for line in lines if line.get("msg") == "mapping table")
    if "status" in result:
        return Decision(
            False,
            int(result["status"]),
            problem=json.loads(result["body"]),
            log=logged,
            headers=tuple(header_lines(result["headers"])),
            skipped=skipped,
            warnings=warnings,
        )
    status, reason, origin_headers = ORIGIN_ANSWER
    annotated = response.handle(origin_response_event(result, status, reason, origin_headers), clock=lambda: now)
    return Decision(
        True,
        int(annotated["status"]),
        origin=result["origin"]["custom"],
        log=logged,
        headers=tuple(header_lines(annotated["headers"])),
        skipped=skipped,
        warnings=warnings,
    )


def _decided_by(decision: Decision, headers: list[tuple[str, str]]) -> str:
    """The header and value that chose the version, and the rule (``exact``, ``date``, ``default``)."""
    rule = str(decision.log.get("rule", "exact"))
    header = str(decision.log.get("header", ""))
    if not header:
        return f"no header named a version (rule {rule}: the default version)"
    values = [value for name, value in headers if name.lower() == header] or [""]
    return f"{header}: {', '.join(values)} (rule {rule}{_RULE_NOTES.get(rule, '')}, key {decision.log.get('key')})"


def render(decision: Decision, headers: list[tuple[str, str]]) -> str:
    if decision.routed:
        origin = decision.origin
        port = "" if origin["port"] in (80, 443) else f":{origin['port']}"
        lines = [
            f"routes to {origin['protocol']}://{origin['domainName']}{port}{origin['path']}",
            f"  mapping: {decision.log.get('version')}",
            f"  decided by: {_decided_by(decision, headers)}",
            f"  side: {decision.log.get('side', 'main')}",
            "  response headers (the origin-response function on a 200 application/json answer from the origin):",
        ]
    else:
        problem = decision.problem
        lines = [f"refused: {decision.status} {str(problem.get('type', '')).rsplit(':', 1)[-1]}"]
        lines.append(f"  detail: {problem.get('detail')}")
        if problem.get("supportedVersions"):
            lines.append(f"  supported versions: {', '.join(problem['supportedVersions'])}")
        if decision.log.get("detail"):
            lines.append(f"  cause: {decision.log['detail']}")
        lines.append("  response headers:")
    lines.extend(f"    {name}: {value}" for name, value in decision.headers)
    if decision.skipped:
        lines.append(f"  note: the router skipped {len(decision.skipped)} row(s) of the table:")
        lines.extend(f"    {reason}" for reason in decision.skipped)
    lines.extend(f"  note: {warning}" for warning in decision.warnings)
    return "\n".join(lines)


def _client_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise UsageError(f"--client-ip {text!r} is not an IPv4 or IPv6 address") from None


def _instant(text: str | None) -> float:
    if text is None:
        return time.time()
    try:
        return float(parse_instant(text))
    except ValueError as error:
        raise UsageError(f"--at: {error}") from None


def _resolve(args: argparse.Namespace) -> int:
    headers = [parse_header(text) for text in args.header]
    client_ip = _client_ip(args.client_ip)
    now = _instant(args.at)
    target, rules = connect(args)
    settings = {
        config.TABLE_NAME: target.table_name,
        config.HEADER_NAME: ",".join(args.header_name or [config.DEFAULT_HEADER]),
        config.TABLE_REGIONS: target.region,
        config.ALLOWED_ORIGIN_SUFFIXES: ",".join(str(pattern) for pattern in rules.allowed_suffixes),
    }
    if args.canary_key:
        settings[config.CANARY_KEY] = args.canary_key
    if os.environ.get(HASH_KEY_ENV):
        settings[config.HASH_KEY] = os.environ[HASH_KEY_ENV]
    try:
        config.build_config(settings, allow_local_origins=rules.allow_local)
    except ConfigError as error:
        raise UsageError(error.message) from None
    log = io.StringIO()
    router = Router(
        executing_region=target.region,
        endpoint_url=target.endpoint_url,
        allow_local_origins=rules.allow_local,
        timeouts=StoreTimeouts(connect=target.timeout, retries=1),
        wall_clock=lambda: now,
        logger=JsonLogger(log),
    )
    event = origin_request_event(uri=args.uri, headers=headers, settings=settings, client_ip=client_ip)
    decision = decide(router, event, log, now)
    if args.verbose:
        sys.stderr.write(log.getvalue())
    if args.json:
        print(json.dumps({**decision.as_json(), "at": format_instant(int(now))}, indent=2))
    else:
        print(render(decision, headers))
    return 0 if decision.routed else 1


def register(subparsers: Any) -> None:
    """Add ``resolve``."""
    parser = subparsers.add_parser(
        "resolve",
        help="show which mapping the router would choose for some request headers",
        description="Run the router on a request with these headers and show its decision, the rule that made it, "
        "the canary side and the response headers clients get (exit 1 if it refuses).",
    )
    parser.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="repeatable")
    parser.add_argument(
        "--header-name",
        action="append",
        metavar="NAME",
        help="version header(s) in precedence order, as custom-apigw-header-name (default Accept)",
    )
    parser.add_argument(
        "--canary-key",
        metavar="HEADER",
        help="request header that keys the canary split, as custom-apigw-canary-key (default: the client IP); "
        f"give its value with -H. The hash key comes from {HASH_KEY_ENV}",
    )
    parser.add_argument("--client-ip", default=DEFAULT_CLIENT_IP, metavar="IP", help="the viewer's address")
    parser.add_argument("--at", metavar="WHEN", help="resolve as at this instant (UTC ISO 8601; default now)")
    parser.add_argument("--uri", default="/", help="request path (default /)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the router's log lines on stderr")
    add_connection_options(parser, timeout_help=ROUTER_TIMEOUT_HELP)
    parser.set_defaults(run=guarded(_resolve))
