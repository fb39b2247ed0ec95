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
    with pytest.raises(MappingError):
        validate_origin("localhost:\u00b2", "", local)  # a digit to str.isdigit, not to int()
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


@pytest.mark.parametrize(
    "raw",
    [
        'application/vnd.example+json; v="\r\nSet-Cookie: x=1"',
        "v1\r\nSet-Cookie: x=1",
        "v1\n",
        "v1\x00",
        "v\u00e9",
        'application/vnd.example+json; version="2 beta"',
        'application/vnd.example+json; version="a,b"',
        'application/vnd.example+json; version="a/b"',
    ],
)
def test_keys_that_could_break_a_header_or_never_match_are_refused(raw: str) -> None:
    with pytest.raises(MappingError):
        validate_key(raw)


def test_quoted_token_values_normalise_to_what_a_request_selects() -> None:
    assert validate_key('application/vnd.example+json; version="2"') == "application/vnd.example+json;version=2"


@pytest.mark.parametrize(
    "path",
    ["/Prod/%2e%2e/admin", "/Prod/%2E%2E", "/Prod/.%2e/x", "/Prod/%2e", "/Prod/%2F..%2Fadmin", "/Prod/a%5cb", "/P/%00"],
)
def test_percent_encoded_dot_segments_and_slashes_are_refused(path: str) -> None:
    with pytest.raises(MappingError):
        validate_origin(API, path, DEFAULT)


def test_encoded_characters_that_are_harmless_stay_allowed() -> None:
    assert validate_origin(API, "/Prod/%7Euser/a%2Eb", DEFAULT).path == "/Prod/%7Euser/a%2Eb"  # "a.b" is no segment


def test_a_domain_with_a_scheme_gets_an_error_that_says_so() -> None:
    with pytest.raises(MappingError, match="without a scheme"):
        validate_origin(f"https://{API}", "", DEFAULT)


def test_lifecycle_and_canary_attributes() -> None:
    mapping = mapping_from_row(
        {
            "hk": "v1",
            "dn": API,
            "is_default": True,
            "deprecated_at": "2026-01-01",
            "sunset_at": "2026-06-01T12:00:00Z",
            "successor": "V2",
            "info_url": "https://example.com/v1",
            "canary_dn": "canary.execute-api.eu-west-1.amazonaws.com",
            "canary_dp": "/Prod",
            "canary_percent": "12.5",
            "updated_at": "2026-01-01T00:00:00.000000+0000",
        },
        DEFAULT,
    )
    assert mapping.is_default and mapping.successor == "v2"
    assert (mapping.deprecated_at, mapping.sunset_at) == (1_767_225_600, 1_780_315_200)
    assert mapping.canary is not None and mapping.canary.basis_points == 1250
    assert mapping.canary.origin.domain == "canary.execute-api.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"is_default": "yes"}, "is_default must be a boolean"),
        ({"deprecated_at": "2026-06-01", "sunset_at": "2026-01-01"}, "sunset_at must come after"),
        ({"sunset_at": "2026-06-01T00:00+01:00"}, "UTC offset"),
        ({"deprecated_at": 5}, "ISO 8601 string"),
        ({"successor": "v1"}, "names the version itself"),
        ({"successor": "v 2"}, "successor"),
        ({"info_url": "javascript:alert(1)"}, "absolute http"),
        ({"info_url": "https://example.com/a b"}, "absolute http"),
        ({"info_url": "https://example.com/<x>"}, "absolute http"),
        ({"canary_dn": "evil.example.com", "canary_percent": 5}, "canary: domain"),
        ({"canary_dn": API}, "needs both"),
        ({"canary_percent": 5}, "needs both"),
        ({"canary_dp": "/x"}, "without canary_dn"),
        ({"canary_dn": API, "canary_percent": 101}, "from 0 to 100"),
        ({"canary_dn": API, "canary_percent": "nan"}, "from 0 to 100"),
        ({"canary_dn": API, "canary_percent": 1.234}, "more than two decimals"),
        ({"canary_dn": API, "canary_percent": True}, "from 0 to 100"),
    ],
)
def test_bad_lifecycle_and_canary_attributes_are_refused(extra: dict[str, object], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        mapping_from_row({"hk": "v1", "dn": API, **extra}, DEFAULT)
