"""HTTP/1.1 message framing (RFC 9112) for the local CloudFront: pure functions over bytes, no sockets.

Shared by the viewer side (``server.py``, an event loop) and the origin clients (``origin.py``), so a request head
is parsed, and a body delimited, by one set of rules whatever reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .http import MAX_BODY, NO_BODY_STATUSES, connection_tokens

MAX_REQUEST_HEAD = 20_480
"""CloudFront's limit on a request without its body (request line and headers); beyond it, 413."""
MAX_RESPONSE_HEAD = 65_536
MAX_CHUNK_LINE = 1024
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class RequestError(Exception):
    """A request the front door refuses while reading it; the connection is closed after the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FramingError(ValueError):
    """A response (or chunked body) that is not HTTP/1.1 as RFC 9112 frames it."""


@dataclass(slots=True)
class Request:
    """One parsed request head. ``folded`` marks obsolete line folding (RFC 9112 §5.2), which CloudFront refuses."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    folded: bool
    keep_alive: bool

    def values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]


def _is_token(text: str) -> bool:
    return bool(text) and all(char in _TOKEN for char in text)


def head_end(buffer: bytes | bytearray, start: int = 0) -> int:
    """Index just past the blank line that ends a head in ``buffer`` (CRLF or bare LF lines), or -1."""
    crlf = buffer.find(b"\r\n\r\n", start)
    lf = buffer.find(b"\n\n", start)
    ends = [end + width for end, width in ((crlf, 4), (lf, 2)) if end >= 0]
    return min(ends) if ends else -1


def parse_request_head(block: bytes) -> Request:
    """A request head (request line and header lines, up to its blank line); ``RequestError`` says what is wrong."""
    if len(block) > MAX_REQUEST_HEAD:
        raise RequestError(413, f"the request headers are larger than CloudFront's {MAX_REQUEST_HEAD} bytes")
    lines = block.decode("latin-1").split("\n")
    while lines and lines[-1].rstrip("\r") == "":
        lines.pop()
    if lines and lines[0].rstrip("\r") == "":  # RFC 9112 §2.2: an empty line before a request line is ignored
        lines.pop(0)
    if not lines:
        raise RequestError(400, "malformed request line")
    parts = lines[0].rstrip("\r").split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not _is_token(parts[0]) or not parts[1]:
        raise RequestError(400, "malformed request line")
    method, target, version = parts
    headers: list[tuple[str, str]] = []
    folded = False
    for raw in lines[1:]:
        text = raw.rstrip("\r")
        if text[:1] in (" ", "\t"):
            folded = True  # the front door answers 400
            continue
        name, colon, value = text.partition(":")
        if not colon or not _is_token(name):  # RFC 9112 §5.1: no whitespace before the colon
            raise RequestError(400, "malformed header line")
        headers.append((name, value.strip(" \t")))
    tokens = connection_tokens(headers)
    keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
    return Request(method, target, version, headers, folded, keep_alive)


def request_body_length(request: Request) -> int | None:
    """The body's ``Content-Length``, ``-1`` for a chunked body, ``None`` for none; ``RequestError`` otherwise."""
    codings = ",".join(request.values("transfer-encoding")).lower()
    lengths = {value.strip() for value in request.values("content-length")}
    if codings and lengths:
        raise RequestError(400, "both Content-Length and Transfer-Encoding")  # RFC 9112 §6.1: a smuggling sign
    if codings:
        if codings.rsplit(",", 1)[-1].strip() != "chunked":
            raise RequestError(400, "unsupported transfer coding")
        return -1
    if not lengths:
        return None
    if len(lengths) != 1 or not next(iter(lengths)).isdigit():
        raise RequestError(400, "invalid Content-Length")
    length = int(next(iter(lengths)))
    if length > MAX_BODY:
        raise RequestError(413, "request body too large")
    return length


def response_head(status: int, reason: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def request_bytes(method: str, path: str, headers: list[tuple[str, str]], body: bytes | None) -> bytes:
    """A request as sent to an origin: exactly the given header lines, plus the body's ``Content-Length``."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + (body or b"")


def parse_response_head(block: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    """Status, reason and header lines of a response head; ``FramingError`` when it is not HTTP/1.x."""
    lines = block.decode("latin-1").split("\n")
    version, _, rest = lines[0].rstrip("\r").partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3):
        raise FramingError(f"the origin answered something that is not HTTP/1.x: {lines[0][:80]!r}")
    headers = []
    for raw in lines[1:]:
        text = raw.rstrip("\r")
        if text:
            name, _, value = text.partition(":")
            headers.append((name.strip(), value.strip(" \t")))
    return int(code), reason, headers


@dataclass(frozen=True, slots=True)
class ResponseFraming:
    """How a response body is delimited (RFC 9112 §6.3) and whether the connection may carry another request."""

    no_body: bool
    chunked: bool
    length: int | None
    """The announced body length (``None``: chunked, or until the connection closes)."""
    reusable: bool

    @property
    def until_close(self) -> bool:
        return not self.no_body and not self.chunked and self.length is None


def response_framing(method: str, status: int, headers: list[tuple[str, str]]) -> ResponseFraming:
    names = {name.lower(): value for name, value in headers}
    chunked = "chunked" in names.get("transfer-encoding", "").lower()
    text = names.get("content-length", "").strip()
    length = int(text) if text.isdigit() and not chunked else None
    no_body = method == "HEAD" or status in NO_BODY_STATUSES or 100 <= status < 200
    until_close = not no_body and not chunked and length is None
    reusable = not until_close and "close" not in names.get("connection", "").lower()
    return ResponseFraming(no_body, chunked, None if no_body else length, reusable)


class ChunkedDecoder:
    """The chunked transfer coding (RFC 9112 §7.1), decoded as bytes arrive; trailer fields are dropped.

    ``feed`` returns the data decoded so far and whether the body is complete; bytes after the body are kept in
    ``rest``. A malformed body, or one over ``limit`` bytes, is a ``FramingError``.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._buffer = bytearray()
        self._remaining = 0  # bytes left in the current chunk, then its CRLF
        self._state = "size"
        self._limit = limit
        self._total = 0
        self.rest = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        self._buffer += data
        out = bytearray()
        while True:
            if self._state == "data":
                take = min(self._remaining, len(self._buffer))
                out += self._buffer[:take]
                del self._buffer[:take]
                self._remaining -= take
                if self._remaining:
                    return bytes(out), False
                self._state = "crlf"
            line_end = self._buffer.find(b"\n")
            if line_end < 0:
                if len(self._buffer) > MAX_CHUNK_LINE:
                    raise FramingError("a chunk line is too long")
                return bytes(out), False
            line = bytes(self._buffer[:line_end]).rstrip(b"\r")
            del self._buffer[: line_end + 1]
            if self._state == "crlf":
                if line:
                    raise FramingError("a chunk does not end with CRLF")
                self._state = "size"
            elif self._state == "size":
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise FramingError("an invalid chunk size") from None
                self._total += size
                if self._limit is not None and self._total > self._limit:
                    raise FramingError("the chunked body is too large")
                if size == 0:
                    self._state = "trailer"
                else:
                    self._remaining = size
                    self._state = "data"
            elif not line:  # the blank line after the trailer fields ends the body
                self.rest = bytes(self._buffer)
                self._buffer.clear()
                return bytes(out), True
