"""What the admin commands print: short actor names, lifecycle flags, the 120-column list, the detail view."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge_router.admin.render import field_values, fit_actor, flags, render_detail, render_table, short_actor
from edge_router.admin.rows import MappingRow
from edge_router.lifecycle import parse_instant
from edge_router.mapping import OriginRules

RULES = OriginRules()
API = "abc123.execute-api.us-east-1.amazonaws.com"
CANARY = "def456.execute-api.us-east-1.amazonaws.com"
V1 = "application/vnd.example.v1+json"
V2 = "application/vnd.example.v2+json"
NOW = float(parse_instant("2026-07-01"))
ALICE = "arn:aws:sts::123456789012:assumed-role/Admin/alice"
WHEN = datetime(2026, 6, 30, 9, 15, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (ALICE, "assumed-role/Admin/alice"),
        ("arn:aws:iam::123456789012:user/bob", "user/bob"),
        ("arn:aws-us-gov:iam::123456789012:role/ops/Deployer", "role/ops/Deployer"),
        (
            "cloudformation:arn:aws:cloudformation:us-east-1:123456789012:stack/edge/0a1b2c3d-0000-1111-2222-333344445555",
            "stack/edge",
        ),
        ("alice@laptop", "alice@laptop"),
        ("arn:not-really", "arn:not-really"),
    ],
)
def test_short_actor(text: str, shown: str) -> None:
    assert short_actor(text) == shown


LIFECYCLE_ROW = MappingRow(
    V1,
    API,
    "/Prod/v1",
    deprecated_at="2026-06-01T00:00:00Z",
    sunset_at="2026-12-01T12:30:00Z",
    successor=V2,
    info_url="https://example.com/v1",
    updated_by=ALICE,
    updated_at=WHEN,
    revision=7,
)
DEFAULT_ROW = MappingRow(
    V2,
    API,
    "/Prod/v2",
    is_default=True,
    canary_domain=CANARY,
    canary_path="/Canary/v2",
    canary_percent=12.5,
    updated_by="cloudformation:arn:aws:cloudformation:us-east-1:123456789012:stack/edge/0a1b2c3d-0000-1111-2222-333344445555",
    updated_at=WHEN,
    revision=1,
)


def test_flags_show_lifecycle_and_canary_at_a_glance() -> None:
    assert flags(LIFECYCLE_ROW.attributes(), NOW) == [
        "deprecated 2026-06-01",
        "sunset 2026-12-01T12:30Z",
        f"successor {V2}",
    ]
    assert flags(DEFAULT_ROW.attributes(), NOW) == ["default", f"canary 12.5% -> {CANARY}/Canary/v2"]
    gone = MappingRow("v0", API, sunset_at="2026-01-01T00:00:00Z")
    assert flags(gone.attributes(), NOW) == ["sunset 2026-01-01 (gone: 410)"]
    assert flags(MappingRow("v3", API).attributes(), NOW) == []


def test_the_list_fits_120_columns_with_flags_under_each_row() -> None:
    plain = MappingRow("v3", API, "/Prod/v3")  # never written by the tool: no author, time or revision
    bad = MappingRow("v9", "evil.example.com", updated_by="alice@laptop", updated_at=WHEN, revision=2)
    text = render_table([LIFECYCLE_ROW, DEFAULT_ROW, plain, bad], RULES, NOW)
    assert text.splitlines() == [
        "KEY                              ORIGIN                                              REV  UPDATED     BY",
        f"{V1}  {API}/Prod/v1    7  2026-06-30  .../Admin/alice",
        f"    deprecated 2026-06-01, sunset 2026-12-01T12:30Z, successor {V2}",
        f"{V2}  {API}/Prod/v2    1  2026-06-30  stack/edge",
        f"    default, canary 12.5% -> {CANARY}/Canary/v2",
        f"v3                               {API}/Prod/v3    -  -           -",
        f"v9                               {'evil.example.com':50}    2  2026-06-30  alice@laptop",
        "    SKIPPED by the router: row 'v9': domain 'evil.example.com' is outside the allowed origin suffixes",
        "      (*.execute-api.*.amazonaws.com)",
    ]
    assert max(len(line) for line in text.splitlines()) <= 120


def test_a_long_author_loses_its_leading_segments_first_then_characters() -> None:
    assert fit_actor("assumed-role/Admin/alice", 24) == "assumed-role/Admin/alice"
    assert fit_actor("assumed-role/Admin/alice", 18) == ".../Admin/alice"
    assert fit_actor("assumed-role/" + "R" * 40 + "/alice", 18) == ".../alice"
    assert fit_actor("x" * 40 + "@host", 12) == "...xxxx@host"
    row = MappingRow(V1, API, "/Prod/v1", updated_by="x" * 40 + "@host", updated_at=WHEN, revision=1)
    line = render_table([row], RULES, NOW).splitlines()[1]
    assert len(line) == 120 and line.endswith("x@host")
    # wide enough: the author in full
    assert render_table([row], RULES, NOW, width=200).splitlines()[1].endswith(" " + "x" * 40 + "@host")


def test_the_detail_view_has_every_field_and_the_full_author() -> None:
    assert render_detail(LIFECYCLE_ROW, RULES, NOW).splitlines() == [
        f"key         {V1}",
        f"domain      {API}",
        "path        /Prod/v1",
        "default     no",
        "deprecated  2026-06-01T00:00:00Z",
        "sunset      2026-12-01T12:30:00Z",
        f"successor   {V2}",
        "info url    https://example.com/v1",
        "canary      -",
        "revision    7",
        f"updated     2026-06-30T09:15:02Z by {ALICE}",
        "router      routes",
    ]
    after_sunset = render_detail(LIFECYCLE_ROW, RULES, float(parse_instant("2027-01-01")))
    assert after_sunset.splitlines()[-1] == "router      answers 410 Gone (past its sunset)"
    unreadable = MappingRow("v8", "", unreadable="row 'v8': cannot be read (wrong type)")
    assert render_detail(unreadable, RULES, NOW).splitlines()[-1] == (
        "router      skips this row: row 'v8': cannot be read (wrong type)"
    )


def test_field_values_name_the_file_fields() -> None:
    assert field_values(DEFAULT_ROW.attributes()) == {
        "origin": f"{API}/Prod/v2",
        "default": "yes",
        "deprecatedAt": "-",
        "sunsetAt": "-",
        "successor": "-",
        "infoUrl": "-",
        "canary": f"12.5% -> {CANARY}/Canary/v2",
    }
