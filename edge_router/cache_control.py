"""``Cache-Control`` (RFC 9111 §5.2) directives: parse, cap a response's shared-cache lifetime, keep it private.

Used by the origin-response function, so that CloudFront never keeps a version's response past the instant its
lifecycle headers change (deprecation, sunset) and never stores a canary answer under the shared cache key, and
by the local CloudFront emulator, which computes TTLs the way CloudFront does.
"""

from __future__ import annotations

import re

from .lifecycle import parse_http_date

Directives = dict[str, str | None]
_DIRECTIVE = re.compile(r"\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*(?:=\s*(\"(?:[^\"\\]|\\.)*\"|[^,\s]*))?\s*(?:,|\Z)")
_STALE = ("stale-while-revalidate", "stale-if-error")
_LIFETIMES = ("max-age", "s-maxage")


def parse(value: str) -> Directives:
    """Directives by lowercase name (the first occurrence wins); a value keeps its text as written, quotes and all,
    so that ``render`` gives back ``no-cache="set-cookie, x-y"`` unchanged."""
    directives: Directives = {}
    for match in _DIRECTIVE.finditer(value):
        directives.setdefault(match.group(1).lower(), match.group(2))
    return directives


def render(directives: Directives) -> str:
    return ", ".join(name if value is None else f"{name}={value}" for name, value in directives.items())


def seconds(directives: Directives, name: str) -> int | None:
    """A delta-seconds directive; an invalid value counts as 0 (RFC 9111 §1.2.2: treat as stale)."""
    if name not in directives:
        return None
    value = directives[name] or ""
    if len(value) > 1 and value[0] == value[-1] == '"':  # RFC 9111 §5.2: recipients accept the quoted form
        value = value[1:-1]
    return int(value) if value.isascii() and value.isdigit() else 0


def expires_in(expires: str, now: float) -> int:
    """Seconds until an ``Expires`` date; 0 for one past or not a valid date ("already expired", RFC 9111 §5.3)."""
    expires_at = parse_http_date(expires)
    return 0 if expires_at is None else max(0, int(expires_at - now))


def cap_lifetime(
    cache_control: str | None, expires: str | None, limit: int, *, edge_default_ttl: int, now: float
) -> str | None:
    """The ``Cache-Control`` value that keeps caches from storing the response longer than ``limit`` seconds.

    Returns ``None`` when nothing needs to change. A response without ``Cache-Control`` is capped only where a
    cache would otherwise keep it longer: per ``Expires``, or CloudFront's default TTL for responses without
    either (``s-maxage``: browsers keep their own rules). Stale-serving extensions are removed, so a cached answer
    cannot outlive the limit by being served stale either.
    """
    limit = max(0, limit)
    if cache_control is None:
        if expires is not None:
            remaining = expires_in(expires, now)
            return f"max-age={min(limit, remaining)}" if remaining > limit else None
        return f"s-maxage={limit}" if edge_default_ttl > limit else None
    directives = parse(cache_control)
    if "no-store" in directives:
        return None
    changed = False
    for name in _STALE:
        if name in directives:
            del directives[name]
            changed = True
    for name in _LIFETIMES:
        value = seconds(directives, name)
        if value is not None and value > limit:
            directives[name] = str(limit)
            changed = True
    if seconds(directives, "max-age") is None and seconds(directives, "s-maxage") is None and edge_default_ttl > limit:
        directives["s-maxage"] = str(limit)
        changed = True
    return render(directives) if changed else None


def make_private(cache_control: str | None) -> str | None:
    """The ``Cache-Control`` value that keeps shared caches (CloudFront) from storing the response at all.

    ``private`` lets the client's own cache keep it (a client always sees the same canary side); ``public`` and
    ``s-maxage`` are dropped. Returns ``None`` when the response is already private or ``no-store``.
    """
    if cache_control is None:
        return "private"
    directives = parse(cache_control)
    already_private = "private" in directives and directives["private"] is None
    if "no-store" in directives or (already_private and not {"public", "s-maxage"} & directives.keys()):
        return None
    directives.pop("public", None)
    directives.pop("s-maxage", None)
    return render({"private": None, **{k: v for k, v in directives.items() if k != "private"}})
