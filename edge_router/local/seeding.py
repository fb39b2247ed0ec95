"""Seed the mapping table through the real ``init_db`` custom resource, as CloudFormation would on stack creation.

The handler gets a genuine Create event whose pre-signed ``ResponseURL`` is a local endpoint; the answer it PUTs
there decides: SUCCESS lets the stack start, FAILED stops it with the handler's reason.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from .apigateway import LambdaContext, LambdaHandler
from .http import QuietHandler, bind, read_body, send_simple, serve_in_thread

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/edge-router-local/00000000-0000-0000-0000-000000000000"
RESOURCE_TYPE = "Custom::ApiVersionMappingSeed"
LOGICAL_ID = "InitDbCustomResource"


class SeedingError(RuntimeError):
    """The custom resource answered FAILED, or did not answer at all."""


@dataclass(frozen=True, slots=True)
class SeedMapping:
    """One row to seed: version value, origin domain (``127.0.0.1:PORT`` locally) and origin path."""

    hk: str
    dn: str
    dp: str

    def as_property(self) -> dict[str, str]:
        return {"hk": self.hk, "dn": self.dn, "dp": self.dp}


def create_event(response_url: str, table_name: str, mappings: Sequence[SeedMapping]) -> dict[str, Any]:
    """The Create request CloudFormation sends to a custom resource (all property values are strings or lists)."""
    return {
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:edge-router-local-InitDbFunction",
        "ResponseURL": response_url,
        "StackId": STACK_ID,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": RESOURCE_TYPE,
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:edge-router-local-InitDbFunction",
            "TableName": table_name,
            "Mappings": [mapping.as_property() for mapping in mappings],
        },
    }


class _Receiver:
    """A one-shot local stand-in for the pre-signed S3 URL CloudFormation waits on."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []
        self.received = threading.Event()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class ResponseHandler(QuietHandler):
            def do_PUT(self) -> None:
                try:
                    answer = json.loads(read_body(self) or b"")
                except ValueError:
                    answer = {"Status": "FAILED", "Reason": "the response body was not JSON"}
                receiver.answers.append(answer if isinstance(answer, dict) else {"Status": "FAILED"})
                receiver.received.set()
                send_simple(self, 200, [], b"")  # S3 answers an empty 200 to the PUT

        return ResponseHandler


def seed(
    handler: LambdaHandler, table_name: str, mappings: Sequence[SeedMapping], *, timeout: float = 30.0
) -> Mapping[str, Any]:
    """Invoke ``handler`` with a Create event and return its SUCCESS answer; ``SeedingError`` otherwise."""
    receiver = _Receiver()
    server = bind("127.0.0.1", 0, receiver.handler(), "(none: the seeding endpoint picks a free port)")
    thread = serve_in_thread(server, "cfn-response")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cfn-response/{uuid.uuid4().hex}?X-Amz-Signature=local"
        try:
            handler(create_event(url, table_name, mappings), LambdaContext("InitDbFunction", timeout_seconds=timeout))
        except Exception as error:  # CloudFormation would wait for an answer that never comes, then fail
            raise SeedingError(f"init_db raised {type(error).__name__}: {error}") from error
        if not receiver.received.wait(timeout):
            raise SeedingError("init_db sent no response to CloudFormation")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    answer = receiver.answers[0]
    if answer.get("Status") != "SUCCESS":
        raise SeedingError(f"init_db answered FAILED: {answer.get('Reason') or 'no reason given'}")
    return answer
