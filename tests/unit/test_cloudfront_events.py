"""The CloudFront emulator: viewer request -> origin-request event, and the function's result -> answer or origin."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from edge_router import config
from edge_router.cf_events import PLACEHOLDER_ORIGIN, cf_headers, header_lines
from edge_router.local.cloudfront import (
    MAX_INCLUDED_BODY,
    MAX_URL,
    Answer,
    CloudFront,
    OriginCall,
    ResponseHead,
    ViewerRequest,
    forwarded_headers,
    front_door,
    viewer_event,
)
from edge_router.local.distribution import origin_settings
from edge_router.local.edge_cache import CachePolicy, EdgeCache
from edge_router.validator import validate_result
from tests.conftest import load_event

SETTINGS = {config.HEADER_NAME: "Accept", config.TABLE_NAME: "ApiVersionMapping"}


def cf_request(event: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = event["Records"][0]["cf"]["request"]
    return request


def test_event_has_the_documented_shape() -> None:
    viewer = ViewerRequest(
        "GET",
        "/hello?a=1&a=2",
        [("Host", "127.0.0.1:8080"), ("Accept", "application/vnd.example.v1+json"), ("accept", "text/html")],
        None,
        "10.1.2.3",
    )
    event = viewer_event(viewer, SETTINGS)
    request = cf_request(event)
    assert event["Records"][0]["cf"]["config"]["eventType"] == "origin-request"
    assert request["method"] == "GET"
    assert request["uri"] == "/hello"
    assert request["querystring"] == "a=1&a=2"
    assert request["clientIp"] == "10.1.2.3"
    assert request["headers"]["accept"] == [
        {"key": "Accept", "value": "application/vnd.example.v1+json"},
        {"key": "accept", "value": "text/html"},
    ]
    # AllViewerExceptHostHeader: the function sees the configured origin's host, not the viewer's.
    assert request["headers"]["host"] == [{"key": "Host", "value": PLACEHOLDER_ORIGIN}]
    assert request["headers"]["x-forwarded-for"][0]["value"] == "10.1.2.3"
    assert request["headers"]["via"][0]["value"].startswith("2.0 ")
    assert request["origin"]["custom"]["customHeaders"]["custom-apigw-table-name"][0]["value"] == "ApiVersionMapping"
    assert "body" not in request


def test_hop_by_hop_and_disallowed_headers_are_dropped() -> None:
    viewer = ViewerRequest(
        "GET",
        "/",
        [
            ("Connection", "keep-alive, X-Private"),
            ("Keep-Alive", "timeout=5"),
            ("X-Private", "secret"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("X-Forwarded-Proto", "http"),
            ("X-Amz-Cf-Id", "spoofed"),
            ("X-Edge-Whatever", "1"),
            ("X-Forwarded-For", "198.51.100.1"),
            ("Via", "1.1 corporate-proxy"),
            ("Cookie", "a=1"),
        ],
        client_ip="10.0.0.1",
    )
    names = [name.lower() for name, _ in forwarded_headers(viewer)]
    for dropped in ("connection", "keep-alive", "x-private", "transfer-encoding", "upgrade", "x-forwarded-proto"):
        assert dropped not in names
    assert not [name for name in names if name.startswith(("x-amz-cf-", "x-edge-"))]
    headers = dict(forwarded_headers(viewer))
    assert headers["X-Forwarded-For"] == "198.51.100.1, 10.0.0.1"
    assert headers["Via"].startswith("1.1 corporate-proxy, 2.0 ")
    assert headers["Cookie"] == "a=1"


def test_body_is_included_base64_and_truncated_past_1_mb() -> None:
    small = cf_request(viewer_event(ViewerRequest("POST", "/", [], b"hello"), SETTINGS))["body"]
    assert small == {"inputTruncated": False, "action": "read-only", "encoding": "base64", "data": "aGVsbG8="}
    big = cf_request(viewer_event(ViewerRequest("POST", "/", [], b"x" * (MAX_INCLUDED_BODY + 10)), SETTINGS))
    assert big["body"]["inputTruncated"] is True
    assert len(base64.b64decode(big["body"]["data"])) == MAX_INCLUDED_BODY


def routed(event: dict[str, Any], **custom: Any) -> dict[str, Any]:
    request = dict(cf_request(event))
    request["headers"] = {**request["headers"], "host": [{"key": "Host", "value": "127.0.0.1:3000"}]}
    origin = {
        "customHeaders": {},
        "domainName": "127.0.0.1",
        "keepaliveTimeout": 5,
        "path": "/Prod/v1",
        "port": 3000,
        "protocol": "http",
        "readTimeout": 30,
        "sslProtocols": ["TLSv1.2"],
    }
    request["origin"] = {"custom": {**origin, **custom}}
    return request


def test_routed_request_becomes_an_origin_call() -> None:
    cloudfront = CloudFront(lambda event, _ctx: routed(event), SETTINGS)
    decision = cloudfront.decide(ViewerRequest("POST", "/hello?x=1", [("Content-Length", "3")], b"abc"))
    assert isinstance(decision, OriginCall)
    assert decision.method == "POST"
    assert decision.url == "http://127.0.0.1:3000/Prod/v1/hello?x=1"
    assert decision.body == b"abc"
    assert decision.read_timeout == 30
    headers = dict(decision.headers)
    assert headers["Host"] == "127.0.0.1:3000"
    assert "Content-Length" not in headers  # the HTTP client sets it for the body it sends


def test_https_default_port_is_not_in_the_url() -> None:
    cloudfront = CloudFront(
        lambda event, _ctx: routed(
            event, domainName="abc.execute-api.us-east-1.amazonaws.com", port=443, protocol="https"
        ),
        SETTINGS,
    )
    decision = cloudfront.decide(ViewerRequest("GET", "/hello", []))
    assert isinstance(decision, OriginCall)
    assert decision.url == "https://abc.execute-api.us-east-1.amazonaws.com/Prod/v1/hello"


def test_generated_response_is_sent_as_is() -> None:
    generated = {
        "status": "403",
        "statusDescription": "Forbidden",
        "headers": {"content-type": [{"key": "Content-Type", "value": "application/problem+json"}]},
        "body": base64.b64encode(b'{"status":403}').decode(),
        "bodyEncoding": "base64",
    }
    decision = CloudFront(lambda _e, _c: generated, SETTINGS).decide(ViewerRequest("GET", "/", []))
    assert isinstance(decision, Answer)
    assert decision.status == 403
    assert ("Content-Type", "application/problem+json") in decision.headers
    assert decision.body == b'{"status":403}'


@pytest.mark.parametrize(
    "bad",
    [
        {"status": 200},  # status must be a string
        {"status": "200", "headers": {"x-cache": [{"value": "HIT"}]}},  # a disallowed header
        "not an object",
    ],
)
def test_invalid_output_is_a_502_lambda_validation_error(bad: Any) -> None:
    decision = CloudFront(lambda _e, _c: bad, SETTINGS).decide(ViewerRequest("GET", "/", []))
    assert isinstance(decision, Answer)
    assert decision.status == 502
    assert ("X-Cache", "LambdaValidationError from cloudfront") in decision.headers
    assert b"Lambda validation error" in decision.body


def test_read_only_header_change_is_a_502() -> None:
    def handler(event: dict[str, Any], _ctx: Any) -> dict[str, Any]:
        request = routed(event)
        request["headers"]["via"] = [{"key": "Via", "value": "changed"}]
        return request

    decision = CloudFront(handler, SETTINGS).decide(ViewerRequest("GET", "/", []))
    assert isinstance(decision, Answer)
    assert decision.status == 502


def test_local_origins_are_refused_outside_local_mode() -> None:
    cloudfront = CloudFront(lambda event, _ctx: routed(event), SETTINGS, allow_local_origins=False)
    decision = cloudfront.decide(ViewerRequest("GET", "/", []))
    assert isinstance(decision, Answer)
    assert decision.status == 502


def test_an_exception_is_a_503() -> None:
    def handler(_event: Any, _ctx: Any) -> Any:
        raise RuntimeError("boom")

    decision = CloudFront(handler, SETTINGS).decide(ViewerRequest("GET", "/", []))
    assert isinstance(decision, Answer)
    assert decision.status == 503
    assert ("X-Cache", "LambdaExecutionError from cloudfront") in decision.headers


def test_the_real_handler_output_passes_the_validator() -> None:
    """The emulator's event is one the real router accepts: its problem answer validates."""
    from edge_router.handler import lambda_handler, reset_router

    event = viewer_event(ViewerRequest("GET", "/hello", []), {config.HEADER_NAME: "Accept"})
    try:
        result = lambda_handler(event, None)  # no table setting: a 500 router-misconfigured problem, no DynamoDB
    finally:
        reset_router()
    assert validate_result(cf_request(event), result) == []
    assert result["status"] == "500"


def test_origin_settings_come_from_the_templates_custom_headers() -> None:
    template = {
        "Parameters": {"HeaderName": {"Type": "String", "Default": "APIVER"}, "Ttl": {"Default": 60}},
        "Resources": {
            "Dist": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {
                    "DistributionConfig": {
                        "Origins": [
                            {
                                "OriginCustomHeaders": [
                                    {"HeaderName": "custom-apigw-header-name", "HeaderValue": {"Ref": "HeaderName"}},
                                    {"HeaderName": "custom-apigw-table-name", "HeaderValue": {"Ref": "Table"}},
                                    {"HeaderName": "custom-apigw-cache-ttl", "HeaderValue": {"Ref": "Ttl"}},
                                    {"HeaderName": "custom-apigw-debug-events", "HeaderValue": "false"},
                                    {"HeaderName": "x-other", "HeaderValue": "1"},
                                ]
                            }
                        ]
                    }
                },
            }
        },
    }
    assert origin_settings(template) == {
        "custom-apigw-header-name": "APIVER",
        "custom-apigw-cache-ttl": "60",
        "custom-apigw-debug-events": "false",
    }


# --- origin-response, CloudFront's own answers, what the origin receives ---------------------------------------


def test_origin_response_event_has_the_documented_shape() -> None:
    documented = load_event("origin-response")["Records"][0]["cf"]
    cloudfront = CloudFront(lambda event, _ctx: routed(event), SETTINGS)
    call = cloudfront.decide(ViewerRequest("GET", "/hello?a=1", [("Host", "x"), ("Accept", "text/plain")]))
    assert isinstance(call, OriginCall)
    seen: list[dict[str, Any]] = []

    def capture(event: dict[str, Any], _ctx: Any) -> Any:
        seen.append(event)
        return event["Records"][0]["cf"]["response"]

    cloudfront.origin_response = capture
    origin = [
        ("Content-Type", "text/plain"),
        ("Content-Length", "2"),
        ("Connection", "keep-alive"),
        ("X-Amzn-RequestId", "r1"),
    ]
    head = cloudfront.respond(call, 200, "OK", origin)
    cf = seen[0]["Records"][0]["cf"]
    assert set(cf) == set(documented)
    assert set(cf["config"]) == set(documented["config"])
    assert cf["config"]["eventType"] == "origin-response"
    assert set(cf["request"]) == set(documented["request"])  # the request as forwarded, without a body
    assert cf["request"]["headers"]["host"] == [{"key": "Host", "value": "127.0.0.1:3000"}]
    assert cf["request"]["origin"]["custom"]["domainName"] == "127.0.0.1"
    assert cf["response"]["status"] == "200"
    assert cf["response"]["statusDescription"] == "OK"
    assert "connection" not in cf["response"]["headers"]  # hop-by-hop: never shown
    assert "x-amzn-requestid" not in cf["response"]["headers"]  # disallowed: hidden from the function ...
    assert isinstance(head, ResponseHead)
    assert ("X-Amzn-RequestId", "r1") in head.headers  # ... and passed on to the viewer
    assert not [name for name, _ in head.headers if name.lower() in ("content-length", "connection")]


@pytest.mark.parametrize(
    ("output", "status", "x_cache"),
    [
        ({"status": "200", "headers": {"via": [{"key": "Via", "value": "x"}]}}, 502, "LambdaValidationError"),
        ({"status": 200}, 502, "LambdaValidationError"),
        (RuntimeError("boom"), 503, "LambdaExecutionError"),
    ],
)
def test_a_failing_origin_response_function_is_cloudfronts_error(output: Any, status: int, x_cache: str) -> None:
    def function(_event: Any, _ctx: Any) -> Any:
        if isinstance(output, Exception):
            raise output
        return output

    cloudfront = CloudFront(lambda event, _ctx: routed(event), SETTINGS, origin_response=function)
    call = cloudfront.decide(ViewerRequest("GET", "/", [("Host", "x")]))
    assert isinstance(call, OriginCall)
    answer = cloudfront.respond(call, 200, "OK", [("Content-Type", "text/plain")])
    assert isinstance(answer, Answer)
    assert answer.status == status
    assert ("X-Cache", f"{x_cache} from cloudfront") in answer.headers


def test_a_replaced_body_and_status_come_from_the_function() -> None:
    def function(event: dict[str, Any], _ctx: Any) -> Any:
        response = event["Records"][0]["cf"]["response"]
        return {**response, "status": "418", "body": "short", "bodyEncoding": "text"}

    cloudfront = CloudFront(lambda event, _ctx: routed(event), SETTINGS, origin_response=function)
    call = cloudfront.decide(ViewerRequest("GET", "/", [("Host", "x")]))
    assert isinstance(call, OriginCall)
    head = cloudfront.respond(call, 200, "OK", [("Content-Length", "999")])
    assert isinstance(head, ResponseHead)
    assert (head.status, head.body) == (418, b"short")


@pytest.mark.parametrize(
    ("target", "headers", "folded", "status"),
    [
        ("http://example.com/hello", [("Host", "example.com")], False, 400),  # absolute-form
        ("hello", [("Host", "x")], False, 400),  # no leading slash
        ("*", [("Host", "x")], False, 400),
        ("/hello", [("Host", "x")], True, 400),  # obsolete line folding
        ("/hello", [], False, 400),  # HTTP/1.1 without Host
        ("/" + "a" * (MAX_URL - len("https://x")), [("Host", "x")], False, 413),
    ],
)
def test_cloudfronts_own_answers(target: str, headers: list[tuple[str, str]], folded: bool, status: int) -> None:
    answer = front_door(ViewerRequest("GET", target, headers), folded=folded)
    assert answer is not None
    assert answer.status == status
    assert answer.close
    assert ("X-Cache", "Error from cloudfront") in answer.headers


def test_requests_at_the_limit_pass_the_front_door() -> None:
    assert front_door(ViewerRequest("GET", "/" + "a" * (MAX_URL - len("https://x") - 1), [("Host", "x")])) is None
    assert front_door(ViewerRequest("GET", "/hello?q=1", [("Host", "x")])) is None


def test_the_origin_gets_exactly_what_cloudfront_forwards() -> None:
    """No User-Agent when the viewer sent none, repeats joined, CloudFront's own X-Amz-Cf-Id, no hop-by-hop."""
    cloudfront = CloudFront(lambda event, _ctx: routed(event), SETTINGS, policy=CachePolicy(gzip=True, brotli=True))
    viewer = ViewerRequest(
        "GET",
        "/hello",
        [
            ("Host", "x"),
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("Accept-Encoding", "gzip, deflate, br"),
            ("TE", "trailers"),
        ],
        client_ip="10.0.0.9",
    )
    call = cloudfront.decide(viewer)
    assert isinstance(call, OriginCall)
    names = [name.lower() for name, _ in call.headers]
    assert "user-agent" not in names
    assert "te" not in names
    headers = dict(call.headers)
    assert headers["X-Multi"] == "a, b"
    assert headers["Accept-Encoding"] == "br,gzip"  # normalised, as with compression enabled in the policy
    assert headers["X-Forwarded-For"] == "10.0.0.9"
    assert headers["Via"].startswith("2.0 ")
    assert headers["X-Amz-Cf-Id"] == call.request_id
    assert sorted(names) == sorted(["x-multi", "accept-encoding", "host", "x-forwarded-for", "via", "x-amz-cf-id"])
    with_agent = cloudfront.decide(ViewerRequest("GET", "/", [("Host", "x"), ("User-Agent", "curl/8")]))
    assert isinstance(with_agent, OriginCall)
    assert dict(with_agent.headers)["User-Agent"] == "curl/8"  # the viewer's own passes through


def test_cache_hits_skip_the_function_and_generated_no_store_answers_are_not_cached() -> None:
    calls: list[str] = []
    answer = {
        "status": "200",
        "headers": {"cache-control": [{"key": "Cache-Control", "value": "max-age=60"}]},
        "body": "hi",
    }

    def generate(event: dict[str, Any], _ctx: Any) -> Any:
        calls.append(event["Records"][0]["cf"]["request"]["uri"])
        if event["Records"][0]["cf"]["request"]["uri"] == "/cached":
            return answer
        return {**answer, "headers": {"cache-control": [{"key": "Cache-Control", "value": "no-store"}]}}

    cloudfront = CloudFront(generate, SETTINGS, cache=EdgeCache())
    first = cloudfront.serve(ViewerRequest("GET", "/cached", [("Host", "x")]))
    second = cloudfront.serve(ViewerRequest("GET", "/cached", [("Host", "x")]))
    assert isinstance(first, Answer) and isinstance(second, Answer)
    assert ("X-Cache", "LambdaGeneratedResponse from cloudfront") in first.headers
    assert ("X-Cache", "Hit from cloudfront") in second.headers
    assert ("Age", "0") in second.headers
    assert second.body == b"hi"
    for _ in range(2):
        cloudfront.serve(ViewerRequest("GET", "/fresh", [("Host", "x")]))
    assert calls == ["/cached", "/fresh", "/fresh"]


def test_header_lines_are_the_inverse_of_cf_headers() -> None:
    lines = [("Accept", "a/b"), ("Set-Cookie", "a=1"), ("X-Other", "x"), ("Set-Cookie", "b=2")]
    grouped = [("Accept", "a/b"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Other", "x")]
    assert header_lines(cf_headers(lines)) == grouped
    assert header_lines({"x-no-key": [{"value": "v"}]}) == [("x-no-key", "v")]  # CloudFront names it by the key
    assert header_lines(None) == []
