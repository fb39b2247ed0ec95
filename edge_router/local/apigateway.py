"""A local API Gateway (REST API, Lambda proxy integration) built from template.yaml's SAM ``Api`` events.

It converts, it does not reimplement (Chalice's ``local.py``): each HTTP request becomes exactly the proxy event
API Gateway sends, the real handler from the template is called, and its proxy result becomes the HTTP answer.
Known differences from AWS are commented where they happen.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from ..lifecycle import http_date
from .http import BodyError, LoopbackServer, QuietHandler, bind, read_body, send_simple

DEFAULT_STAGE = "Prod"
"""The stage SAM gives an implicit API (and the sample's explicit one)."""
API_ID = "local0api1"
ACCOUNT_ID = "123456789012"
LambdaHandler = Callable[[dict[str, Any], Any], Any]
"""A Lambda function's handler: ``(event, context) -> result``."""


class TemplateError(ValueError):
    """template.yaml has no usable API routes, or a route's handler cannot be loaded."""


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation short tags (``!Ref``, ``!Sub``, ``!GetAtt`` ...) as plain values."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict[str, Any]:
    """Parse a SAM/CloudFormation template, tolerating short-form intrinsic functions; ``TemplateError`` when it
    cannot be read or is not YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"cannot read the template {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise TemplateError(f"the template {path} is not UTF-8 text") from None
    try:
        document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - _CfnLoader is a SafeLoader
    except yaml.YAMLError as error:
        raise TemplateError(f"the template {path} is not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict):
        raise TemplateError(f"{path} is not a template")
    return document


@dataclass(frozen=True, slots=True)
class Function:
    """One Lambda function of the template: where its code is, which handler, which environment."""

    name: str
    code_dir: Path
    handler: str
    environment: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Route:
    """One ``Api`` event: a resource path (``/v1/{proxy+}``), a method (``ANY`` for all) and its function."""

    resource: str
    method: str
    function: Function

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(part for part in self.resource.split("/") if part)

    def match(self, path: str) -> dict[str, str] | None:
        """Path parameters when ``path`` (without the stage) fits this resource, else ``None``."""
        parts = [part for part in path.split("/") if part]
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = parts[index:]
                if not rest:
                    return None
                params[segment[1:-2]] = "/".join(unquote(part) for part in rest)
                return params
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                params[segment[1:-1]] = unquote(parts[index])
            elif segment != parts[index]:
                return None
        return params if len(parts) == len(self.segments) else None

    @property
    def rank(self) -> tuple[int, ...]:
        """Sort key: API Gateway prefers literal segments over ``{param}`` over ``{proxy+}``, and a method over ANY."""
        kinds = tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments)
        return (*kinds, 3, 1 if self.method == "ANY" else 0)


def _scalar_env(variables: Any) -> dict[str, str]:
    if not isinstance(variables, dict):
        return {}
    # Intrinsic functions cannot be resolved without a stack; such values are left out (a difference from AWS).
    return {str(k): str(v) for k, v in variables.items() if isinstance(v, str | int | float | bool)}


def routes_from_template(template: Mapping[str, Any], base_dir: Path) -> tuple[list[Route], str]:
    """The REST API routes of every ``AWS::Serverless::Function`` ``Api`` event, best match first, and the stage."""
    resources = template.get("Resources") or {}
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    global_env = _scalar_env((globals_function.get("Environment") or {}).get("Variables"))
    stage = DEFAULT_STAGE
    for resource in resources.values():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Api":
            stage_name = (resource.get("Properties") or {}).get("StageName")
            stage = stage_name if isinstance(stage_name, str) else stage
    routes: list[Route] = []
    for name, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = {**globals_function, **(resource.get("Properties") or {})}
        env = {**global_env, **_scalar_env((properties.get("Environment") or {}).get("Variables"))}
        function = Function(name, base_dir / str(properties.get("CodeUri", ".")), str(properties["Handler"]), env)
        for event in (properties.get("Events") or {}).values():
            if isinstance(event, dict) and event.get("Type") == "Api":
                event_properties = event.get("Properties") or {}
                method = str(event_properties.get("Method", "ANY")).upper()
                routes.append(
                    Route(
                        str(event_properties["Path"]),
                        "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method,
                        function,
                    )
                )
    if not routes:
        raise TemplateError("the template defines no API Gateway (Api) events")
    routes.sort(key=lambda route: route.rank)
    return routes, stage


def find_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick for ``method path`` (path without the stage), with its path parameters."""
    for route in routes:
        if route.method in (method, "ANY"):
            params = route.match(path)
            if params is not None:
                return route, params
    return None


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's two views of repeated names: the last value, and every value in order (``None`` when empty)."""
    if not pairs:
        return None, None
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The parts of an HTTP request the proxy event is built from."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes | None = None
    source_ip: str = "127.0.0.1"


def proxy_event(request: HttpRequest, route: Route, params: dict[str, str], stage: str, host: str) -> dict[str, Any]:
    """The REST API (payload 1.0) Lambda proxy event API Gateway sends for ``request`` on ``route``.

    ``request.target`` includes the stage (``/Prod/v1/hello?x=1``); the event's ``path`` does not.
    """
    split = urlsplit(request.target)
    path = split.path[len(stage) + 1 :] or "/"
    request_id = str(uuid.uuid4())
    now = time.time()
    forwarded = [("X-Forwarded-For", request.source_ip), ("X-Forwarded-Port", host.rpartition(":")[2] or "80")]
    # API Gateway also adds X-Amzn-Trace-Id and, for an edge-optimized API, CloudFront-* and Via headers.
    header_pairs = [(n, v) for n, v in request.headers if n.lower() not in ("x-forwarded-for", "x-forwarded-port")]
    header_pairs += [
        *forwarded,
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"),
    ]
    headers, multi_headers = _single_and_multi(header_pairs)
    query, multi_query = _single_and_multi(parse_qsl(split.query, keep_blank_values=True))
    body, is_base64 = _event_body(request.body)
    user_agent = next((v for n, v in request.headers if n.lower() == "user-agent"), None)
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": secrets.token_hex(3),
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "extendedRequestId": base64.b64encode(secrets.token_bytes(12)).decode()[:16],
            "requestTime": http_date(int(now)),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": host.split(".", maxsplit=1)[0].split(":", maxsplit=1)[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
            },
            "domainName": host,
            "apiId": API_ID,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _event_body(body: bytes | None) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        # AWS passes non-UTF-8 bodies as base64 only when binaryMediaTypes match; the emulator always does.
        return base64.b64encode(body).decode("ascii"), True


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_error(status: int, message: str, error_type: str) -> HttpResponse:
    """API Gateway's own JSON errors (``{"message": ...}``) with its ``x-amzn-ErrorType`` header."""
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)],
        json.dumps({"message": message}).encode(),
    )


def proxy_response(result: Any) -> HttpResponse:
    """The HTTP answer for a Lambda proxy result; a malformed result is API Gateway's 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return gateway_error(502, "Internal server error", "InternalServerErrorException")
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        return gateway_error(502, "Internal server error", "InternalServerErrorException")
    for name, values in multi.items():
        headers += [(str(name), str(value)) for value in (values if isinstance(values, list) else [values])]
    # A name in both maps: API Gateway merges them; the single value is added after the multi values.
    headers += [(str(name), str(value)) for name, value in single.items()]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    raw = result.get("body")
    if raw is not None and not isinstance(raw, str):
        return gateway_error(502, "Internal server error", "InternalServerErrorException")
    body = (base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()) if raw else b""
    return HttpResponse(result["statusCode"], headers, body)


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The attributes of Lambda's context object that handlers commonly read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 128
    timeout_seconds: float = 30.0
    started: float = field(default_factory=time.monotonic)
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


_ENV_LOCK = threading.Lock()
"""Each Lambda function has its own process environment; in-process functions share ``os.environ``, so every call
(which may read its variables, e.g. ``API_VER``, at call time) runs with its own variables under this lock.
Calls are therefore serialised across functions: a difference from AWS, harmless for handlers that take
microseconds (Lambda also runs one request at a time per execution environment)."""


@contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Run with ``variables`` set in ``os.environ``, then restore it (callers hold ``_ENV_LOCK``)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class FunctionRunner:
    """Loads each function's handler module once per function (module state is per function, as in Lambda)."""

    def __init__(self) -> None:
        self._handlers: dict[str, LambdaHandler] = {}
        self._lock = threading.Lock()

    def _load(self, function: Function) -> LambdaHandler:
        module_name, _, attribute = function.handler.rpartition(".")
        source = function.code_dir / (module_name.replace(".", "/") + ".py")
        spec = importlib.util.spec_from_file_location(f"_local_lambda_{function.name}_{module_name}", source)
        if spec is None or spec.loader is None or not source.is_file():
            raise TemplateError(f"{function.name}: handler module {source} not found")
        module: ModuleType = importlib.util.module_from_spec(spec)
        if str(function.code_dir) not in sys.path:
            sys.path.append(str(function.code_dir))  # the code directory is the function's import root, as in Lambda
        with _ENV_LOCK, function_environment(function.environment):
            spec.loader.exec_module(module)
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise TemplateError(f"{function.name}: {function.handler} is not a function")
        return handler  # type: ignore[no-any-return]

    def handler_for(self, function: Function) -> LambdaHandler:
        with self._lock:
            if function.name not in self._handlers:
                self._handlers[function.name] = self._load(function)
            return self._handlers[function.name]

    def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        """Call the function's handler with its environment; exceptions propagate (API Gateway answers 502)."""
        handler = self.handler_for(function)
        with _ENV_LOCK, function_environment(function.environment):
            return handler(event, LambdaContext(function.name))


@dataclass
class ApiGateway:
    """Routes and invokes: HTTP request in, HTTP response out (no sockets, so it is unit-testable)."""

    routes: list[Route]
    stage: str = DEFAULT_STAGE
    runner: FunctionRunner = field(default_factory=FunctionRunner)

    @classmethod
    def from_template(cls, template: Mapping[str, Any], base_dir: Path) -> ApiGateway:
        """The API of a parsed template; code paths are relative to ``base_dir`` (the template's folder)."""
        routes, stage = routes_from_template(template, base_dir)
        return cls(routes, stage)

    def handle(self, request: HttpRequest, host: str) -> HttpResponse:
        path = urlsplit(request.target).path
        if path != f"/{self.stage}" and not path.startswith(f"/{self.stage}/"):
            # A stage that does not exist: API Gateway's answer on its default endpoint.
            return gateway_error(403, "Forbidden", "ForbiddenException")
        found = find_route(self.routes, request.method, path[len(self.stage) + 1 :] or "/")
        if found is None:
            return gateway_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        route, params = found
        event = proxy_event(request, route, params, self.stage, host)
        try:
            result = self.runner.invoke(route.function, event)
        except Exception:  # a function error: API Gateway answers 502 and the error goes to the function's log
            return gateway_error(502, "Internal server error", "InternalServerErrorException")
        response = proxy_response(result)
        request_id = event["requestContext"]["requestId"]
        extra = [("x-amzn-RequestId", request_id), ("x-amz-apigw-id", event["requestContext"]["extendedRequestId"])]
        return HttpResponse(response.status, response.headers + extra, response.body)


def make_handler(gateway: ApiGateway) -> type[BaseHTTPRequestHandler]:
    """A keep-alive request handler class bound to one ``ApiGateway``."""

    class ApiGatewayHandler(QuietHandler):
        server_version = "edge-router-local-apigateway"

        def _serve(self) -> None:
            try:
                body = read_body(self)
            except BodyError as error:
                self.close_connection = True
                send_simple(self, error.status, [("Content-Type", "application/json")], b'{"message":"Bad Request"}')
                return
            host = self.headers.get("Host") or "{}:{}".format(*self.connection.getsockname()[:2])
            request = HttpRequest(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
            response = gateway.handle(request, host)
            send_simple(self, response.status, response.headers, response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    return ApiGatewayHandler


def start_server(gateway: ApiGateway, host: str, port: int) -> LoopbackServer:
    """Bind the emulator (``PortInUseError`` names ``--api-port``); call ``serve_in_thread`` to run it."""
    return bind(host, port, make_handler(gateway), "--api-port")
