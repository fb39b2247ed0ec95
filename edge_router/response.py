"""The Lambda@Edge origin-response entry point: tell clients about versions, keep caches honest. Never raises.

The origin-request router leaves its decision in the ``api-version-route`` request header; CloudFront passes the
request as forwarded to this function with the origin's response. This function adds, before CloudFront caches
the response:

- ``api-selected-version`` (which version served it), ``api-supported-versions`` and ``api-deprecated-versions``;
- from the deprecation instant on, ``Deprecation: @<seconds>`` (RFC 9745) and ``Link`` entries for
  ``rel="deprecation"`` (the version's information URL) and ``rel="successor-version"``; ``Sunset`` (RFC 8594)
  whenever a sunset is set;
- ``Vary`` with the version headers (RFC 9110 §12.5.5), for caches other than CloudFront's, whose key already
  holds them;
- a ``Cache-Control`` capped so that no cache keeps the response past the next lifecycle instant of its version,
  and ``private`` on canary answers so that CloudFront never serves one to a main-side client.

It needs no table, no settings and no network: everything comes with the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import cache_control
from .context import ROUTE_HEADER, RouteContext, decode
from .lifecycle import http_date

SELECTED = "api-selected-version"
SUPPORTED = "api-supported-versions"
DEPRECATED = "api-deprecated-versions"


def _set(headers: dict[str, Any], name: str, key: str, value: str) -> None:
    headers[name] = [{"key": key, "value": value}]


def _first(headers: dict[str, Any], name: str) -> str | None:
    entries = headers.get(name)
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        value = entries[0].get("value")
        return value if isinstance(value, str) else None
    return None


def _joined(headers: dict[str, Any], name: str) -> str | None:
    """Every value of a list header joined with commas (RFC 9110 §5.3), or ``None`` when absent."""
    entries = headers.get(name)
    if not isinstance(entries, list):
        return None
    values = [e["value"] for e in entries if isinstance(e, dict) and isinstance(e.get("value"), str)]
    return ", ".join(values) if values else None


def _links(route: RouteContext, uri: str, deprecated: bool) -> list[str]:
    links: list[str] = []
    if deprecated and route.info is not None:
        links.append(f'<{route.info}>; rel="deprecation"; type="text/html"')
    if deprecated and route.successor is not None:
        kind = f'; type="{route.successor}"' if "/" in route.successor else ""
        links.append(f'<{uri}>; rel="successor-version"; version="{route.successor}"{kind}')
    return links


def _vary(headers: dict[str, Any], route: RouteContext) -> None:
    if not route.vary:
        return
    current = _joined(headers, "vary")
    if current is not None and "*" in current:
        return
    present = {item.strip().lower() for item in (current or "").split(",") if item.strip()}
    missing = [name for name in route.vary.split(", ") if name.lower() not in present]
    if missing:
        _set(headers, "vary", "Vary", ", ".join([*([current] if current else []), *missing]))


def _cache(headers: dict[str, Any], route: RouteContext, now: float) -> None:
    current = _joined(headers, "cache-control")
    if route.canary:
        private = cache_control.make_private(current)
        if private is not None:
            _set(headers, "cache-control", "Cache-Control", private)
            current = private
    upcoming = [instant for instant in (route.deprecation, route.sunset) if instant is not None and instant > now]
    if not upcoming:
        return
    # A private (canary) answer is never stored by CloudFront, so its default TTL cannot keep it: no s-maxage.
    edge_default_ttl = 0 if route.canary else route.edge_default_ttl
    capped = cache_control.cap_lifetime(
        current, _first(headers, "expires"), int(min(upcoming) - now), edge_default_ttl=edge_default_ttl, now=now
    )
    if capped is not None:
        _set(headers, "cache-control", "Cache-Control", capped)


def annotate(response: dict[str, Any], route: RouteContext, uri: str, now: float) -> None:
    """Add the version headers and cache limits for ``route`` to a CloudFront response object, in place."""
    headers = response.setdefault("headers", {})
    _set(headers, SELECTED, SELECTED, route.version)
    for name, value in ((SUPPORTED, route.supported), (DEPRECATED, route.deprecated)):
        if value:
            _set(headers, name, name, value)
    deprecated = route.deprecation is not None and route.deprecation <= now
    if deprecated:
        _set(headers, "deprecation", "Deprecation", f"@{route.deprecation}")
    if route.sunset is not None:
        _set(headers, "sunset", "Sunset", http_date(route.sunset))
    links = _links(route, uri, deprecated)
    if links:
        existing = headers.get("link") if isinstance(headers.get("link"), list) else []
        headers["link"] = [*existing, *({"key": "Link", "value": link} for link in links)]
    _vary(headers, route)
    _cache(headers, route, now)


def handle(event: Any, clock: Callable[[], float] = time.time) -> Any:
    """The response to return for one origin-response event: the origin's, annotated when the router routed it."""
    try:
        cf = event["Records"][0]["cf"]
        response = cf["response"]
    except (KeyError, IndexError, TypeError):
        return _not_a_response()
    try:
        request = cf["request"]
        text = _first(request["headers"], ROUTE_HEADER)
        route = decode(text) if text is not None else None
        if route is not None and isinstance(response, dict):
            uri = request.get("uri") if isinstance(request.get("uri"), str) else "/"
            annotate(response, route, uri, clock())
    except Exception:  # noqa: S110 - a response we cannot annotate is still the origin's answer: pass it on
        pass
    return response


def _not_a_response() -> dict[str, Any]:
    """Not an origin-response event: a generated 502, which is what CloudFront shows for a failed function."""
    return {
        "status": "502",
        "statusDescription": "Bad Gateway",
        "headers": {"cache-control": [{"key": "Cache-Control", "value": "no-store"}]},
    }


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    """CloudFront origin-response handler."""
    return handle(event)
