"""Router configuration, read from the origin's custom headers (Lambda@Edge has no environment variables).

All setting names are defined here once. Parsing is strict (a bad value is a ``ConfigError`` naming the setting)
and memoised per distinct set of values, so a warm function parses its configuration once, not per request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .errors import ConfigError
from .event import first_value
from .mapping import DEFAULT_ALLOWED_SUFFIXES, OriginRules, parse_suffix_list
from .media_type import is_token

PREFIX = "custom-apigw-"
HEADER_NAME = "custom-apigw-header-name"
TABLE_NAME = "custom-apigw-table-name"
TABLE_REGIONS = "custom-apigw-table-regions"
CACHE_TTL = "custom-apigw-cache-ttl"
MAX_STALE = "custom-apigw-max-stale"
ALLOWED_ORIGIN_SUFFIXES = "custom-apigw-allowed-origin-suffixes"
UNKNOWN_VERSION_STATUS = "custom-apigw-unknown-version-status"
DEBUG_EVENTS = "custom-apigw-debug-events"
CANARY_KEY = "custom-apigw-canary-key"
HASH_KEY = "custom-apigw-hash-key"
METRICS_NAMESPACE = "custom-apigw-metrics-namespace"
EDGE_DEFAULT_TTL = "custom-apigw-edge-default-ttl"

SETTINGS = (
    HEADER_NAME,
    TABLE_NAME,
    TABLE_REGIONS,
    CACHE_TTL,
    MAX_STALE,
    ALLOWED_ORIGIN_SUFFIXES,
    UNKNOWN_VERSION_STATUS,
    DEBUG_EVENTS,
    CANARY_KEY,
    HASH_KEY,
    METRICS_NAMESPACE,
    EDGE_DEFAULT_TTL,
)
SECRET_SETTINGS = frozenset({HASH_KEY})
"""Settings whose values are never logged, even in debug events."""

DEFAULT_HEADER = "Accept"
DEFAULT_REGIONS = ("us-east-1",)
DEFAULT_CACHE_TTL = 300.0
DEFAULT_MAX_STALE = 86_400.0
DEFAULT_UNKNOWN_STATUS = 403
MIN_HASH_KEY_LENGTH = 16
MAX_EDGE_TTL = 31_536_000
TABLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{3,255}\Z")
"""A DynamoDB table name (shared with the admin tool, which checks ``--table`` the same way)."""
_NAMESPACE = re.compile(r"[A-Za-z0-9.\-_/#:]{1,255}\Z")

REGION_PATTERN = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}\Z")
"""An AWS region name: ``us-east-1``, ``us-gov-west-1``, ``eusc-de-east-1`` (shared with the admin tool)."""
# Request headers the function cannot read a value from, as template.yaml's ApiVersionHeaderName pattern lists
# them: CloudFront cannot cache on them, removes them, never shows them to Lambda@Edge, or they are ours.
_UNUSABLE_HEADERS = frozenset(
    {
        *("accept-encoding", "cache-control", "connection", "content-length", "cookie", "expect", "host"),
        *("keep-alive", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "proxy-connection"),
        *("request-range", "te", "trailer", "transfer-encoding", "upgrade", "via", "x-cache", "x-forwarded-for"),
        *("x-forwarded-proto", "x-real-ip"),
    }
)
_UNUSABLE_PREFIXES = ("x-edge-", "x-amz-cf-", "x-amzn-", "x-accel-", PREFIX)
_CREDENTIAL_HEADERS = frozenset({"authorization"})
"""Never a version header: refusal log lines and debug events show a version header's value."""


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """Everything the router needs to know, validated."""

    table_name: str
    version_headers: tuple[str, ...] = (DEFAULT_HEADER.lower(),)
    header_labels: tuple[str, ...] = (DEFAULT_HEADER,)
    """The version headers as configured (``APIVER``), for messages; ``version_headers`` is the lowercase key."""
    regions: tuple[str, ...] = DEFAULT_REGIONS
    cache_ttl: float = DEFAULT_CACHE_TTL
    max_stale: float = DEFAULT_MAX_STALE
    unknown_version_status: int = DEFAULT_UNKNOWN_STATUS
    debug_events: bool = False
    origin_rules: OriginRules = field(default_factory=OriginRules)
    canary_key: str = ""
    """Lowercase request header whose value keys the sticky canary split; empty: the client IP."""
    hash_key: bytes = b""
    """Secret for the keyed client hash (canary side, distinct-client counts), so logs never reveal a client."""
    metrics_namespace: str = ""
    """CloudWatch namespace of the Embedded Metric Format block in each request log line; empty: no metrics."""
    edge_default_ttl: int = 0
    """The cache behaviour's DefaultTTL: how long CloudFront keeps a response that has no Cache-Control."""

    @property
    def store_key(self) -> tuple[str, tuple[str, ...], float, float]:
        """What identifies one mapping snapshot cache: same table, replicas and timings share one."""
        return (self.table_name, self.regions, self.cache_ttl, self.max_stale)


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _number(setting: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(setting, f"{value!r} is not a number of seconds") from None
    if not low <= number <= high:
        raise ConfigError(setting, f"{value!r} must be between {low:g} and {high:g}")
    return number


def _header_name_problem(name: str) -> bool:
    return not is_token(name) or name.startswith(_UNUSABLE_PREFIXES) or name in _UNUSABLE_HEADERS


def _headers(value: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Lowercase names and their configured spellings, first spelling kept for duplicates."""
    spellings = {name.lower(): name for name in reversed(_split_list(value))}
    names = tuple(dict.fromkeys(name.lower() for name in _split_list(value)))
    if not names:
        raise ConfigError(HEADER_NAME, "names no version header")
    for name in names:
        if _header_name_problem(name) or name in _CREDENTIAL_HEADERS:
            raise ConfigError(HEADER_NAME, f"{name!r} cannot carry a version")
    return names, tuple(spellings[name] for name in names)


def _regions(value: str) -> tuple[str, ...]:
    regions = tuple(dict.fromkeys(_split_list(value)))
    if not regions:
        raise ConfigError(TABLE_REGIONS, "names no region")
    for region in regions:
        if not REGION_PATTERN.match(region):
            raise ConfigError(TABLE_REGIONS, f"{region!r} is not an AWS region name")
    return regions


def _status(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 400 <= int(value) <= 499:
        raise ConfigError(UNKNOWN_VERSION_STATUS, f"{value!r} must be a 4xx status code")
    return int(value)


def _canary_key(value: str) -> str:
    name = value.strip().lower()
    if name and _header_name_problem(name):
        raise ConfigError(CANARY_KEY, f"{value!r} is not a request header the function can read")
    return name


def _hash_key(value: str | None, table_name: str) -> bytes:
    """The configured secret; without one, a key derived from the table name (stable, but not secret)."""
    if value is None:
        return ("edge-router:" + table_name).encode()
    if len(value.strip()) < MIN_HASH_KEY_LENGTH:
        raise ConfigError(HASH_KEY, f"must be at least {MIN_HASH_KEY_LENGTH} characters")
    return value.strip().encode()


def _namespace(value: str) -> str:
    namespace = value.strip()
    if namespace and not _NAMESPACE.match(namespace):
        raise ConfigError(METRICS_NAMESPACE, f"{value!r} is not a CloudWatch namespace (letters, digits, . - _ / # :)")
    return namespace


def _edge_ttl(value: str) -> int:
    if not (value.strip().isascii() and value.strip().isdigit()) or int(value) > MAX_EDGE_TTL:
        raise ConfigError(EDGE_DEFAULT_TTL, f"{value!r} must be whole seconds from 0 to {MAX_EDGE_TTL}")
    return int(value)


def _boolean(setting: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(setting, f"{value!r} must be true or false")
    return lowered in ("true", "1", "yes")


def build_config(settings: Mapping[str, str], *, allow_local_origins: bool = False) -> RouterConfig:
    """Validate named settings into a ``RouterConfig``; ``ConfigError`` names the first bad setting."""
    unknown = sorted(name for name in settings if name.startswith(PREFIX) and name not in SETTINGS)
    if unknown:
        raise ConfigError(unknown[0], f"unknown setting (known: {', '.join(SETTINGS)})")
    table_name = settings.get(TABLE_NAME, "").strip()
    if not TABLE_NAME_PATTERN.match(table_name):
        raise ConfigError(TABLE_NAME, "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -) is required")
    try:
        suffix_setting = settings.get(ALLOWED_ORIGIN_SUFFIXES, ",".join(DEFAULT_ALLOWED_SUFFIXES))
        suffixes = parse_suffix_list(suffix_setting)
    except ValueError as error:
        raise ConfigError(ALLOWED_ORIGIN_SUFFIXES, str(error)) from None
    cache_ttl = _number(CACHE_TTL, settings.get(CACHE_TTL, str(DEFAULT_CACHE_TTL)), 1, 86_400)
    version_headers, header_labels = _headers(settings.get(HEADER_NAME, DEFAULT_HEADER))
    return RouterConfig(
        table_name=table_name,
        version_headers=version_headers,
        header_labels=header_labels,
        regions=_regions(settings.get(TABLE_REGIONS, ",".join(DEFAULT_REGIONS))),
        cache_ttl=cache_ttl,
        max_stale=_number(MAX_STALE, settings.get(MAX_STALE, str(DEFAULT_MAX_STALE)), 0, 30 * 86_400),
        unknown_version_status=_status(settings.get(UNKNOWN_VERSION_STATUS, str(DEFAULT_UNKNOWN_STATUS))),
        debug_events=_boolean(DEBUG_EVENTS, settings.get(DEBUG_EVENTS, "false")),
        origin_rules=OriginRules(allowed_suffixes=suffixes, allow_local=allow_local_origins),
        canary_key=_canary_key(settings.get(CANARY_KEY, "")),
        hash_key=_hash_key(settings.get(HASH_KEY), table_name),
        metrics_namespace=_namespace(settings.get(METRICS_NAMESPACE, "")),
        edge_default_ttl=_edge_ttl(settings.get(EDGE_DEFAULT_TTL, "0")),
    )


@lru_cache(maxsize=16)
def _config_for(items: tuple[tuple[str, str], ...], allow_local_origins: bool) -> RouterConfig | ConfigError:
    try:
        return build_config(dict(items), allow_local_origins=allow_local_origins)
    except ConfigError as error:
        return error


def config_from_custom_headers(custom_headers: Any, *, allow_local_origins: bool = False) -> RouterConfig:
    """Read the configuration from ``request.origin.custom.customHeaders`` (memoised per distinct values).

    Only our own ``custom-apigw-*`` entries are considered; their first value counts (CloudFront sends one).
    """
    items: list[tuple[str, str]] = []
    if isinstance(custom_headers, dict):
        for name, entries in custom_headers.items():
            if isinstance(name, str) and name.startswith(PREFIX):
                items.append((name, first_value(entries) or ""))
    result = _config_for(tuple(sorted(items)), allow_local_origins)
    if isinstance(result, ConfigError):
        raise ConfigError(result.setting, result.detail)
    return result


def custom_headers_for(settings: Mapping[str, str]) -> dict[str, list[dict[str, str]]]:
    """The origin ``customHeaders`` block for settings (used by the local CloudFront emulator and tests)."""
    return {name.lower(): [{"key": name, "value": value}] for name, value in settings.items()}
