"""Mapping rows and the rules a row must pass before it may route traffic.

The router, the admin CLI and the seeding custom resource all validate through this module, so nothing the
router would refuse can be written to the table.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from .errors import MappingError
from .media_type import normalize_media_type

MAX_KEY_LENGTH = 256
MAX_DOMAIN_LENGTH = 253
MAX_PATH_LENGTH = 255
DEFAULT_ALLOWED_SUFFIXES = ("*.execute-api.*.amazonaws.com",)
"""API Gateway's default endpoints: ``{api-id}.execute-api.{region}.amazonaws.com``."""

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_CUSTOM_KEY = re.compile(r"[!-~]+\Z")  # visible ASCII, no spaces
PATH_PATTERN = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)+\Z")
"""A non-empty origin path of RFC 3986 path characters (``pchar`` and ``/``), percent-encoding allowed."""
_LOOPBACK_NAMES = frozenset({"localhost"})

LOCAL_ORIGINS_ENV = "EDGE_ROUTER_ALLOW_LOCAL_ORIGINS"
"""Set only by the local stack. Lambda@Edge functions cannot have environment variables, so it is never on there."""


def local_origins_enabled(environ: MappingABC[str, str] = os.environ) -> bool:
    """Whether loopback ``host:port`` origins are allowed (the local stack, and tools pointed at it)."""
    return environ.get(LOCAL_ORIGINS_ENV) == "1"


def normalize_key(raw: str) -> str:
    """Canonical form of a version value, as stored keys and request values are compared.

    Custom header values (``v1``, ``2024-09-30``) are trimmed and lowercased. Media types
    (``application/vnd.example.v1+json``, ``application/vnd.example+json; version=2``) are lowercased with
    whitespace around ``;`` and ``=`` removed, matching ``MediaRange.lookup_keys``.
    """
    key = raw.strip()
    if "/" in key:
        return normalize_media_type(key) or key.lower()
    return key.lower()


def validate_key(raw: Any) -> str:
    """The normalised key, or ``MappingError`` saying why ``raw`` cannot be a mapping key."""
    if not isinstance(raw, str) or not raw.strip():
        raise MappingError("key (hk) must be a non-empty string")
    if len(raw) > MAX_KEY_LENGTH:
        raise MappingError(f"key (hk) is longer than {MAX_KEY_LENGTH} characters")
    key = raw.strip()
    if "/" in key:
        normalized = normalize_media_type(key)
        if normalized is None:
            raise MappingError(f"key {raw!r} is not a concrete media type (no wildcards, no q)")
        if normalized.count(";") > 1:
            raise MappingError(f"key {raw!r} has more than one parameter; a key may carry at most one")
        if "," in normalized:
            raise MappingError(f"key {raw!r} contains a comma")
        return normalized
    if not _CUSTOM_KEY.match(key) or "," in key:
        raise MappingError(f"key {raw!r} must be visible ASCII without spaces or commas")
    return key.lower()


@dataclass(frozen=True, slots=True)
class SuffixPattern:
    """An allowed origin domain suffix; ``*`` stands for exactly one DNS label."""

    labels: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> SuffixPattern:
        labels = tuple(text.strip().lower().strip(".").split("."))
        if not text.strip() or any(label != "*" and not _LABEL.match(label) for label in labels):
            raise ValueError(f"{text!r} is not a domain suffix (labels, '*' for one label)")
        if all(label == "*" for label in labels):
            raise ValueError(f"{text!r} would allow every domain")
        return cls(labels)

    def matches(self, domain_labels: list[str]) -> bool:
        """True when the domain equals the pattern or ends with it, label by label."""
        if len(domain_labels) < len(self.labels):
            return False
        tail = domain_labels[len(domain_labels) - len(self.labels) :]
        return all(want in ("*", got) for want, got in zip(self.labels, tail, strict=True))

    def __str__(self) -> str:
        return ".".join(self.labels)


def parse_suffixes(texts: list[str] | tuple[str, ...]) -> tuple[SuffixPattern, ...]:
    """Parse allowed-suffix patterns; ``ValueError`` on any invalid one."""
    patterns = tuple(SuffixPattern.parse(text) for text in texts if text.strip())
    if not patterns:
        raise ValueError("at least one allowed origin suffix is required")
    return patterns


def parse_suffix_list(text: str) -> tuple[SuffixPattern, ...]:
    """A comma-separated suffix setting, as the router, the stack and the tools all write it."""
    return parse_suffixes(text.split(","))


@dataclass(frozen=True, slots=True)
class OriginRules:
    """What origin a mapping may point at: the allowlist, and whether loopback origins (local mode) are allowed."""

    allowed_suffixes: tuple[SuffixPattern, ...] = field(
        default_factory=lambda: parse_suffixes(DEFAULT_ALLOWED_SUFFIXES)
    )
    allow_local: bool = False


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a version's requests go: a custom origin as CloudFront's ``request.origin.custom`` describes it."""

    domain: str
    path: str = ""
    port: int = 443
    protocol: str = "https"

    @property
    def host_header(self) -> str:
        default_port = 443 if self.protocol == "https" else 80
        return self.domain if self.port == default_port else f"{self.domain}:{self.port}"


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address: the only hosts local mode may route to."""
    bare = host.strip("[]")
    return bare in _LOOPBACK_NAMES or (is_ip_address(bare) and ipaddress.ip_address(bare).is_loopback)


def _local_origin(domain: str, path: str) -> Origin | None:
    """``host:port`` on loopback (local mode only) as an http origin; ``None`` if it is not one."""
    host, colon, port_text = domain.rpartition(":")
    if not colon or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        return None
    return Origin(host, path, int(port_text), "http") if is_loopback_host(host) else None


def validate_path(raw: Any) -> str:
    """An origin path CloudFront accepts: ``""`` or ``/a/b`` (no trailing ``/``, URL-encoded, <= 255)."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise MappingError("path (dp) must be a string")
    if len(raw) > MAX_PATH_LENGTH:
        raise MappingError(f"path (dp) is longer than {MAX_PATH_LENGTH} characters")
    if raw.endswith("/") or not PATH_PATTERN.match(raw):
        raise MappingError(f"path {raw!r} must start with '/', not end with '/', and be URL-encoded")
    if any(segment in (".", "..") for segment in raw.split("/")):
        raise MappingError(f"path {raw!r} must not contain '.' or '..' segments")
    return raw


def validate_origin(domain: Any, path: Any, rules: OriginRules) -> Origin:
    """The origin for a row's ``dn``/``dp``, or ``MappingError`` if CloudFront or the allowlist would refuse it."""
    if not isinstance(domain, str) or not domain.strip():
        raise MappingError("domain (dn) must be a non-empty string")
    clean_path = validate_path(path)
    name = domain.strip().lower().rstrip(".")
    if rules.allow_local:
        local = _local_origin(name, clean_path)
        if local is not None:
            return local
    if len(name) > MAX_DOMAIN_LENGTH:
        raise MappingError(f"domain is longer than {MAX_DOMAIN_LENGTH} characters")
    if ":" in name or is_ip_address(name):
        raise MappingError(f"domain {domain!r} must be a DNS name without a port, not an IP address")
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise MappingError(f"domain {domain!r} is not a valid DNS name")
    if not any(pattern.matches(labels) for pattern in rules.allowed_suffixes):
        allowed = ", ".join(str(pattern) for pattern in rules.allowed_suffixes)
        raise MappingError(f"domain {name!r} is outside the allowed origin suffixes ({allowed})")
    return Origin(name, clean_path)


@dataclass(frozen=True, slots=True)
class VersionMapping:
    """A validated mapping: the normalised key a request value must match, and where it routes."""

    key: str
    stored_key: str
    origin: Origin


def mapping_from_row(row: MappingABC[str, Any], rules: OriginRules) -> VersionMapping:
    """Validate one table row (``hk``, ``dn``, optional ``dp``); ``MappingError`` names the key and the rule."""
    stored_key = row.get("hk")
    try:
        key = validate_key(stored_key)
        origin = validate_origin(row.get("dn"), row.get("dp"), rules)
    except MappingError as error:
        raise MappingError(f"row {stored_key!r}: {error.message}") from error
    return VersionMapping(key=key, stored_key=str(stored_key), origin=origin)
