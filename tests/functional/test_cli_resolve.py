"""``edge-router resolve`` against DynamoDB over HTTP: the router's own decision for given headers, the rule and
canary side that made it, the response headers the origin-response function adds, and the rows it skipped."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from edge_router.cli import main
from edge_router.lifecycle import http_date, parse_instant

pytestmark = pytest.mark.functional

API = "abc123.execute-api.us-east-1.amazonaws.com"
CANARY = "def456.execute-api.us-east-1.amazonaws.com"
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"


def put_row(ddb_client: Any, table: str, key: str, path: str, **extra: dict[str, Any]) -> None:
    ddb_client.put_item(TableName=table, Item={"hk": {"S": key}, "dn": {"S": API}, "dp": {"S": path}, **extra})


@pytest.fixture
def base(dynamodb_endpoint: str, mapping_table: str, ddb_client: Any) -> list[str]:
    for key, path in ((V1, "/Prod/v1"), (V2, "/Prod/v2"), ("v3", "/Prod/v3")):
        put_row(ddb_client, mapping_table, key, path)
    return ["--table", mapping_table, "--region", "us-east-1", "--endpoint-url", dynamodb_endpoint]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_accept_header_routes(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    accept = f"text/html;q=0.9, {V2}"
    status, out, err = cli(capsys, "resolve", "-H", f"Accept: {accept}", *base)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        f"routes to https://{API}/Prod/v2",
        f"  mapping: {V2}",
        f"  decided by: accept: {accept} (rule exact, key {V2})",
        "  side: main",
        "  response headers (the origin-response function on a 200 application/json answer from the origin):",
        "    Content-Type: application/json",
        f"    api-selected-version: {V2}",
        f"    api-supported-versions: {V1}, {V2}, v3",
        "    Vary: Accept",
    ]


def test_custom_header_precedence_and_json(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    status, out, _ = cli(capsys, "resolve", "-H", f"Accept: {V1}", "-H", "APIVER: V3", "--header-name", "apiver",
                         "--header-name", "accept", "--json", *base)  # fmt: skip
    assert status == 0
    body = json.loads(out)
    assert body["origin"]["domainName"] == API and body["origin"]["path"] == "/Prod/v3"
    assert body == {
        "routed": True,
        "mapping": "v3",
        "header": "apiver",
        "key": "v3",
        "rule": "exact",
        "side": "main",
        "origin": body["origin"],
        "responseHeaders": {
            "Content-Type": "application/json",
            "api-selected-version": "v3",
            "api-supported-versions": f"{V1}, {V2}, v3",
            "Vary": "apiver, accept",
        },
        "skippedRows": [],
        "warnings": [],
        "at": body["at"],
    }


def test_unknown_version_prints_the_problem(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    status, out, _ = cli(capsys, "resolve", "-H", "Accept: application/vnd.example.v9+json", *base)
    assert status == 1
    assert out.splitlines() == [
        "refused: 403 unknown-version",
        "  detail: 'application/vnd.example.v9+json' is not a supported version.",
        f"  supported versions: {V1}, {V2}, v3",
        "  response headers:",
        "    Content-Type: application/problem+json",
        "    Cache-Control: no-store",
        f"    api-supported-versions: {V1}, {V2}, v3",
    ]
    status, out, _ = cli(capsys, "resolve", "--json", *base)
    assert status == 1
    body = json.loads(out)
    assert (body["status"], body["problem"]["type"]) == (403, "urn:edge-router:problem:missing-version")
    assert body["responseHeaders"]["Cache-Control"] == "no-store"


def test_the_default_rule(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str
) -> None:
    put_row(ddb_client, mapping_table, "v3", "/Prod/v3", is_default={"BOOL": True})
    status, out, _ = cli(capsys, "resolve", "-H", "Accept: */*", *base)
    assert status == 0
    assert out.splitlines()[:4] == [
        f"routes to https://{API}/Prod/v3",
        "  mapping: v3",
        "  decided by: no header named a version (rule default: the default version)",
        "  side: main",
    ]
    assert json.loads(cli(capsys, "resolve", "--json", *base)[1])["rule"] == "default"


def test_the_date_rule(capsys: pytest.CaptureFixture[str], dynamodb_endpoint: str, mapping_table: str,
                       ddb_client: Any) -> None:  # fmt: skip
    for key in ("2025-01-01", "2025-06-01"):
        put_row(ddb_client, mapping_table, key, f"/Prod/{key}")
    base = ["--table", mapping_table, "--region", "us-east-1", "--endpoint-url", dynamodb_endpoint]
    status, out, _ = cli(
        capsys, "resolve", "--header-name", "Stripe-Version", "-H", "Stripe-Version: 2025-03-15", *base
    )
    assert status == 0
    assert out.splitlines()[:3] == [
        f"routes to https://{API}/Prod/2025-01-01",
        "  mapping: 2025-01-01",
        "  decided by: stripe-version: 2025-03-15 (rule date: the newest version dated on or before the one asked "
        "for, key 2025-01-01)",
    ]


def test_a_deprecated_version_carries_its_lifecycle_headers(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str
) -> None:
    put_row(ddb_client, mapping_table, V1, "/Prod/v1", deprecated_at={"S": "2025-01-01T00:00:00Z"},
            sunset_at={"S": "2099-01-01T00:00:00Z"}, successor={"S": V2},
            info_url={"S": "https://example.com/v1-retirement"})  # fmt: skip
    status, out, _ = cli(capsys, "resolve", "-H", f"Accept: {V1}", "--uri", "/hello", *base)
    assert status == 0
    assert out.splitlines()[5:] == [
        "    Content-Type: application/json",
        f"    api-selected-version: {V1}",
        f"    api-supported-versions: {V2}, v3",
        f"    api-deprecated-versions: {V1}",
        f"    Deprecation: @{parse_instant('2025-01-01')}",
        f"    Sunset: {http_date(parse_instant('2099-01-01'))}",
        '    Link: <https://example.com/v1-retirement>; rel="deprecation"; type="text/html"',
        f'    Link: </hello>; rel="successor-version"; version="{V2}"; type="{V2}"',
        "    Vary: Accept",
    ]
    # Before the deprecation instant (--at), the same request carries only the sunset and the lists.
    body = json.loads(cli(capsys, "resolve", "-H", f"Accept: {V1}", "--at", "2024-06-01", "--json", *base)[1])
    assert "Deprecation" not in body["responseHeaders"] and "Link" not in body["responseHeaders"]
    assert body["responseHeaders"]["Sunset"] == http_date(parse_instant("2099-01-01"))
    assert body["at"] == "2024-06-01T00:00:00Z"


def test_a_version_past_its_sunset_is_a_410(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str
) -> None:
    put_row(ddb_client, mapping_table, V1, "/Prod/v1", sunset_at={"S": "2025-01-01T00:00:00Z"},
            successor={"S": V2}, info_url={"S": "https://example.com/v1-retirement"})  # fmt: skip
    status, out, _ = cli(capsys, "resolve", "-H", f"Accept: {V1}", *base)
    sunset = http_date(parse_instant("2025-01-01"))
    assert status == 1
    assert out.splitlines() == [
        "refused: 410 sunset-version",
        f"  detail: Version '{V1}' was retired on {sunset}. Use '{V2}' instead.",
        f"  supported versions: {V2}, v3",
        "  response headers:",
        "    Content-Type: application/problem+json",
        "    Cache-Control: no-store",
        f"    api-supported-versions: {V2}, v3",
        f"    Sunset: {sunset}",
        '    Link: <https://example.com/v1-retirement>; rel="sunset"',
    ]
    body = json.loads(cli(capsys, "resolve", "-H", f"Accept: {V1}", "--json", *base)[1])
    assert (body["status"], body["problem"]["successor"]) == (410, V2)


def _side(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    status, out, _ = cli(capsys, "resolve", "--json", *args)
    assert status == 0
    decision: dict[str, Any] = json.loads(out)
    return decision


def test_the_canary_side_by_key_header_or_client_ip(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    put_row(ddb_client, mapping_table, V2, "/Prod/v2", canary_dn={"S": CANARY}, canary_dp={"S": "/Canary/v2"},
            canary_percent={"N": "50"})  # fmt: skip
    keyed = ["-H", f"Accept: {V2}", "--canary-key", "X-Api-Key", *base]
    sides = {n: _side(capsys, "-H", f"X-Api-Key: client-{n}", *keyed) for n in range(24)}
    assert {decision["side"] for decision in sides.values()} == {"main", "canary"}
    for n, decision in sides.items():
        expected = (CANARY, "/Canary/v2") if decision["side"] == "canary" else (API, "/Prod/v2")
        assert (decision["origin"]["domainName"], decision["origin"]["path"]) == expected
        # canary answers must never be cached for main-side clients
        assert ("Cache-Control" in decision["responseHeaders"]) == (decision["side"] == "canary")
        assert _side(capsys, "-H", f"X-Api-Key: client-{n}", *keyed)["side"] == decision["side"]  # sticky
    canary_client = next(n for n, decision in sides.items() if decision["side"] == "canary")
    assert sides[canary_client]["responseHeaders"]["Cache-Control"] == "private"
    # Without a key header the client IP decides; the distribution's hash key (from the environment) changes who
    # is on which side.
    by_ip = {ip: _side(capsys, "-H", f"Accept: {V2}", "--client-ip", ip, *base)["side"]
             for ip in (f"198.51.100.{n}" for n in range(24))}  # fmt: skip
    assert set(by_ip.values()) == {"main", "canary"}
    monkeypatch.setenv("EDGE_ROUTER_HASH_KEY", "a-secret-of-sixteen-or-more")
    rekeyed = {ip: _side(capsys, "-H", f"Accept: {V2}", "--client-ip", ip, *base)["side"] for ip in by_ip}
    assert rekeyed != by_ip


def test_skipped_rows_are_named_with_the_reason(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str
) -> None:
    ddb_client.put_item(TableName=mapping_table, Item={"hk": {"S": "v9"}, "dn": {"S": "evil.example.com"}})
    ddb_client.put_item(TableName=mapping_table, Item={"hk": {"S": "v8"}, "dn": {"N": "1"}})
    status, out, _ = cli(capsys, "resolve", "--header-name", "APIVER", "-H", "APIVER: v9", *base)
    assert status == 1
    assert out.splitlines()[0] == "refused: 403 unknown-version"
    assert out.splitlines()[-3:] == [
        "  note: the router skipped 2 row(s) of the table:",
        "    row 'v8': domain (dn) must be a string (DynamoDB type S)",
        "    row 'v9': domain 'evil.example.com' is outside the allowed origin suffixes "
        "(*.execute-api.*.amazonaws.com)",
    ]
    body = json.loads(cli(capsys, "resolve", "--header-name", "APIVER", "-H", "APIVER: v3", "--json", *base)[1])
    assert body["routed"] is True and len(body["skippedRows"]) == 2


def test_loopback_origins_route_when_the_table_is_local(
    capsys: pytest.CaptureFixture[str], base: list[str], ddb_client: Any, mapping_table: str
) -> None:
    ddb_client.put_item(TableName=mapping_table, Item={"hk": {"S": "v4"}, "dn": {"S": "127.0.0.1:3000"},
                                                      "dp": {"S": "/Prod/v1"}})  # fmt: skip
    status, out, _ = cli(capsys, "resolve", "--header-name", "APIVER", "-H", "APIVER: v4", *base)
    assert (status, out.splitlines()[0]) == (0, "routes to http://127.0.0.1:3000/Prod/v1")
    assert "skipped" not in out


def test_verbose_shows_the_router_log(capsys: pytest.CaptureFixture[str], base: list[str]) -> None:
    status, _, err = cli(capsys, "resolve", "-H", f"Accept: {V1}", "--verbose", *base)
    assert status == 0
    messages = [json.loads(line)["msg"] for line in err.splitlines()]
    assert messages == ["mappings loaded", "request"]


def test_missing_table_and_unreachable_endpoint(capsys: pytest.CaptureFixture[str], dynamodb_endpoint: str) -> None:
    status, out, _ = cli(capsys, "resolve", "-H", f"Accept: {V1}", "--table", "absent-table", "--region",
                         "us-east-1", "--endpoint-url", dynamodb_endpoint)  # fmt: skip
    assert status == 1
    assert out.startswith("refused: 503 mappings-unavailable")
    assert "ResourceNotFoundException" in out
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    status, out, _ = cli(capsys, "resolve", "--table", "any-table", "--region", "us-east-1", "--endpoint-url",
                         f"http://127.0.0.1:{port}", "--timeout", "0.3")  # fmt: skip
    assert status == 1 and out.startswith("refused: 503") and time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-H", "Accept"], "expected 'Name: value'"),
        (["--header-name", "host"], "cannot carry a version"),
        (["--canary-key", "host"], "not a request header the function can read"),
        (["--client-ip", "1.2.3"], "is not an IPv4 or IPv6 address"),
        (["--at", "next week"], "--at: 'next week' is not an ISO 8601 date"),
        (["--at", "2026-06-01T00:00+01:00"], "has a UTC offset"),
        (["--table", "t"], "is not a DynamoDB table name"),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], base: list[str], args: list[str], message: str) -> None:
    status, out, err = cli(capsys, "resolve", *base, *args)
    assert (status, out) == (2, "")
    assert message in err and err.count("\n") == 1
