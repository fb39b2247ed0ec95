"""A real HTTP server on loopback standing in for CloudFormation's pre-signed response URL, and event builders."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/11111111-2222-3333-4444-555555555555"
API = "abc123.execute-api.us-east-1.amazonaws.com"
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"


@dataclass
class ResponseSink:
    """Records every PUT; answers 500 to the first ``fail_first`` of them."""

    url: str = ""
    fail_first: int = 0
    status_after: int = 200
    attempts: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str | None] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Any]:
        return self.bodies[-1]


@contextmanager
def response_server(fail_first: int = 0, status_after: int = 200) -> Iterator[ResponseSink]:
    sink = ResponseSink(fail_first=fail_first, status_after=status_after)

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            sink.attempts += 1
            failing = sink.attempts <= sink.fail_first
            if not failing:
                sink.bodies.append(json.loads(body))
                sink.content_types.append(self.headers.get("Content-Type"))
            self.send_response(500 if failing else sink.status_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet: the test output stays readable."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/cfn-response?X-Amz-Signature=secret"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


class FakeContext:
    """The bits of the Lambda context the handler reads."""

    log_stream_name = "2025/01/01/[$LATEST]abc"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def mappings(v1: str = V1, v2: str = V2, dn: str = API) -> list[dict[str, str]]:
    return [{"hk": v1, "dn": dn, "dp": "/Prod/v1"}, {"hk": v2, "dn": dn, "dp": "/Prod/v2"}]


def cfn_event(
    request_type: str,
    url: str,
    table: str,
    rows: list[dict[str, str]] | None = None,
    old_rows: list[dict[str, str]] | None = None,
    physical_id: str | None = None,
) -> dict[str, Any]:
    """A custom resource event as CloudFormation sends it (properties arrive as strings and lists)."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": "req-1",
        "ResourceType": "Custom::VersionMappings",
        "LogicalResourceId": "SeedVersionMappings",
        "ResourceProperties": {"ServiceToken": "arn:fn", "TableName": table, "Mappings": rows or mappings()},
    }
    if old_rows is not None:
        event["OldResourceProperties"] = {"ServiceToken": "arn:fn", "TableName": table, "Mappings": old_rows}
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event
