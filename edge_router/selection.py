"""Choose the version mapping a request asks for, from its headers and a snapshot. Pure: no IO, no clock.

Headers are tried in the configured precedence order:

- ``Accept`` is parsed per RFC 9110; its ranges are tried best first and the first that has a mapping decides.
  A range whose version parameter names a version the table lacks is an unknown version for that range: it never
  falls back to the bare type's mapping. Parameters that name no version (``charset``) are ignored.
- Any other header is a custom version header (``APIVER: v1``): every occurrence counts, each value is trimmed and
  matched case-insensitively. Once present and non-empty it decides: an unknown value is an error, not a fall
  through, and several distinct values are ambiguous.
- A value that is an ISO date (``2025-03-01``) and has no exact row selects the newest row dated on or before it.
- When no header names a version (absent, empty, or only generic values such as ``*/*`` or ``application/json``)
  the default row, if there is one, is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .lifecycle import is_date_version
from .mapping import VersionMapping, normalize_key
from .media_type import MediaRange, parse_accept
from .snapshot import CUSTOM_DATES, Snapshot

MAX_HEADER_CHARS = 8192
"""Longest version header (all occurrences together) that is read; CloudFront itself caps request headers."""
_SHOWN_VALUE_CHARS = 128


class ProblemKind(StrEnum):
    """Why no version could be chosen; the value is the problem type's slug."""

    MISSING = "missing-version"
    EMPTY = "empty-version"
    INVALID = "invalid-version"
    UNKNOWN = "unknown-version"
    AMBIGUOUS = "ambiguous-version"


class Rule(StrEnum):
    """Which rule chose the version (logged, and shown by ``edge-router resolve``)."""

    EXACT = "exact"
    DATE = "date"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class VersionProblem:
    kind: ProblemKind
    detail: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class Selection:
    """The outcome: a mapping, the header and key that chose it and the rule, or the problem."""

    mapping: VersionMapping | None = None
    header: str = ""
    key: str = ""
    rule: Rule = Rule.EXACT
    problem: VersionProblem | None = None


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_VALUE_CHARS else value[:_SHOWN_VALUE_CHARS] + "..."


def _unknown(requested: str, snapshot: Snapshot, group: str | None = None) -> VersionProblem:
    detail = f"{_shown(requested)!r} is not a supported version."
    dates = snapshot.dated.get(group) if group is not None else None
    if dates is not None:
        detail = f"{_shown(requested)!r} is before the first dated version ({dates.dates[0]})."
    return VersionProblem(ProblemKind.UNKNOWN, detail, _shown(requested))


@dataclass(frozen=True, slots=True)
class _RangeOutcome:
    """What one media range asks for: a selection, an unknown version, or nothing in particular (generic)."""

    selection: Selection | None = None
    unknown: VersionProblem | None = None


_GENERIC = _RangeOutcome()


def _select_range(media_range: MediaRange, snapshot: Snapshot) -> _RangeOutcome:
    if media_range.type == "*" or media_range.subtype == "*":
        return _GENERIC
    essence = media_range.essence
    version_names = snapshot.version_parameters.get(essence, frozenset())
    asked: tuple[str, str | None] | None = None
    for name, value in media_range.params:
        key = f"{essence};{name}={value}"
        mapping = snapshot.lookup(key)
        if mapping is not None:
            return _RangeOutcome(Selection(mapping, "accept", key))
        if name in version_names:
            group = f"{essence};{name}"
            dates = snapshot.dated.get(group) if is_date_version(value) else None
            dated = dates.on_or_before(value) if dates is not None else None
            if dated is not None:
                return _RangeOutcome(Selection(dated, "accept", dated.key, Rule.DATE))
            asked = asked or (key, group if dates is not None else None)
    if asked is not None:
        return _RangeOutcome(unknown=_unknown(asked[0], snapshot, asked[1]))
    mapping = snapshot.lookup(essence)
    if mapping is not None:
        return _RangeOutcome(Selection(mapping, "accept", essence))
    if essence not in snapshot.essences and snapshot.is_vendor_type(essence):
        return _RangeOutcome(unknown=_unknown(essence, snapshot))
    return _GENERIC


def _select_accept(name: str, text: str, snapshot: Snapshot) -> Selection | tuple[VersionProblem, bool]:
    """The selection, or the problem and whether the header named a version (generic ones allow the default)."""
    ranges = parse_accept(text)
    unknown: VersionProblem | None = None
    for media_range in ranges:
        outcome = _select_range(media_range, snapshot)
        if outcome.selection is not None:
            return outcome.selection
        unknown = unknown or outcome.unknown
    if unknown is not None:
        return unknown, True
    if not ranges:
        return VersionProblem(
            ProblemKind.INVALID, f"The {name} header has no acceptable media type.", _shown(text)
        ), False
    concrete = [r for r in ranges if r.type != "*" and r.subtype != "*"]
    if not concrete:  # only wildcards, such as curl's default "*/*": the client named no version
        detail = f"The {name} header names no version, only wildcards."
        return VersionProblem(ProblemKind.MISSING, detail, _shown(text)), False
    return _unknown(concrete[0].essence, snapshot), False


def _select_custom(name: str, key_name: str, values: list[str], snapshot: Snapshot) -> Selection:
    keys = list(dict.fromkeys(normalize_key(item) for value in values for item in value.split(",") if item.strip()))
    if not keys:
        return Selection(problem=VersionProblem(ProblemKind.EMPTY, f"The {name} header is empty."))
    if len(keys) > 1:
        shown = ", ".join(_shown(key) for key in keys[:5])
        return Selection(
            problem=VersionProblem(ProblemKind.AMBIGUOUS, f"The {name} header names several versions: {shown}.")
        )
    key = keys[0]
    mapping = snapshot.lookup(key)
    if mapping is not None:
        return Selection(mapping, key_name, key)
    dates = snapshot.dated.get(CUSTOM_DATES) if is_date_version(key) else None
    dated = dates.on_or_before(key) if dates is not None else None
    if dated is not None:
        return Selection(dated, key_name, dated.key, Rule.DATE)
    return Selection(problem=_unknown(key, snapshot, CUSTOM_DATES if dates is not None else None))


def select_version(
    header_values: Callable[[str], list[str]],
    header_names: tuple[str, ...],
    snapshot: Snapshot,
    labels: tuple[str, ...] = (),
) -> Selection:
    """Pick the mapping for a request, or say precisely why none fits.

    ``header_names`` are lowercase, in precedence order; ``labels`` spell them as configured, for messages.
    """
    generic: VersionProblem | None = None
    named: VersionProblem | None = None
    spelled = dict(zip(header_names, labels, strict=False))
    for key in header_names:
        name = spelled.get(key, key)
        values = header_values(key)
        if not values:
            continue
        if sum(len(value) for value in values) > MAX_HEADER_CHARS:
            detail = f"The {name} header is longer than {MAX_HEADER_CHARS} characters."
            return Selection(problem=VersionProblem(ProblemKind.INVALID, detail))
        if key != "accept":
            selection = _select_custom(name, key, values, snapshot)
            if selection.problem is None or selection.problem.kind is not ProblemKind.EMPTY:
                return selection
            generic = generic or selection.problem
            continue
        text = values[0] if len(values) == 1 else ",".join(values)
        if not text.strip():
            generic = generic or VersionProblem(ProblemKind.EMPTY, f"The {name} header is empty.")
            continue
        outcome = _select_accept(name, text, snapshot)
        if isinstance(outcome, Selection):
            return outcome
        problem, names_version = outcome
        if names_version:
            named = named or problem
        else:
            generic = generic or problem
    if named is not None:
        return Selection(problem=named)
    if snapshot.default is not None:
        return Selection(snapshot.default, "", snapshot.default.key, Rule.DEFAULT)
    if generic is None:
        listed = " or ".join(spelled.get(key, key) for key in header_names)
        generic = VersionProblem(ProblemKind.MISSING, f"The {listed} header is missing.")
    return Selection(problem=generic)
