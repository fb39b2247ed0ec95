"""``edge-router resolve``: which mapping the router would choose for some request headers, and why.

It builds the CloudFront origin-request event the distribution would send and runs the router's own ``handle`` on
it, so the answer is the router's, not a re-implementation: the chosen mapping, or the problem response.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from .. import config
from ..admin.connection import add_connection_options, origin_rules, table_target
from ..admin.errors import UsageError
from ..cf_events import origin_request_event
from ..errors import ConfigError
from ..log import JsonLogger
from ..router import Router
from ..store import StoreTimeouts
from .mappings import guarded


@dataclass(frozen=True, slots=True)
class Decision:
    """What the router answered, with the reasons it logged."""

    routed: bool
    status: int
    origin: dict[str, Any] = field(default_factory=dict)
    problem: dict[str, Any] = field(default_factory=dict)
    log: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        if self.routed:
            return {
                "routed": True,
                "mapping": self.log.get("version"),
                "header": self.log.get("header"),
                "key": self.log.get("key"),
                "origin": self.origin,
            }
        return {"routed": False, "status": self.status, "problem": self.problem, "cause": self.log.get("detail")}


def parse_header(text: str) -> tuple[str, str]:
    """``Name: value`` as curl's ``-H`` takes it."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or " " in name.strip():
        raise UsageError(f"-H {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def decide(router: Router, event: dict[str, Any], log: io.StringIO) -> Decision:
    """Run the router on one event and read its decision from the answer and its request log line."""
    result = router.handle(event)
    lines = [json.loads(line) for line in log.getvalue().splitlines() if line.strip()]
    logged: dict[str, Any] = next(
        (line for line in reversed(lines) if line.get("msg") in ("request", "misconfigured")), {}
    )
    if "status" in result:
        return Decision(False, int(result["status"]), problem=json.loads(result["body"]), log=logged)
    return Decision(True, 0, origin=result["origin"]["custom"], log=logged)


def render(decision: Decision, headers: list[tuple[str, str]]) -> str:
    if decision.routed:
        origin = decision.origin
        header = str(decision.log.get("header", ""))
        values = [value for name, value in headers if name.lower() == header] or [""]
        port = "" if origin["port"] in (80, 443) else f":{origin['port']}"
        return "\n".join(
            [
                f"routes to {origin['protocol']}://{origin['domainName']}{port}{origin['path']}",
                f"  mapping: {decision.log.get('version')}",
                f"  decided by: {header}: {', '.join(values)} (matched key {decision.log.get('key')})",
            ]
        )
    problem = decision.problem
    lines = [f"refused: {decision.status} {str(problem.get('type', '')).rsplit(':', 1)[-1]}"]
    lines.append(f"  detail: {problem.get('detail')}")
    if problem.get("supportedVersions"):
        lines.append(f"  supported versions: {', '.join(problem['supportedVersions'])}")
    if decision.log.get("detail"):
        lines.append(f"  cause: {decision.log['detail']}")
    return "\n".join(lines)


def _resolve(args: argparse.Namespace) -> int:
    headers = [parse_header(text) for text in args.header]
    rules = origin_rules(args)
    target = table_target(args)
    settings = {
        config.TABLE_NAME: target.table_name,
        config.HEADER_NAME: ",".join(args.header_name or [config.DEFAULT_HEADER]),
        config.TABLE_REGIONS: target.region,
        config.ALLOWED_ORIGIN_SUFFIXES: ",".join(str(pattern) for pattern in rules.allowed_suffixes),
    }
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
        logger=JsonLogger(log),
    )
    decision = decide(router, origin_request_event(uri=args.uri, headers=headers, settings=settings), log)
    if args.verbose:
        sys.stderr.write(log.getvalue())
    print(json.dumps(decision.as_json(), indent=2) if args.json else render(decision, headers))
    return 0 if decision.routed else 1


def register(subparsers: Any) -> None:
    """Add ``resolve``."""
    parser = subparsers.add_parser(
        "resolve",
        help="show which mapping the router would choose for some request headers",
        description="Run the router on a request with these headers and show its decision (exit 1 if it refuses).",
    )
    parser.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="repeatable")
    parser.add_argument(
        "--header-name",
        action="append",
        metavar="NAME",
        help="version header(s) in precedence order, as custom-apigw-header-name (default Accept)",
    )
    parser.add_argument("--uri", default="/", help="request path (default /)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the router's log lines on stderr")
    add_connection_options(parser)
    parser.set_defaults(run=guarded(_resolve))
