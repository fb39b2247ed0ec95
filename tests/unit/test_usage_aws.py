"""``edge-router usage`` against CloudWatch, with botocore's Stubber (no network): several regions, paginated
ListMetrics and GetMetricData, a region without data, a throttled region, Logs Insights polled to completion."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from edge_router.admin.errors import AdminError
from edge_router.admin.usage import (
    INSIGHTS_QUERY,
    AwsTarget,
    Window,
    function_from_stack,
    gather,
    metric_period,
    region_logs,
)
from edge_router.cli import main
from edge_router.cli import usage as usage_command

V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
NAMESPACE = "EdgeRouter/shop"
GROUP = "/aws/lambda/us-east-1.shop-edge-router"
NOW = datetime(2026, 5, 28, 12, 0, tzinfo=UTC)
WEEK = Window(NOW - timedelta(days=7), NOW)
HOUR = 3600


class Clients:
    """Stubbed botocore clients per (service, region), checked to have had every stubbed call."""

    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        self.stubs: dict[tuple[str, str], Stubber] = {}
        self.clients: dict[tuple[str, str], Any] = {}

    def stub(self, service: str, region: str) -> Stubber:
        if (service, region) not in self.stubs:
            client = self._session.create_client(
                service, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
            self.clients[service, region] = client
            self.stubs[service, region] = Stubber(client)
            self.stubs[service, region].activate()
        return self.stubs[service, region]

    def __call__(self, service: str, region: str) -> Any:
        self.stub(service, region)
        return self.clients[service, region]

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def clients() -> Iterator[Clients]:
    made = Clients()
    yield made
    made.verify()


class FakeClock:
    """A monotonic clock that only the injected sleep moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def metric(version: str, outcome: str) -> dict[str, Any]:
    dimensions = [{"Name": "version", "Value": version}, {"Name": "outcome", "Value": outcome}]
    return {"Namespace": NAMESPACE, "MetricName": "requests", "Dimensions": dimensions}


def query(index: int, version: str, outcome: str, period: int = HOUR) -> dict[str, Any]:
    stat = {"Metric": metric(version, outcome), "Period": period, "Stat": "Sum"}
    return {"Id": f"m{index}", "MetricStat": stat, "ReturnData": True}


def points(index: int, *pairs: tuple[float, float], status: str = "Complete") -> dict[str, Any]:
    """A GetMetricData result: ``(hours before NOW, value)`` pairs."""
    return {
        "Id": f"m{index}",
        "Label": "requests",
        "Timestamps": [NOW - timedelta(hours=hours) for hours, _ in pairs],
        "Values": [value for _, value in pairs],
        "StatusCode": status,
    }


def list_metrics(stub: Stubber, *pages: list[dict[str, Any]], version: str | None = None) -> None:
    for number, page in enumerate(pages):
        dimensions = [{"Name": "version", "Value": version}] if version else []
        expected: dict[str, Any] = {"Namespace": NAMESPACE, "MetricName": "requests", "Dimensions": dimensions}
        if number:
            expected["NextToken"] = f"page{number}"
        response: dict[str, Any] = {"Metrics": page}
        if number < len(pages) - 1:
            response["NextToken"] = f"page{number + 1}"
        stub.add_response("list_metrics", response, expected)


def start_query(stub: Stubber, query_id: str) -> None:
    expected = {
        "logGroupName": GROUP,
        "startTime": int(WEEK.start.timestamp()),
        "endTime": int(WEEK.end.timestamp()),
        "queryString": INSIGHTS_QUERY,
        "limit": 10_000,
    }
    stub.add_response("start_query", {"queryId": query_id}, expected)


def row(version: str, outcome: str, keyed: str, requests: int, clients: int, last_seen: str) -> dict[str, str]:
    """A result row of ``INSIGHTS_QUERY``, as Logs Insights returns it (every value a string)."""
    return {"version": version, "outcome": outcome, "keyed": keyed, "requests": str(requests),
            "clients": str(clients), "lastSeen": last_seen}  # fmt: skip


def results(stub: Stubber, query_id: str, status: str, rows: list[dict[str, str]] = (), scanned: float = 0) -> None:  # type: ignore[assignment]
    response: dict[str, Any] = {
        "status": status,
        "results": [[{"field": name, "value": value} for name, value in row.items()] for row in rows],
        "statistics": {"recordsMatched": 1.0, "recordsScanned": 1.0, "bytesScanned": scanned},
    }
    stub.add_response("get_query_results", response, {"queryId": query_id})


def stub_us_east_1(clients: Clients) -> None:
    """Three series over two ListMetrics pages (and one with other dimensions, not ours), read in two GetMetricData
    pages; Logs Insights needs three polls."""
    cloudwatch = clients.stub("cloudwatch", "us-east-1")
    other = {"Namespace": NAMESPACE, "MetricName": "requests", "Dimensions": [{"Name": "version", "Value": V2}]}
    list_metrics(cloudwatch, [metric(V2, "routed"), other, metric(V2, "default")], [metric(V1, "deprecated")])
    queries = [query(0, V2, "routed"), query(1, V2, "default"), query(2, V1, "deprecated")]
    expected = {"MetricDataQueries": queries, "StartTime": WEEK.start, "EndTime": WEEK.end}
    first = [points(0, (1, 100.0), (2, 50.0), status="PartialData"), points(1, (3, 7.0))]
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": first, "NextToken": "more"}, expected)
    second = [points(0, (30, 25.0)), points(2, (5, 10.0), (150, 0.0))]
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": second}, {**expected, "NextToken": "more"})
    logs = clients.stub("logs", "us-east-1")
    start_query(logs, "q-use1")
    results(logs, "q-use1", "Scheduled")
    results(logs, "q-use1", "Running")
    rows = [  # the logs count fewer requests than the metrics (delivery is best effort): the metrics win
        row(V1, "deprecated", "1", 9, 4, "2026-05-28 07:12:13.456"),
        row(V1, "routed", "0", 2, 0, "2026-05-20 01:00:00.000"),
        row(V2, "routed", "0", 170, 1, "2026-05-28 11:40:00.000"),  # 1: a null "client" counted as a value
    ]
    results(logs, "q-use1", "Complete", rows, scanned=2_000_000)


def stub_eu_west_1(clients: Clients) -> None:
    cloudwatch = clients.stub("cloudwatch", "eu-west-1")
    list_metrics(cloudwatch, [metric(V1, "deprecated"), metric(V2, "routed")])
    queries = [query(0, V1, "deprecated"), query(1, V2, "routed")]
    response = {"MetricDataResults": [points(0, (2, 3.0)), points(1, (0.5, 40.0))]}
    cloudwatch.add_response("get_metric_data", response, {"MetricDataQueries": queries, "StartTime": ANY,
                                                           "EndTime": ANY})  # fmt: skip
    logs = clients.stub("logs", "eu-west-1")
    start_query(logs, "q-euw1")
    rows = [row(V1, "deprecated", "true", 3, 2, "2026-05-28 09:00:00.000")]
    results(logs, "q-euw1", "Complete", rows, scanned=1_000_000)


def stub_empty(clients: Clients, region: str) -> None:
    """A region the function never ran in: no metrics, no log group."""
    list_metrics(clients.stub("cloudwatch", region), [])
    message = "Log group '/aws/lambda/us-east-1.shop-edge-router' does not exist for account ID '123456789012'"
    clients.stub("logs", region).add_client_error("start_query", "ResourceNotFoundException", message)


def stub_throttled(clients: Clients, region: str) -> None:
    clients.stub("cloudwatch", region).add_client_error("list_metrics", "Throttling", "Rate exceeded", 400)
    start_query(clients.stub("logs", region), "q-thr")
    results(clients.stub("logs", region), "q-thr", "Complete")


def test_usage_is_summed_over_regions_and_a_throttled_one_makes_it_partial(clients: Clients) -> None:
    stub_us_east_1(clients)
    stub_eu_west_1(clients)
    stub_empty(clients, "ap-south-1")
    stub_throttled(clients, "sa-east-1")
    clock = FakeClock()
    target = AwsTarget(NAMESPACE, GROUP, ("us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"))
    report = gather(target, WEEK, clients, now=NOW, clock=clock, sleep=clock.sleep)

    assert [(v.version, v.outcomes, v.clients) for v in report.versions] == [
        (V2, {"routed": 215, "default": 7}, None),
        (V1, {"deprecated": 13}, 6),
    ]
    assert report.total == 235 and round(report.share(report.versions[0]), 1) == 94.5
    by_version = {v.version: v.last_seen for v in report.versions}
    assert by_version[V2] == datetime(2026, 5, 28, 11, 40, tzinfo=UTC)  # the log's time beats the hourly metric
    assert by_version[V1] == datetime(2026, 5, 28, 10, 0, tzinfo=UTC)  # eu-west-1's metric point is the latest
    assert report.partial and [source.name for source in report.failed] == ["sa-east-1"]
    assert report.failed[0].errors == ["metrics: Throttling: Rate exceeded"]
    regions = {source["region"]: source for source in report.as_json()["regions"]}
    assert regions["us-east-1"]["requests"] == 192 and regions["eu-west-1"]["requests"] == 43
    assert regions["ap-south-1"] == {"region": "ap-south-1", "requests": 0, "outcomes": {}, "counted_from": "metrics",
                                     "metrics": 0, "insights_bytes_scanned": 0, "errors": []}  # fmt: skip
    assert report.metric_count == 5 and report.bytes_scanned == 3_000_000
    assert report.clients_approximate
    assert clock.pauses == [0.5, 1.0]  # polled until Complete, each pause longer


def test_a_region_without_metrics_is_counted_from_its_logs(clients: Clients) -> None:
    list_metrics(clients.stub("cloudwatch", "eu-west-1"), [])  # deployed with UsageMetrics=false
    logs = clients.stub("logs", "eu-west-1")
    start_query(logs, "q-nometrics")
    rows = [
        row(V2, "routed", "0", 30, 0, "2026-05-28 11:00:00.000"),
        row(V1, "deprecated", "1", 5, 2, "2026-05-28 10:00:00.000"),
    ]
    results(logs, "q-nometrics", "Complete", rows, scanned=500_000)
    clock = FakeClock()
    report = gather(AwsTarget(NAMESPACE, GROUP, ("eu-west-1",)), WEEK, clients, now=NOW, clock=clock, sleep=clock.sleep)
    assert [(v.version, v.requests, v.clients) for v in report.versions] == [(V2, 30, None), (V1, 5, 2)]
    assert report.sources[0].counted_from == "logs" and report.metric_count == 0
    assert report.notes == ("no usage metrics in eu-west-1: requests counted from the logs there",)


def test_the_rendered_report_names_partial_totals_and_the_approximation(clients: Clients) -> None:
    stub_us_east_1(clients)
    stub_throttled(clients, "sa-east-1")
    clock = FakeClock()
    target = AwsTarget(NAMESPACE, GROUP, ("us-east-1", "sa-east-1"))
    text = usage_command.render(gather(target, WEEK, clients, now=NOW, clock=clock, sleep=clock.sleep))
    lines = text.splitlines()
    assert lines[0] == (
        "usage in EdgeRouter/shop from 2026-05-21 12:00Z to 2026-05-28 12:00Z: 2 regions, 1 with requests, 1 failed"
    )
    assert lines[2].split() == [V2, "182", "94.8%", "routed", "175,", "default", "7", "-", "2026-05-28", "11:40Z"]
    assert lines[3].split() == [V1, "10", "5.2%", "deprecated", "10", "~4", "2026-05-28", "07:12Z"]
    assert lines[4].split() == ["TOTAL", "192", "100%", "partial:", "1", "of", "2", "regions", "failed"]
    assert lines[5].startswith("~ deprecated clients: distinct keyed client ids per region (Logs Insights")
    assert "cost: 3 custom metrics" in text and "$0.90 a month" in text and "scanned 2.0 MB" in text


def test_more_than_500_series_are_read_in_batches_of_500(clients: Clients) -> None:
    cloudwatch = clients.stub("cloudwatch", "us-east-1")
    versions = [f"v{number}" for number in range(501)]
    list_metrics(cloudwatch, [metric(version, "routed") for version in versions])
    window = Window(NOW - timedelta(hours=1), NOW)
    for first, size in ((0, 500), (500, 1)):
        queries = [query(index, versions[first + index], "routed", 60) for index in range(size)]
        response = {"MetricDataResults": [points(index, (0.1, 1.0)) for index in range(size)]}
        expected = {"MetricDataQueries": queries, "StartTime": window.start, "EndTime": window.end}
        cloudwatch.add_response("get_metric_data", response, expected)
    report = gather(AwsTarget(NAMESPACE, None, ("us-east-1",)), window, clients, now=NOW)
    assert len(report.versions) == 501 and report.total == 501 and report.metric_count == 501
    assert report.notes[0].startswith("no Logs Insights query")


def test_a_query_that_never_completes_is_stopped_and_fails_the_region(clients: Clients) -> None:
    logs = clients.stub("logs", "us-east-1")
    start_query(logs, "q-slow")
    for _ in range(4):
        results(logs, "q-slow", "Running")
    logs.add_response("stop_query", {"success": True}, {"queryId": "q-slow"})
    clock = FakeClock()
    with pytest.raises(AdminError, match=r"still Running after 5 s"):
        region_logs(clients("logs", "us-east-1"), GROUP, WEEK, timeout=5, clock=clock, sleep=clock.sleep)
    assert clock.pauses == [0.5, 1.0, 2.0] and clock.now <= 5


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "Timeout"])
def test_a_failed_query_fails_the_region(clients: Clients, status: str) -> None:
    logs = clients.stub("logs", "us-east-1")
    start_query(logs, "q-bad")
    results(logs, "q-bad", status)
    with pytest.raises(AdminError, match=f"ended {status}"):
        region_logs(clients("logs", "us-east-1"), GROUP, WEEK, timeout=5, clock=FakeClock(), sleep=FakeClock().sleep)


def test_every_region_failing_is_an_error_not_an_empty_table(clients: Clients) -> None:
    for region in ("us-east-1", "eu-west-1"):
        clients.stub("cloudwatch", region).add_client_error("list_metrics", "AccessDenied", "not authorized", 403)
    with pytest.raises(AdminError, match=r"no region answered; us-east-1: metrics: AccessDenied: not authorized"):
        gather(AwsTarget(NAMESPACE, None, ("us-east-1", "eu-west-1")), WEEK, clients, now=NOW)


def test_metric_data_errors_fail_the_region(clients: Clients) -> None:
    cloudwatch = clients.stub("cloudwatch", "eu-west-1")
    list_metrics(cloudwatch, [metric(V1, "routed")])
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": [points(0, status="Forbidden")]})
    list_metrics(clients.stub("cloudwatch", "us-east-1"), [])
    report = gather(AwsTarget(NAMESPACE, None, ("us-east-1", "eu-west-1")), WEEK, clients, now=NOW)
    assert report.failed[0].name == "eu-west-1" and "Forbidden" in report.failed[0].errors[0]


@pytest.mark.parametrize(
    ("age", "span", "period"),
    [
        (timedelta(minutes=30), timedelta(minutes=30), 60),
        (timedelta(hours=24), timedelta(hours=24), 60),
        (timedelta(days=7), timedelta(days=7), 3600),  # 2,016 five-minute points would be too many
        (timedelta(days=3), timedelta(days=3), 300),
        (timedelta(days=20), timedelta(days=1), 300),  # 1-minute data is gone after 15 days
        (timedelta(days=90), timedelta(days=90), 86_400),
        (timedelta(days=60), timedelta(days=2), 300),
        (timedelta(days=400), timedelta(days=40), 3600),
    ],
)
def test_metric_period_follows_cloudwatch_retention(age: timedelta, span: timedelta, period: int) -> None:
    start = NOW - age
    assert metric_period(Window(start, start + span), NOW) == period


def function_resource(physical_id: str) -> dict[str, Any]:
    """The stack's router function as DescribeStackResources lists it (the stack is named ``shop``)."""
    return {
        "StackName": "shop",
        "LogicalResourceId": "EdgeRouterFunction",
        "PhysicalResourceId": physical_id,
        "ResourceType": "AWS::Lambda::Function",
        "Timestamp": NOW,
        "ResourceStatus": "CREATE_COMPLETE",
    }


def test_function_and_namespace_come_from_the_stack(clients: Clients) -> None:
    stub = clients.stub("cloudformation", "us-east-1")
    arn = "arn:aws:cloudformation:us-east-1:1:stack/shop/x"
    expected = {"StackName": arn, "LogicalResourceId": "EdgeRouterFunction"}
    stub.add_response("describe_stack_resources", {"StackResources": [function_resource("shop-fn")]}, expected)
    cloudformation = clients("cloudformation", "us-east-1")
    assert function_from_stack(cloudformation, arn) == ("shop", "shop-fn")
    stub.add_client_error("describe_stack_resources", "ValidationError", "Stack with id nope does not exist")
    with pytest.raises(AdminError, match=r"stack 'nope': ValidationError: Stack with id nope does not exist"):
        function_from_stack(cloudformation, "nope")
    stub.add_response("describe_stack_resources", {"StackResources": []})
    with pytest.raises(AdminError, match="has no EdgeRouterFunction resource"):
        function_from_stack(cloudformation, "other")


class FakeSession:
    """Stands in for ``boto3.session.Session``: hands out the stubbed clients (the command's one choke point)."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def client(self, service: str, region_name: str, config: Any = None) -> Any:
        assert config.connect_timeout == 2.5 and config.read_timeout == 2.5
        return self._clients(service, region_name)


def test_command_with_stack_prints_table_and_warns_about_the_failed_region(
    clients: Clients, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("boto3.session.Session", lambda profile_name=None: FakeSession(clients))
    resources = {"StackResources": [function_resource("shop-edge-router")]}
    clients.stub("cloudformation", "us-east-1").add_response("describe_stack_resources", resources)
    cloudwatch = clients.stub("cloudwatch", "eu-west-1")
    list_metrics(cloudwatch, [metric(V1, "deprecated")], version=V1)
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": [points(0, (10, 9.0))]})
    logs = clients.stub("logs", "eu-west-1")
    logs.add_response("start_query", {"queryId": "q"}, {"logGroupName": GROUP, "startTime": ANY, "endTime": ANY,
                                                         "queryString": INSIGHTS_QUERY, "limit": 10_000})  # fmt: skip
    results(logs, "q", "Complete", [row(V1, "deprecated", "1", 9, 3, "2026-05-28 07:00:00")])
    clients.stub("cloudwatch", "us-east-2").add_client_error("list_metrics", "Throttling", "Rate exceeded", 400)
    results_stub = clients.stub("logs", "us-east-2")
    results_stub.add_client_error("start_query", "AccessDeniedException", "not allowed", 400)

    status = main(["usage", "--stack", "shop", "--regions", "eu-west-1,us-east-2", "--timeout", "2.5",
                   "--since", "3650d", "--version", V1])  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0
    assert err == (
        "edge-router: warning: us-east-2: metrics: Throttling: Rate exceeded; "
        "logs: AccessDeniedException: not allowed\n"
    )
    lines = out.splitlines()
    assert lines[0].startswith("usage in EdgeRouter/shop from ") and lines[0].endswith("1 with requests, 1 failed")
    assert lines[2].split() == [V1, "9", "100.0%", "deprecated", "9", "~3", "2026-05-28", "07:00Z"]
    assert "note: versions with no requests in the last 14 days are missing" in out


def test_command_refuses_bad_regions_and_timeouts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "--namespace", NAMESPACE, "--regions", "Mars-1"]) == 2
    assert "'Mars-1' is not an AWS region name" in capsys.readouterr().err
    assert main(["usage", "--namespace", NAMESPACE, "--regions", "us-east1"]) == 2
    assert "'us-east1' is not an AWS region name" in capsys.readouterr().err
    for option, value, maximum in (
        ("--query-timeout", "0", "3600"),
        ("--query-timeout", "nan", "3600"),
        ("--query-timeout", "inf", "3600"),
        ("--timeout", "nan", "300"),
        ("--timeout", "inf", "300"),
        ("--timeout", "301", "300"),
    ):
        assert main(["usage", "--namespace", NAMESPACE, option, value]) == 2
        err = capsys.readouterr().err
        assert err == f"edge-router: error: {option} must be a number of seconds above 0 and at most {maximum}\n"


class SlowLogs:
    """A Logs Insights client whose query never completes; records when it is stopped."""

    def __init__(self) -> None:
        self.meta = type("Meta", (), {"region_name": "us-east-1"})()
        self.started = threading.Event()
        self.stopped = threading.Event()

    def start_query(self, **_kwargs: Any) -> dict[str, str]:
        self.started.set()
        return {"queryId": "q-long"}

    def get_query_results(self, queryId: str) -> dict[str, str]:
        return {"status": "Running"}

    def stop_query(self, queryId: str) -> dict[str, bool]:
        self.stopped.set()
        return {"success": True}


class InterruptedCloudWatch:
    """A CloudWatch client whose first call is where Ctrl-C lands (once the logs query is running)."""

    def __init__(self, logs: SlowLogs) -> None:
        self.meta = type("Meta", (), {"region_name": "us-east-1"})()
        self._logs = logs

    def get_paginator(self, _name: str) -> Any:
        self._logs.started.wait(10)
        raise KeyboardInterrupt


def test_ctrl_c_stops_the_running_queries_without_waiting_for_them() -> None:
    logs = SlowLogs()
    cloudwatch = InterruptedCloudWatch(logs)

    def client_for(service: str, _region: str) -> Any:
        return logs if service == "logs" else cloudwatch

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        gather(AwsTarget(NAMESPACE, GROUP, ("us-east-1",)), WEEK, client_for, now=NOW, query_timeout=60)
    assert time.monotonic() - started < 10  # not the query's 60 s
    assert logs.stopped.wait(10)  # the poll stopped its query at once (it keeps scanning, and billing, otherwise)
