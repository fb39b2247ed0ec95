"""``edge-router local`` as a user runs it: persistence across a restart, the APIVER banner, CloudFront's own
answers on the wire, and ``make run`` on a taken port."""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_router.local.paths import TABLE_FILE

from .running import EDGE_ROUTER, Running, ctrl_c, put_row, start

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_table_survives_a_restart_with_persist(tmp_path: Path) -> None:
    # The seeded rows name the API emulator's port, so both runs use the same one (as with the default 3000).
    api = str(free_port())
    first = start(tmp_path, "--persist", "--cache-ttl", "1", "--api-port", api)
    try:
        assert f"seeded by init_db; new file {TABLE_FILE}" in first.banner
        put_row(first, hk="application/vnd.example.v3+json", dn=first.api_origin, dp="/Prod/v2")
    finally:
        code, _ = first.stop()
    assert code == 0
    saved = json.loads((tmp_path / TABLE_FILE).read_text())
    assert sorted(item["hk"]["S"] for item in saved["items"]) == [
        "application/vnd.example.v1+json",
        "application/vnd.example.v2+json",
        "application/vnd.example.v3+json",
    ]
    second = start(tmp_path, "--persist", "--cache-ttl", "1", "--api-port", api)
    try:
        assert f"not seeded; 3 rows loaded from {TABLE_FILE}" in second.banner
        status, _, body = second.get("/hello", {"Accept": "application/vnd.example.v3+json"})
        assert (status, json.loads(body)["message"]) == (200, "API v.2: Hello world!")
    finally:
        second.stop()


def test_without_persist_the_banner_says_the_table_is_in_memory(tmp_path: Path) -> None:
    running = start(tmp_path)
    try:
        assert "in memory: gone when the stack stops (--persist keeps it)" in running.banner
        assert not (tmp_path / TABLE_FILE).exists()
    finally:
        running.stop()


def test_the_banners_smoke_command_passes_in_custom_header_mode(tmp_path: Path) -> None:
    running = start(tmp_path, "--header-name", "APIVER", "--v1-value", "v1", "--v2-value", "v2")
    try:
        found = re.search(r"^\s+(scripts/smoke\.sh .*)$", running.banner, re.MULTILINE)
        assert found, running.banner
        command = shlex.split(found.group(1))
        assert command[:-1] == ["scripts/smoke.sh", "--header-name", "APIVER", "--v1", "v1", "--v2", "v2"]
        result = subprocess.run(["bash", *command], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout
        assert result.stdout.splitlines()[-1] == "4 passed, 0 failed"
        assert "PASS unknown version -> 403 application/problem+json urn:edge-router:problem:unknown-version" in (
            result.stdout
        )
    finally:
        running.stop()


def raw(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):  # CloudFront closes the connection after refusing a request
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture(scope="module")
def wire_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start(tmp_path_factory.mktemp("wire"))
    yield running
    running.stop()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET http://example.com/hello HTTP/1.1\r\nHost: example.com\r\n\r\n", b"400"),
        (b"GET hello HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", b"400"),
        (b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"413"),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 21000 + b"\r\n\r\n", b"413"),
    ],
)
def test_cloudfronts_own_answers_on_the_wire(wire_edge: Running, request_bytes: bytes, status: bytes) -> None:
    before = wire_edge.request_lines()
    answer = raw(wire_edge.edge_url, request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    assert b"X-Cache: Error from cloudfront" in answer
    assert b"Connection: close" in answer
    assert wire_edge.request_lines() == before  # CloudFront answered before any function ran


def test_make_run_on_a_taken_port_exits_2_after_edge_router_exits_1() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            ["make", "-s", "run", f"ARGS=--port {port} --api-port 0 --dynamodb-port 0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2  # make reports a failed recipe as 2, whatever the command's own status
    assert f"port {port} is already in use; pass --port" in result.stderr
    assert "Error 1" in result.stderr  # the command's own status, as make shows it


def test_ctrl_c_during_a_slow_start_stops_it_cleanly(tmp_path: Path) -> None:
    # A DynamoDB endpoint that accepts connections and never answers: the stack hangs creating the table.
    edge, api = free_port(), free_port()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(60)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        process = subprocess.Popen(
            [str(EDGE_ROUTER), "local", "--port", str(edge), "--api-port", str(api), "--dynamodb-endpoint", endpoint],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            connection, _ = silent.accept()  # the stack is inside start(), waiting for DynamoDB
        except TimeoutError:
            ctrl_c(process)
            raise
        with connection:
            _, stderr = ctrl_c(process, timeout=20)  # killed after 20 s if the interrupt waits for DynamoDB
    assert process.returncode == 130
    assert stderr == "edge-router: interrupted\n"
    for port in (edge, api):  # nothing left listening: the edge server and the API Gateway child are gone
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
