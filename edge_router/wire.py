"""A minimal HTTP/1.1 client over ``socket`` for the edge's DynamoDB calls: keep-alive, TLS, one absolute deadline.

The deadline bounds every connect, handshake, send and receive. Name resolution (``getaddrinfo``) cannot be
given a timeout: the system resolver's own applies, and the deadline is checked as soon as it returns.
"""

from __future__ import annotations

import os
import select
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import RouterError

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

MAX_HEADER_BYTES = 64 * 1024
"""Status line plus headers of one response (and, separately, the trailers of a chunked body)."""
MAX_CHUNK_LINE = 4096
_RECV_BYTES = 256 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")
_PATH_CHARS = _HOST_CHARS | frozenset("~/")
_HEX_DIGITS = b"0123456789abcdefABCDEF"


class WireError(RouterError):
    """Any failure to exchange one request and response: the only exception this module raises.

    ``transient`` marks failures another try may cure (a refused, reset or cut connection); a deadline, a
    malformed answer or a refused certificate is not.
    """

    default_message = "HTTP exchange failed"

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go: ``scheme://host:port`` and the request path."""

    scheme: str
    host: str
    port: int
    path: str = "/"

    @property
    def host_header(self) -> str:
        """The ``Host`` value (what SigV4 signs): the port only when it is not the scheme's default."""
        return self.host if self.port == _DEFAULT_PORTS[self.scheme] else f"{self.host}:{self.port}"


def parse_endpoint(url: str) -> Endpoint:
    """``http[s]://host[:port][/path]``, else ``WireError`` saying what is wrong (user information is never echoed)."""
    shown = repr(url) if "@" not in url else "(a URL with user information)"
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in _DEFAULT_PORTS:
        raise WireError(f"endpoint {shown} must start with http:// or https://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        raise WireError(f"endpoint {shown} must not carry user information")
    if authority.startswith("["):
        inside, bracket, port_part = authority[1:].partition("]")
        if not bracket or not inside or not set(inside) <= _IPV6_CHARS or port_part[:1] not in ("", ":"):
            raise WireError(f"endpoint {shown} has a malformed IPv6 address")
        host, port_text = f"[{inside}]", port_part[1:]
    else:
        host, colon, port_text = authority.partition(":")
        if not host or not set(host) <= _HOST_CHARS or (colon and not port_text):
            raise WireError(f"endpoint {shown} has no valid host name")
    if port_text and not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
        raise WireError(f"endpoint {shown} has an invalid port")
    path = "/" + path if slash else "/"
    if not set(path) <= _PATH_CHARS or "/./" in path + "/" or "/../" in path + "/":
        raise WireError(f"endpoint {shown}: a path may hold only letters, digits, '-._~' and '/' (no dot segments)")
    return Endpoint(scheme, host, int(port_text) if port_text else _DEFAULT_PORTS[scheme], path)


@dataclass(frozen=True, slots=True)
class Response:
    """One complete response. Header names are lowercase; repeated headers are joined with ``", "``."""

    status: int
    headers: dict[str, str]
    body: bytes


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


class _Connection:
    """One socket and the bytes read past the last parsed element. Every wait ends by ``deadline``."""

    __slots__ = ("buffer", "clock", "deadline", "received", "sock")

    def __init__(self, sock: socket.socket, clock: Callable[[], float], deadline: float) -> None:
        self.sock = sock
        self.clock = clock
        self.deadline = deadline
        self.buffer = bytearray()
        self.received = False

    def close(self) -> None:
        self.sock.close()

    def is_quiet(self) -> bool:
        """An idle keep-alive connection has nothing to read: data or EOF there means the server gave up on it.

        On TLS a readable socket could also hold protocol records only; taking a fresh connection then is safe too.
        """
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def arm(self, doing: str) -> None:
        """Give the next socket operation exactly the time left, so no sequence of waits outlives the deadline."""
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            raise WireError(f"deadline passed while {doing}")
        self.sock.settimeout(remaining)

    def send(self, data: bytes) -> None:
        self.arm("sending the request")
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise WireError("timed out sending the request") from None
        except OSError as error:
            raise WireError(f"connection failed while sending: {_reason(error)}", transient=True) from None

    def _fill(self, doing: str) -> int:
        """Append what the socket has to the buffer; 0 at the end of the stream."""
        self.arm(doing)
        try:
            chunk = self.sock.recv(_RECV_BYTES)
        except TimeoutError:
            raise WireError(f"timed out {doing}") from None
        except OSError as error:
            raise WireError(f"connection failed while {doing}: {_reason(error)}", transient=True) from None
        if chunk:
            self.received = True
            self.buffer += chunk
        return len(chunk)

    def read_until(self, marker: bytes, limit: int, doing: str) -> bytes:
        """The bytes before ``marker`` (both consumed); ``WireError`` when ``limit`` bytes pass without one."""
        start = 0
        while True:
            end = self.buffer.find(marker, start)
            if end > limit or (end < 0 and len(self.buffer) > limit):
                raise WireError(f"more than {limit} bytes while {doing}")
            if end >= 0:
                found = bytes(self.buffer[:end])
                del self.buffer[: end + len(marker)]
                return found
            start = max(0, len(self.buffer) - len(marker) + 1)
            if not self._fill(doing):
                raise WireError(f"connection closed by the server while {doing}", transient=True)

    def read_exact(self, size: int, doing: str) -> bytes:
        """Exactly ``size`` bytes; large bodies are received straight into one preallocated buffer."""
        if len(self.buffer) >= size:
            data = bytes(self.buffer[:size])
            del self.buffer[:size]
            return data
        body = bytearray(size)
        have = len(self.buffer)
        body[:have] = self.buffer
        self.buffer.clear()
        with memoryview(body) as view:
            while have < size:
                self.arm(doing)
                try:
                    got = self.sock.recv_into(view[have:])
                except TimeoutError:
                    raise WireError(f"timed out {doing}") from None
                except OSError as error:
                    raise WireError(f"connection failed while {doing}: {_reason(error)}", transient=True) from None
                if not got:
                    raise WireError(f"connection closed after {have} of {size} bytes while {doing}", transient=True)
                self.received = True
                have += got
        return bytes(body)

    def read_to_close(self, max_body: int) -> bytes:
        while True:
            if len(self.buffer) > max_body:
                raise WireError(f"response body is larger than {max_body} bytes")
            if not self._fill("reading the body"):
                break
        body = bytes(self.buffer)
        self.buffer.clear()
        return body

    def read_chunked(self, max_body: int) -> bytes:
        """A chunked body (RFC 9112 section 7.1); extensions are ignored, trailers read and dropped."""
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.read_until(b"\r\n", MAX_CHUNK_LINE, "reading a chunk size")
            size_text = line.split(b";", 1)[0].strip(b" \t")
            if not size_text or size_text.strip(_HEX_DIGITS) or len(size_text) > 15:
                raise WireError("malformed chunk size in the response")
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > max_body:
                raise WireError(f"response body is larger than {max_body} bytes")
            parts.append(self.read_exact(size, "reading the body"))
            if self.read_exact(2, "reading the body") != b"\r\n":
                raise WireError("a chunk of the response is not followed by CRLF")
        trailers = 0
        while line := self.read_until(b"\r\n", MAX_HEADER_BYTES, "reading the trailers"):
            trailers += len(line) + 2
            if trailers > MAX_HEADER_BYTES:
                raise WireError(f"response trailers are larger than {MAX_HEADER_BYTES} bytes")
        return b"".join(parts)


def _parse_head(head: bytes) -> tuple[int, bool, dict[str, str]]:
    """Status, whether the server speaks HTTP/1.1, and the headers (RFC 9112 sections 4 and 5)."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if version not in ("HTTP/1.1", "HTTP/1.0") or not (code.isascii() and code.isdigit()) or rest[3:4] not in ("", " "):
        raise WireError(f"malformed status line {status_line[:40]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name or "\t" in name:
            raise WireError(f"malformed header line {line[:40]!r}")
        name = name.lower()
        value = value.strip(" \t")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return int(code), version == "HTTP/1.1", headers


def _content_length(value: str) -> int:
    """One length; a repeated header must repeat the same value (RFC 9110 section 8.6)."""
    values = {part.strip() for part in value.split(",")}
    length = values.pop() if len(values) == 1 else ""
    if not (length.isascii() and length.isdigit()) or len(length) > 15:
        raise WireError(f"invalid Content-Length {value[:40]!r}")
    return int(length)


def _read_response(connection: _Connection, max_body: int) -> tuple[Response, bool]:
    """The response and whether the connection may carry another request."""
    while True:
        head = connection.read_until(b"\r\n\r\n", MAX_HEADER_BYTES, "reading the response header")
        status, http11, headers = _parse_head(head)
        if not 100 <= status < 200:
            break
        if status == 101:
            raise WireError("the server switched protocols")
    keep = http11 and "close" not in headers.get("connection", "").lower()
    coding = headers.get("transfer-encoding")
    if status in (204, 304):
        body = b""
    elif coding is not None:
        if coding.lower() != "chunked":
            raise WireError(f"unsupported Transfer-Encoding {coding[:40]!r}")
        body = connection.read_chunked(max_body)
        # Both framings at once is how requests are smuggled; the answer is usable, the connection is not.
        keep = keep and "content-length" not in headers
    elif "content-length" in headers:
        length = _content_length(headers["content-length"])
        if length > max_body:
            raise WireError(f"response body of {length} bytes is larger than {max_body} bytes")
        body = connection.read_exact(length, "reading the body")
    else:
        body = connection.read_to_close(max_body)
        keep = False
    return Response(status, headers, body), keep and not connection.buffer


class HttpClient:
    """One request at a time, keeping one idle connection per (scheme, host, port) for the next call.

    Not a general client: no redirects, no proxies, no compression, no request streaming. Pool updates are single
    dictionary operations, so threads sharing a client never share a connection.
    """

    def __init__(self, *, connect_timeout: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._idle: dict[tuple[str, str, int], _Connection] = {}
        self._tls: ssl.SSLContext | None = None

    def request(
        self,
        endpoint: Endpoint,
        method: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        deadline: float,
        max_body: int,
    ) -> Response:
        """Send ``headers`` (plus Content-Length) and ``body``; the whole response, read by ``deadline``.

        ``deadline`` is an absolute value of the client's clock. A reused connection that fails before any byte
        of the response arrives was closed by the server while idle: the request is sent once more on a fresh one.
        """
        lines = [f"{method} {endpoint.path} HTTP/1.1"]
        for name, value in headers:
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
                raise WireError(f"header {name[:40]!r} contains a line break")
            lines.append(f"{name}: {value}")
        lines.append(f"content-length: {len(body)}\r\n\r\n")
        try:
            data = "\r\n".join(lines).encode("latin-1") + body
        except UnicodeEncodeError:
            raise WireError("a request header is not Latin-1 text") from None
        key = (endpoint.scheme, endpoint.host, endpoint.port)
        connection = self._idle.pop(key, None)
        if connection is not None:
            if connection.is_quiet():
                connection.deadline = deadline
                try:
                    return self._exchange(key, connection, data, max_body)
                except WireError as error:
                    if not error.transient or connection.received:
                        raise
            else:
                connection.close()
        return self._exchange(key, self._connect(endpoint, deadline), data, max_body)

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.popitem()[1].close()

    def _exchange(self, key: tuple[str, str, int], connection: _Connection, data: bytes, max_body: int) -> Response:
        connection.received = False
        try:
            connection.send(data)
            response, reusable = _read_response(connection, max_body)
        except BaseException:
            connection.close()
            raise
        if reusable:
            previous = self._idle.pop(key, None)
            if previous is not None:
                previous.close()
            self._idle[key] = connection
        else:
            connection.close()
        return response

    def _connect(self, endpoint: Endpoint, deadline: float) -> _Connection:
        host = endpoint.host.strip("[]")
        try:
            addresses = socket.getaddrinfo(host, endpoint.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise WireError(f"cannot resolve {host}: {error}") from None
        failure = WireError(f"no address for {host}")
        for family, kind, protocol, _, address in addresses:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise WireError(f"deadline passed while connecting to {host}")
            try:
                sock = socket.socket(family, kind, protocol)
            except OSError as error:  # out of descriptors or memory: no point trying the other addresses
                raise WireError(f"cannot open a socket: {_reason(error)}", transient=True) from None
            try:
                sock.settimeout(min(remaining, self._connect_timeout))
                sock.connect(address)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except TimeoutError:
                sock.close()
                failure = WireError(f"timed out connecting to {host}:{endpoint.port}")
                continue
            except OSError as error:
                sock.close()
                failure = WireError(f"cannot connect to {host}:{endpoint.port}: {_reason(error)}", transient=True)
                continue
            connection = _Connection(sock, self._clock, deadline)
            if endpoint.scheme == "https":
                self._handshake(connection, host)
            return connection
        raise failure

    def _handshake(self, connection: _Connection, host: str) -> None:
        """TLS with the default context: certificate and host name checked, SNI sent, ``AWS_CA_BUNDLE`` honoured."""
        import ssl  # only https endpoints pay for it

        if self._tls is None:
            bundle = os.environ.get("AWS_CA_BUNDLE") or None
            try:
                self._tls = ssl.create_default_context(cafile=bundle)
            except (OSError, ValueError) as error:
                connection.close()
                raise WireError(f"cannot load the CA certificates (AWS_CA_BUNDLE={bundle}): {error}") from None
        try:
            connection.sock = self._tls.wrap_socket(
                connection.sock, server_hostname=host, do_handshake_on_connect=False
            )
            connection.arm(f"in the TLS handshake with {host}")
            connection.sock.do_handshake()
        except ssl.SSLCertVerificationError as error:
            connection.close()
            raise WireError(f"TLS certificate of {host} refused: {error.verify_message}") from None
        except ssl.SSLError as error:
            connection.close()
            raise WireError(f"TLS handshake with {host} failed: {error.reason or error}") from None
        except TimeoutError:
            connection.close()
            raise WireError(f"timed out in the TLS handshake with {host}") from None
        except OSError as error:
            connection.close()
            raise WireError(f"TLS handshake with {host} cut: {_reason(error)}", transient=True) from None
        except WireError:
            connection.close()
            raise
