"""Rules about the table as a whole, which no single row can check. Pure: the rows before and after a change in.

Two kinds, applied the same way by ``put``, ``delete`` and ``import``:

- deletions that need ``--force``: the last mapping (the router would then refuse every request), the default
  version, and a version another row names as its successor;
- writes that are refused outright, because the router would not do what the row says: a second default version,
  a default past its sunset (it would answer 410 to every request that names no version), and a successor that
  is not a mapping or is itself past its sunset.

Only what the change writes or deletes is judged, so an older oddity elsewhere in the table never blocks an edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..lifecycle import format_instant, try_parse_instant
from ..mapping import normalize_key
from .rows import MappingRow, MappingSpec


@dataclass(frozen=True, slots=True)
class Facts:
    """What the table-wide rules need to know about one row."""

    key: str
    """The normalised key (what successors name)."""
    shown: str
    """The key as stored, for messages."""
    is_default: bool = False
    sunset_at: int | None = None
    successor: str | None = None


def facts(item: MappingRow | MappingSpec) -> Facts:
    """The facts of a stored row or of a row about to be written."""
    if isinstance(item, MappingSpec):
        return Facts(item.key, item.key, item.is_default, item.sunset_at, item.successor)
    sunset = try_parse_instant(item.sunset_at)
    successor = normalize_key(item.successor) if item.successor else None
    return Facts(item.normalized_key, item.key, item.is_default, sunset, successor)


def table_facts(rows: Iterable[MappingRow]) -> dict[str, Facts]:
    """The current table by normalised key."""
    return {row.normalized_key: facts(row) for row in rows}


def deletion_problems(after: Mapping[str, Facts], removed: Iterable[Facts]) -> list[str]:
    """Why deleting ``removed``, which leaves the table ``after``, needs ``--force`` (empty: it does not)."""
    gone = list(removed)
    problems: list[str] = []
    if gone and not after:
        what = "the last mapping" if len(gone) == 1 else "every mapping"
        problems.append(f"it would delete {what}, and the router would then refuse every request")
    for row in gone:
        if row.is_default:
            problems.append(f"{row.shown!r} is the default version")
        named_by = sorted(other.shown for other in after.values() if other.successor == row.key)
        if named_by:
            problems.append(f"{row.shown!r} is the successor of {', '.join(map(repr, named_by))}")
    return problems


def write_problems(after: Mapping[str, Facts], written: Iterable[Facts], now: float) -> list[str]:
    """Why writing ``written``, which makes the table ``after``, must be refused (empty: it need not be)."""
    changed = list(written)
    problems = _default_problems(after, changed, now)
    for row in changed:
        if row.successor is None:
            continue
        successor = after.get(row.successor)
        if successor is None:
            problems.append(f"the successor of {row.shown!r}, {row.successor!r}, is not a mapping")
        elif successor.sunset_at is not None and successor.sunset_at <= now:
            problems.append(
                f"the successor of {row.shown!r}, {successor.shown!r}, is itself past its sunset "
                f"({format_instant(successor.sunset_at)})"
            )
    return problems


def _default_problems(after: Mapping[str, Facts], written: list[Facts], now: float) -> list[str]:
    problems: list[str] = []
    marked = {row.key for row in written if row.is_default}
    defaults = sorted((row for row in after.values() if row.is_default), key=lambda row: row.shown)
    if marked and len(defaults) > 1:
        current = [row.shown for row in defaults if row.key not in marked]
        new = [row.shown for row in defaults if row.key in marked]
        if current:
            problems.append(
                f"{current[0]!r} is already the default version, so {new[0]!r} cannot be one too: move the mark with "
                f"'mappings put {current[0]} --no-default', then 'mappings put {new[0]} --default', or do both in "
                "one import"
            )
        else:
            problems.append(f"{' and '.join(map(repr, new))} would all be the default version; only one row may be")
    for row in written:
        if row.is_default and row.sunset_at is not None and row.sunset_at <= now:
            problems.append(
                f"{row.shown!r} is past its sunset ({format_instant(row.sunset_at)}), so it cannot be the default "
                "version: every request that names no version would get 410 Gone"
            )
    return problems
