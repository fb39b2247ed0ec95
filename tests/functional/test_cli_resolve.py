"""``edge-router resolve`` against DynamoDB over HTTP: the router's own decision for given headers."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from edge_router.cli import main

pytestmark = pytest.mark.functional

API = "abc123.execute-api.us-east-1.amazonaws.com"
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"


@pytest.fixture
def base(dynamodb_endpoint: str, mapping_table: str, ddb_client: Any) -> list[str]:
    for key, path in ((V1, "/Prod/v1"), (V2, "/Prod/v2"), ("v3", "/Prod/v3")):
        ddb_client.put_item(TableName=mapping_table, Item={"hk": {"S": key}, "dn": {"S": API}, "dp": {"S": path}})
    return ["--table", mapping_table, "--region", "us-east-1", "--endpoint-url", dynamodb_endpoint]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_accept_header_routes(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    accept = f"text/html;q=0.9, {V2}"
    status, out, err = cli(capsys, "resolve", "-H", f"Accept: {accept}", *base)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        f"routes to https://{API}/Prod/v2",
        f"  mapping: {V2}",
        f"  decided by: accept: {accept} (matched key {V2})",
    ]


def test_custom_header_precedence_and_json(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    status, out, _ = cli(capsys, "resolve", "-H", f"Accept: {V1}", "-H", "APIVER: V3", "--header-name", "apiver",
                         "--header-name", "accept", "--json", *base)  # fmt: skip
    assert status == 0
    assert json.loads(out) == {
        "routed": True,
        "mapping": "v3",
        "header": "apiver",
        "key": "v3",
        "origin": json.loads(out)["origin"],
    }
    assert json.loads(out)["origin"]["domainName"] == API and json.loads(out)["origin"]["path"] == "/Prod/v3"


def test_unknown_version_prints_the_problem(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    status, out, _ = cli(capsys, "resolve", "-H", "Accept: application/vnd.example.v9+json", *base)
    assert status == 1
    assert out.splitlines() == [
        "refused: 403 unknown-version",
        "  detail: 'application/vnd.example.v9+json' is not a supported version.",
        f"  supported versions: {V1}, {V2}, v3",
    ]
    status, out, _ = cli(capsys, "resolve", "--json", *base)
    assert status == 1
    body = json.loads(out)
    assert (body["status"], body["problem"]["type"]) == (403, "urn:edge-router:problem:missing-version")


def test_verbose_shows_the_router_log(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    status, _, err = cli(capsys, "resolve", "-H", f"Accept: {V1}", "--verbose", *base)
    assert status == 0
    messages = [json.loads(line)["msg"] for line in err.splitlines()]
    assert messages == ["mappings loaded", "request"]


def test_missing_table_and_unreachable_endpoint(capsys: pytest.CaptureFixture[str], dynamodb_endpoint: str) -> None:
    status, out, _ = cli(capsys, "resolve", "-H", f"Accept: {V1}", "--table", "absent-table", "--region",
                         "us-east-1", "--endpoint-url", dynamodb_endpoint)  # fmt: skip
    assert status == 1
    assert out.startswith("refused: 503 mappings-unavailable")
    assert "ResourceNotFoundException" in out
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    status, out, _ = cli(capsys, "resolve", "--table", "any-table", "--region", "us-east-1", "--endpoint-url",
                         f"http://127.0.0.1:{port}", "--timeout", "0.3")  # fmt: skip
    assert status == 1 and out.startswith("refused: 503") and time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("args", "message"),
    [(["-H", "Accept"], "expected 'Name: value'"), (["--header-name", "host"], "cannot carry a version")],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], base: list[str], args: list[str], message: str) -> None:
    status, out, err = cli(capsys, "resolve", *args, *base)
    assert (status, out) == (2, "")
    assert message in err and err.count("\n") == 1
