"""init_db against DynamoDB over HTTP (embedded emulator): Create, Update with a changed key, Delete, outages.

The endpoint reaches the function the way it would in any non-AWS setting: botocore's standard
``AWS_ENDPOINT_URL_DYNAMODB`` variable (the function itself passes no endpoint).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from edge_router.model import bind_model
from init_db import app
from tests.init_db_helpers import API, STACK_ID, V1, V2, FakeContext, cfn_event, mappings, response_server

pytestmark = pytest.mark.functional
OWNER = f"cloudformation:{STACK_ID}"


@pytest.fixture(autouse=True)
def endpoint(monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return dynamodb_endpoint


def rows(ddb_client: Any, table: str) -> dict[str, dict[str, str]]:
    items = ddb_client.scan(TableName=table)["Items"]
    return {item["hk"]["S"]: {name: next(iter(value.values())) for name, value in item.items()} for item in items}


def test_create_writes_both_rows_through_the_model(ddb_client: Any, mapping_table: str) -> None:
    with response_server() as sink:
        app.lambda_handler(cfn_event("Create", sink.url, mapping_table), FakeContext())
    assert sink.last["Status"] == "SUCCESS"
    assert sink.last["PhysicalResourceId"] == f"SeedVersionMappings:{mapping_table}"
    stored = rows(ddb_client, mapping_table)
    assert set(stored) == {V1, V2}
    assert stored[V1]["dn"] == API
    assert stored[V1]["dp"] == "/Prod/v1"
    assert stored[V2]["dp"] == "/Prod/v2"
    assert stored[V1]["updated_by"] == OWNER
    assert stored[V1]["updated_at"]
    model = bind_model(mapping_table, "us-east-1")
    assert model.get(V1).revision == 1


def test_create_is_idempotent(ddb_client: Any, mapping_table: str) -> None:
    for _ in range(2):
        with response_server() as sink:
            app.lambda_handler(cfn_event("Create", sink.url, mapping_table), FakeContext())
        assert sink.last["Status"] == "SUCCESS"
    assert set(rows(ddb_client, mapping_table)) == {V1, V2}
    assert bind_model(mapping_table, "us-east-1").get(V2).revision == 2


def test_update_with_a_changed_key_removes_the_old_row(ddb_client: Any, mapping_table: str) -> None:
    with response_server() as sink:
        app.lambda_handler(cfn_event("Create", sink.url, mapping_table), FakeContext())
        created_id = sink.last["PhysicalResourceId"]
        update = cfn_event(
            "Update", sink.url, mapping_table, rows=mappings(v2="v2"), old_rows=mappings(), physical_id=created_id
        )
        app.lambda_handler(update, FakeContext())
    assert sink.last["Status"] == "SUCCESS"
    assert sink.last["PhysicalResourceId"] == created_id
    assert set(rows(ddb_client, mapping_table)) == {V1, "v2"}


def test_update_keeps_an_old_row_an_admin_changed_since(ddb_client: Any, mapping_table: str) -> None:
    with response_server() as sink:
        app.lambda_handler(cfn_event("Create", sink.url, mapping_table), FakeContext())
        item = bind_model(mapping_table, "us-east-1").get(V2)
        item.updated_by = "cli:admin"
        item.save()
        update = cfn_event("Update", sink.url, mapping_table, rows=mappings(v2="v2"), old_rows=mappings())
        app.lambda_handler(update, FakeContext())
    assert sink.last["Status"] == "SUCCESS"
    assert set(rows(ddb_client, mapping_table)) == {V1, V2, "v2"}


def test_delete_leaves_the_rows(ddb_client: Any, mapping_table: str) -> None:
    with response_server() as sink:
        app.lambda_handler(cfn_event("Create", sink.url, mapping_table), FakeContext())
        app.lambda_handler(cfn_event("Delete", sink.url, mapping_table, physical_id="x"), FakeContext())
    assert sink.last["Status"] == "SUCCESS"
    assert set(rows(ddb_client, mapping_table)) == {V1, V2}


def test_a_missing_table_fails_with_a_dynamodb_reason(mapping_table: str) -> None:
    with response_server() as sink:
        app.lambda_handler(cfn_event("Create", sink.url, f"{mapping_table}-missing"), FakeContext())
    assert sink.last["Status"] == "FAILED"
    assert sink.last["Reason"].startswith("DynamoDB: ")


def test_unreachable_dynamodb_fails_fast_and_still_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{closed}")
    with response_server() as sink:
        app.lambda_handler(cfn_event("Create", sink.url, "unreachable-table"), FakeContext())
    assert sink.last["Status"] == "FAILED"
    assert sink.last["Reason"].startswith("DynamoDB: ")
    assert sink.last["PhysicalResourceId"] == "SeedVersionMappings:unreachable-table"
