"""The DynamoDB reader against a real fault-injecting server on 127.0.0.1: whatever the server does, ``read_all``
returns every row or raises ``StoreUnavailableError`` naming each region and why, by its deadline."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge_router.errors import StoreUnavailableError
from edge_router.store import DynamoMappingStore, OtherType, StoreTimeouts, TableRead, regional_endpoint
from edge_router.wire import parse_endpoint
from tests.fault_server import (
    API,
    FaultServer,
    by_region,
    endless_pages,
    item,
    raw,
    refused_url,
    reply,
    response_bytes,
    scan_body,
    scan_page,
    silence,
    trickle,
)

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEJrSESSIONTOKEN"
QUICK = StoreTimeouts(backoff=0.0)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials as the Lambda runtime provides them; no endpoint settings from this machine."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def store_for(server: FaultServer, *regions: str, timeouts: StoreTimeouts = QUICK) -> DynamoMappingStore:
    return DynamoMappingStore("ApiVersionMapping", regions or ("us-east-1",), server.url, timeouts)


def read(store: DynamoMappingStore, seconds: float = 5.0) -> TableRead:
    return store.read_all(deadline=time.monotonic() + seconds)


def unavailable(store: DynamoMappingStore, seconds: float = 5.0) -> str:
    with pytest.raises(StoreUnavailableError) as caught:
        read(store, seconds)
    return caught.value.message


# ------------------------------------------------------------------------------------------------ good answers
def test_rows_are_decoded_and_the_request_is_a_signed_scan(server: FaultServer) -> None:
    server.then(scan_page([item("v1"), item("v2", "/Prod/v2")]))
    result = read(store_for(server))
    assert result == TableRead(
        [{"hk": "v1", "dn": API, "dp": "/Prod/v1"}, {"hk": "v2", "dn": API, "dp": "/Prod/v2"}],
        "us-east-1",
        unchanged=False,
        pages=1,
    )
    request = server.received[0]
    assert request.request_line == "POST / HTTP/1.1"
    assert request.headers["x-amz-target"] == "DynamoDB_20120810.Scan"
    assert request.headers["content-type"] == "application/x-amz-json-1.0"
    assert request.headers["x-amz-security-token"] == TOKEN
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/dynamodb/aws4_request, SignedHeaders=" in request.headers["authorization"]
    assert request.headers["host"] == f"127.0.0.1:{server.port}"
    assert request.json == {"TableName": "ApiVersionMapping"}


def test_every_dynamodb_type_decodes(server: FaultServer) -> None:
    every = item(
        "v1",
        n={"N": "-12.5E+3"},
        yes={"BOOL": True},
        nothing={"NULL": True},
        b={"B": "AAE="},
        ss={"SS": ["a"]},
        ns={"NS": ["1"]},
        bs={"BS": ["AAE="]},
        lst={"L": [{"S": "x"}]},
        m={"M": {"k": {"S": "v"}}},
    )
    server.then(scan_page([every]))
    (row,) = read(store_for(server)).rows
    assert row == {
        "hk": "v1",
        "dn": API,
        "dp": "/Prod/v1",
        "n": -12500.0,
        "yes": True,
        "nothing": None,
        "b": OtherType("B"),
        "ss": OtherType("SS"),
        "ns": OtherType("NS"),
        "bs": OtherType("BS"),
        "lst": OtherType("L"),
        "m": OtherType("M"),
    }


def test_pages_are_followed_with_exclusive_start_key(server: FaultServer) -> None:
    server.then(
        scan_page([item("v1")], {"hk": {"S": "v1"}}),
        scan_page([item("v2")], {"hk": {"S": "v2"}}, chunk_size=7),
        scan_page([item("v3")]),
    )
    result = read(store_for(server))
    assert [row["hk"] for row in result.rows] == ["v1", "v2", "v3"] and result.pages == 3
    assert [request.json.get("ExclusiveStartKey") for request in server.received] == [
        None,
        {"hk": {"S": "v1"}},
        {"hk": {"S": "v2"}},
    ]
    assert server.connections == 1  # keep-alive across pages


def test_an_empty_table_is_no_rows(server: FaultServer) -> None:
    server.then(scan_page([]))
    assert read(store_for(server)).rows == []


def test_a_chunked_answer_without_crc_is_read(server: FaultServer) -> None:
    server.then(scan_page([item(f"v{n}") for n in range(200)], chunk_size=1000, crc=False))
    assert len(read(store_for(server)).rows) == 200


def test_the_connection_is_kept_between_reads_and_a_stale_one_replaced(server: FaultServer) -> None:
    store = store_for(server)
    server.then(scan_page([item("v1")]), scan_page([item("v1")], close=True))
    server.always(scan_page([item("v1")]))
    read(store)
    read(store)  # same connection; the server hangs up after answering
    time.sleep(0.05)
    read(store)  # the closed idle connection is noticed and replaced
    assert server.connections == 2 and len(server.received) == 3


# ------------------------------------------------------------------------------------------------ bad answers
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{}", "no Items list"),
        (b"<html><body>502 Bad Gateway</body></html>", "not JSON"),
        (b"", "not JSON"),
        (b'{"Items":[null]}', "item 0 is not an object"),
        (b'{"Items":[{"hk":{"S":5}}]}', "attribute 'hk' is not a valid DynamoDB 'S' value"),
        (b"[]", "a JSON list, not an object"),
        (b'"Items"', "a JSON str, not an object"),
        (b'{"Items":{}}', "no Items list"),
        (b'{"Items":[{"dn":{"S":"x"}}]}', "item 0 has no string key hk"),
        (b'{"Items":[{"hk":{"N":"1"}}]}', "item 0 has no string key hk"),
        (b'{"Items":[{"hk":{"S":"a","N":"1"}}]}', "attribute 'hk' is not a DynamoDB attribute value"),
        (b'{"Items":[{"hk":{}}]}', "attribute 'hk' is not a DynamoDB attribute value"),
        (b'{"Items":[{"hk":"v1"}]}', "attribute 'hk' is not a DynamoDB attribute value"),
        (b'{"Items":[{"hk":{"S":"a"},"x":{"Q":"1"}}]}', "not a valid DynamoDB 'Q' value"),
        (b'{"Items":[{"hk":{"S":"a"},"x":{"N":"12abc"}}]}', "not a valid DynamoDB 'N' value"),
        (b'{"Items":[{"hk":{"S":"a"},"x":{"N":7}}]}', "not a valid DynamoDB 'N' value"),
        (b'{"Items":[{"hk":{"S":"a"},"x":{"BOOL":"true"}}]}', "not a valid DynamoDB 'BOOL' value"),
        (b'{"Items":[{"hk":{"S":"a"},"x":{"NULL":false}}]}', "not a valid DynamoDB 'NULL' value"),
        (b'{"Items":[{"hk":{"S":"a"},"x":{"SS":[1]}}]}', "not a valid DynamoDB 'SS' value"),
        (b'{"Items":[{"hk":{"S":"a"},"x":{"L":{}}}]}', "not a valid DynamoDB 'L' value"),
        (b'{"Items":[{"hk":{"S":"a"},"x":{"M":[]}}]}', "not a valid DynamoDB 'M' value"),
        (b'{"Items":[],"LastEvaluatedKey":"v1"}', "LastEvaluatedKey is not a key"),
        (b'{"Items":[],"LastEvaluatedKey":{}}', "LastEvaluatedKey is not a key"),
        (b'{"Items":["\xff\xfe"]}', "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b'{"Items":[], "n": ' + b"9" * 5000 + b"}", "not JSON"),
    ],
)
def test_any_unusable_200_is_the_store_unavailable(server: FaultServer, body: bytes, reason: str) -> None:
    server.always(reply(200, body))
    message = unavailable(store_for(server))
    assert message.startswith("could not read table 'ApiVersionMapping': us-east-1: ")
    assert reason in message
    assert len(server.received) == 1  # a malformed answer is not retried


def test_a_truncated_body_is_retried_then_unavailable(server: FaultServer) -> None:
    whole = response_bytes(200, scan_body([item("v1")]))
    server.always(raw(whole[:-10]))
    assert "connection closed after" in unavailable(store_for(server))
    assert len(server.received) == 3  # the first try and QUICK's two retries


def test_a_bad_crc_is_retried_and_then_unavailable(server: FaultServer) -> None:
    server.always(scan_page([item("v1")], crc=12345))
    assert "failed its CRC32 check" in unavailable(store_for(server))
    assert len(server.received) == 3


def test_a_non_numeric_crc_is_a_failed_check(server: FaultServer) -> None:
    server.always(reply(200, scan_body([item("v1")]), [("x-amz-crc32", "abc")], crc=False))
    assert "CRC32" in unavailable(store_for(server))


def test_a_bad_crc_once_is_cured_by_the_retry(server: FaultServer) -> None:
    server.then(scan_page([item("v1")], crc=1), scan_page([item("v1")]))
    assert read(store_for(server)).rows == [{"hk": "v1", "dn": API, "dp": "/Prod/v1"}]


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_then_unavailable(server: FaultServer, status: int) -> None:
    server.always(reply(status, b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"x"}'))
    message = unavailable(store_for(server))
    assert f"us-east-1: HTTP {status} InternalServerError: x" in message
    assert len(server.received) == 3


def test_throttling_is_retried_with_a_short_backoff(server: FaultServer) -> None:
    throttled = b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow"}'
    server.then(reply(400, throttled), reply(400, throttled), scan_page([item("v1")]))
    assert len(read(store_for(server)).rows) == 1 and len(server.received) == 3


def test_other_client_errors_are_not_retried(server: FaultServer) -> None:
    server.always(
        reply(400, b'{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"gone"}')
    )
    assert "HTTP 400 ResourceNotFoundException: gone" in unavailable(store_for(server))
    assert len(server.received) == 1


def test_an_xml_error_names_its_code(server: FaultServer) -> None:
    body = (
        b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>bad token</Message></Error></ErrorResponse>"
    )
    server.always(reply(403, body))
    assert "HTTP 403 InvalidClientTokenId: bad token" in unavailable(store_for(server))


def test_a_retry_never_waits_past_the_deadline(server: FaultServer) -> None:
    server.always(reply(503, b"busy"))
    started = time.monotonic()
    unavailable(store_for(server, timeouts=StoreTimeouts(backoff=10.0)), seconds=1.0)
    assert time.monotonic() - started < 0.5  # a 10 s backoff does not fit: give up at once
    assert len(server.received) == 1


def test_a_too_large_page_is_refused(server: FaultServer) -> None:
    server.always(scan_page([item(f"v{n}") for n in range(100)]))
    assert "larger than 1000 bytes" in unavailable(store_for(server, timeouts=StoreTimeouts(max_page_bytes=1000)))


def test_an_endless_chain_of_pages_stops_at_the_page_bound(server: FaultServer) -> None:
    server.always(endless_pages())
    message = unavailable(store_for(server, timeouts=StoreTimeouts(max_pages=5)))
    assert "did not end within 5 pages" in message
    assert len(server.received) == 5


def test_a_trickled_body_returns_within_the_deadline(server: FaultServer) -> None:
    server.always(trickle(response_bytes(200, scan_body([item("v1")])), interval=0.05))
    started = time.monotonic()
    message = unavailable(store_for(server), seconds=0.5)
    assert time.monotonic() - started < 1.5
    assert "timed out" in message or "deadline passed" in message


def test_a_server_that_never_answers_costs_the_deadline_only(server: FaultServer) -> None:
    server.always(silence(server))
    started = time.monotonic()
    assert "timed out reading the response header" in unavailable(store_for(server), seconds=0.3)
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_unavailable() -> None:
    store = DynamoMappingStore("t", ("us-east-1",), refused_url(), QUICK)
    assert "cannot connect to 127.0.0.1" in unavailable(store)


def test_a_deadline_already_passed_tries_nothing(server: FaultServer) -> None:
    message = unavailable(store_for(server, "us-east-1", "eu-west-1"), seconds=0)
    assert message.endswith("us-east-1: not tried, deadline passed; eu-west-1: not tried, deadline passed")
    assert server.connections == 0


def test_anything_unexpected_is_still_the_store_unavailable(server: FaultServer) -> None:
    server.always(scan_page([item("v1")]))
    calls = 0

    def breaking_clock() -> float:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise RuntimeError("clock failure")
        return time.monotonic()

    store = DynamoMappingStore("t", ("us-east-1", "eu-west-1"), server.url, QUICK, clock=breaking_clock)
    with pytest.raises(StoreUnavailableError, match="RuntimeError: clock failure"):
        store.read_all(deadline=time.monotonic() + 5)


def test_no_secret_reaches_the_error(server: FaultServer) -> None:
    # DynamoDB's signature errors quote the canonical request, which carries the session token.
    echo = json.dumps(
        {
            "__type": "com.amazon.coral.service#InvalidSignatureException",
            "message": f"The Canonical String for this request should have been 'x-amz-security-token:{TOKEN}' "
            f"and the secret {SECRET}",
        }
    ).encode()
    server.always(reply(400, echo))
    message = unavailable(store_for(server))
    assert "InvalidSignatureException" in message
    assert TOKEN not in message and SECRET not in message and "Signature=" not in message


def test_opaque_runs_a_cut_message_may_hold_part_of_never_reach_the_error(server: FaultServer) -> None:
    # The message limit (120 characters) can cut a real session token (about 1,000) anywhere: what is left of it
    # no longer matches the whole secret, so any token-like run is masked.
    fragment = "FwoGZXIvYXdzEJr//////////wEaDOzTruncatedSessionTokenPart"
    echo = {"__type": "#InvalidSignatureException", "message": f"'x-amz-security-token:{fragment}"}
    server.always(reply(400, json.dumps(echo).encode()))
    message = unavailable(store_for(server))
    assert "InvalidSignatureException" in message and fragment[:32] not in message and "***" in message


# ------------------------------------------------------------------------------------------------ replicas
def test_failover_to_the_next_replica(server: FaultServer) -> None:
    server.always(
        by_region(
            {
                "us-east-1": reply(500, b'{"__type":"#InternalServerError","message":"down"}'),
                "eu-west-1": scan_page([item("v1", "/Prod/eu")]),
            }
        )
    )
    result = read(store_for(server, "us-east-1", "eu-west-1"))
    assert result.region == "eu-west-1" and result.rows[0]["dp"] == "/Prod/eu"
    assert [request.region for request in server.received] == ["us-east-1"] * 3 + ["eu-west-1"]


def test_every_replica_failing_names_each_region_and_why(server: FaultServer) -> None:
    server.always(
        by_region(
            {
                "us-east-1": reply(400, b'{"__type":"#ResourceNotFoundException","message":"no table"}'),
                "eu-west-1": reply(200, b"<html>"),
            }
        )
    )
    message = unavailable(store_for(server, "us-east-1", "eu-west-1"))
    assert message == (
        "could not read table 'ApiVersionMapping': us-east-1: HTTP 400 ResourceNotFoundException: no table; "
        "eu-west-1: the response is not JSON"
    )


def test_a_hanging_replica_leaves_time_for_the_next(server: FaultServer) -> None:
    server.always(by_region({"us-east-1": silence(server), "eu-west-1": scan_page([item("v1")])}))
    started = time.monotonic()
    result = read(store_for(server, "us-east-1", "eu-west-1"), seconds=1.0)
    elapsed = time.monotonic() - started
    # Succeeding at all proves the share: had the first replica kept the whole deadline, nothing would be left.
    assert result.region == "eu-west-1"
    assert 0.45 < elapsed < 1.3  # half of the 1 s went to the first replica, the answer came by the deadline


# ------------------------------------------------------------------------------------------------ unchanged pages
def test_the_same_bytes_are_unchanged_and_not_decoded_again(server: FaultServer) -> None:
    server.always(scan_page([item("v1"), item("v2")]))
    store = store_for(server)
    first, second = read(store), read(store)
    assert not first.unchanged and second.unchanged
    assert second.rows is first.rows


def test_one_byte_different_is_decoded_again(server: FaultServer) -> None:
    store = store_for(server)
    server.then(scan_page([item("v1", "/Prod/v1")]), scan_page([item("v1", "/Prod/v2")]))
    first, second = read(store), read(store)
    assert not second.unchanged and second.rows is not first.rows
    assert second.rows == [{"hk": "v1", "dn": API, "dp": "/Prod/v2"}]


def test_only_changed_pages_are_decoded(server: FaultServer) -> None:
    store = store_for(server)
    page_one = scan_page([item("v1")], {"hk": {"S": "v1"}})
    server.then(page_one, scan_page([item("v2")]), page_one, scan_page([item("v2", "/Prod/new")]))
    first, second = read(store), read(store)
    assert not second.unchanged
    assert second.rows[0] is first.rows[0]  # the identical first page was reused as it was
    assert second.rows[1] == {"hk": "v2", "dn": API, "dp": "/Prod/new"}


def test_a_different_page_count_is_changed(server: FaultServer) -> None:
    store = store_for(server)
    page_one = scan_page([item("v1")], {"hk": {"S": "v1"}})
    server.then(page_one, scan_page([item("v2")]), page_one, scan_page([item("v2")], {"hk": {"S": "v2"}}))
    server.then(scan_page([]))
    first, second = read(store), read(store)
    assert not second.unchanged and second.pages == 3 and [row["hk"] for row in second.rows] == ["v1", "v2"]
    assert second.rows is not first.rows


def test_another_region_is_never_unchanged(server: FaultServer) -> None:
    answer = scan_page([item("v1")])
    server.then(answer, reply(500, b"down"), reply(500, b"down"), reply(500, b"down"), answer)
    store = store_for(server, "us-east-1", "eu-west-1")
    first, second = read(store), read(store)
    assert (first.region, second.region) == ("us-east-1", "eu-west-1")
    assert not second.unchanged and second.rows == first.rows and second.rows is not first.rows


def test_a_failed_read_keeps_the_last_good_pages(server: FaultServer) -> None:
    answer = scan_page([item("v1")])
    server.then(answer, reply(200, b"<html>"), answer)
    store = store_for(server)
    first = read(store)
    unavailable(store)
    third = read(store)
    assert third.unchanged and third.rows is first.rows


# ----------------------------------------------------------------------------------------- endpoints, credentials
def test_endpoint_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultServer() as explicit, FaultServer() as dynamodb_env, FaultServer() as generic_env:
        for running in (explicit, dynamodb_env, generic_env):
            running.always(scan_page([item("v1")]))
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_env.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL", generic_env.url)
        read(DynamoMappingStore("t", ("us-east-1",), explicit.url, QUICK))
        read(DynamoMappingStore("t", ("us-east-1",), None, QUICK))
        monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
        read(DynamoMappingStore("t", ("us-east-1",), None, QUICK))
        assert (len(explicit.received), len(dynamodb_env.received), len(generic_env.received)) == (1, 1, 1)


def test_without_an_endpoint_setting_each_replica_is_read_at_its_regional_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FaultServer() as virginia, FaultServer() as ireland:
        virginia.always(silence(virginia))
        ireland.always(scan_page([item("v1", "/Prod/eu")]))
        urls = {"us-east-1": virginia.url, "eu-west-1": ireland.url}
        monkeypatch.setattr("edge_router.store.regional_endpoint", lambda region: parse_endpoint(urls[region]))
        result = read(DynamoMappingStore("t", ("us-east-1", "eu-west-1"), None, QUICK), seconds=0.6)
        assert result.region == "eu-west-1" and result.rows[0]["dp"] == "/Prod/eu"
        assert [request.region for request in virginia.received + ireland.received] == ["us-east-1", "eu-west-1"]


def test_regional_endpoints() -> None:
    assert regional_endpoint("eu-west-1").host_header == "dynamodb.eu-west-1.amazonaws.com"
    assert regional_endpoint("cn-north-1").host_header == "dynamodb.cn-north-1.amazonaws.com.cn"
    assert regional_endpoint("us-east-1").scheme == "https"


@pytest.mark.parametrize("url", ["localhost:8000", "http://host:99999", "https://user:hunter2@host"])
def test_a_malformed_endpoint_is_a_clear_store_error(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
    with pytest.raises(StoreUnavailableError, match="invalid DynamoDB endpoint: endpoint") as caught:
        DynamoMappingStore("t", ("us-east-1",), timeouts=QUICK).read_all(deadline=time.monotonic() + 1)
    assert "hunter2" not in caught.value.message


@pytest.mark.usefixtures("isolated_aws_config")
def test_no_credentials_is_a_clear_store_error(server: FaultServer) -> None:
    assert "no AWS credentials" in unavailable(store_for(server))
    assert server.connections == 0


# ------------------------------------------------------------------------------------------------ properties
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
VALID_VALUES = st.one_of(
    st.builds(lambda text: {"S": text}, st.text(max_size=12)),
    st.builds(
        lambda number: {"N": number}, st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{1,3})?(E[+-]?[0-9])?", fullmatch=True)
    ),
    st.builds(lambda flag: {"BOOL": flag}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda texts: {"SS": texts}, st.lists(st.text(max_size=4), min_size=1, max_size=3)),
    st.builds(lambda value: {"L": [value]}, JSON_VALUES),
    st.builds(lambda value: {"M": {"k": value}}, JSON_VALUES),
    st.just({"B": "AAE="}),
)
VALID_ITEMS = st.builds(
    lambda key, rest: {**rest, "hk": {"S": key}},
    st.text(min_size=1, max_size=12),
    st.dictionaries(st.text(min_size=1, max_size=6), VALID_VALUES, max_size=4),
)
HOSTILE_VALUES = (
    st.dictionaries(
        st.sampled_from(["S", "N", "BOOL", "NULL", "B", "SS", "NS", "BS", "L", "M", "Q", ""]), JSON_VALUES, max_size=2
    )
    | JSON_VALUES
)
HOSTILE_ITEMS = st.builds(
    lambda good, name, bad: {**good, name: bad}, VALID_ITEMS, st.sampled_from(["hk", "dn", "x"]), HOSTILE_VALUES
)
PAGES = st.fixed_dictionaries(
    {"Items": st.lists(VALID_ITEMS | HOSTILE_ITEMS | JSON_VALUES, max_size=4) | JSON_VALUES},
    optional={"LastEvaluatedKey": st.builds(lambda key: {"hk": {"S": key}}, st.text(max_size=4)) | JSON_VALUES},
)
VALID_BODIES = st.builds(scan_body, st.lists(VALID_ITEMS, max_size=4))
BODIES = (
    VALID_BODIES
    | VALID_BODIES
    | st.builds(lambda page: json.dumps(page).encode(), PAGES)
    | st.builds(lambda value: json.dumps(value).encode(), JSON_VALUES)
    | st.binary(max_size=64)
)
WELL_FORMED = st.builds(
    lambda status, body, crc, chunk: response_bytes(status, body, crc=crc, chunk_size=chunk),
    st.sampled_from([200, 200, 200, 200, 400, 403, 404, 500, 503, 302, 204]),
    BODIES,
    st.sampled_from([True, True, False, 7]),
    st.sampled_from([None, None, 1, 5, 64]),
)
ANSWERS = st.one_of(
    WELL_FORMED,
    WELL_FORMED,
    st.builds(
        lambda whole, cut: whole[:cut], st.builds(lambda body: response_bytes(200, body), BODIES), st.integers(0, 80)
    ),
    st.binary(max_size=200),
)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=st.lists(ANSWERS, min_size=1, max_size=3))
def test_any_answer_is_a_table_read_or_the_store_unavailable(shared_server: FaultServer, answers: list[bytes]) -> None:
    shared_server.script.clear()
    shared_server.then(*(raw(answer) for answer in answers)).always(raw(answers[-1]))
    timeouts = StoreTimeouts(backoff=0.0, retries=1, max_pages=3)
    store = store_for(shared_server, "us-east-1", "eu-west-1", timeouts=timeouts)
    started = time.monotonic()
    try:
        result = store.read_all(deadline=time.monotonic() + 2.0)
    except StoreUnavailableError as error:
        event("unavailable")
        assert error.message.startswith(("could not read table", "cannot read table"))
    else:
        event("read" if result.rows else "read, no rows")
        assert isinstance(result, TableRead)
        assert all(isinstance(row, dict) and isinstance(row["hk"], str) for row in result.rows)
    assert time.monotonic() - started < 2.5


def reference_decode(value: dict[str, Any]) -> object:
    """What one valid attribute value must decode to, written independently of the store's fast loop."""
    ((tag, inner),) = value.items()
    if tag == "N":  # a number, as PynamoDB reads one: never taken for text
        return int(inner) if inner.lstrip("-").isdigit() else float(inner)
    if tag in ("S", "BOOL"):
        return inner
    return None if tag == "NULL" else OtherType(tag)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pages=st.lists(st.lists(VALID_ITEMS, max_size=5), min_size=1, max_size=3))
def test_valid_pages_decode_to_exactly_their_rows(shared_server: FaultServer, pages: list[list[Any]]) -> None:
    shared_server.script.clear()
    for number, items in enumerate(pages):
        last = number == len(pages) - 1
        shared_server.then(scan_page(items, None if last else {"hk": {"S": f"page{number}"}}))
    result = store_for(shared_server).read_all(deadline=time.monotonic() + 5)
    expected = [{name: reference_decode(value) for name, value in items.items()} for page in pages for items in page]
    assert result.rows == expected and result.pages == len(pages)
