"""Responses the function generates itself, as RFC 9457 ``application/problem+json`` documents.

CloudFront caches responses generated at origin-request under the request's cache key, so every one of them says
``cache-control: no-store``: a version added a second later, or DynamoDB coming back, must take effect at once.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

PROBLEM_TYPE_BASE = "urn:edge-router:problem:"
MAX_SUPPORTED_HEADER_CHARS = 1024
"""Longest ``api-supported-versions`` header; a larger list is only in the body."""


def _header(name: str, value: str) -> list[dict[str, str]]:
    return [{"key": name, "value": value}]


def problem_response(
    status: int,
    slug: str,
    detail: str,
    *,
    versions: tuple[str, ...] = (),
    retry_after: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A generated response CloudFront accepts: string status, lowercase header keys, text body."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": slug.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
    }
    if versions:
        body["supportedVersions"] = list(versions)
    if extra:
        body.update(extra)
    headers = {
        "content-type": _header("Content-Type", "application/problem+json"),
        "cache-control": _header("Cache-Control", "no-store"),
    }
    supported = ", ".join(versions)
    if versions and len(supported) <= MAX_SUPPORTED_HEADER_CHARS:
        headers["api-supported-versions"] = _header("api-supported-versions", supported)
    if retry_after is not None:
        headers["retry-after"] = _header("Retry-After", str(max(1, round(retry_after))))
    return {
        "status": str(status),
        "statusDescription": phrase,
        "headers": headers,
        "body": json.dumps(body, separators=(",", ":")),
        "bodyEncoding": "text",
    }
