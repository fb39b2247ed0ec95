"""An immutable snapshot of the whole mapping table, indexed for O(1) lookups by normalised key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import MappingError
from .mapping import OriginRules, VersionMapping, mapping_from_row

MAX_LISTED_VERSIONS = 50
"""Versions listed in error responses; a larger table is summarised so error bodies stay small."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Validated mappings by normalised key, plus what was skipped and when it was loaded."""

    mappings: Mapping[str, VersionMapping]
    versions: tuple[str, ...]
    skipped: tuple[str, ...]
    loaded_at: float
    region: str = ""

    def lookup(self, key: str) -> VersionMapping | None:
        return self.mappings.get(key)

    @property
    def listed_versions(self) -> tuple[str, ...]:
        return self.versions[:MAX_LISTED_VERSIONS]


def build_snapshot(
    rows: Iterable[Mapping[str, Any] | MappingError], rules: OriginRules, *, loaded_at: float, region: str = ""
) -> Snapshot:
    """Validate rows into a snapshot. Invalid rows (or rows that failed to deserialise) are skipped, with reasons.

    Two rows whose keys normalise to the same value are ambiguous: the first in stored-key order is kept.
    """
    valid: list[VersionMapping] = []
    skipped: list[str] = []
    for row in rows:
        if isinstance(row, MappingError):
            skipped.append(row.message)
            continue
        try:
            valid.append(mapping_from_row(row, rules))
        except MappingError as error:
            skipped.append(error.message)
    mappings: dict[str, VersionMapping] = {}
    for mapping in sorted(valid, key=lambda m: m.stored_key):
        if mapping.key in mappings:
            skipped.append(
                f"row {mapping.stored_key!r}: same key as {mappings[mapping.key].stored_key!r} once normalised"
            )
        else:
            mappings[mapping.key] = mapping
    versions = tuple(sorted(m.stored_key for m in mappings.values()))
    return Snapshot(mappings, versions, tuple(skipped), loaded_at, region)
