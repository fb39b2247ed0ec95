"""What an import would change: rows added, changed and removed, matched by normalised key. Pure: no IO."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import AdminError
from .render import field_values
from .rows import MappingRow, MappingSpec


class ChangeKind(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


_SYMBOLS = {ChangeKind.ADDED: "+", ChangeKind.CHANGED: "~", ChangeKind.REMOVED: "-"}


@dataclass(frozen=True, slots=True)
class Change:
    """One row to write. ``key`` is the stored key it targets (an existing row keeps its stored form)."""

    kind: ChangeKind
    key: str
    before: MappingRow | None = None
    after: MappingSpec | None = None

    def describe(self) -> str:
        """``+ KEY  origin; field: value``, ``~ KEY  field: before -> after`` (the origin as ``A -> B``), ``- KEY``."""
        after = field_values(self.after.attributes()) if self.after else None
        before = field_values(self.before.attributes()) if self.before else None
        if before is not None and after is not None:
            parts = [
                f"{before[name]} -> {after[name]}" if name == "origin" else f"{name}: {before[name]} -> {after[name]}"
                for name in after
                if before[name] != after[name]
            ] or ["rewritten in the form the tool writes (the router reads it the same)"]
        else:
            shown = after or before or {}
            parts = [shown["origin"], *(f"{name}: {value}" for name, value in shown.items() if _is_set(name, value))]
        return f"{_SYMBOLS[self.kind]} {self.key}  {'; '.join(parts)}"


def _is_set(name: str, value: str) -> bool:
    return name != "origin" and value not in ("-", "no")


@dataclass(frozen=True, slots=True)
class Plan:
    """The changes in a stable order (removals, then additions and changes by key), and what stays as it is."""

    changes: tuple[Change, ...]
    unchanged: int
    kept: tuple[str, ...]
    """Stored keys absent from the file that stay because ``--prune`` was not given."""

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for change in self.changes if change.kind is kind)

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(kind)} {kind.value}" for kind in ChangeKind)
        text = f"{len(self.changes)} change(s): {counts}; {self.unchanged} unchanged"
        if self.kept:
            text += f"; {len(self.kept)} row(s) not in the file kept (--prune removes them)"
        return text

    def render(self) -> str:
        return "\n".join([*(change.describe() for change in self.changes), self.summary()])


def rows_by_normalized_key(rows: Sequence[MappingRow]) -> dict[str, MappingRow]:
    """Index rows by normalised key; ``AdminError`` if two stored rows collide (the router skips one of them)."""
    index: dict[str, MappingRow] = {}
    for row in rows:
        other = index.get(row.normalized_key)
        if other is not None:
            raise AdminError(
                f"rows {other.key!r} and {row.key!r} are the same version once normalised; "
                "delete one of them (mappings delete with the exact stored key) first"
            )
        index[row.normalized_key] = row
    return index


def plan_import(current: Sequence[MappingRow], desired: Sequence[MappingSpec], *, prune: bool) -> Plan:
    """The changes that make the table hold ``desired`` (and only it, with ``prune``)."""
    existing = rows_by_normalized_key(current)
    wanted = {spec.key for spec in desired}
    changes: list[Change] = []
    unchanged = 0
    for spec in sorted(desired, key=lambda s: s.key):
        row = existing.get(spec.key)
        if row is None:
            changes.append(Change(ChangeKind.ADDED, spec.key, after=spec))
        elif row.same_mapping(spec):
            unchanged += 1
        else:
            changes.append(Change(ChangeKind.CHANGED, row.key, before=row, after=spec))
    absent = sorted((row for key, row in existing.items() if key not in wanted), key=lambda r: r.key)
    removals = [Change(ChangeKind.REMOVED, row.key, before=row) for row in absent] if prune else []
    kept = () if prune else tuple(row.key for row in absent)
    return Plan((*removals, *changes), unchanged, kept)
