"""Lifecycle instants and date versions: ISO 8601 in, epoch seconds, IMF-fixdate both ways."""

from __future__ import annotations

import calendar
import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_router.lifecycle import (
    format_instant,
    http_date,
    is_date_version,
    parse_http_date,
    parse_instant,
    try_parse_instant,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-06-01", 1_780_272_000),
        ("2026-06-01T12:30", 1_780_317_000),
        ("2026-06-01T12:30:15", 1_780_317_015),
        ("2026-06-01T12:30:15Z", 1_780_317_015),
        (" 2024-02-29 ", 1_709_164_800),
        ("1970-01-01", 0),
    ],
)
def test_instants_parse_as_utc(text: str, seconds: int) -> None:
    assert parse_instant(text) == seconds


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-06-01T12:00+02:00", "UTC offset"),
        ("2026-06-01T12:00:00-0500", "UTC offset"),
        ("2023-02-29", "not a valid date"),
        ("2026-13-01", "not a valid date"),
        ("2026-06-01T24:00", "not a valid date"),
        ("1969-12-31", "not a valid date"),
        ("01/06/2026", "not an ISO 8601"),
        ("tomorrow", "not an ISO 8601"),
        ("", "not an ISO 8601"),
        ("\uff12\uff10\uff12\uff16-06-01", "not an ISO 8601"),
    ],
)
def test_bad_instants_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_instant(text)


@given(st.integers(min_value=0, max_value=253_402_300_799))
def test_formats_round_trip_and_match_the_standard_library(seconds: int) -> None:
    assert parse_instant(format_instant(seconds)) == seconds
    assert http_date(seconds) == email.utils.formatdate(seconds, usegmt=True)
    assert parse_http_date(http_date(seconds)) == seconds
    assert calendar.timegm(email.utils.parsedate(http_date(seconds)) or ()) == seconds


@pytest.mark.parametrize(
    "text", ["", "Sun, 06 Nov 1994 08:49:37", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Foo 1994"]
)
def test_unparsable_http_dates_are_none(text: str) -> None:
    assert parse_http_date(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-01", True),
        ("2024-02-29", True),
        ("2023-02-29", False),
        ("2025-3-1", False),
        ("v2", False),
        ("\uff12\uff10\uff12\uff15-\uff10\uff13-\uff10\uff11", False),  # fullwidth digits: Unicode, not ISO
        ("\u0662\u0660\u0662\u0665-03-01", False),  # Arabic-Indic digits
    ],
)
def test_date_versions(value: str, expected: bool) -> None:
    assert is_date_version(value) is expected


@pytest.mark.parametrize("value", [None, "", "tomorrow", "2026-02-30", "2026-06-01T12:00+02:00", 1_780_000_000])
def test_try_parse_instant_is_none_for_anything_but_an_instant(value: object) -> None:
    assert try_parse_instant(value) is None


def test_try_parse_instant_parses_an_instant() -> None:
    assert try_parse_instant("2026-06-01") == parse_instant("2026-06-01")
