"""``edge-router usage`` on what the local stack's router logged while serving requests over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from edge_router.local.stack import LocalStack

pytestmark = pytest.mark.e2e

V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
EDGE_ROUTER = Path(sys.executable).parent / "edge-router"
LAST_SEEN = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\dZ|-)\Z")


def test_usage_adds_up_the_requests_the_local_stack_served(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    traffic = [(V1, 3, 200), (V2, 2, 200), ("application/vnd.example.v9+json", 1, 403), (None, 1, 403)]
    for accept, count, status in traffic:
        for _ in range(count):
            response = requests.get(stack.edge_url + "/hello", headers={"Accept": accept}, timeout=10)
            assert response.status_code == status
    # The router writes its log lines to standard output, as in Lambda; here pytest has captured them.
    log = tmp_path / "router.log"
    log.write_text(capsys.readouterr().out)
    requests_logged = [line for line in log.read_text().splitlines() if json.loads(line).get("msg") == "request"]
    assert len(requests_logged) == 7
    # As deployed with UsageMetrics=true, every request line carries the metrics block, under EdgeRouter/local.
    for line in requests_logged:
        (directive,) = json.loads(line)["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "EdgeRouter/local"

    result = subprocess.run(
        [str(EDGE_ROUTER), "usage", "--log-file", str(log)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("VERSION "))
    assert lines[header].split()[:4] == ["VERSION", "REQUESTS", "SHARE", "OUTCOMES"]
    rows = {line.split()[0]: line for line in lines[header + 1 : header + 5]}
    expected = {
        V1: [V1, "3", "42.9%", "routed", "3", "-"],
        "(none)": ["(none)", "2", "28.6%", "missing-version", "1,", "unknown-version", "1", "-"],
        V2: [V2, "2", "28.6%", "routed", "2", "-"],
        "TOTAL": ["TOTAL", "7", "100%"],
    }
    for key, cells in expected.items():
        row = rows[key]
        if key != "TOTAL":
            assert LAST_SEEN.search(row), row
            row = LAST_SEEN.sub("", row)
        assert row.split() == cells
    assert lines.index(rows[V1]) < lines.index(rows["(none)"]) < lines.index(rows[V2])  # most requests first
    assert f"read {log}: 7 request lines in the window (7 with metrics)" in " ".join(result.stdout.split())


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    stamp = int(time.time() * 1000)
    log = tmp_path / "router.log"
    log.write_text(
        "".join(
            json.dumps({"msg": "request", "version": f"v{number}", "outcome": "routed", "_aws": {"Timestamp": stamp}})
            + "\n"
            for number in range(5000)
        )
    )
    command = [str(EDGE_ROUTER), "usage", "--log-file", str(log), "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.read(1) == b"{"
        process.stdout.close()  # as `| head -1` does
        errors = process.stderr.read()
        assert process.wait(timeout=60) == 1
    assert errors == b""
