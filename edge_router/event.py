"""A typed, read-only view of a CloudFront origin-request event, for the router's careful path.

Repeated headers exist and malformed entries must not become a ``KeyError``: this view keeps every occurrence and
skips what is malformed. Only the fast path (``Router.handle``) indexes ``headers["x"][0]["value"]`` directly,
inside a guard that sends any surprise to the careful path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import RouterError


class InvalidEventError(RouterError):
    """The event is not an origin-request event for a custom origin (wrong trigger or a corrupt event)."""

    default_message = "not a CloudFront origin-request event for a custom origin"


@dataclass(frozen=True, slots=True)
class OriginRequestEvent:
    """The parts of ``Records[0].cf`` the router uses."""

    request: dict[str, Any]
    headers: dict[str, Any]
    custom_headers: Any
    request_id: str

    @classmethod
    def parse(cls, event: Any) -> OriginRequestEvent:
        """Wrap an event; ``InvalidEventError`` when it lacks the origin-request shape."""
        try:
            cf = event["Records"][0]["cf"]
            request = cf["request"]
            headers = request["headers"]
            custom = request["origin"]["custom"]
        except (KeyError, IndexError, TypeError) as error:
            raise InvalidEventError() from error
        if not isinstance(request, dict) or not isinstance(headers, dict) or not isinstance(custom, dict):
            raise InvalidEventError()
        config = cf.get("config")
        request_id = config.get("requestId") if isinstance(config, dict) else None
        return cls(request, headers, custom.get("customHeaders"), request_id if isinstance(request_id, str) else "")

    def custom_header_key(self) -> tuple[tuple[Any, ...], tuple[str | None, ...]]:
        """The origin custom headers' names and first values: what identifies one origin configuration."""
        if not isinstance(self.custom_headers, dict):
            return (), ()
        return tuple(self.custom_headers), tuple(first_value(entries) for entries in self.custom_headers.values())

    def routable(self) -> dict[str, Any]:
        """The request with only well-formed header entries (lowercase names, lists of ``{key, value}``), as
        CloudFront always sends them: what a corrupted event's routed request is built from."""
        headers: dict[str, Any] = {}
        for name, entries in self.headers.items():
            if isinstance(name, str) and name == name.lower() and isinstance(entries, list):
                kept = [e for e in entries if isinstance(e, dict) and isinstance(e.get("value"), str)]
                if kept:
                    headers[name] = kept
        return {**self.request, "headers": headers}

    def header_values(self, name: str) -> list[str]:
        """Every value of a header (lowercase ``name``), one per occurrence, skipping malformed entries."""
        entries = self.headers.get(name)
        if not entries:
            return []
        if isinstance(entries, list):
            return [e["value"] for e in entries if isinstance(e, dict) and isinstance(e.get("value"), str)]
        return []


def first_value(entries: Any) -> str | None:
    """The first occurrence's value of a CloudFront header list; ``None`` when missing or malformed."""
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        value = entries[0].get("value")
        return value if isinstance(value, str) else None
    return None
