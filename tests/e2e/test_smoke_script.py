"""scripts/smoke.sh against the local stack (all PASS), against a stack giving wrong answers, and misuse."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from edge_router.local.http import bind, send_simple, serve_in_thread
from edge_router.local.stack import LocalStack

pytestmark = pytest.mark.e2e

SMOKE = Path(__file__).resolve().parents[2] / "scripts" / "smoke.sh"


def smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SMOKE), *args], capture_output=True, text=True, timeout=60, check=False)


def test_smoke_passes_against_the_local_stack(stack: LocalStack) -> None:
    result = smoke(stack.edge_url)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert 'PASS v1 header -> 200 "API v.1: Hello world!"' in lines
    assert 'PASS v2 header -> 200 "API v.2: Hello world!"' in lines
    assert 'PASS real-world Accept list -> 200 "API v.2: Hello world!"' in lines
    assert [line for line in lines if line.startswith("PASS no header -> 403 application/problem+json")]
    assert lines[-1] == "5 passed, 0 failed"


class AlwaysV2(BaseHTTPRequestHandler):
    """A broken deployment: every request reaches v2 with a JSON 200."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        send_simple(self, 200, [("Content-Type", "application/json")], b'{"message": "API v.2: Hello world!"}')

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def broken_url() -> Iterator[str]:
    server = bind("127.0.0.1", 0, AlwaysV2, "-")
    serve_in_thread(server, "broken")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_smoke_fails_against_wrong_answers(broken_url: str) -> None:
    result = smoke(broken_url)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert 'FAIL v1 header: expected "API v.1: ...", got {"message": "API v.2: Hello world!"}' in lines
    assert [line for line in lines if line.startswith("FAIL no header: expected 403, got 200")]
    assert lines[-1] == "2 passed, 3 failed"


def test_custom_header_options(stack: LocalStack) -> None:
    """Another header name: its values are sent, and the Accept-only check is skipped. This stack routes on Accept,
    so the v1/v2 checks fail, and so does the unknown-version check: its 403 is a missing-version problem."""
    result = smoke("--header-name", "APIVER", "--v1", "v1", "--v2", "v2", stack.edge_url)
    assert result.returncode == 1
    assert "real-world" not in result.stdout
    lines = result.stdout.splitlines()
    assert (
        "FAIL unknown version: expected problem type urn:edge-router:problem:unknown-version, "
        "got urn:edge-router:problem:missing-version"
    ) in lines
    assert lines[-1] == "1 passed, 3 failed"


@pytest.mark.parametrize("args", [[], ["--bogus", "http://x"], ["ftp://x"], ["http://a", "http://b"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert smoke(*args).returncode == 2
