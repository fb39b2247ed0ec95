"""init_db without DynamoDB: validation failures, Delete, malformed events, and the response PUT with retries.

Every answer is received by a real HTTP server on loopback, as CloudFormation's pre-signed URL would receive it.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from edge_router.mapping import LOCAL_ORIGINS_ENV
from init_db import app
from tests.init_db_helpers import API, FakeContext, cfn_event, mappings, response_server


def run(event: Any, remaining_ms: int = 60_000) -> None:
    app.lambda_handler(event, FakeContext(remaining_ms))


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (mappings(v1="application/*"), "Mappings[0]: row 'application/*': key 'application/*' is not a concrete"),
        (mappings(v2="has space"), "Mappings[1]: row 'has space': key 'has space' must be visible ASCII"),
        (mappings(dn="evil.example.com"), "outside the allowed origin suffixes"),
        (mappings(dn="127.0.0.1:9000"), "must be a DNS name without a port"),
        ([{"hk": "v1", "dn": API, "dp": "/Prod/v1/"}], "must start with '/', not end with '/'"),
        (mappings(v2="APPLICATION/VND.EXAMPLE.V1+JSON"), "Mappings[1]: key 'APPLICATION/VND.EXAMPLE.V1+JSON' repeats"),
        (["not-an-object"], "Mappings[0] must be an object"),
    ],
)
def test_invalid_rows_fail_with_the_rule_and_write_nothing(rows: Any, reason: str) -> None:
    with response_server() as sink:
        # The table does not exist and no endpoint is set: validation must fail before any DynamoDB call.
        run(cfn_event("Create", sink.url, "never-touched", rows=rows))
    assert sink.last["Status"] == "FAILED"
    assert reason in sink.last["Reason"]
    assert sink.last["PhysicalResourceId"] == "SeedVersionMappings:never-touched"
    assert sink.last["Reason"].endswith("(log stream 2025/01/01/[$LATEST]abc)")


def test_local_origins_only_when_the_local_stack_allows_them(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = mappings(dn="127.0.0.1:9000")
    with pytest.raises(app.SeedError, match="without a port"):
        app.parse_rows({"Mappings": rows}, app._rules({}))
    monkeypatch.setenv(LOCAL_ORIGINS_ENV, "1")
    assert [row.dn for row in app.parse_rows({"Mappings": rows}, app._rules({}))] == ["127.0.0.1:9000"] * 2


def test_allowed_suffixes_come_from_the_properties() -> None:
    rules = app._rules({"AllowedOriginSuffixes": "api.example.com, *.execute-api.*.amazonaws.com"})
    rows = app.parse_rows({"Mappings": mappings(dn="v1.api.example.com")}, rules)
    assert {row.dn for row in rows} == {"v1.api.example.com"}
    with pytest.raises(app.SeedError, match="AllowedOriginSuffixes"):
        app._rules({"AllowedOriginSuffixes": "*.*"})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"RequestType": "Replace"}, "unknown RequestType 'Replace'"),
        ({"ResourceProperties": "nope"}, "ResourceProperties must be an object"),
        ({"ResourceProperties": {"Mappings": []}}, "TableName is required"),
        ({"ResourceProperties": {"TableName": "t", "Mappings": {"hk": "v1"}}}, "Mappings must be a list"),
    ],
)
def test_malformed_requests_fail_with_a_reason(change: dict[str, Any], reason: str) -> None:
    with response_server() as sink:
        run({**cfn_event("Create", sink.url, "t"), **change})
    assert sink.last["Status"] == "FAILED"
    assert sink.last["Reason"].startswith(reason)


def test_delete_leaves_data_alone_and_keeps_the_physical_id() -> None:
    with response_server() as sink:
        run(cfn_event("Delete", sink.url, "no-such-table", physical_id="SeedVersionMappings:mytable"))
    assert sink.last["Status"] == "SUCCESS"
    assert sink.last["PhysicalResourceId"] == "SeedVersionMappings:mytable"
    assert sink.last["StackId"].startswith("arn:aws:cloudformation:")
    assert sink.last["RequestId"] == "req-1"
    assert sink.last["LogicalResourceId"] == "SeedVersionMappings"


def test_an_event_without_response_url_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    for event in (None, {"RequestType": "Create"}):
        run(event)
    assert "nobody to answer" in caplog.text


def test_unexpected_errors_fail_without_details(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(_properties: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app, "_rules", explode)
    with response_server() as sink:
        run(cfn_event("Create", sink.url, "t"))
    assert sink.last["Status"] == "FAILED"
    assert sink.last["Reason"].startswith("internal error: RuntimeError")
    assert "secret" not in sink.last["Reason"]


def test_too_little_time_left_fails_before_touching_dynamodb() -> None:
    with response_server() as sink:
        run(cfn_event("Create", sink.url, "t"), remaining_ms=4_000)
    assert sink.last["Status"] == "FAILED"
    assert sink.last["Reason"].startswith("ran out of time before writing")


def test_response_put_is_retried_after_server_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with response_server(fail_first=2) as sink:
        deadline = app.Deadline.from_context(FakeContext())
        delivered = app.send_response(sink.url, {"Status": "SUCCESS"}, deadline, sleep=lambda _s: None)
    assert delivered
    assert sink.attempts == 3
    assert sink.bodies == [{"Status": "SUCCESS"}]
    assert sink.content_types == [""]
    assert "X-Amz-Signature" not in caplog.text
    assert "127.0.0.1" not in caplog.text


def test_response_put_gives_up_after_bounded_attempts() -> None:
    sleeps: list[float] = []
    with response_server(fail_first=100) as sink:
        deadline = app.Deadline.from_context(FakeContext())
        assert not app.send_response(sink.url, {"Status": "SUCCESS"}, deadline, sleep=sleeps.append)
    assert sink.attempts == app.PUT_ATTEMPTS
    assert sleeps == [0.5, 1.0, 2.0]


def test_response_put_stops_on_a_client_error() -> None:
    with response_server(status_after=403) as sink:
        deadline = app.Deadline.from_context(FakeContext())
        assert not app.send_response(sink.url, {"Status": "SUCCESS"}, deadline, sleep=lambda _s: None)
    assert sink.attempts == 1


def test_response_put_does_not_retry_past_the_deadline() -> None:
    with response_server(fail_first=100) as sink:
        deadline = app.Deadline.from_context(FakeContext(remaining_ms=6_000))
        assert not app.send_response(sink.url, {"Status": "SUCCESS"}, deadline, sleep=lambda _s: None)
    assert sink.attempts == 1


def test_connection_errors_are_retried_and_logged_without_the_url(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def refuse(url: str, **_kwargs: Any) -> requests.Response:
        calls.append(url)
        raise requests.ConnectionError(f"cannot reach {url}")

    deadline = app.Deadline.from_context(FakeContext())
    url = "https://cloudformation-custom-resource-response.s3.amazonaws.com/x?X-Amz-Signature=secret"
    assert not app.send_response(url, {}, deadline, put=refuse, sleep=lambda _s: None)
    assert len(calls) == app.PUT_ATTEMPTS
    assert "ConnectionError" in caplog.text
    assert "secret" not in caplog.text
