"""Import/export files: shape, validation, duplicate keys in YAML and JSON, round trip. No network."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_router.admin.errors import AdminError
from edge_router.admin.files import dump_document, export_document, parse_document, read_specs, specs_from_document
from edge_router.admin.rows import MappingRow, MappingSpec
from edge_router.mapping import OriginRules

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


@pytest.mark.parametrize("file_format", ["yaml", "json"])
def test_export_reads_back_losslessly(file_format: str) -> None:
    rows = [
        MappingRow("v2", API, "/Prod/v2", is_default=True, updated_by="alice", revision=3),
        MappingRow("application/vnd.example.v1+json", API),
    ]
    text = dump_document(export_document(rows), file_format)
    specs = specs_from_document(parse_document(text, file_format), RULES)
    assert specs == [
        MappingSpec("application/vnd.example.v1+json", API, ""),
        MappingSpec("v2", API, "/Prod/v2", is_default=True),
    ]


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
