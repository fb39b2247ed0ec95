"""Configuration from origin custom headers: defaults, strict validation, memoisation."""

from __future__ import annotations

import pytest

from edge_router import config
from edge_router.config import build_config, config_from_custom_headers, custom_headers_for
from edge_router.errors import ConfigError

BASE = {config.TABLE_NAME: "ApiVersionMapping"}


def test_sample_settings_keep_working() -> None:
    cfg = build_config({config.HEADER_NAME: "APIVER", config.TABLE_NAME: "tbl"})
    assert cfg.version_headers == ("apiver",)
    assert cfg.table_name == "tbl"
    assert cfg.regions == ("us-east-1",)
    assert cfg.cache_ttl == 300
    assert cfg.unknown_version_status == 403


def test_every_setting() -> None:
    cfg = build_config(
        {
            **BASE,
            config.HEADER_NAME: "APIVER, Accept, apiver",
            config.TABLE_REGIONS: "eu-west-1, us-east-1",
            config.CACHE_TTL: "60",
            config.MAX_STALE: "0",
            config.ALLOWED_ORIGIN_SUFFIXES: "api.example.com",
            config.UNKNOWN_VERSION_STATUS: "406",
            config.DEBUG_EVENTS: "true",
        }
    )
    assert cfg.version_headers == ("apiver", "accept")
    assert cfg.header_labels == ("APIVER", "Accept")
    assert cfg.regions == ("eu-west-1", "us-east-1")
    assert (cfg.cache_ttl, cfg.max_stale, cfg.unknown_version_status, cfg.debug_events) == (60, 0, 406, True)
    assert [str(p) for p in cfg.origin_rules.allowed_suffixes] == ["api.example.com"]


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({}, config.TABLE_NAME),
        ({config.TABLE_NAME: "x"}, config.TABLE_NAME),
        ({**BASE, config.HEADER_NAME: " , "}, config.HEADER_NAME),
        ({**BASE, config.HEADER_NAME: "Host"}, config.HEADER_NAME),
        ({**BASE, config.HEADER_NAME: "X-Edge-Version"}, config.HEADER_NAME),
        ({**BASE, config.HEADER_NAME: "bad header"}, config.HEADER_NAME),
        ({**BASE, config.TABLE_REGIONS: "mars-1"}, config.TABLE_REGIONS),
        ({**BASE, config.TABLE_REGIONS: ","}, config.TABLE_REGIONS),
        ({**BASE, config.CACHE_TTL: "soon"}, config.CACHE_TTL),
        ({**BASE, config.CACHE_TTL: "0"}, config.CACHE_TTL),
        ({**BASE, config.MAX_STALE: "-1"}, config.MAX_STALE),
        ({**BASE, config.ALLOWED_ORIGIN_SUFFIXES: "*"}, config.ALLOWED_ORIGIN_SUFFIXES),
        ({**BASE, config.UNKNOWN_VERSION_STATUS: "200"}, config.UNKNOWN_VERSION_STATUS),
        ({**BASE, config.UNKNOWN_VERSION_STATUS: "4o3"}, config.UNKNOWN_VERSION_STATUS),
        ({**BASE, config.DEBUG_EVENTS: "maybe"}, config.DEBUG_EVENTS),
        ({**BASE, "custom-apigw-tabel-name": "typo"}, "custom-apigw-tabel-name"),
    ],
)
def test_bad_settings_name_the_setting(settings: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(settings)
    assert caught.value.setting == setting
    assert setting in caught.value.message


def test_custom_headers_are_parsed_once_per_distinct_values() -> None:
    headers = custom_headers_for({config.TABLE_NAME: "memo-table", "X-Unrelated": "1"})
    first = config_from_custom_headers(headers)
    assert config_from_custom_headers(custom_headers_for({config.TABLE_NAME: "memo-table"})) is first
    assert config_from_custom_headers(custom_headers_for({config.TABLE_NAME: "other-table"})) is not first


@pytest.mark.parametrize("custom_headers", [None, [], {"custom-apigw-table-name": "not a list"}, {5: []}])
def test_malformed_custom_headers_are_a_config_error(custom_headers: object) -> None:
    with pytest.raises(ConfigError):
        config_from_custom_headers(custom_headers)


def test_lifecycle_canary_and_metrics_settings() -> None:
    cfg = build_config(
        {
            **BASE,
            config.CANARY_KEY: "X-Api-Key",
            config.HASH_KEY: "0123456789abcdef0123",
            config.METRICS_NAMESPACE: "EdgeRouter/prod-stack",
            config.EDGE_DEFAULT_TTL: "86400",
        }
    )
    assert cfg.canary_key == "x-api-key"
    assert cfg.hash_key == b"0123456789abcdef0123"
    assert cfg.metrics_namespace == "EdgeRouter/prod-stack"
    assert cfg.edge_default_ttl == 86400
    plain = build_config(BASE)
    assert (plain.canary_key, plain.metrics_namespace, plain.edge_default_ttl) == ("", "", 0)
    assert plain.hash_key == b"edge-router:ApiVersionMapping"  # derived, stable; the template passes a secret


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        (config.CANARY_KEY, "bad header"),
        (config.CANARY_KEY, "X-Edge-Key"),
        (config.HASH_KEY, "short"),
        (config.METRICS_NAMESPACE, "has space"),
        (config.EDGE_DEFAULT_TTL, "-1"),
        (config.EDGE_DEFAULT_TTL, "1e3"),
        (config.EDGE_DEFAULT_TTL, "99999999999"),
        (config.UNKNOWN_VERSION_STATUS, "٤٠٣"),
    ],
)
def test_new_settings_are_strict(setting: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({**BASE, setting: value})
    assert caught.value.setting == setting


@pytest.mark.parametrize("status", range(400, 500))
def test_every_4xx_status_is_accepted(status: int) -> None:
    assert build_config({**BASE, config.UNKNOWN_VERSION_STATUS: str(status)}).unknown_version_status == status
