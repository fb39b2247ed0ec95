"""What the admin tool reads from the table (``MappingRow``) and what an admin asks to write (``MappingSpec``).

Both speak the router's row attributes (``mapping.ROW_ATTRIBUTES``). A spec exists only as the result of
``mapping_from_row`` on the very row the router would read, so the tool cannot write a row the router skips, and
what it refuses is exactly what the router would skip. Files and ``--json`` use one set of field names for the
same attributes (``FIELDS``, ``CANARY_FIELDS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import MappingError
from ..lifecycle import format_instant, try_parse_instant
from ..mapping import Canary, OriginRules, mapping_from_row, normalize_key

FIELDS = (
    ("key", "hk"),
    ("domain", "dn"),
    ("path", "dp"),
    ("default", "is_default"),
    ("deprecatedAt", "deprecated_at"),
    ("sunsetAt", "sunset_at"),
    ("successor", "successor"),
    ("infoUrl", "info_url"),
)
"""File and JSON field name -> row attribute. The canary's three attributes nest under ``canary``."""
CANARY_FIELDS = (("domain", "canary_dn"), ("path", "canary_dp"), ("percent", "canary_percent"))
LIFECYCLE_ATTRIBUTES = ("deprecated_at", "sunset_at", "successor", "info_url")
"""What ``put --no-deprecation`` clears."""
CANARY_ATTRIBUTES = tuple(attribute for _field, attribute in CANARY_FIELDS)
"""What ``put --no-canary`` clears."""


def percent_number(basis_points: int) -> float:
    """A canary share as the number stored in ``canary_percent``: ``10`` for 10 %, ``12.5`` for 12.5 %."""
    return basis_points // 100 if basis_points % 100 == 0 else basis_points / 100


def canonical_instant(text: str | None) -> str | None:
    """A stored instant in the canonical form, so rows written by hand (``2026-06-01``) compare equal to the
    tool's (``2026-06-01T00:00:00Z``); text that is not an instant is kept as it is (the router skips that row)."""
    if not text:
        return None
    seconds = try_parse_instant(text)
    return text if seconds is None else format_instant(seconds)


def _instant(seconds: int | None) -> str | None:
    return None if seconds is None else format_instant(seconds)


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """A validated mapping to write: the normalised key, the origin and lifecycle as the router will read them."""

    key: str
    domain: str
    path: str = ""
    is_default: bool = False
    deprecated_at: int | None = None
    sunset_at: int | None = None
    successor: str | None = None
    info_url: str | None = None
    canary: Canary | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], rules: OriginRules) -> MappingSpec:
        """Validate the row the router would read (``MappingError`` names the rule it breaks).

        The domain is kept as the origin's host (with ``:port`` only for local loopback origins), lowercased.
        """
        mapping = mapping_from_row(row, rules)
        return cls(
            key=mapping.key,
            domain=mapping.origin.host_header,
            path=mapping.origin.path,
            is_default=mapping.is_default,
            deprecated_at=mapping.deprecated_at,
            sunset_at=mapping.sunset_at,
            successor=mapping.successor,
            info_url=mapping.info_url,
            canary=mapping.canary,
        )

    @property
    def target(self) -> str:
        return self.domain + self.path

    def attributes(self) -> dict[str, Any]:
        """The row as the tool writes it (``None``: the attribute is absent) and the router reads it back."""
        canary = self.canary
        return {
            "hk": self.key,
            "dn": self.domain,
            "dp": self.path or None,
            "is_default": True if self.is_default else None,
            "deprecated_at": _instant(self.deprecated_at),
            "sunset_at": _instant(self.sunset_at),
            "successor": self.successor,
            "info_url": self.info_url,
            "canary_dn": canary.origin.host_header if canary else None,
            "canary_dp": (canary.origin.path or None) if canary else None,
            "canary_percent": percent_number(canary.basis_points) if canary else None,
        }


@dataclass(frozen=True, slots=True)
class MappingRow:
    """One stored row, as written (``key`` is the stored ``hk``, which rows from the sample may not normalise to).

    ``unreadable`` says why a row could not be read through the model at all (an attribute of the wrong DynamoDB
    type); the router skips such a row, and the tool shows it so that it can be fixed or deleted.
    """

    key: str
    domain: str
    path: str = ""
    is_default: bool = False
    deprecated_at: str | None = None
    sunset_at: str | None = None
    successor: str | None = None
    info_url: str | None = None
    canary_domain: str | None = None
    canary_path: str | None = None
    canary_percent: float | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    revision: int | None = None
    unreadable: str | None = None

    @property
    def normalized_key(self) -> str:
        return normalize_key(self.key)

    @property
    def target(self) -> str:
        return self.domain + self.path

    def attributes(self) -> dict[str, Any]:
        """The router's attributes of this row, in the form ``MappingSpec.attributes`` writes them."""
        return {
            "hk": self.key,
            "dn": self.domain,
            "dp": self.path or None,
            "is_default": True if self.is_default else None,
            "deprecated_at": self.deprecated_at or None,
            "sunset_at": self.sunset_at or None,
            "successor": self.successor or None,
            "info_url": self.info_url or None,
            "canary_dn": self.canary_domain or None,
            "canary_dp": self.canary_path or None,
            "canary_percent": self.canary_percent,
        }

    def problem(self, rules: OriginRules) -> str | None:
        """Why the router skips this row, or ``None`` when it routes."""
        if self.unreadable is not None:
            return self.unreadable
        try:
            mapping_from_row(self.attributes(), rules)
        except MappingError as error:
            return error.message
        return None

    def same_mapping(self, spec: MappingSpec) -> bool:
        """True when writing ``spec`` would change nothing the router reads."""
        mine, theirs = self.attributes(), spec.attributes()
        return self.unreadable is None and all(mine[name] == theirs[name] for name in mine if name != "hk")

    def as_json(self, rules: OriginRules | None = None) -> dict[str, Any]:
        """Every field (``None`` when absent), the bookkeeping, and with ``rules`` why the router skips it."""
        entry = entry_from_attributes(self.attributes(), complete=True)
        entry.update(
            updatedBy=self.updated_by,
            updatedAt=self.updated_at.isoformat() if self.updated_at else None,
            revision=self.revision,
        )
        if rules is not None:
            entry["skipped"] = self.problem(rules)
        return entry


def put_attributes(
    existing: MappingRow | None, key: str, given: Mapping[str, Any], *, clear: Iterable[str] = ()
) -> dict[str, Any]:
    """The row the router will read after ``put``: the stored row's attributes, then what was given (``None``:
    not given, keep; ``""``: clear), then the attributes named in ``clear`` removed."""
    row = existing.attributes() if existing is not None else {}
    row["hk"] = key
    row.update((name, value) for name, value in given.items() if value is not None)
    row.update(dict.fromkeys(clear))
    return row


def entry_from_attributes(attributes: Mapping[str, Any], *, complete: bool = False) -> dict[str, Any]:
    """A file or JSON entry for row attributes: only what is set (``export``), or every field (``complete``)."""
    values: dict[str, Any] = {name: attributes.get(attribute) for name, attribute in FIELDS}
    values["default"] = bool(values["default"])
    values["path"] = values["path"] or ""
    canary = {name: attributes.get(attribute) for name, attribute in CANARY_FIELDS}
    canary["path"] = canary["path"] or ""
    values["canary"] = canary if canary["domain"] is not None or canary["percent"] is not None else None
    if complete:
        return values
    if not canary["path"]:
        del canary["path"]
    return {name: value for name, value in values.items() if value is not None and value not in ("", False)}
