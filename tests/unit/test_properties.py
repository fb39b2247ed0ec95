"""Properties (hypothesis): for arbitrary headers and events the handler never raises and CloudFront accepts
its output; the Accept parser is total, bounded and order-consistent."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_router import config
from edge_router.media_type import MAX_RANGES, parse_accept
from edge_router.validator import validate_result
from tests.helpers import API, SAMPLE_ROWS, SETTINGS, V1, V2, WALL_START, FakeSource, event, make_router

LIFECYCLE_ROWS = [
    *SAMPLE_ROWS,
    {"hk": "v1", "dn": API, "dp": "/Prod/v1", "is_default": True, "deprecated_at": "2026-05-28T20:30:00"},
    {"hk": "v2", "dn": API, "dp": "/Prod/v2", "sunset_at": "2026-05-28T20:35:00", "successor": "v3"},
    {"hk": "v3", "dn": API, "canary_dn": "c.execute-api.us-east-1.amazonaws.com", "canary_percent": "50"},
    {"hk": "2025-01-01", "dn": API, "dp": "/Prod/d1"},
    {"hk": "application/vnd.example+json; version=2025-06-01", "dn": API, "dp": "/Prod/d2"},
]
HARNESS = make_router(FakeSource(rows=LIFECYCLE_ROWS))
header_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=300)
accept_piece = st.one_of(
    st.sampled_from(
        [
            V1,
            V2,
            "*/*",
            "text/html",
            "application/*",
            "application/vnd.example+json; version=2",
            "application/vnd.example+json; version=2025-07-04",
            "",
        ]
    ),
    header_text,
)
accept_value = st.builds(
    lambda parts, qs: ", ".join(f"{p};q={q}" if q else p for p, q in zip(parts, qs, strict=False)),
    st.lists(accept_piece, max_size=8),
    st.lists(st.sampled_from(["", "0", "0.5", "1", "1.0", "2", "x", "0.1234"]), max_size=8),
)
header_name = st.one_of(
    st.sampled_from(["Accept", "APIVER", "Authorization", "Host", "Via", "Api-Version-Route", "X-Api-Key"]),
    st.from_regex(r"[A-Za-z-]{1,20}", fullmatch=True),
)
headers = st.lists(st.tuples(header_name, st.one_of(accept_value, header_text)), max_size=12)
router_settings = st.fixed_dictionaries(
    {},
    optional={
        config.HEADER_NAME: st.sampled_from(["Accept", "APIVER", "APIVER, Accept", "", "bad header", "Host"]),
        config.UNKNOWN_VERSION_STATUS: st.sampled_from(["403", "404", "406", "999", "x"]),
        config.CACHE_TTL: st.sampled_from(["1", "300", "-5", "nan", "inf"]),
        config.DEBUG_EVENTS: st.sampled_from(["true", "false", "maybe"]),
        config.CANARY_KEY: st.sampled_from(["", "X-Api-Key", "bad key"]),
        config.METRICS_NAMESPACE: st.sampled_from(["", "EdgeRouter/test", "bad namespace"]),
        config.EDGE_DEFAULT_TTL: st.sampled_from(["0", "86400", "-1"]),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=headers,
    extra=router_settings,
    uri=st.from_regex(r"/[a-zA-Z0-9/._~%-]{0,40}", fullmatch=True),
    querystring=st.text(max_size=60),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
    seconds=st.floats(min_value=-(10**6), max_value=10**6),
)
def test_handler_never_raises_and_output_is_valid(
    headers: list[tuple[str, str]], extra: dict[str, str], uri: str, querystring: str, method: str, seconds: float
) -> None:
    HARNESS.wall.now = WALL_START + seconds  # before, at and after every lifecycle instant, jumping both ways
    incoming = event(headers, {**SETTINGS, **extra}, uri=uri, querystring=querystring, method=method)
    original = copy.deepcopy(incoming["Records"][0]["cf"]["request"])
    result = HARNESS.router.handle(incoming)
    assert validate_result(original, result) == []
    if "status" in result:
        assert 200 <= int(result["status"]) <= 599


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    mutation_path=st.lists(
        st.sampled_from(
            ["Records", 0, "cf", "request", "headers", "origin", "custom", "customHeaders", "accept", "config"]
        ),
        min_size=1,
        max_size=6,
    ),
    value=json_values,
)
def test_corrupted_events_never_raise(mutation_path: list[Any], value: Any) -> None:
    incoming: Any = event([("Accept", V1)])
    target = incoming
    for step in mutation_path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            break
    with contextlib.suppress(KeyError, IndexError, TypeError):
        target[mutation_path[-1]] = value
    result = HARNESS.router.handle(incoming)
    assert isinstance(result, dict)
    if "status" in result:
        assert validate_result(None, result) == []


@settings(max_examples=500, deadline=None)
@given(accept_value)
def test_accept_parser_is_total_bounded_and_sorted(value: str) -> None:
    ranges = parse_accept(value)
    assert len(ranges) <= MAX_RANGES
    assert all(0 < r.weight <= 1000 for r in ranges)
    keys = [(-r.weight, -r.specificity, r.index) for r in ranges]
    assert keys == sorted(keys)
