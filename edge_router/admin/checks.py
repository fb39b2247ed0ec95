"""Checks of connection values the admin commands share, made before botocore sees them: a bad value is a
``UsageError`` (exit 2) naming the option, never a traceback or a request that hangs."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from ..config import REGION_PATTERN
from .errors import UsageError

MAX_TIMEOUT = 300.0
"""Seconds a connect or read may be given at most."""


def checked_seconds(option: str, value: float, maximum: float = MAX_TIMEOUT) -> float:
    """``value`` when it is a finite number of seconds above 0 and at most ``maximum`` (no nan, no inf)."""
    if not (math.isfinite(value) and 0 < value <= maximum):
        raise UsageError(f"{option} must be a number of seconds above 0 and at most {maximum:g}")
    return value


def checked_region(region: str, what: str = "region") -> str:
    """``region`` when it is shaped like an AWS region name (botocore would also build endpoints from others)."""
    if not REGION_PATTERN.match(region):
        raise UsageError(f"{what} {region!r} is not an AWS region name (e.g. us-east-1)")
    return region


def checked_url(source: str, url: str) -> str:
    """``url`` when it is an ``http://`` or ``https://`` URL with a host (botocore would raise ``ValueError`` deep
    inside the first call); ``source`` names where it came from (an option or an environment variable)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port raises ValueError for one out of range or not a number
    except ValueError as error:
        raise UsageError(f"{source} {url!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{source} {url!r} must be an http:// or https:// URL, e.g. http://127.0.0.1:8000")
    return url
