"""``edge-router local`` as a user runs it: a child process on free ports in its own working directory."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_router.local.paths import ROUTER_LOG

EDGE_ROUTER = Path(sys.executable).parent / "edge-router"


@dataclass
class Running:
    """One ``edge-router local`` process; ``stop()`` is Ctrl-C."""

    cwd: Path
    process: subprocess.Popen[str]
    edge_url: str = ""
    dynamodb_url: str = ""
    api_origin: str = ""
    banner: str = ""
    output: list[str] = field(default_factory=list)

    @property
    def router_log(self) -> Path:
        return self.cwd / ROUTER_LOG

    def request_lines(self) -> int:
        """How many times the origin-request function answered a request (its log lines)."""
        if not self.router_log.exists():
            return 0
        return sum('"msg":"request"' in line for line in self.router_log.read_text().splitlines())

    def get(self, path: str, headers: dict[str, str], source: str | None = None) -> tuple[int, dict[str, str], bytes]:
        host, port = self.edge_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(
            host, int(port), timeout=10, source_address=(source, 0) if source else None
        )
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def stop(self) -> tuple[int, str]:
        _, stderr = ctrl_c(self.process)
        return self.process.returncode, stderr


def ctrl_c(process: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    """SIGINT (unless it exited already), then its standard output and error; killed if it outlives ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def start(cwd: Path, *args: str, timeout: float = 60) -> Running:
    """Start the stack and wait for its banner's ``ready:`` line."""
    cwd.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(EDGE_ROUTER), "local", "--port", "0", "--api-port", "0", "--dynamodb-port", "0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = Running(cwd, process)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"edge-router local exited: {running.stop()}")
        running.output.append(line)
        if line.startswith("ready: "):
            break
    stdout = process.stdout
    # The router logs a line per request to stdout: keep reading, or a full pipe would stall the stack.
    threading.Thread(target=lambda: running.output.extend(stdout), daemon=True).start()
    running.banner = "".join(running.output)
    running.edge_url = running.banner.rsplit("ready: ", 1)[1].strip()
    found = re.search(r"DynamoDB\s+(http://\S+)", running.banner)
    api = re.search(r"API Gateway\s+http://(\S+?)/Prod", running.banner)
    assert found and api, running.banner
    running.dynamodb_url, running.api_origin = found.group(1), api.group(1)
    return running


def put_row(running: Running, **attributes: Any) -> None:
    """Write one mapping row with boto3, as an admin's script would."""
    from edge_router.local.dynamodb import dynamodb_client, use_local_credentials

    use_local_credentials()  # the embedded DynamoDB accepts any

    item: dict[str, Any] = {}
    for name, value in attributes.items():
        if isinstance(value, bool):
            item[name] = {"BOOL": value}
        elif isinstance(value, int | float):
            item[name] = {"N": str(value)}
        else:
            item[name] = {"S": value}
    dynamodb_client(running.dynamodb_url).put_item(TableName="ApiVersionMapping", Item=item)
