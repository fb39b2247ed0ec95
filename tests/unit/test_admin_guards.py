"""Table-wide rules: which deletions need --force, which writes are refused. Pure: no network."""

from __future__ import annotations

from edge_router.admin.guards import deletion_problems, facts, table_facts, write_problems
from edge_router.admin.rows import MappingRow, MappingSpec
from edge_router.lifecycle import parse_instant

API = "abc123.execute-api.us-east-1.amazonaws.com"
NOW = float(parse_instant("2026-07-01"))
ROWS = [
    MappingRow("V1", API, successor="v2", sunset_at="2026-12-01T00:00:00Z"),  # stored by hand, not normalised
    MappingRow("v2", API, is_default=True),
    MappingRow("v3", API, sunset_at="2026-01-01T00:00:00Z"),
]


def test_facts_of_stored_rows_are_normalised_and_tolerate_bad_instants() -> None:
    assert facts(ROWS[0]).key == "v1" and facts(ROWS[0]).shown == "V1" and facts(ROWS[0]).successor == "v2"
    assert facts(MappingRow("v4", API, sunset_at="soon")).sunset_at is None
    spec = MappingSpec("v5", API, is_default=True, sunset_at=5)
    assert (facts(spec).is_default, facts(spec).sunset_at) == (True, 5)


def test_deleting_the_default_a_successor_or_the_last_row_needs_force() -> None:
    table = table_facts(ROWS)
    gone = table.pop("v2")
    assert deletion_problems(table, [gone]) == ["'v2' is the default version", "'v2' is the successor of 'V1'"]
    table = table_facts(ROWS)
    assert deletion_problems(table, [table.pop("v3")]) == []
    assert deletion_problems({}, [facts(ROWS[2])]) == [
        "it would delete the last mapping, and the router would then refuse every request"
    ]
    everything = [facts(row) for row in ROWS]
    assert deletion_problems({}, everything)[:2] == [
        "it would delete every mapping, and the router would then refuse every request",
        "'v2' is the default version",
    ]


def test_a_second_default_is_refused_naming_the_current_one() -> None:
    after = table_facts(ROWS)
    after["v1"] = facts(MappingSpec("v1", API, is_default=True))
    (problem,) = write_problems(after, [after["v1"]], NOW)
    assert problem.startswith("'v2' is already the default version, so 'v1' cannot be one too")
    assert "'mappings put v2 --no-default', then 'mappings put v1 --default'" in problem
    # the same mark written again is fine; two new ones at once are refused together
    assert write_problems(table_facts(ROWS), [facts(ROWS[1])], NOW) == []
    both = {key: facts(MappingSpec(key, API, is_default=True)) for key in ("a", "b")}
    assert write_problems(both, list(both.values()), NOW) == [
        "'a' and 'b' would all be the default version; only one row may be"
    ]


def test_a_default_past_its_sunset_is_refused() -> None:
    spec = MappingSpec("v9", API, is_default=True, sunset_at=parse_instant("2026-06-30"))
    (problem,) = write_problems({"v9": facts(spec)}, [facts(spec)], NOW)
    assert problem.startswith("'v9' is past its sunset (2026-06-30T00:00:00Z), so it cannot be the default version")
    future = MappingSpec("v9", API, is_default=True, sunset_at=parse_instant("2026-07-02"))
    assert write_problems({"v9": facts(future)}, [facts(future)], NOW) == []


def test_a_successor_must_exist_and_not_be_past_its_sunset() -> None:
    after = table_facts(ROWS)
    for successor, expected in (
        ("v2", []),
        ("v7", ["the successor of 'v6', 'v7', is not a mapping"]),
        ("v3", ["the successor of 'v6', 'v3', is itself past its sunset (2026-01-01T00:00:00Z)"]),
    ):
        written = facts(MappingSpec("v6", API, successor=successor))
        assert write_problems({**after, "v6": written}, [written], NOW) == expected
    # only what is written is judged: V1's successor is fine, and v3 past its sunset blocks nothing else
    assert write_problems(after, [after["v3"]], NOW) == []
