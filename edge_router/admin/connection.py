"""Where the admin commands connect and which origin rules they enforce: explicit option > environment > default.

Shared by ``mappings`` and ``resolve`` so both read the same table the same way. Every connection setting is
checked here, before botocore sees it, so a bad URL, region or timeout is a usage error, not a traceback. A
loopback endpoint is the local stack or DynamoDB Local: it gets dummy credentials (it accepts any) and the local
stack's origin rules (loopback ``host:port`` origins allowed), so the admin commands work there as they do on AWS.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from ..cache import COLD_REFRESH_DEADLINE
from ..config import TABLE_NAME_PATTERN
from ..local.dynamodb import is_local_endpoint, use_local_credentials
from ..mapping import DEFAULT_ALLOWED_SUFFIXES, LOCAL_ORIGINS_ENV, OriginRules, local_origins_enabled, parse_suffixes
from .aws import stack_call
from .checks import checked_region, checked_seconds, checked_url
from .errors import AdminError, UsageError
from .table import TableTarget

TABLE_ENV = "EDGE_ROUTER_TABLE"
SUFFIXES_ENV = "EDGE_ROUTER_ALLOWED_SUFFIXES"
ACTOR_ENV = "EDGE_ROUTER_ADMIN"
ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")
STACK_OUTPUT = "DynamoDBTableName"


TIMEOUT_HELP = "seconds per connect and per read, more than 0, at most 300 (default 3)"
ROUTER_TIMEOUT_HELP = (
    "seconds per connect, more than 0, at most 300 (default 3); the read itself ends by the router's own refresh "
    f"deadline ({COLD_REFRESH_DEADLINE:g} s), as at the edge"
)
"""``--timeout`` of a command that reads the table through the router (``resolve``)."""


def add_connection_options(parser: argparse.ArgumentParser, *, timeout_help: str = TIMEOUT_HELP) -> None:
    """The options every command that reads the table takes."""
    group = parser.add_argument_group("connection")
    group.add_argument("--table", help=f"mapping table name (env {TABLE_ENV})")
    group.add_argument("--stack", metavar="NAME", help=f"read the table name from this stack's {STACK_OUTPUT} output")
    group.add_argument(
        "--region",
        help="home region: reads and all writes go here (env AWS_REGION, then AWS_DEFAULT_REGION or the profile's)",
    )
    group.add_argument("--endpoint-url", help="DynamoDB endpoint (env AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL)")
    group.add_argument("--profile", help="AWS profile (env AWS_PROFILE)")
    group.add_argument("--timeout", type=float, default=3.0, help=timeout_help)
    rules = parser.add_argument_group("origin rules (as the router applies them)")
    rules.add_argument(
        "--allowed-suffix",
        action="append",
        metavar="PATTERN",
        help=f"allowed origin domain suffix, repeatable (env {SUFFIXES_ENV}, comma-separated; "
        f"default {', '.join(DEFAULT_ALLOWED_SUFFIXES)})",
    )
    rules.add_argument(
        "--allow-local-origins",
        action="store_true",
        help=f"allow loopback host:port origins, as the local stack does (also when {LOCAL_ORIGINS_ENV}=1, and always "
        "with a loopback --endpoint-url)",
    )


def origin_rules(
    args: argparse.Namespace, environ: Mapping[str, str] = os.environ, *, local_endpoint: bool = False
) -> OriginRules:
    """The allowlist from ``--allowed-suffix``, else the environment, else the router's default; loopback origins
    when asked for, or when the table is on a loopback endpoint (the local stack routes to them)."""
    texts: list[str] = args.allowed_suffix or [
        part for part in environ.get(SUFFIXES_ENV, "").split(",") if part.strip()
    ]
    try:
        suffixes = parse_suffixes(texts or list(DEFAULT_ALLOWED_SUFFIXES))
    except ValueError as error:
        raise UsageError(f"allowed suffix: {error}") from None
    allow_local = bool(args.allow_local_origins) or local_origins_enabled(environ) or local_endpoint
    return OriginRules(allowed_suffixes=suffixes, allow_local=allow_local)


def connect(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> tuple[TableTarget, OriginRules]:
    """The table and the origin rules for a command; on a loopback endpoint, dummy credentials unless real ones
    are set (the local stack and DynamoDB Local accept any)."""
    target = table_target(args, environ)
    local = is_local_endpoint(target.endpoint_url)
    if local:
        use_local_credentials()
    return target, origin_rules(args, environ, local_endpoint=local)


def actor(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """Who is writing, for ``updated_by``: ``--as``, else the environment, else ``user@host``."""
    if explicit or environ.get(ACTOR_ENV):
        return str(explicit or environ[ACTOR_ENV])
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def table_from_stack(cloudformation: Any, stack: str) -> str:
    """The ``DynamoDBTableName`` output of a CloudFormation stack (client injected, so tests stub it)."""
    stacks = stack_call(stack, lambda: cloudformation.describe_stacks(StackName=stack)["Stacks"])
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == STACK_OUTPUT:
            return str(output["OutputValue"])
    raise AdminError(f"stack {stack!r} has no {STACK_OUTPUT} output")


def table_target(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> TableTarget:
    """Resolve table, region and endpoint; ``UsageError`` when one is missing."""
    if args.profile:
        os.environ["AWS_PROFILE"] = args.profile  # botocore's default session, which PynamoDB uses, reads it
    region = args.region or environ.get("AWS_REGION") or _configured_region()
    if not region:
        raise UsageError("no region: pass --region or set AWS_REGION (the table's home region)")
    checked_region(region)
    endpoint = _endpoint(args, environ)
    if args.stack and args.table:
        raise UsageError("pass --table or --stack, not both")
    checked_seconds("--timeout", args.timeout)
    if args.stack:
        limits = Config(connect_timeout=args.timeout, read_timeout=args.timeout, retries={"total_max_attempts": 2})
        client = boto3.client("cloudformation", region_name=region, config=limits)
        table = table_from_stack(client, args.stack)
    else:
        table = args.table or environ.get(TABLE_ENV, "")
    if not table:
        raise UsageError(f"no table: pass --table or --stack, or set {TABLE_ENV}")
    if not TABLE_NAME_PATTERN.match(table):
        raise UsageError(f"table {table!r} is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)")
    return TableTarget(table, region, endpoint, timeout=args.timeout)


def _endpoint(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The endpoint URL, checked (botocore would raise ``ValueError`` deep inside the first call)."""
    found = [("--endpoint-url", args.endpoint_url)] + [(name, environ.get(name)) for name in ENDPOINT_ENVS]
    source, url = next(((source, url) for source, url in found if url), ("", None))
    return None if url is None else checked_url(source, url)


def _configured_region() -> str | None:
    """AWS_DEFAULT_REGION or the profile's region, as botocore resolves it."""
    try:
        region = botocore.session.Session().get_config_variable("region")
    except BotoCoreError as error:
        raise UsageError(str(error)) from None
    return str(region) if region else None
