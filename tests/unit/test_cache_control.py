"""Cache-Control directives (RFC 9111 §5.2): parsing, capping a lifetime, making a response private."""

from __future__ import annotations

import pytest

from edge_router import cache_control


def test_parse_keeps_first_occurrence_and_values_as_written_and_lowercases_names() -> None:
    parsed = cache_control.parse('Public, MAX-AGE=60, max-age=5, private="Set-Cookie, X-Y", no-cache')
    assert parsed == {"public": None, "max-age": "60", "private": '"Set-Cookie, X-Y"', "no-cache": None}
    assert cache_control.parse("") == {}


def test_quoted_values_survive_a_cap_and_quoted_seconds_count() -> None:
    value = 'no-cache="set-cookie, x-foo", max-age=600'
    capped = cache_control.cap_lifetime(value, None, 60, edge_default_ttl=0, now=0)
    assert capped == 'no-cache="set-cookie, x-foo", max-age=60'
    assert cache_control.seconds({"max-age": '"600"'}, "max-age") == 600
    assert cache_control.make_private('no-cache="a, b", s-maxage=9') == 'private, no-cache="a, b"'


@pytest.mark.parametrize(("value", "expected"), [("60", 60), ("0", 0), ("-1", 0), ("1e3", 0), ("٣", 0)])
def test_invalid_delta_seconds_count_as_zero(value: str, expected: int) -> None:
    assert cache_control.seconds({"max-age": value}, "max-age") == expected
    assert cache_control.seconds({}, "max-age") is None


def test_cap_treats_an_invalid_lifetime_as_zero_and_keeps_other_directives() -> None:
    assert cache_control.cap_lifetime("max-age=abc, must-revalidate", None, 10, edge_default_ttl=0, now=0) is None
    assert (
        cache_control.cap_lifetime("must-revalidate, max-age=600", None, 10, edge_default_ttl=0, now=0)
        == "must-revalidate, max-age=10"
    )
    assert cache_control.cap_lifetime("max-age=600", None, -5, edge_default_ttl=0, now=0) == "max-age=0"


def test_cap_adds_a_shared_lifetime_only_when_the_edge_default_would_be_longer() -> None:
    assert cache_control.cap_lifetime("no-cache", None, 10, edge_default_ttl=3600, now=0) == "no-cache, s-maxage=10"
    assert cache_control.cap_lifetime("no-cache", None, 10, edge_default_ttl=5, now=0) is None
    assert cache_control.cap_lifetime(None, "not a date", 10, edge_default_ttl=0, now=0) is None  # already expired
