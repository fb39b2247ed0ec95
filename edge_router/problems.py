"""Responses the function generates itself, as RFC 9457 ``application/problem+json`` documents.

CloudFront caches responses generated at origin-request under the request's cache key, so every one of them says
``cache-control: no-store``: a version added a second later, or DynamoDB coming back, must take effect at once.
"""

from __future__ import annotations

import json
from typing import Any

PROBLEM_TYPE_BASE = "urn:edge-router:problem:"
MAX_LISTED_VERSIONS = 50
"""Versions listed in a problem body; a larger table is summarised so error bodies stay small."""
MAX_SUPPORTED_HEADER_CHARS = 1024
"""Longest ``api-supported-versions`` (or ``api-deprecated-versions``) header; a longer list is only in bodies."""
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    417: "Expectation Failed",
    421: "Misdirected Request",
    422: "Unprocessable Content",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def reason_phrase(status: int) -> str:
    """The RFC 9110 reason phrase; unregistered codes (419, 499 ...) get their class's generic phrase."""
    return _REASONS.get(status) or ("Client Error" if 400 <= status <= 499 else "Server Error")


def _header(name: str, value: str) -> list[dict[str, str]]:
    return [{"key": name, "value": value}]


def version_list_header(versions: tuple[str, ...]) -> str | None:
    """A comma-separated version list for a response header, or ``None`` when empty or too long for one."""
    text = ", ".join(versions)
    return text if versions and len(text) <= MAX_SUPPORTED_HEADER_CHARS else None


def problem_response(
    status: int,
    slug: str,
    detail: str,
    *,
    versions: tuple[str, ...] = (),
    deprecated: tuple[str, ...] = (),
    retry_after: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A generated response CloudFront accepts: string status, lowercase header keys, text body.

    ``versions`` are the supported versions and ``deprecated`` the deprecated ones (both listed in the body and,
    when short enough, in ``api-supported-versions`` / ``api-deprecated-versions``).
    """
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": slug.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
    }
    if versions:
        body["supportedVersions"] = list(versions[:MAX_LISTED_VERSIONS])
    if deprecated:
        body["deprecatedVersions"] = list(deprecated[:MAX_LISTED_VERSIONS])
    if extra:
        body.update(extra)
    headers = {
        "content-type": _header("Content-Type", "application/problem+json"),
        "cache-control": _header("Cache-Control", "no-store"),
    }
    for name, listed in (("api-supported-versions", versions), ("api-deprecated-versions", deprecated)):
        value = version_list_header(listed)
        if value is not None:
            headers[name] = _header(name, value)
    if retry_after is not None:
        headers["retry-after"] = _header("Retry-After", str(max(1, round(retry_after))))
    return {
        "status": str(status),
        "statusDescription": reason_phrase(status),
        "headers": headers,
        "body": json.dumps(body, separators=(",", ":")),
        "bodyEncoding": "text",
    }


def copy_response(response: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of a prepared response (callers may change what they receive; the prepared one stays)."""
    return {
        **response,
        "headers": {name: [dict(entry) for entry in entries] for name, entries in response["headers"].items()},
    }
