"""Shared fixtures: the AWS-documented events, and DynamoDB over real HTTP (the embedded emulator)."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_router.local.dynamodb import EmbeddedDynamoDB, create_mapping_table, dynamodb_client, use_local_credentials
from edge_router.sigv4 import BOTOCORE_CHAIN

ROOT = Path(__file__).resolve().parent.parent
AWS_EVENTS = ROOT.parent / "shared" / "events" / "aws-docs"
LOCAL_EVENTS = Path(__file__).resolve().parent / "fixtures" / "events"
_table_numbers = itertools.count()


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of a documented event (``origin-request`` ...), from shared/ or the local copy."""
    for folder in (AWS_EVENTS, LOCAL_EVENTS):
        path = folder / f"{name}.json"
        if path.exists():
            return copy.deepcopy(json.loads(path.read_text()))
    raise FileNotFoundError(name)


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """One embedded DynamoDB server for the test session (real HTTP on 127.0.0.1); it accepts any credentials."""
    use_local_credentials()
    with EmbeddedDynamoDB() as server:
        yield server.endpoint_url


@pytest.fixture
def ddb_client(dynamodb_endpoint: str) -> Any:
    return dynamodb_client(dynamodb_endpoint)


@pytest.fixture
def mapping_table(ddb_client: Any) -> str:
    """A new, empty mapping table with the template's key schema; returns its name."""
    name = f"mappings-{next(_table_numbers)}"
    create_mapping_table(ddb_client, name)
    return name


@pytest.fixture
def isolated_aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No AWS settings from this machine: no credentials in the environment, no instance metadata, empty config
    files in ``tmp_path`` (returned, to write a profile into), and botocore's chain walked afresh."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    BOTOCORE_CHAIN.clear()
    yield tmp_path
    BOTOCORE_CHAIN.clear()
