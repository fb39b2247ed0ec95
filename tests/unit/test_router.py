"""The router end to end with a fake store: rewrites, problems, config errors, outages, logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge_router import config
from edge_router.snapshot import Snapshot, build_snapshot
from edge_router.store import TableRead
from edge_router.validator import validate_result
from tests.conftest import load_event
from tests.helpers import API, SETTINGS, V1, V2, FakeSource, event, make_router, problem


def test_routes_and_rewrites_only_origin_and_host() -> None:
    harness = make_router()
    incoming = event(
        [
            ("Accept", f"{V2}, text/html;q=0.9"),
            ("Authorization", "Bearer secret"),
            ("X-Custom", "1"),
            ("X-Custom", "2"),
        ],
        method="POST",
        uri="/hello/world",
        querystring="a=1&b=%20x",
        body=b'{"x": 1}',
    )
    request = incoming["Records"][0]["cf"]["request"]
    result = harness.router.handle(incoming)
    assert validate_result(request, result) == []
    assert result["origin"] == {
        "custom": {
            "customHeaders": {},
            "domainName": API,
            "keepaliveTimeout": 5,
            "path": "/Prod/v2",
            "port": 443,
            "protocol": "https",
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }
    assert result["headers"]["host"] == [{"key": "Host", "value": API}]
    for field in ("uri", "querystring", "method", "body", "clientIp"):
        assert result[field] == request[field]
    assert result["headers"]["x-custom"] == request["headers"]["x-custom"]
    assert result["headers"]["authorization"] == request["headers"]["authorization"]


def test_documented_aws_event_without_version_gets_403_problem() -> None:
    harness = make_router()
    aws_event = load_event("origin-request")
    aws_event["Records"][0]["cf"]["request"]["origin"]["custom"]["customHeaders"] = config.custom_headers_for(SETTINGS)
    result = harness.router.handle(aws_event)
    assert validate_result(aws_event["Records"][0]["cf"]["request"], result) == []
    assert result["status"] == "403"
    body = problem(result)
    assert body["type"].endswith("missing-version")
    assert body["detail"] == "The Accept header is missing."
    assert body["versionHeaders"] == ["Accept"]
    assert body["supportedVersions"] == [V1, V2]
    assert result["headers"]["cache-control"][0]["value"] == "no-store"
    assert result["headers"]["api-supported-versions"][0]["value"] == f"{V1}, {V2}"


def test_unknown_status_is_configurable_and_ambiguity_is_400() -> None:
    harness = make_router()
    settings = {**SETTINGS, config.HEADER_NAME: "APIVER", config.UNKNOWN_VERSION_STATUS: "404"}
    assert harness.router.handle(event([("APIVER", "v9")], settings))["status"] == "404"
    ambiguous = harness.router.handle(event([("APIVER", V1), ("APIVER", V2)], settings))
    assert ambiguous["status"] == "400"
    assert problem(ambiguous)["type"].endswith("ambiguous-version")


def test_bad_setting_is_a_500_naming_it() -> None:
    harness = make_router()
    result = harness.router.handle(event([("Accept", V1)], {**SETTINGS, config.CACHE_TTL: "forever"}))
    assert result["status"] == "500"
    assert config.CACHE_TTL in problem(result)["detail"]
    assert harness.source.reads == 0


@pytest.mark.parametrize("broken", [None, {}, {"Records": []}, {"Records": [{"cf": {"request": "x"}}]}, "text"])
def test_malformed_events_get_a_valid_problem(broken: object) -> None:
    result = make_router().router.handle(broken)
    assert result["status"] == "500"
    assert validate_result(None, result) == []


def test_viewer_request_association_is_reported() -> None:
    result = make_router().router.handle(load_event("viewer-request"))
    assert result["status"] == "500"
    assert "origin-request" in problem(result)["detail"]


def test_outage_without_snapshot_is_503_with_retry_after() -> None:
    harness = make_router(FakeSource(fail=True))
    result = harness.router.handle(event([("Accept", V1)]))
    assert result["status"] == "503"
    assert result["headers"]["retry-after"][0]["value"] == "1"
    assert problem(result)["type"].endswith("mappings-unavailable")
    failed = [line for line in harness.log_lines() if line.get("msg") == "mappings refresh failed"]
    assert len(failed) == 1 and failed[0]["servingStaleAgeS"] is None


def test_outage_with_snapshot_serves_stale() -> None:
    harness = make_router()
    harness.router.handle(event([("Accept", V1)]))
    harness.source.fail = True
    harness.clock.now += 301
    result = harness.router.handle(event([("Accept", V1)]))
    assert result["origin"]["custom"]["path"] == "/Prod/v1"
    lines = harness.log_lines()
    assert lines[-1]["cache"] == "stale"
    # The outage is visible although every client got an answer: one warning per failed attempt.
    failed = [line for line in lines if line.get("msg") == "mappings refresh failed"]
    assert len(failed) == 1
    assert failed[0]["level"] == "WARNING" and failed[0]["retryInS"] == 1.0
    assert failed[0]["servingStaleAgeS"] == 301.0 and failed[0]["detail"]


def test_unknown_versions_never_read_dynamodb() -> None:
    harness = make_router()
    for number in range(1000):
        harness.router.handle(event([("Accept", f"application/vnd.example.v{number + 3}+json")]))
    assert harness.source.reads == 1


def test_any_failure_to_read_the_table_is_an_outage_not_a_crash() -> None:
    class Exploding(FakeSource):
        def read_all(self, *, deadline: float) -> TableRead:
            raise KeyError("Items")  # what a malformed Scan answer used to escape as

    harness = make_router(Exploding())
    result = harness.router.handle(event([("Accept", V1)]))
    assert result["status"] == "503" and problem(result)["type"].endswith("mappings-unavailable")
    assert result["headers"]["retry-after"][0]["value"] == "1"


def test_a_broken_read_after_a_good_one_serves_stale_and_backs_off() -> None:
    harness = make_router()
    harness.router.handle(event([("Accept", V1)]))
    harness.clock.now += 301

    def broken(*, deadline: float) -> TableRead:
        harness.source.reads += 1
        raise AttributeError("'NoneType' object has no attribute 'get'")

    harness.source.read_all = broken  # type: ignore[method-assign]
    for _ in range(50):
        result = harness.router.handle(event([("Accept", V1)]))
        assert result["origin"]["custom"]["path"] == "/Prod/v1"
    assert harness.source.reads == 2  # the first load, then one failed refresh: the backoff holds the rest
    lines = harness.log_lines()
    assert lines[-1]["cache"] == "stale"
    failed = [line for line in lines if line.get("msg") == "mappings refresh failed"]
    assert [line["detail"] for line in failed] == ["AttributeError: 'NoneType' object has no attribute 'get'"]


def test_unexpected_exception_is_a_503_and_an_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    harness = make_router()

    def explode(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("edge_router.decisions.RouteTable.decide", explode)
    result = harness.router.handle(event([("Accept", V1)]))
    assert result["status"] == "503" and problem(result)["type"].endswith("internal-error")
    assert harness.log_lines()[-1]["level"] == "ERROR"


def test_one_structured_line_per_request_without_secrets() -> None:
    harness = make_router()
    harness.router.handle(event([("Accept", V1), ("Authorization", "Bearer hunter2"), ("Cookie", "sid=s3cr3t")]))
    lines = [line for line in harness.log_lines() if line["msg"] == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["version"] == V1 and line["cache"] == "refresh" and line["origin"] == API + "/Prod/v1"
    assert isinstance(line["durationUs"], int)
    text = harness.log.getvalue()
    assert "hunter2" not in text and "s3cr3t" not in text


def test_debug_events_log_every_event_warm_ones_too() -> None:
    harness = make_router()
    settings = {**SETTINGS, config.DEBUG_EVENTS: "true"}
    for _ in range(3):
        assert harness.router.handle(event([("Accept", V1)], settings))["origin"]["custom"]["path"] == "/Prod/v1"
    assert [line["msg"] for line in harness.log_lines() if line["level"] == "DEBUG"] == ["event"] * 3


def test_debug_events_are_opt_in_and_masked() -> None:
    harness = make_router()
    settings = {**SETTINGS, config.DEBUG_EVENTS: "true"}
    harness.router.handle(
        event(
            [("Accept", V1), ("Authorization", "Bearer hunter2"), ("Cookie", "sid=s3cr3t")],
            settings,
            querystring="Signature=sigSECRETvalue&Key-Pair-Id=kpSECRETid",
            body=b"password=pw",
        )
    )
    debug = [line for line in harness.log_lines() if line["level"] == "DEBUG"]
    assert len(debug) == 1
    text = json.dumps(debug)
    for secret in ("hunter2", "s3cr3t", "sigSECRETvalue", "kpSECRETid", "cGFzc3dvcmQ9cHc="):
        assert secret not in text
    assert "Signature=***" in text
    quiet = make_router()
    quiet.router.handle(event([("Accept", V1)]))
    assert not [line for line in quiet.log_lines() if line["level"] == "DEBUG"]


def test_broken_rows_are_skipped_with_one_warning_per_refresh() -> None:
    source = FakeSource()
    source.rows += [{"hk": "v9", "dn": "evil.example.com"}, {"hk": "", "dn": API}, {"dn": API}]
    harness = make_router(source)
    assert harness.router.handle(event([("Accept", V1)]))["origin"]["custom"]["path"] == "/Prod/v1"
    harness.router.handle(event([("Accept", V2)]))
    warnings = [line for line in harness.log_lines() if line["level"] == "WARNING"]
    assert len(warnings) == 1 and warnings[0]["count"] == 3
    # The refused row never routes.
    assert (
        harness.router.handle(event([("APIVER", "v9")], {**SETTINGS, config.HEADER_NAME: "APIVER"}))["status"] == "403"
    )


def test_router_setting_headers_never_reach_the_backend() -> None:
    harness = make_router()
    result = harness.router.handle(event([("Accept", V1), ("custom-apigw-table-name", "spoof")]))
    assert "custom-apigw-table-name" not in result["headers"]
    assert result["origin"]["custom"]["customHeaders"] == {}


def test_a_refresh_may_wait_4_5_s_with_nothing_to_serve_and_1_s_with_a_stale_snapshot() -> None:
    harness = make_router()
    harness.router.handle(event([("Accept", V1)]))
    harness.clock.now += 301  # expired, still servable
    harness.router.handle(event([("Accept", V1)]))
    harness.clock.now += 300 + 86_401  # past custom-apigw-max-stale: nothing servable any more
    harness.router.handle(event([("Accept", V1)]))
    assert harness.source.waits == [4.5, 1.0, 4.5]


def test_an_unchanged_table_keeps_the_validated_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    builds = []

    def counting_build(*args: Any, **kwargs: Any) -> Snapshot:
        builds.append(1)
        return build_snapshot(*args, **kwargs)

    monkeypatch.setattr("edge_router.router.build_snapshot", counting_build)
    harness = make_router(FakeSource(same_bytes=True))
    assert harness.router.handle(event([("Accept", V1)]))["origin"]["custom"]["path"] == "/Prod/v1"
    harness.clock.now += 301
    assert harness.router.handle(event([("Accept", V2)]))["origin"]["custom"]["path"] == "/Prod/v2"
    harness.clock.now += 299  # the kept snapshot was stamped fresh by the refresh that found no change
    harness.router.handle(event([("Accept", V1)]))
    assert len(builds) == 1 and harness.source.reads == 2
    loaded = [line for line in harness.log_lines() if line["msg"] == "mappings loaded"]
    assert [line["unchanged"] for line in loaded] == [False, True]
    assert [line["cache"] for line in harness.log_lines() if line["msg"] == "request"] == ["refresh", "refresh", "hit"]


def test_an_unchanged_reload_keeps_the_prepared_answers() -> None:
    harness = make_router(FakeSource(same_bytes=True))
    harness.router.handle(event([("Accept", V1)]))
    (configured,) = harness.router._configured.values()
    before = configured.table
    harness.clock.now += 301
    harness.router.handle(event([("Accept", V1)]))
    assert configured.table is before and harness.source.reads == 2


def test_changed_rows_are_validated_again() -> None:
    source = FakeSource()
    harness = make_router(source)
    harness.router.handle(event([("Accept", V1)]))
    source.rows = [{"hk": V1, "dn": API, "dp": "/Prod/v1-new"}]
    harness.clock.now += 301
    assert harness.router.handle(event([("Accept", V1)]))["origin"]["custom"]["path"] == "/Prod/v1-new"
