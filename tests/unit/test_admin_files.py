"""Import/export files: shape, every field, validation, duplicate keys in YAML and JSON, hostile nesting, round
trip. No network."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from edge_router.admin.errors import AdminError
from edge_router.admin.files import dump_document, export_document, parse_document, read_specs, specs_from_document
from edge_router.admin.rows import MappingRow, MappingSpec
from edge_router.lifecycle import parse_instant
from edge_router.mapping import Canary, Origin, OriginRules

RULES = OriginRules()
API = "abc123.execute-api.us-east-1.amazonaws.com"


def test_specs_are_validated_and_normalised() -> None:
    document = {"mappings": [{"key": " Application/Vnd.Example.V1+JSON ", "domain": API.upper(), "path": "/Prod"}]}
    assert specs_from_document(document, RULES) == [MappingSpec("application/vnd.example.v1+json", API, "/Prod")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mappings:\n- key: v1\n  domain: a.example.com\n  domain: " + API + "\n", "duplicate key 'domain' on line 4"),
        ("mappings: []\nmappings: []\n", "duplicate key 'mappings' on line 2"),
        ("mappings:\n- {key: v1, domain: " + API + "}\n- {key: V1, domain: " + API + "}\n", "duplicate key 'v1'"),
        ("mappings:\n- key: v1\n  domian: " + API + "\n", "unknown field(s) domian"),
        ("mappings:\n- key: v1\n  domain: evil.example.com\n", "outside the allowed origin suffixes"),
        ("mappings:\n- key: v1\n  domain: " + API + "\n  path: Prod/\n", "must start with '/'"),
        ("mappings:\n- key: v1\n  domain: " + API + "\n  default: yes please\n", "default must be true or false"),
        ("mappings:\n- key: 2\n  domain: " + API + "\n", "mappings[0].key must be text (quote values"),
        ("mappings:\n- key: yes\n  domain: " + API + "\n", "mappings[0].key must be text"),
        ("mappings:\n- key: v1\n  domain: [" + API + "]\n", "mappings[0].domain must be a single value, not a list"),
        ("mappings:\n- key: v1\n  domain: " + API + "\n  canary: 10\n", "canary must be an object"),
        (
            "mappings:\n- {key: v1, domain: " + API + ", canary: {domain: " + API + ", weight: 5}}\n",
            "canary has unknown field(s) weight (allowed: domain, path, percent)",
        ),
        ("mappings:\n- {key: v1, domain: " + API + ", canary: {percent: 5}}\n", "a canary needs both"),
        ("mappings:\n- {key: v1, domain: " + API + ", sunsetAt: 2026-06-01T12:00:00+02:00}\n", "has a UTC offset"),
        ("mappings:\n- {key: v1, domain: " + API + ", deprecatedAt: 2026-13-01}\n", "is not a valid date"),
        (
            "mappings:\n- {key: v1, domain: " + API + ", deprecatedAt: 2026-06-01, sunsetAt: 2026-01-01}\n",
            "sunset_at must come after deprecated_at",
        ),
        ("mappings:\n- {key: v1, domain: " + API + ", infoUrl: 'javascript:alert(1)'}\n", "absolute http(s) URL"),
        ("- key: v1\n", 'one top-level "mappings" list'),
        ("mappings: [\n", "not valid YAML"),
    ],
)
def test_bad_yaml_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(AdminError) as caught:
        specs_from_document(parse_document(text, "yaml"), RULES)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"mappings": [{"key": "v1", "domain": "' + API + '", "key": "v2"}]}', "duplicate key 'key'"),
        ('{"mappings": [], "mappings": []}', "duplicate key 'mappings'"),
        ('{"mappings": [{"key": "v1", "domain": "' + API + '"}, {"key": "v1", "domain": "' + API + '"}]}', "'v1'"),
        ('{"mappings": [', "not valid JSON"),
    ],
)
def test_bad_json_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(AdminError) as caught:
        specs_from_document(parse_document(text, "json"), RULES)
    assert message in caught.value.message


CANARY = "def456.execute-api.us-east-1.amazonaws.com"
EVERY_FIELD = """mappings:
- key: 2025-03-01
  domain: abc123.execute-api.us-east-1.amazonaws.com
  path: /Prod/v1
  deprecatedAt: 2026-06-01
  sunsetAt: 2026-12-01T12:30
  successor: v2
  infoUrl: https://example.com/2025-03-01
- key: v2
  domain: abc123.execute-api.us-east-1.amazonaws.com
  default: true
  canary:
    domain: def456.execute-api.us-east-1.amazonaws.com
    path: /Canary
    percent: 12.5
"""

DATED = MappingSpec(
    "2025-03-01",
    API,
    "/Prod/v1",
    deprecated_at=parse_instant("2026-06-01"),
    sunset_at=parse_instant("2026-12-01T12:30"),
    successor="v2",
    info_url="https://example.com/2025-03-01",
)


def test_every_field_is_read_and_yaml_dates_stay_text() -> None:
    assert specs_from_document(parse_document(EVERY_FIELD, "yaml"), RULES) == [
        DATED,
        MappingSpec("v2", API, is_default=True, canary=Canary(Origin(CANARY, "/Canary"), 1250)),
    ]


@pytest.mark.parametrize("file_format", ["yaml", "json"])
def test_export_reads_back_losslessly(file_format: str) -> None:
    rows = [
        MappingRow("v2", API, "/Prod/v2", is_default=True, updated_by="alice", revision=3),
        MappingRow("application/vnd.example.v1+json", API),
        MappingRow(
            "2025-03-01",
            API,
            "/Prod/v1",
            deprecated_at="2026-06-01T00:00:00Z",
            sunset_at="2026-12-01T12:30:00Z",
            successor="v2",
            info_url="https://example.com/2025-03-01",
            canary_domain=CANARY,
            canary_percent=0.25,
        ),
    ]
    text = dump_document(export_document(rows), file_format)
    specs = specs_from_document(parse_document(text, file_format), RULES)
    assert specs == [
        dataclasses.replace(DATED, canary=Canary(Origin(CANARY), 25)),
        MappingSpec("application/vnd.example.v1+json", API, ""),
        MappingSpec("v2", API, "/Prod/v2", is_default=True),
    ]
    assert all(row.same_mapping(spec) for row, spec in zip(sorted(rows, key=lambda r: r.key), specs, strict=True))


@pytest.mark.parametrize(
    ("text", "file_format"),
    [("[" * 100_000 + "]" * 100_000, "json"), ("mappings: " + "[" * 10_000 + "]" * 10_000, "yaml"),
     ("mappings:\n" + "".join("  " * depth + "- \n" for depth in range(10_000)), "yaml")],
)  # fmt: skip
def test_hostile_nesting_is_one_error(text: str, file_format: str) -> None:
    with pytest.raises(AdminError, match="nested too deeply to read"):
        specs_from_document(parse_document(text, file_format), RULES)


def test_yaml_aliases_cannot_blow_up_messages() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}]" for n in range(1, 12)]
    text = "\n".join(["anchors:", *("  " + level for level in levels)]) + "\n"
    document = parse_document(text + "mappings:\n- {key: *a11, domain: " + API + "}\n", "yaml")
    started = time.monotonic()
    with pytest.raises(AdminError, match="the file must hold one top-level"):
        specs_from_document(document, RULES)
    del document["anchors"]
    with pytest.raises(AdminError, match="key must be text"):
        specs_from_document(document, RULES)
    assert time.monotonic() - started < 1


def test_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AdminError, match=r"cannot read .*missing\.yaml: No such file"):
        read_specs(str(tmp_path / "missing.yaml"), RULES)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(AdminError, match="cannot read"):
        read_specs(str(tmp_path / "binary.yaml"), RULES)


def test_json_by_extension_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"mappings": [{"key": "v1", "domain": "' + API + '"}]}')
    assert read_specs(str(path), RULES) == [MappingSpec("v1", API)]
    assert read_specs("-", RULES, stdin_text="mappings: [{key: v1, domain: " + API + "}]") == [MappingSpec("v1", API)]
