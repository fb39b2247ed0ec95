"""Build origin-request and origin-response events exactly as CloudFront sends them, from HTTP message parts.

Used by the local CloudFront emulator, the ``resolve`` admin command and the tests, so all three feed the
functions the shapes AWS documents (shared/events/aws-docs/origin-request.json, origin-response.json).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from .config import custom_headers_for

PLACEHOLDER_ORIGIN = "aws.amazon.com"
"""The configured origin before the router rewrites it; it must resolve in DNS, as in the original sample."""


def cf_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """HTTP header lines to CloudFront's shape: lowercase keys, one ``{key, value}`` entry per occurrence."""
    headers: dict[str, list[dict[str, str]]] = {}
    for name, value in pairs:
        headers.setdefault(name.lower(), []).append({"key": name, "value": value})
    return headers


def origin_request_event(
    *,
    method: str = "GET",
    uri: str = "/",
    querystring: str = "",
    headers: Iterable[tuple[str, str]] = (),
    settings: Mapping[str, str] | None = None,
    body: bytes | None = None,
    client_ip: str = "203.0.113.178",
    origin_domain: str = PLACEHOLDER_ORIGIN,
    distribution_domain: str = "d111111abcdef8.cloudfront.net",
    distribution_id: str = "EDFDVBD6EXAMPLE",
    request_id: str | None = None,
) -> dict[str, Any]:
    """One origin-request event. ``settings`` become the origin's custom headers (the router's configuration).

    ``body`` is included as CloudFront does with "include body" on: base64, read-only, not truncated.
    """
    request: dict[str, Any] = {
        "clientIp": client_ip,
        "headers": cf_headers(headers),
        "method": method,
        "origin": {
            "custom": {
                "customHeaders": custom_headers_for(settings or {}),
                "domainName": origin_domain,
                "keepaliveTimeout": 5,
                "path": "",
                "port": 443,
                "protocol": "https",
                "readTimeout": 30,
                "sslProtocols": ["TLSv1.2"],
            }
        },
        "querystring": querystring,
        "uri": uri,
    }
    if body is not None:
        request["body"] = {
            "inputTruncated": False,
            "action": "read-only",
            "encoding": "base64",
            "data": base64.b64encode(body).decode("ascii"),
        }
    return _event("origin-request", distribution_domain, distribution_id, request_id, {"request": request})


def origin_response_event(
    request: Mapping[str, Any],
    status: int,
    status_description: str,
    headers: Iterable[tuple[str, str]],
    *,
    distribution_domain: str = "d111111abcdef8.cloudfront.net",
    distribution_id: str = "EDFDVBD6EXAMPLE",
    request_id: str | None = None,
) -> dict[str, Any]:
    """One origin-response event: ``request`` is the request as forwarded to the origin (what the origin-request
    function returned; its body is never included), with the origin's status and header lines."""
    forwarded = {name: request[name] for name in ("clientIp", "headers", "method", "origin", "querystring", "uri")}
    response = {"headers": cf_headers(headers), "status": str(status), "statusDescription": status_description}
    return _event(
        "origin-response",
        distribution_domain,
        distribution_id,
        request_id,
        {"request": forwarded, "response": response},
    )


def _event(
    event_type: str, distribution_domain: str, distribution_id: str, request_id: str | None, parts: dict[str, Any]
) -> dict[str, Any]:
    """The envelope CloudFront wraps around a request (and response): one record, its ``config``, the parts."""
    config = {
        "distributionDomainName": distribution_domain,
        "distributionId": distribution_id,
        "eventType": event_type,
        "requestId": request_id or secrets.token_urlsafe(42),
    }
    return {"Records": [{"cf": {"config": config, **parts}}]}


def header_lines(headers: Mapping[str, Iterable[Mapping[str, Any]]] | None) -> list[tuple[str, str]]:
    """CloudFront's header shape back to HTTP header lines, in order (the inverse of ``cf_headers``); an entry
    without ``key`` is named by its lowercase key, as CloudFront does."""
    return [
        (str(entry.get("key") or name), str(entry["value"]))
        for name, entries in (headers or {}).items()
        for entry in entries
    ]
