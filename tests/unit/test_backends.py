"""The versioned backends: the sample's answer, JSON 404/405/400/500, routing after the version prefix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backends import app


def proxy_event(path: str, method: str = "GET") -> dict[str, Any]:
    """A REST API proxy event as API Gateway sends it (stage not in ``path``)."""
    return {
        "resource": "/v1/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/vnd.example.v1+json"},
        "queryStringParameters": None,
        "requestContext": {"stage": "Prod", "path": f"/Prod{path}"},
        "body": None,
    }


@pytest.mark.parametrize(("api_ver", "path"), [("v.1", "/v1/hello"), ("v.2", "/v2/hello"), ("v.1", "/v1/hello/")])
def test_hello_answers_like_the_sample(monkeypatch: pytest.MonkeyPatch, api_ver: str, path: str) -> None:
    monkeypatch.setenv("API_VER", api_ver)
    result = app.lambda_handler(proxy_event(path), None)
    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"] == "application/json"
    assert json.loads(result["body"]) == {"message": f"API {api_ver}: Hello world!"}


def test_head_is_allowed() -> None:
    assert app.lambda_handler(proxy_event("/v1/hello", "HEAD"), None)["statusCode"] == 200


@pytest.mark.parametrize("path", ["/v1/nope", "/v1", "/v1/hello/more", "/hello"])
def test_unknown_routes_are_json_404(path: str) -> None:
    result = app.lambda_handler(proxy_event(path), None)
    assert result["statusCode"] == 404
    assert json.loads(result["body"]) == {"message": "Not Found"}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_json_405_with_allow(method: str) -> None:
    result = app.lambda_handler(proxy_event("/v2/hello", method), None)
    assert result["statusCode"] == 405
    assert result["headers"]["Allow"] == "GET, HEAD"
    assert json.loads(result["body"]) == {"message": "Method Not Allowed"}


@pytest.mark.parametrize("event", [None, [], {}, {"path": 3, "httpMethod": "GET"}, {"path": "/v1/hello"}])
def test_malformed_events_are_json_400(event: Any) -> None:
    result = app.lambda_handler(event, None)
    assert result["statusCode"] == 400
    assert json.loads(result["body"]) == {"message": "Bad Request"}


def test_unexpected_errors_are_json_500_without_a_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("secret detail")

    monkeypatch.setitem(app.ROUTES, "/hello", (app.HELLO_METHODS, broken))
    result = app.lambda_handler(proxy_event("/v1/hello"), None)
    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {"message": "Internal Server Error"}
    assert "secret" not in result["body"]
