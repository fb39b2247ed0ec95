"""The local CloudFront's cache: TTL precedence, the cache key of the template's policy, the bounded store."""

from __future__ import annotations

import pytest

from edge_router.lifecycle import http_date
from edge_router.local.apigateway import load_template
from edge_router.local.distribution import Distribution, association_handlers, cache_policy, parameter_values
from edge_router.local.edge_cache import ERROR_CACHING_MIN_TTL, CachePolicy, EdgeCache, NameFilter, edge_ttl
from edge_router.local.stack import DEFAULT_TEMPLATE
from tests.helpers import FakeClock

NOW = 1_780_000_000.0
POLICY = CachePolicy(default_ttl=30, min_ttl=0, max_ttl=600)


@pytest.mark.parametrize(
    ("status", "cache_control", "expires", "ttl"),
    [
        (200, None, None, 30),  # neither header: the default TTL
        (200, "max-age=100", None, 100),
        (200, "max-age=100, s-maxage=50", None, 50),  # s-maxage wins over max-age
        (200, "max-age=100", http_date(int(NOW) + 300), 100),  # max-age wins over Expires
        (200, None, http_date(int(NOW) + 300), 300),
        (200, None, "not a date", 0),  # an invalid Expires is already expired
        (200, None, http_date(int(NOW) - 10), 0),
        (200, "max-age=100000", None, 600),  # capped at the maximum TTL
        (200, "s-maxage=100000", None, 600),
        (200, "no-store", None, 0),
        (200, "no-cache", None, 0),
        (200, "private, max-age=60", None, 0),
        (200, "public", None, 30),  # no lifetime: the default TTL
        (200, "max-age=abc", None, 0),  # an invalid delta-seconds counts as 0
        (301, "max-age=60", None, 60),
        (307, None, None, 0),  # 307 and 308 are cached only with Cache-Control
        (307, "max-age=60", None, 60),
        (206, "max-age=60", None, 0),
        (304, "max-age=60", None, 0),
        (404, None, None, ERROR_CACHING_MIN_TTL),  # cached errors: the Error Caching Minimum TTL
        (404, "no-store", None, 0),  # ... which 404 gives up for no-store
        (404, "max-age=120", None, 120),
        (503, "no-store", None, ERROR_CACHING_MIN_TTL),  # 5xx: no-store is ignored
        (403, None, None, 0),  # 403 only with a max-age
        (403, "max-age=5", None, ERROR_CACHING_MIN_TTL),
        (410, "max-age=60", None, 0),
    ],
)
def test_origin_ttl(status: int, cache_control: str | None, expires: str | None, ttl: int) -> None:
    assert edge_ttl(POLICY, status, cache_control, expires, now=NOW) == ttl


def test_a_minimum_ttl_overrides_no_store_and_short_lifetimes() -> None:
    policy = CachePolicy(default_ttl=30, min_ttl=20, max_ttl=600)
    assert edge_ttl(policy, 200, "no-store", None, now=NOW) == 20
    assert edge_ttl(policy, 200, "max-age=5", None, now=NOW) == 20


def test_generated_responses_follow_their_own_cache_control() -> None:
    assert edge_ttl(POLICY, 403, "no-store", None, now=NOW, from_origin=False) == 0
    assert edge_ttl(POLICY, 403, "max-age=5", None, now=NOW, from_origin=False) == 5
    assert edge_ttl(POLICY, 410, None, None, now=NOW, from_origin=False) == 30


def test_the_key_has_path_query_and_version_headers_only() -> None:
    policy = CachePolicy(headers=("accept", "apiver"))
    base = [("Accept", "a/b"), ("User-Agent", "x")]
    key = policy.key("GET", "/hello", "a=1&b=2", base)
    assert key == policy.key("GET", "/hello", "a=1&b=2", [("accept", "a/b"), ("User-Agent", "other")])
    assert key == policy.key("HEAD", "/hello", "a=1&b=2", base)  # HEAD is answered from the GET's entry
    assert key != policy.key("GET", "/hello", "b=2&a=1", base)  # query order counts
    assert key != policy.key("GET", "/other", "a=1&b=2", base)
    assert key != policy.key("GET", "/hello", "a=1&b=2", [("Accept", "a/c")])
    assert key != policy.key("GET", "/hello", "a=1&b=2", [*base, ("APIVER", "v1")])
    assert policy.key("POST", "/hello", "", base) is None  # only GET and HEAD are cached
    assert policy.key("OPTIONS", "/hello", "", base) is None


def test_query_cookie_and_encoding_rules() -> None:
    policy = CachePolicy(query_strings=NameFilter("whitelist", frozenset({"a"})), gzip=True, brotli=True)
    assert policy.key("GET", "/", "a=1&b=2", []) == policy.key("GET", "/", "b=9&a=1", [])
    assert policy.key("GET", "/", "", [("Cookie", "s=1")]) == policy.key("GET", "/", "", [])  # cookies: none
    assert policy.normalized_encoding(["gzip, deflate, br"]) == "br,gzip"
    assert policy.normalized_encoding(["gzip;q=0, br"]) == "br"
    assert policy.normalized_encoding(["identity"]) is None
    assert CachePolicy(gzip=True).normalized_encoding(["br, gzip"]) == "gzip"


def test_the_templates_policy_and_associations() -> None:
    template = load_template(DEFAULT_TEMPLATE)
    policy = cache_policy(template, parameter_values(template, {"ApiVersionHeaderName": "APIVER,Accept"}))
    assert policy.headers == ("accept", "apiver")
    assert (policy.default_ttl, policy.min_ttl, policy.max_ttl) == (0, 0, 86_400)
    assert policy.query_strings.behavior == "all"
    assert policy.cookies.behavior == "none"
    assert policy.gzip and policy.brotli
    assert association_handlers(template) == {
        "origin-request": "edge_router.handler.lambda_handler",
        "origin-response": "edge_router.response.lambda_handler",
    }
    distribution = Distribution.from_template(template, {"CacheDefaultTTL": 7, "CacheMaxTTL": 70})
    assert (distribution.policy.default_ttl, distribution.policy.max_ttl) == (7, 70)
    from edge_router import handler, response

    assert distribution.handlers == {
        "origin-request": handler.lambda_handler,
        "origin-response": response.lambda_handler,
    }


def test_store_expires_entries_and_reports_age() -> None:
    clock = FakeClock(100.0)
    cache = EdgeCache(clock=clock)
    assert cache.put(("k",), status=200, reason="OK", headers=[("A", "1")], body=b"x", ttl=10)
    clock.now = 105.4
    found = cache.get(("k",))
    assert found is not None
    assert found[1] == 5
    clock.now = 110.0
    assert cache.get(("k",)) is None
    assert len(cache) == 0
    assert not cache.put(("k",), status=200, reason="OK", headers=[], body=b"x", ttl=0)


def test_store_is_bounded_in_entries_and_bytes() -> None:
    cache = EdgeCache(max_entries=3, max_bytes=10_000, max_entry_bytes=2_000)
    for index in range(5):
        cache.put((index,), status=200, reason="OK", headers=[], body=b"x" * 100, ttl=60)
    assert len(cache) == 3
    assert cache.get((0,)) is None and cache.get((4,)) is not None  # least recently used went first
    assert not cache.put(("big",), status=200, reason="OK", headers=[], body=b"x" * 5_000, ttl=60)
    for index in range(20):
        cache.put(("b", index), status=200, reason="OK", headers=[], body=b"x" * 1_500, ttl=60)
    assert cache.size_bytes <= 10_000
