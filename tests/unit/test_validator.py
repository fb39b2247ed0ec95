"""The output validator catches what CloudFront would reject with a 502."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from edge_router import config
from edge_router.problems import problem_response
from edge_router.validator import validate_response_output, validate_result
from tests.conftest import load_event
from tests.helpers import API, SETTINGS, V1, FakeSource, make_router

EVENT = load_event("origin-request")
EVENT["Records"][0]["cf"]["request"]["origin"]["custom"]["customHeaders"] = config.custom_headers_for(SETTINGS)
EVENT["Records"][0]["cf"]["request"]["headers"]["accept"] = [{"key": "Accept", "value": V1}]
ORIGINAL = EVENT["Records"][0]["cf"]["request"]


def routed(domain: str = API, *, local: bool = False) -> dict[str, Any]:
    """What the router returns for the documented event, routed to ``domain``."""
    harness = make_router(FakeSource(rows=[{"hk": V1, "dn": domain, "dp": "/Prod/v1"}]), allow_local_origins=local)
    result: dict[str, Any] = harness.router.handle(copy.deepcopy(EVENT))
    assert "origin" in result, result
    return result


def test_valid_outputs() -> None:
    assert validate_result(ORIGINAL, routed()) == []
    assert validate_result(ORIGINAL, problem_response(403, "unknown-version", "no")) == []
    local = routed("127.0.0.1:3000", local=True)
    assert validate_result(ORIGINAL, local, allow_local_origins=True) == []
    assert validate_result(ORIGINAL, local) != []


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(result: dict[str, Any]) -> None:
        target = result
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


CUSTOM = ["origin", "custom"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (_set(["method"], "POST"), "method"),
        (_set(["clientIp"], "1.2.3.4"), "clientIp"),
        (_set(["uri"], "no-slash"), "uri"),
        (_set(["uri"], "/" + "a" * 9000), "longer"),
        (_set(["headers", "via"], [{"key": "Via", "value": "changed"}]), "via"),
        (_set(["headers", "content-length"], [{"key": "Content-Length", "value": "1"}]), "content-length"),
        (_set(["headers", "x-edge-thing"], [{"key": "X-Edge-Thing", "value": "1"}]), "disallowed"),
        (_set(["headers", "connection"], [{"key": "Connection", "value": "close"}]), "disallowed"),
        (_set(["headers", "Upper"], [{"key": "Upper", "value": "1"}]), "lowercase"),
        (_set(["headers", "x-a"], [{"key": "X-B", "value": "1"}]), "does not match"),
        (_set(["headers", "x-a"], []), "non-empty"),
        (_set(["headers", "x-big"], [{"key": "X-Big", "value": "a" * 21000}]), "larger"),
        (_set(["origin"], {}), "exactly one"),
        (_set([*CUSTOM, "domainName"], "10.0.0.1"), "IP"),
        (_set([*CUSTOM, "domainName"], "host:8443"), "port"),
        (_set([*CUSTOM, "domainName"], ""), "domainName"),
        (_set([*CUSTOM, "path"], "/a/"), "path"),
        (_set([*CUSTOM, "path"], "a"), "path"),
        (_set([*CUSTOM, "port"], 81), "port"),
        (_set([*CUSTOM, "port"], "443"), "port"),
        (_set([*CUSTOM, "protocol"], "ftp"), "protocol"),
        (_set([*CUSTOM, "readTimeout"], 61), "readTimeout"),
        (_set([*CUSTOM, "keepaliveTimeout"], 0), "keepaliveTimeout"),
        (_set([*CUSTOM, "sslProtocols"], ["TLSv1.3"]), "sslProtocols"),
        (_set([*CUSTOM, "customHeaders"], {"x-edge-a": [{"key": "X-Edge-A", "value": "1"}]}), "disallowed"),
        (_set([*CUSTOM, "customHeaders"], {"host": [{"key": "Host", "value": "x"}]}), "also a request header"),
    ],
)
def test_invalid_requests(change: Callable[[dict[str, Any]], None], needle: str) -> None:
    result = routed()
    change(result)
    problems = validate_result(ORIGINAL, result)
    assert problems and any(needle.lower() in p.lower() for p in problems), problems


@pytest.mark.parametrize(
    ("response", "needle"),
    [
        ({"status": 403}, "string"),
        ({"status": "99"}, "string"),
        ({"status": "600"}, "string"),
        ({"status": "2\u00b2\u00b2"}, "string"),  # digits to str.isdigit, not to int()
        ({"status": "200", "bodyEncoding": "gzip"}, "bodyEncoding"),
        ({"status": "200", "body": b"bytes"}, "body"),
        ({"status": "200", "body": "x" * (1024 * 1024 + 1)}, "1 MB"),
        ({"status": "200", "headers": {"x-cache": [{"key": "X-Cache", "value": "1"}]}}, "disallowed"),
        ({"status": "200", "statusDescription": 5}, "statusDescription"),
    ],
)
def test_invalid_responses(response: dict[str, Any], needle: str) -> None:
    problems = validate_result(ORIGINAL, response)
    assert problems and any(needle.lower() in p.lower() for p in problems), problems


def test_not_an_object_and_no_request() -> None:
    assert validate_result(ORIGINAL, None)
    assert validate_result(None, routed())


# --- origin-response output -------------------------------------------------------------------------------------

RESPONSE = load_event("origin-response")["Records"][0]["cf"]["response"]


def _response(**headers: list[dict[str, str]]) -> dict[str, Any]:
    result = copy.deepcopy(RESPONSE)
    result["headers"].update(headers)
    return result


def test_valid_origin_response_outputs() -> None:
    assert validate_response_output(RESPONSE, copy.deepcopy(RESPONSE)) == []
    assert validate_response_output(RESPONSE, _response(**{"x-new": [{"key": "X-New", "value": "1"}]})) == []
    replaced = {**copy.deepcopy(RESPONSE), "status": "403", "body": "no", "bodyEncoding": "text"}
    assert validate_response_output(RESPONSE, replaced) == []


@pytest.mark.parametrize(
    ("result", "needle"),
    [
        (_response(via=[{"key": "Via", "value": "1.1 added"}]), "via"),
        (_response(**{"transfer-encoding": [{"key": "Transfer-Encoding", "value": "chunked"}]}), "transfer-encoding"),
        (_response(**{"x-cache": [{"key": "X-Cache", "value": "Hit"}]}), "disallowed"),
        (_response(**{"x-edge-thing": [{"key": "X-Edge-Thing", "value": "1"}]}), "disallowed"),
        (_response(**{"X-Upper": [{"key": "X-Upper", "value": "1"}]}), "lowercase"),
        (_response(**{"x-a": [{"key": "X-B", "value": "1"}]}), "does not match"),
        (_response(**{"x-a": [{"key": "X-A"}]}), "value"),
        ({**copy.deepcopy(RESPONSE), "status": 200}, "status"),
        ({**copy.deepcopy(RESPONSE), "body": "x" * (1024 * 1024 + 1)}, "1 MB"),
        ("not an object", "object"),
    ],
)
def test_invalid_origin_response_outputs(result: Any, needle: str) -> None:
    problems = validate_response_output(RESPONSE, result)
    assert problems and any(needle.lower() in p.lower() for p in problems), problems


def test_read_only_via_cannot_be_removed_or_changed() -> None:
    original = _response(via=[{"key": "Via", "value": "1.1 origin"}])
    removed = copy.deepcopy(original)
    del removed["headers"]["via"]
    changed = _response(via=[{"key": "Via", "value": "1.1 other"}])
    assert validate_response_output(original, copy.deepcopy(original)) == []
    assert validate_response_output(original, removed)
    assert validate_response_output(original, changed)
