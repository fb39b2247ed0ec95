"""Connection options: explicit option > environment > default, and the stack output lookup (stubbed client)."""

from __future__ import annotations

import argparse
import os

import boto3
import pytest
from botocore.stub import Stubber

from edge_router.admin.checks import checked_region
from edge_router.admin.connection import (
    actor,
    add_connection_options,
    connect,
    origin_rules,
    table_from_stack,
    table_target,
)
from edge_router.admin.errors import AdminError, UsageError


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_connection_options(parser)
    return parser.parse_args(list(args))


def test_options_win_over_environment() -> None:
    environ = {"EDGE_ROUTER_TABLE": "env-table", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://env:1"}
    target = table_target(parse("--table", "opt", "--region", "us-east-2", "--endpoint-url", "http://opt:2"), environ)
    assert (target.table_name, target.region, target.endpoint_url) == ("opt", "us-east-2", "http://opt:2")
    target = table_target(parse(), {**environ, "AWS_ENDPOINT_URL_DYNAMODB": "http://ddb:3"})
    assert (target.table_name, target.region, target.endpoint_url) == ("env-table", "eu-west-1", "http://ddb:3")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "us-east-1"], "no table"),
        (["--table", "t", "--stack", "s", "--region", "us-east-1"], "not both"),
        *(
            (["--table", "ttt", "--region", "us-east-1", f"--timeout={value}"], "--timeout must be a number of seconds")
            for value in ("0", "-1", "nan", "inf", "-inf", "301")
        ),
        (["--table", "t", "--region", "us-east-1"], "'t' is not a DynamoDB table name"),
        (["--table", "ttt", "--region", "bad region"], "region 'bad region' is not an AWS region name"),
        (["--table", "ttt", "--region", "Mars-1"], "region 'Mars-1' is not an AWS region name"),
        (["--table", "ttt", "--region", "us-east-1", "--endpoint-url", "notaurl"], "must be an http:// or https://"),
        (["--table", "ttt", "--region", "us-east-1", "--endpoint-url", "ftp://h"], "must be an http:// or https://"),
        (["--table", "ttt", "--region", "us-east-1", "--endpoint-url", "http://[::1"], "not a URL: Invalid IPv6 URL"),
        (["--table", "ttt", "--region", "us-east-1", "--endpoint-url", "http://h:99999"], "not a URL: Port out of"),
        (["--table", "ttt", "--region", "us-east-1", "--endpoint-url", "http://"], "must be an http:// or https://"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        table_target(parse(*args), {})


def test_a_bad_endpoint_from_the_environment_names_the_variable() -> None:
    with pytest.raises(UsageError, match="AWS_ENDPOINT_URL_DYNAMODB 'notaurl' must be"):
        table_target(parse("--table", "ttt", "--region", "us-east-1"), {"AWS_ENDPOINT_URL_DYNAMODB": "notaurl"})
    target = table_target(parse("--table", "ttt", "--region", "us-east-1"), {"AWS_ENDPOINT_URL": "http://[::1]:8000"})
    assert target.endpoint_url == "http://[::1]:8000"


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_a_loopback_endpoint_gets_dummy_credentials_and_local_origins(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    target, rules = connect(parse("--table", "ttt", "--region", "us-east-1", "--endpoint-url", endpoint), {})
    assert target.endpoint_url == endpoint and rules.allow_local
    assert (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]) == ("local", "local")


def test_real_credentials_are_kept_and_remote_endpoints_get_no_local_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    url = "https://dynamodb.eu-west-1.amazonaws.com"
    _target, rules = connect(parse("--table", "ttt", "--region", "eu-west-1", "--endpoint-url", url), {})
    assert not rules.allow_local
    assert "AWS_SECRET_ACCESS_KEY" not in os.environ
    _target, rules = connect(parse("--table", "ttt", "--region", "us-east-1", "--endpoint-url", "http://[::1]:1"), {})
    assert os.environ["AWS_ACCESS_KEY_ID"] == "mine" and rules.allow_local


def test_origin_rules_sources() -> None:
    assert [str(p) for p in origin_rules(parse("--allowed-suffix", "example.com"), {}).allowed_suffixes] == [
        "example.com"
    ]
    rules = origin_rules(parse(), {"EDGE_ROUTER_ALLOWED_SUFFIXES": "a.example, b.example"})
    assert [str(p) for p in rules.allowed_suffixes] == ["a.example", "b.example"]
    assert not rules.allow_local
    assert origin_rules(parse(), {"EDGE_ROUTER_ALLOW_LOCAL_ORIGINS": "1"}).allow_local
    assert origin_rules(parse("--allow-local-origins"), {}).allow_local
    with pytest.raises(UsageError, match="allowed suffix"):
        origin_rules(parse("--allowed-suffix", "*"), {})


def test_actor() -> None:
    assert actor("alice", {"EDGE_ROUTER_ADMIN": "bob"}) == "alice"
    assert actor(None, {"EDGE_ROUTER_ADMIN": "bob"}) == "bob"
    assert "@" in actor(None, {})


def test_stack_outputs_with_a_stubbed_client() -> None:
    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        outputs = [{"OutputKey": "Other", "OutputValue": "x"}, {"OutputKey": "DynamoDBTableName", "OutputValue": "t"}]
        stub.add_response("describe_stacks", {"Stacks": [_stack(outputs)]}, {"StackName": "edge"})
        assert table_from_stack(client, "edge") == "t"
        stub.add_response("describe_stacks", {"Stacks": [_stack([])]}, {"StackName": "edge"})
        with pytest.raises(AdminError, match="has no DynamoDBTableName output"):
            table_from_stack(client, "edge")
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id gone does not exist")
        with pytest.raises(AdminError, match="stack 'gone': ValidationError: Stack with id gone does not exist"):
            table_from_stack(client, "gone")


def _stack(outputs: list[dict[str, str]]) -> dict[str, object]:
    return {
        "StackName": "edge",
        "CreationTime": "2025-01-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": outputs,
    }


@pytest.mark.parametrize("region", ["us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-4", "eusc-de-east-1"])
def test_every_kind_of_aws_region_name_is_accepted(region: str) -> None:
    assert checked_region(region) == region
