"""Version selection from headers: Accept negotiation, custom headers, precedence, precise problems."""

from __future__ import annotations

import pytest

from edge_router.mapping import OriginRules
from edge_router.selection import MAX_HEADER_CHARS, ProblemKind, select_version
from edge_router.snapshot import build_snapshot
from tests.helpers import API, SAMPLE_ROWS, V1, V2

SNAPSHOT = build_snapshot(
    [
        *SAMPLE_ROWS,
        {"hk": "application/vnd.example+json; version=3", "dn": API, "dp": "/Prod/v3"},
        {"hk": "V4", "dn": API, "dp": "/Prod/v4"},
    ],
    OriginRules(),
    loaded_at=0,
)


def select(headers: dict[str, list[str]], names: tuple[str, ...] = ("accept",)):  # type: ignore[no-untyped-def]
    return select_version(lambda name: headers.get(name, []), names, SNAPSHOT)


@pytest.mark.parametrize(
    ("accept", "path"),
    [
        (V1, "/Prod/v1"),
        (f"{V1}, text/html;q=0.9", "/Prod/v1"),  # the sample answered 403
        (f"{V1}; charset=utf-8", "/Prod/v1"),  # the sample answered 403
        (f"{V2}, application/json;q=0.9, */*;q=0.8", "/Prod/v2"),
        (f"text/html, {V2};q=0.5", "/Prod/v2"),  # unmapped better ranges are passed over
        (f"{V1};q=0.5, {V2};q=0.8", "/Prod/v2"),
        (f"{V1}, {V2}", "/Prod/v1"),  # equal rank: first wins
        ("APPLICATION/VND.EXAMPLE.V2+JSON", "/Prod/v2"),
        ("application/vnd.example+json; version=3", "/Prod/v3"),
        ('application/vnd.example+json; Version="3"', "/Prod/v3"),
    ],
)
def test_accept_selects(accept: str, path: str) -> None:
    selection = select({"accept": [accept]})
    assert selection.mapping is not None and selection.mapping.origin.path == path


def test_every_accept_occurrence_counts() -> None:
    selection = select({"accept": ["text/html", V2]})
    assert selection.mapping is not None and selection.mapping.origin.path == "/Prod/v2"


def test_q_zero_refuses_a_version() -> None:
    selection = select({"accept": [f"{V1};q=0, */*"]})
    assert selection.mapping is None
    assert selection.problem is not None and selection.problem.kind is ProblemKind.MISSING


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({}, ProblemKind.MISSING),
        ({"accept": [""]}, ProblemKind.EMPTY),
        ({"accept": ["   "]}, ProblemKind.EMPTY),
        ({"accept": ["garbage"]}, ProblemKind.INVALID),
        ({"accept": ["a/b;q=7"]}, ProblemKind.INVALID),
        ({"accept": ["application/vnd.example.v9+json"]}, ProblemKind.UNKNOWN),
        ({"accept": ["*/*"]}, ProblemKind.MISSING),  # curl's default names no version
        ({"accept": ["*/*, application/*;q=0.5"]}, ProblemKind.MISSING),
        ({"accept": ["text/html, */*;q=0.8"]}, ProblemKind.UNKNOWN),
        ({"accept": ["a/b" + "x" * MAX_HEADER_CHARS]}, ProblemKind.INVALID),
    ],
)
def test_accept_problems(headers: dict[str, list[str]], kind: ProblemKind) -> None:
    selection = select(headers)
    assert selection.mapping is None and selection.problem is not None
    assert selection.problem.kind is kind


@pytest.mark.parametrize(
    ("values", "path"),
    [(["v4"], "/Prod/v4"), ([" V4 "], "/Prod/v4"), (["v4", "V4"], "/Prod/v4"), (["v4, v4"], "/Prod/v4")],
)
def test_custom_header_selects(values: list[str], path: str) -> None:
    selection = select({"apiver": values}, ("apiver",))
    assert selection.mapping is not None and selection.mapping.origin.path == path
    assert selection.header == "apiver"


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([""], ProblemKind.EMPTY),
        ([" , "], ProblemKind.EMPTY),
        (["v9"], ProblemKind.UNKNOWN),
        (["v4", "v1"], ProblemKind.AMBIGUOUS),
        (["v4,v5"], ProblemKind.AMBIGUOUS),
    ],
)
def test_custom_header_problems(values: list[str], kind: ProblemKind) -> None:
    selection = select({"apiver": values}, ("apiver",))
    assert selection.problem is not None and selection.problem.kind is kind


def test_precedence_across_headers() -> None:
    names = ("apiver", "accept")
    both = select({"apiver": ["v4"], "accept": [V1]}, names)
    assert both.mapping is not None and both.header == "apiver"
    fallback = select({"accept": [V1]}, names)
    assert fallback.mapping is not None and fallback.header == "accept"
    # A browser Accept with no versioned type lets the custom header decide.
    browser = select({"accept": ["text/html,*/*;q=0.8"], "apiver": ["v4"]}, ("accept", "apiver"))
    assert browser.mapping is not None and browser.header == "apiver"
    # An explicit custom header that is wrong is an error, never a silent fall-through.
    wrong = select({"apiver": ["v9"], "accept": [V1]}, names)
    assert wrong.problem is not None and wrong.problem.kind is ProblemKind.UNKNOWN
    missing = select({}, names)
    assert missing.problem is not None and "apiver or accept" in missing.problem.detail


def test_long_values_are_shortened_in_details() -> None:
    selection = select({"apiver": ["v" * 5000]}, ("apiver",))
    assert selection.problem is not None and len(selection.problem.detail) < 300
