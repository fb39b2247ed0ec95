"""Version selection from headers: Accept negotiation, custom headers, precedence, precise problems."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_router.mapping import OriginRules
from edge_router.selection import MAX_HEADER_CHARS, ProblemKind, Rule, Selection, select_version
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


# --- RFC 9110 details --------------------------------------------------------------------------------------------


def test_q_anywhere_among_the_parameters_still_selects_the_version() -> None:
    selection = select({"accept": ["application/vnd.example+json;q=0.9;version=3"]})
    assert selection.mapping is not None and selection.mapping.origin.path == "/Prod/v3"


def test_a_version_the_table_lacks_never_falls_back_to_the_bare_type() -> None:
    rows = [
        {"hk": "application/vnd.example+json; version=2", "dn": API, "dp": "/Prod/v2"},
        {"hk": "application/vnd.example+json", "dn": API, "dp": "/Prod/bare"},
    ]
    snapshot = build_snapshot(rows, OriginRules(), loaded_at=0)

    def pick(accept: str) -> Selection:
        return select_version(lambda name: [accept] if name == "accept" else [], ("accept",), snapshot)

    unknown = pick("application/vnd.example+json;version=3")
    assert unknown.mapping is None and unknown.problem is not None
    assert unknown.problem.kind is ProblemKind.UNKNOWN and "version=3" in unknown.problem.detail
    # A parameter that names no version (charset, or any name no key uses) stays lenient.
    for lenient in ("application/vnd.example+json; charset=utf-8", "application/vnd.example+json;foo=bar"):
        chosen = pick(lenient)
        assert chosen.mapping is not None and chosen.mapping.origin.path == "/Prod/bare"
    # A lower-ranked range the table has is still acceptable to the client, so it is served.
    fallback = pick("application/vnd.example+json;version=3, application/vnd.example+json;version=2;q=0.5")
    assert fallback.mapping is not None and fallback.mapping.origin.path == "/Prod/v2"


def test_chromium_signed_exchange_never_collides_with_a_v_parameter() -> None:
    rows = [{"hk": "application/vnd.example+json; v=b3", "dn": API, "dp": "/Prod/b3"}]
    snapshot = build_snapshot(rows, OriginRules(), loaded_at=0)
    chrome = (
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
        "application/signed-exchange;v=b3;q=0.7"
    )
    selection = select_version(lambda name: [chrome], ("accept",), snapshot)
    assert selection.mapping is None
    assert selection.problem is not None and "signed-exchange" not in selection.problem.detail


# --- default version ---------------------------------------------------------------------------------------------

DEFAULTED = build_snapshot(
    [
        {"hk": V1, "dn": API, "dp": "/Prod/v1", "is_default": True},
        {"hk": V2, "dn": API, "dp": "/Prod/v2"},
        {"hk": "v2", "dn": API, "dp": "/Prod/v2"},
    ],
    OriginRules(),
    loaded_at=0,
)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"accept": ["*/*"]},
        {"accept": ["application/json"]},
        {"accept": ["text/html,application/xhtml+xml,*/*;q=0.8"]},
        {"accept": [""]},
        {"accept": ["garbage"]},
        {"apiver": [""]},
        {"apiver": [" , "]},
    ],
)
def test_generic_or_missing_headers_go_to_the_default(headers: dict[str, list[str]]) -> None:
    selection = select_version(lambda name: headers.get(name, []), ("apiver", "accept"), DEFAULTED)
    assert selection.mapping is not None and selection.mapping.key == V1
    assert selection.rule is Rule.DEFAULT


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"accept": ["application/vnd.example.v9+json"]}, ProblemKind.UNKNOWN),  # a vendor type names a version
        ({"apiver": ["v9"]}, ProblemKind.UNKNOWN),
        ({"apiver": ["v1", "v2"]}, ProblemKind.AMBIGUOUS),
    ],
)
def test_a_named_version_is_never_replaced_by_the_default(headers: dict[str, list[str]], kind: ProblemKind) -> None:
    selection = select_version(lambda name: headers.get(name, []), ("apiver", "accept"), DEFAULTED)
    assert selection.mapping is None and selection.problem is not None and selection.problem.kind is kind


def test_without_a_default_generic_values_keep_todays_answers() -> None:
    assert select({"accept": ["application/json"]}).problem.kind is ProblemKind.UNKNOWN  # type: ignore[union-attr]
    assert select({"accept": ["*/*"]}).problem.kind is ProblemKind.MISSING  # type: ignore[union-attr]
    assert select({}).problem.kind is ProblemKind.MISSING  # type: ignore[union-attr]


# --- date versions -----------------------------------------------------------------------------------------------

DATED = build_snapshot(
    [
        {"hk": "2024-01-15", "dn": API, "dp": "/Prod/2024a"},
        {"hk": "2024-09-30", "dn": API, "dp": "/Prod/2024b"},
        {"hk": "2025-03-01", "dn": API, "dp": "/Prod/2025"},
        {"hk": "2025-06-15", "dn": API, "dp": "/Prod/exact"},
        {"hk": "application/vnd.example+json; version=2024-09-30", "dn": API, "dp": "/Prod/m2024"},
        {"hk": "application/vnd.example+json; version=2025-03-01", "dn": API, "dp": "/Prod/m2025"},
    ],
    OriginRules(),
    loaded_at=0,
)


@pytest.mark.parametrize(
    ("value", "path", "rule"),
    [
        ("2025-03-01", "/Prod/2025", Rule.EXACT),
        ("2025-06-15", "/Prod/exact", Rule.EXACT),  # exact keys win over date resolution
        ("2025-04-30", "/Prod/2025", Rule.DATE),
        ("2024-12-31", "/Prod/2024b", Rule.DATE),
        ("2099-01-01", "/Prod/exact", Rule.DATE),
        ("2024-01-15", "/Prod/2024a", Rule.EXACT),
    ],
)
def test_dates_resolve_to_the_newest_row_on_or_before(value: str, path: str, rule: Rule) -> None:
    selection = select_version(lambda name: [value], ("apiver",), DATED)
    assert selection.mapping is not None and selection.mapping.origin.path == path
    assert selection.rule is rule


def test_a_date_before_the_first_dated_row_is_unknown() -> None:
    selection = select_version(lambda name: ["2023-12-31"], ("apiver",), DATED)
    assert selection.problem is not None and selection.problem.kind is ProblemKind.UNKNOWN
    assert "before the first dated version (2024-01-15)" in selection.problem.detail
    invalid = select_version(lambda name: ["2025-02-30"], ("apiver",), DATED)  # not a date: an unknown key
    assert invalid.problem is not None and invalid.problem.kind is ProblemKind.UNKNOWN


@pytest.mark.parametrize(
    ("accept", "path"),
    [
        ("application/vnd.example+json; version=2025-12-01", "/Prod/m2025"),
        ("application/vnd.example+json; version=2025-01-01", "/Prod/m2024"),
        ("application/vnd.example+json; version=2024-09-30", "/Prod/m2024"),
    ],
)
def test_dates_resolve_in_accept_mode_as_a_media_type_parameter(accept: str, path: str) -> None:
    selection = select_version(lambda name: [accept], ("accept",), DATED)
    assert selection.mapping is not None and selection.mapping.origin.path == path


@given(
    dates=st.sets(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)), min_size=1, max_size=30),
    asked=st.dates(min_value=date(1999, 1, 1), max_value=date(2041, 12, 31)),
)
def test_date_resolution_matches_a_linear_search(dates: set[date], asked: date) -> None:
    rows = [{"hk": day.isoformat(), "dn": API, "dp": f"/Prod/{day:%Y%m%d}"} for day in dates]
    snapshot = build_snapshot(rows, OriginRules(), loaded_at=0)
    selection = select_version(lambda name: [asked.isoformat()], ("apiver",), snapshot)
    on_or_before = [day for day in dates if day <= asked]
    if not on_or_before:
        assert selection.problem is not None and selection.problem.kind is ProblemKind.UNKNOWN
    else:
        assert selection.mapping is not None and selection.mapping.key == max(on_or_before).isoformat()
