"""Point the request at the chosen origin: ``request.origin.custom`` and ``Host``; nothing else changes."""

from __future__ import annotations

from typing import Any

from .config import PREFIX
from .mapping import Origin

READ_TIMEOUT = 30
KEEPALIVE_TIMEOUT = 5
SSL_PROTOCOLS = ("TLSv1.2",)


def rewrite_request(request: dict[str, Any], origin: Origin) -> dict[str, Any]:
    """A copy of ``request`` routed to ``origin``. URI, query string, method, body and headers pass through.

    ``customHeaders`` is emptied, so the router's configuration never reaches a backend, and any request header
    named like a router setting is dropped for the same reason.
    """
    headers = {name: entries for name, entries in request["headers"].items() if not name.startswith(PREFIX)}
    headers["host"] = [{"key": "Host", "value": origin.host_header}]
    routed = dict(request)
    routed["headers"] = headers
    routed["origin"] = {
        "custom": {
            "customHeaders": {},
            "domainName": origin.domain,
            "keepaliveTimeout": KEEPALIVE_TIMEOUT,
            "path": origin.path,
            "port": origin.port,
            "protocol": origin.protocol,
            "readTimeout": READ_TIMEOUT,
            "sslProtocols": list(SSL_PROTOCOLS),
        }
    }
    return routed
