"""``edge-router usage --log-file`` on lines the real router wrote with a metrics namespace configured: every
outcome (an outage against DynamoDB over HTTP included), exact distinct clients, the printed table and ``--json``."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_router import config
from edge_router.cf_events import origin_request_event
from edge_router.cli import main
from edge_router.config import RouterConfig
from edge_router.log import JsonLogger
from edge_router.router import Router
from edge_router.store import DynamoMappingStore, MappingSource, Row, StoreTimeouts, TableRead
from tests.unit.test_request_metrics import emf_violations

pytestmark = pytest.mark.functional

API = "abc123.execute-api.us-east-1.amazonaws.com"
V0, V1, V2, V3 = (f"application/vnd.example.v{number}+json" for number in range(4))
NAMESPACE = "EdgeRouter/functional"
ROWS: list[Row] = [
    {
        "hk": V0,
        "dn": API,
        "dp": "/Prod/v0",
        "deprecated_at": "2025-01-01T00:00:00Z",
        "sunset_at": "2026-01-01T00:00:00Z",
    },
    {"hk": V1, "dn": API, "dp": "/Prod/v1", "deprecated_at": "2026-01-01T00:00:00Z"},
    {"hk": V2, "dn": API, "dp": "/Prod/v2", "is_default": True},
    {"hk": V3, "dn": API, "dp": "/Prod/v3", "canary_dn": API, "canary_dp": "/Canary/v3", "canary_percent": "100"},
]
"""Served from memory: the DynamoDB store reads rows through the PynamoDB model, which does not carry the
lifecycle and canary attributes yet, so through it no version would be deprecated, gone or split."""
TRAFFIC: list[tuple[str | None, str, int]] = [
    # (Accept, client IP, requests)
    (V2, "198.51.100.1", 6),
    (None, "198.51.100.2", 2),
    (V1, "198.51.100.10", 2),
    (V1, "198.51.100.11", 2),
    (V1, "198.51.100.12", 1),
    (V3, "198.51.100.3", 4),
    (V0, "198.51.100.4", 2),
    ("application/vnd.example.v9+json", "198.51.100.5", 3),
    ("@@@", "198.51.100.6", 1),  # nothing parsable: the default version
]
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\dZ")


@dataclass
class Rows:
    """A mapping source holding ``ROWS``."""

    clock = staticmethod(time.monotonic)

    def read_all(self, *, deadline: float) -> TableRead:
        return TableRead(list(ROWS), "us-east-1", unchanged=False, pages=1)


@pytest.fixture
def router_log(tmp_path: Path, dynamodb_endpoint: str) -> Path:
    """The real router's log after the traffic above, plus one request for a table DynamoDB does not have."""
    settings = {
        config.TABLE_NAME: "lifecycle",
        config.TABLE_REGIONS: "us-east-1",
        config.METRICS_NAMESPACE: NAMESPACE,
        config.HASH_KEY: "functional-test-hash-key",
    }
    timeouts = StoreTimeouts(connect=1, retries=0)

    def source(cfg: RouterConfig, regions: tuple[str, ...]) -> MappingSource:
        if cfg.table_name == "lifecycle":
            return Rows()
        return DynamoMappingStore(cfg.table_name, regions, dynamodb_endpoint, timeouts)

    path = tmp_path / "router.log"
    with path.open("w", encoding="utf-8") as stream:
        router = Router(executing_region="us-east-1", logger=JsonLogger(stream), store_factory=source)
        for accept, client_ip, count in TRAFFIC:
            headers = [("Accept", accept)] if accept is not None else []
            for _ in range(count):
                router.handle(origin_request_event(headers=headers, settings=settings, client_ip=client_ip))
        outage = {**settings, config.TABLE_NAME: "no-such-table"}
        assert router.handle(origin_request_event(headers=[("Accept", V2)], settings=outage))["status"] == "503"
    return path


def test_router_lines_are_valid_emf_and_the_table_adds_them_up(
    router_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request_lines = [text for text in router_log.read_text().splitlines() if json.loads(text)["msg"] == "request"]
    assert len(request_lines) == 24 and all(emf_violations(text) == [] for text in request_lines)

    started = datetime.now(UTC).replace(second=0, microsecond=0)
    assert main(["usage", "--log-file", str(router_log), "--since", "1h"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    heading, table_text = out.split("\nVERSION ", 1)
    assert " ".join(heading.split()).startswith(f"usage in {router_log} from ")
    lines = ["VERSION " + table_text.splitlines()[0], *table_text.splitlines()[1:]]
    table = "\n".join(lines[:8])
    times = [datetime.strptime(text, "%Y-%m-%d %H:%MZ").replace(tzinfo=UTC) for text in TIME.findall(table)]
    assert len(times) == 5 and all(started - timedelta(minutes=1) <= moment <= datetime.now(UTC) for moment in times)
    assert [TIME.sub("<t>", line) for line in lines[:8]] == [
        "VERSION                          REQUESTS  SHARE  OUTCOMES                              "
        "DEPR. CLIENTS  LAST SEEN",
        f"{V2}         9  37.5%  routed 6, default 3                               -  <t>",
        f"{V1}         5  20.8%  deprecated 5                                      3  <t>",
        "(none)                                  4  16.7%  unknown-version 3,                                -  <t>",
        "                                                  mappings-unavailable 1",
        f"{V3}         4  16.7%  canary 4                                          -  <t>",
        f"{V0}         2   8.3%  gone 2                                            -  <t>",
        "TOTAL                                  24   100%",
    ]
    footnotes = " ".join(" ".join(lines[8:]).split())
    assert footnotes.startswith(
        f"read {router_log}: 24 request lines in the window (24 with metrics), 0 malformed lines skipped"
    )
    assert (
        "cost: in AWS this traffic makes 7 custom metrics (version x outcome) in each region that serves it "
        "($2.10 a month" in footnotes
    )
    assert max(len(line) for line in out.splitlines()) <= 120


def test_json_and_version_filter_on_the_same_log(router_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["usage", "--log-file", str(router_log), "--json", "--version", "APPLICATION/vnd.example.V1+json"]) == 0
    document = json.loads(capsys.readouterr().out)
    (version,) = document["versions"]
    assert (version["version"], version["requests"], version["outcomes"], version["deprecated_clients"]) == (
        V1,
        5,
        {"deprecated": 5},
        3,
    )
    assert document["deprecated_clients_approximate"] is False and document["partial"] is False
    assert document["log_file"]["request_lines"] == 5 and document["costs"]["custom_metrics"] == 1
    assert 400 < document["log_file"]["request_line_bytes"] / 5 < 800  # measured size of a deprecated-version line
