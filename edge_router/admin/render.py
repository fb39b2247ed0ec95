"""Text the admin commands print: the mapping list and detail, lifecycle flags, diff fields, short actor names.

Pure: rows, rules and the time in; text out. The list keeps each line within ``WIDTH`` columns for typical tables
(media-type keys, API Gateway origins), so it reads in a 120-column terminal without wrapping.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from ..lifecycle import try_parse_instant
from ..mapping import OriginRules
from .rows import MappingRow

WIDTH = 120
MIN_ACTOR_WIDTH = 12
_ARN = re.compile(r"arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:[0-9]*:(.+)")


def short_actor(text: str) -> str:
    """``updated_by`` as a person reads it: an ARN becomes its resource part.

    ``arn:aws:sts::123456789012:assumed-role/Admin/alice`` -> ``assumed-role/Admin/alice``; the seeding custom
    resource's ``cloudformation:<stack ARN>`` -> ``stack/NAME`` (without the stack's GUID). Anything else
    (``alice@laptop``) is shown as it is.
    """
    prefix, found, rest = text.partition("arn:")
    match = _ARN.fullmatch("arn:" + rest) if found else None
    if match is None:
        return text
    service, resource = match.groups()
    if service == "cloudformation" and resource.startswith("stack/"):
        resource = "/".join(resource.split("/")[:2])
    return ("" if prefix == f"{service}:" else prefix) + resource


def fit_actor(text: str, width: int) -> str:
    """An author within ``width`` characters, keeping its most specific end: leading ``/`` segments give way first
    (``.../Admin/alice``), then characters."""
    while len(text) > width and "/" in text.removeprefix(".../"):
        text = ".../" + text.removeprefix(".../").split("/", 1)[1]
    return text if len(text) <= width else "..." + text[len(text) - width + 3 :]


def _day(text: Any) -> str:
    """An instant at a glance: the date when it is midnight UTC, else the minute; unparsable text as it is."""
    seconds = try_parse_instant(text)
    if seconds is None:
        return str(text)
    stamp = str(text)
    return stamp[:10] if seconds % 86_400 == 0 else stamp[:16] + "Z"


def canary_text(attributes: Mapping[str, Any]) -> str | None:
    """``10% -> host/path`` for a row's canary, ``None`` without one."""
    domain, percent = attributes.get("canary_dn"), attributes.get("canary_percent")
    if domain is None and percent is None:
        return None
    shown = "?" if percent is None else f"{percent:g}" if isinstance(percent, int | float) else str(percent)
    return f"{shown}% -> {domain or '?'}{attributes.get('canary_dp') or ''}"


def flags(attributes: Mapping[str, Any], now: float) -> list[str]:
    """What a row does beyond routing, in a few words each: default, deprecated, sunset, successor, canary."""
    found: list[str] = []
    if attributes.get("is_default"):
        found.append("default")
    if attributes.get("deprecated_at"):
        found.append(f"deprecated {_day(attributes['deprecated_at'])}")
    if attributes.get("sunset_at"):
        sunset = try_parse_instant(attributes["sunset_at"])
        gone = " (gone: 410)" if sunset is not None and sunset <= now else ""
        found.append(f"sunset {_day(attributes['sunset_at'])}{gone}")
    if attributes.get("successor"):
        found.append(f"successor {attributes['successor']}")
    canary = canary_text(attributes)
    if canary is not None:
        found.append(f"canary {canary}")
    return found


def field_values(attributes: Mapping[str, Any]) -> dict[str, str]:
    """Each field of a row as the diff shows it, by its file name (``origin`` stands for domain and path)."""
    return {
        "origin": f"{attributes.get('dn') or ''}{attributes.get('dp') or ''}",
        "default": "yes" if attributes.get("is_default") else "no",
        "deprecatedAt": str(attributes.get("deprecated_at") or "-"),
        "sunsetAt": str(attributes.get("sunset_at") or "-"),
        "successor": str(attributes.get("successor") or "-"),
        "infoUrl": str(attributes.get("info_url") or "-"),
        "canary": canary_text(attributes) or "-",
    }


def _row_flags(row: MappingRow, rules: OriginRules, now: float) -> list[str]:
    found = flags(row.attributes(), now)
    problem = row.problem(rules)
    if problem is not None:
        found.append(f"SKIPPED by the router: {problem}")
    return found


def _updated(row: MappingRow) -> str:
    return row.updated_at.strftime("%Y-%m-%d") if row.updated_at else "-"


def render_table(rows: Sequence[MappingRow], rules: OriginRules, now: float, width: int = WIDTH) -> str:
    """One line per mapping (key, origin, revision, date and author of the last change), and under it an indented
    line of its flags when it has any. The author is shortened, and cut from the left if the line is too long.

    ``width`` is the budget of the first line: with media-type keys and API Gateway origins, key, origin, revision
    and date take about 100 columns, which leaves the author about 18.
    """
    header = ("KEY", "ORIGIN", "REV", "UPDATED", "BY")
    cells = [
        (row.key, row.target or "-", "-" if row.revision is None else str(row.revision), _updated(row)) for row in rows
    ]
    widths = [max(len(line[column]) for line in [header[:4], *cells]) for column in range(4)]
    prefix_width = sum(widths) + 2 * len(widths)
    actor_width = max(MIN_ACTOR_WIDTH, width - prefix_width)

    def line(values: Sequence[str], actor: str) -> str:
        key, origin, revision, updated = values
        actor = fit_actor(actor, actor_width)
        parts = (key.ljust(widths[0]), origin.ljust(widths[1]), revision.rjust(widths[2]), updated.ljust(widths[3]))
        return ("  ".join(parts) + "  " + actor).rstrip()

    lines = [line(header[:4], header[4])]
    for row, values in zip(rows, cells, strict=True):
        lines.append(line(values, short_actor(row.updated_by) if row.updated_by else "-"))
        found = _row_flags(row, rules, now)
        if found:
            lines.extend(
                textwrap.wrap(
                    ", ".join(found),
                    width,
                    initial_indent="    ",
                    subsequent_indent="      ",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    return "\n".join(lines)


def render_detail(row: MappingRow, rules: OriginRules, now: float) -> str:
    """Every field of one mapping, one per line, with the author in full and what the router does with it."""
    values = field_values(row.attributes())
    problem = row.problem(rules)
    updated = row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ") if row.updated_at else "-"
    sunset = try_parse_instant(row.sunset_at)
    status = "routes" if sunset is None or sunset > now else "answers 410 Gone (past its sunset)"
    pairs = [
        ("key", row.key),
        ("domain", row.domain or "-"),
        ("path", row.path or "-"),
        ("default", values["default"]),
        ("deprecated", values["deprecatedAt"]),
        ("sunset", values["sunsetAt"]),
        ("successor", values["successor"]),
        ("info url", values["infoUrl"]),
        ("canary", values["canary"]),
        ("revision", "-" if row.revision is None else str(row.revision)),
        ("updated", f"{updated} by {row.updated_by or '-'}"),
        ("router", status if problem is None else f"skips this row: {problem}"),
    ]
    return "\n".join(f"{name:<11} {value}" for name, value in pairs)
