"""Media types and the Accept header (RFC 9110 §8.3.1, §12.5.1): a linear-time, bounded, lenient parser.

Lenient with clients (an invalid range or q-value drops that range, never the header) and bounded against hostile
input: at most ``MAX_RANGES`` ranges are read and every step is a single pass over the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_RANGES = 64
"""Media ranges read from one Accept header; later ones are ignored (real browsers send fewer than ten)."""

# RFC 9110 §5.6.2 token characters.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\Z")


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One media range of an Accept header, lowercased, with its weight in thousandths (0-1000)."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    weight: int
    index: int

    @property
    def essence(self) -> str:
        """``type/subtype`` without parameters."""
        return f"{self.type}/{self.subtype}"

    @property
    def specificity(self) -> int:
        """RFC 9110 §12.5.1 precedence: */* < type/* < type/subtype < type/subtype;params."""
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 3 if self.params else 2


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` except inside quoted-strings (RFC 9110 §5.6.4), in one pass.

    An unclosed quote runs to the end of the text; the caller's validation then drops that piece.
    """
    if '"' not in text:
        return text.split(separator)
    pieces: list[str] = []
    start = 0
    in_quotes = False
    escaped = False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif in_quotes:
            if char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == separator:
            pieces.append(text[start:position])
            start = position + 1
    pieces.append(text[start:])
    return pieces


def is_token(text: str) -> bool:
    """RFC 9110 §5.6.2 ``token``: what a header name, a media type part or a bare parameter value is made of."""
    return bool(_TOKEN.match(text))


def _unquote(value: str) -> str | None:
    """Token or quoted-string to its value; ``None`` when it is neither (RFC 9110 §5.6.4)."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" not in inner:
            return None if '"' in inner else inner
        chars: list[str] = []
        escaped = False
        for char in inner:
            if escaped:
                chars.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                return None
            else:
                chars.append(char)
        return None if escaped else "".join(chars)
    return value if _TOKEN.match(value) else None


def parse_parameters(pieces: list[str]) -> tuple[tuple[str, str], ...] | None:
    """``name=value`` pieces to lowercased pairs; ``None`` if any piece is malformed."""
    params: list[tuple[str, str]] = []
    for raw_piece in pieces:
        piece = raw_piece.strip()
        if not piece:
            continue  # RFC 9110 allows empty parameters (";;").
        name, equals, raw_value = piece.partition("=")
        name = name.strip()
        value = _unquote(raw_value.strip()) if equals else None
        if value is None or not _TOKEN.match(name):
            return None
        params.append((name.lower(), value.lower()))
    return tuple(params)


def _parse_essence(text: str) -> tuple[str, str] | None:
    """``type/subtype`` (wildcards allowed, ``*/sub`` not) lowercased; ``None`` if malformed."""
    kind, slash, subtype = text.strip().partition("/")
    if not slash or not _TOKEN.match(kind) or not _TOKEN.match(subtype) or (kind == "*" and subtype != "*"):
        return None
    return kind.lower(), subtype.lower()


def _parse_range(text: str, index: int) -> MediaRange | None:
    """One media range; ``None`` if any part is malformed.

    RFC 9110 §12.5.1 dropped the old accept-ext grammar: ``q`` is the weight wherever it appears among the
    parameters, and parameters after it are still parameters of the range (a malformed one spoils the range).
    """
    pieces = split_outside_quotes(text, ";")
    essence = _parse_essence(pieces[0])
    parsed = parse_parameters(pieces[1:])
    if essence is None or parsed is None:
        return None
    params: list[tuple[str, str]] = []
    weight = 1000
    for name, value in parsed:
        if name != "q":
            params.append((name, value))
        elif _QVALUE.match(value):
            weight = round(float(value) * 1000)
        else:
            return None
    return MediaRange(essence[0], essence[1], tuple(params), weight, index)


@lru_cache(maxsize=1024)
def parse_accept(value: str) -> tuple[MediaRange, ...]:
    """Parse one Accept field value into acceptable ranges (weight > 0), best first.

    Best means highest weight, then most specific, then earliest (RFC 9110 §12.5.1). Ranges with q=0 are
    "not acceptable" and left out. Memoised: clients repeat the same few values, and results are immutable.
    """
    ranges: list[MediaRange] = []
    for index, piece in enumerate(split_outside_quotes(value, ",")):
        if index >= MAX_RANGES:
            break
        if piece.strip():
            media_range = _parse_range(piece, index)
            if media_range is not None and media_range.weight > 0:
                ranges.append(media_range)
    ranges.sort(key=lambda r: (-r.weight, -r.specificity, r.index))
    return tuple(ranges)


def normalize_media_type(value: str) -> str | None:
    """Canonical ``type/subtype[;name=value]`` for a concrete media type; ``None`` if it is not one.

    Used for mapping keys so that ``application/vnd.example+json; Version=2`` in the table matches the key a request
    range selects (``type/subtype;name=value``, lowercased).
    """
    if ";" not in value:  # the common key: an essence alone (one regex per part, no parameter parsing)
        essence = _parse_essence(value)
        return None if essence is None or "*" in essence else "/".join(essence)
    pieces = split_outside_quotes(value, ";")
    essence = _parse_essence(pieces[0])
    params = parse_parameters(pieces[1:])
    if essence is None or "*" in essence or params is None or any(name == "q" for name, _ in params):
        return None
    return ";".join(["/".join(essence), *(f"{name}={val}" for name, val in params)])
