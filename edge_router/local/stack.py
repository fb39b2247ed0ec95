"""The whole system on loopback: DynamoDB, seeding, the API Gateway emulator and the CloudFront emulator.

``LocalStack.start()`` brings the parts up in dependency order and ``stop()`` takes them down in reverse; the
``edge-router local`` command, the end-to-end tests and the load command all start it through this one path.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import shlex
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config, handler
from ..mapping import LOCAL_ORIGINS_ENV
from .apigateway import TemplateError, load_template
from .apiprocess import ApiGatewayProcess
from .cloudfront import CloudFront
from .distribution import Distribution
from .dynamodb import EmbeddedDynamoDB, create_mapping_table, dynamodb_client, is_local_endpoint, local_credentials
from .edge_cache import CachePolicy, EdgeCache
from .functionlog import FunctionOutput
from .http import bound_socket, serve_in_thread
from .persistence import TableFile
from .seeding import SeedMapping, seed
from .server import EdgeServer
from .server import start_server as start_edge_server

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
ENDPOINT_ENV = "AWS_ENDPOINT_URL_DYNAMODB"
LOCAL_METRICS_NAMESPACE = "EdgeRouter/local"
UNKNOWN = "application/vnd.example.v99+json"
"""scripts/smoke.sh's default value for the unknown-version check."""


class StackOptionsError(ValueError):
    """Options that contradict each other (``edge-router local`` exits 2)."""


@dataclass(frozen=True, slots=True)
class StackOptions:
    """What ``edge-router local`` can change; defaults are the template's parameter defaults."""

    host: str = "127.0.0.1"
    port: int = 8080
    api_port: int = 3000
    dynamodb_port: int = 8000
    dynamodb_endpoint: str | None = None
    table: str = "ApiVersionMapping"
    region: str = "us-east-1"
    header_name: str = config.DEFAULT_HEADER
    v1_value: str = V1
    v2_value: str = V2
    cache_ttl: float = 5.0
    seed: bool = True
    template: Path = DEFAULT_TEMPLATE
    edge_default_ttl: int | None = None
    """CloudFront's default TTL (``CacheDefaultTTL``); ``None``: the template parameter's default."""
    edge_max_ttl: int | None = None
    """CloudFront's maximum TTL (``CacheMaxTTL``); ``None``: the template parameter's default."""
    data_file: Path | None = None
    """Keep the table in this file between runs (embedded DynamoDB only); ``None``: in memory."""
    router_log: Path | None = None
    """Also append the router's log lines to this file (``paths.ROUTER_LOG`` for ``edge-router local``)."""

    def __post_init__(self) -> None:
        if self.data_file is not None and self.dynamodb_endpoint:
            raise StackOptionsError(
                "--persist and --data-file are for the embedded DynamoDB; an endpoint keeps its own data"
            )

    def parameters(self) -> dict[str, Any]:
        """The template parameters the local options override."""
        overrides: dict[str, Any] = {"ApiVersionHeaderName": self.header_name, "MappingCacheTTL": self.cache_ttl}
        if self.edge_default_ttl is not None:
            overrides["CacheDefaultTTL"] = self.edge_default_ttl
        if self.edge_max_ttl is not None:
            overrides["CacheMaxTTL"] = self.edge_max_ttl
        return overrides

    def settings(self, policy: CachePolicy) -> dict[str, str]:
        """The origin custom headers the local options decide (the others come from template.yaml's defaults)."""
        return {
            config.HEADER_NAME: self.header_name,
            config.TABLE_NAME: self.table,
            config.TABLE_REGIONS: self.region,
            config.CACHE_TTL: f"{self.cache_ttl:g}",
            # The deployed stack passes the cache behaviour's DefaultTTL too, so the origin-response function can
            # cap responses that carry no Cache-Control of their own.
            config.EDGE_DEFAULT_TTL: str(policy.default_ttl),
            # As the template with UsageMetrics=true (EdgeRouter/<stack name>): local log lines carry the same
            # metrics block, and `edge-router usage --local` reads them like CloudWatch's.
            config.METRICS_NAMESPACE: LOCAL_METRICS_NAMESPACE,
        }


def _check_port_free(host: str, port: int, option: str) -> None:
    """moto's threaded server waits forever when its port is taken, so the port is tried first."""
    if port != 0:
        bound_socket(host, port, option).close()


@dataclass
class LocalStack:
    """Starts and stops every part; process environment and ``sys.stdout`` changes are undone by ``stop()``."""

    options: StackOptions = field(default_factory=StackOptions)
    dynamodb_url: str = ""
    policy: CachePolicy = field(default_factory=CachePolicy)
    cache: EdgeCache = field(default_factory=EdgeCache)
    loaded_rows: int | None = None
    """Rows read from the table file at start (``None``: no file was there, or no file was asked for)."""
    _servers: list[tuple[EdgeServer, threading.Thread]] = field(default_factory=list, repr=False)
    _dynamodb: EmbeddedDynamoDB | None = field(default=None, repr=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)
    _edge: EdgeServer | None = field(default=None, repr=False)
    _api: ApiGatewayProcess | None = field(default=None, repr=False)
    _table_file: TableFile | None = field(default=None, repr=False)
    _output: FunctionOutput | None = field(default=None, repr=False)

    @property
    def edge_url(self) -> str:
        assert self._edge is not None
        return f"http://{self.options.host}:{self._edge.server_address[1]}"

    @property
    def api_url(self) -> str:
        assert self._api is not None
        return f"http://{self.options.host}:{self._api.port}"

    @property
    def seeded(self) -> bool:
        """Whether ``init_db`` ran (asked for, and no table file brought rows of its own)."""
        return self.options.seed and self.loaded_rows is None

    def start(self) -> LocalStack:
        """Start everything or nothing: any failure stops what was started and re-raises."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        opts = self.options
        template = load_template(opts.template)
        distribution = Distribution.from_template(template, opts.parameters())
        if "origin-request" not in distribution.handlers:
            raise TemplateError("the default cache behaviour has no origin-request function")
        self.policy = distribution.policy
        if self.policy.default_ttl > self.policy.max_ttl:
            raise TemplateError(
                f"the default TTL ({self.policy.default_ttl} s) exceeds the maximum TTL "
                f"({self.policy.max_ttl} s): lower --edge-default-ttl or raise --edge-max-ttl"
            )
        settings = {**distribution.settings, **opts.settings(self.policy)}
        origin_request = distribution.handlers["origin-request"]
        if opts.router_log is not None:
            self._output = FunctionOutput(sys.stdout)
            origin_request = self._output.logged(origin_request, opts.router_log)
        cloudfront = CloudFront(
            origin_request,
            settings,
            origin_response=distribution.handlers.get("origin-response"),
            policy=self.policy,
            cache=self.cache,
            allow_local_origins=True,
        )
        # Both front doors are bound first, so a taken port fails before anything slow starts.
        self._edge = start_edge_server(cloudfront, opts.host, opts.port)
        self._api = ApiGatewayProcess(opts.template, opts.host, opts.api_port)
        self._api.start()
        self.dynamodb_url = self._start_dynamodb()
        self._set_env(
            {
                ENDPOINT_ENV: self.dynamodb_url,
                LOCAL_ORIGINS_ENV: "1",
                "AWS_REGION": opts.region,
                "AWS_DEFAULT_REGION": opts.region,
                # The stack only talks to loopback; a proxy from the environment must not intercept it.
                "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"])),
            }
        )
        handler.reset_router()  # the router reads the endpoint and local-origin switch when it is built
        client = dynamodb_client(self.dynamodb_url, opts.region)
        create_mapping_table(client, opts.table)
        if opts.data_file is not None:
            self._table_file = TableFile(opts.data_file, client, opts.table)
            self.loaded_rows = self._table_file.load()
        if self.seeded:
            api_origin = f"{opts.host}:{self._api.port}"
            init_db: Callable[[dict[str, Any], Any], Any] = importlib.import_module("init_db.app").lambda_handler
            mappings = [
                SeedMapping(opts.v1_value, api_origin, "/Prod/v1"),
                SeedMapping(opts.v2_value, api_origin, "/Prod/v2"),
            ]
            seed(init_db, opts.table, mappings)
        if self._table_file is not None:
            self._table_file.save()
            self._table_file.watch()
        if self._output is not None:
            sys.stdout = self._output
        self._servers.append((self._edge, serve_in_thread(self._edge, "cloudfront")))

    def _start_dynamodb(self) -> str:
        opts = self.options
        if opts.dynamodb_endpoint is None or is_local_endpoint(opts.dynamodb_endpoint):
            # The embedded DynamoDB and DynamoDB Local accept any credentials; a real endpoint needs the user's own.
            self._set_env(local_credentials())
        if opts.dynamodb_endpoint:
            return opts.dynamodb_endpoint
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
        _check_port_free(opts.host, opts.dynamodb_port, "--dynamodb-port")
        self._dynamodb = EmbeddedDynamoDB(opts.host, opts.dynamodb_port)
        return self._dynamodb.start()

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def stop(self) -> None:
        """Stop every part that was started (safe to call twice, and after a failed start)."""
        for server, thread in reversed(self._servers):
            server.shutdown()
            thread.join(timeout=5)
        self._servers.clear()
        if self._edge is not None:
            self._edge.server_close()
        if self._api is not None:
            self._api.stop()
        if self._table_file is not None:
            with contextlib.suppress(Exception):  # the last save must not hide why the stack stopped
                self._table_file.stop()
            self._table_file = None
        if self._dynamodb is not None:
            self._dynamodb.stop()
            self._dynamodb = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        if self._output is not None:
            if sys.stdout is self._output:
                sys.stdout = self._output.terminal
            self._output.close_logs()
            self._output = None
        handler.reset_router()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def smoke_command(stack: LocalStack) -> str:
    """The ``scripts/smoke.sh`` command that passes against this stack: its header and values, when not the
    script's defaults."""
    opts = stack.options
    arguments: list[str] = []
    if opts.header_name.lower() != config.DEFAULT_HEADER.lower():
        arguments += ["--header-name", opts.header_name]
    for flag, value, default in (("--v1", opts.v1_value, V1), ("--v2", opts.v2_value, V2)):
        if value != default:
            arguments += [flag, value]
    if UNKNOWN in (opts.v1_value, opts.v2_value):
        arguments += ["--unknown", "no-such-version"]
    return shlex.join(["scripts/smoke.sh", *arguments, stack.edge_url])


def _table_note(stack: LocalStack) -> str:
    opts = stack.options
    if opts.data_file is None:
        kept = "in memory: gone when the stack stops (--persist keeps it)"
    elif stack.loaded_rows is None:
        kept = f"new file {opts.data_file}, saved on every change"
    else:
        kept = f"{stack.loaded_rows} rows loaded from {opts.data_file}, saved on every change"
    seeded = "seeded by init_db" if stack.seeded else "not seeded"
    return f"{seeded}; {kept}"


def banner(stack: LocalStack) -> str:
    """What ``edge-router local`` prints once ready: the URLs and ready-to-paste curl commands."""
    opts = stack.options
    edge = stack.edge_url
    header = opts.header_name
    policy = stack.policy
    lines = [
        "edge-router local stack is up (Ctrl-C stops it)",
        "",
        f"  CloudFront (edge)  {edge}  (cache: default TTL {policy.default_ttl} s, max TTL {policy.max_ttl} s)",
        f"  API Gateway        {stack.api_url}/Prod/v1/hello, {stack.api_url}/Prod/v2/hello",
        f"  DynamoDB           {stack.dynamodb_url}  table {opts.table} ({_table_note(stack)})",
        f"  version header     {header}: {opts.v1_value} | {opts.v2_value}  (mapping cache TTL {opts.cache_ttl:g} s)",
    ]
    if opts.router_log is not None:
        lines.append(f"  router log         {opts.router_log}")
    lines += [
        "",
        "Try:",
        f'  curl -i -H "{header}: {opts.v1_value}" {edge}/hello',
        f'  curl -i -H "{header}: {opts.v2_value}" {edge}/hello',
        f"  curl -i {edge}/hello",
        f"  {smoke_command(stack)}",
        "",
        f"ready: {edge}",
    ]
    return "\n".join(lines)
