"""What the admin tool reads from the table (``MappingRow``) and what an admin asks to write (``MappingSpec``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..mapping import OriginRules, normalize_key, validate_key, validate_origin


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """A validated mapping to write: the normalised key, and the origin as the router will read it back."""

    key: str
    domain: str
    path: str = ""
    is_default: bool = False

    @classmethod
    def validated(
        cls, key: Any, domain: Any, path: Any, rules: OriginRules, *, is_default: bool = False
    ) -> MappingSpec:
        """Apply the router's own rules (``MappingError`` on any break), so nothing it would skip gets written.

        The domain is stored as the origin's host (with ``:port`` only for local loopback origins), lowercased.
        """
        origin = validate_origin(domain, path, rules)
        return cls(validate_key(key), origin.host_header, origin.path, is_default)

    @property
    def target(self) -> str:
        return self.domain + self.path


@dataclass(frozen=True, slots=True)
class MappingRow:
    """One stored row, as written (``key`` is the stored ``hk``, which rows from the sample may not normalise to)."""

    key: str
    domain: str
    path: str = ""
    is_default: bool = False
    updated_by: str | None = None
    updated_at: datetime | None = None
    revision: int | None = None

    @property
    def normalized_key(self) -> str:
        return normalize_key(self.key)

    @property
    def target(self) -> str:
        return self.domain + self.path

    def same_mapping(self, spec: MappingSpec) -> bool:
        """True when writing ``spec`` would change nothing the router reads."""
        return (self.domain, self.path, self.is_default) == (spec.domain, spec.path, spec.is_default)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "domain": self.domain,
            "path": self.path,
            "default": self.is_default,
            "updatedBy": self.updated_by,
            "updatedAt": self.updated_at.isoformat() if self.updated_at else None,
            "revision": self.revision,
        }
