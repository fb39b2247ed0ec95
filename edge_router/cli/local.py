"""``edge-router local``: the whole system on 127.0.0.1 until Ctrl-C (the work is in ``edge_router.local.stack``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path
from types import FrameType
from typing import Any

from ..admin.checks import checked_url
from ..admin.errors import UsageError
from ..local.paths import ROUTER_LOG, TABLE_FILE
from ..local.stack import DEFAULT_TEMPLATE, V1, V2, StackOptions, StackOptionsError
from .errors import print_error


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local",
        help="run DynamoDB, seeding, API Gateway and CloudFront emulators on 127.0.0.1",
        description="Run the whole system on loopback; no AWS account needed. Ctrl-C stops it.",
    )
    defaults = StackOptions()
    parser.add_argument(
        "--port", type=_port, default=defaults.port, help="CloudFront emulator port (default %(default)s)"
    )
    parser.add_argument(
        "--api-port",
        type=_port,
        default=defaults.api_port,
        help="API Gateway emulator port, 0 = free (default %(default)s)",
    )
    parser.add_argument(
        "--dynamodb-port",
        type=_port,
        default=defaults.dynamodb_port,
        help="embedded DynamoDB port, 0 = free (default %(default)s)",
    )
    parser.add_argument(
        "--dynamodb-endpoint",
        metavar="URL",
        help="use this DynamoDB instead of the embedded one (DynamoDB Local, or "
        "https://dynamodb.REGION.amazonaws.com); the table is created if missing",
    )
    parser.add_argument("--table", default=defaults.table, help="mapping table name (default %(default)s)")
    parser.add_argument("--region", default=defaults.region, help="table region (default %(default)s)")
    parser.add_argument("--header-name", default=defaults.header_name, help="version header (default %(default)s)")
    parser.add_argument("--v1-value", default=V1, help="header value seeded for v1 (default %(default)s)")
    parser.add_argument("--v2-value", default=V2, help="header value seeded for v2 (default %(default)s)")
    parser.add_argument(
        "--cache-ttl",
        type=float,
        default=defaults.cache_ttl,
        help="seconds the router caches the table (default %(default)s)",
    )
    parser.add_argument(
        "--no-seed", dest="seed", action="store_false", help="keep the table's rows; do not run init_db"
    )
    parser.add_argument(
        "--edge-default-ttl",
        type=_seconds,
        metavar="SECONDS",
        help="CloudFront's TTL for answers without Cache-Control (default: the template's CacheDefaultTTL, 0)",
    )
    parser.add_argument(
        "--edge-max-ttl",
        type=_seconds,
        metavar="SECONDS",
        help="CloudFront's upper bound on any answer's TTL (default: the template's CacheMaxTTL, 86400)",
    )
    persistence = parser.add_mutually_exclusive_group()
    persistence.add_argument(
        "--persist",
        action="store_const",
        const=TABLE_FILE,
        dest="data_file",
        help=f"keep the table in {TABLE_FILE} between runs (seeded only when the file does not exist yet)",
    )
    persistence.add_argument(
        "--data-file", type=Path, metavar="PATH", help="keep the table in PATH between runs (as --persist)"
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template with the API routes")
    parser.add_argument("--ready-file", type=Path, help="write the edge URL to this file once serving")
    parser.set_defaults(run=run)


def _port(text: str) -> int:
    """A TCP port number, 0 to 65535 (0: a free one)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535; 0 picks a free one)")
    return int(text)


def _seconds(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds")
    return int(text)


def _options(args: argparse.Namespace) -> StackOptions:
    """The stack's options from the command line (each option is the field of the same name), checked before
    anything starts: ``UsageError`` or ``StackOptionsError`` say what is wrong."""
    if args.dynamodb_endpoint is not None:
        checked_url("--dynamodb-endpoint", args.dynamodb_endpoint)
    if args.edge_max_ttl is not None and args.edge_max_ttl < 1:
        raise UsageError("--edge-max-ttl must be at least 1 (CloudFront cannot key on headers without caching)")
    given = {option.name: getattr(args, option.name) for option in fields(StackOptions) if hasattr(args, option.name)}
    return StackOptions(**given, router_log=ROUTER_LOG)


def run(args: argparse.Namespace) -> int:
    from ..local.apigateway import TemplateError
    from ..local.apiprocess import ApiGatewayError
    from ..local.http import PortInUseError
    from ..local.persistence import PersistenceError
    from ..local.seeding import SeedingError
    from ..local.stack import LocalStack, banner

    try:
        options = _options(args)
    except (UsageError, StackOptionsError) as error:
        print_error(str(error))
        return 2
    stop = threading.Event()

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # while starting: start() stops what it started, main() says "interrupted"

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()  # while serving: the loop below ends, and the stack stops in order

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = LocalStack(options)
    ready_file: Path | None = None
    try:
        try:
            stack.start()
        except SeedingError as error:
            print_error(f"seeding failed: {error}")
            return 1
        except (PortInUseError, PersistenceError, TemplateError, ApiGatewayError) as error:
            print_error(str(error))
            return 1

        for sig in previous:
            signal.signal(sig, on_signal)
        print(banner(stack), flush=True)
        if args.ready_file:
            partial = args.ready_file.with_name(args.ready_file.name + ".partial")
            partial.write_text(stack.edge_url + "\n")
            partial.replace(args.ready_file)  # atomic: a waiting script never reads half a URL
            ready_file = args.ready_file
        while not stop.wait(0.5):
            pass
        print("stopping", file=sys.stderr, flush=True)
        return 0
    finally:
        stack.stop()
        if ready_file is not None:  # the URL it names serves no more
            ready_file.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
