"""Check what Lambda@Edge functions return against CloudFront's rules (shared/docs/lambda-edge-rules.md).

CloudFront answers 502 to output that breaks these rules. The tests run every origin-request output through
``validate_result`` and every origin-response output through ``validate_response_output``, and so does the local
CloudFront emulator.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .decisions import MAX_REQUEST_BYTES
from .mapping import PATH_PATTERN, is_ip_address, is_loopback_host

DISALLOWED_HEADERS = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "trailer",
        "upgrade",
        "x-accel-buffering",
        "x-accel-charset",
        "x-accel-limit-rate",
        "x-accel-redirect",
        "x-amzn-auth",
        "x-amzn-cf-billing",
        "x-amzn-cf-id",
        "x-amzn-cf-xff",
        "x-amzn-errortype",
        "x-amzn-fle-profile",
        "x-amzn-header-count",
        "x-amzn-header-order",
        "x-amzn-lambda-integration-tag",
        "x-amzn-requestid",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
    }
)
DISALLOWED_PREFIXES = ("x-amz-cf-", "x-edge-")
READ_ONLY_REQUEST_HEADERS = frozenset(
    {
        "accept-encoding",
        "cdn-loop",
        "content-length",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "transfer-encoding",
        "via",
    }
)
READ_ONLY_RESPONSE_HEADERS = frozenset({"transfer-encoding", "via"})
"""Headers an origin-response function may not add, change or remove."""
SSL_PROTOCOLS = frozenset({"TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3"})
MAX_GENERATED_BODY = 1024 * 1024
MAX_BASE64_BODY = 1_398_102  # 1 MB of data, base64-encoded (1.33 MB)
MAX_URI_WITH_QUERY = 8191
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+\Z")


@lru_cache(maxsize=256)
def _host_kind(domain: str) -> tuple[bool, bool]:
    """(loopback, IP literal) for an origin domain; memoised, as one distribution routes to a few origins."""
    return is_loopback_host(domain), is_ip_address(domain)


def is_disallowed(name: str) -> bool:
    lowered = name.lower()
    return lowered in DISALLOWED_HEADERS or lowered.startswith(DISALLOWED_PREFIXES)


def _check_headers(headers: Any, where: str, problems: list[str]) -> None:
    if not isinstance(headers, dict):
        problems.append(f"{where} must be an object")
        return
    for name, entries in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            problems.append(f"{where} key {name!r} must be a lowercase header name")
            continue
        if is_disallowed(name):
            problems.append(f"{where} contains disallowed header {name!r}")
        if not isinstance(entries, list) or not entries:
            problems.append(f"{where}[{name!r}] must be a non-empty list")
            continue
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                problems.append(f"{where}[{name!r}] entries need a string 'value'")
            elif "key" in entry and (not isinstance(entry["key"], str) or entry["key"].lower() != name):
                problems.append(f"{where}[{name!r}] entry key {entry.get('key')!r} does not match its name")


def _check_custom_origin(custom: Any, request_headers: dict[str, Any], allow_local: bool, problems: list[str]) -> None:
    if not isinstance(custom, dict):
        problems.append("origin.custom must be an object")
        return
    domain = custom.get("domainName")
    loopback, ip_literal = _host_kind(domain) if isinstance(domain, str) else (False, False)
    local = allow_local and loopback
    if not isinstance(domain, str) or not domain or len(domain) > 253:
        problems.append("origin.custom.domainName must be a non-empty string of at most 253 characters")
    elif not local:
        if ":" in domain:
            problems.append("origin.custom.domainName must not contain ':' (no port)")
        if ip_literal:
            problems.append("origin.custom.domainName must not be an IP address")
    path = custom.get("path")
    if not isinstance(path, str) or len(path) > 255 or (path and (path.endswith("/") or not PATH_PATTERN.match(path))):
        problems.append("origin.custom.path must be '' or start with '/', not end with '/', URL-encoded, <= 255")
    port = custom.get("port")
    if not isinstance(port, int) or isinstance(port, bool):
        problems.append("origin.custom.port must be an integer")
    elif not local and port not in (80, 443) and not 1024 <= port <= 65535:
        problems.append("origin.custom.port must be 80, 443 or 1024-65535")
    elif local and not 1 <= port <= 65535:
        problems.append("origin.custom.port must be 1-65535")
    protocol = custom.get("protocol")
    if protocol not in ("http", "https"):
        problems.append("origin.custom.protocol must be 'http' or 'https'")
    for name, low, high in (("readTimeout", 4, 60), ("keepaliveTimeout", 1, 60)):
        value = custom.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(f"origin.custom.{name} must be an integer from {low} to {high}")
    protocols = custom.get("sslProtocols")
    if not isinstance(protocols, list) or not protocols or not set(protocols) <= SSL_PROTOCOLS:
        problems.append("origin.custom.sslProtocols must be a non-empty subset of TLSv1.2, TLSv1.1, TLSv1, SSLv3")
    custom_headers = custom.get("customHeaders")
    _check_headers(custom_headers, "origin.custom.customHeaders", problems)
    if isinstance(custom_headers, dict):
        for name in custom_headers:
            if name in request_headers:
                problems.append(f"origin.custom.customHeaders[{name!r}] is also a request header")


def _request_size(request: dict[str, Any]) -> int:
    size = len(str(request.get("uri", ""))) + len(str(request.get("querystring", "")))
    headers = request.get("headers")
    if isinstance(headers, dict):
        for name, entries in headers.items():
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, dict):
                    size += len(str(name)) + len(str(entry.get("value", ""))) + 4
    return size


def _check_request(original: dict[str, Any], result: dict[str, Any], allow_local: bool, problems: list[str]) -> None:
    for field in ("clientIp", "method"):
        if result.get(field) != original.get(field):
            problems.append(f"request.{field} is read-only and was changed")
    uri = result.get("uri")
    querystring = result.get("querystring")
    if not isinstance(uri, str) or not uri.startswith("/"):
        problems.append("request.uri must be a string starting with '/'")
    if not isinstance(querystring, str):
        problems.append("request.querystring must be a string")
    elif isinstance(uri, str) and len(uri) + 1 + len(querystring) > MAX_URI_WITH_QUERY:
        problems.append(f"request URI with query string is longer than {MAX_URI_WITH_QUERY} characters")
    headers = result.get("headers")
    _check_headers(headers, "request.headers", problems)
    if not isinstance(headers, dict):
        return
    original_headers = original.get("headers")
    before: dict[str, Any] = original_headers if isinstance(original_headers, dict) else {}
    for name in READ_ONLY_REQUEST_HEADERS:
        if headers.get(name) != before.get(name):
            problems.append(f"read-only header {name!r} was added, changed or removed")
    if _request_size(result) > MAX_REQUEST_BYTES:
        problems.append(f"request without body is larger than {MAX_REQUEST_BYTES} bytes")
    body = result.get("body")
    if isinstance(body, dict) and body.get("action") == "replace":
        limit = MAX_BASE64_BODY if body.get("encoding") == "base64" else MAX_GENERATED_BODY
        if len(str(body.get("data", ""))) > limit:
            problems.append("replaced request body is too large")
    origin = result.get("origin")
    if not isinstance(origin, dict) or len(origin) != 1 or not ({"custom", "s3"} & origin.keys()):
        problems.append("request.origin must have exactly one of 'custom' or 's3'")
    elif "custom" in origin:
        _check_custom_origin(origin["custom"], headers, allow_local, problems)


def _check_response(result: dict[str, Any], problems: list[str]) -> None:
    status = result.get("status")
    if not isinstance(status, str) or not (status.isascii() and status.isdigit()) or not 200 <= int(status) <= 599:
        problems.append("response status must be a string from '200' to '599'")
    if "statusDescription" in result and not isinstance(result["statusDescription"], str):
        problems.append("response statusDescription must be a string")
    if "headers" in result:
        _check_headers(result["headers"], "response.headers", problems)
    encoding = result.get("bodyEncoding", "text")
    if encoding not in ("text", "base64"):
        problems.append("response bodyEncoding must be 'text' or 'base64'")
    body = result.get("body", "")
    if not isinstance(body, str):
        problems.append("response body must be a string")
    elif len(body.encode("utf-8")) > (MAX_BASE64_BODY if encoding == "base64" else MAX_GENERATED_BODY):
        problems.append("generated response body is larger than 1 MB")


def validate_result(request: dict[str, Any] | None, result: Any, *, allow_local_origins: bool = False) -> list[str]:
    """Everything CloudFront would reject in ``result`` (an empty list means valid).

    ``request`` is the event's original ``cf.request`` (``None`` when the event had none, in which case only a
    generated response can be valid). Local origins (loopback, http, any port) pass only with
    ``allow_local_origins``, as in the local stack.
    """
    problems: list[str] = []
    if not isinstance(result, dict):
        return ["result must be an object (a request or a generated response)"]
    if "status" in result:
        _check_response(result, problems)
    elif request is None:
        problems.append("the event had no request, so only a generated response is valid")
    else:
        _check_request(request, result, allow_local_origins, problems)
    return problems


def validate_response_output(original: dict[str, Any] | None, result: Any) -> list[str]:
    """Everything CloudFront would reject in what an origin-response function returns (an empty list means valid).

    ``original`` is the event's ``cf.response``. The function returns a response: a status, headers of the
    documented shape without disallowed names, the read-only ``Transfer-Encoding`` and ``Via`` unchanged, and
    optionally a replacement body within the generated-body limits.
    """
    if not isinstance(result, dict):
        return ["result must be a response object"]
    problems: list[str] = []
    _check_response(result, problems)
    headers = result.get("headers")
    after: dict[str, Any] = headers if isinstance(headers, dict) else {}
    original_headers = original.get("headers") if isinstance(original, dict) else None
    before: dict[str, Any] = original_headers if isinstance(original_headers, dict) else {}
    for name in sorted(READ_ONLY_RESPONSE_HEADERS):
        if after.get(name) != before.get(name):
            problems.append(f"read-only header {name!r} was added, changed or removed")
    return problems
