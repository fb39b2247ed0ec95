"""Accept and media-type parsing (RFC 9110 §12.5.1), including malformed and hostile input."""

from __future__ import annotations

import pytest

from edge_router.media_type import MAX_RANGES, is_token, normalize_media_type, parse_accept, split_outside_quotes


def essences(value: str) -> list[tuple[str, int]]:
    return [(r.essence, r.weight) for r in parse_accept(value)]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/vnd.example.v1+json", [("application/vnd.example.v1+json", 1000)]),
        (
            "application/vnd.example.v1+json, text/html;q=0.9",
            [("application/vnd.example.v1+json", 1000), ("text/html", 900)],
        ),
        ("text/html;q=0.5, application/json", [("application/json", 1000), ("text/html", 500)]),
        # Equal q: more specific first, then earlier.
        (
            "*/*, text/*, text/html, text/html;level=1",
            [("text/html", 1000), ("text/html", 1000), ("text/*", 1000), ("*/*", 1000)],
        ),
        ("a/b;q=0", []),  # not acceptable
        ("a/b;q=0.000, c/d", [("c/d", 1000)]),
        ("a/b;q=1.000", [("a/b", 1000)]),
        ("a/b;q=0.001", [("a/b", 1)]),
        ("A/B", [("a/b", 1000)]),
        ("  a/b  ,  ,, c/d ;q=0.3 ", [("a/b", 1000), ("c/d", 300)]),
    ],
)
def test_ranges_in_preference_order(header: str, expected: list[tuple[str, int]]) -> None:
    assert essences(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "a/b;q=2",  # q above 1
        "a/b;q=1.5",
        "a/b;q=-1",
        "a/b;q=0.1234",  # more than 3 decimals
        "a/b;q=abc",
        "a/b;q=",
        "a/b;q",
        "*/b",  # wildcard type with a concrete subtype
        "a",
        "/b",
        "a/",
        "a b/c",
        'a/b;x="unclosed',
        "a/b;=v",
        'a/b;x="a"b"',
        "",
        ";;;",
        "\x00/\x01",
    ],
)
def test_malformed_ranges_are_dropped(header: str) -> None:
    assert parse_accept(header) == ()
    # The bad range alone is dropped; a good one beside it still counts.
    assert essences("ok/fine, " + header) == [("ok/fine", 1000)]


def test_quoted_parameters_may_contain_separators() -> None:
    (media_range,) = parse_accept('text/plain; x="a,b;c=\\"d\\""; q=0.4')
    assert media_range.params == (("x", 'a,b;c="d"'),)
    assert media_range.weight == 400


def test_q_is_the_weight_wherever_it_appears_and_later_parameters_count() -> None:
    # RFC 9110 §12.5.1 dropped accept-ext: parameters after q are still parameters of the range.
    (media_range,) = parse_accept("a/b;x=1;q=0.5;ext=2")
    assert media_range.params == (("x", "1"), ("ext", "2"))
    assert media_range.weight == 500
    (later,) = parse_accept("application/vnd.example+json;q=0.9;version=2")
    assert later.params == (("version", "2"),) and later.weight == 900


@pytest.mark.parametrize("value", ["a/b;q=0.5;x", "a/b;q=0.5;=1", 'a/b;q=0.5;x="1', "a/b;q=2;x=1", "a/b;x=1;q=x"])
def test_a_malformed_parameter_after_q_spoils_the_range(value: str) -> None:
    assert parse_accept(value) == ()


def test_tokens() -> None:
    assert is_token("v2") and is_token("2024-09-30")
    assert not is_token("") and not is_token("2 beta") and not is_token("a,b") and not is_token('"x"')


def test_ranges_are_bounded() -> None:
    header = ",".join(f"a/r{i}" for i in range(MAX_RANGES * 10))
    assert len(parse_accept(header)) == MAX_RANGES


def test_split_outside_quotes_handles_escapes_and_unclosed_quotes() -> None:
    assert split_outside_quotes('a,"b,c",d', ",") == ["a", '"b,c"', "d"]
    assert split_outside_quotes('a,"b\\",c",d', ",") == ["a", '"b\\",c"', "d"]
    assert split_outside_quotes('a,"b,c', ",") == ["a", '"b,c']


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/vnd.example.v1+json", "application/vnd.example.v1+json"),
        ("Application/Vnd.Example+JSON ; Version = 2", "application/vnd.example+json;version=2"),
        ('text/plain; charset="UTF-8"', "text/plain;charset=utf-8"),
        ("a/*", None),
        ("*/*", None),
        ("a/b;q=1", None),
        ("a/b;broken", None),
        ("nonsense", None),
    ],
)
def test_normalize_media_type(value: str, expected: str | None) -> None:
    assert normalize_media_type(value) == expected
