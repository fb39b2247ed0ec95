"""Choose the version mapping a request asks for, from its headers and a snapshot. Pure: no IO, no clock.

Headers are tried in the configured precedence order:

- ``Accept`` is parsed per RFC 9110; its ranges are tried best first and the first that has a mapping decides.
  A range that maps to nothing (``text/html``, ``*/*``) lets the next header decide.
- Any other header is a custom version header (``APIVER: v1``): every occurrence counts, each value is trimmed and
  matched case-insensitively. Once present and non-empty it decides: an unknown value is an error, not a fall
  through, and several distinct values are ambiguous.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .mapping import VersionMapping, normalize_key
from .media_type import parse_accept
from .snapshot import Snapshot

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


@dataclass(frozen=True, slots=True)
class VersionProblem:
    kind: ProblemKind
    detail: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class Selection:
    """The outcome: a mapping and the header/key that chose it, or the problem."""

    mapping: VersionMapping | None = None
    header: str = ""
    key: str = ""
    problem: VersionProblem | None = None


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_VALUE_CHARS else value[:_SHOWN_VALUE_CHARS] + "..."


def _select_accept(name: str, text: str, snapshot: Snapshot) -> Selection | VersionProblem:
    ranges = parse_accept(text)
    for media_range in ranges:
        for key in media_range.lookup_keys():
            mapping = snapshot.lookup(key)
            if mapping is not None:
                return Selection(mapping, "accept", key)
    if not ranges:
        return VersionProblem(ProblemKind.INVALID, f"The {name} header has no acceptable media type.", _shown(text))
    concrete = [media_range for media_range in ranges if media_range.lookup_keys()]
    if not concrete:  # only wildcards, such as curl's default "*/*": the client named no version
        return VersionProblem(ProblemKind.MISSING, f"The {name} header names no version, only wildcards.", _shown(text))
    best = concrete[0]
    return VersionProblem(ProblemKind.UNKNOWN, f"{best.essence!r} is not a supported version.", _shown(best.essence))


def _select_custom(name: str, key_name: str, values: list[str], snapshot: Snapshot) -> Selection:
    keys = list(dict.fromkeys(normalize_key(item) for value in values for item in value.split(",") if item.strip()))
    if not keys:
        return Selection(problem=VersionProblem(ProblemKind.EMPTY, f"The {name} header is empty."))
    if len(keys) > 1:
        shown = ", ".join(_shown(key) for key in keys[:5])
        return Selection(
            problem=VersionProblem(ProblemKind.AMBIGUOUS, f"The {name} header names several versions: {shown}.")
        )
    mapping = snapshot.lookup(keys[0])
    if mapping is None:
        detail = f"{_shown(keys[0])!r} is not a supported version."
        return Selection(problem=VersionProblem(ProblemKind.UNKNOWN, detail, _shown(keys[0])))
    return Selection(mapping, key_name, keys[0])


def select_version(
    header_values: Callable[[str], list[str]],
    header_names: tuple[str, ...],
    snapshot: Snapshot,
    labels: tuple[str, ...] = (),
) -> Selection:
    """Pick the mapping for a request, or say precisely why none fits.

    ``header_names`` are lowercase, in precedence order; ``labels`` spell them as configured, for messages.
    """
    problem: VersionProblem | None = None
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
            return _select_custom(name, key, values, snapshot)
        text = values[0] if len(values) == 1 else ",".join(values)
        if not text.strip():
            problem = problem or VersionProblem(ProblemKind.EMPTY, f"The {name} header is empty.")
            continue
        outcome = _select_accept(name, text, snapshot)
        if isinstance(outcome, Selection):
            return outcome
        problem = outcome
    if problem is None:
        listed = " or ".join(spelled.get(key, key) for key in header_names)
        problem = VersionProblem(ProblemKind.MISSING, f"The {listed} header is missing.")
    return Selection(problem=problem)
