"""The router's version lifecycle: default, deprecation and sunset at their exact instants, discovery, canaries,
metrics in the log line, and the prepared (fast) path answering exactly as the careful one."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from edge_router import config
from edge_router.context import ROUTE_HEADER, decode
from edge_router.lifecycle import format_instant, http_date
from edge_router.validator import validate_result
from tests.helpers import API, SETTINGS, V1, V2, WALL_START, FakeSource, RouterHarness, event, make_router, problem

DEPRECATED_AT = int(WALL_START) + 100
SUNSET_AT = int(WALL_START) + 200
V3 = "application/vnd.example.v3+json"
CANARY_API = "canary9.execute-api.us-east-1.amazonaws.com"


def lifecycle_rows() -> list[dict[str, Any]]:
    return [
        {
            "hk": V1,
            "dn": API,
            "dp": "/Prod/v1",
            "deprecated_at": format_instant(DEPRECATED_AT),
            "sunset_at": format_instant(SUNSET_AT),
            "successor": V2,
            "info_url": "https://example.com/deprecations/v1",
        },
        {"hk": V2, "dn": API, "dp": "/Prod/v2", "is_default": True},
        {
            "hk": V3,
            "dn": API,
            "dp": "/Prod/v3",
            "canary_dn": CANARY_API,
            "canary_dp": "/Prod/v3c",
            "canary_percent": 25,
        },
    ]


def harness(**settings: str) -> RouterHarness:
    h = make_router(FakeSource(rows=lifecycle_rows()))
    h.router.handle(event([("Accept", V2)], {**SETTINGS, **settings}))  # load once
    return h


def route_of(result: dict[str, Any]) -> Any:
    return decode(result["headers"][ROUTE_HEADER][0]["value"])


def request_lines(h: RouterHarness) -> list[dict[str, Any]]:
    return [line for line in h.log_lines() if line["msg"] == "request"]


def test_default_serves_requests_that_name_no_version() -> None:
    h = harness()
    result = h.router.handle(event([("Accept", "*/*")]))
    assert result["origin"]["custom"]["path"] == "/Prod/v2"
    assert route_of(result).version == V2
    line = request_lines(h)[-1]
    assert (line["rule"], line["outcome"], line["version"]) == ("default", "default", V2)


def test_deprecation_starts_at_its_exact_instant() -> None:
    h = harness()
    h.wall.now = DEPRECATED_AT - 1
    before = h.router.handle(event([("Accept", V1)]))
    assert route_of(before).deprecation == DEPRECATED_AT  # announced ahead; origin-response adds the header at it
    assert route_of(before).supported == f"{V1}, {V2}, {V3}" and route_of(before).deprecated is None
    assert request_lines(h)[-1]["outcome"] == "routed" and "client" not in request_lines(h)[-1]
    h.wall.now = DEPRECATED_AT
    at = h.router.handle(event([("Accept", V1)]))
    assert at["origin"]["custom"]["path"] == "/Prod/v1"
    assert route_of(at).deprecated == V1 and route_of(at).supported == f"{V2}, {V3}"
    line = request_lines(h)[-1]
    assert line["outcome"] == "deprecated" and len(line["client"]) == 16


def test_sunset_answers_410_from_its_exact_instant_without_calling_the_backend() -> None:
    h = harness()
    h.wall.now = SUNSET_AT - 0.001
    assert h.router.handle(event([("Accept", V1)]))["origin"]["custom"]["path"] == "/Prod/v1"
    h.wall.now = SUNSET_AT
    gone = h.router.handle(event([("Accept", V1)]))
    assert gone["status"] == "410" and gone["statusDescription"] == "Gone"
    body = problem(gone)
    assert body["type"].endswith("sunset-version")
    assert body["successor"] == V2 and body["sunset"] == format_instant(SUNSET_AT)
    assert "Use 'application/vnd.example.v2+json' instead." in body["detail"]
    assert gone["headers"]["sunset"][0]["value"] == http_date(SUNSET_AT)
    assert gone["headers"]["link"][0]["value"] == '<https://example.com/deprecations/v1>; rel="sunset"'
    assert gone["headers"]["cache-control"][0]["value"] == "no-store"
    assert V1 not in body["supportedVersions"] and V1 not in body.get("deprecatedVersions", [])
    assert request_lines(h)[-1]["outcome"] == "gone"
    assert validate_result(None, gone) == []


def test_a_clock_that_jumps_back_serves_the_version_again() -> None:
    h = harness()
    h.wall.now = SUNSET_AT + 10
    assert h.router.handle(event([("Accept", V1)]))["status"] == "410"
    h.wall.now = DEPRECATED_AT - 50  # NTP stepped the clock back
    result = h.router.handle(event([("Accept", V1)]))
    assert result["origin"]["custom"]["path"] == "/Prod/v1"
    assert route_of(result).deprecated is None
    h.wall.now = SUNSET_AT + 10**6  # and far forward
    assert h.router.handle(event([("Accept", V1)]))["status"] == "410"


def test_problem_bodies_list_supported_and_deprecated_versions() -> None:
    h = harness()
    h.wall.now = DEPRECATED_AT
    body = problem(h.router.handle(event([("APIVER", "v9")], {**SETTINGS, config.HEADER_NAME: "APIVER"})))
    assert body["supportedVersions"] == [V2, V3] and body["deprecatedVersions"] == [V1]


def canary_side(h: RouterHarness, client_ip: str, **headers: str) -> str:
    result = h.router.handle(event([("Accept", V3), *headers.items()], client_ip=client_ip))
    return "canary" if result["origin"]["custom"]["domainName"] == CANARY_API else "main"


def test_canary_split_is_sticky_and_about_its_share() -> None:
    h = harness()
    sides = [canary_side(h, f"198.51.100.{n % 250}") for n in range(1000)]
    assert 0.15 < sides.count("canary") / len(sides) < 0.35
    for n in range(50):
        ip = f"198.51.100.{n}"
        assert canary_side(h, ip) == canary_side(h, ip)
    lines = request_lines(h)
    canary_lines = [line for line in lines if line.get("side") == "canary"]
    assert canary_lines and all(line["outcome"] == "canary" for line in canary_lines)
    assert all("198.51.100" not in json.dumps(line) for line in lines)


def test_raising_the_share_only_moves_clients_from_main_to_canary() -> None:
    ips = [f"203.0.113.{n}" for n in range(200)]
    sides: dict[int, set[str]] = {}
    for percent in (5, 25, 60, 100):
        rows = lifecycle_rows()
        rows[2]["canary_percent"] = percent
        h = make_router(FakeSource(rows=rows))
        sides[percent] = {ip for ip in ips if canary_side(h, ip) == "canary"}
    assert sides[5] <= sides[25] <= sides[60] <= sides[100] == set(ips)


def test_canary_key_header_decides_the_side_and_never_reaches_the_log() -> None:
    settings = {**SETTINGS, config.CANARY_KEY: "X-Api-Key"}
    h = make_router(FakeSource(rows=lifecycle_rows()))
    seen = set()
    for n in range(100):
        key = f"key-{n}-secretvalue"
        result = h.router.handle(event([("Accept", V3), ("X-Api-Key", key)], settings, client_ip=f"192.0.2.{n}"))
        again = h.router.handle(event([("Accept", V3), ("X-Api-Key", key)], settings, client_ip="192.0.2.250"))
        assert result["origin"]["custom"]["domainName"] == again["origin"]["custom"]["domainName"]
        seen.add(result["origin"]["custom"]["domainName"])
    assert seen == {API, CANARY_API}
    assert "secretvalue" not in h.log.getvalue()
    route = route_of(h.router.handle(event([("Accept", V3), ("X-Api-Key", "key-1-secretvalue")], settings)))
    assert route.version == V3


def test_an_empty_canary_key_header_falls_back_to_the_client_ip() -> None:
    settings = {**SETTINGS, config.CANARY_KEY: "X-Api-Key"}
    h = make_router(FakeSource(rows=lifecycle_rows()))
    for n in range(100):
        ip = f"192.0.2.{n}"
        with_empty = h.router.handle(event([("Accept", V3), ("X-Api-Key", "")], settings, client_ip=ip))
        without = h.router.handle(event([("Accept", V3)], settings, client_ip=ip))
        assert with_empty["origin"]["custom"]["domainName"] == without["origin"]["custom"]["domainName"]


def test_log_lines_carry_emf_metrics_when_a_namespace_is_configured() -> None:
    h = harness(**{config.METRICS_NAMESPACE: "EdgeRouter/test"})
    settings = {**SETTINGS, config.METRICS_NAMESPACE: "EdgeRouter/test"}
    h.router.handle(event([("Accept", V2)], settings))
    h.router.handle(event([("Accept", "application/vnd.example.v9+json")], settings))
    routed, refused = request_lines(h)[-2:]
    for line in (routed, refused):
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "EdgeRouter/test"
        assert directive["Dimensions"] == [["version", "outcome"]]
        assert directive["Metrics"] == [{"Name": "requests", "Unit": "Count"}]
        assert line["requests"] == 1 and isinstance(line["_aws"]["Timestamp"], int)
        assert line["_aws"]["Timestamp"] == int(WALL_START * 1000)
    assert (routed["version"], routed["outcome"]) == (V2, "routed")
    assert (refused["version"], refused["outcome"]) == ("(none)", "unknown-version")
    plain = harness()
    plain.router.handle(event([("Accept", V2)]))
    assert "_aws" not in request_lines(plain)[-1]


def test_a_request_near_cloudfronts_size_limit_goes_without_the_route_header() -> None:
    h = harness()
    big = [(f"X-Pad-{n:02d}", "p" * 990) for n in range(20)]  # about 20,200 bytes: no room for the context
    incoming = event([("Accept", V2), *big], uri="/" + "u" * 300)
    original = copy.deepcopy(incoming["Records"][0]["cf"]["request"])
    result = h.router.handle(incoming)
    assert ROUTE_HEADER not in result["headers"]
    assert result["origin"]["custom"]["path"] == "/Prod/v2"
    assert validate_result(original, result) == []
    small = h.router.handle(event([("Accept", V2)]))
    assert ROUTE_HEADER in small["headers"]


def test_a_repeated_header_counts_its_name_once_per_occurrence_as_cloudfront_does() -> None:
    h = harness()
    repeated = [("X-A-Rather-Long-Repeated-Header-Name", "v" * 10)] * 405  # 20,250 bytes, each name counted
    incoming = event([("Accept", V2), *repeated])
    original = copy.deepcopy(incoming["Records"][0]["cf"]["request"])
    result = h.router.handle(incoming)
    assert ROUTE_HEADER not in result["headers"]
    assert validate_result(original, result) == []


def test_a_client_cannot_forge_the_route_header() -> None:
    h = harness()
    result = h.router.handle(event([("Accept", V2), ("Api-Version-Route", '{"version":"forged"}')]))
    assert route_of(result).version == V2
    assert len(result["headers"][ROUTE_HEADER]) == 1


@pytest.mark.parametrize(
    "headers",
    [
        [("Accept", V1)],
        [("Accept", f"{V2}, text/html;q=0.9")],
        [("Accept", "application/vnd.example.v9+json")],
        [],
        [("Accept", V3)],
        [("Accept", V1), ("Accept", V2)],
    ],
)
def test_the_prepared_path_answers_exactly_as_the_careful_one(headers: list[tuple[str, str]]) -> None:
    h = harness()
    first = h.router.handle(event(headers, request_id="req-1"))  # computes and remembers the decision
    second = h.router.handle(event(headers, request_id="req-1"))  # served from the memo
    assert first == second
    lines = request_lines(h)[-2:]
    for line in lines:
        line.pop("durationUs")
        line.pop("cache")
    assert lines[0] == lines[1]


@pytest.mark.parametrize("status", range(400, 500))
def test_every_configured_unknown_version_status_works(status: int) -> None:
    h = make_router()
    result = h.router.handle(
        event(
            [("APIVER", "v9")], {**SETTINGS, config.HEADER_NAME: "APIVER", config.UNKNOWN_VERSION_STATUS: str(status)}
        )
    )
    assert result["status"] == str(status) and result["statusDescription"]
    assert problem(result)["status"] == status
    assert validate_result(None, result) == []


def test_long_distinct_values_are_decided_but_not_remembered() -> None:
    h = harness()
    for n in range(50):
        result = h.router.handle(event([("Accept", f"application/vnd.example.v{n + 10}+json;p={'x' * 4000}")]))
        assert result["status"] == "403"
    assert h.router.handle(event([("Accept", V1)]))["origin"]["custom"]["path"] == "/Prod/v1"
    (configured,) = h.router._configured.values()
    assert configured.table is not None and V1 in configured.table.memo
    assert not [key for key in configured.table.memo if len(str(key)) > 4000]
