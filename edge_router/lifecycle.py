"""Instants of a version's life (deprecation, sunset) and date-named versions: parsing and HTTP formats.

Instants are whole seconds since the epoch, in UTC. Admins write them as ISO 8601 dates or date-times in UTC
without an offset (``2026-06-01``, ``2026-06-01T12:00``, ``2026-06-01T12:00:00Z``); the table stores the canonical
``YYYY-MM-DDTHH:MM:SSZ``. Responses carry them as RFC 9745 ``Deprecation: @<seconds>`` and RFC 8594
``Sunset: <IMF-fixdate>`` (RFC 9110 §5.6.7).
"""

from __future__ import annotations

import re
import time

_INSTANT = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?Z?)?\Z", re.ASCII)
_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+(?:[+-]\d{2}(?::?\d{2})?)\Z", re.ASCII)
DATE_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)
"""A version value that is an ISO date (``2025-03-01``), as Stripe and GitHub name versions."""
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _checked(parts: tuple[int, ...]) -> bool:
    """``(year, month, day[, hour, minute, second])`` is a real instant from 1970 on."""
    year, month, day, hour, minute, second = (*parts, 0, 0, 0)[:6]
    if not (1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 59 and year >= 1970):
        return False
    return 1 <= day <= _MONTH_DAYS[month - 1] + (month == 2 and _is_leap(year))


def _epoch_seconds(parts: tuple[int, ...]) -> int:
    """``calendar.timegm`` without importing calendar (and locale) at cold start: days from the civil date."""
    year, month, day, hour, minute, second = parts
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146_097 + day_of_era - 719_468
    return days * 86_400 + hour * 3600 + minute * 60 + second


def parse_instant(text: str) -> int:
    """Seconds since the epoch for an ISO 8601 date or date-time in UTC; ``ValueError`` says what is wrong."""
    value = text.strip()
    match = _INSTANT.match(value)
    if match is None:
        if _OFFSET.match(value):
            raise ValueError(f"{text!r} has a UTC offset; give the instant in UTC without one (e.g. 2026-06-01T12:00)")
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], UTC)")
    parts = tuple(int(part) if part else 0 for part in match.groups())
    if not _checked(parts):
        raise ValueError(f"{text!r} is not a valid date or time")
    return _epoch_seconds(parts)


def format_instant(seconds: int) -> str:
    """The canonical stored form: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def http_date(seconds: int) -> str:
    """RFC 9110 IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), independent of the process locale."""
    parts = time.gmtime(seconds)
    return (
        f"{_DAYS[parts.tm_wday]}, {parts.tm_mday:02d} {_MONTHS[parts.tm_mon - 1]} {parts.tm_year:04d} "
        f"{parts.tm_hour:02d}:{parts.tm_min:02d}:{parts.tm_sec:02d} GMT"
    )


_HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT\Z", re.ASCII)


def parse_http_date(text: str) -> int | None:
    """Seconds since the epoch of an IMF-fixdate (the form every current server sends); ``None`` otherwise."""
    match = _HTTP_DATE.match(text.strip())
    if match is None or match.group(2) not in _MONTHS:
        return None
    day, month, year, hour, minute, second = match.groups()
    parts = (int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second))
    return _epoch_seconds(parts) if _checked(parts) else None


def is_date_version(value: str) -> bool:
    """True for a valid ISO date (``2025-03-01``); such values resolve to the newest dated version on or before."""
    if not DATE_VERSION.match(value):
        return False
    return _checked((int(value[:4]), int(value[5:7]), int(value[8:10])))


def try_parse_instant(text: object) -> int | None:
    """``parse_instant`` for values read from a table or a file: ``None`` for anything that is not an instant (not
    text, empty, or unparsable), where the caller shows the value as it is or skips it."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        return None
