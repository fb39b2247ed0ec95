"""Request log lines against the CloudWatch Embedded Metric Format specification, for every outcome.

The rules checked are the specification's MUST rules (CloudWatch_Embedded_Metric_Format_Specification): the line
is one JSON object; ``_aws`` holds an integer millisecond ``Timestamp`` and ``CloudWatchMetrics``, an array of
directives each with a ``Namespace`` (1-255 characters), ``Dimensions`` (an array of dimension sets of at most 9
names) and ``Metrics`` (at most 100 definitions, each a ``Name`` and an optional CloudWatch ``Unit``); every name a
directive refers to is a top-level member, a string for a dimension and a number for a metric.
"""

from __future__ import annotations

import json

import pytest

from edge_router import config
from edge_router.log import DIMENSIONS, METRIC_NAME, NO_VERSION, request_template
from edge_router.store import Row
from tests.helpers import API, SETTINGS, V1, V2, WALL_START, FakeSource, event, make_router

NAMESPACE = "EdgeRouter/test-stack"
_SIZES = ("Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits",
          "Terabits")  # fmt: skip
UNITS = frozenset(
    {"Seconds", "Microseconds", "Milliseconds", "Percent", "Count", "Count/Second", "None", *_SIZES}
    | {f"{size}/Second" for size in _SIZES}
)
V0 = "application/vnd.example.v0+json"
V3 = "application/vnd.example.v3+json"
PLAIN_ROWS: list[Row] = [{"hk": V1, "dn": API, "dp": "/Prod/v1"}]
LIFECYCLE_ROWS: list[Row] = [
    {"hk": V1, "dn": API, "dp": "/Prod/v1", "deprecated_at": "2026-01-01T00:00:00Z"},
    {"hk": V2, "dn": API, "dp": "/Prod/v2", "is_default": True},
    {"hk": V3, "dn": API, "dp": "/Prod/v3", "canary_dn": API, "canary_dp": "/Canary/v3", "canary_percent": "100"},
    {"hk": V0, "dn": API, "dp": "/Prod/v0", "deprecated_at": "2025-01-01T00:00:00Z",
     "sunset_at": "2026-01-01T00:00:00Z"},
]  # fmt: skip


def emf_violations(line: str) -> list[str]:
    """What in ``line`` breaks the specification's MUST rules (empty: a valid EMF document)."""
    document = json.loads(line)
    if not isinstance(document, dict):
        return ["the log event is not a JSON object"]
    metadata = document.get("_aws")
    if not isinstance(metadata, dict):
        return ["no _aws object"]
    problems = []
    timestamp = metadata.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        problems.append(f"_aws.Timestamp {timestamp!r} is not a non-negative integer (milliseconds)")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "_aws.CloudWatchMetrics is not a non-empty array"]
    for directive in directives:
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            problems.append(f"Namespace {namespace!r} is not a 1-255 character string")
        dimension_sets = directive.get("Dimensions")
        if not isinstance(dimension_sets, list) or not dimension_sets:
            problems.append("Dimensions is not a non-empty array of dimension sets")
            dimension_sets = []
        for dimension_set in dimension_sets:
            if not isinstance(dimension_set, list) or len(dimension_set) > 9:
                problems.append(f"dimension set {dimension_set!r} is not an array of at most 9 names")
                continue
            for name in dimension_set:
                if not isinstance(document.get(name), str):
                    problems.append(f"dimension {name!r} is not a top-level string member")
        definitions = directive.get("Metrics")
        if not isinstance(definitions, list) or len(definitions) > 100:
            problems.append("Metrics is not an array of at most 100 definitions")
            definitions = []
        for definition in definitions:
            name = definition.get("Name")
            value = document.get(name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(f"metric {name!r} is not a top-level numeric member")
            if "Unit" in definition and definition["Unit"] not in UNITS:
                problems.append(f"metric {name!r} has unit {definition['Unit']!r}, not a CloudWatch unit")
    return problems


def request_lines(rows: list[Row], requests: list[list[tuple[str, str]]], namespace: str) -> list[str]:
    """The router's own request lines for these requests, with the metrics namespace set (or not)."""
    harness = make_router(FakeSource(rows=rows))
    settings = {**SETTINGS, config.METRICS_NAMESPACE: namespace} if namespace else SETTINGS
    for headers in requests:
        harness.router.handle(event(headers, settings))
    return [line for line in harness.log.getvalue().splitlines() if json.loads(line)["msg"] == "request"]


def test_a_template_line_is_valid_emf_with_the_documented_metric() -> None:
    template = request_template({"status": "routed", "version": V1, "outcome": "routed"}, namespace=NAMESPACE)
    line = template % ('"req-1"', "hit", 12.7, WALL_START * 1000)
    assert emf_violations(line) == []
    document = json.loads(line)
    assert document["_aws"]["Timestamp"] == int(WALL_START * 1000)
    assert document["_aws"]["CloudWatchMetrics"] == [
        {"Namespace": NAMESPACE, "Dimensions": [list(DIMENSIONS)], "Metrics": [{"Name": METRIC_NAME, "Unit": "Count"}]}
    ]
    assert (document["version"], document["outcome"], document[METRIC_NAME]) == (V1, "routed", 1)


def test_a_percent_sign_in_a_value_survives_the_template() -> None:
    template = request_template({"status": 403, "version": NO_VERSION, "outcome": "unknown-version",
                                 "value": "100% v9"}, namespace="Edge%Router")  # fmt: skip
    document = json.loads(template % ('"r"', "hit", 1, WALL_START * 1000))
    assert document["value"] == "100% v9"
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Edge%Router"


@pytest.mark.parametrize(
    ("rows", "headers", "outcome", "version"),
    [
        (PLAIN_ROWS, [("Accept", V1)], "routed", V1),
        (LIFECYCLE_ROWS, [("Accept", V3)], "canary", V3),
        (LIFECYCLE_ROWS, [], "default", V2),
        (LIFECYCLE_ROWS, [("Accept", "*/*")], "default", V2),
        (LIFECYCLE_ROWS, [("Accept", V1)], "deprecated", V1),
        (LIFECYCLE_ROWS, [("Accept", V0)], "gone", V0),
        (LIFECYCLE_ROWS, [("Accept", "application/vnd.example.v9+json")], "unknown-version", NO_VERSION),
        (PLAIN_ROWS, [], "missing-version", NO_VERSION),
        (PLAIN_ROWS, [("Accept", "@@@")], "invalid-version", NO_VERSION),
    ],
)
def test_every_outcome_line_from_the_router_is_valid_emf(
    rows: list[Row], headers: list[tuple[str, str]], outcome: str, version: str
) -> None:
    (line,) = request_lines(rows, [headers], NAMESPACE)
    assert emf_violations(line) == []
    document = json.loads(line)
    assert (document["outcome"], document["version"]) == (outcome, version)
    assert document["_aws"]["Timestamp"] == int(WALL_START * 1000)


def test_only_deprecated_versions_carry_a_client_id() -> None:
    lines = request_lines(LIFECYCLE_ROWS, [[("Accept", V1)], [("Accept", V2)]], NAMESPACE)
    deprecated, current = (json.loads(line) for line in lines)
    assert len(deprecated["client"]) == 16 and int(deprecated["client"], 16) >= 0
    assert "client" not in current


def test_outage_line_carries_outcome_and_metric() -> None:
    harness = make_router(FakeSource(fail=True))
    result = harness.router.handle(event([("Accept", V1)], {**SETTINGS, config.METRICS_NAMESPACE: NAMESPACE}))
    assert result["status"] == "503"
    (line,) = [entry for entry in harness.log.getvalue().splitlines() if '"msg":"request"' in entry]
    assert emf_violations(line) == []
    document = json.loads(line)
    assert (document["outcome"], document["version"], document["cache"]) == (
        "mappings-unavailable",
        NO_VERSION,
        "unavailable",
    )
    assert document["detail"] == "scripted failure"


def test_without_a_namespace_lines_carry_no_metrics_but_keep_version_and_outcome() -> None:
    lines = request_lines(LIFECYCLE_ROWS, [[("Accept", V1)], [("Accept", "application/vnd.example.v9+json")]], "")
    for line in lines:
        document = json.loads(line)
        assert "_aws" not in document and METRIC_NAME not in document
        assert emf_violations(line) == ["no _aws object"]
    assert [json.loads(line)["outcome"] for line in lines] == ["deprecated", "unknown-version"]


def test_the_validator_rejects_what_the_specification_forbids() -> None:
    good = json.loads(request_template({"version": V1, "outcome": "routed"}, namespace=NAMESPACE)
                      % ('"r"', "hit", 1, WALL_START * 1000))  # fmt: skip
    missing_dimension = {key: value for key, value in good.items() if key != "outcome"}
    assert emf_violations(json.dumps(missing_dimension)) == ["dimension 'outcome' is not a top-level string member"]
    text_metric = {**good, METRIC_NAME: "1"}
    assert emf_violations(json.dumps(text_metric)) == ["metric 'requests' is not a top-level numeric member"]
    float_time = {**good, "_aws": {**good["_aws"], "Timestamp": 1.5}}
    assert emf_violations(json.dumps(float_time))[0].startswith("_aws.Timestamp 1.5")
