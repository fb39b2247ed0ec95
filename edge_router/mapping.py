"""Mapping rows and the rules a row must pass before it may route traffic.

The router, the admin CLI and the seeding custom resource all validate through ``mapping_from_row`` (and the
``validate_*`` functions it is made of), so every row the tools write is routable and every row they refuse is one
the router would skip.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from .errors import MappingError
from .lifecycle import parse_instant
from .media_type import is_token, normalize_media_type

MAX_KEY_LENGTH = 256
MAX_DOMAIN_LENGTH = 253
MAX_PATH_LENGTH = 255
MAX_INFO_URL_LENGTH = 1024
BASIS_POINTS = 10_000
"""A canary share is kept in hundredths of a percent (12.5 % is 1250), so decimal percentages stay exact."""
DEFAULT_ALLOWED_SUFFIXES = ("*.execute-api.*.amazonaws.com",)
"""API Gateway's default endpoints: ``{api-id}.execute-api.{region}.amazonaws.com``."""

ROW_ATTRIBUTES = (
    "hk",
    "dn",
    "dp",
    "is_default",
    "deprecated_at",
    "sunset_at",
    "successor",
    "info_url",
    "canary_dn",
    "canary_dp",
    "canary_percent",
)
"""The attributes the router reads; anything else in a row (``updated_by``, ``revision`` ...) is bookkeeping."""

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_CUSTOM_KEY = re.compile(r"[!-~]+\Z")  # visible ASCII, no spaces
_PRINTABLE = re.compile(r"[ -~]*\Z")  # printable ASCII: no control characters, nothing beyond ASCII
_INFO_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
PATH_PATTERN = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)+\Z")
"""A non-empty origin path of RFC 3986 path characters (``pchar`` and ``/``), percent-encoding allowed."""
_ENCODED_FORBIDDEN = re.compile(r"%(?:2f|5c|[01][0-9a-f]|7f)", re.IGNORECASE)
"""Percent-encoded ``/``, ``\\`` and control characters: a backend may decode them into path tricks."""
_ENCODED_DOT = re.compile("%2e", re.IGNORECASE)
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
    whitespace around ``;`` and ``=`` removed (``media_type.normalize_media_type``), the form selection looks up.
    """
    key = raw.strip()
    if "/" in key:
        return normalize_media_type(key) or key.lower()
    return key.lower()


def validate_key(raw: Any) -> str:
    """The normalised key, or ``MappingError`` saying why ``raw`` cannot be a mapping key.

    A key is what a request can select, and it is echoed in response headers (``api-supported-versions``), so it
    is printable ASCII only: a control character (CR, LF) in a key could split a header.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise MappingError("key (hk) must be a non-empty string")
    if len(raw) > MAX_KEY_LENGTH:
        raise MappingError(f"key (hk) is longer than {MAX_KEY_LENGTH} characters")
    if not _PRINTABLE.match(raw):
        raise MappingError(f"key {raw!r} contains a control or non-ASCII character")
    key = raw.strip()
    if "/" in key:
        normalized = normalize_media_type(key)
        if normalized is None:
            raise MappingError(
                f"key {raw!r} is not a concrete media type (type/subtype, no wildcards, no q, parameter values "
                "as tokens)"
            )
        if normalized.count(";") > 1:
            raise MappingError(f"key {raw!r} has more than one parameter; a key may carry at most one")
        _essence, _, parameter = normalized.partition(";")
        if parameter and not is_token(parameter.partition("=")[2]):
            raise MappingError(f"key {raw!r}: the parameter value must be a token (no spaces, commas or quotes)")
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
    """An IPv4 or IPv6 literal (``ipaddress`` is imported only when a name could be one)."""
    bare = host.strip("[]")
    if ":" not in bare and not bare.replace(".", "").isdigit():
        return False
    import ipaddress

    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address: the only hosts local mode may route to."""
    bare = host.strip("[]")
    if bare in _LOOPBACK_NAMES:
        return True
    if not is_ip_address(bare):
        return False
    import ipaddress

    return ipaddress.ip_address(bare).is_loopback


def _local_origin(domain: str, path: str) -> Origin | None:
    """``host:port`` on loopback (local mode only) as an http origin; ``None`` if it is not one."""
    host, colon, port_text = domain.rpartition(":")
    if not colon or not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        return None
    return Origin(host, path, int(port_text), "http") if is_loopback_host(host) else None


def validate_path(raw: Any) -> str:
    """An origin path CloudFront accepts: ``""`` or ``/a/b`` (no trailing ``/``, URL-encoded, <= 255).

    Dot segments are refused in every spelling (``..``, ``%2e%2e``), and so are encoded slashes, backslashes and
    control characters, which a backend could decode into the same tricks.
    """
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise MappingError("path (dp) must be a string (DynamoDB type S)")
    if len(raw) > MAX_PATH_LENGTH:
        raise MappingError(f"path (dp) is longer than {MAX_PATH_LENGTH} characters")
    if raw.endswith("/") or not PATH_PATTERN.match(raw):
        raise MappingError(f"path {raw!r} must start with '/', not end with '/', and be URL-encoded")
    if "%" in raw and _ENCODED_FORBIDDEN.search(raw):
        raise MappingError(f"path {raw!r} must not contain an encoded '/', '\\' or control character")
    decoded = _ENCODED_DOT.sub(".", raw) if "%" in raw else raw
    if "." in decoded and any(segment in (".", "..") for segment in decoded.split("/")):
        raise MappingError(f"path {raw!r} must not contain '.' or '..' segments")
    return raw


def validate_origin(domain: Any, path: Any, rules: OriginRules) -> Origin:
    """The origin for a row's ``dn``/``dp``, or ``MappingError`` if CloudFront or the allowlist would refuse it."""
    if not isinstance(domain, str):
        raise MappingError("domain (dn) must be a string (DynamoDB type S)")
    if not domain.strip():
        raise MappingError("domain (dn) must be a non-empty string")
    if _SCHEME.match(domain.strip()):
        raise MappingError(f"domain {domain!r} must be a host name without a scheme (no https://)")
    clean_path = validate_path(path)
    name = domain.strip().lower().rstrip(".")
    if rules.allow_local:
        local = _local_origin(name, clean_path)
        if local is not None:
            return local
    _check_domain(name, rules)
    return Origin(name, clean_path)


@lru_cache(maxsize=4096)
def _check_domain(name: str, rules: OriginRules) -> None:
    """``MappingError`` unless ``name`` is a DNS name CloudFront accepts inside the allowlist.

    Memoised: a table's rows name a few domains, and a refresh of changed rows then checks each domain once.
    """
    if len(name) > MAX_DOMAIN_LENGTH:
        raise MappingError(f"domain is longer than {MAX_DOMAIN_LENGTH} characters")
    if ":" in name or is_ip_address(name):
        raise MappingError(f"domain {name!r} must be a DNS name without a port, not an IP address")
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise MappingError(f"domain {name!r} is not a valid DNS name")
    if not any(pattern.matches(labels) for pattern in rules.allowed_suffixes):
        allowed = ", ".join(str(pattern) for pattern in rules.allowed_suffixes)
        raise MappingError(f"domain {name!r} is outside the allowed origin suffixes ({allowed})")


def validate_info_url(raw: Any) -> str:
    """A deprecation information URL (``Link: <url>; rel="deprecation"``): absolute http(s), header-safe."""
    if not isinstance(raw, str) or not raw:
        raise MappingError("info_url must be a non-empty string")
    if len(raw) > MAX_INFO_URL_LENGTH:
        raise MappingError(f"info_url is longer than {MAX_INFO_URL_LENGTH} characters")
    if not _INFO_URL.match(raw):
        raise MappingError(f"info_url {raw!r} must be an absolute http(s) URL of URI characters (percent-encoded)")
    return raw


def validate_percent(raw: Any) -> int:
    """A canary share from 0 to 100 with at most two decimals, as basis points (``12.5`` -> 1250)."""
    if isinstance(raw, bool):
        raise MappingError("canary_percent must be a number from 0 to 100")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise MappingError(f"canary_percent {raw!r} must be a number from 0 to 100") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise MappingError(f"canary_percent {raw!r} must be a number from 0 to 100")
    points = round(value * 100)
    if abs(value * 100 - points) > 1e-6:
        raise MappingError(f"canary_percent {raw!r} has more than two decimals")
    return points


def validate_instant(name: str, raw: Any) -> int:
    """An instant attribute (``deprecated_at``, ``sunset_at``) as epoch seconds."""
    if isinstance(raw, datetime):
        raw = raw.strftime("%Y-%m-%dT%H:%M:%S")
    if not isinstance(raw, str):
        raise MappingError(f"{name} must be an ISO 8601 string")
    try:
        return parse_instant(raw)
    except ValueError as error:
        raise MappingError(f"{name}: {error}") from None


@dataclass(frozen=True, slots=True)
class Canary:
    """A second origin that takes ``basis_points`` of the version's traffic (sticky per client)."""

    origin: Origin
    basis_points: int


@dataclass(frozen=True, slots=True)
class VersionMapping:
    """A validated mapping: the normalised key a request value must match, where it routes, and its lifecycle."""

    key: str
    stored_key: str
    origin: Origin
    is_default: bool = False
    deprecated_at: int | None = None
    sunset_at: int | None = None
    successor: str | None = None
    info_url: str | None = None
    canary: Canary | None = None
    updated_at: str = ""
    """When the row was last written (sortable text), to choose between rows that claim the same thing."""


def _optional_text(row: MappingABC[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"{name} must be a string")
    return value


def _updated_at(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
    return value if isinstance(value, str) else ""


def _canary(row: MappingABC[str, Any], rules: OriginRules) -> Canary | None:
    domain = row.get("canary_dn")
    percent = row.get("canary_percent")
    if domain in (None, "") and percent is None:
        if row.get("canary_dp") not in (None, ""):
            raise MappingError("canary_dp is set without canary_dn and canary_percent")
        return None
    if domain in (None, "") or percent is None:
        raise MappingError("a canary needs both canary_dn and canary_percent")
    try:
        origin = validate_origin(domain, row.get("canary_dp"), rules)
    except MappingError as error:
        raise MappingError(f"canary: {error.message}") from None
    return Canary(origin, validate_percent(percent))


def _lifecycle(row: MappingABC[str, Any], key: str) -> tuple[int | None, int | None, str | None, str | None]:
    deprecated = row.get("deprecated_at")
    sunset = row.get("sunset_at")
    deprecated_at = None if deprecated in (None, "") else validate_instant("deprecated_at", deprecated)
    sunset_at = None if sunset in (None, "") else validate_instant("sunset_at", sunset)
    if deprecated_at is not None and sunset_at is not None and sunset_at <= deprecated_at:
        raise MappingError("sunset_at must come after deprecated_at")
    successor_text = _optional_text(row, "successor")
    successor = None
    if successor_text is not None:
        try:
            successor = validate_key(successor_text)
        except MappingError as error:
            raise MappingError(f"successor: {error.message}") from None
        if successor == key:
            raise MappingError("successor names the version itself")
    info = _optional_text(row, "info_url")
    return deprecated_at, sunset_at, successor, None if info is None else validate_info_url(info)


def mapping_from_row(row: MappingABC[str, Any], rules: OriginRules) -> VersionMapping:
    """Validate one table row; ``MappingError`` names the key and the rule it breaks.

    Attributes: ``hk``, ``dn``, optional ``dp`` (the original sample's schema), then the optional lifecycle
    (``is_default``, ``deprecated_at``, ``sunset_at``, ``successor``, ``info_url``) and canary (``canary_dn``,
    ``canary_dp``, ``canary_percent``) attributes. Rows from the original sample have only the first three.
    """
    stored_key = row.get("hk")
    try:
        key = validate_key(stored_key)
        origin = validate_origin(row.get("dn"), row.get("dp"), rules)
        is_default = row.get("is_default")
        if is_default is not None and not isinstance(is_default, bool):
            raise MappingError("is_default must be a boolean")
        deprecated_at, sunset_at, successor, info_url = _lifecycle(row, key)
        canary = _canary(row, rules)
    except MappingError as error:
        raise MappingError(f"row {stored_key!r}: {error.message}") from error
    return VersionMapping(
        key=key,
        stored_key=str(stored_key),
        origin=origin,
        is_default=bool(is_default),
        deprecated_at=deprecated_at,
        sunset_at=sunset_at,
        successor=successor,
        info_url=info_url,
        canary=canary,
        updated_at=_updated_at(row.get("updated_at")),
    )
