"""The import diff and transaction chunking. Pure: no network."""

from __future__ import annotations

import pytest

from edge_router.admin.diff import ChangeKind, plan_import
from edge_router.admin.errors import AdminError
from edge_router.admin.rows import MappingRow, MappingSpec
from edge_router.admin.table import TRANSACTION_LIMIT, chunked

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
    assert plan.changes[0].describe() == f"~ v1  {API}/Prod/v1 -> {API}/Prod/v1 (default)"


def test_stored_rows_that_collide_once_normalised_are_refused() -> None:
    with pytest.raises(AdminError, match="same version once normalised"):
        plan_import([MappingRow("v1", API), MappingRow("V1", API)], [], prune=False)


def test_empty_plan() -> None:
    plan = plan_import(CURRENT, [MappingSpec(r.key.lower(), r.domain, r.path) for r in CURRENT], prune=True)
    assert plan.changes == ()
    assert plan.summary() == "0 change(s): 0 added, 0 changed, 0 removed; 3 unchanged"


@pytest.mark.parametrize(("count", "sizes"), [(0, []), (1, [1]), (100, [100]), (101, [100, 1]), (250, [100, 100, 50])])
def test_chunks_stay_within_the_transaction_limit(count: int, sizes: list[int]) -> None:
    changes = plan_import([], [MappingSpec(f"v{i}", API) for i in range(count)], prune=False).changes
    assert [len(chunk) for chunk in chunked(changes)] == sizes
    assert TRANSACTION_LIMIT == 100
