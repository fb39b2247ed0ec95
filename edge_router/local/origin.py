"""The local CloudFront's origin client: pooled keep-alive HTTP/1.1 connections on raw sockets, own parsing.

Each server thread keeps its own idle connections per origin (a keep-alive viewer connection keeps its origin
connection, as CloudFront reuses origin connections), so no lock is taken per request. A connection idle for
longer than the origin's ``keepaliveTimeout`` is not reused; a reused one the origin has closed meanwhile is
retried once on a new connection before any answer byte was read. Nothing is sent that the caller did not pass
(no ``User-Agent`` or ``Accept-Encoding`` of a client library).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BufferedReader
from typing import cast

CONNECT_TIMEOUT = 10.0
"""CloudFront's default origin connection timeout, in seconds."""
_NO_BODY_STATUSES = frozenset({204, 304})


class OriginError(Exception):
    """The origin could not be reached, did not answer in time, or answered something that is not HTTP."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: ``http`` or ``https``, host and port."""

    scheme: str
    host: str
    port: int


@dataclass(slots=True)
class _Conn:
    target: Target
    sock: socket.socket
    rfile: BufferedReader = field(repr=False)
    last_used: float = 0.0
    reused: bool = False


class OriginResponse:
    """The origin's status and headers; the body is read with ``chunks`` or ``read_all`` (once)."""

    def __init__(
        self, pool: OriginPool, conn: _Conn, status: int, reason: str, headers: list[tuple[str, str]], *, head: bool
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._pool = pool
        self._conn: _Conn | None = conn
        names = {name.lower(): value for name, value in headers}
        codings = names.get("transfer-encoding", "").lower()
        self.chunked = "chunked" in codings
        length = names.get("content-length", "").strip()
        self.length = int(length) if length.isdigit() and not self.chunked else None
        """The body length the origin announced (``None``: chunked or until the connection closes)."""
        self._no_body = head or status in _NO_BODY_STATUSES or 100 <= status < 200
        self._until_close = not self._no_body and not self.chunked and self.length is None
        self.reusable = not self._until_close and "close" not in names.get("connection", "").lower()

    @property
    def has_body(self) -> bool:
        return not self._no_body

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        """The body as it arrives; the connection goes back to the pool once it is read to the end."""
        conn = self._conn
        if conn is None:
            return
        read = conn.rfile.read1
        try:
            if self._no_body:
                pass
            elif self.chunked:
                yield from self._chunked(conn, size)
            elif self.length is not None:
                remaining = self.length
                while remaining:
                    data = read(min(size, remaining))
                    if not data:
                        raise OriginError("the origin closed the connection before the end of the body")
                    remaining -= len(data)
                    yield data
            else:
                while data := read(size):
                    yield data
        except OSError as error:
            self.close()
            raise OriginError(f"reading the body failed: {error}") from error
        except BaseException:
            self.close()
            raise
        self._release()

    def _chunked(self, conn: _Conn, size: int) -> Iterator[bytes]:
        rfile = conn.rfile
        while True:
            line = rfile.readline(1024)
            try:
                length = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise OriginError("the origin sent an invalid chunked body") from None
            if length == 0:
                while rfile.readline(1024).strip():  # trailer fields, dropped
                    pass
                return
            while length:
                data = rfile.read(min(size, length))
                if not data:
                    raise OriginError("the origin closed the connection inside a chunk")
                length -= len(data)
                yield data
            rfile.readline(1024)  # the CRLF after the chunk

    def read_all(self) -> bytes:
        return b"".join(self.chunks())

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self.reusable:
                self._pool.release(conn)
            else:
                _close(conn)

    def close(self) -> None:
        """Give up on the rest of the body: the connection cannot be reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            _close(conn)


def _close(conn: _Conn) -> None:
    try:
        conn.rfile.close()
        conn.sock.close()
    except OSError:
        pass


class OriginPool:
    """Idle origin connections per server thread and origin; see the module docstring for the reuse rules."""

    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._tls = ssl.create_default_context()
        self._tls.minimum_version = ssl.TLSVersion.TLSv1_2  # the router's sslProtocols: ["TLSv1.2"]

    def _idle(self) -> dict[Target, list[_Conn]]:
        idle: dict[Target, list[_Conn]] | None = getattr(self._local, "idle", None)
        if idle is None:
            idle = {}
            self._local.idle = idle
        return idle

    def _connect(self, target: Target, read_timeout: float) -> _Conn:
        try:
            sock = socket.create_connection((target.host, target.port), timeout=self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if target.scheme == "https":
                sock = self._tls.wrap_socket(sock, server_hostname=target.host)
        except TimeoutError as error:
            raise OriginError(f"connecting to {target.host}:{target.port} timed out", timeout=True) from error
        except OSError as error:
            raise OriginError(f"cannot connect to {target.host}:{target.port}: {error}") from error
        sock.settimeout(read_timeout)
        return _Conn(target, sock, cast(BufferedReader, sock.makefile("rb", 65536)))

    def _acquire(self, target: Target, read_timeout: float, keepalive_timeout: float) -> _Conn:
        idle = self._idle().get(target)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.last_used < keepalive_timeout:
                conn.sock.settimeout(read_timeout)
                conn.reused = True
                return conn
            _close(conn)
        return self._connect(target, read_timeout)

    def release(self, conn: _Conn) -> None:
        conn.last_used = time.monotonic()
        self._idle().setdefault(conn.target, []).append(conn)

    def request(
        self,
        target: Target,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        *,
        read_timeout: float,
        keepalive_timeout: float,
    ) -> OriginResponse:
        """Send one request and read the answer's head (``OriginError`` when that fails)."""
        lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + (body or b"")
        for _attempt in range(2):
            conn = self._acquire(target, read_timeout, keepalive_timeout)
            try:
                conn.sock.sendall(data)
                status, reason, response_headers = _read_head(conn)
            except TimeoutError as error:
                _close(conn)
                raise OriginError("the origin did not answer within the read timeout", timeout=True) from error
            except (OSError, _ClosedError) as error:
                _close(conn)
                if conn.reused:
                    continue  # the origin closed an idle connection: once more on a new one
                raise OriginError(f"the origin connection failed: {error}") from error
            except OriginError:
                _close(conn)
                raise
            return OriginResponse(self, conn, status, reason, response_headers, head=method == "HEAD")
        raise OriginError("the origin closed two connections in a row")


class _ClosedError(Exception):
    """The connection closed before an answer began."""


def _read_head(conn: _Conn) -> tuple[int, str, list[tuple[str, str]]]:
    """Status line and headers; interim 1xx answers (``100 Continue``) are skipped."""
    rfile = conn.rfile
    while True:
        line = rfile.readline(65537)
        if not line:
            raise _ClosedError("no answer")
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3):
            raise OriginError(f"the origin answered something that is not HTTP/1.x: {line[:80]!r}")
        headers: list[tuple[str, str]] = []
        while True:
            header = rfile.readline(65537)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append((name.strip(), value.strip(" \t")))
        status = int(code)
        if not 100 <= status < 200 or status == 101:
            return status, reason, headers
