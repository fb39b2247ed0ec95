"""The admin commands against the running local stack, as an admin runs them from a fresh clone's shell: the
installed ``edge-router`` script, three environment variables, no AWS credentials, and loopback origins."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from edge_router.local.stack import LocalStack

pytestmark = pytest.mark.e2e

EDGE_ROUTER = Path(sys.executable).parent / "edge-router"
V2 = "application/vnd.example.v2+json"
V4 = "application/vnd.example.v4+json"


@pytest.fixture
def admin(stack: LocalStack, tmp_path: Path) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """Run ``edge-router ARGS`` with the environment the admin guide tells a user to set, and nothing else."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "absent"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "absent"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": stack.options.region,
        "EDGE_ROUTER_TABLE": stack.options.table,
        "AWS_ENDPOINT_URL_DYNAMODB": stack.dynamodb_url,
    }

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(EDGE_ROUTER), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
        )

    yield run
    run("mappings", "delete", V4, "--yes")


def test_an_admin_session_against_the_local_stack(
    stack: LocalStack, admin: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    listed = admin("mappings", "list")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout.splitlines()[0].split() == ["KEY", "ORIGIN", "REV", "UPDATED", "BY"]
    assert all(line.endswith("stack/edge-router-local") for line in listed.stdout.splitlines()[1:])

    exported = admin("mappings", "export", str(tmp_path / "local.yaml"))
    assert exported.returncode == 0
    reimported = admin("mappings", "import", str(tmp_path / "local.yaml"))
    assert (reimported.returncode, reimported.stdout) == (
        0,
        "0 change(s): 0 added, 0 changed, 0 removed; 2 unchanged\n",
    )

    api = stack.api_url.removeprefix("http://")
    put = admin("mappings", "put", V4, "--domain", api, "--path", "/Prod/v2", "--deprecated-at", "2020-01-01",
                "--successor", V2, "--as", "e2e")  # fmt: skip
    assert (put.returncode, put.stderr) == (0, "")
    assert put.stdout == f"added: {V4} -> {api}/Prod/v2 (revision 1; deprecated 2020-01-01, successor {V2})\n"

    resolved = admin("resolve", "-H", f"Accept: {V4}", "--json")
    decision = json.loads(resolved.stdout)
    assert (resolved.returncode, decision["routed"], decision["skippedRows"]) == (0, True, [])
    assert (decision["origin"]["protocol"], decision["origin"]["domainName"]) == ("http", "127.0.0.1")
    assert decision["responseHeaders"]["Deprecation"] == "@1577836800"
    assert decision["responseHeaders"]["api-deprecated-versions"] == V4

    deadline = time.monotonic() + 10
    while True:  # the edge picks the new row up after the mapping cache TTL
        answer = requests.get(stack.edge_url + "/hello", headers={"Accept": V4}, timeout=10)
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.json() == {"message": "API v.2: Hello world!"}

    refused = admin("mappings", "put", V4, "--domain", "https://example.com")
    assert refused.returncode == 1 and "must be a host name without a scheme (no https://)" in refused.stderr
    no_terminal = admin("mappings", "delete", V4)
    assert (no_terminal.returncode, no_terminal.stderr) == (
        2,
        "edge-router: error: refusing to delete without --yes (not a terminal)\n",
    )
