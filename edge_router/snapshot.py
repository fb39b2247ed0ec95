"""An immutable snapshot of the whole mapping table, indexed for the router's lookups.

Built once per refresh: O(1) lookups by normalised key, the media-type parameters that name versions, the dated
versions in sorted order (O(log n) "newest on or before"), the default version, and every lifecycle instant.
Rows that did not change since the previous refresh are not validated again (``RowMemo``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import MappingError
from .lifecycle import is_date_version
from .mapping import ROW_ATTRIBUTES, OriginRules, VersionMapping, mapping_from_row

CUSTOM_DATES = ""
"""The date group of custom-header keys (``2025-03-01``); media-type groups are ``essence;parameter``."""
_VENDOR_TREES = ("vnd.", "prs.", "x.", "x-")


@dataclass(frozen=True, slots=True)
class DateGroup:
    """Versions keyed by a date within one group, oldest first, for "newest on or before" lookups."""

    dates: tuple[str, ...]
    mappings: tuple[VersionMapping, ...]

    def on_or_before(self, date: str) -> VersionMapping | None:
        position = bisect_right(self.dates, date)
        return self.mappings[position - 1] if position else None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Validated mappings by normalised key and the indexes selection needs; what was skipped and why."""

    mappings: Mapping[str, VersionMapping]
    skipped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    loaded_at: float = 0.0
    region: str = ""
    default: VersionMapping | None = None
    version_parameters: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per media-type essence, the parameter names mapping keys use as a version (``version`` in ``...;version=2``)."""
    essences: frozenset[str] = frozenset()
    dated: Mapping[str, DateGroup] = field(default_factory=dict)
    instants: tuple[int, ...] = ()
    """Every deprecation and sunset instant, sorted: what a request sees can only change at one of them."""

    def lookup(self, key: str) -> VersionMapping | None:
        return self.mappings.get(key)

    def is_vendor_type(self, essence: str) -> bool:
        """A media type in the vendor, personal or unregistered tree (RFC 6838 §3): it names an API, so a request
        for one the table lacks is an unknown version, not a generic ``Accept``."""
        return essence.partition("/")[2].startswith(_VENDOR_TREES)

    def reloaded(self, loaded_at: float, region: str) -> Snapshot:
        """The same table, read again unchanged: only the load time and region move."""
        return Snapshot(
            self.mappings,
            self.skipped,
            self.warnings,
            loaded_at,
            region,
            self.default,
            self.version_parameters,
            self.essences,
            self.dated,
            self.instants,
        )


class RowMemo:
    """Validation results by row content, so a refresh re-validates only rows that changed.

    Each build keeps only the current rows' entries, so the memo never outgrows the table.
    """

    def __init__(self) -> None:
        self._results: dict[tuple[Any, ...], VersionMapping | str] = {}

    def validate(self, rows: Iterable[Mapping[str, Any]], rules: OriginRules) -> list[Any]:
        """Each row as a ``VersionMapping``, or the reason it was skipped (a string)."""
        previous = self._results
        current: dict[tuple[Any, ...], VersionMapping | str] = {}
        results: list[VersionMapping | str] = []
        for row in rows:
            values = [row.get(name) for name in ROW_ATTRIBUTES]
            values.append(row.get("updated_at"))
            # The types too: True == 1 == 1.0, but a boolean where a number belongs (or back) is another row.
            identity = (*values, *map(type, values))
            try:
                outcome = current.get(identity) or previous.get(identity)
            except TypeError:  # an unhashable attribute value: validate without memo
                identity, outcome = (), None
            if outcome is None:
                try:
                    outcome = mapping_from_row(row, rules)
                except MappingError as error:
                    outcome = error.message
            if identity:
                current[identity] = outcome
            results.append(outcome)
        self._results = current
        return results


def _by_preference(candidates: Iterable[VersionMapping]) -> list[VersionMapping]:
    """Rows that claim the same thing, best first: stored in normal form (as the admin tool writes), then written
    last, then the first stored key in order, so the choice never depends on the order of the scan."""
    ordered = sorted(candidates, key=lambda m: m.stored_key)
    ordered.sort(key=lambda m: m.updated_at, reverse=True)  # stable: equal times keep key order
    ordered.sort(key=lambda m: m.stored_key != m.key)
    return ordered


def _why_kept(kept: VersionMapping, other: VersionMapping) -> str:
    if (kept.stored_key == kept.key) != (other.stored_key == other.key):
        return "it is stored in normal form"
    if kept.updated_at != other.updated_at:
        return "it was written later"
    return "it comes first in key order"


def _dedupe(valid: list[VersionMapping], skipped: list[str]) -> dict[str, VersionMapping]:
    groups: dict[str, list[VersionMapping]] = {}
    for mapping in valid:
        groups.setdefault(mapping.key, []).append(mapping)
    mappings: dict[str, VersionMapping] = {}
    for key in sorted(groups):
        kept, *others = _by_preference(groups[key])
        mappings[key] = kept
        for other in sorted(others, key=lambda m: m.stored_key):
            skipped.append(
                f"row {other.stored_key!r}: skipped, same version as {kept.stored_key!r} once normalised "
                f"(kept {kept.stored_key!r}: {_why_kept(kept, other)})"
            )
    return mappings


def _choose_default(mappings: Mapping[str, VersionMapping], warnings: list[str]) -> VersionMapping | None:
    defaults = [mapping for mapping in mappings.values() if mapping.is_default]
    if not defaults:
        return None
    ordered = sorted(defaults, key=lambda m: m.key)
    ordered.sort(key=lambda m: m.updated_at, reverse=True)
    chosen = ordered[0]
    if len(defaults) > 1:
        names = ", ".join(m.key for m in sorted(defaults, key=lambda m: m.key))
        warnings.append(
            f"several rows are the default ({names}); using {chosen.key!r} (the one written last, then the first "
            "in key order)"
        )
    return chosen


def _indexes(
    mappings: Mapping[str, VersionMapping],
) -> tuple[dict[str, frozenset[str]], frozenset[str], dict[str, DateGroup]]:
    parameters: dict[str, set[str]] = {}
    essences: set[str] = set()
    dated: dict[str, list[tuple[str, VersionMapping]]] = {}
    for key, mapping in mappings.items():
        if "/" not in key:
            if is_date_version(key):
                dated.setdefault(CUSTOM_DATES, []).append((key, mapping))
            continue
        essence, _, parameter = key.partition(";")
        essences.add(essence)
        if parameter:
            name, _, value = parameter.partition("=")
            parameters.setdefault(essence, set()).add(name)
            if is_date_version(value):
                dated.setdefault(f"{essence};{name}", []).append((value, mapping))
    groups = {
        group: DateGroup(tuple(date for date, _ in entries), tuple(mapping for _, mapping in entries))
        for group, entries in ((group, sorted(entries, key=lambda e: e[0])) for group, entries in dated.items())
    }
    return {essence: frozenset(names) for essence, names in parameters.items()}, frozenset(essences), groups


def _check_successors(mappings: Mapping[str, VersionMapping], warnings: list[str]) -> None:
    for mapping in mappings.values():
        if mapping.successor is not None and mapping.successor not in mappings:
            warnings.append(f"row {mapping.stored_key!r}: successor {mapping.successor!r} is not a mapping; not linked")


def build_snapshot(
    rows: Iterable[Mapping[str, Any]],
    rules: OriginRules,
    *,
    loaded_at: float,
    region: str = "",
    memo: RowMemo | None = None,
) -> Snapshot:
    """Validate rows into a snapshot. Invalid rows are skipped, with reasons.

    Two rows whose keys normalise to the same value are one version: the row in normal form wins, then the one
    written last, then the first in key order; the warning names the row that was skipped and why.
    """
    outcomes = (memo or RowMemo()).validate(rows, rules)
    valid = [outcome for outcome in outcomes if isinstance(outcome, VersionMapping)]
    skipped = [outcome for outcome in outcomes if isinstance(outcome, str)]
    warnings: list[str] = []
    mappings = _dedupe(valid, skipped)
    default = _choose_default(mappings, warnings)
    _check_successors(mappings, warnings)
    parameters, essences, dated = _indexes(mappings)
    instants = sorted(
        {instant for m in mappings.values() for instant in (m.deprecated_at, m.sunset_at) if instant is not None}
    )
    return Snapshot(
        mappings,
        tuple(skipped),
        tuple(warnings),
        loaded_at,
        region,
        default,
        parameters,
        essences,
        dated,
        tuple(instants),
    )
