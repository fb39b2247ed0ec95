"""The whole system on loopback: DynamoDB, seeding, the API Gateway emulator and the CloudFront emulator.

``LocalStack.start()`` brings the parts up in dependency order and ``stop()`` takes them down in reverse; the
``edge-router local`` command, the end-to-end tests and the load command all start it through this one path.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import config, handler
from ..mapping import LOCAL_ORIGINS_ENV, is_loopback_host
from .apigateway import ApiGateway, load_template
from .apigateway import start_server as start_api_server
from .cloudfront import CloudFront, origin_settings
from .cloudfront import start_server as start_edge_server
from .dynamodb import EmbeddedDynamoDB, create_mapping_table, dynamodb_client, use_local_credentials
from .http import LoopbackServer, PortInUseError, serve_in_thread
from .seeding import SeedMapping, seed

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
ENDPOINT_ENV = "AWS_ENDPOINT_URL_DYNAMODB"


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

    def settings(self) -> dict[str, str]:
        """The origin custom headers the local options decide (the others come from template.yaml's defaults)."""
        return {
            config.HEADER_NAME: self.header_name,
            config.TABLE_NAME: self.table,
            config.TABLE_REGIONS: self.region,
            config.CACHE_TTL: f"{self.cache_ttl:g}",
        }


def _check_port_free(host: str, port: int, option: str) -> None:
    """moto's threaded server waits forever when its port is taken, so the port is tried first."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port, option) from None
            raise


@dataclass
class LocalStack:
    """Starts and stops every part; process environment changes are undone by ``stop()``."""

    options: StackOptions = field(default_factory=StackOptions)
    dynamodb_url: str = ""
    _servers: list[tuple[LoopbackServer, threading.Thread]] = field(default_factory=list, repr=False)
    _dynamodb: EmbeddedDynamoDB | None = field(default=None, repr=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)
    _edge: LoopbackServer | None = field(default=None, repr=False)
    _api: LoopbackServer | None = field(default=None, repr=False)

    @property
    def edge_url(self) -> str:
        assert self._edge is not None
        return f"http://{self.options.host}:{self._edge.server_address[1]}"

    @property
    def api_url(self) -> str:
        assert self._api is not None
        return f"http://{self.options.host}:{self._api.server_address[1]}"

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
        gateway = ApiGateway.from_template(template, opts.template.parent)
        settings = {**origin_settings(template), **opts.settings()}
        # Both front doors are bound first, so a taken port fails before anything slow starts.
        self._edge = start_edge_server(
            CloudFront(handler.lambda_handler, settings, allow_local_origins=True), opts.host, opts.port
        )
        self._api = start_api_server(gateway, opts.host, opts.api_port)
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
        create_mapping_table(dynamodb_client(self.dynamodb_url, opts.region), opts.table)
        if opts.seed:
            api_origin = f"{opts.host}:{self._api.server_address[1]}"
            init_db: Callable[[dict[str, Any], Any], Any] = importlib.import_module("init_db.app").lambda_handler
            mappings = [
                SeedMapping(opts.v1_value, api_origin, "/Prod/v1"),
                SeedMapping(opts.v2_value, api_origin, "/Prod/v2"),
            ]
            seed(init_db, opts.table, mappings)
        for server, name in ((self._api, "apigateway"), (self._edge, "cloudfront")):
            self._servers.append((server, serve_in_thread(server, name)))

    def _start_dynamodb(self) -> str:
        opts = self.options
        if opts.dynamodb_endpoint:
            host = urlsplit(opts.dynamodb_endpoint).hostname or ""
            if is_loopback_host(host):
                use_local_credentials()  # DynamoDB Local accepts any; a real endpoint needs the user's own
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
        for bound in (self._edge, self._api):
            if bound is not None:
                bound.server_close()
        if self._dynamodb is not None:
            self._dynamodb.stop()
            self._dynamodb = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        handler.reset_router()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def banner(stack: LocalStack) -> str:
    """What ``edge-router local`` prints once ready: the URLs and ready-to-paste curl commands."""
    opts = stack.options
    edge = stack.edge_url
    header = opts.header_name
    seeded = "seeded by init_db" if opts.seed else "not seeded"
    lines = [
        "edge-router local stack is up (Ctrl-C stops it)",
        "",
        f"  CloudFront (edge)  {edge}",
        f"  API Gateway        {stack.api_url}/Prod/v1/hello, {stack.api_url}/Prod/v2/hello",
        f"  DynamoDB           {stack.dynamodb_url}  table {opts.table} ({seeded})",
        f"  version header     {header}: {opts.v1_value} | {opts.v2_value}  (mapping cache TTL {opts.cache_ttl:g} s)",
        "",
        "Try:",
        f'  curl -i -H "{header}: {opts.v1_value}" {edge}/hello',
        f'  curl -i -H "{header}: {opts.v2_value}" {edge}/hello',
        f"  curl -i {edge}/hello",
        f"  scripts/smoke.sh {edge}",
        "",
        f"ready: {edge}",
    ]
    return "\n".join(lines)
