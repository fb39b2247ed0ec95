"""The ``api-version-route`` request header: what the origin-request router decided, for the origin-response function.

CloudFront gives the origin-response function the request as the origin-request function sent it, so the
decision travels in one request header: the selected version, the version lists and the version's lifecycle
instants, as compact JSON. Nothing in it is secret (every field but the canary flag, the ``Vary`` names and the edge
default TTL also reaches clients in response headers), and backends may read it too. A client cannot forge it:
the router always replaces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ROUTE_HEADER = "api-version-route"
ROUTE_HEADER_KEY = "Api-Version-Route"


@dataclass(frozen=True, slots=True)
class RouteContext:
    """The routing decision as the origin-response function needs it."""

    version: str
    supported: str | None = None
    """``api-supported-versions`` as the router computed it (``None`` when the list is too long for a header)."""
    deprecated: str | None = None
    deprecation: int | None = None
    sunset: int | None = None
    successor: str | None = None
    info: str | None = None
    canary: bool = False
    vary: str = ""
    """The version header names, for ``Vary``."""
    edge_default_ttl: int = 0

    def encode(self) -> str:
        """Compact ASCII JSON (every field was validated as header-safe when the snapshot was built)."""
        fields: dict[str, Any] = {"version": self.version}
        optional = (
            ("supported", self.supported),
            ("deprecated", self.deprecated),
            ("deprecation", self.deprecation),
            ("sunset", self.sunset),
            ("successor", self.successor),
            ("info", self.info),
        )
        fields.update((name, value) for name, value in optional if value is not None)
        if self.canary:
            fields["canary"] = True
        fields["vary"] = self.vary
        fields["edgeDefaultTtl"] = self.edge_default_ttl
        return json.dumps(fields, separators=(",", ":"))


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and value.isprintable() and value.isascii() else None


def _seconds(fields: dict[str, Any], name: str) -> int | None:
    value = fields.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def decode(text: str) -> RouteContext | None:
    """The context in a header value, or ``None`` if it is not one of ours (any field of the wrong type is dropped)."""
    try:
        fields = json.loads(text)
    except ValueError:
        return None
    version = _text(fields, "version") if isinstance(fields, dict) else None
    if not version:
        return None
    return RouteContext(
        version=version,
        supported=_text(fields, "supported"),
        deprecated=_text(fields, "deprecated"),
        deprecation=_seconds(fields, "deprecation"),
        sunset=_seconds(fields, "sunset"),
        successor=_text(fields, "successor"),
        info=_text(fields, "info"),
        canary=fields.get("canary") is True,
        vary=_text(fields, "vary") or "",
        edge_default_ttl=_seconds(fields, "edgeDefaultTtl") or 0,
    )
