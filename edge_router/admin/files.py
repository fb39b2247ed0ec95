"""Export and import files: ``{"mappings": [{"key", "domain", "path", "default"}, ...]}`` in YAML or JSON.

``yaml.safe_load`` and ``json.loads`` silently keep the last of two equal keys, which would hide a typo such as
two ``domain:`` lines; both parsers here refuse duplicate keys instead. Entries are validated with the router's
rules, and two entries whose keys normalise to the same value are refused (the router would skip one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..errors import MappingError
from ..mapping import OriginRules
from .errors import AdminError
from .rows import MappingRow, MappingSpec

FORMATS = ("yaml", "json")
_ENTRY_FIELDS = frozenset({"key", "domain", "path", "default"})


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a mapping with the same key twice."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise AdminError(f"duplicate key {key!r} on line {line}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise AdminError(f"duplicate key {key!r}")
        result[key] = value
    return result


def format_for(name: str | None, requested: str | None = None) -> str:
    """The file format: as requested, else from the extension (``.json``), else YAML."""
    if requested:
        return requested
    return "json" if name and name.lower().endswith(".json") else "yaml"


def parse_document(text: str, file_format: str) -> Any:
    """Parse YAML or JSON text, refusing duplicate keys; ``AdminError`` with the parser's reason."""
    try:
        if file_format == "json":
            return json.loads(text, object_pairs_hook=_unique_pairs)
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except (ValueError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())
        raise AdminError(f"not valid {file_format.upper()}: {reason}") from None


def _entry(index: int, raw: Any, rules: OriginRules) -> MappingSpec:
    if not isinstance(raw, dict):
        raise AdminError(f"mappings[{index}] must be an object with key, domain and optional path")
    unknown = sorted(str(name) for name in raw if name not in _ENTRY_FIELDS)
    if unknown:
        raise AdminError(
            f"mappings[{index}] has unknown field(s) {', '.join(unknown)} (allowed: key, domain, path, default)"
        )
    is_default = raw.get("default", False)
    if not isinstance(is_default, bool):
        raise AdminError(f"mappings[{index}].default must be true or false")
    try:
        return MappingSpec.validated(raw.get("key"), raw.get("domain"), raw.get("path"), rules, is_default=is_default)
    except MappingError as error:
        raise AdminError(f"mappings[{index}] ({raw.get('key')!r}): {error.message}") from None


def specs_from_document(document: Any, rules: OriginRules) -> list[MappingSpec]:
    """Validate a parsed document into mapping specs; ``AdminError`` names the first bad entry."""
    if not isinstance(document, dict) or set(document) != {"mappings"} or not isinstance(document["mappings"], list):
        raise AdminError('the file must hold one top-level "mappings" list')
    specs: list[MappingSpec] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(document["mappings"]):
        spec = _entry(index, raw, rules)
        if spec.key in first_index:
            raise AdminError(
                f"mappings[{index}]: duplicate key {spec.key!r} (same as mappings[{first_index[spec.key]}])"
            )
        first_index[spec.key] = index
        specs.append(spec)
    return specs


def read_specs(
    path: str, rules: OriginRules, file_format: str | None = None, stdin_text: str | None = None
) -> list[MappingSpec]:
    """Read and validate an import file (``-``: the given standard input text)."""
    if path == "-":
        text = stdin_text or ""
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise AdminError(f"cannot read {path}: {reason}") from None
    try:
        return specs_from_document(parse_document(text, format_for(path, file_format)), rules)
    except AdminError as error:
        raise AdminError(f"{path}: {error.message}") from None


def export_document(rows: Iterable[MappingRow]) -> dict[str, Any]:
    """The export shape: what ``specs_from_document`` reads back (``path`` and ``default`` only when set)."""
    entries: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: r.key):
        entry: dict[str, Any] = {"key": row.key, "domain": row.domain}
        if row.path:
            entry["path"] = row.path
        if row.is_default:
            entry["default"] = True
        entries.append(entry)
    return {"mappings": entries}


def dump_document(document: dict[str, Any], file_format: str) -> str:
    if file_format == "json":
        return json.dumps(document, indent=2) + "\n"
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
