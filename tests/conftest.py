"""Shared fixtures: the AWS-documented events, and DynamoDB over real HTTP (the embedded emulator)."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_router.local.dynamodb import EmbeddedDynamoDB, create_mapping_table, dynamodb_client

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
    """One embedded DynamoDB server for the test session (real HTTP on 127.0.0.1)."""
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
