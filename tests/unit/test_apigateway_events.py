"""The API Gateway emulator: template routes, REST API proxy events as AWS sends them, proxy results to HTTP."""

from __future__ import annotations

import base64
import json
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from edge_router.local.apigateway import (
    ApiGateway,
    Function,
    HttpRequest,
    Route,
    find_route,
    load_template,
    proxy_event,
    proxy_response,
    routes_from_template,
)

TEMPLATE = """
Globals:
  Function:
    Environment:
      Variables: {SHARED: "yes"}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {StageName: Prod}
  V1:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Handler: app.lambda_handler
      Environment:
        Variables: {API_VER: v.1, FROM_STACK: !Ref Something}
      Events:
        Hello: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /v1/hello, Method: get}}
        Proxy: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/v1/{proxy+}", Method: any}}
        Item: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/v1/items/{id}", Method: get}}
  V2:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Handler: app.lambda_handler
      Environment:
        Variables: {API_VER: v.2}
      Events:
        Proxy: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/v2/{proxy+}", Method: ANY}}
        Schedule: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}
  Other:
    Type: AWS::CloudFront::Distribution
    Properties: {Name: !Sub "${AWS::StackName}-x", Arn: !GetAtt Api.Arn, Parts: !Split [",", "a,b"]}
"""

APP = """
import os

def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": os.environ["API_VER"]}
"""


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(APP)
    return tmp_path


@pytest.fixture
def routes(template_dir: Path) -> list[Route]:
    return routes_from_template(load_template(template_dir / "template.yaml"), template_dir)[0]


def test_template_with_short_tags_parses_into_routes(template_dir: Path) -> None:
    template = load_template(template_dir / "template.yaml")
    routes, stage = routes_from_template(template, template_dir)
    assert stage == "Prod"
    assert {(r.resource, r.method, r.function.name) for r in routes} == {
        ("/v1/hello", "GET", "V1"),
        ("/v1/{proxy+}", "ANY", "V1"),
        ("/v1/items/{id}", "GET", "V1"),
        ("/v2/{proxy+}", "ANY", "V2"),
    }
    v1 = next(r.function for r in routes if r.function.name == "V1")
    # Globals merge in; a value CloudFormation would resolve from the stack is left out.
    assert dict(v1.environment) == {"SHARED": "yes", "API_VER": "v.1"}
    assert v1.code_dir == template_dir / "code"
    assert template["Resources"]["Other"]["Properties"]["Arn"] == {"Fn::GetAtt": ["Api", "Arn"]}


@pytest.mark.parametrize(
    ("method", "path", "expected", "params"),
    [
        ("GET", "/v1/hello", "/v1/hello", {}),  # an exact resource beats {proxy+}
        ("POST", "/v1/hello", "/v1/{proxy+}", {"proxy": "hello"}),  # GET only: ANY proxy takes other methods
        ("GET", "/v1/items/42", "/v1/items/{id}", {"id": "42"}),  # {param} beats {proxy+}
        ("GET", "/v1/items/42/parts", "/v1/{proxy+}", {"proxy": "items/42/parts"}),
        ("DELETE", "/v2/a/b%20c", "/v2/{proxy+}", {"proxy": "a/b c"}),
        ("GET", "/v1", None, None),  # {proxy+} needs at least one segment
        ("GET", "/v3/hello", None, None),
        ("GET", "/", None, None),
    ],
)
def test_route_matching(
    routes: list[Route], method: str, path: str, expected: str | None, params: dict[str, str] | None
) -> None:
    found = find_route(routes, method, path)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found[0].resource, found[1]) == (expected, params)


def test_proxy_event_has_the_rest_api_shape(routes: list[Route]) -> None:
    request = HttpRequest(
        "POST",
        "/Prod/v1/things?b=1&b=2&c=&empty",
        [("Host", "api.local:3000"), ("X-Multi", "one"), ("x-multi", "two"), ("User-Agent", "curl/8")],
        b'{"a": 1}',
        "10.0.0.7",
    )
    route, params = find_route(routes, "POST", "/v1/things") or pytest.fail("no route")
    event = proxy_event(request, route, params, "Prod", "api.local:3000")
    assert event["resource"] == "/v1/{proxy+}"
    assert event["path"] == "/v1/things"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"proxy": "things"}
    assert event["stageVariables"] is None
    assert event["queryStringParameters"] == {"b": "2", "c": "", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"b": ["1", "2"], "c": [""], "empty": [""]}
    assert event["headers"]["X-Multi"] == "one"
    assert event["headers"]["x-multi"] == "two"
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["10.0.0.7"]
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["path"] == "/Prod/v1/things"
    assert context["stage"] == "Prod"
    assert context["resourcePath"] == "/v1/{proxy+}"
    assert context["httpMethod"] == "POST"
    assert context["identity"]["sourceIp"] == "10.0.0.7"
    assert context["identity"]["userAgent"] == "curl/8"
    assert context["domainName"] == "api.local:3000"
    assert isinstance(context["requestTimeEpoch"], int)
    assert set(context) >= {"requestId", "accountId", "apiId", "protocol", "requestTime", "resourceId"}
    json.dumps(event)  # what Lambda would deliver is JSON


def test_proxy_event_without_query_body_or_params_uses_nulls(routes: list[Route]) -> None:
    route, params = find_route(routes, "GET", "/v1/hello") or pytest.fail("no route")
    event = proxy_event(HttpRequest("GET", "/Prod/v1/hello", []), route, params, "Prod", "h")
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None


def test_binary_body_is_base64(routes: list[Route]) -> None:
    route, params = find_route(routes, "POST", "/v1/x") or pytest.fail("no route")
    event = proxy_event(HttpRequest("POST", "/Prod/v1/x", [], b"\xff\x00"), route, params, "Prod", "h")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


@pytest.mark.parametrize(
    ("result", "status", "headers", "body"),
    [
        ({"statusCode": 201, "headers": {"X-A": "1"}, "body": "hi"}, 201, [("X-A", "1")], b"hi"),
        (
            {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": ""},
            200,
            [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
            b"",
        ),
        ({"statusCode": 200, "body": base64.b64encode(b"\x01").decode(), "isBase64Encoded": True}, 200, [], b"\x01"),
        ({"statusCode": "200"}, 502, [("x-amzn-ErrorType", "InternalServerErrorException")], None),
        ({"statusCode": 200, "body": {"not": "a string"}}, 502, [], None),
        (None, 502, [], None),
    ],
)
def test_proxy_response(result: Any, status: int, headers: list[tuple[str, str]], body: bytes | None) -> None:
    response = proxy_response(result)
    assert response.status == status
    for header in headers:
        assert header in response.headers
    if body is not None:
        assert response.body == body
    if status == 502:
        assert json.loads(response.body) == {"message": "Internal server error"}


@pytest.mark.parametrize(
    ("target", "status", "message"),
    [
        ("/v1/hello", 403, "Forbidden"),  # no stage
        ("/Prod/v3/hello", 403, "Missing Authentication Token"),
        ("/Prod", 403, "Missing Authentication Token"),
    ],
)
def test_gateway_errors_are_api_gateways_own(template_dir: Path, target: str, status: int, message: str) -> None:
    gateway = ApiGateway.from_template(load_template(template_dir / "template.yaml"), template_dir)
    response = gateway.handle(HttpRequest("GET", target, []), "h")
    assert response.status == status
    assert json.loads(response.body) == {"message": message}


def test_function_error_is_502(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text("def handler(event, context):\n    raise RuntimeError('x')\n")
    route = Route("/x", "ANY", Function("Boom", tmp_path, "boom.handler", {}))
    response = ApiGateway([route]).handle(HttpRequest("GET", "/Prod/x", []), "h")
    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}


def test_each_function_sees_its_own_environment_under_concurrency(template_dir: Path) -> None:
    """The handler reads ``API_VER`` at call time; 16 threads calling both functions never see the other's."""
    gateway = ApiGateway.from_template(load_template(template_dir / "template.yaml"), template_dir)
    wrong: list[tuple[str, bytes]] = []

    def call(version: str) -> None:
        for _ in range(100):
            response = gateway.handle(HttpRequest("GET", f"/Prod/{version}/hello", []), "h")
            if response.body != f"v.{version[1]}".encode():
                wrong.append((version, response.body))

    threads = [threading.Thread(target=call, args=("v1" if i % 2 else "v2",)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_context_object_has_lambdas_attributes(tmp_path: Path) -> None:
    (tmp_path / "ctx.py").write_text(
        textwrap.dedent(
            """
            import json
            def handler(event, context):
                body = {"name": context.function_name, "left": context.get_remaining_time_in_millis() > 0,
                        "id": bool(context.aws_request_id), "arn": context.invoked_function_arn}
                return {"statusCode": 200, "body": json.dumps(body)}
            """
        )
    )
    route = Route("/ctx", "GET", Function("Ctx", tmp_path, "ctx.handler", {}))
    body = json.loads(ApiGateway([route]).handle(HttpRequest("GET", "/Prod/ctx", []), "h").body)
    assert body["name"] == "Ctx"
    assert body["left"] is True
    assert body["id"] is True
    assert body["arn"].endswith(":function:Ctx")
