"""An embedded DynamoDB-compatible server over real HTTP on loopback (moto's server), and table creation.

The table is created with the template's key schema (hash key ``hk``, string; on-demand billing).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3

from ..mapping import is_loopback_host

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
"""The emulator accepts any credentials; these keep botocore from searching for real ones."""


def local_credentials(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The dummy credentials to set: each of ``LOCAL_CREDENTIALS`` that ``environ`` does not configure already."""
    return {name: value for name, value in LOCAL_CREDENTIALS.items() if name not in environ}


def use_local_credentials() -> None:
    """Give botocore dummy credentials for the rest of the process unless real ones are configured (the emulator
    ignores them); the local stack sets them for its own life only."""
    os.environ.update(local_credentials())


def is_local_endpoint(url: str | None) -> bool:
    """An endpoint on this machine (the local stack, DynamoDB Local): it accepts any credentials."""
    return url is not None and is_loopback_host(urlsplit(url).hostname or "")


@dataclass
class EmbeddedDynamoDB:
    """moto's DynamoDB server in a thread on ``host:port`` (port 0 picks a free one). Its clients need credentials
    of some kind (``use_local_credentials``); the server leaves the environment alone."""

    host: str = "127.0.0.1"
    port: int = 0
    _server: Any = field(default=None, init=False, repr=False)

    def start(self) -> str:
        """Start serving; returns the endpoint URL."""
        from moto.server import ThreadedMotoServer  # imported here: only the local stack and tests need moto

        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.port = self._server._server.server_address[1]
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EmbeddedDynamoDB:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dynamodb_client(endpoint_url: str | None, region: str = "us-east-1") -> Any:
    """A low-level DynamoDB client for an endpoint (``None``: the region's real endpoint)."""
    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)


def create_mapping_table(client: Any, table_name: str) -> None:
    """Create the mapping table as template.yaml defines it, and wait until it is active. Idempotent."""
    try:
        client.create_table(
            TableName=table_name,
            KeySchema=[{"AttributeName": "hk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "hk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except client.exceptions.ResourceInUseException:
        return
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
