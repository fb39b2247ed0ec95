"""Checks of connection values the admin commands share, made before botocore sees them: a bad value is a
``UsageError`` (exit 2) naming the option, never a traceback or a request that hangs."""

from __future__ import annotations

import math
import re

from .errors import UsageError

MAX_TIMEOUT = 300.0
"""Seconds a connect or read may be given at most."""
_REGION = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}\Z")
"""An AWS region name: ``us-east-1``, ``us-gov-west-1``, ``ap-southeast-4``, ``eusc-de-east-1``."""


def checked_seconds(option: str, value: float, maximum: float = MAX_TIMEOUT) -> float:
    """``value`` when it is a finite number of seconds above 0 and at most ``maximum`` (no nan, no inf)."""
    if not (math.isfinite(value) and 0 < value <= maximum):
        raise UsageError(f"{option} must be a number of seconds above 0 and at most {maximum:g}")
    return value


def checked_region(region: str, what: str = "region") -> str:
    """``region`` when it is shaped like an AWS region name (botocore would also build endpoints from others)."""
    if not _REGION.match(region):
        raise UsageError(f"{what} {region!r} is not an AWS region name (e.g. us-east-1)")
    return region
