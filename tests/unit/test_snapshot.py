"""The snapshot: duplicates after normalisation, several defaults, indexes, and validation of changed rows only."""

from __future__ import annotations

from typing import Any

import pytest

from edge_router import mapping as mapping_module
from edge_router.mapping import OriginRules
from edge_router.snapshot import CUSTOM_DATES, RowMemo, build_snapshot
from tests.helpers import API, SAMPLE_ROWS, V1, V2

RULES = OriginRules()


def row(key: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"hk": key, "dn": API, "dp": path, **extra}


@pytest.mark.parametrize("order", [1, -1])
def test_the_row_in_normal_form_wins_whatever_the_scan_order(order: int) -> None:
    rows = [row("V1", "/Prod/upper", updated_at="2026-01-02T00:00:00.000000+0000"), row("v1", "/Prod/lower")][::order]
    snapshot = build_snapshot(rows, RULES, loaded_at=0)
    assert snapshot.mappings["v1"].origin.path == "/Prod/lower"
    (skipped,) = snapshot.skipped
    assert skipped.startswith("row 'V1': skipped, same version as 'v1'")
    assert "stored in normal form" in skipped


def test_then_the_row_written_last_wins_then_key_order() -> None:
    later = row("V1 ", "/Prod/later", updated_at="2026-02-01T00:00:00.000000+0000")
    earlier = row(" V1", "/Prod/earlier", updated_at="2026-01-01T00:00:00.000000+0000")
    snapshot = build_snapshot([earlier, later], RULES, loaded_at=0)
    assert snapshot.mappings["v1"].origin.path == "/Prod/later"
    assert "written later" in snapshot.skipped[0] and snapshot.skipped[0].startswith("row ' V1'")
    tie = build_snapshot([row("V1 ", "/Prod/b"), row(" V1", "/Prod/a")], RULES, loaded_at=0)
    assert tie.mappings["v1"].origin.path == "/Prod/a"  # " V1" sorts before "V1 "
    assert "first in key order" in tie.skipped[0]


def test_several_defaults_pick_the_one_written_last_and_say_so() -> None:
    rows = [
        row(V1, "/Prod/v1", is_default=True, updated_at="2026-01-01T00:00:00.000000+0000"),
        row(V2, "/Prod/v2", is_default=True, updated_at="2026-03-01T00:00:00.000000+0000"),
    ]
    snapshot = build_snapshot(rows, RULES, loaded_at=0)
    assert snapshot.default is not None and snapshot.default.key == V2
    (warning,) = snapshot.warnings
    assert "several rows are the default" in warning and repr(V2) in warning
    single = build_snapshot([row(V1, "/Prod/v1", is_default=True)], RULES, loaded_at=0)
    assert single.default is not None and single.default.key == V1 and not single.warnings


def test_a_missing_successor_is_a_warning_not_a_skipped_row() -> None:
    snapshot = build_snapshot([row(V1, "/Prod/v1", successor="v7")], RULES, loaded_at=0)
    assert V1 in snapshot.mappings and not snapshot.skipped
    assert "successor 'v7' is not a mapping" in snapshot.warnings[0]


def test_indexes() -> None:
    rows = [
        *SAMPLE_ROWS,
        row("application/vnd.example+json; version=2", "/Prod/p2"),
        row("application/vnd.example+json; version=2025-01-01", "/Prod/d1"),
        row("2024-05-01", "/Prod/c1"),
        row("v3", "/Prod/v3", deprecated_at="2026-01-01", sunset_at="2026-06-01"),
    ]
    snapshot = build_snapshot(rows, RULES, loaded_at=0)
    assert snapshot.version_parameters == {"application/vnd.example+json": frozenset({"version"})}
    assert "application/vnd.example.v1+json" in snapshot.essences
    assert snapshot.dated[CUSTOM_DATES].dates == ("2024-05-01",)
    assert snapshot.dated["application/vnd.example+json;version"].dates == ("2025-01-01",)
    assert snapshot.instants == (1_767_225_600, 1_780_272_000)


def test_unchanged_rows_are_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = mapping_module.mapping_from_row

    def counting(candidate: Any, rules: OriginRules) -> Any:
        calls.append(candidate.get("hk"))
        return real(candidate, rules)

    monkeypatch.setattr("edge_router.snapshot.mapping_from_row", counting)
    memo = RowMemo()
    rows = [row(f"v{n}", f"/Prod/v{n}") for n in range(100)] + [row("bad", "/Prod/../x")]
    first = build_snapshot(rows, RULES, loaded_at=0, memo=memo)
    assert len(calls) == 101 and len(first.mappings) == 100 and len(first.skipped) == 1
    changed = [*rows[:99], row("v99", "/Prod/moved"), rows[100]]
    second = build_snapshot(changed, RULES, loaded_at=1, memo=memo)
    assert calls[101:] == ["v99"]  # only the changed row is validated again
    assert second.mappings["v99"].origin.path == "/Prod/moved" and second.skipped == first.skipped


@pytest.mark.parametrize(("valid", "invalid"), [(True, 1), (False, 0), (1, True)])
def test_a_value_of_another_type_is_a_changed_row_though_python_calls_them_equal(valid: Any, invalid: Any) -> None:
    memo = RowMemo()
    name = "is_default" if isinstance(valid, bool) else "canary_percent"
    extra = {"canary_dn": API} if name == "canary_percent" else {}
    first = build_snapshot([row("v1", "/Prod/v1", **{name: valid}, **extra)], RULES, loaded_at=0, memo=memo)
    assert "v1" in first.mappings and not first.skipped
    second = build_snapshot([row("v1", "/Prod/v1", **{name: invalid}, **extra)], RULES, loaded_at=1, memo=memo)
    assert "v1" not in second.mappings and len(second.skipped) == 1  # as without the memo


def test_reloaded_keeps_everything_but_time_and_region() -> None:
    snapshot = build_snapshot(SAMPLE_ROWS, RULES, loaded_at=5, region="us-east-1")
    again = snapshot.reloaded(99, "eu-west-1")
    assert (again.loaded_at, again.region) == (99, "eu-west-1")
    assert again.mappings is snapshot.mappings and again.instants == snapshot.instants
