"""Export and import files: ``{"mappings": [{"key", "domain", "path", "default", ...}, ...]}`` in YAML or JSON.

An entry has ``key`` and ``domain``, and optionally ``path``, ``default``, ``deprecatedAt``, ``sunsetAt``,
``successor``, ``infoUrl`` and ``canary: {domain, path, percent}`` (``rows.FIELDS``). ``yaml.safe_load`` and
``json.loads`` silently keep the last of two equal keys, which would hide a typo such as two ``domain:`` lines;
both parsers here refuse duplicate keys instead. YAML dates stay text (``2026-06-01`` is an instant or a date
version, not a ``datetime``), and a document nested too deeply for the parser is one error, not a crash. Entries
are validated with the router's rules, and two entries whose keys normalise to the same value are refused (the
router would skip one).
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
from .rows import CANARY_FIELDS, FIELDS, MappingRow, MappingSpec, entry_from_attributes

FORMATS = ("yaml", "json")
_ENTRY_FIELDS = dict(FIELDS)
_ENTRY_CANARY_FIELDS = dict(CANARY_FIELDS)
_SCALARS = (str, bool, int, float)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a mapping with the same key twice and leaves dates as text."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, list | dict):
            break  # unhashable: construct_mapping refuses it with the parser's own message
        if key in seen:
            line = key_node.start_mark.line + 1
            raise AdminError(f"duplicate key {key!r} on line {line}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
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
    except RecursionError:
        raise AdminError(f"not a mapping file: the {file_format.upper()} is nested too deeply to read") from None


def _scalar(where: str, name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, _SCALARS):
        raise AdminError(f"{where}.{name} must be a single value, not a {type(value).__name__}")
    return value


def _row(where: str, raw: Any) -> dict[str, Any]:
    """The table row an entry describes (``mapping.ROW_ATTRIBUTES``), with the file's shape checked."""
    if not isinstance(raw, dict):
        raise AdminError(f"{where} must be an object with key, domain and optional fields")
    unknown = sorted(str(name) for name in raw if name not in _ENTRY_FIELDS and name != "canary")
    if unknown:
        allowed = ", ".join([*_ENTRY_FIELDS, "canary"])
        raise AdminError(f"{where} has unknown field(s) {', '.join(unknown)} (allowed: {allowed})")
    if not isinstance(raw.get("key"), str):
        raise AdminError(f"{where}.key must be text (quote values such as 2, 1.0 or yes)")
    if raw.get("default") is not None and not isinstance(raw["default"], bool):
        raise AdminError(f"{where}.default must be true or false")
    row = {attribute: _scalar(where, name, raw.get(name)) for name, attribute in _ENTRY_FIELDS.items()}
    canary = raw.get("canary")
    if canary is not None:
        if not isinstance(canary, dict):
            raise AdminError(f"{where}.canary must be an object with domain, percent and optional path")
        unknown = sorted(str(name) for name in canary if name not in _ENTRY_CANARY_FIELDS)
        if unknown:
            allowed = ", ".join(_ENTRY_CANARY_FIELDS)
            raise AdminError(f"{where}.canary has unknown field(s) {', '.join(unknown)} (allowed: {allowed})")
        row.update(
            (attribute, _scalar(f"{where}.canary", name, canary.get(name)))
            for name, attribute in _ENTRY_CANARY_FIELDS.items()
        )
    return row


def _entry(index: int, raw: Any, rules: OriginRules) -> MappingSpec:
    where = f"mappings[{index}]"
    row = _row(where, raw)
    try:
        return MappingSpec.from_row(row, rules)
    except MappingError as error:
        raise AdminError(f"{where}: {error.message}") from None


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
    """The export shape: what ``specs_from_document`` reads back (optional fields only when set)."""
    return {"mappings": [entry_from_attributes(row.attributes()) for row in sorted(rows, key=lambda r: r.key)]}


def dump_document(document: dict[str, Any], file_format: str) -> str:
    if file_format == "json":
        return json.dumps(document, indent=2) + "\n"
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
