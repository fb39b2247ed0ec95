"""Structured JSON log lines: decisions, never payloads, and usage metrics in CloudWatch Embedded Metric Format.

The per-request line is prepared once per decision as a ``%``-template, so writing it costs one string format and
one write. With a metrics namespace configured, the line carries an EMF block (``_aws``) that CloudWatch turns
into a ``requests`` count by ``version`` and ``outcome`` without any API call from the function.

Debug events (opt-in) are masked by an allow-list, not a deny-list: header names are kept, values only for a few
harmless headers, no query values, no URI, no body, no origin custom-header values but the router's own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

MASK = "***"
NO_VERSION = "(none)"
"""The ``version`` dimension of requests that named no routable version (problems)."""
METRIC_NAME = "requests"
DIMENSIONS = ("version", "outcome")
HARMLESS_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "via",
        "cloudfront-viewer-country",
        "cloudfront-is-desktop-viewer",
        "cloudfront-is-mobile-viewer",
        "cloudfront-is-tablet-viewer",
    }
)
"""Request headers whose values debug events may show (plus the configured version headers)."""


class JsonLogger:
    """Writes one JSON object per line to a stream (stdout: CloudWatch in Lambda)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def emit(self, level: str, message: str, **fields: Any) -> None:
        line = json.dumps({"level": level, "msg": message, **fields}, separators=(",", ":"), default=str)
        self.write(line + "\n")

    def write(self, line: str) -> None:
        """Write a prepared line (it ends with a newline)."""
        (self._stream or sys.stdout).write(line)


def _members(fields: Mapping[str, Any]) -> str:
    """``"a":1,"b":"x"`` with every ``%`` doubled, ready to sit inside a ``%``-template."""
    return json.dumps(dict(fields), separators=(",", ":"))[1:-1].replace("%", "%%")


def request_template(fields: Mapping[str, Any], *, namespace: str = "", client: bool = False) -> str:
    """A request line as a ``%``-template.

    Its arguments, in order: the JSON-quoted request id, the cache state, the duration in microseconds, the
    client id (with ``client``), the time in milliseconds (printed only with a ``namespace``). ``fields`` must
    hold ``version`` and ``outcome`` when there is a namespace: they are the metric's dimensions.
    """
    template = '{"level":"INFO","msg":"request","requestId":%s,' + _members({"status": fields.get("status", "")})
    template += ',"cache":"%s","durationUs":%d'
    rest = {k: v for k, v in fields.items() if k != "status"}
    if rest:
        template += "," + _members(rest)
    if client:
        template += ',"client":"%s"'
    if namespace:
        directive = {
            "Namespace": namespace,
            "Dimensions": [list(DIMENSIONS)],
            "Metrics": [{"Name": METRIC_NAME, "Unit": "Count"}],
        }
        metrics = json.dumps([directive], separators=(",", ":")).replace("%", "%%")
        template += ',"_aws":{"Timestamp":%d,"CloudWatchMetrics":' + metrics + "}," + _members({METRIC_NAME: 1})
    else:
        template += "%.0s"  # consumes the time argument and prints nothing, so every template takes the same ones
    return template + "}\n"


def _mask_query(querystring: str) -> str:
    """Parameter names only: values, and bare tokens (``?abc123``), may be signatures or tokens."""
    return "&".join(
        part.split("=", 1)[0] + "=" + MASK if "=" in part else MASK for part in querystring.split("&") if part
    )


def _mask_headers(headers: Any, shown: Iterable[str]) -> Any:
    if not isinstance(headers, dict):
        return MASK
    visible = frozenset(shown)
    masked: dict[str, Any] = {}
    for name, entries in headers.items():
        if not isinstance(name, str) or not isinstance(entries, list):
            continue
        keep = name.lower() in visible
        masked[name] = [
            {"key": entry.get("key"), "value": entry.get("value") if keep else MASK}
            for entry in entries
            if isinstance(entry, dict)
        ]
    return masked


def masked_event(event: Any, version_headers: Iterable[str] = (), own_settings: Iterable[str] = ()) -> Any:
    """What a debug log may show of an event: its shape and routing inputs, never a secret.

    ``version_headers`` (lowercase) are shown with their values; of the origin's custom headers only
    ``own_settings`` (the router's non-secret settings) keep their values.
    """
    try:
        cf = event["Records"][0]["cf"]
        request = cf["request"]
    except (KeyError, IndexError, TypeError):
        return MASK
    if not isinstance(request, dict):
        return MASK
    safe: dict[str, Any] = {
        "method": request.get("method"),
        "uri": f"<{len(request['uri'])} characters>" if isinstance(request.get("uri"), str) else MASK,
        "querystring": _mask_query(request["querystring"]) if isinstance(request.get("querystring"), str) else MASK,
        "headers": _mask_headers(request.get("headers"), {*HARMLESS_HEADERS, *version_headers}),
    }
    body = request.get("body")
    if isinstance(body, dict):
        safe["body"] = f"<{len(str(body.get('data', '')))} characters>"
    origin = request.get("origin")
    custom = origin.get("custom") if isinstance(origin, dict) else None
    if isinstance(custom, dict):
        safe["origin"] = {
            "domainName": custom.get("domainName"),
            "customHeaders": _mask_headers(custom.get("customHeaders"), own_settings),
        }
    config = cf.get("config") if isinstance(cf, dict) else None
    if isinstance(config, dict):
        safe["config"] = {name: config.get(name) for name in ("distributionId", "eventType", "requestId")}
    return safe
