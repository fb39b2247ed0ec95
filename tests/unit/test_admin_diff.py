"""The import diff: matching by normalised key, and every field it shows (lifecycle and canary too). Pure."""

from __future__ import annotations

import pytest

from edge_router.admin.diff import ChangeKind, plan_import
from edge_router.admin.errors import AdminError
from edge_router.admin.rows import MappingRow, MappingSpec
from edge_router.lifecycle import parse_instant
from edge_router.mapping import Canary, Origin

API = "abc123.execute-api.us-east-1.amazonaws.com"
NEW = "def456.execute-api.us-east-1.amazonaws.com"
CURRENT = [
    MappingRow("v1", API, "/Prod/v1", revision=1),
    MappingRow("V2", API, "/Prod/v2"),  # written by the original sample: not normalised, no revision
    MappingRow("v3", API, "/Prod/v3", revision=4),
]
DESIRED = [MappingSpec("v2", NEW, "/Stage/v2"), MappingSpec("v3", API, "/Prod/v3"), MappingSpec("v4", API, "/v4")]


def test_plan_matches_by_normalised_key_and_keeps_stored_form() -> None:
    plan = plan_import(CURRENT, DESIRED, prune=False)
    assert [(c.kind, c.key) for c in plan.changes] == [(ChangeKind.CHANGED, "V2"), (ChangeKind.ADDED, "v4")]
    assert plan.unchanged == 1
    assert plan.kept == ("v1",)
    assert plan.render().splitlines() == [
        f"~ V2  {API}/Prod/v2 -> {NEW}/Stage/v2",
        f"+ v4  {API}/v4",
        "2 change(s): 1 added, 1 changed, 0 removed; 1 unchanged; 1 row(s) not in the file kept (--prune removes them)",
    ]


def test_prune_removes_rows_absent_from_the_file_first() -> None:
    plan = plan_import(CURRENT, DESIRED, prune=True)
    assert (plan.changes[0].kind, plan.changes[0].key) == (ChangeKind.REMOVED, "v1")
    assert plan.count(ChangeKind.REMOVED) == 1
    assert plan.kept == ()
    assert f"- v1  {API}/Prod/v1" in plan.render()


def test_default_mark_counts_as_a_change() -> None:
    plan = plan_import(CURRENT, [MappingSpec("v1", API, "/Prod/v1", is_default=True)], prune=False)
    assert plan.changes[0].describe() == "~ v1  default: no -> yes"


DEPRECATED = MappingSpec(
    "v1",
    API,
    "/Prod/v1",
    deprecated_at=parse_instant("2026-06-01"),
    sunset_at=parse_instant("2026-12-01"),
    successor="v3",
    info_url="https://example.com/v1",
)


def test_lifecycle_and_canary_changes_are_shown_field_by_field() -> None:
    plan = plan_import(CURRENT, [DEPRECATED], prune=False)
    assert plan.changes[0].describe() == (
        "~ v1  deprecatedAt: - -> 2026-06-01T00:00:00Z; sunsetAt: - -> 2026-12-01T00:00:00Z; successor: - -> v3; "
        "infoUrl: - -> https://example.com/v1"
    )
    stored = MappingRow("v1", API, "/Prod/v1", deprecated_at="2026-06-01T00:00:00Z", sunset_at="2026-12-01T00:00:00Z",
                        successor="v3", info_url="https://example.com/v1", revision=2)  # fmt: skip
    assert plan_import([stored], [DEPRECATED], prune=False).changes == ()
    canary = MappingSpec("v1", NEW, "/Prod/v1", canary=Canary(Origin(API, "/Canary"), 1250))
    (change,) = plan_import([stored], [canary], prune=False).changes
    assert change.describe() == (
        f"~ v1  {API}/Prod/v1 -> {NEW}/Prod/v1; deprecatedAt: 2026-06-01T00:00:00Z -> -; "
        f"sunsetAt: 2026-12-01T00:00:00Z -> -; successor: v3 -> -; infoUrl: https://example.com/v1 -> -; "
        f"canary: - -> 12.5% -> {API}/Canary"
    )


def test_added_and_removed_rows_show_what_they_carry() -> None:
    plan = plan_import([MappingRow("v9", API, is_default=True, canary_domain=NEW, canary_percent=5)], [DEPRECATED],
                       prune=True)  # fmt: skip
    assert plan.render().splitlines()[:2] == [
        f"- v9  {API}; default: yes; canary: 5% -> {NEW}",
        f"+ v1  {API}/Prod/v1; deprecatedAt: 2026-06-01T00:00:00Z; sunsetAt: 2026-12-01T00:00:00Z; successor: v3; "
        "infoUrl: https://example.com/v1",
    ]


def test_stored_rows_that_collide_once_normalised_are_refused() -> None:
    with pytest.raises(AdminError, match="same version once normalised"):
        plan_import([MappingRow("v1", API), MappingRow("V1", API)], [], prune=False)


def test_empty_plan() -> None:
    plan = plan_import(CURRENT, [MappingSpec(r.key.lower(), r.domain, r.path) for r in CURRENT], prune=True)
    assert plan.changes == ()
    assert plan.summary() == "0 change(s): 0 added, 0 changed, 0 removed; 3 unchanged"
