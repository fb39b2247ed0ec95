"""The whole local stack over HTTP: CloudFront emulator -> real router -> API Gateway emulator -> real backends."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests

from edge_router import config
from edge_router.local.cloudfront import CloudFront
from edge_router.local.dynamodb import dynamodb_client
from edge_router.local.http import PortInUseError, bind, read_body, send_simple, serve_in_thread
from edge_router.local.server import start_server
from edge_router.local.stack import LocalStack, StackOptions

from .running import EDGE_ROUTER, ctrl_c

pytestmark = pytest.mark.e2e

V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
REAL_WORLD = f"{V2}, application/json;q=0.9, */*;q=0.8"


def get(stack: LocalStack, accept: str | None, path: str = "/hello", **options: Any) -> requests.Response:
    # ``None`` removes the header requests would otherwise send (``Accept: */*``), as ``curl -H "Accept:"`` does.
    return requests.get(stack.edge_url + path, headers={"Accept": accept}, timeout=10, **options)


@pytest.mark.parametrize(
    ("accept", "message"),
    [(V1, "API v.1: Hello world!"), (V2, "API v.2: Hello world!"), (REAL_WORLD, "API v.2: Hello world!")],
)
def test_versions_reach_their_backend(stack: LocalStack, accept: str, message: str) -> None:
    response = get(stack, accept)
    assert response.status_code == 200
    assert response.json() == {"message": message}
    assert response.headers["X-Cache"] == "Miss from cloudfront"
    assert "edge-router CloudFront emulator" in response.headers["Via"]
    assert response.headers["x-amzn-RequestId"]  # API Gateway's header came through


@pytest.mark.parametrize(
    ("accept", "problem"), [(None, "missing-version"), ("application/vnd.example.v9+json", "unknown-version")]
)
def test_missing_or_unknown_version_is_a_403_problem(stack: LocalStack, accept: str | None, problem: str) -> None:
    response = get(stack, accept)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json()["type"].endswith(problem)
    assert response.json()["supportedVersions"] == [V1, V2]


def test_method_body_and_query_pass_through_to_the_backend(stack: LocalStack) -> None:
    response = requests.post(stack.edge_url + "/hello?x=1&x=2", data=b'{"a":1}', headers={"Accept": V1}, timeout=10)
    assert response.status_code == 405  # the backend's own answer: /hello is GET and HEAD only
    assert response.headers["Allow"] == "GET, HEAD"
    head = requests.head(stack.edge_url + "/hello", headers={"Accept": V2}, timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    missing = get(stack, V1, path="/nothing/here")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found"}


def test_keep_alive_connection_is_reused(stack: LocalStack) -> None:
    host, port = stack.edge_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        sockets = set()
        for accept in [V1, V2, "nope/nope", V1, V2]:
            connection.request("GET", "/hello", headers={"Accept": accept})
            response = connection.getresponse()
            response.read()
            assert not response.will_close
            sockets.add(id(connection.sock))
        assert len(sockets) == 1
    finally:
        connection.close()


def test_concurrent_clients_each_get_their_version(stack: LocalStack) -> None:
    def client(index: int) -> list[str]:
        wrong = []
        with requests.Session() as session:
            for step in range(15):
                version = (index + step) % 2 + 1
                response = session.get(
                    stack.edge_url + "/hello", headers={"Accept": V1 if version == 1 else V2}, timeout=10
                )
                if response.json().get("message") != f"API v.{version}: Hello world!":
                    wrong.append(response.text)
        return wrong

    with ThreadPoolExecutor(16) as pool:
        assert [problem for result in pool.map(client, range(16)) for problem in result] == []


def test_admin_edit_is_visible_after_the_cache_ttl(stack: LocalStack) -> None:
    api_origin = stack.api_url.removeprefix("http://")
    client = dynamodb_client(stack.dynamodb_url, stack.options.region)
    client.put_item(
        TableName=stack.options.table,
        Item={"hk": {"S": "application/vnd.example.v3+json"}, "dn": {"S": api_origin}, "dp": {"S": "/Prod/v2"}},
    )
    deadline = time.monotonic() + 10
    while True:
        response = get(stack, "application/vnd.example.v3+json")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.json() == {"message": "API v.2: Hello world!"}


def test_a_port_in_use_is_a_clear_error(stack: LocalStack) -> None:
    busy = int(stack.edge_url.rsplit(":", 1)[1])
    with pytest.raises(PortInUseError, match=f"port {busy} is already in use; pass --port"):
        LocalStack(StackOptions(port=busy, api_port=0, dynamodb_port=0)).start()
    result = subprocess.run(
        [str(EDGE_ROUTER), "local", "--port", "0", "--api-port", str(busy), "--dynamodb-port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == f"edge-router: error: port {busy} is already in use; pass --api-port\n"


def test_stop_undoes_every_change_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)  # the package's stack sets some of these while it runs
    before = dict(os.environ)
    # moto keeps one DynamoDB per process: a table of its own and no seeding leave the package's stack's rows alone.
    with LocalStack(StackOptions(port=0, api_port=0, dynamodb_port=0, table="EnvironmentCheck", seed=False)):
        assert os.environ["AWS_ACCESS_KEY_ID"] == "local"  # the embedded DynamoDB accepts any
    assert dict(os.environ) == before


def test_the_command_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [
            str(EDGE_ROUTER),
            "local",
            "--port",
            "0",
            "--api-port",
            "0",
            "--dynamodb-port",
            "0",
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        base_url = ready.read_text().strip()
        assert requests.get(base_url + "/hello", headers={"Accept": V1}, timeout=10).status_code == 200
    finally:
        stdout, stderr = ctrl_c(process, timeout=20)
    assert process.returncode == 0
    assert not ready.exists()  # the URL it named serves no more
    assert "Traceback" not in stderr
    assert f'curl -i -H "Accept: {V1}" {base_url}/hello' in stdout
    assert f"ready: {base_url}" in stdout


# --- forwarding details, against an echo origin that reports what it received --------------------------------


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _echo(self) -> None:
        body = read_body(self) or b""
        seen = {"method": self.command, "path": self.path, "headers": list(self.headers.items()), "body": body.decode()}
        send_simple(
            self,
            201,
            [
                ("Content-Type", "application/json"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
                ("Keep-Alive", "timeout=5"),
            ],
            json.dumps(seen).encode(),
        )

    do_GET = do_POST = do_PUT = do_DELETE = _echo

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def echo_edge() -> Iterator[tuple[str, int]]:
    """A CloudFront emulator whose function routes everything to the echo origin (``/base`` origin path)."""
    origin = bind("127.0.0.1", 0, EchoHandler, "-")
    origin_port = origin.server_address[1]
    serve_in_thread(origin, "echo")

    def route_to_echo(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        request = dict(event["Records"][0]["cf"]["request"])
        request["headers"] = {**request["headers"], "host": [{"key": "Host", "value": f"127.0.0.1:{origin_port}"}]}
        request["origin"] = {
            "custom": {
                "customHeaders": {},
                "domainName": "127.0.0.1",
                "keepaliveTimeout": 5,
                "path": "/base",
                "port": origin_port,
                "protocol": "http",
                "readTimeout": 5,
                "sslProtocols": ["TLSv1.2"],
            }
        }
        return request

    edge = start_server(CloudFront(route_to_echo, {config.TABLE_NAME: "unused"}), "127.0.0.1", 0)
    serve_in_thread(edge, "edge")
    yield f"http://127.0.0.1:{edge.server_address[1]}", origin_port
    for server in (edge, origin):
        server.shutdown()
        server.server_close()


def test_forwarding_keeps_method_body_query_and_repeated_headers(echo_edge: tuple[str, int]) -> None:
    url, origin_port = echo_edge
    sock = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10)
    request = (
        "PUT /things?a=1&a=2 HTTP/1.1\r\nHost: viewer.example\r\nX-Multi: one\r\nX-Multi: two\r\n"
        "Connection: keep-alive, X-Secret\r\nX-Secret: hop\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    sock.sendall(request.encode())
    response = http.client.HTTPResponse(sock)
    response.begin()
    seen = json.loads(response.read())
    sock.close()
    assert response.status == 201
    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Keep-Alive"] is None  # hop-by-hop, dropped
    assert response.headers["X-Cache"] == "Miss from cloudfront"
    assert seen["method"] == "PUT"
    assert seen["path"] == "/base/things?a=1&a=2"
    assert seen["body"] == "abcde"
    headers = {name.lower(): value for name, value in seen["headers"]}
    assert headers["x-multi"] == "one, two"
    assert headers["host"] == f"127.0.0.1:{origin_port}"
    assert "x-secret" not in headers
    assert "user-agent" not in headers  # the viewer sent none, and CloudFront adds none
    assert headers["x-amz-cf-id"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["via"].startswith("2.0 ")


def test_an_unreachable_origin_is_a_502(stack: LocalStack) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_port = unused.getsockname()[1]
    client = dynamodb_client(stack.dynamodb_url, stack.options.region)
    client.put_item(
        TableName=stack.options.table,
        Item={
            "hk": {"S": "application/vnd.example.dead+json"},
            "dn": {"S": f"127.0.0.1:{dead_port}"},
            "dp": {"S": "/x"},
        },
    )
    deadline = time.monotonic() + 10
    while True:
        response = get(stack, "application/vnd.example.dead+json")
        if response.status_code != 403 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.status_code == 502
    assert response.headers["X-Cache"] == "Error from cloudfront"
