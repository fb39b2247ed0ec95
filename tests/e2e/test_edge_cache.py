"""The local CloudFront's cache, proven through real HTTP against ``edge-router local`` with an edge default TTL.

The backends send no Cache-Control, so ``--edge-default-ttl 60`` makes their answers cacheable, as a deployment
with ``CacheDefaultTTL=60`` would. Each test uses its own query string: the query is part of the cache key.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_router.lifecycle import format_instant

from .running import Running, put_row, start

pytestmark = pytest.mark.e2e

V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
SMOKE = Path(__file__).resolve().parents[2] / "scripts" / "smoke.sh"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start(tmp_path_factory.mktemp("cached"), "--edge-default-ttl", "60", "--cache-ttl", "1")
    yield running
    running.stop()


def message(body: bytes) -> str:
    text: str = json.loads(body)["message"]
    return text


def wait_for(running: Running, path: str, headers: dict[str, str], status: int) -> tuple[int, dict[str, str], bytes]:
    """Poll until a new row is visible (the router's table cache TTL is 1 s); misses are not cached (no-store)."""
    deadline = time.monotonic() + 10
    while True:
        answer = running.get(path, headers)
        if answer[0] == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_v1_and_v2_are_never_served_for_each_other(edge: Running) -> None:
    seen = []
    for accept in [V1, V2, V1, V2, V1, V2]:
        status, headers, body = edge.get("/hello?case=mix", {"Accept": accept})
        assert status == 200
        seen.append((accept, message(body), headers["x-cache"]))
    for accept, text, _ in seen:
        assert text == ("API v.1: Hello world!" if accept == V1 else "API v.2: Hello world!")
    assert [x_cache for _, _, x_cache in seen] == ["Miss from cloudfront"] * 2 + ["Hit from cloudfront"] * 4


def test_a_hit_has_an_age_and_skips_the_origin_request_function(edge: Running) -> None:
    before = edge.request_lines()
    status, first, _ = edge.get("/hello?case=age", {"Accept": V1})
    assert (status, first["x-cache"]) == (200, "Miss from cloudfront")
    assert "age" not in first
    time.sleep(1.1)
    status, again, body = edge.get("/hello?case=age", {"Accept": V1})
    assert (status, again["x-cache"]) == (200, "Hit from cloudfront")
    assert int(again["age"]) >= 1
    assert again["api-selected-version"] == V1  # the origin-response function's headers are what was cached
    assert message(body) == "API v.1: Hello world!"
    time.sleep(0.3)  # the log line is written before the answer; give the file a moment all the same
    assert edge.request_lines() - before == 1  # only the miss ran the router


def test_generated_no_store_answers_are_never_cached(edge: Running) -> None:
    for _ in range(2):
        status, headers, _ = edge.get("/hello?case=problem", {"Accept": "application/vnd.example.v9+json"})
        assert (status, headers["x-cache"]) == (403, "LambdaGeneratedResponse from cloudfront")


def test_a_canary_answer_never_reaches_a_main_side_client(edge: Running) -> None:
    key = "application/vnd.example.canary+json"
    put_row(
        edge,
        hk=key,
        dn=edge.api_origin,
        dp="/Prod/v1",
        canary_dn=edge.api_origin,
        canary_dp="/Prod/v2",
        canary_percent=50,
    )
    wait_for(edge, "/hello?case=canary-probe", {"Accept": key}, 200)
    sides: dict[str, str] = {}
    for last in range(2, 60):  # loopback has all of 127/8: each source address is a client of its own
        source = f"127.0.0.{last}"
        status, _, body = edge.get(f"/hello?probe={source}", {"Accept": key}, source)
        assert status == 200
        side = "canary" if message(body).startswith("API v.2") else "main"
        sides.setdefault(side, source)
        if len(sides) == 2:
            break
    assert set(sides) == {"canary", "main"}, sides
    status, canary, body = edge.get("/hello?case=canary", {"Accept": key}, sides["canary"])
    assert message(body) == "API v.2: Hello world!"
    assert canary["cache-control"].startswith("private")  # made private by the origin-response function
    for _ in range(3):
        status, main, body = edge.get("/hello?case=canary", {"Accept": key}, sides["main"])
        assert message(body) == "API v.1: Hello world!"
    assert main["x-cache"] == "Hit from cloudfront"  # the main answer was cached; the canary one never was


def test_a_sunset_version_answers_410_even_after_a_cached_200(edge: Running) -> None:
    key = "application/vnd.example.sunset+json"
    sunset = int(time.time()) + 6
    put_row(edge, hk=key, dn=edge.api_origin, dp="/Prod/v1", sunset_at=format_instant(sunset))
    status, first, _ = wait_for(edge, "/hello?case=sunset", {"Accept": key}, 200)
    assert status == 200
    assert first["sunset"]
    assert "s-maxage=" in first["cache-control"]  # capped at the sunset by the origin-response function
    status, second, _ = edge.get("/hello?case=sunset", {"Accept": key})
    assert (status, second["x-cache"]) == (200, "Hit from cloudfront")
    time.sleep(max(0.0, sunset - time.time()) + 1.2)
    status, gone, body = edge.get("/hello?case=sunset", {"Accept": key})
    assert status == 410
    assert gone["x-cache"] == "LambdaGeneratedResponse from cloudfront"
    assert json.loads(body)["type"] == "urn:edge-router:problem:sunset-version"


def test_lifecycle_headers_and_the_default_version_through_curl(edge: Running) -> None:
    deprecated = "application/vnd.example.old+json"
    now = int(time.time())
    put_row(
        edge,
        hk=deprecated,
        dn=edge.api_origin,
        dp="/Prod/v1",
        deprecated_at=format_instant(now - 60),
        sunset_at=format_instant(now + 86_400),
        successor=V2,
    )
    put_row(edge, hk=V2, dn=edge.api_origin, dp="/Prod/v2", is_default=True)
    wait_for(edge, "/hello?case=curl", {"Accept": deprecated}, 200)
    out = subprocess.run(
        ["curl", "-si", "-H", f"Accept: {deprecated}", f"{edge.edge_url}/hello?case=curl"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert f"api-selected-version: {deprecated}" in out
    assert f"Deprecation: @{now - 60}" in out
    assert "Sunset: " in out
    assert 'rel="successor-version"' in out
    deadline = time.monotonic() + 10
    while True:
        out = subprocess.run(
            ["curl", "-si", "-H", "Accept:", f"{edge.edge_url}/hello?case=default"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        if " 200 " in out.splitlines()[0] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert f"api-selected-version: {V2}" in out
    assert "API v.2: Hello world!" in out


def smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SMOKE), *args], capture_output=True, text=True, timeout=60, check=False)


def test_the_smoke_scripts_lifecycle_checks_pass_and_fail_when_they_should(edge: Running) -> None:
    gone, old = "application/vnd.example.gone+json", "application/vnd.example.dep+json"
    now = int(time.time())
    put_row(edge, hk=gone, dn=edge.api_origin, dp="/Prod/v1", sunset_at=format_instant(now - 10))
    put_row(edge, hk=old, dn=edge.api_origin, dp="/Prod/v1", deprecated_at=format_instant(now - 10))
    put_row(edge, hk=V2, dn=edge.api_origin, dp="/Prod/v2", is_default=True)
    wait_for(edge, "/hello?case=smoke-wait", {"Accept": old}, 200)
    good = smoke("--expect-default", V2, "--expect-deprecated", old, "--expect-gone", gone, edge.edge_url)
    assert good.returncode == 0, good.stdout
    assert f"PASS no header -> default version -> 200 api-selected-version: {V2}" in good.stdout
    assert "PASS retired version -> 410 application/problem+json urn:edge-router:problem:sunset-version" in good.stdout
    assert [line for line in good.stdout.splitlines() if line.startswith("PASS deprecated version -> 200")]
    assert good.stdout.splitlines()[-1] == "7 passed, 0 failed"
    bad = smoke("--expect-default", V1, "--expect-deprecated", V1, "--expect-gone", V1, edge.edge_url)
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert f"FAIL no header -> default version: expected api-selected-version: {V1}, got {V2}" in lines
    assert "FAIL deprecated version: expected Deprecation: @<seconds>, got no such header" in lines
    assert [line for line in lines if line.startswith("FAIL retired version: expected 410, got 200")]
    assert not [line for line in lines if "v1 header" in line]  # a version expected gone is not expected to serve
    assert lines[-1] == "3 passed, 3 failed"
