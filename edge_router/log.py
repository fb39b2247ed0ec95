"""Structured JSON log lines: decisions, never payloads. Secrets are masked before anything is written."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any, TextIO

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-amz-security-token",
        "cloudfront-signed-cookie",
    }
)
MASK = "***"


class JsonLogger:
    """Writes one JSON object per line to a stream (stdout: CloudWatch in Lambda)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def emit(self, level: str, message: str, **fields: Any) -> None:
        line = json.dumps({"level": level, "msg": message, **fields}, separators=(",", ":"), default=str)
        (self._stream or sys.stdout).write(line + "\n")


def _mask_query(querystring: str) -> str:
    """Keep parameter names, mask every value: signed URLs carry their signature in the query string."""
    return "&".join(
        part.split("=", 1)[0] + ("=" + MASK if "=" in part else "") for part in querystring.split("&") if part
    )


def _mask_headers(headers: Any) -> Any:
    if not isinstance(headers, dict):
        return headers
    return {
        name: [{**entry, "value": MASK} for entry in entries if isinstance(entry, dict)]
        if isinstance(name, str) and name.lower() in SECRET_HEADERS and isinstance(entries, list)
        else entries
        for name, entries in headers.items()
    }


def masked_event(event: Any) -> Any:
    """A copy of an event safe to log: secret headers, query values and the body are masked."""
    safe = copy.deepcopy(event)
    try:
        request = safe["Records"][0]["cf"]["request"]
    except (KeyError, IndexError, TypeError):
        return safe
    if not isinstance(request, dict):
        return safe
    request["headers"] = _mask_headers(request.get("headers"))
    if isinstance(request.get("querystring"), str):
        request["querystring"] = _mask_query(request["querystring"])
    body = request.get("body")
    if isinstance(body, dict) and "data" in body:
        body["data"] = f"<{len(str(body['data']))} characters>"
    origin = request.get("origin")
    if isinstance(origin, dict) and isinstance(origin.get("custom"), dict):
        origin["custom"]["customHeaders"] = _mask_headers(origin["custom"].get("customHeaders"))
    return safe
