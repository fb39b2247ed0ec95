"""Mapping rules: key normalisation, the origin allowlist, path shape, local origins."""

from __future__ import annotations

import pytest

from edge_router.errors import MappingError
from edge_router.mapping import (
    Origin,
    OriginRules,
    SuffixPattern,
    mapping_from_row,
    normalize_key,
    parse_suffixes,
    validate_key,
    validate_origin,
)

API = "abc123.execute-api.us-east-1.amazonaws.com"
DEFAULT = OriginRules()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("application/vnd.example.v1+json", "application/vnd.example.v1+json"),
        (" Application/Vnd.Example.V1+JSON ", "application/vnd.example.v1+json"),
        ("application/vnd.example+json; version=2", "application/vnd.example+json;version=2"),
        ("V1", "v1"),
        ("2024-09-30", "2024-09-30"),
    ],
)
def test_valid_keys_normalise(raw: str, expected: str) -> None:
    assert validate_key(raw) == expected
    assert normalize_key(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", None, 5, "v 1", "v1,v2", "a/*", "*/*", "a/b;q=1", "a/b;x=1;y=2", "x" * 300, 'a/b;x="1,2"'],
)
def test_invalid_keys_are_refused(raw: object) -> None:
    with pytest.raises(MappingError):
        validate_key(raw)


@pytest.mark.parametrize(
    ("domain", "path", "expected"),
    [
        (API, "/Prod/v1", Origin(API, "/Prod/v1")),
        (API.upper() + ".", "", Origin(API, "")),
        (API, None, Origin(API, "")),
        (API, "/Prod/%7Euser/a-b_c.d", Origin(API, "/Prod/%7Euser/a-b_c.d")),
    ],
)
def test_valid_origins(domain: str, path: str | None, expected: Origin) -> None:
    assert validate_origin(domain, path, DEFAULT) == expected


@pytest.mark.parametrize(
    ("domain", "path"),
    [
        ("evil.example.com", ""),  # outside the allowlist
        ("execute-api.us-east-1.amazonaws.com.evil.com", ""),
        ("abc.execute-api.us-east-1.amazonaws.com:8443", ""),  # port
        ("10.0.0.1", ""),
        ("::1", ""),
        ("127.0.0.1:3000", "/Prod/v1"),  # local origins only in local mode
        ("", ""),
        (None, ""),
        ("bad_label.execute-api.us-east-1.amazonaws.com", ""),
        ("a" * 64 + ".execute-api.us-east-1.amazonaws.com", ""),
        (API, "/Prod/v1/"),
        (API, "Prod/v1"),
        (API, "/Prod/v 1"),
        (API, "/Prod/../admin"),
        (API, "/" + "a" * 255),
        (API, 7),
    ],
)
def test_invalid_origins_are_refused(domain: object, path: object) -> None:
    with pytest.raises(MappingError):
        validate_origin(domain, path, DEFAULT)


def test_local_origins_only_in_local_mode() -> None:
    local = OriginRules(allow_local=True)
    assert validate_origin("127.0.0.1:3000", "/Prod/v1", local) == Origin("127.0.0.1", "/Prod/v1", 3000, "http")
    assert validate_origin("localhost:3000", "", local).host_header == "localhost:3000"
    with pytest.raises(MappingError):
        validate_origin("192.168.1.10:3000", "", local)  # not loopback
    assert validate_origin(API, "", local).protocol == "https"


def test_suffix_patterns() -> None:
    custom = OriginRules(allowed_suffixes=parse_suffixes(["api.example.com", "*.execute-api.*.amazonaws.com"]))
    assert validate_origin("eu.api.example.com", "", custom).domain == "eu.api.example.com"
    assert validate_origin("api.example.com", "", custom).domain == "api.example.com"
    with pytest.raises(MappingError):
        validate_origin("notapi.example.com", "", custom)
    for bad in ("*", "*.*", "bad_label.com", ""):
        with pytest.raises(ValueError):
            SuffixPattern.parse(bad)
    with pytest.raises(ValueError):
        parse_suffixes([" ", ""])


def test_row_errors_name_the_row() -> None:
    with pytest.raises(MappingError, match="row 'v9'"):
        mapping_from_row({"hk": "v9", "dn": "evil.com"}, DEFAULT)
    mapping = mapping_from_row({"hk": "V1", "dn": API, "dp": "/Prod/v1"}, DEFAULT)
    assert (mapping.key, mapping.stored_key, mapping.origin.path) == ("v1", "V1", "/Prod/v1")
