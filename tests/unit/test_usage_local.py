"""``edge-router usage`` on a router log: the parser (malformed lines, time window, version filter), the report
and the rendered table, from lines the real request templates write."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge_router.admin.errors import UsageError
from edge_router.admin.usage import (
    LogStats,
    SourceUsage,
    UsageReport,
    Window,
    parse_since,
    read_log,
    summarize,
    version_filter,
)
from edge_router.cli import main
from edge_router.cli.usage import WIDTH, render, render_table
from edge_router.log import NO_VERSION, request_template

V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
NOW = datetime(2026, 5, 28, 12, 0, tzinfo=UTC)
WEEK = Window(NOW - timedelta(days=7), NOW)


def line(version: str, outcome: str, at: datetime | None, client: str | None = None, namespace: str = "E/x") -> str:
    """A request line as the router writes it (``at=None``: no namespace, so no metrics and no time)."""
    fields: dict[str, Any] = {"status": "routed", "version": version, "outcome": outcome}
    template = request_template(fields, namespace=namespace if at else "", client=client is not None)
    stamp = at.timestamp() * 1000 if at else 0
    values = ('"req"', "hit", 10, client, stamp) if client is not None else ('"req"', "hit", 10, stamp)
    return template % values


def local_report(usage: SourceUsage, stats: LogStats) -> UsageReport:
    return UsageReport(WEEK, summarize([usage]), (usage,), "local", log=stats)


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def test_counts_by_version_and_outcome_with_exact_distinct_clients() -> None:
    lines = [
        line(V2, "routed", hours_ago(1)),
        line(V2, "default", hours_ago(2)),
        line(V2, "canary", hours_ago(3)),
        line(V1, "deprecated", hours_ago(4), client="aaaa000000000001"),
        line(V1, "deprecated", hours_ago(5), client="aaaa000000000001"),
        line(V1, "deprecated", hours_ago(6), client="aaaa000000000002"),
        line(NO_VERSION, "unknown-version", hours_ago(7)),
    ]
    usage, stats = read_log(lines, WEEK, "log")
    assert dict(usage.requests) == {
        (V2, "routed"): 1,
        (V2, "default"): 1,
        (V2, "canary"): 1,
        (V1, "deprecated"): 3,
        (NO_VERSION, "unknown-version"): 1,
    }
    assert usage.clients == {V1: 2}
    assert usage.last_seen[V1] == hours_ago(4).replace(microsecond=0)
    assert usage.metrics == 5  # distinct version x outcome series
    assert (stats.request_lines, stats.malformed, stats.untimed, stats.emf_lines) == (7, 0, 0, 7)
    assert stats.request_bytes == sum(len(text) for text in lines)


def test_malformed_lines_are_skipped_and_counted_other_lines_ignored() -> None:
    lines = [
        "not json at all\n",
        '{"msg": "request", "version": "v1"}\n',  # a request line without an outcome
        "[1, 2]\n",
        '{"level":"INFO","msg":"mappings loaded","table":"t"}\n',  # not a request: ignored, not malformed
        "\n",
        line(V2, "routed", hours_ago(1)),
        '{"msg": "request", "version": "v1", "outcome": "ro',  # a line cut short
    ]
    usage, stats = read_log(lines, WEEK, "log")
    assert dict(usage.requests) == {(V2, "routed"): 1}
    assert (stats.request_lines, stats.malformed) == (1, 4)


def test_the_time_window_keeps_only_lines_inside_it() -> None:
    lines = [line(V2, "routed", hours_ago(hours)) for hours in (0, 23.9, 24.1, 200)]
    day = Window(NOW - timedelta(hours=24), NOW)
    usage, stats = read_log(lines, day, "log")
    assert usage.requests[V2, "routed"] == 2 and stats.request_lines == 2
    future = [line(V2, "routed", NOW + timedelta(minutes=5))]
    assert read_log(future, day, "log")[0].total == 0


def test_lines_without_metrics_count_whatever_the_window() -> None:
    lines = [line(V2, "routed", None), line(V1, "deprecated", None, client="bbbb000000000001")]
    usage, stats = read_log(lines, Window(NOW - timedelta(minutes=1), NOW), "log")
    assert usage.total == 2 and usage.clients == {V1: 1}
    assert (stats.untimed, stats.emf_lines) == (2, 0)
    assert usage.metrics == 2  # what these lines would make with a metrics namespace
    assert usage.last_seen == {}


def test_version_filter_reads_only_that_version() -> None:
    lines = [line(V2, "routed", hours_ago(1)), line(V1, "deprecated", hours_ago(1), client="c" * 16)]
    usage, stats = read_log(lines, WEEK, "log", V1)
    assert dict(usage.requests) == {(V1, "deprecated"): 1} and stats.request_lines == 1 and usage.metrics == 1


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("24h", NOW - timedelta(hours=24)),
        (" 30m ", NOW - timedelta(minutes=30)),
        ("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC)),
        ("2026-05-27T10:00:00Z", datetime(2026, 5, 27, 10, tzinfo=UTC)),
        ("2026-05-27T10:00:00+02:00", datetime(2026, 5, 27, 8, tzinfo=UTC)),
    ],
)
def test_since(text: str, start: datetime) -> None:
    assert parse_since(text, NOW) == Window(start, NOW)


@pytest.mark.parametrize("text", ["0d", "yesterday", "7w", "2026-06-01", "-3d", ""])
def test_since_refuses_what_it_cannot_place(text: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        parse_since(text, NOW)


def test_version_filter_normalises_like_the_router() -> None:
    assert version_filter("Application/Vnd.Example.V1+JSON") == V1
    assert version_filter(" V2 ") == "v2"
    assert version_filter(NO_VERSION) == NO_VERSION and version_filter(None) is None
    with pytest.raises(UsageError, match="--version"):
        version_filter("application/*")


def test_report_sorts_by_requests_and_computes_shares() -> None:
    lines = [line(V1, "deprecated", hours_ago(1), client="d" * 16)] + [line(V2, "routed", hours_ago(2))] * 3
    usage, stats = read_log(lines, WEEK, "log")
    report = local_report(usage, stats)
    assert [version.version for version in report.versions] == [V2, V1]
    assert [round(report.share(version), 1) for version in report.versions] == [75.0, 25.0]
    assert [version.clients for version in report.versions] == [None, 1]
    document = report.as_json()
    assert document["versions"][1] == {
        "version": V1,
        "requests": 1,
        "share": 25.0,
        "outcomes": {"deprecated": 1},
        "deprecated_clients": 1,
        "last_seen": "2026-05-28T11:00:00Z",
    }
    assert document["regions"] == [
        {"region": "local", "requests": 4, "outcomes": {"routed": 3, "deprecated": 1}, "counted_from": "log file",
         "metrics": 2, "insights_bytes_scanned": 0, "errors": []}
    ]  # fmt: skip
    assert document["costs"]["custom_metrics"] == 2 and document["partial"] is False


def test_the_table_fits_120_columns_with_long_versions_and_many_outcomes() -> None:
    long_version = "application/vnd.example-company.billing-and-invoicing.v12+json"
    outcomes = ["unknown-version", "missing-version", "invalid-version", "empty-version", "ambiguous-version",
                "mappings-unavailable"]  # fmt: skip
    lines = [line(NO_VERSION, outcome, hours_ago(1)) for outcome in outcomes for _ in range(1234)]
    lines += [line(long_version, "routed", hours_ago(1))] * 3
    usage, stats = read_log(lines, WEEK, "log")
    text = render(local_report(usage, stats))
    assert max(len(row) for row in text.splitlines()) <= WIDTH
    table = render_table(local_report(usage, stats)).splitlines()
    assert table[1].startswith(NO_VERSION) and "1,234" in table[1]
    wrapped = [row for row in table if row.startswith(" ")]
    assert wrapped and all(row.strip() for row in wrapped)  # the outcome list continues under its column
    outcome_column = table[0].index("OUTCOMES")
    assert all(row[:outcome_column].strip() == "" for row in wrapped)
    assert any(row.startswith("application/vnd.example-company.b...   ") for row in table)
    assert sum(row.count("-version") + row.count("mappings-unavailable") for row in table) == len(outcomes)


def test_command_reads_the_log_file_and_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "router.log"
    log.write_text(line(V2, "routed", datetime.now(UTC)) + "garbage\n")
    assert main(["usage", "--log-file", str(log), "--json"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert err == ""
    assert document["source"] == "local" and document["total_requests"] == 1
    assert document["log_file"]["malformed_lines"] == 1 and document["log_file"]["path"] == str(log)


def test_local_reads_the_stack_log_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["usage", "--local"]) == 1
    assert capsys.readouterr().err == (
        "edge-router: error: no router log at .edge-router/local/router.log: start the local stack (edge-router "
        "local) or pass --log-file\n"
    )
    (tmp_path / ".edge-router" / "local").mkdir(parents=True)
    (tmp_path / ".edge-router" / "local" / "router.log").write_text(line(V1, "routed", None))
    assert main(["usage", "--local"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2].split() == [V1, "1", "100.0%", "routed", "1", "-", "-"]
    assert "1 request lines carry no time" in out
    assert "this traffic would make, with a metrics namespace, 1 custom metrics" in " ".join(out.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--local", "--regions", "us-east-1"], "--regions is for AWS"),
        (["--local", "--no-logs", "--timeout", "-1"], "--no-logs is for AWS"),
        (["--local", "--timeout", "0"], "--timeout is for AWS"),
        (["--log-file", "x", "--query-timeout", "5"], "--query-timeout is for AWS"),
        (["--log-file", "x", "--stack", "s"], "--stack is for AWS"),
        (["--since", "yesterday", "--local"], "--since 'yesterday'"),
        (["--since", "999999999d", "--local"], "--since '999999999d' reaches back before the year 1"),
        (["--since", "9" * 30 + "m", "--local"], "reaches back before the year 1"),
        (["--version", "a/*", "--local"], "--version"),
        ([], "pass --stack NAME"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["usage", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edge-router: error: ") and message in err and err.count("\n") == 1
