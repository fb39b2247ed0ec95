"""The origin-response function: version headers, lifecycle headers, Vary and cache limits; never raises."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_router.context import ROUTE_HEADER, RouteContext, decode
from edge_router.lifecycle import http_date
from edge_router.response import handle, lambda_handler
from tests.conftest import load_event

NOW = 1_780_000_000
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"


def response_event(route: RouteContext | str | None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    event = load_event("origin-response")
    cf = event["Records"][0]["cf"]
    if route is not None:
        value = route if isinstance(route, str) else route.encode()
        cf["request"]["headers"][ROUTE_HEADER] = [{"key": "Api-Version-Route", "value": value}]
    for name, value in (headers or {}).items():
        cf["response"]["headers"][name.lower()] = [{"key": name, "value": value}]
    return event


def headers_of(result: dict[str, Any]) -> dict[str, list[str]]:
    return {name: [entry["value"] for entry in entries] for name, entries in result["headers"].items()}


def annotated(route: RouteContext, now: float = NOW, **headers: str) -> dict[str, list[str]]:
    return headers_of(handle(response_event(route, headers), clock=lambda: now))


def test_a_response_the_router_did_not_route_passes_unchanged() -> None:
    event = response_event(None)
    original = copy.deepcopy(event["Records"][0]["cf"]["response"])
    assert lambda_handler(event, None) == original


def test_discovery_headers_and_vary() -> None:
    route = RouteContext(version=V2, supported=f"{V1}, {V2}", vary="Accept")
    headers = annotated(route, Vary="Accept-Encoding")
    assert headers["api-selected-version"] == [V2]
    assert headers["api-supported-versions"] == [f"{V1}, {V2}"]
    assert "api-deprecated-versions" not in headers and "deprecation" not in headers and "sunset" not in headers
    assert headers["vary"] == ["Accept-Encoding, Accept"]
    assert annotated(route, Vary="accept")["vary"] == ["accept"]  # already there
    assert annotated(route, Vary="*")["vary"] == ["*"]
    assert annotated(RouteContext(version="v2", vary="APIVER, Accept"))["vary"] == ["APIVER, Accept"]


def deprecated_route(**changes: Any) -> RouteContext:
    fields: dict[str, Any] = {
        "version": V1,
        "supported": V2,
        "deprecated": V1,
        "deprecation": NOW - 10,
        "sunset": NOW + 3600,
        "successor": V2,
        "info": "https://example.com/v1-retirement",
        "vary": "Accept",
    }
    return RouteContext(**{**fields, **changes})


def test_deprecated_version_headers() -> None:
    headers = annotated(deprecated_route(), Link='<https://example.com/docs>; rel="help"')
    assert headers["deprecation"] == [f"@{NOW - 10}"]  # RFC 9745: a structured-field date
    assert headers["sunset"] == [http_date(NOW + 3600)]  # RFC 8594: an HTTP-date
    assert headers["api-deprecated-versions"] == [V1]
    assert headers["link"] == [
        '<https://example.com/docs>; rel="help"',
        '<https://example.com/v1-retirement>; rel="deprecation"; type="text/html"',
        f'</>; rel="successor-version"; version="{V2}"; type="{V2}"',
    ]


def test_deprecation_header_appears_at_its_instant_and_sunset_is_announced_before() -> None:
    route = deprecated_route(deprecation=NOW + 5)
    before = annotated(route, now=NOW + 4)
    assert "deprecation" not in before and "link" not in before and before["sunset"] == [http_date(NOW + 3600)]
    assert annotated(route, now=NOW + 5)["deprecation"] == [f"@{NOW + 5}"]


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        ("public, max-age=86400", "public, max-age=3600"),
        ("max-age=60", None),  # already shorter than the time to the sunset
        ("s-maxage=7200, max-age=60, stale-while-revalidate=600", "s-maxage=3600, max-age=60"),
        ("public, max-age=86400, stale-if-error=86400", "public, max-age=3600"),
        ("no-store", "no-store"),
    ],
)
def test_cache_lifetime_never_outlives_the_next_lifecycle_instant(cache_control: str, expected: str | None) -> None:
    headers = annotated(deprecated_route(), **{"Cache-Control": cache_control})
    assert headers["cache-control"] == [expected or cache_control]


def test_without_cache_control_only_a_longer_edge_default_is_capped() -> None:
    assert "cache-control" not in annotated(deprecated_route(edge_default_ttl=0))
    assert annotated(deprecated_route(edge_default_ttl=86400))["cache-control"] == ["s-maxage=3600"]
    expires = http_date(NOW + 86400)
    assert annotated(deprecated_route(), Expires=expires)["cache-control"] == ["max-age=3600"]
    soon = http_date(NOW + 60)
    assert "cache-control" not in annotated(deprecated_route(), Expires=soon)


def test_a_version_with_no_upcoming_instant_keeps_its_cache_control() -> None:
    route = deprecated_route(sunset=None)
    assert annotated(route, **{"Cache-Control": "max-age=86400"})["cache-control"] == ["max-age=86400"]


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        (None, "private"),
        ("public, max-age=60, s-maxage=600", "private, max-age=60"),
        ("private", "private"),
        ('private="set-cookie", max-age=5', "private, max-age=5"),
        ("no-store", "no-store"),
    ],
)
def test_canary_answers_are_never_stored_by_cloudfront(cache_control: str | None, expected: str) -> None:
    route = RouteContext(version=V2, canary=True)
    extra = {"Cache-Control": cache_control} if cache_control else {}
    assert annotated(route, **extra)["cache-control"] == [expected]


def test_a_canary_answer_before_a_sunset_is_capped_for_browsers_and_never_given_an_s_maxage() -> None:
    route = deprecated_route(canary=True, edge_default_ttl=86400)
    assert annotated(route)["cache-control"] == ["private"]
    assert annotated(route, **{"Cache-Control": "max-age=86400"})["cache-control"] == ["private, max-age=3600"]


@pytest.mark.parametrize("value", ["", "not json", "[]", '{"version": 5}', '{"version": ""}', '{"version": "v\\n1"}'])
def test_a_garbled_route_header_changes_nothing(value: str) -> None:
    event = response_event(value)
    original = copy.deepcopy(event["Records"][0]["cf"]["response"])
    assert handle(event) == original


def test_the_context_round_trips_and_drops_wrong_types() -> None:
    route = deprecated_route(canary=True, edge_default_ttl=60)
    assert decode(route.encode()) == route
    decoded = decode('{"version":"v1","sunset":"soon","deprecation":true,"supported":7,"canary":"yes"}')
    assert decoded == RouteContext(version="v1")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    path=st.lists(st.sampled_from(["Records", 0, "cf", "request", "response", "headers", ROUTE_HEADER, 0]), max_size=6),
    value=json_values,
)
def test_corrupted_events_never_raise(path: list[Any], value: Any) -> None:
    event: Any = response_event(deprecated_route())
    target = event
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            break
    if path:
        with contextlib.suppress(KeyError, IndexError, TypeError):
            target[path[-1]] = value
    result = lambda_handler(event, None)
    assert result is not None
